// Surge mode over a manual timeline: a steady baseline, a burst, the way back.
#include <catch2/catch.hpp>

#include <vector>

#include "fti/ops/surge.hpp"

using namespace fti;
using fti::ops::SurgeController;
using fti::ops::SurgeOptions;

namespace {

constexpr TimeMs kStart = 1'767'225'600'000;

// `per_second` requests in each of `seconds` seconds from `t`, ticking once a second as
// the server does; returns the time after.
TimeMs drive(SurgeController& c, TimeMs t, int seconds, int per_second) {
  for (int s = 0; s < seconds; ++s) {
    for (int i = 0; i < per_second; ++i) c.record_request(t + (i * 1000) / std::max(1, per_second));
    t += 1000;
    c.tick(t);
  }
  return t;
}

}  // namespace

TEST_CASE("surge: a burst over twice the baseline turns it on, and it turns off once the rate is back", "[surge]") {
  SurgeController c(SurgeOptions{}, kStart);
  std::vector<bool> changes;
  c.on_change([&](const ops::SurgeStatus& s) { changes.push_back(s.active); });

  TimeMs t = drive(c, kStart, 600, 10);  // ten minutes at 10/s
  REQUIRE(c.status().baseline_ready);
  CHECK(c.status().baseline == Approx(10).margin(0.5));
  CHECK_FALSE(c.status().active);

  t = drive(c, t, 30, 40);  // a burst at 40/s: the minute's rate climbs past 20/s
  CHECK(c.status().active);
  CHECK(c.status().reason.find("baseline") != std::string::npos);
  REQUIRE(changes == std::vector<bool>{true});

  t = drive(c, t, 120, 10);  // back to 10/s: off within the next minute or two
  CHECK_FALSE(c.status().active);
  CHECK(changes == std::vector<bool>{true, false});
}

TEST_CASE("surge: hysteresis holds it on while the rate hovers between the two thresholds", "[surge]") {
  SurgeOptions o;
  o.min_seconds = 0;
  SurgeController c(o, kStart);
  TimeMs t = drive(c, kStart, 600, 10);
  t = drive(c, t, 60, 40);
  REQUIRE(c.status().active);
  // 17/s: under 2x a baseline that has crept up, but over 1.5x of it: no flapping.
  const double baseline = c.status().baseline;
  const int hover = static_cast<int>(baseline * 1.75);
  t = drive(c, t, 60, hover);
  CHECK(c.status().active);
}

TEST_CASE("surge: no automatic decision before a full minute, and quiet traffic never surges", "[surge]") {
  SurgeController c(SurgeOptions{}, kStart);
  TimeMs t = drive(c, kStart, 30, 100);  // a start-up burst with no baseline yet
  CHECK_FALSE(c.status().baseline_ready);
  CHECK_FALSE(c.status().active);

  SurgeController quiet(SurgeOptions{}, kStart);
  t = drive(quiet, kStart, 600, 1);
  t = drive(quiet, t, 60, 4);  // 4x the baseline, but under surge.min_rate (5/s)
  CHECK_FALSE(quiet.status().active);
}

TEST_CASE("surge: an operator forces it on and off; null returns to the figures", "[surge]") {
  SurgeController c(SurgeOptions{}, kStart);
  std::vector<bool> changes;
  c.on_change([&](const ops::SurgeStatus& s) { changes.push_back(s.active); });
  TimeMs t = drive(c, kStart, 120, 10);

  c.force(true, t);
  CHECK(c.status().active);
  CHECK(c.status().forced == std::optional<bool>(true));
  t = drive(c, t, 300, 10);  // calm traffic does not turn a forced surge off
  CHECK(c.status().active);

  c.force(std::nullopt, t);  // automatic: calm traffic, so off
  CHECK_FALSE(c.status().forced.has_value());
  CHECK_FALSE(c.status().active);

  t = drive(c, t, 60, 40);
  REQUIRE(c.status().active);
  c.force(false, t);  // an operator overrules the figures
  CHECK_FALSE(c.status().active);
  t = drive(c, t, 60, 40);
  CHECK_FALSE(c.status().active);
  CHECK(changes == std::vector<bool>{true, false, true, false});
}

TEST_CASE("surge: a long silence decays the baseline without a loop per second", "[surge]") {
  SurgeController c(SurgeOptions{}, kStart);
  TimeMs t = drive(c, kStart, 600, 10);
  const double before = c.status().baseline;
  t += 86'400'000LL * 365;  // a year without a request or a tick
  c.tick(t);
  CHECK(c.status().baseline < before * 0.01);
  CHECK(c.status().rate == 0);
}
