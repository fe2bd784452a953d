#pragma once
// Shared set-up for job tests: a migrated database (SQLite, or PostgreSQL when the suite runs
// against it; see tests/support/test_database.hpp) and a manual clock.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "support/test_database.hpp"
#include "fakes/manual_clock.hpp"
#include "fti/db/database.hpp"
#include "fti/db/migrations.hpp"
#include "fti/jobs/job_store.hpp"

namespace fti::testing {

struct JobStoreFixture {
  TestDatabase db;
  fakes::ManualClock clock;
  std::unique_ptr<db::Database> database;
  std::unique_ptr<jobs::JobStore> store;

  JobStoreFixture() { open(); }

  // Opens (or reopens, as a restarted process would) the store on the same database.
  void open() {
    database = db.open();
    store = jobs::make_sql_job_store(*database);
  }
  void close() {
    store.reset();
    database.reset();
  }

  jobs::Job enqueue(const std::string& tenant = "acme",
                    jobs::Priority priority = jobs::Priority::normal, int max_attempts = 3) {
    jobs::NewJob job;
    job.tenant = tenant;
    job.priority = priority;
    job.max_attempts = max_attempts;
    job.input = {"messy.zip", 1234, "abc123", "uploads/x"};
    auto r = store->enqueue(job, clock.now_ms());
    INFO((r.ok() ? std::string() : r.error().message));
    REQUIRE(r.ok());
    return std::move(r).value();
  }

  // Claims exactly one job, failing the test if none is claimable.
  jobs::Job claim_one(TimeMs lease_ms = 30000, const std::string& worker = "w1") {
    auto r = store->claim(worker, 1, clock.now_ms(), lease_ms);
    REQUIRE(r.ok());
    REQUIRE(r->size() == 1);
    return r->front();
  }

  std::size_t claimable(TimeMs lease_ms = 30000) {
    auto r = store->claim("probe", 100, clock.now_ms(), lease_ms);
    REQUIRE(r.ok());
    return r->size();
  }

  jobs::Job get(const std::string& id) {
    auto r = store->get(id, std::nullopt);
    REQUIRE(r.ok());
    return std::move(r).value();
  }
};

// Waits for a condition with a deadline, checking often; true when it held in time.
template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return pred();
}

}  // namespace fti::testing
