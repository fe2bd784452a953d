#pragma once
// Private to the cleanup room: code, comment and blank lines of a file, counted the way tokei
// and cloc count them. Every line is exactly one of the three: blank when it holds only
// white space, comment when everything else on it is comment, code otherwise (a line with
// code and a comment is code; a line inside a multi-line string is code, except Python
// docstrings, which are comments).
#include <cstdint>
#include <string_view>

namespace fti::cleanup::detail {

struct LineCounts {
  std::int64_t code = 0;
  std::int64_t comment = 0;
  std::int64_t blank = 0;
  std::int64_t lines() const { return code + comment + blank; }
};

// `language` as language_of names it; a language without comment syntax (JSON, Text) counts
// every non-blank line as code.
LineCounts count_lines(std::string_view language, std::string_view text);

}  // namespace fti::cleanup::detail
