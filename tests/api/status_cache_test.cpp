// JobStatusCache on its own, with a manual clock: what it answers, for whom and for how long.
#include <catch2/catch.hpp>

#include "fakes/manual_clock.hpp"
#include "fti/api/status_cache.hpp"

using namespace fti;
using namespace std::chrono_literals;

TEST_CASE("the status cache answers its tenant until the TTL ends", "[api][status_cache]") {
  fakes::ManualClock clock;
  api::JobStatusCache cache(clock, 1000ms, 100);
  CHECK_FALSE(cache.find("t1", "job-1"));
  cache.store(cache.ticket("job-1"), "t1", "job-1", R"({"status":"queued"})");
  CHECK(cache.find("t1", "job-1") == R"({"status":"queued"})");
  CHECK_FALSE(cache.find("t2", "job-1"));  // another tenant misses, and gets the store's 404
  clock.advance(999);
  CHECK(cache.find("t1", "job-1"));
  clock.advance(1);
  CHECK_FALSE(cache.find("t1", "job-1"));
  CHECK(cache.hits() == 2);
  CHECK(cache.misses() == 3);
}

TEST_CASE("an event drops the entry, and a read the event overtook is not stored", "[api][status_cache]") {
  fakes::ManualClock clock;
  api::JobStatusCache cache(clock, 1000ms, 100);
  cache.store(cache.ticket("job-1"), "t1", "job-1", R"({"status":"running"})");
  cache.invalidate("job-1");
  CHECK_FALSE(cache.find("t1", "job-1"));

  // A read of the store began (ticket), the job finished and its event came, then the read
  // returned the old state: storing it would answer "running" after "completed" was sent.
  auto ticket = cache.ticket("job-1");
  cache.invalidate("job-1");
  cache.store(ticket, "t1", "job-1", R"({"status":"running"})");
  CHECK_FALSE(cache.find("t1", "job-1"));
  cache.store(cache.ticket("job-1"), "t1", "job-1", R"({"status":"succeeded"})");
  CHECK(cache.find("t1", "job-1") == R"({"status":"succeeded"})");
}

TEST_CASE("the status cache holds at most its bound, expired entries going first", "[api][status_cache]") {
  fakes::ManualClock clock;
  api::JobStatusCache cache(clock, 1000ms, 3);
  for (int i = 0; i < 3; ++i) cache.store(cache.ticket(std::to_string(i)), "t", std::to_string(i), "{}");
  clock.advance(500);
  cache.store(cache.ticket("fresh"), "t", "fresh", "{}");  // full of fresh entries: starts over
  CHECK(cache.size() == 1);
  CHECK(cache.find("t", "fresh"));
  clock.advance(500);
  cache.store(cache.ticket("a"), "t", "a", "{}");
  cache.store(cache.ticket("b"), "t", "b", "{}");
  clock.advance(500);  // "fresh" has expired, "a" and "b" have not
  cache.store(cache.ticket("c"), "t", "c", "{}");
  CHECK(cache.size() == 3);
  CHECK_FALSE(cache.find("t", "fresh"));
  CHECK(cache.find("t", "a"));
  CHECK(cache.find("t", "c"));
}

TEST_CASE("a TTL of 0 turns the status cache off", "[api][status_cache]") {
  fakes::ManualClock clock;
  api::JobStatusCache cache(clock, 0ms, 100);
  CHECK_FALSE(cache.enabled());
  cache.store(cache.ticket("job-1"), "t1", "job-1", "{}");
  CHECK_FALSE(cache.find("t1", "job-1"));
  CHECK(cache.size() == 0);
}
