#pragma once
// Private to the cleanup room: small lexers that find where trailing white space is part of
// a value (multi-line string literals, heredocs, YAML block scalars). They do not parse the
// language; they only track comments and literals well enough not to be fooled by quotes.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace fti::cleanup::detail {

// Bytes [begin, end) of the LF-normalised text whose newlines belong to a value.
struct Span {
  std::size_t begin = 0;
  std::size_t end = 0;
};

struct LexResult {
  std::vector<Span> spans;    // in order, not overlapping
  bool unterminated = false;  // the text ended inside a literal or comment
  // Every comment and literal, one line or many (C-like and Python lexers only): what a
  // scanner looking for code must not read. Spans may nest (a string inside ${...}).
  std::vector<Span> opaque;
};

enum class Lexer {
  none,        // plain text: nothing spans lines
  c_like,      // C, C++ (raw strings R"d(...)d"), Objective-C
  jvm,         // Java, Kotlin, Scala, Groovy, Swift, Dart: """ text blocks
  csharp,      // @"..." verbatim and """ raw strings
  javascript,  // JS/TS: `template ${...}` literals, regex literals
  go,          // `raw strings`
  rust,        // "..." spans lines, r#"..."#, nested /* */
  python,      // ''' and """ with any prefix
  toml,        // ''' and """ (same rules as Python)
  sql,         // '...' spans lines, -- comments
  shell,       // quotes spanning lines, heredocs
  yaml,        // | and > block scalars
};

LexResult lex(Lexer lexer, std::string_view text);

// The text with every opaque byte (comments, literals) turned into a space, newlines kept,
// so offsets and line numbers still match: code can be scanned without being fooled.
std::string code_only(Lexer lexer, std::string_view text);

}  // namespace fti::cleanup::detail
