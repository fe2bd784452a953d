#include "line_diff.hpp"

#include <algorithm>
#include <cstdlib>
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


// Lines equal at both ends, which cost nothing and usually make up most of a change.
struct CommonEnds {
  std::size_t head = 0;
  std::size_t tail = 0;
};

CommonEnds common_ends(const std::vector<std::string_view>& a, const std::vector<std::string_view>& b) {
  CommonEnds ends;
  while (ends.head < a.size() && ends.head < b.size() && a[ends.head] == b[ends.head]) ++ends.head;
  while (ends.tail < a.size() - ends.head && ends.tail < b.size() - ends.head &&
         a[a.size() - 1 - ends.tail] == b[b.size() - 1 - ends.tail]) {
    ++ends.tail;
  }
  return ends;
}

// Myers' search that keeps each round's furthest points, so the path can be walked back.
// Works on a[ab, ae) and b[bb, be); false when the script would cost more than max_cost.
class MyersScript {
 public:
  MyersScript(const std::vector<std::string_view>& a, const std::vector<std::string_view>& b, std::size_t ab,
              std::size_t ae, std::size_t bb, std::size_t be)
      : a_(a), b_(b), ab_(ab), bb_(bb), n_(static_cast<std::int64_t>(ae - ab)), m_(static_cast<std::int64_t>(be - bb)) {}

  bool run(std::int64_t max_cost, std::vector<LineOp>& out) {
    const std::int64_t limit = std::min(max_cost, n_ + m_);
    const std::int64_t offset = limit + 1;
    std::vector<std::int64_t> v(static_cast<std::size_t>(2 * limit + 3), kUnreached);
    auto at = [&v, offset](std::int64_t k) { return v[static_cast<std::size_t>(k + offset)]; };
    for (std::int64_t d = 0; d <= limit; ++d) {
      for (std::int64_t k = -d; k <= d; k += 2) {
        std::int64_t x = step(d, k, at).x;
        if (x == kUnreached) continue;
        for (std::int64_t y = x - k; x < n_ && y < m_ && same(x, y); ++y) ++x;
        v[static_cast<std::size_t>(k + offset)] = x;
      }
      trace_.emplace_back(v.begin() + (offset - d), v.begin() + (offset + d + 1));
      if (std::abs(n_ - m_) <= d && at(n_ - m_) == n_) {
        walk_back(d, out);
        return true;
      }
    }
    return false;
  }

 private:
  static constexpr std::int64_t kUnreached = -1;

  // The edit that enters diagonal k in round d: from diagonal k+1 by adding a line of b (down)
  // or from k-1 by removing a line of a; the one reaching further, never leaving the grid.
  struct Step {
    std::int64_t x = kUnreached;
    bool down = false;
  };
  template <class Furthest>
  Step step(std::int64_t d, std::int64_t k, const Furthest& prev) const {
    if (d == 0) return Step{0, false};
    Step s;
    if (k > -d && prev(k - 1) != kUnreached && prev(k - 1) + 1 <= n_) s.x = prev(k - 1) + 1;
    if (k < d && prev(k + 1) != kUnreached && prev(k + 1) - k <= m_ && prev(k + 1) >= s.x) s = Step{prev(k + 1), true};
    return s;
  }

  bool same(std::int64_t x, std::int64_t y) const {
    return a_[ab_ + static_cast<std::size_t>(x)] == b_[bb_ + static_cast<std::size_t>(y)];
  }

  void walk_back(std::int64_t cost, std::vector<LineOp>& out) const {
    std::vector<LineOp> reversed;
    std::int64_t x = n_;
    std::int64_t y = m_;
    for (std::int64_t d = cost; d > 0; --d) {
      const auto& round = trace_[static_cast<std::size_t>(d - 1)];
      auto prev = [&round, d](std::int64_t k) { return round[static_cast<std::size_t>(k + d - 1)]; };
      const std::int64_t k = x - y;
      const bool down = step(d, k, prev).down;
      const std::int64_t prev_x = prev(down ? k + 1 : k - 1);
      const std::int64_t edit_x = down ? prev_x : prev_x + 1;  // where the edit lands
      for (; x > edit_x; --x, --y) reversed.push_back(LineOp::keep);
      reversed.push_back(down ? LineOp::add : LineOp::remove);
      x = prev_x;
      y = prev_x - (down ? k + 1 : k - 1);
    }
    for (; x > 0 && y > 0; --x, --y) reversed.push_back(LineOp::keep);
    out.insert(out.end(), reversed.rbegin(), reversed.rend());
  }

  const std::vector<std::string_view>& a_;
  const std::vector<std::string_view>& b_;
  std::size_t ab_, bb_;
  std::int64_t n_, m_;
  std::vector<std::vector<std::int64_t>> trace_;  // round d: furthest x on diagonals -d..d
};

// Lines paired by position: equal pairs kept, each run of unequal pairs removed then added.
void positional_script(const std::vector<std::string_view>& a, const std::vector<std::string_view>& b,
                       std::size_t ab, std::size_t ae, std::size_t bb, std::size_t be, std::vector<LineOp>& out) {
  std::size_t i = ab;
  std::size_t j = bb;
  while (i < ae && j < be) {
    std::size_t run = 0;
    while (i + run < ae && j + run < be && a[i + run] != b[j + run]) ++run;
    out.insert(out.end(), run, LineOp::remove);
    out.insert(out.end(), run, LineOp::add);
    i += run;
    j += run;
    for (; i < ae && j < be && a[i] == b[j]; ++i, ++j) out.push_back(LineOp::keep);
  }
  out.insert(out.end(), ae - i, LineOp::remove);
  out.insert(out.end(), be - j, LineOp::add);
}

}  // namespace

std::vector<std::string_view> split_lines_with_endings(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    std::size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
    lines.push_back(text.substr(start, end - start));
    start = end;
  }
  return lines;
}

std::vector<LineOp> line_edit_script(const std::vector<std::string_view>& a, const std::vector<std::string_view>& b,
                                     std::int64_t max_cost) {
  CommonEnds ends = common_ends(a, b);
  std::vector<LineOp> ops(ends.head, LineOp::keep);
  const std::size_t ae = a.size() - ends.tail;
  const std::size_t be = b.size() - ends.tail;
  MyersScript myers(a, b, ends.head, ae, ends.head, be);
  if (!myers.run(max_cost, ops)) {
    ops.resize(ends.head);
    positional_script(a, b, ends.head, ae, ends.head, be, ops);
  }
  ops.insert(ops.end(), ends.tail, LineOp::keep);
  return ops;
}

LineChanges count_line_changes(std::string_view before, std::string_view after) {
  std::vector<std::string_view> a = split_lines(before);
  std::vector<std::string_view> b = split_lines(after);
  CommonEnds ends = common_ends(a, b);
  const std::size_t head = ends.head;
  const std::size_t tail = ends.tail;
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
