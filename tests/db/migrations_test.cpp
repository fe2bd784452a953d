#include <catch2/catch.hpp>

#include <atomic>
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
  auto db = open_database(dir.url(), {});
  REQUIRE(db.ok());
  REQUIRE(migrate(**db).ok());
  auto conn = (*db)->acquire();
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
  for (int i = 0; i < 4; ++i) {
    starters.emplace_back([&] {
      auto db = open_database(dir.url(), {});
      if (!db.ok()) {
        ++failed;
        return;
      }
      auto n = migrate(**db);
      if (n.ok()) applied += *n; else ++failed;
    });
  }
  for (auto& t : starters) t.join();
  CHECK(failed == 0);
  CHECK(applied == static_cast<int>(all_migrations().size()));
  auto db = open_database(dir.url(), {});
  REQUIRE(db.ok());
  CHECK(applied_versions(**db) == static_cast<std::int64_t>(all_migrations().size()));
}
