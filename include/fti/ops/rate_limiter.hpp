#pragma once
// Token buckets by key (a tenant, a client address): each key may spend `burst` requests at
// once and gets `rate` more a second. A request over its bucket is told how long until the
// next token, which becomes Retry-After. Keys are bounded: past `max_keys`, buckets that
// have refilled (idle keys) are forgotten, and if that is not enough, the tenth that was
// quiet longest.
#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "fti/core/clock.hpp"

namespace fti::ops {

class RateLimiter {
 public:
  // rate <= 0: no limit.
  RateLimiter(double rate_per_second, double burst, std::size_t max_keys = 100'000);

  // nullopt: allowed (a token was taken). Otherwise refused, with the wait until one is.
  std::optional<std::chrono::milliseconds> take(const std::string& key, TimeMs now);
  std::size_t keys() const;

 private:
  struct Bucket {
    double tokens = 0;
    TimeMs updated_ms = 0;
  };
  double refilled(const Bucket& b, TimeMs now) const;
  void forget_idle(TimeMs now);  // under mutex_

  double rate_;
  double burst_;
  std::size_t max_keys_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace fti::ops
