#include <catch2/catch.hpp>

#include "fti/jobs/scheduler.hpp"

using fti::jobs::allocate_workers;
using fti::jobs::Autoscaler;

TEST_CASE("workers are shared in proportion to waiting jobs", "[jobs][scheduler]") {
  auto a = allocate_workers(10, {{"cleanup", 600}, {"template", 300}, {"enterprise", 100}});
  CHECK(a["cleanup"] == 6);
  CHECK(a["template"] == 3);
  CHECK(a["enterprise"] == 1);
}

TEST_CASE("every non-empty queue gets at least one worker, empty ones none", "[jobs][scheduler]") {
  auto a = allocate_workers(4, {{"cleanup", 10000}, {"priority", 1}, {"template", 0}});
  CHECK(a["priority"] == 1);
  CHECK(a["cleanup"] == 3);
  CHECK(a.count("template") == 0);
  int total = 0;
  for (auto& [q, n] : a) total += n;
  CHECK(total == 4);
}

TEST_CASE("no queue gets more workers than it has jobs", "[jobs][scheduler]") {
  auto a = allocate_workers(16, {{"cleanup", 2}, {"template", 3}});
  CHECK(a["cleanup"] <= 2);
  CHECK(a["template"] <= 3);
}

TEST_CASE("with fewer workers than queues the biggest backlogs are served", "[jobs][scheduler]") {
  auto a = allocate_workers(2, {{"cleanup", 5}, {"template", 50}, {"priority", 20}});
  CHECK(a["template"] == 1);
  CHECK(a["priority"] == 1);
  CHECK(a.count("cleanup") == 0);
  CHECK(allocate_workers(3, {}).empty());
}

TEST_CASE("the autoscaler follows the scaling design's rule", "[jobs][scheduler]") {
  Autoscaler scaler(2, 20, 60);
  // 600 jobs of 6 s each want 600 / 60 * 6 = 60 workers: clamped to 20, at once.
  CHECK(scaler.desired(600, 6.0) == 20);
  CHECK(scaler.next(2, 600, 6.0) == 20);
  // 100 jobs of 6 s: 10 workers; up from 4 at once.
  CHECK(scaler.next(4, 100, 6.0) == 10);
  // Down only below 70% of current: 15 of 20 stays.
  CHECK(scaler.next(20, 150, 6.0) == 20);
  // Desired 5 from 20: down by 10% of the difference (1.5 -> 2) per step.
  CHECK(scaler.next(20, 50, 6.0) == 18);
  CHECK(scaler.next(18, 50, 6.0) == 16);
  // Idle: never under the minimum, one step at a time.
  CHECK(scaler.next(3, 0, 6.0) == 2);
  CHECK(scaler.next(2, 0, 6.0) == 2);
}
