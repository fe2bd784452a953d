#include <catch2/catch.hpp>

#include "db/temp_dir.hpp"
#include "fti/db/database.hpp"
#include "fti/db/migrations.hpp"

using namespace fti;
using namespace fti::db;

namespace {

bool table_exists(Database& db, const std::string& name) {
  auto conn = db.acquire();
  REQUIRE(conn.ok());
  auto rows = (*conn)->query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $1", {Value(name)});
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
  testing::TempDir dir;
  {
    auto db = open_database(dir.sqlite_url(), {});
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
  auto db = open_database(dir.sqlite_url(), {});
  REQUIRE(db.ok());
  auto third = migrate(**db);
  REQUIRE(third.ok());
  CHECK(*third == 0);
  CHECK(applied_versions(**db) == static_cast<std::int64_t>(all_migrations().size()));
}

TEST_CASE("migrations: a broken migration leaves nothing half applied", "[db]") {
  testing::TempDir dir;
  auto db = open_database(dir.sqlite_url(), {});
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
  auto db = open_database("sqlite::memory:", {});
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
