// The PostgreSQL driver against a real server (scripts/test starts one; see
// tests/tools/start-postgres). Tagged [postgres]: they run in ctest's db_pg.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "db/db_test_util.hpp"
#include "fti/db/database.hpp"
#include "fti/db/migrations.hpp"
#include "fti/db/pg_array.hpp"
#include "support/test_database.hpp"

using namespace fti;
using namespace fti::db;
using fti::testing::exec_ok;
using fti::testing::open_or_fail;
using fti::testing::query_ok;

namespace {

// A fresh schema on the test server, whatever FTITEST_DB says.
struct PgSchema {
  PgSchema() {
    REQUIRE(testing::testing_postgres());
    db = open_or_fail(test_db.url());
  }
  testing::TestDatabase test_db;
  std::unique_ptr<Database> db;
};

std::int64_t backend_pid(Connection& c) { return query_ok(c, "SELECT pg_backend_pid()").front().get_int(0); }

}  // namespace

TEST_CASE("postgres: parameters of every type round-trip, bound by $n", "[db][postgres]") {
  PgSchema s;
  auto conn = s.db->acquire();
  REQUIRE(conn.ok());
  Connection& c = **conn;
  CHECK(c.dialect() == Dialect::postgres);
  exec_ok(c, "CREATE TABLE t (i BIGINT, small INTEGER, d DOUBLE PRECISION, s TEXT, n TEXT)");
  exec_ok(c, "INSERT INTO t (i, small, d, s, n) VALUES ($1, $2, $3, $4, $5)",
          {Value(std::int64_t{1} << 40), Value(std::int64_t{7}), Value(2.5), Value(std::string("héllo")),
           null_value()});
  const Rows rows = query_ok(c, "SELECT i, small, d, s, n FROM t");
  REQUIRE(rows.size() == 1);
  const Row& r = rows.front();
  CHECK(r.get_int(0) == (std::int64_t{1} << 40));
  CHECK(std::holds_alternative<std::int64_t>(r.at(1)));  // int4 reads as an integer too
  CHECK(r.get_int(1) == 7);
  CHECK(r.get_double(2) == 2.5);
  CHECK(r.get_text(3) == "héllo");
  CHECK(r.is_null(4));

  SECTION("millisecond times in arithmetic with INTEGER columns do not overflow") {
    // The job store computes sort keys as $1 + priority * $2 with $1 a time in ms.
    const std::int64_t now = 1'790'000'000'000;
    const Rows sum = query_ok(c, "SELECT $1 + small * $2 FROM t", {Value(now), Value(std::int64_t{60000})});
    CHECK(sum.front().get_int(0) == now + 7 * 60000);
  }
  SECTION("a SUM of bigints stays exact") {
    exec_ok(c, "INSERT INTO t (i) VALUES ($1)", {Value(std::int64_t{999'999'999'999'999})});
    CHECK(query_ok(c, "SELECT SUM(i) FROM t").front().get_int(0) == (std::int64_t{1} << 40) + 999'999'999'999'999);
  }
  SECTION("too few parameters and bad SQL are errors carrying the server's message") {
    auto few = c.query("SELECT $1::bigint, $2::bigint", {Value(std::int64_t{1})});
    REQUIRE_FALSE(few.ok());
    CHECK(few.error().code == errc::db_error);
    auto bad = c.query("SELECT nope FROM t");
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().code == errc::db_error);
    CHECK_THAT(bad.error().message, Catch::Contains("nope"));
  }
  SECTION("execute reports the rows it changed") {
    auto changed = c.execute("UPDATE t SET s = $1", {Value(std::string("x"))});
    REQUIRE(changed.ok());
    CHECK(changed->rows_affected == 1);
  }
  SECTION("text with a NUL byte is refused before it reaches the server, and nothing is written") {
    auto nul = c.execute("INSERT INTO t (s) VALUES ($1)", {Value(std::string("a\0b", 3))});
    REQUIRE_FALSE(nul.ok());
    CHECK(nul.error().code == errc::bad_request);
    CHECK(query_ok(c, "SELECT COUNT(*) FROM t").front().get_int(0) == 1);
  }
}

TEST_CASE("postgres: a duplicate key is a conflict, as on SQLite", "[db][postgres]") {
  PgSchema s;
  auto conn = s.db->acquire();
  REQUIRE(conn.ok());
  exec_ok(**conn, "CREATE TABLE t (id TEXT PRIMARY KEY)");
  exec_ok(**conn, "INSERT INTO t (id) VALUES ($1)", {Value(std::string("a"))});
  auto dup = (*conn)->execute("INSERT INTO t (id) VALUES ($1)", {Value(std::string("a"))});
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.error().code == errc::conflict);
}

TEST_CASE("postgres: statements are prepared once per connection and survive a schema change", "[db][postgres]") {
  PgSchema s;
  auto conn = s.db->acquire();
  REQUIRE(conn.ok());
  Connection& c = **conn;
  exec_ok(c, "CREATE TABLE t (k BIGINT, v TEXT)");
  const auto before = c.cached_statement_count();
  for (int i = 0; i < 50; ++i) {
    exec_ok(c, "INSERT INTO t (k, v) VALUES ($1, $2)",
            {Value(std::int64_t{i}), i % 2 ? null_value() : Value(std::to_string(i))});
  }
  // One statement per parameter-type signature (text, or NULL left to the server).
  CHECK(c.cached_statement_count() == before + 2);
  CHECK(query_ok(c, "SELECT COUNT(*) FROM t WHERE v IS NULL").front().get_int(0) == 25);
  const std::string sel = "SELECT * FROM t WHERE k = $1";
  CHECK(query_ok(c, sel, {Value(std::int64_t{0})}).front().size() == 2);
  exec_ok(c, "ALTER TABLE t ADD COLUMN extra TEXT");
  CHECK(query_ok(c, sel, {Value(std::int64_t{0})}).front().size() == 3);
}

TEST_CASE("postgres: a failed transaction rolls back, a good one commits", "[db][postgres]") {
  PgSchema s;
  {
    auto conn = s.db->acquire();
    REQUIRE(conn.ok());
    exec_ok(**conn, "CREATE TABLE t (v INTEGER)");
  }
  Status failed = s.db->transact(TxMode::write, [](Connection& c) -> Status {
    FTI_TRY(c.execute("INSERT INTO t (v) VALUES (1)"));
    return Error(errc::bad_request, "changed my mind");
  });
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().code == errc::bad_request);
  Status good = s.db->transact(TxMode::write, [](Connection& c) -> Status {
    FTI_TRY(c.execute("INSERT INTO t (v) VALUES (2)"));
    return ok_status();
  });
  REQUIRE(good.ok());
  auto other = open_or_fail(s.test_db.url());
  auto conn = other->acquire();
  REQUIRE(conn.ok());
  const Rows rows = query_ok(**conn, "SELECT v FROM t");
  REQUIRE(rows.size() == 1);
  CHECK(rows.front().get_int(0) == 2);

  SECTION("a read transaction cannot write") {
    Status wrote = s.db->transact(TxMode::read, [](Connection& c) -> Status {
      FTI_TRY(c.execute("INSERT INTO t (v) VALUES (3)"));
      return ok_status();
    });
    CHECK_FALSE(wrote.ok());
  }
}

TEST_CASE("postgres: a session the server ends is replaced, and transact carries on", "[db][postgres]") {
  PgSchema s;
  OpenOptions options;
  options.pool_size = 1;
  auto db = open_or_fail(s.test_db.url(), options);
  std::int64_t victim = 0;
  {
    auto conn = db->acquire();
    REQUIRE(conn.ok());
    exec_ok(**conn, "CREATE TABLE t (v INTEGER)");
    victim = backend_pid(**conn);
  }
  // An administrator (or a failover) ends our only pooled session.
  {
    auto admin = s.db->acquire();
    REQUIRE(admin.ok());
    REQUIRE(query_ok(**admin, "SELECT pg_terminate_backend($1::integer)::integer", {Value(victim)}).front().get_int(0) == 1);
  }
  {
    auto conn = db->acquire();
    REQUIRE(conn.ok());
    auto lost = (*conn)->query("SELECT 1");
    REQUIRE_FALSE(lost.ok());
    CHECK(lost.error().code == errc::db_busy);  // transient: a retry gets a new session
    CHECK_FALSE((*conn)->usable());
  }
  Status s2 = db->transact(TxMode::write, [](Connection& c) -> Status {
    FTI_TRY(c.execute("INSERT INTO t (v) VALUES (1)"));
    return ok_status();
  });
  INFO((s2.ok() ? std::string() : s2.error().message));
  CHECK(s2.ok());
  auto conn = db->acquire();
  REQUIRE(conn.ok());
  CHECK(backend_pid(**conn) != victim);
}

TEST_CASE("postgres: SKIP LOCKED lets concurrent claimers take disjoint rows", "[db][postgres]") {
  PgSchema s;
  {
    auto conn = s.db->acquire();
    REQUIRE(conn.ok());
    exec_ok(**conn, "CREATE TABLE q (id BIGINT PRIMARY KEY, owner TEXT)");
    exec_ok(**conn, "INSERT INTO q (id) SELECT g FROM generate_series(1, 400) g");
  }
  std::atomic<int> claimed{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&, w] {
      for (;;) {
        std::int64_t n = 0;
        Status st = s.db->transact(TxMode::write, [&](Connection& c) -> Status {
          FTI_ASSIGN_OR_RETURN(auto rows, c.query("UPDATE q SET owner = $1 WHERE id IN (SELECT id FROM q WHERE owner "
                                                  "IS NULL ORDER BY id LIMIT 10 FOR UPDATE SKIP LOCKED) RETURNING id",
                                                  {Value("w" + std::to_string(w))}));
          n = static_cast<std::int64_t>(rows.size());
          return ok_status();
        });
        if (!st.ok()) ++errors;
        if (!st.ok() || n == 0) return;
        claimed += static_cast<int>(n);
      }
    });
  }
  for (auto& t : workers) t.join();
  CHECK(errors == 0);
  CHECK(claimed == 400);  // each row once: none claimed twice, none left behind
  auto conn = s.db->acquire();
  REQUIRE(conn.ok());
  CHECK(query_ok(**conn, "SELECT COUNT(*) FROM q WHERE owner IS NULL").front().get_int(0) == 0);
}

TEST_CASE("postgres: array literals carry any text, numbers and NULL through unnest", "[db][postgres]") {
  PgSchema s;
  auto conn = s.db->acquire();
  REQUIRE(conn.ok());
  const std::vector<Value> texts = {Value(std::string("plain")), Value(std::string("a \"quoted\" word")),
                                    Value(std::string("back\\slash\\")), Value(std::string("{braces},commas")),
                                    Value(std::string("NULL")), Value(std::string("")), Value(std::string("  spaced  ")),
                                    Value(std::string("héllo\nnew line")), null_value()};
  const std::vector<Value> numbers = {Value(std::int64_t{1} << 40), Value(std::int64_t{-7}), null_value(),
                                      Value(std::int64_t{0}), Value(std::int64_t{3}), Value(std::int64_t{4}),
                                      Value(std::int64_t{5}), Value(std::int64_t{6}), Value(std::int64_t{7})};
  auto rows = query_ok(**conn, "SELECT t, n FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS u(t, n, k) ORDER BY k",
                       {Value(pg_array(texts)), Value(pg_array(numbers))});
  REQUIRE(rows.size() == texts.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    INFO("element " << i);
    CHECK(rows[i].at(0) == texts[i]);
    CHECK(rows[i].at(1) == numbers[i]);
  }
  CHECK(query_ok(**conn, "SELECT cardinality($1::text[])", {Value(pg_array({}))}).front().get_int(0) == 0);
}

TEST_CASE("postgres: COPY loads any text, numbers and NULL, and a bad row loads none", "[db][postgres]") {
  PgSchema s;
  auto conn = s.db->acquire();
  REQUIRE(conn.ok());
  exec_ok(**conn, "CREATE TABLE c (k BIGINT PRIMARY KEY, t TEXT, d DOUBLE PRECISION)");
  const std::vector<Value> texts = {Value(std::string("plain")), Value(std::string("tab\there")),
                                    Value(std::string("new\nline and\r\nreturn")), Value(std::string("back\\slash\\")),
                                    Value(std::string("\\N")), Value(std::string("")), Value(std::string("héllo \"q\"")),
                                    null_value()};
  std::string rows;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    append_copy_row(rows, {Value(static_cast<std::int64_t>(i) - 3), texts[i], Value(0.25 * static_cast<double>(i))});
  }
  auto loaded = (*conn)->copy_in("COPY c (k, t, d) FROM STDIN", rows);
  INFO((loaded.ok() ? std::string() : loaded.error().message));
  REQUIRE(loaded.ok());
  CHECK(*loaded == static_cast<std::int64_t>(texts.size()));
  const Rows back = query_ok(**conn, "SELECT k, t, d FROM c ORDER BY k");
  REQUIRE(back.size() == texts.size());
  for (std::size_t i = 0; i < back.size(); ++i) {
    INFO("row " << i);
    CHECK(back[i].get_int(0) == static_cast<std::int64_t>(i) - 3);
    CHECK(back[i].at(1) == texts[i]);
    CHECK(back[i].at(2) == Value(0.25 * static_cast<double>(i)));
  }

  // The second batch repeats a key in its last row: the statement fails, as a conflict, and
  // none of its rows stays; the session is usable afterwards.
  std::string clash;
  append_copy_row(clash, {Value(std::int64_t{100}), Value(std::string("new")), null_value()});
  append_copy_row(clash, {Value(std::int64_t{0}), Value(std::string("taken")), null_value()});
  auto refused = (*conn)->copy_in("COPY c (k, t, d) FROM STDIN", clash);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == fti::errc::conflict);
  CHECK(query_ok(**conn, "SELECT COUNT(*) FROM c").front().get_int(0) == static_cast<std::int64_t>(texts.size()));

  // A NUL byte, which PostgreSQL text cannot hold, is the caller's mistake, as in a parameter.
  std::string with_nul;
  append_copy_row(with_nul, {Value(std::int64_t{200}), Value(std::string("nul\0byte", 8)), null_value()});
  auto nul = (*conn)->copy_in("COPY c (k, t, d) FROM STDIN", with_nul);
  REQUIRE_FALSE(nul.ok());
  CHECK(nul.error().code == fti::errc::bad_request);
  CHECK(query_ok(**conn, "SELECT COUNT(*) FROM c").front().get_int(0) == static_cast<std::int64_t>(texts.size()));
}

TEST_CASE("postgres: a statement past statement_timeout_ms fails as a timeout, and migrations are exempt",
          "[db][postgres]") {
  PgSchema s;
  OpenOptions bounded;
  bounded.statement_timeout_ms = 200;
  auto db = open_database(s.test_db.url(), bounded);
  REQUIRE(db.ok());
  {
    auto conn = (*db)->acquire();
    REQUIRE(conn.ok());
    auto slow = (*conn)->query("SELECT pg_sleep(5)::text");
    REQUIRE_FALSE(slow.ok());
    CHECK(slow.error().code == fti::errc::timeout);
    CHECK(slow.error().message.find("database.statement_timeout_ms") != std::string::npos);
    CHECK(query_ok(**conn, "SELECT 1").front().get_int(0) == 1);  // the session carries on
  }
  // Another instance holds the migration lock for longer than the limit: this one's
  // migrations wait for it, as they would for a long migration, and then apply.
  auto holder_db = open_database(s.test_db.url(), {});
  REQUIRE(holder_db.ok());
  auto holder = (*holder_db)->acquire();
  REQUIRE(holder.ok());
  exec_ok(**holder, "SELECT pg_advisory_lock(1179928880)::text");  // migrations.cpp, kMigrationLock
  std::thread release([&] {
    // Let go once the migration has waited past the limit.
    const auto waiting = [&] {
      return query_ok(**holder, "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
                 .front()
                 .get_int(0) > 0;
    };
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!waiting() && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(3 * bounded.statement_timeout_ms));
    exec_ok(**holder, "SELECT pg_advisory_unlock(1179928880)::text");
  });
  auto applied = migrate(**db);
  release.join();
  INFO((applied.ok() ? std::string() : applied.error().message));
  REQUIRE(applied.ok());
  CHECK(*applied == static_cast<int>(all_migrations().size()));
}

TEST_CASE("postgres: sessions carry the instance's application_name", "[db][postgres]") {
  PgSchema s;
  OpenOptions named;
  named.application_name = "finishthisidea node-test1234";
  auto db = open_database(s.test_db.url(), named);
  REQUIRE(db.ok());
  auto conn = (*db)->acquire();
  REQUIRE(conn.ok());
  auto rows = query_ok(**conn, "SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()");
  REQUIRE(rows.size() == 1);
  CHECK(rows.front().get_text(0) == "finishthisidea node-test1234");
}
