#include <catch2/catch.hpp>

#include "fti/core/error.hpp"
#include "fti/jobs/retry_policy.hpp"

using namespace fti;
using namespace fti::jobs;

TEST_CASE("retry policy: delays double from the base", "[jobs]") {
  const RetryPolicy policy(2000);
  CHECK(policy.delay_ms(1) == 2000);
  CHECK(policy.delay_ms(2) == 4000);
  CHECK(policy.delay_ms(3) == 8000);
  CHECK(policy.delay_ms(0) == 2000);  // nonsense input still waits the base
}

TEST_CASE("retry policy: delays stop growing at the cap, even for huge attempt counts", "[jobs]") {
  const RetryPolicy policy(2000, 10000);
  CHECK(policy.delay_ms(3) == 8000);
  CHECK(policy.delay_ms(4) == 10000);
  CHECK(policy.delay_ms(64) == 10000);
  CHECK(policy.delay_ms(1000000) == 10000);
}

TEST_CASE("retry policy: jitter spreads delays around the nominal value", "[jobs]") {
  double r = 0.0;
  const RetryPolicy policy(1000, 60000, 0.5, [&] { return r; });
  r = 0.0;
  CHECK(policy.delay_ms(2) == 1000);  // 2000 * 0.5
  r = 0.5;
  CHECK(policy.delay_ms(2) == 2000);
  r = 1.0;
  CHECK(policy.delay_ms(2) == 3000);  // 2000 * 1.5
  const RetryPolicy real_random(1000, 60000, 0.2);
  for (int i = 0; i < 100; ++i) {
    const auto d = real_random.delay_ms(1);
    CHECK(d >= 800);
    CHECK(d <= 1200);
  }
}

TEST_CASE("retry policy: problems in the input are not retried", "[jobs]") {
  for (auto code : {errc::bad_archive, errc::unsafe_archive, errc::archive_limits, errc::cancelled,
                    errc::resource_limit, errc::timeout}) {
    CHECK_FALSE(is_retryable_error(code));
  }
  for (auto code : {errc::network_error, errc::storage_error, errc::db_busy, errc::internal}) {
    CHECK(is_retryable_error(code));
  }
}
