// Jobs over several databases by tenant: each shard a real store on its own database
// (SQLite files, or PostgreSQL schemas in jobs_pg).
#include <catch2/catch.hpp>

#include <atomic>
#include <set>

#include "fakes/manual_clock.hpp"
#include "fti/jobs/sharded_job_store.hpp"
#include "fti/jobs/worker_pool.hpp"
#include "jobs/job_test_support.hpp"

using namespace fti;
using namespace fti::jobs;

namespace {

// Three shards, and each shard's own store to look behind the sharded one's back.
struct Shards {
  static constexpr std::size_t kCount = 3;
  Shards() {
    std::vector<std::unique_ptr<JobStore>> stores;
    for (std::size_t i = 0; i < kCount; ++i) {
      databases[i] = test_dbs[i].open();
      stores.push_back(make_sql_job_store(*databases[i]));
      direct[i] = make_sql_job_store(*databases[i]);
    }
    store = make_sharded_job_store(std::move(stores));
  }
  Job enqueue(const std::string& tenant) {
    NewJob job;
    job.tenant = tenant;
    job.input = {"messy.zip", 10, "abc", "uploads/x"};
    auto r = store->enqueue(job, clock.now_ms());
    REQUIRE(r.ok());
    return *r;
  }
  // Which shard's database holds the job (asked directly).
  std::optional<std::size_t> holder(const std::string& id) {
    std::optional<std::size_t> found;
    for (std::size_t i = 0; i < kCount; ++i) {
      if (direct[i]->get(id, std::nullopt).ok()) {
        REQUIRE_FALSE(found);  // never in two places
        found = i;
      }
    }
    return found;
  }

  testing::TestDatabase test_dbs[kCount];
  std::unique_ptr<db::Database> databases[kCount];
  std::unique_ptr<JobStore> direct[kCount];
  std::unique_ptr<JobStore> store;
  fakes::ManualClock clock;
};

}  // namespace

TEST_CASE("sharding: a tenant's shard is md5(tenant)'s first four bytes, big-endian, modulo the count", "[jobs]") {
  // Computed independently: python3 -c "import hashlib; h=hashlib.md5(b'acme').digest();
  // print(int.from_bytes(h[:4], 'big'))" gives 1404888305 (53bce4f1).
  CHECK(shard_for_tenant("acme", 3) == 1404888305u % 3);
  CHECK(shard_for_tenant("acme", 4) == 1404888305u % 4);
  CHECK(shard_for_tenant("alice", 3) == 1669653170u % 3);
  CHECK(shard_for_tenant("bob", 3) == 2677887420u % 3);
  CHECK(shard_for_tenant("anonymous", 4) == 692970325u % 4);
  CHECK(shard_for_tenant("tenant-42", 4) == 3193582502u % 4);
  CHECK(shard_for_tenant("anything", 1) == 0);
}

TEST_CASE("sharding: every job lives in its tenant's shard, and tenants stay apart", "[jobs]") {
  Shards s;
  std::set<std::size_t> used;
  for (const std::string tenant : {"acme", "alice", "bob", "anonymous", "tenant-42"}) {
    Job job = s.enqueue(tenant);
    CHECK(s.holder(job.id) == shard_for_tenant(tenant, Shards::kCount));
    used.insert(*s.holder(job.id));
    // Reads by the tenant find it; another tenant is told it does not exist.
    CHECK(s.store->get(job.id, tenant).ok());
    auto other = s.store->get(job.id, std::string("mallory"));
    REQUIRE_FALSE(other.ok());
    CHECK(other.error().code == errc::not_found);
    // Without a tenant (workers, admin) the job is found in whichever shard holds it.
    CHECK(s.store->get(job.id, std::nullopt)->tenant == tenant);
    auto page = s.store->list(tenant, 10, std::nullopt);
    REQUIRE(page.ok());
    CHECK(page->jobs.size() == 1);
  }
  CHECK(used.size() == 3);  // these tenants cover all three shards
  CHECK(*s.store->queue_depth() == 5);
  CHECK(s.store->get("01NOSUCHJOB", std::nullopt).error().code == errc::not_found);
}

TEST_CASE("sharding: claims take from every shard, and outcomes land in the job's own shard", "[jobs]") {
  Shards s;
  std::vector<Job> jobs;
  for (int i = 0; i < 30; ++i) jobs.push_back(s.enqueue("tenant-" + std::to_string(i)));
  std::set<std::string> claimed_ids;
  for (;;) {
    auto batch = s.store->claim("w1", 4, s.clock.now_ms(), 30000, "");
    REQUIRE(batch.ok());
    if (batch->empty()) break;
    for (const auto& job : *batch) {
      CHECK(claimed_ids.insert(job.id).second);  // never the same job twice
      CHECK(s.store->heartbeat(job.id, job.attempt, s.clock.now_ms() + 30000)->owned);
      REQUIRE(*s.store->complete(job.id, job.attempt, "{}", s.clock.now_ms()));
    }
  }
  CHECK(claimed_ids.size() == 30);
  for (const auto& job : jobs) {
    auto stored = s.direct[*s.holder(job.id)]->get(job.id, std::nullopt);
    REQUIRE(stored.ok());
    CHECK(stored->status == JobStatus::succeeded);
  }
  CHECK(*s.store->queue_depth() == 0);

  SECTION("a job claimed by another process is still reached, by asking each shard") {
    Job late = s.enqueue("acme");
    auto elsewhere = s.direct[shard_for_tenant("acme", Shards::kCount)]->claim("other", 1, s.clock.now_ms(), 30000);
    REQUIRE(elsewhere.ok());
    REQUIRE(elsewhere->size() == 1);
    CHECK(*s.store->complete(late.id, elsewhere->front().attempt, "{}", s.clock.now_ms()));
    CHECK_FALSE(*s.store->complete(late.id, elsewhere->front().attempt, "{}", s.clock.now_ms()));  // stale now
  }
}

TEST_CASE("sharding: a worker pool runs every job of every shard exactly once", "[jobs]") {
  Shards s;
  class Counting final : public JobHandler {
   public:
    Result<std::string> run(const Job&, JobContext& ctx) override {
      ctx.report_progress(50, "work");
      ++runs;
      return std::string("{}");
    }
    std::atomic<int> runs{0};
  } handler;
  SystemClock clock;
  WorkerPoolOptions options;
  options.threads = 3;
  options.lease_ms = 5000;
  options.heartbeat_ms = 50;
  options.node_id = "sharded";
  WorkerPool pool(*s.store, handler, clock, RetryPolicy(10), options);
  std::vector<NewJob> batch;
  for (int i = 0; i < 60; ++i) {
    NewJob job;
    job.tenant = "tenant-" + std::to_string(i % 7);
    job.input = {"messy.zip", 10, "abc", "uploads/x"};
    batch.push_back(job);
  }
  REQUIRE(*s.store->enqueue_many(batch, clock.now_ms()) == 60);
  pool.start();
  pool.notify();
  CHECK(testing::wait_until([&] { return *s.store->queue_depth() == 0 && handler.runs == 60; }));
  pool.stop(std::chrono::seconds(5));
  CHECK(handler.runs == 60);
  std::int64_t succeeded = 0;
  for (std::size_t i = 0; i < Shards::kCount; ++i) {
    auto conn = s.databases[i]->acquire();
    REQUIRE(conn.ok());
    auto rows = (*conn)->query("SELECT COUNT(*) FROM jobs WHERE status = 'succeeded'");
    REQUIRE(rows.ok());
    succeeded += rows->front().get_int(0);
  }
  CHECK(succeeded == 60);
}
