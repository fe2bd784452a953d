#include "fti/jobs/scheduler.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace fti::jobs {

std::map<std::string, int> allocate_workers(int workers, const std::map<std::string, std::int64_t>& waiting) {
  std::map<std::string, int> out;
  std::int64_t total = 0;
  std::vector<std::pair<std::string, std::int64_t>> busy;
  for (const auto& [queue, n] : waiting) {
    if (n <= 0) continue;
    busy.emplace_back(queue, n);
    total += n;
  }
  if (busy.empty() || workers <= 0) return out;
  // Largest queues first, so with fewer workers than queues the biggest backlogs are served.
  std::sort(busy.begin(), busy.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (workers < static_cast<int>(busy.size())) {
    for (int i = 0; i < workers; ++i) out[busy[static_cast<std::size_t>(i)].first] = 1;
    return out;
  }
  // Proportional share rounded down, at least one, at most what the queue can use; then the
  // surplus comes off the largest allocations and the remainder goes by largest fraction.
  std::vector<double> exact;
  int sum = 0;
  for (const auto& [queue, n] : busy) {
    double e = static_cast<double>(workers) * static_cast<double>(n) / static_cast<double>(total);
    exact.push_back(e);
    int base = static_cast<int>(std::min<double>(std::max(1.0, std::floor(e)), static_cast<double>(n)));
    out[queue] = base;
    sum += base;
  }
  while (sum > workers) {
    auto largest = std::max_element(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
    --largest->second;
    --sum;
  }
  std::vector<std::size_t> order(busy.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    double fa = exact[a] - std::floor(exact[a]), fb = exact[b] - std::floor(exact[b]);
    return fa != fb ? fa > fb : a < b;
  });
  for (bool gave = true; sum < workers && gave;) {
    gave = false;
    for (std::size_t i : order) {
      const auto& [queue, n] = busy[i];
      if (sum >= workers) break;
      if (out[queue] < n && out[queue] < static_cast<int>(std::ceil(exact[i]))) {
        ++out[queue];
        ++sum;
        gave = true;
      }
    }
  }
  return out;
}

Autoscaler::Autoscaler(int min_workers, int max_workers, double target_queue_seconds)
    : min_(std::max(1, min_workers)),
      max_(std::max(std::max(1, min_workers), max_workers)),
      target_queue_seconds_(std::max(0.001, target_queue_seconds)) {}

int Autoscaler::desired(std::int64_t queue_depth, double average_job_seconds) const {
  double want = std::ceil(static_cast<double>(queue_depth) / target_queue_seconds_ * average_job_seconds);
  if (!std::isfinite(want)) want = max_;
  return static_cast<int>(std::clamp<double>(want, min_, max_));
}

int Autoscaler::next(int current, std::int64_t queue_depth, double average_job_seconds) const {
  current = std::clamp(current, min_, max_);
  int want = desired(queue_depth, average_job_seconds);
  if (want > current) return want;  // up at once
  if (static_cast<double>(want) >= 0.7 * current) return current;
  int step = std::max(1, static_cast<int>(std::ceil(0.1 * (current - want))));
  return std::max(want, current - step);
}

}  // namespace fti::jobs
