#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "support/temp_dir.hpp"
#include "db/db_test_util.hpp"
#include "fti/db/database.hpp"

using namespace fti;
using namespace fti::db;
using fti::testing::exec_ok;
using fti::testing::open_or_fail;
using fti::testing::query_ok;

TEST_CASE("sqlite: opening creates the file and its parent folders", "[db][sqlite]") {
  testing::TempDir dir;
  const auto file = dir.path() / "nested" / "deeper" / "fti.db";
  auto db = open_or_fail("sqlite:" + file.string());
  CHECK(std::filesystem::exists(file));
  CHECK(db->dialect() == Dialect::sqlite);
  auto conn = db->acquire();
  REQUIRE(conn.ok());
  CHECK(query_ok(**conn, "PRAGMA journal_mode").front().get_text(0) == "wal");
  CHECK(query_ok(**conn, "PRAGMA foreign_keys").front().get_int(0) == 1);
  CHECK(query_ok(**conn, "PRAGMA synchronous").front().get_int(0) == 1);  // NORMAL
}

TEST_CASE("database URLs: unsupported ones and unreachable servers say what to do", "[db]") {
  // Port 1 on loopback: nothing listens there, so the connection is refused at once.
  auto pg = open_database("postgresql://fti:hunter2@127.0.0.1:1/fti", {});
  REQUIRE_FALSE(pg.ok());
  CHECK(pg.error().code == errc::bad_config);
  CHECK_THAT(pg.error().message, Catch::Contains("cannot connect to PostgreSQL") && Catch::Contains("database.url"));
  CHECK_THAT(pg.error().message, !Catch::Contains("hunter2"));  // the password never shows
  auto unknown = open_database("mysql://x", {});
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().code == errc::bad_config);
  auto empty = open_database("sqlite:", {});
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.error().code == errc::bad_config);
}

TEST_CASE("sqlite: parameters of every type round-trip, bound by $n", "[db][sqlite]") {
  auto db = open_or_fail("sqlite::memory:");
  auto conn = db->acquire();
  REQUIRE(conn.ok());
  Connection& c = **conn;
  exec_ok(c, "CREATE TABLE t (i BIGINT, d REAL, s TEXT, b BLOB, n TEXT)");
  const std::string blob("a\0b\xff", 4);
  exec_ok(c, "INSERT INTO t (i, d, s, b, n) VALUES ($1, $2, $3, $4, $5)",
          {Value(std::int64_t{1} << 40), Value(2.5), Value(std::string("héllo")), Value(blob), null_value()});
  const Rows rows = query_ok(c, "SELECT i, d, s, b, n FROM t");
  REQUIRE(rows.size() == 1);
  const Row& r = rows.front();
  CHECK(r.get_int(0) == (std::int64_t{1} << 40));
  CHECK(r.get_double(1) == 2.5);
  CHECK(r.get_text(2) == "héllo");
  CHECK(r.get_text(3) == blob);
  CHECK(r.get_text(3).size() == 4);
  CHECK(r.is_null(4));
  CHECK_FALSE(r.opt_text(4).has_value());
  CHECK_FALSE(r.opt_int(4).has_value());
  CHECK(r.get_int(4) == 0);
  CHECK(r.get_text(4).empty());
  CHECK(r.opt_int(0) == (std::int64_t{1} << 40));

  SECTION("one placeholder may appear twice, in any order") {
    const Rows twice = query_ok(c, "SELECT $2 + $1, $1 * $1", {Value(std::int64_t{3}), Value(std::int64_t{10})});
    CHECK(twice.front().get_int(0) == 13);
    CHECK(twice.front().get_int(1) == 9);
  }
  SECTION("too few or too many parameters are an error, not a silent NULL") {
    auto few = c.query("SELECT $1, $2", {Value(std::int64_t{1})});
    REQUIRE_FALSE(few.ok());
    CHECK(few.error().code == errc::db_error);
    auto many = c.query("SELECT $1", {Value(std::int64_t{1}), Value(std::int64_t{2})});
    REQUIRE_FALSE(many.ok());
    CHECK(many.error().code == errc::db_error);
  }
  SECTION("a SQL error carries sqlite's message") {
    auto bad = c.query("SELECT nope FROM t");
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().code == errc::db_error);
    CHECK_THAT(bad.error().message, Catch::Contains("nope"));
  }
  SECTION("execute reports the rows it changed") {
    auto r2 = c.execute("UPDATE t SET s = $1", {Value(std::string("x"))});
    REQUIRE(r2.ok());
    CHECK(r2->rows_affected == 1);
  }
}

TEST_CASE("sqlite: a duplicate key is a conflict", "[db][sqlite]") {
  auto db = open_or_fail("sqlite::memory:");
  auto conn = db->acquire();
  REQUIRE(conn.ok());
  exec_ok(**conn, "CREATE TABLE t (id TEXT PRIMARY KEY)");
  exec_ok(**conn, "INSERT INTO t (id) VALUES ($1)", {Value(std::string("a"))});
  auto dup = (*conn)->execute("INSERT INTO t (id) VALUES ($1)", {Value(std::string("a"))});
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.error().code == errc::conflict);
}

TEST_CASE("sqlite: COPY is refused with a clear error, and nothing is loaded", "[db][sqlite]") {
  auto db = open_or_fail("sqlite::memory:");
  auto conn = db->acquire();
  REQUIRE(conn.ok());
  exec_ok(**conn, "CREATE TABLE t (id TEXT PRIMARY KEY)");
  auto refused = (*conn)->copy_in("COPY t (id) FROM STDIN", "a\n");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message.find("PostgreSQL") != std::string::npos);
  CHECK(query_ok(**conn, "SELECT COUNT(*) FROM t").front().get_int(0) == 0);
}

TEST_CASE("sqlite: prepared statements are cached by SQL text and reused cleanly", "[db][sqlite]") {
  auto db = open_or_fail("sqlite::memory:");
  auto conn = db->acquire();
  REQUIRE(conn.ok());
  Connection& c = **conn;
  exec_ok(c, "CREATE TABLE t (k INTEGER, v TEXT)");
  const auto before = c.cached_statement_count();
  for (int i = 0; i < 50; ++i) {
    exec_ok(c, "INSERT INTO t (k, v) VALUES ($1, $2)",
            {Value(std::int64_t{i}), i % 2 ? null_value() : Value(std::to_string(i))});
  }
  CHECK(c.cached_statement_count() == before + 1);
  // The reused statement got fresh bindings each time: odd rows are NULL, not the last text.
  const Rows rows = query_ok(c, "SELECT COUNT(*) FROM t WHERE v IS NULL");
  CHECK(rows.front().get_int(0) == 25);
  // A reused SELECT after a schema change still sees the new column.
  const std::string sel = "SELECT * FROM t WHERE k = $1";
  CHECK(query_ok(c, sel, {Value(std::int64_t{0})}).front().size() == 2);
  exec_ok(c, "ALTER TABLE t ADD COLUMN extra TEXT");
  CHECK(query_ok(c, sel, {Value(std::int64_t{0})}).front().size() == 3);
}

TEST_CASE("sqlite: a failed transaction rolls back, a good one commits", "[db][sqlite]") {
  testing::TempDir dir;
  auto db = open_or_fail(dir.sqlite_url());
  {
    auto conn = db->acquire();
    REQUIRE(conn.ok());
    exec_ok(**conn, "CREATE TABLE t (v INTEGER)");
  }
  Status failed = db->transact(TxMode::write, [](Connection& c) -> Status {
    FTI_TRY(c.execute("INSERT INTO t (v) VALUES (1)"));
    return Error(errc::bad_request, "changed my mind");
  });
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().code == errc::bad_request);
  Status good = db->transact(TxMode::write, [](Connection& c) -> Status {
    FTI_TRY(c.execute("INSERT INTO t (v) VALUES (2)"));
    return ok_status();
  });
  REQUIRE(good.ok());
  // Read from a fresh database handle: only the committed row is on disk.
  db.reset();
  auto again = open_or_fail(dir.sqlite_url());
  auto conn = again->acquire();
  REQUIRE(conn.ok());
  const Rows rows = query_ok(**conn, "SELECT v FROM t");
  REQUIRE(rows.size() == 1);
  CHECK(rows.front().get_int(0) == 2);
}

TEST_CASE("sqlite: a second writer gets db_busy, and transact waits it out", "[db][sqlite]") {
  testing::TempDir dir;
  OpenOptions options;
  options.pool_size = 2;
  options.busy_timeout_ms = 50;
  auto db = open_or_fail(dir.sqlite_url(), options);
  {
    auto conn = db->acquire();
    REQUIRE(conn.ok());
    exec_ok(**conn, "CREATE TABLE t (v INTEGER)");
  }
  auto a = db->acquire();
  auto b = db->acquire();
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE((*a)->begin(TxMode::write).ok());
  exec_ok(**a, "INSERT INTO t (v) VALUES (1)");

  Status blocked = (*b)->begin(TxMode::write);
  REQUIRE_FALSE(blocked.ok());
  CHECK(blocked.error().code == errc::db_busy);
  // Readers are not blocked by the writer in WAL mode, and see only committed data.
  CHECK(query_ok(**b, "SELECT COUNT(*) FROM t").front().get_int(0) == 0);

  REQUIRE((*a)->commit().ok());
  REQUIRE((*b)->begin(TxMode::write).ok());
  REQUIRE((*b)->rollback().ok());

  SECTION("transact retries while another writer holds the lock briefly") {
    REQUIRE((*a)->begin(TxMode::write).ok());
    std::atomic<bool> committed{false};
    std::thread holder([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(120));
      committed = (*a)->commit().ok();
    });
    // The pool has no third connection; give b back so transact can use it.
    { auto released = std::move(*b); }
    Status s = db->transact(TxMode::write, [](Connection& c) -> Status {
      FTI_TRY(c.execute("INSERT INTO t (v) VALUES (2)"));
      return ok_status();
    });
    holder.join();
    CHECK(committed);
    INFO((s.ok() ? std::string() : s.error().message));
    CHECK(s.ok());
  }
}

TEST_CASE("sqlite: acquire times out with db_busy when the pool is exhausted", "[db][sqlite]") {
  testing::TempDir dir;
  OpenOptions options;
  options.pool_size = 1;
  options.busy_timeout_ms = 30;
  auto db = open_or_fail(dir.sqlite_url(), options);
  {
    auto held = db->acquire();
    REQUIRE(held.ok());
    auto waiting = db->acquire();
    REQUIRE_FALSE(waiting.ok());
    CHECK(waiting.error().code == errc::db_busy);
  }
  CHECK(db->acquire().ok());  // given back when the lease ended
}

TEST_CASE("sqlite: a connection handed back wakes a waiting thread", "[db][sqlite]") {
  testing::TempDir dir;
  OpenOptions options;
  options.pool_size = 1;
  options.busy_timeout_ms = 5000;
  auto db = open_or_fail(dir.sqlite_url(), options);
  auto held = db->acquire();
  REQUIRE(held.ok());
  std::atomic<bool> got{false};
  std::thread waiter([&] { got = db->acquire().ok(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  { auto release = std::move(*held); }
  waiter.join();
  CHECK(got);
}
