#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "support/test_database.hpp"
#include "fti/db/database.hpp"
#include "fti/db/migrations.hpp"

using namespace fti;
using namespace fti::db;

namespace {

bool table_exists(Database& db, const std::string& name) {
  auto conn = db.acquire();
  REQUIRE(conn.ok());
  const char* sql = db.dialect() == Dialect::postgres
                        ? "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() "
                          "AND table_name = $1"
                        : "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $1";
  auto rows = (*conn)->query(sql, {Value(name)});
  REQUIRE(rows.ok());
  return !rows->empty();
}

std::int64_t applied_versions(Database& db) {
  auto conn = db.acquire();
  REQUIRE(conn.ok());
  auto rows = (*conn)->query("SELECT COUNT(*) FROM schema_migrations");
  REQUIRE(rows.ok());
  return rows->front().get_int(0);
}

}  // namespace

TEST_CASE("migrations: apply once, then nothing on the next start", "[db]") {
  testing::TestDatabase dir;
  {
    auto db = open_database(dir.url(), {});
    REQUIRE(db.ok());
    auto applied = migrate(**db);
    REQUIRE(applied.ok());
    CHECK(*applied == static_cast<int>(all_migrations().size()));
    CHECK(table_exists(**db, "jobs"));
    CHECK(table_exists(**db, "api_keys"));
    auto again = migrate(**db);
    REQUIRE(again.ok());
    CHECK(*again == 0);
  }
  // A restarted process finds the schema in place.
  auto db = open_database(dir.url(), {});
  REQUIRE(db.ok());
  auto third = migrate(**db);
  REQUIRE(third.ok());
  CHECK(*third == 0);
  CHECK(applied_versions(**db) == static_cast<std::int64_t>(all_migrations().size()));
}

TEST_CASE("migrations: a broken migration leaves nothing half applied", "[db]") {
  testing::TestDatabase dir;
  auto db = open_database(dir.url(), {});
  REQUIRE(db.ok());
  const std::vector<Migration> list = {
      {1, "good", "CREATE TABLE a (x INTEGER);", ""},
      {2, "broken", "CREATE TABLE b (x INTEGER); CREATE TABLE oops (", ""},
  };
  auto result = migrate(**db, list);
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().code == errc::db_error);
  CHECK_THAT(result.error().message, Catch::Contains("migration 2"));
  CHECK(table_exists(**db, "a"));
  CHECK_FALSE(table_exists(**db, "b"));
  CHECK(applied_versions(**db) == 1);
}

TEST_CASE("migrations: the jobs schema accepts a full row and enforces unique key hashes", "[db]") {
  testing::TestDatabase dir;
  auto db = dir.open();  // migrated
  auto conn = db->acquire();
  REQUIRE(conn.ok());
  auto insert_key = [&](const std::string& id) {
    return (*conn)->execute(
        "INSERT INTO api_keys (id, tenant, key_hash, is_admin, created_at) VALUES ($1, 't', 'h', 0, 1)",
        {Value(id)});
  };
  REQUIRE(insert_key("k1").ok());
  auto dup = insert_key("k2");
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.error().code == errc::conflict);
}

TEST_CASE("migrations: instances starting together apply each migration once", "[db]") {
  testing::TestDatabase dir;
  // Four "processes" (own Database handles) migrate the same empty database at once.
  std::vector<std::thread> starters;
  std::atomic<int> applied{0};
  std::atomic<int> failed{0};
  std::mutex errors_mutex;
  std::vector<std::string> errors;
  auto failure = [&](const std::string& what, const Error& e) {
    ++failed;
    std::lock_guard lock(errors_mutex);
    errors.push_back(what + ": " + e.message);
  };
  for (int i = 0; i < 4; ++i) {
    starters.emplace_back([&] {
      auto db = open_database(dir.url(), {});
      if (!db.ok()) return failure("open", db.error());
      auto n = migrate(**db);
      if (n.ok()) applied += *n; else failure("migrate", n.error());
    });
  }
  for (auto& t : starters) t.join();
  std::string all_errors;
  for (const auto& e : errors) all_errors += e + "\n";
  INFO(all_errors);
  CHECK(failed == 0);
  CHECK(applied == static_cast<int>(all_migrations().size()));
  auto db = open_database(dir.url(), {});
  REQUIRE(db.ok());
  CHECK(applied_versions(**db) == static_cast<std::int64_t>(all_migrations().size()));
}

TEST_CASE("migrations: on PostgreSQL a guarded job update goes by primary key, whatever the statistics say",
          "[db][postgres]") {
  testing::TestDatabase dir;
  auto db = dir.open();  // migrated
  auto conn = db->acquire();
  REQUIRE(conn.ok());
  // Statistics taken while no job runs, then many running jobs: the state in which a lease
  // index keyed by status made every guarded update scan all running jobs.
  REQUIRE((*conn)->execute_script(
                     "INSERT INTO jobs (id, tenant, type, priority, status, created_at, run_at, finished_at) "
                     "SELECT 'h' || g, 't', 'cleanup', 1, 'succeeded', 1, 1, 1 FROM generate_series(1, 5000) g; "
                     "ANALYZE jobs; "
                     "UPDATE jobs SET status = 'running', attempt = 1, lease_until = 10 WHERE id LIKE 'h1%'; "
                     "SET plan_cache_mode = force_generic_plan")
              .ok());
  auto plan = (*conn)->query(
      "EXPLAIN UPDATE jobs SET status = 'succeeded', lease_until = NULL WHERE id = $1 AND attempt = $2 "
      "AND status = 'running'",
      {Value(std::string("h1")), Value(std::int64_t{1})});
  REQUIRE(plan.ok());
  std::string text;
  for (const auto& row : *plan) text += row.get_text(0) + "\n";
  INFO(text);
  CHECK(text.find("jobs_pkey") != std::string::npos);
  CHECK(text.find("jobs_lease_idx") == std::string::npos);
  // The reaper still finds expired leases through the lease index.
  auto reap = (*conn)->query("EXPLAIN UPDATE jobs SET status = 'retrying' WHERE status = 'running' AND lease_until < $1",
                             {Value(std::int64_t{5})});
  REQUIRE(reap.ok());
  std::string reap_text;
  for (const auto& row : *reap) reap_text += row.get_text(0) + "\n";
  INFO(reap_text);
  CHECK(reap_text.find("jobs_lease_idx") != std::string::npos);
  REQUIRE((*conn)->execute_script("RESET plan_cache_mode").ok());
}
