#include "lexers.hpp"

#include <algorithm>
#include <string>

namespace fti::cleanup::detail {
namespace {

constexpr int kMaxNesting = 256;  // template literals inside ${...} inside templates...

bool is_ident_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '$' || static_cast<unsigned char>(c) >= 0x80;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Length of the UTF-8 sequence starting with `lead` (the text is known to be valid UTF-8).
std::size_t utf8_length(char lead) {
  auto b = static_cast<unsigned char>(lead);
  if (b < 0x80) return 1;
  if (b >= 0xF0) return 4;
  if (b >= 0xE0) return 3;
  return 2;
}

// What sets one C-like language apart from another.
struct Rules {
  bool slash_line_comments = true;  // "//"
  bool dash_line_comments = false;  // "--" (SQL)
  bool block_comments = true;       // "/* */"
  bool nested_comments = false;     // Rust nests block comments
  bool backslash_escapes = true;
  bool strings_span_lines = false;  // Rust "..." and SQL '...' may hold newlines
  bool cpp_raw = false;             // R"delim(...)delim"
  bool rust_raw = false;            // r#"..."#
  bool rust_chars = false;          // 'a is a lifetime, 'a' a char
  bool triple_double = false;       // """ ... """
  bool triple_single = false;       // ''' ... ''' (Dart)
  bool csharp_verbatim = false;     // @"..." with "" for a quote
  bool template_literals = false;   // `...${expr}...`
  bool go_raw = false;              // `...`
  bool js_regex = false;            // /re/ after an operator
};

Rules rules_for(Lexer lexer) {
  Rules r;
  switch (lexer) {
    case Lexer::c_like: r.cpp_raw = true; break;
    case Lexer::jvm: r.triple_double = true; r.triple_single = true; break;
    case Lexer::csharp: r.triple_double = true; r.csharp_verbatim = true; break;
    case Lexer::javascript: r.template_literals = true; r.js_regex = true; break;
    case Lexer::go: r.go_raw = true; break;
    case Lexer::rust:
      r.nested_comments = true; r.strings_span_lines = true; r.rust_raw = true;
      r.rust_chars = true;
      break;
    case Lexer::sql:
      r.slash_line_comments = false; r.dash_line_comments = true;
      r.backslash_escapes = false; r.strings_span_lines = true;
      break;
    default: break;
  }
  return r;
}

// Shared cursor over the text and the spans found so far.
class Scanner {
 public:
  Scanner(std::string_view s, LexResult& out) : s_(s), out_(out) {}

 protected:
  char at(std::size_t k) const { return k < s_.size() ? s_[k] : '\0'; }
  bool starts(std::size_t k, std::string_view word) const {
    return s_.substr(k, word.size()) == word;
  }
  void skip_to_eol() {
    std::size_t nl = s_.find('\n', i_);
    i_ = nl == std::string_view::npos ? s_.size() : nl;
  }
  // A value that spans lines; it is opaque to code scanners too.
  void add_span(std::size_t begin, std::size_t end) {
    out_.spans.push_back({begin, end});
    add_opaque(begin, end);
  }
  // A comment or a literal; escapes may step past the end, hence the clamp.
  void add_opaque(std::size_t begin, std::size_t end) {
    out_.opaque.push_back({begin, std::min(end, s_.size())});
  }
  // The literal opened at `begin` never closed: protect to the end and give up.
  void unterminated(std::size_t begin) {
    add_span(begin, s_.size());
    out_.unterminated = true;
    i_ = s_.size();
  }
  // Finds `close` from i_ and spans the literal; unterminated when missing.
  void close_with(std::size_t begin, std::string_view close) {
    std::size_t end = s_.find(close, i_);
    if (end == std::string_view::npos) return unterminated(begin);
    i_ = end + close.size();
    add_span(begin, i_);
  }

  std::string_view s_;
  LexResult& out_;
  std::size_t i_ = 0;
};

class CLikeLexer : public Scanner {
 public:
  CLikeLexer(std::string_view s, Rules rules, LexResult& out) : Scanner(s, out), r_(rules) {}
  void run() { code(false, 0); }

 private:
  void code(bool in_expr, int depth);
  bool comment();
  void block_comment();
  bool identifier();
  bool raw_after_prefix(std::string_view word);
  bool special_literal();
  void quoted(char quote);
  void triple(char quote, std::size_t run);
  void verbatim(std::size_t begin);
  void template_literal(int depth);
  bool regex_allowed() const;
  void regex();

  Rules r_;
  char prev_ = 0;                // last significant character outside literals
  std::string_view last_word_;   // last identifier, for "return /re/"
};

void CLikeLexer::code(bool in_expr, int depth) {
  int braces = 0;
  while (i_ < s_.size()) {
    char c = s_[i_];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i_;
      continue;
    }
    if (comment()) continue;
    if (in_expr && c == '{') ++braces;
    if (in_expr && c == '}' && braces-- == 0) {
      ++i_;
      return;  // back to the template text
    }
    if (identifier() || special_literal()) continue;
    if (c == '`' && r_.template_literals) {
      template_literal(depth + 1);
      prev_ = '"';
      continue;
    }
    if (c == '"' || c == '\'') {
      quoted(c);
      prev_ = '"';
      continue;
    }
    if (c == '/' && r_.js_regex && regex_allowed()) {
      regex();
      prev_ = '"';
      continue;
    }
    prev_ = c;
    ++i_;
  }
}

bool CLikeLexer::comment() {
  std::size_t begin = i_;
  bool line_comment = (r_.slash_line_comments && starts(i_, "//")) ||
                      (r_.dash_line_comments && starts(i_, "--"));
  if (line_comment) {
    skip_to_eol();
    add_opaque(begin, i_);
    return true;
  }
  if (r_.block_comments && starts(i_, "/*")) {
    block_comment();
    return true;
  }
  return false;
}

void CLikeLexer::block_comment() {
  std::size_t begin = i_;
  int depth = 0;
  while (i_ < s_.size()) {
    if (starts(i_, "/*") && (depth == 0 || r_.nested_comments)) {
      ++depth;
      i_ += 2;
    } else if (starts(i_, "*/")) {
      i_ += 2;
      if (--depth == 0) return add_opaque(begin, i_);
    } else {
      ++i_;
    }
  }
  // Comment text is not a value: no span, but a file that ends inside one is suspect.
  add_opaque(begin, s_.size());
  out_.unterminated = true;
}

// Identifiers and numbers in one go, so prefixes (R, u8R, r#, b) and digit separators
// (1'000) are seen whole.
bool CLikeLexer::identifier() {
  char c = s_[i_];
  if (!is_ident_char(c)) return false;
  bool number = is_digit(c);
  std::size_t begin = i_;
  while (i_ < s_.size() && (is_ident_char(s_[i_]) || (number && (s_[i_] == '\'' || s_[i_] == '.')))) {
    ++i_;
  }
  last_word_ = s_.substr(begin, i_ - begin);
  prev_ = 'a';
  if (!number) raw_after_prefix(last_word_);
  return true;
}

bool CLikeLexer::raw_after_prefix(std::string_view word) {
  if (r_.cpp_raw && at(i_) == '"' &&
      (word == "R" || word == "u8R" || word == "uR" || word == "UR" || word == "LR")) {
    std::size_t open = i_ + 1;
    std::size_t paren = open;
    while (paren < s_.size() && paren - open <= 16 && s_[paren] != '(' &&
           s_[paren] != ' ' && s_[paren] != '\\' && s_[paren] != '\n' && s_[paren] != ')') {
      ++paren;
    }
    if (at(paren) != '(') return false;
    std::string close = ")" + std::string(s_.substr(open, paren - open)) + "\"";
    std::size_t begin = i_;
    i_ = paren + 1;
    close_with(begin, close);
    prev_ = '"';
    return true;
  }
  if (r_.rust_raw && (word == "r" || word == "br" || word == "cr")) {
    std::size_t hashes = 0;
    while (at(i_ + hashes) == '#') ++hashes;
    if (at(i_ + hashes) != '"') return false;  // r#ident is a raw identifier
    std::size_t begin = i_;
    i_ += hashes + 1;
    close_with(begin, "\"" + std::string(hashes, '#'));
    prev_ = '"';
    return true;
  }
  return false;
}

bool CLikeLexer::special_literal() {
  char c = s_[i_];
  if (r_.csharp_verbatim) {
    if (c == '@' && at(i_ + 1) == '"') return verbatim(i_ + 1), true;
    if ((c == '@' && at(i_ + 1) == '$') || (c == '$' && at(i_ + 1) == '@')) {
      if (at(i_ + 2) == '"') return verbatim(i_ + 2), true;
    }
  }
  if ((c == '"' && r_.triple_double) || (c == '\'' && r_.triple_single)) {
    std::size_t run = 0;
    while (at(i_ + run) == c) ++run;
    if (run >= 3) return triple(c, run), true;
  }
  if (c == '`' && r_.go_raw) {
    std::size_t begin = i_++;
    close_with(begin, "`");
    return true;
  }
  if (c == '\'' && r_.rust_chars) {
    // 'a' and '\n' are chars; 'a alone is a lifetime or a label.
    bool is_char = at(i_ + 1) == '\\' || at(i_ + 1 + utf8_length(at(i_ + 1))) == '\'';
    if (!is_char) {
      ++i_;
      return true;
    }
  }
  return false;
}

void CLikeLexer::quoted(char quote) {
  std::size_t begin = i_++;
  while (i_ < s_.size()) {
    char c = s_[i_];
    if (c == '\\' && r_.backslash_escapes) {
      i_ += 2;
    } else if (c == quote) {
      ++i_;
      return r_.strings_span_lines ? add_span(begin, i_) : add_opaque(begin, i_);
    } else if (c == '\n' && !r_.strings_span_lines) {
      return add_opaque(begin, i_);  // an unclosed one-line string ends with its line
    } else {
      ++i_;
    }
  }
  if (r_.strings_span_lines) return unterminated(begin);
  add_opaque(begin, s_.size());
}

void CLikeLexer::triple(char quote, std::size_t run) {
  std::size_t begin = i_;
  std::string close(run, quote);
  i_ += run;
  while (i_ < s_.size()) {
    if (s_[i_] == '\\' && !r_.csharp_verbatim) {
      i_ += 2;
    } else if (starts(i_, close)) {
      i_ += run;
      while (at(i_) == quote) ++i_;  // """"" closes with the quotes that belong to the text
      add_span(begin, i_);
      prev_ = '"';
      return;
    } else {
      ++i_;
    }
  }
  unterminated(begin);
}

void CLikeLexer::verbatim(std::size_t quote_at) {
  std::size_t begin = i_;
  i_ = quote_at + 1;
  while (i_ < s_.size()) {
    if (s_[i_] == '"' && at(i_ + 1) == '"') {
      i_ += 2;
    } else if (s_[i_] == '"') {
      ++i_;
      add_span(begin, i_);
      prev_ = '"';
      return;
    } else {
      ++i_;
    }
  }
  unterminated(begin);
}

void CLikeLexer::template_literal(int depth) {
  if (depth > kMaxNesting) return unterminated(i_);
  std::size_t begin = i_++;
  while (i_ < s_.size()) {
    char c = s_[i_];
    if (c == '\\') {
      i_ += 2;
    } else if (c == '`') {
      ++i_;
      add_span(begin, i_);
      return;
    } else if (c == '$' && at(i_ + 1) == '{') {
      i_ += 2;
      code(true, depth);
    } else {
      ++i_;
    }
  }
  if (!out_.unterminated) unterminated(begin);
}

bool CLikeLexer::regex_allowed() const {
  if (starts(i_, "//") || starts(i_, "/*")) return false;
  if (prev_ == 0) return true;
  if (prev_ == 'a') {
    return last_word_ == "return" || last_word_ == "typeof" || last_word_ == "case" ||
           last_word_ == "in" || last_word_ == "of" || last_word_ == "new" ||
           last_word_ == "delete" || last_word_ == "void" || last_word_ == "throw" ||
           last_word_ == "yield" || last_word_ == "await" || last_word_ == "else" ||
           last_word_ == "do";
  }
  return std::string_view("(,=:[!&|?{};+-*%<>~^").find(prev_) != std::string_view::npos;
}

void CLikeLexer::regex() {
  std::size_t start = i_++;
  bool in_class = false;
  while (i_ < s_.size()) {
    char c = s_[i_];
    if (c == '\n') {
      // Not a regex after all (a division at the end of a line): rescan as code.
      i_ = start + 1;
      return;
    }
    if (c == '\\') {
      i_ += 2;
      continue;
    }
    if (c == '[') in_class = true;
    if (c == ']') in_class = false;
    ++i_;
    if (c == '/' && !in_class) return add_opaque(start, i_);
  }
  add_opaque(start, s_.size());
}

class PythonLexer : public Scanner {
 public:
  PythonLexer(std::string_view s, bool toml, LexResult& out) : Scanner(s, out), toml_(toml) {}

  void run() {
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (c == '#') {
        std::size_t begin = i_;
        skip_to_eol();
        add_opaque(begin, i_);
      } else if (c == '"' || c == '\'') {
        string(c);
      } else {
        ++i_;
      }
    }
  }

 private:
  // Prefixes (r, b, f, u...) do not matter: a backslash keeps the next quote in the string
  // even in raw strings. TOML ''' strings are the exception, they have no escapes at all.
  void string(char quote) {
    std::size_t begin = i_;
    bool is_triple = at(i_ + 1) == quote && at(i_ + 2) == quote;
    bool escapes = !(toml_ && quote == '\'');
    if (!is_triple) return single(quote, escapes);
    std::string close(3, quote);
    i_ += 3;
    while (i_ < s_.size()) {
      if (s_[i_] == '\\' && escapes) {
        i_ += 2;
      } else if (starts(i_, close)) {
        i_ += 3;
        while (at(i_) == quote) ++i_;  // TOML allows up to two quotes before the close
        return add_span(begin, i_);
      } else {
        ++i_;
      }
    }
    unterminated(begin);
  }

  void single(char quote, bool escapes) {
    std::size_t begin = i_++;
    while (i_ < s_.size() && s_[i_] != '\n') {
      if (s_[i_] == '\\' && escapes) {
        i_ += 2;
        continue;
      }
      if (s_[i_++] == quote) break;
    }
    add_opaque(begin, i_);
  }

  bool toml_;
};

struct Heredoc {
  std::string delimiter;
  bool strip_tabs = false;
};

class ShellLexer : public Scanner {
 public:
  ShellLexer(std::string_view s, LexResult& out) : Scanner(s, out) {}

  void run() {
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (c == '\\') {
        i_ += 2;
      } else if (c == '#' && word_start()) {
        skip_to_eol();
      } else if (c == '\'') {
        quoted('\'', false);
      } else if (c == '$' && at(i_ + 1) == '\'') {
        ++i_;
        quoted('\'', true);  // $'...' knows backslash escapes
      } else if (c == '"' || c == '`') {
        quoted(c, true);
      } else if (starts(i_, "((")) {
        arithmetic();
      } else if (starts(i_, "<<<")) {
        i_ += 3;  // a here-string, not a heredoc
      } else if (starts(i_, "<<")) {
        heredoc_operator();
      } else if (c == '\n') {
        ++i_;
        heredoc_bodies();
      } else {
        ++i_;
      }
    }
    if (!pending_.empty()) out_.unterminated = true;
  }

 private:
  bool word_start() const {
    if (i_ == 0) return true;
    char p = s_[i_ - 1];
    return p == ' ' || p == '\t' || p == '\n' || p == ';' || p == '&' || p == '|' || p == '(' ||
           p == ')';
  }

  void quoted(char quote, bool escapes) {
    std::size_t begin = i_++;
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (c == '\\' && escapes) {
        i_ += 2;
      } else if (c == quote) {
        ++i_;
        return add_span(begin, i_);
      } else {
        ++i_;
      }
    }
    unterminated(begin);
  }

  // $(( a << 2 )) is a shift, not a heredoc.
  void arithmetic() {
    std::size_t end = s_.find("))", i_ + 2);
    std::size_t nl = s_.find('\n', i_);
    i_ = (end != std::string_view::npos && end < nl) ? end + 2 : i_ + 2;
  }

  void heredoc_operator() {
    i_ += 2;
    Heredoc doc;
    if (at(i_) == '-') {
      doc.strip_tabs = true;
      ++i_;
    }
    while (at(i_) == ' ' || at(i_) == '\t') ++i_;
    // The delimiter word; quoting ('EOF', "EOF", \EOF) only turns off expansion.
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (c == '\'' || c == '"' || c == '\\') {
        ++i_;
        continue;
      }
      if (c == ' ' || c == '\t' || c == '\n' || c == ';' || c == '|' || c == '&' || c == '<' ||
          c == '>' || c == '(' || c == ')') {
        break;
      }
      doc.delimiter += c;
      ++i_;
    }
    if (!doc.delimiter.empty()) pending_.push_back(std::move(doc));
  }

  // Called just after a newline: the bodies of heredocs opened on that line follow.
  void heredoc_bodies() {
    for (const Heredoc& doc : pending_) {
      std::size_t begin = i_;
      for (;;) {
        if (i_ >= s_.size()) return unterminated(begin);
        std::size_t eol = s_.find('\n', i_);
        if (eol == std::string_view::npos) eol = s_.size();
        std::string_view line = s_.substr(i_, eol - i_);
        if (doc.strip_tabs) {
          while (!line.empty() && line.front() == '\t') line.remove_prefix(1);
        }
        if (line == doc.delimiter) {
          add_span(begin, i_);
          i_ = eol < s_.size() ? eol + 1 : eol;
          break;
        }
        i_ = eol + 1;
      }
    }
    pending_.clear();
  }

  std::vector<Heredoc> pending_;
};

// YAML: lines after a "key: |" or "- >-" header that are indented deeper than the header
// line (or blank) belong to the block scalar.
class YamlLexer : public Scanner {
 public:
  YamlLexer(std::string_view s, LexResult& out) : Scanner(s, out) {}

  void run() {
    bool in_block = false;
    std::size_t block_begin = 0;
    std::size_t parent_indent = 0;
    while (i_ < s_.size()) {
      std::size_t eol = s_.find('\n', i_);
      if (eol == std::string_view::npos) eol = s_.size();
      std::string_view line = s_.substr(i_, eol - i_);
      std::size_t indent = line.find_first_not_of(' ');
      bool blank = line.find_first_not_of(" \t") == std::string_view::npos;
      if (in_block && !blank && indent <= parent_indent) {
        in_block = false;
        add_span(block_begin, i_);
      }
      if (!in_block && !blank && has_block_header(line)) {
        in_block = true;
        parent_indent = indent;
        block_begin = eol + 1;
      }
      i_ = eol + 1;
    }
    // A block that runs to the end of the file is complete, not unterminated.
    if (in_block && block_begin < s_.size()) add_span(block_begin, s_.size());
  }

 private:
  static std::string_view strip_comment(std::string_view line) {
    char quote = 0;
    for (std::size_t k = 0; k < line.size(); ++k) {
      char c = line[k];
      if (quote) {
        if (c == quote) quote = 0;
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '#' && (k == 0 || line[k - 1] == ' ' || line[k - 1] == '\t')) {
        return line.substr(0, k);
      }
    }
    return line;
  }

  // The header ends in an indicator: | or >, then at most one of + - and one digit 1-9.
  static bool has_block_header(std::string_view line) {
    line = strip_comment(line);
    std::size_t end = line.find_last_not_of(" \t");
    if (end == std::string_view::npos) return false;
    line = line.substr(0, end + 1);
    std::size_t start = line.find_last_of(" \t");
    std::string_view token = start == std::string_view::npos ? line : line.substr(start + 1);
    if (token.empty() || token.size() > 3 || (token[0] != '|' && token[0] != '>')) return false;
    int signs = 0;
    int digits = 0;
    for (char c : token.substr(1)) {
      if (c == '+' || c == '-') {
        ++signs;
      } else if (c >= '1' && c <= '9') {
        ++digits;
      } else {
        return false;
      }
    }
    return signs <= 1 && digits <= 1;
  }
};

}  // namespace

std::string code_only(Lexer lexer, std::string_view text) {
  std::string code(text);
  for (const Span& span : lex(lexer, text).opaque) {
    for (std::size_t k = span.begin; k < span.end; ++k) {
      if (code[k] != '\n') code[k] = ' ';
    }
  }
  return code;
}

LexResult lex(Lexer lexer, std::string_view text) {
  LexResult out;
  switch (lexer) {
    case Lexer::none: break;
    case Lexer::python: PythonLexer(text, false, out).run(); break;
    case Lexer::toml: PythonLexer(text, true, out).run(); break;
    case Lexer::shell: ShellLexer(text, out).run(); break;
    case Lexer::yaml: YamlLexer(text, out).run(); break;
    default: CLikeLexer(text, rules_for(lexer), out).run(); break;
  }
  return out;
}

}  // namespace fti::cleanup::detail
