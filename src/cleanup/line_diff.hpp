#pragma once
// Private to the cleanup room: how many lines a rewrite added and removed, as a diff tool
// would count them (lines may move, unlike in normalisation where they stay in place), and
// the edit scripts the unified diff of a job is made of (tree_diff.hpp).
#include <cstdint>
#include <string_view>
#include <vector>

namespace fti::cleanup::detail {

struct LineChanges {
  std::int64_t added = 0;
  std::int64_t removed = 0;
};

// Myers' shortest edit script, counting only: removed = lines of `before` not in the longest
// common subsequence, added = lines of `after` not in it.
LineChanges count_line_changes(std::string_view before, std::string_view after);

// Lines with their endings ("a\r\n", "b\n", and a last line without one), so a changed
// ending is a changed line.
std::vector<std::string_view> split_lines_with_endings(std::string_view text);

// One step of an edit script from `before` to `after`.
enum class LineOp : char { keep = ' ', remove = '-', add = '+' };

// An edit script turning lines `a` into lines `b`: Myers' shortest one when it costs at most
// `max_cost` steps, otherwise (a rewrite of everything, a huge file) a quick pairing of lines
// by position that is still exact but not minimal. Memory: O(max_cost^2) for the search.
std::vector<LineOp> line_edit_script(const std::vector<std::string_view>& a,
                                     const std::vector<std::string_view>& b,
                                     std::int64_t max_cost = 2000);

}  // namespace fti::cleanup::detail
