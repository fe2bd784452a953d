#include "line_diff.hpp"

#include <vector>

#include "code_scan.hpp"

namespace fti::cleanup::detail {
namespace {

// The length of the shortest edit script between a and b (Myers 1986, O((N+M)D)).
std::int64_t edit_distance(const std::vector<std::string_view>& a,
                           const std::vector<std::string_view>& b) {
  const auto n = static_cast<std::int64_t>(a.size());
  const auto m = static_cast<std::int64_t>(b.size());
  const std::int64_t max = n + m;
  if (max == 0) return 0;
  std::vector<std::int64_t> furthest(static_cast<std::size_t>(2 * max + 2), 0);
  auto v = [&](std::int64_t k) -> std::int64_t& {
    return furthest[static_cast<std::size_t>(k + max)];
  };
  for (std::int64_t d = 0; d <= max; ++d) {
    for (std::int64_t k = -d; k <= d; k += 2) {
      std::int64_t x = (k == -d || (k != d && v(k - 1) < v(k + 1))) ? v(k + 1) : v(k - 1) + 1;
      std::int64_t y = x - k;
      while (x < n && y < m && a[static_cast<std::size_t>(x)] == b[static_cast<std::size_t>(y)]) {
        ++x;
        ++y;
      }
      v(k) = x;
      if (x >= n && y >= m) return d;
    }
  }
  return max;
}

}  // namespace

LineChanges count_line_changes(std::string_view before, std::string_view after) {
  std::vector<std::string_view> a = split_lines(before);
  std::vector<std::string_view> b = split_lines(after);
  // Common lines at both ends cost nothing and usually make up most of a rewrite.
  std::size_t head = 0;
  while (head < a.size() && head < b.size() && a[head] == b[head]) ++head;
  std::size_t tail = 0;
  while (tail < a.size() - head && tail < b.size() - head &&
         a[a.size() - 1 - tail] == b[b.size() - 1 - tail]) {
    ++tail;
  }
  std::vector<std::string_view> mid_a(a.begin() + static_cast<std::ptrdiff_t>(head),
                                      a.end() - static_cast<std::ptrdiff_t>(tail));
  std::vector<std::string_view> mid_b(b.begin() + static_cast<std::ptrdiff_t>(head),
                                      b.end() - static_cast<std::ptrdiff_t>(tail));
  std::int64_t d = edit_distance(mid_a, mid_b);
  auto n = static_cast<std::int64_t>(mid_a.size());
  auto m = static_cast<std::int64_t>(mid_b.size());
  std::int64_t common = (n + m - d) / 2;
  return LineChanges{m - common, n - common};
}

}  // namespace fti::cleanup::detail
