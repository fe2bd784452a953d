#pragma once
// Scheduling rules, kept apart from threads and SQL so they can be tested on their own.
#include <cstdint>
#include <map>
#include <string>

#include "fti/core/clock.hpp"

namespace fti::jobs {

// Splits `workers` among queues in proportion to their waiting jobs, at least one per
// non-empty queue (when there are enough workers), never more than a queue can use.
// Queues with nothing waiting get none.
std::map<std::string, int> allocate_workers(int workers, const std::map<std::string, std::int64_t>& waiting);

// Worker autoscaling by the scaling design's rule:
//   desired = ceil(queue_depth / target_queue_seconds * average_job_seconds), clamped to
//   [min, max]; scale up at once; scale down only when desired < 70% of current, and then by
//   10% of the difference per step (at least one worker).
class Autoscaler {
 public:
  Autoscaler(int min_workers, int max_workers, double target_queue_seconds);
  int desired(std::int64_t queue_depth, double average_job_seconds) const;
  // The worker count to move to from `current`.
  int next(int current, std::int64_t queue_depth, double average_job_seconds) const;

 private:
  int min_;
  int max_;
  double target_queue_seconds_;
};

// Aging: a job's place in its queue is run_at + priority_rank * aging_ms, so a low-priority
// job is overtaken only by high-priority jobs that became due less than 2 * aging_ms after
// it. Low work never starves, and the order is one index scan.
inline std::int64_t queue_sort_key(TimeMs run_at, int priority_rank, std::int64_t aging_ms) {
  return run_at + static_cast<std::int64_t>(priority_rank) * aging_ms;
}

}  // namespace fti::jobs
