// The engine's scheduling and bookkeeping: aging, partitions, idempotency, pruning.
#include <catch2/catch.hpp>

#include <atomic>
#include <set>

#include "job_test_support.hpp"
#include "fti/jobs/worker_pool.hpp"

using namespace fti;
using namespace fti::jobs;
using fti::testing::JobStoreFixture;
using fti::testing::wait_until;
using namespace std::chrono_literals;

namespace {

Job enqueue(JobStoreFixture& f, Priority priority, const std::string& type = "cleanup",
            std::optional<std::string> key = std::nullopt, const std::string& tenant = "acme") {
  NewJob job;
  job.tenant = tenant;
  job.type = type;
  job.priority = priority;
  job.idempotency_key = std::move(key);
  auto r = f.store->enqueue(job, f.clock.now_ms());
  REQUIRE(r.ok());
  return std::move(r).value();
}

}  // namespace

TEST_CASE("aging: a waiting low-priority job overtakes newer high-priority ones", "[jobs][engine]") {
  JobStoreFixture f;  // aging_ms 60000 by default
  const Job low = enqueue(f, Priority::low);
  f.clock.advance(60000);
  const Job high_soon = enqueue(f, Priority::high);  // only one minute younger: still first
  f.clock.advance(60001);
  const Job high_late = enqueue(f, Priority::high);  // over two minutes younger: after low
  CHECK(f.claim_one().id == high_soon.id);
  CHECK(f.claim_one().id == low.id);
  CHECK(f.claim_one().id == high_late.id);
}

TEST_CASE("claims can be limited to one queue (partition)", "[jobs][engine]") {
  JobStoreFixture f;
  const Job cleanup = enqueue(f, Priority::normal, "cleanup");
  const Job enterprise = enqueue(f, Priority::normal, "enterprise");
  auto only = f.store->claim("w", 10, f.clock.now_ms(), 30000, "enterprise");
  REQUIRE(only.ok());
  REQUIRE(only->size() == 1);
  CHECK(only->front().id == enterprise.id);
  auto waiting = f.store->waiting_by_queue(f.clock.now_ms());
  REQUIRE(waiting.ok());
  CHECK(waiting->at("cleanup") == 1);
  CHECK(waiting->count("enterprise") == 0);
  (void)cleanup;
}

TEST_CASE("an Idempotency-Key returns the first job instead of a second one", "[jobs][engine]") {
  JobStoreFixture f;
  const Job first = enqueue(f, Priority::normal, "cleanup", "order-42");
  f.clock.advance(10);
  const Job again = enqueue(f, Priority::normal, "cleanup", "order-42");
  CHECK(again.id == first.id);
  const Job other_tenant = enqueue(f, Priority::normal, "cleanup", "order-42", "globex");
  CHECK(other_tenant.id != first.id);
  CHECK(f.claimable() == 2);
}

TEST_CASE("delayed jobs wait for run_at", "[jobs][engine]") {
  JobStoreFixture f;
  NewJob job;
  job.tenant = "acme";
  job.run_at = f.clock.now_ms() + 5000;
  REQUIRE(f.store->enqueue(job, f.clock.now_ms()).ok());
  CHECK(f.claimable() == 0);
  f.clock.advance(5000);
  CHECK(f.claimable() == 1);
}

TEST_CASE("pruning removes finished jobs past their retention, failed ones later", "[jobs][engine]") {
  JobStoreFixture f;
  const Job ok = enqueue(f, Priority::normal);
  const Job bad = enqueue(f, Priority::normal);
  const Job waiting = enqueue(f, Priority::low);
  auto claimed = f.store->claim("w", 2, f.clock.now_ms(), 30000);
  REQUIRE(claimed.ok());
  REQUIRE(claimed->size() == 2);
  REQUIRE(f.store->complete(ok.id, 1, "{}", f.clock.now_ms()).value());
  REQUIRE(f.store->fail(bad.id, 1, Failure{{"bad_archive", "x"}, false}, f.clock.now_ms(), 0).value());
  f.clock.advance(2 * 3600 * 1000);
  const TimeMs hour_ago = f.clock.now_ms() - 3600 * 1000;
  auto pruned = f.store->prune(hour_ago, f.clock.now_ms() - 7 * 24 * 3600 * 1000LL, 100);
  REQUIRE(pruned.ok());
  CHECK(*pruned == std::vector<std::string>{ok.id});
  CHECK(f.store->get(bad.id, std::nullopt).ok());      // kept: the dead-letter view
  CHECK(f.store->get(waiting.id, std::nullopt).ok());  // never pruned while waiting
  auto later = f.store->prune(hour_ago, hour_ago, 100);
  REQUIRE(later.ok());
  CHECK(*later == std::vector<std::string>{bad.id});
  // The tenant's listing forgets them too: only the waiting job is left, on every page.
  auto listed = f.store->list("acme", 10, std::nullopt, "");
  REQUIRE(listed.ok());
  REQUIRE(listed->jobs.size() == 1);
  CHECK(listed->jobs.front().id == waiting.id);
  CHECK_FALSE(listed->next_cursor);
  auto conn = f.database->acquire();
  REQUIRE(conn.ok());
  auto rows = (*conn)->query("SELECT COUNT(*) FROM tenant_jobs");
  REQUIRE(rows.ok());
  CHECK(rows->front().get_int(0) == 1);
}

namespace {
// Counts runs by job; a low-priority job's finish is what the starvation test waits for.
class RecordingHandler final : public JobHandler {
 public:
  Result<std::string> run(const Job& job, JobContext&) override {
    std::this_thread::sleep_for(1ms);
    std::lock_guard lock(mutex_);
    done_.insert(job.id);
    return std::string("{}");
  }
  bool done(const std::string& id) {
    std::lock_guard lock(mutex_);
    return done_.count(id) > 0;
  }

 private:
  std::mutex mutex_;
  std::set<std::string> done_;
};
}  // namespace

TEST_CASE("a low-priority job finishes under a steady stream of high-priority ones", "[jobs][engine]") {
  // Real time with a short aging period: the stream never stops while the test watches.
  testing::TestDatabase test_db;
  auto db = test_db.open();
  auto store = make_sql_job_store(*db, JobStoreOptions{50, 3});
  SystemClock clock;
  RecordingHandler handler;
  WorkerPoolOptions options;
  options.threads = 1;
  options.node_id = "starve";
  WorkerPool pool(*store, handler, clock, RetryPolicy(10), options);

  auto submit = [&](Priority p) {
    NewJob job;
    job.tenant = "acme";
    job.priority = p;
    auto r = store->enqueue(job, clock.now_ms());
    REQUIRE(r.ok());
    pool.notify(job.type);
    return r->id;
  };
  // A backlog of high-priority work bigger than the worker can clear, then the low job.
  for (int i = 0; i < 300; ++i) submit(Priority::high);
  const std::string low = submit(Priority::low);
  pool.start();
  std::atomic<bool> stop{false};
  std::thread producer([&] {
    while (!stop) {
      submit(Priority::high);
      std::this_thread::sleep_for(500us);  // faster than one worker at 1 ms a job
    }
  });
  const bool finished = wait_until([&] { return handler.done(low); }, 20s);
  stop = true;
  producer.join();
  pool.stop(1s);
  CHECK(finished);
}
