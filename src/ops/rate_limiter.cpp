#include "fti/ops/rate_limiter.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace fti::ops {

RateLimiter::RateLimiter(double rate_per_second, double burst, std::size_t max_keys)
    : rate_(rate_per_second), burst_(std::max(1.0, burst)), max_keys_(std::max<std::size_t>(1, max_keys)) {}

double RateLimiter::refilled(const Bucket& b, TimeMs now) const {
  const double elapsed_s = static_cast<double>(std::max<TimeMs>(0, now - b.updated_ms)) / 1000.0;
  return std::min(burst_, b.tokens + elapsed_s * rate_);
}

std::optional<std::chrono::milliseconds> RateLimiter::take(const std::string& key, TimeMs now) {
  if (rate_ <= 0) return std::nullopt;
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) forget_idle(now);
    it = buckets_.emplace(key, Bucket{burst_, now}).first;
  }
  Bucket& b = it->second;
  b.tokens = refilled(b, now);
  b.updated_ms = std::max(b.updated_ms, now);
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return std::nullopt;
  }
  const double wait_s = (1.0 - b.tokens) / rate_;
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(wait_s * 1000.0)));
}

void RateLimiter::forget_idle(TimeMs now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    it = refilled(it->second, now) >= burst_ ? buckets_.erase(it) : std::next(it);
  }
  if (buckets_.size() < max_keys_) return;
  // Everyone is busy: forget the tenth that was quiet longest, so the next tenth of new keys
  // needs no sweep, and the busiest keys keep their (empty) buckets: forgetting them would
  // hand each a fresh burst.
  std::vector<TimeMs> updated;
  updated.reserve(buckets_.size());
  for (const auto& [key, b] : buckets_) updated.push_back(b.updated_ms);
  const auto cut = updated.begin() + static_cast<std::ptrdiff_t>(updated.size() / 10);
  std::nth_element(updated.begin(), cut, updated.end());
  const TimeMs oldest_kept = *cut;
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    it = it->second.updated_ms < oldest_kept ? buckets_.erase(it) : std::next(it);
  }
  if (buckets_.size() >= max_keys_) buckets_.clear();  // all updated at the same moment
}

std::size_t RateLimiter::keys() const {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

}  // namespace fti::ops
