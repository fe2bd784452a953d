// A job store reading from a real streaming replica of the test server (scripts/test starts one:
// tests/tools/start-postgres --replica-of). Tagged [postgres]: ctest's jobs_pg.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "fti/db/read_routing.hpp"
#include "fti/jobs/job_store.hpp"
#include "support/test_database.hpp"

using namespace fti;
using namespace fti::db;

namespace {

std::string replica_server_url() {
  const char* url = std::getenv("FTITEST_PG_REPLICA_URL");
  INFO("start a replica: eval \"$(tests/tools/start-postgres --replica-of \"$FTITEST_PG_DIR\")\"");
  REQUIRE(url);
  return url;
}

// The test schema's URL on the replica: the same search_path option on the other server.
std::string on_replica(const testing::TestDatabase& test_db) {
  const std::string& primary = test_db.url();
  return replica_server_url() + primary.substr(primary.find('?'));
}

template <class Pred>
bool eventually(Pred pred) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

// Pauses the replica's WAL replay for the scope: what the primary commits meanwhile is
// invisible there, so a read that sees it came from the primary.
class ReplayPaused {
 public:
  explicit ReplayPaused(Database& replica) : replica_(replica) { set("pg_wal_replay_pause"); }
  ~ReplayPaused() { resume(); }
  void resume() {
    if (paused_) set("pg_wal_replay_resume");
  }

 private:
  void set(const char* fn) {
    auto conn = replica_.acquire();
    REQUIRE(conn.ok());
    REQUIRE((*conn)->query(std::string("SELECT ") + fn + "()::text").ok());
    paused_ = std::string(fn) == "pg_wal_replay_pause";
  }
  Database& replica_;
  bool paused_ = false;
};

}  // namespace

TEST_CASE("read replicas: a tenant's reads go to the replica, except what it just wrote", "[jobs][postgres]") {
  REQUIRE(testing::testing_postgres());
  testing::TestDatabase test_db;
  auto primary = test_db.open();
  const std::string replica_url = on_replica(test_db);
  auto replica_db = open_database(replica_url, {});
  REQUIRE(replica_db.ok());
  Database& replica = **replica_db;
  // The migrated schema reaches the replica first, all of it: replay paused inside a
  // migration's transaction would keep that transaction's table locks on the replica, and a
  // read there would wait for them for ever.
  std::string written;
  {
    auto conn = primary->acquire();
    REQUIRE(conn.ok());
    auto rows = (*conn)->query("SELECT pg_current_wal_lsn()::text");
    REQUIRE(rows.ok());
    written = (*rows)[0].get_text(0);
  }
  REQUIRE(eventually([&] {
    auto conn = replica.acquire();
    if (!conn.ok()) return false;
    auto rows = (*conn)->query("SELECT COALESCE(pg_last_wal_replay_lsn() >= $1::pg_lsn, false)::integer",
                               {db::Value(written)});
    return rows.ok() && !rows->empty() && (*rows)[0].get_int(0) == 1;
  }));
  std::vector<std::unique_ptr<Database>> replicas;
  replicas.push_back(std::move(replica_db).value());
  ReadRouting reads(*primary, std::move(replicas));
  auto store = jobs::make_sql_job_store(*primary, {}, &reads);

  ReplayPaused paused(replica);
  jobs::NewJob job;
  job.tenant = "alice";
  job.input = {"messy.zip", 10, "abc", "uploads/x"};
  auto created = store->enqueue(job, 1000);
  REQUIRE(created.ok());

  // Alice just wrote: her reads see it though the replica has not replayed it.
  auto alices = store->get(created->id, std::string("alice"));
  INFO((alices.ok() ? std::string() : alices.error().message));
  CHECK(alices.ok());
  CHECK(store->list("alice", 10, std::nullopt)->jobs.size() == 1);
  // Bob wrote nothing: his reads go to the replica, which has not got Alice's job yet.
  // (Reading Alice's job as Bob is not_found anyway; his own list shows the replica's view.)
  jobs::NewJob bobs = job;
  bobs.tenant = "bob";
  auto bob_job = jobs::make_sql_job_store(*primary)->enqueue(bobs, 1000);  // not through routing
  REQUIRE(bob_job.ok());
  CHECK(store->list("bob", 10, std::nullopt)->jobs.empty());  // served by the paused replica
  // Workers and admins (no tenant) always read the primary.
  CHECK(store->get(bob_job->id, std::nullopt).ok());

  paused.resume();
  CHECK(eventually([&] { return store->list("bob", 10, std::nullopt)->jobs.size() == 1; }));
}

TEST_CASE("read replicas: a replica read past database.statement_timeout_ms is answered by the primary",
          "[jobs][postgres]") {
  REQUIRE(testing::testing_postgres());
  testing::TestDatabase test_db;
  auto primary = test_db.open();
  OpenOptions bounded;
  bounded.statement_timeout_ms = 200;
  auto replica_db = open_database(on_replica(test_db), bounded);
  REQUIRE(replica_db.ok());
  std::vector<std::unique_ptr<Database>> replicas;
  replicas.push_back(std::move(replica_db).value());
  ReadRouting reads(*primary, std::move(replicas));
  // On the replica the read outlasts the limit (as one waiting on a lock its replay holds
  // would); the server cancels it, and the primary answers instead.
  bool answered_in_recovery = true;
  Status st = reads.read("acme", [&](Connection& c) -> Status {
    FTI_ASSIGN_OR_RETURN(auto rows, c.query("SELECT pg_is_in_recovery()::integer, "
                                            "CASE WHEN pg_is_in_recovery() THEN pg_sleep(5) END::text"));
    answered_in_recovery = rows.front().get_int(0) == 1;
    return ok_status();
  });
  INFO((st.ok() ? std::string() : st.error().message));
  REQUIRE(st.ok());
  CHECK_FALSE(answered_in_recovery);
}
