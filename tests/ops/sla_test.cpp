#include <catch2/catch.hpp>

#include <algorithm>

#include "fakes/manual_clock.hpp"
#include "fti/ops/sla.hpp"

using fti::ops::CleanupOutcome;
using fti::ops::SlaMonitor;
using fti::ops::SlaOptions;

namespace {

SlaOptions design_defaults(int window_seconds = 300) {
  fti::SlaConfig config;
  config.window_seconds = window_seconds;
  return fti::ops::sla_options_from_config(config);
}

// `n` API requests of `ms` each, answered `status`, spread over the next `seconds`.
void requests(SlaMonitor& sla, fti::fakes::ManualClock& clock, int n, double ms, int status, int seconds = 1) {
  for (int i = 0; i < n; ++i) {
    if (seconds > 1 && i > 0 && i % (n / seconds) == 0) clock.advance(1000);
    sla.record_api(clock.now_ms(), ms / 1000.0, status);
  }
}

}  // namespace

TEST_CASE("sla: nothing measured is compliant, with no figures", "[ops][sla]") {
  fti::fakes::ManualClock clock;
  SlaMonitor sla(design_defaults(), clock.now_ms());
  auto report = sla.report(clock.now_ms());
  CHECK(report.compliant);
  CHECK(report.window_seconds == 300);
  REQUIRE(report.services.size() == 3);
  for (const auto& s : report.services) {
    CHECK(s.count == 0);
    CHECK_FALSE(s.p99_ms.has_value());
    CHECK_FALSE(s.availability_percent.has_value());
  }
  CHECK(report.service("api").targets.p99_ms == 500.0);
  CHECK(report.service("cleanup").targets.p95_ms == 180000.0);
  CHECK(report.service("websocket").targets.p50_ms == 10.0);
  CHECK_FALSE(report.service("websocket").targets.availability_percent.has_value());
}

TEST_CASE("sla: percentiles over the window, within one bucket of the truth", "[ops][sla]") {
  fti::fakes::ManualClock clock;
  SlaMonitor sla(design_defaults(), clock.now_ms());
  // 900 fast requests and 100 slow ones: p50 fast, p95 and p99 slow.
  requests(sla, clock, 900, 20, 200);
  requests(sla, clock, 100, 300, 200);
  auto api = sla.report(clock.now_ms()).service("api");
  CHECK(api.count == 1000);
  REQUIRE(api.p50_ms);
  CHECK(*api.p50_ms >= 20.0);
  CHECK(*api.p50_ms <= 20.0 * 1.1);
  CHECK(*api.p95_ms == Approx(300.0));  // the largest sample caps the bucket bound
  CHECK(*api.p99_ms == Approx(300.0));
  CHECK(api.violates("p95_ms"));        // 300 > 200
  CHECK_FALSE(api.violates("p99_ms"));  // 300 <= 500
  CHECK_FALSE(api.violates("p50_ms"));
  CHECK_FALSE(api.compliant);
}

TEST_CASE("sla: a burst of slow requests makes p99 violate, and it leaves with the window", "[ops][sla]") {
  fti::fakes::ManualClock clock;
  SlaMonitor sla(design_defaults(60), clock.now_ms());
  requests(sla, clock, 1000, 10, 200, 10);
  CHECK(sla.report(clock.now_ms()).compliant);

  requests(sla, clock, 30, 2000, 200);  // 3% of requests take 2 s
  auto report = sla.report(clock.now_ms());
  CHECK_FALSE(report.compliant);
  const auto& api = report.service("api");
  REQUIRE(api.violates("p99_ms"));
  const auto v = std::find_if(api.violations.begin(), api.violations.end(),
                              [](const auto& x) { return x.metric == "p99_ms"; });
  CHECK(v->target == 500.0);
  CHECK(v->measured == Approx(2000.0));

  // A minute later the slow burst is out of the window; new fast traffic is compliant.
  clock.advance(61 * 1000);
  requests(sla, clock, 100, 10, 200);
  report = sla.report(clock.now_ms());
  CHECK(report.service("api").count == 100);
  CHECK(report.compliant);
  CHECK(*report.service("api").p99_ms <= 11.0);
}

TEST_CASE("sla: old samples leave the window slot by slot", "[ops][sla]") {
  fti::fakes::ManualClock clock(0);
  SlaMonitor sla(design_defaults(10), clock.now_ms());
  for (int second = 0; second < 10; ++second) {
    sla.record_api(clock.now_ms(), 0.001, 200);
    clock.advance(1000);
  }
  // At t=10 s the sample of second 0 has left; seconds 1..9 remain.
  CHECK(sla.report(clock.now_ms()).service("api").count == 9);
  clock.advance(5000);
  CHECK(sla.report(clock.now_ms()).service("api").count == 4);
  clock.advance(3600 * 1000);  // a long silence empties it in one step
  CHECK(sla.report(clock.now_ms()).service("api").count == 0);
}

TEST_CASE("sla: rates, peak and long windows stay bounded", "[ops][sla]") {
  fti::fakes::ManualClock clock(0);
  SlaMonitor sla(design_defaults(3600), clock.now_ms());  // 300 slots of 12 s
  for (int i = 0; i < 120; ++i) sla.record_api(clock.now_ms(), 0.001, 200);
  clock.advance(3600 * 1000 - 1);
  auto api = sla.report(clock.now_ms()).service("api");
  CHECK(api.count == 120);
  CHECK(api.rate_per_second == Approx(120.0 / 3600.0).epsilon(0.01));
  CHECK(api.peak_per_second == Approx(10.0));  // 120 in one 12-second slot
}

TEST_CASE("sla: a 5xx burst breaks availability; 429 does not; 503 is not an error", "[ops][sla]") {
  fti::fakes::ManualClock clock;

  SECTION("429: refused on purpose, the service is up") {
    SlaMonitor sla(design_defaults(), clock.now_ms());
    requests(sla, clock, 1000, 5, 200);
    requests(sla, clock, 500, 1, 429);
    auto api = sla.report(clock.now_ms()).service("api");
    CHECK(*api.availability_percent == 100.0);
    CHECK(*api.error_rate_percent == 0.0);
    CHECK(api.compliant);
  }
  SECTION("503: unavailable, not an error") {
    SlaMonitor sla(design_defaults(), clock.now_ms());
    requests(sla, clock, 999, 5, 200);
    requests(sla, clock, 1, 1, 503);  // 0.1% > 0.05%
    auto api = sla.report(clock.now_ms()).service("api");
    CHECK(*api.availability_percent == Approx(99.9));
    CHECK(api.violates("availability"));
    CHECK_FALSE(api.violates("error_rate"));
  }
  SECTION("500: both") {
    SlaMonitor sla(design_defaults(), clock.now_ms());
    requests(sla, clock, 980, 5, 200);
    requests(sla, clock, 20, 5, 500);
    auto api = sla.report(clock.now_ms()).service("api");
    CHECK(*api.availability_percent == Approx(98.0));
    CHECK(*api.error_rate_percent == Approx(2.0));
    CHECK(api.violates("availability"));
    CHECK(api.violates("error_rate"));
  }
  SECTION("a few 4xx are the clients' own") {
    SlaMonitor sla(design_defaults(), clock.now_ms());
    requests(sla, clock, 900, 5, 200);
    requests(sla, clock, 100, 5, 404);
    CHECK(sla.report(clock.now_ms()).compliant);
  }
}

TEST_CASE("sla: cleanup outcomes and latency", "[ops][sla]") {
  fti::fakes::ManualClock clock;
  SlaMonitor sla(design_defaults(), clock.now_ms());
  for (int i = 0; i < 98; ++i) sla.record_cleanup(clock.now_ms(), 30, CleanupOutcome::succeeded);
  sla.record_cleanup(clock.now_ms(), 5, CleanupOutcome::failed_input);
  sla.record_cleanup(clock.now_ms(), 5, CleanupOutcome::failed_input);
  auto report = sla.report(clock.now_ms());
  auto cleanup = report.service("cleanup");
  CHECK(cleanup.count == 100);
  CHECK(*cleanup.availability_percent == 100.0);  // bad uploads are not the service's fault
  CHECK(*cleanup.error_rate_percent == Approx(2.0));
  CHECK(cleanup.violates("error_rate"));
  CHECK_FALSE(fti::ops::cleanup_needs_workers(report));  // bad uploads: more workers would not help

  SlaMonitor slow(design_defaults(), clock.now_ms());
  for (int i = 0; i < 90; ++i) slow.record_cleanup(clock.now_ms(), 40, CleanupOutcome::succeeded);
  for (int i = 0; i < 10; ++i) slow.record_cleanup(clock.now_ms(), 400, CleanupOutcome::succeeded);
  report = slow.report(clock.now_ms());
  CHECK(report.service("cleanup").violates("p95_ms"));
  CHECK(report.service("cleanup").violates("p99_ms"));
  CHECK_FALSE(report.service("cleanup").violates("p50_ms"));
  CHECK(fti::ops::cleanup_needs_workers(report));

  SlaMonitor broken(design_defaults(), clock.now_ms());
  for (int i = 0; i < 999; ++i) broken.record_cleanup(clock.now_ms(), 10, CleanupOutcome::succeeded);
  broken.record_cleanup(clock.now_ms(), 10, CleanupOutcome::failed_service);
  broken.record_cleanup(clock.now_ms(), 10, CleanupOutcome::failed_service);
  report = broken.report(clock.now_ms());
  CHECK(report.service("cleanup").violates("availability"));  // 99.8% < 99.9%
  CHECK_FALSE(fti::ops::cleanup_needs_workers(report));       // more workers would not help

  CHECK(fti::ops::is_input_fault("bad_archive"));
  CHECK(fti::ops::is_input_fault("timeout"));
  CHECK_FALSE(fti::ops::is_input_fault("internal"));
  CHECK_FALSE(fti::ops::is_input_fault("lease_expired"));
}

TEST_CASE("sla: websocket delivery latency has only percentile targets", "[ops][sla]") {
  fti::fakes::ManualClock clock;
  SlaMonitor sla(design_defaults(), clock.now_ms());
  for (int i = 0; i < 100; ++i) sla.record_websocket(clock.now_ms(), 0.002);
  auto ws = sla.report(clock.now_ms()).service("websocket");
  CHECK(ws.compliant);
  CHECK(*ws.p99_ms == Approx(2.0));
  CHECK_FALSE(ws.availability_percent.has_value());
  for (int i = 0; i < 5; ++i) sla.record_websocket(clock.now_ms(), 0.5);
  ws = sla.report(clock.now_ms()).service("websocket");
  CHECK(ws.violates("p99_ms"));
  CHECK_FALSE(ws.violates("p50_ms"));
}

TEST_CASE("sla: targets of zero are not judged", "[ops][sla]") {
  fti::SlaConfig config;
  config.api_p99_ms = 0;
  fti::fakes::ManualClock clock;
  SlaMonitor sla(fti::ops::sla_options_from_config(config), clock.now_ms());
  requests(sla, clock, 100, 5000, 200);
  auto api = sla.report(clock.now_ms()).service("api");
  CHECK_FALSE(api.targets.p99_ms.has_value());
  CHECK_FALSE(api.violates("p99_ms"));
  CHECK(api.violates("p95_ms"));
}
