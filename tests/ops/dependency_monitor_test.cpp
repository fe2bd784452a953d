#include <catch2/catch.hpp>

#include <vector>

#include "fti/ops/dependency_monitor.hpp"

using namespace fti;

namespace {
constexpr TimeMs kT = 1'767'225'600'000;
}

TEST_CASE("dependencies: failed checks open the breaker; one trial per cooldown; success closes it", "[deps]") {
  ops::DependencyMonitor monitor;
  bool healthy = true;
  int checks = 0;
  ops::DependencyOptions o;
  o.interval = std::chrono::milliseconds(1000);
  o.failure_threshold = 3;
  o.cooldown = std::chrono::milliseconds(5000);
  monitor.add("database", [&]() -> Status {
    ++checks;
    return healthy ? ok_status() : Status(Error(errc::db_error, "connection refused"));
  }, o);
  std::vector<bool> changes;
  monitor.on_change([&](const ops::DependencyState& s) { changes.push_back(s.up); });

  monitor.tick(kT);
  CHECK_FALSE(monitor.first_down(kT).has_value());
  monitor.tick(kT + 500);  // not due yet
  CHECK(checks == 1);

  healthy = false;
  TimeMs t = kT;
  for (int i = 0; i < 2; ++i) monitor.tick(t += 1000);
  CHECK_FALSE(monitor.first_down(t).has_value());  // two failures: still closed
  monitor.tick(t += 1000);
  auto down = monitor.first_down(t);
  REQUIRE(down.has_value());
  CHECK(down->name == "database");
  CHECK(down->state == "open");
  CHECK(down->last_error == "connection refused");
  CHECK(down->retry_at_ms == t + 5000);
  CHECK(changes == std::vector<bool>{false});

  const int before = checks;
  for (int i = 0; i < 4; ++i) monitor.tick(t += 1000);  // open: no checks during the cooldown
  CHECK(checks == before);
  monitor.tick(t += 1000);  // the cooldown is over: one trial, which fails and re-opens it
  CHECK(checks == before + 1);
  CHECK(monitor.first_down(t).has_value());

  healthy = true;
  monitor.tick(t += 5000);
  CHECK_FALSE(monitor.first_down(t).has_value());
  CHECK(changes == std::vector<bool>{false, true});
  auto states = monitor.states(t);
  REQUIRE(states.size() == 1);
  CHECK(states[0].up);
  CHECK(states[0].last_error.empty());
}
