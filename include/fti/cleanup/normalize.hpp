#pragma once
// Text normalisation of one file's bytes: CRLF -> LF (kept where CRLF is the convention,
// .bat/.cmd), trailing white space removed except where it carries meaning (inside
// multi-line string literals, heredocs, YAML block scalars, Markdown hard breaks, after a
// backslash), one final newline, UTF-8 BOM removed. Binary and non-UTF-8 text is untouched.
#include <string>
#include <string_view>
#include <vector>

namespace fti::cleanup {

enum class TextKind { binary, text };
TextKind classify_bytes(std::string_view bytes);

struct NormalizeOutcome {
  std::string text;                 // the normalised bytes
  bool changed = false;
  std::vector<std::string> fixes;   // "crlf", "trailing-whitespace", "final-newline", "bom"
  std::string skipped_reason;       // non-empty when the file was left alone on purpose
};

// `path` decides the language rules (by extension or file name).
NormalizeOutcome normalize_text(std::string_view path, std::string_view bytes);

}  // namespace fti::cleanup
