// Exponential backoff with a cap and optional jitter.
#include "fti/jobs/retry_policy.hpp"

#include <algorithm>
#include <array>
#include <random>
#include <utility>

#include "fti/core/error.hpp"

namespace fti::jobs {

namespace {

// Doubling past this many steps overflows long before any sane cap; stop there.
constexpr int kMaxDoublings = 40;

double default_random01() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
}

}  // namespace

RetryPolicy::RetryPolicy(std::int64_t base_ms, std::int64_t cap_ms, double jitter,
                         std::function<double()> random01)
    : base_ms_(std::max<std::int64_t>(base_ms, 0)),
      cap_ms_(std::max<std::int64_t>(cap_ms, 0)),
      jitter_(std::clamp(jitter, 0.0, 1.0)),
      random01_(random01 ? std::move(random01) : default_random01) {}

std::int64_t RetryPolicy::delay_ms(int attempt) const {
  if (base_ms_ == 0) return 0;
  const int doublings = std::clamp(attempt - 1, 0, kMaxDoublings);
  const std::int64_t cap_steps = cap_ms_ / base_ms_;
  // Compare before shifting so the product never overflows.
  std::int64_t delay = (std::int64_t{1} << doublings) > cap_steps ? cap_ms_ : base_ms_ << doublings;
  delay = std::min(delay, cap_ms_);
  if (jitter_ > 0.0) {
    // Spread evenly over delay * [1 - jitter, 1 + jitter], still within the cap.
    const double factor = 1.0 + jitter_ * (2.0 * random01_() - 1.0);
    delay = std::min(cap_ms_, static_cast<std::int64_t>(static_cast<double>(delay) * factor));
  }
  return std::max<std::int64_t>(delay, 0);
}

bool is_retryable_error(std::string_view code) {
  // Deterministic failures: a retry would fail the same way (a cleanup that ran out of time
  // would only burn the time again).
  static constexpr std::array<std::string_view, 6> kFinal = {
      errc::bad_archive, errc::unsafe_archive, errc::archive_limits, errc::cancelled,
      errc::resource_limit, errc::timeout};
  return std::find(kFinal.begin(), kFinal.end(), code) == kFinal.end();
}

}  // namespace fti::jobs
