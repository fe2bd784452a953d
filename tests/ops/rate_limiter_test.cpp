#include <catch2/catch.hpp>

#include "fti/ops/rate_limiter.hpp"

using fti::TimeMs;
using fti::ops::RateLimiter;

constexpr TimeMs kT = 1'767'225'600'000;

TEST_CASE("rate limiter: a burst, then the refill rate, and how long to wait", "[ratelimit]") {
  RateLimiter limiter(2.0, 3);  // 2/s, bursts of 3
  for (int i = 0; i < 3; ++i) CHECK_FALSE(limiter.take("a", kT).has_value());
  auto wait = limiter.take("a", kT);
  REQUIRE(wait.has_value());
  CHECK(wait->count() == 500);  // one token every 500 ms
  CHECK_FALSE(limiter.take("b", kT).has_value());  // another key has its own bucket
  CHECK_FALSE(limiter.take("a", kT + 500).has_value());
  CHECK(limiter.take("a", kT + 500).has_value());
  CHECK_FALSE(limiter.take("a", kT + 60'000).has_value());  // refilled (to the burst, no more)
}

TEST_CASE("rate limiter: rate 0 is no limit", "[ratelimit]") {
  RateLimiter limiter(0, 1);
  for (int i = 0; i < 1000; ++i) REQUIRE_FALSE(limiter.take("a", kT).has_value());
}

TEST_CASE("rate limiter: keys are bounded; idle ones go first", "[ratelimit]") {
  RateLimiter limiter(1.0, 2, 100);
  for (int i = 0; i < 100; ++i) (void)limiter.take("idle-" + std::to_string(i), kT);
  (void)limiter.take("busy", kT + 5000);
  (void)limiter.take("busy", kT + 5000);
  CHECK(limiter.keys() <= 100);
  // The busy key kept its empty bucket; the idle ones were forgotten.
  CHECK(limiter.take("busy", kT + 5000).has_value());
}

TEST_CASE("rate limiter: when every key is busy, the quietest tenth goes and the busiest keep their buckets", "[ratelimit]") {
  RateLimiter limiter(0.001, 1, 100);  // one request, then a very long wait
  for (int i = 0; i < 100; ++i) (void)limiter.take("k" + std::to_string(i), kT + i);  // all empty now
  (void)limiter.take("new", kT + 200);  // full: a sweep makes room
  CHECK(limiter.keys() <= 91);
  CHECK(limiter.take("k99", kT + 201).has_value());       // recent: still limited
  CHECK_FALSE(limiter.take("k0", kT + 202).has_value());  // quietest: forgotten, a fresh bucket
}
