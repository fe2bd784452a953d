#pragma once
// RetryPolicy: exponential backoff from a base delay, base * 2^(attempt-1), capped, with
// optional jitter so that a burst of failures does not retry in lock step.
#include <cstdint>
#include <functional>
#include <string_view>

#include "fti/core/clock.hpp"

namespace fti::jobs {

class RetryPolicy {
 public:
  RetryPolicy(std::int64_t base_ms, std::int64_t cap_ms = 15 * 60 * 1000, double jitter = 0.0,
              std::function<double()> random01 = nullptr);
  // Delay before attempt `attempt + 1`, after attempt number `attempt` (1-based) failed.
  std::int64_t delay_ms(int attempt) const;

 private:
  std::int64_t base_ms_;
  std::int64_t cap_ms_;
  double jitter_;
  std::function<double()> random01_;
};

// Whether a failed attempt is worth retrying: false for errors in the input itself
// (bad_archive, unsafe_archive, archive_limits, resource_limit) and for cancelled.
bool is_retryable_error(std::string_view code);

}  // namespace fti::jobs
