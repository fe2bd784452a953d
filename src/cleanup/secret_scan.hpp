#pragma once
// Private to the cleanup room: lets other passes avoid quoting a line that holds a secret,
// and find the bytes to redact before text goes into a prompt.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace fti::cleanup::detail {

// True when the secrets pass would report something on this line.
bool line_has_secret(std::string_view line);

// The bytes [begin, end) of a secret value, and the rule that found it.
struct SecretSpan {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::string rule;
};

// The secret values on one line, in the order the rules find them. A private key's armour
// line holds no secret itself (its key material follows it): see secret_spans_in_text.
std::vector<SecretSpan> secret_spans(std::string_view line);

// Every secret in a whole text, sorted by begin (spans may overlap): the per-line values plus
// private key blocks from BEGIN armour to END armour.
std::vector<SecretSpan> secret_spans_in_text(std::string_view text);

}  // namespace fti::cleanup::detail
