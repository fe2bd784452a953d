#pragma once
// Where a test's database lives. By default a SQLite file in a new temp folder. When the
// suite runs against PostgreSQL (FTITEST_DB=postgres, with FTITEST_PG_URL naming a server,
// as scripts/test sets up), a new schema of that server, dropped at the end: every test
// starts empty, and the same test code checks both drivers.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <memory>
#include <random>
#include <string>

#include "support/temp_dir.hpp"
#include "fti/db/database.hpp"
#include "fti/db/migrations.hpp"

namespace fti::testing {

inline bool testing_postgres() {
  const char* driver = std::getenv("FTITEST_DB");
  return driver && std::string(driver) == "postgres";
}

// The PostgreSQL server the tests may use, or "" when there is none.
inline std::string postgres_server_url() {
  const char* url = std::getenv("FTITEST_PG_URL");
  return url ? url : "";
}

class TestDatabase {
 public:
  TestDatabase() : postgres_(testing_postgres()) {
    if (!postgres_) {
      url_ = dir_.sqlite_url();
      return;
    }
    const std::string server = postgres_server_url();
    INFO("FTITEST_DB=postgres needs FTITEST_PG_URL: eval \"$(tests/tools/start-postgres)\"");
    REQUIRE_FALSE(server.empty());
    std::random_device rd;
    schema_ = "t_" + std::to_string(rd()) + "_" + std::to_string(rd());
    auto admin = db::open_database(server, {});
    INFO((admin.ok() ? std::string() : admin.error().message));
    REQUIRE(admin.ok());
    admin_ = std::move(admin).value();
    auto conn = admin_->acquire();
    REQUIRE(conn.ok());
    REQUIRE((*conn)->execute_script("CREATE SCHEMA " + schema_).ok());
    url_ = server + (server.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" + schema_;
  }
  ~TestDatabase() {
    if (!admin_) return;
    if (auto conn = admin_->acquire(); conn.ok()) (void)(*conn)->execute_script("DROP SCHEMA " + schema_ + " CASCADE");
  }
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& url() const { return url_; }
  bool is_postgres() const { return postgres_; }
  // A scratch folder beside the database (blobs, files), whatever the driver.
  const TempDir& dir() const { return dir_; }

  // Opens and migrates; fails the test when either fails.
  std::unique_ptr<db::Database> open(const db::OpenOptions& options = {}) const {
    auto db = db::open_database(url_, options);
    INFO((db.ok() ? std::string() : db.error().message));
    REQUIRE(db.ok());
    auto migrated = db::migrate(**db);
    INFO((migrated.ok() ? std::string() : migrated.error().message));
    REQUIRE(migrated.ok());
    return std::move(db).value();
  }

 private:
  TempDir dir_;
  bool postgres_;
  std::string url_;
  std::string schema_;
  std::unique_ptr<db::Database> admin_;
};

}  // namespace fti::testing
