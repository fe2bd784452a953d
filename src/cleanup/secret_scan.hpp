#pragma once
// Private to the cleanup room: lets other passes avoid quoting a line that holds a secret.
#include <string_view>

namespace fti::cleanup::detail {

// True when the secrets pass would report something on this line.
bool line_has_secret(std::string_view line);

}  // namespace fti::cleanup::detail
