#pragma once
// Private to the cleanup room: how many lines a rewrite added and removed, as a diff tool
// would count them (lines may move, unlike in normalisation where they stay in place).
#include <cstdint>
#include <string_view>

namespace fti::cleanup::detail {

struct LineChanges {
  std::int64_t added = 0;
  std::int64_t removed = 0;
};

// Myers' shortest edit script, counting only: removed = lines of `before` not in the longest
// common subsequence, added = lines of `after` not in it.
LineChanges count_line_changes(std::string_view before, std::string_view after);

}  // namespace fti::cleanup::detail
