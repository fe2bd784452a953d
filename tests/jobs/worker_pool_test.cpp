#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <mutex>

#include "jobs/job_test_support.hpp"
#include "fakes/manual_clock.hpp"
#include "fti/jobs/worker_pool.hpp"
#include "fti/ops/sla.hpp"

using namespace fti;
using namespace fti::jobs;
using fti::testing::JobStoreFixture;
using fti::testing::wait_until;
using namespace std::chrono_literals;

namespace {

// A real handler: runs a behaviour and counts every execution, per job and in total.
class CountingHandler final : public JobHandler {
 public:
  using Behaviour = std::function<Result<std::string>(const Job&, JobContext&)>;
  explicit CountingHandler(Behaviour behaviour = nullptr) : behaviour_(std::move(behaviour)) {}

  Result<std::string> run(const Job& job, JobContext& context) override {
    {
      std::lock_guard lock(mutex_);
      ++runs_[job.id];
    }
    ++total_;
    if (behaviour_) return behaviour_(job, context);
    context.report_progress(50, "format");
    return std::string(R"({"files_in":1,"echo":")") + job.id + "\"}";
  }
  int total() const { return total_; }
  int runs(const std::string& id) {
    std::lock_guard lock(mutex_);
    return runs_[id];
  }

 private:
  Behaviour behaviour_;
  std::mutex mutex_;
  std::map<std::string, int> runs_;
  std::atomic<int> total_{0};
};

class RecordingObserver final : public JobObserver {
 public:
  void on_progress(const Job&, int percent, const std::string& stage) override {
    std::lock_guard lock(mutex_);
    progress.emplace_back(percent, stage);
  }
  void on_finished(const Job& job, JobStatus status, double) override {
    std::lock_guard lock(mutex_);
    finished[job.id] = status;
  }
  std::size_t finished_count() {
    std::lock_guard lock(mutex_);
    return finished.size();
  }
  std::mutex mutex_;
  std::vector<std::pair<int, std::string>> progress;
  std::map<std::string, JobStatus> finished;
};

WorkerPoolOptions fast_options(int threads = 2) {
  WorkerPoolOptions o;
  o.threads = threads;
  o.lease_ms = 3000;
  o.heartbeat_ms = 50;
  o.idle_poll_ms = 60000;  // long on purpose: tests must not rely on polling
  o.node_id = "test";
  return o;
}

bool status_is(JobStoreFixture& f, const std::string& id, JobStatus status) {
  auto job = f.store->get(id, std::nullopt);
  return job.ok() && job->status == status;
}

bool all_status(JobStoreFixture& f, const std::vector<std::string>& ids, JobStatus status) {
  for (const auto& id : ids)
    if (!status_is(f, id, status)) return false;
  return true;
}

}  // namespace

// These tests run on real time: the pool sleeps on condition variables, not on a manual clock.
TEST_CASE("worker pool: every job runs exactly once and ends succeeded", "[jobs]") {
  JobStoreFixture f;
  SystemClock clock;
  CountingHandler handler;
  RecordingObserver observer;
  WorkerPool pool(*f.store, handler, clock, RetryPolicy(1000), fast_options(3), &observer);
  pool.start();
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    ids.push_back(f.enqueue().id);
    pool.notify();
  }
  REQUIRE(wait_until([&] { return all_status(f, ids, JobStatus::succeeded); }));
  pool.stop(1s);
  CHECK(handler.total() == 20);
  for (const auto& id : ids) {
    CHECK(handler.runs(id) == 1);
    const Job job = f.get(id);
    CHECK(job.progress == 100);
    CHECK(job.result_json == R"({"files_in":1,"echo":")" + id + "\"}");
  }
  CHECK(observer.finished_count() == 20);
  CHECK(observer.finished.begin()->second == JobStatus::succeeded);
  CHECK_FALSE(observer.progress.empty());
}

TEST_CASE("worker pool: notify wakes an idle worker at once", "[jobs]") {
  JobStoreFixture f;
  SystemClock clock;
  CountingHandler handler;
  WorkerPool pool(*f.store, handler, clock, RetryPolicy(1000), fast_options(1));
  pool.start();
  // Let the worker find the queue empty and go to sleep (for idle_poll_ms = 60 s).
  REQUIRE(wait_until([&] { return pool.busy_workers() == 0; }));
  std::this_thread::sleep_for(50ms);
  const Stopwatch watch;
  const Job job = f.enqueue();
  pool.notify();
  REQUIRE(wait_until([&] { return status_is(f, job.id, JobStatus::succeeded); }, 5s));
  CHECK(watch.seconds() < 2.0);
  pool.stop(1s);
}

TEST_CASE("worker pool: a transient failure is retried after the backoff", "[jobs]") {
  JobStoreFixture f;
  SystemClock clock;
  CountingHandler handler([](const Job& job, JobContext&) -> Result<std::string> {
    if (job.attempt == 1) return Error(errc::network_error, "upstream hiccup");
    return std::string("{}");
  });
  WorkerPool pool(*f.store, handler, clock, RetryPolicy(100), fast_options(1));
  pool.start();
  const Job job = f.enqueue();
  pool.notify();
  // The worker sleeps until the retry is due (next_run_at), not until idle_poll_ms.
  REQUIRE(wait_until([&] { return status_is(f, job.id, JobStatus::succeeded); }, 5s));
  pool.stop(1s);
  CHECK(handler.runs(job.id) == 2);
  CHECK(f.get(job.id).attempt == 2);
}

TEST_CASE("worker pool: a bad archive fails at once and is not retried", "[jobs]") {
  JobStoreFixture f;
  SystemClock clock;
  CountingHandler handler([](const Job&, JobContext&) -> Result<std::string> {
    return Error(errc::bad_archive, "not a zip file");
  });
  WorkerPool pool(*f.store, handler, clock, RetryPolicy(10), fast_options(1));
  pool.start();
  const Job job = f.enqueue();
  pool.notify();
  REQUIRE(wait_until([&] { return status_is(f, job.id, JobStatus::failed); }));
  pool.stop(1s);
  CHECK(handler.runs(job.id) == 1);
  const Job done = f.get(job.id);
  REQUIRE(done.error.has_value());
  CHECK(done.error->code == "bad_archive");
}

TEST_CASE("worker pool: retryable failures stop at max_attempts", "[jobs]") {
  JobStoreFixture f;
  SystemClock clock;
  CountingHandler handler([](const Job&, JobContext&) -> Result<std::string> {
    return Error(errc::network_error, "always down");
  });
  WorkerPool pool(*f.store, handler, clock, RetryPolicy(10), fast_options(2));
  pool.start();
  const Job job = f.enqueue("acme", Priority::normal, 3);
  pool.notify();
  REQUIRE(wait_until([&] { return status_is(f, job.id, JobStatus::failed); }));
  pool.stop(1s);
  CHECK(handler.runs(job.id) == 3);
}

// A handler that says it started, then waits for its cancel token and stops on it.
auto stop_on_cancel(std::atomic<bool>& started) {
  return [&started](const Job&, JobContext& context) -> Result<std::string> {
    started = true;
    if (!wait_until([&] { return context.cancel_requested(); }, 10s)) return std::string("{}");
    return Error(errc::cancelled, "stopped on request");
  };
}

TEST_CASE("worker pool: cancelling a running job stops its handler and ends it cancelled", "[jobs]") {
  JobStoreFixture f;
  SystemClock clock;
  std::atomic<bool> started{false};
  CountingHandler handler(stop_on_cancel(started));
  WorkerPool pool(*f.store, handler, clock, RetryPolicy(10), fast_options(1));
  pool.start();
  const Job job = f.enqueue();
  pool.notify();
  REQUIRE(wait_until([&] { return started.load(); }));
  auto cancel = f.store->cancel(job.id, "acme", clock.now_ms());
  REQUIRE(cancel.ok());
  REQUIRE(wait_until([&] { return status_is(f, job.id, JobStatus::cancelled); }, 5s));
  pool.stop(1s);
  CHECK(handler.runs(job.id) == 1);
}

TEST_CASE("worker pool: a local cancel reaches the handler without waiting for a heartbeat", "[jobs]") {
  JobStoreFixture f;
  SystemClock clock;
  std::atomic<bool> started{false};
  CountingHandler handler(stop_on_cancel(started));
  auto options = fast_options(1);
  options.lease_ms = 60000;
  options.heartbeat_ms = 20000;  // a heartbeat would come far too late for the deadline below
  WorkerPool pool(*f.store, handler, clock, RetryPolicy(10), options);
  pool.start();
  const Job job = f.enqueue();
  pool.notify();
  REQUIRE(wait_until([&] { return started.load(); }));
  REQUIRE(f.store->cancel(job.id, "acme", clock.now_ms()).ok());
  pool.cancel_local(job.id);
  CHECK(wait_until([&] { return status_is(f, job.id, JobStatus::cancelled); }, 3s));
  pool.stop(1s);
}

TEST_CASE("worker pool: stop releases unfinished jobs without using up an attempt", "[jobs]") {
  JobStoreFixture f;
  SystemClock clock;
  std::atomic<bool> started{false};
  std::atomic<bool> saw_cancel{false};
  CountingHandler handler([&](const Job&, JobContext& context) -> Result<std::string> {
    started = true;
    saw_cancel = wait_until([&] { return context.cancel_requested(); }, 10s);
    return Error(errc::cancelled, "shutting down");
  });
  WorkerPool pool(*f.store, handler, clock, RetryPolicy(10), fast_options(1));
  pool.start();
  const Job job = f.enqueue();
  pool.notify();
  REQUIRE(wait_until([&] { return started.load(); }));
  pool.stop(50ms);
  CHECK(saw_cancel);
  const Job back = f.get(job.id);
  CHECK(back.status == JobStatus::queued);
  CHECK(back.max_attempts - back.attempt == 3);  // the interrupted attempt is not counted
}

TEST_CASE("worker pool: a job whose worker died is picked up when its lease runs out", "[jobs]") {
  JobStoreFixture f;
  SystemClock clock;
  const Job job = f.enqueue();
  // A worker on another node claims the job and is never heard from again.
  auto dead = f.store->claim("dead-node/0", 1, clock.now_ms(), 200);
  REQUIRE(dead.ok());
  REQUIRE(dead->size() == 1);
  CountingHandler handler;
  WorkerPool pool(*f.store, handler, clock, RetryPolicy(10), fast_options(1));
  pool.start();
  // No notify: the idle worker wakes by itself when the lease expires (next_run_at).
  REQUIRE(wait_until([&] { return status_is(f, job.id, JobStatus::succeeded); }, 5s));
  pool.stop(1s);
  CHECK(f.get(job.id).attempt == 2);
  CHECK(handler.runs(job.id) == 1);
}

TEST_CASE("worker pool: jobs survive a restart and all get processed", "[jobs]") {
  JobStoreFixture f;
  SystemClock clock;
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) ids.push_back(f.enqueue().id);
  {
    // The first process starts one job, then shuts down before finishing it.
    std::atomic<bool> started{false};
    CountingHandler slow([&](const Job&, JobContext& context) -> Result<std::string> {
      started = true;
      wait_until([&] { return context.cancel_requested(); }, 10s);
      return Error(errc::cancelled, "shutting down");
    });
    WorkerPool pool(*f.store, slow, clock, RetryPolicy(10), fast_options(1));
    pool.start();
    pool.notify();
    REQUIRE(wait_until([&] { return started.load(); }));
    pool.stop(0ms);
  }
  f.close();

  f.open();  // a new process on the same database file
  for (const auto& id : ids) CHECK(f.get(id).status == JobStatus::queued);
  CountingHandler handler;
  WorkerPool pool(*f.store, handler, clock, RetryPolicy(10), fast_options(2));
  pool.start();
  pool.notify();
  REQUIRE(wait_until([&] { return all_status(f, ids, JobStatus::succeeded); }));
  pool.stop(1s);
  CHECK(handler.total() == 10);
  for (const auto& id : ids) CHECK(handler.runs(id) == 1);
}

TEST_CASE("worker pool: a paused queue keeps its jobs until resumed; other queues run", "[jobs]") {
  JobStoreFixture f;
  SystemClock clock;
  CountingHandler handler;
  REQUIRE(f.store->set_queue_paused("cleanup", true, clock.now_ms()).ok());
  REQUIRE(f.store->set_queue_paused("cleanup", true, clock.now_ms()).ok());  // idempotent
  std::vector<std::string> paused_ids;
  for (int i = 0; i < 3; ++i) paused_ids.push_back(f.enqueue().id);
  jobs::NewJob other;
  other.tenant = "acme";
  other.type = "template";
  other.input = {"t.zip", 10, "def456", "uploads/t"};
  auto templ = f.store->enqueue(other, f.clock.now_ms());
  REQUIRE(templ.ok());

  WorkerPool pool(*f.store, handler, clock, RetryPolicy(1000), fast_options(2));
  pool.start();
  pool.notify();
  // The other queue's job ran, so the dispatcher has claimed since the pause was set.
  REQUIRE(wait_until([&] { return status_is(f, templ->id, JobStatus::succeeded); }));
  CHECK(all_status(f, paused_ids, JobStatus::queued));
  for (const auto& id : paused_ids) CHECK(handler.runs(id) == 0);
  auto stats = f.store->queue_stats(0);
  REQUIRE(stats.ok());
  CHECK((*stats)["cleanup"].paused);
  CHECK((*stats)["cleanup"].waiting == 3);
  CHECK((*stats)["template"].succeeded == 1);

  REQUIRE(f.store->set_queue_paused("cleanup", false, clock.now_ms()).ok());
  pool.notify();
  REQUIRE(wait_until([&] { return all_status(f, paused_ids, JobStatus::succeeded); }));
  pool.stop(1s);
  CHECK(handler.total() == 4);
}

TEST_CASE("worker pool: a cleanup SLA violation raises the worker count, step by step, up to max", "[jobs][sla]") {
  JobStoreFixture f;
  fti::fakes::ManualClock clock;
  CountingHandler handler;
  auto options = fast_options(1);
  options.max_threads = 4;
  WorkerPool pool(*f.store, handler, clock, RetryPolicy(1000), options);
  pool.start();
  CHECK(pool.total_workers() == 1);

  // Cleanups take 400 s from submission to finish: p95 and p99 are over target.
  ops::SlaMonitor sla(ops::sla_options_from_config(SlaConfig{}), clock.now_ms());
  for (int i = 0; i < 20; ++i) sla.record_cleanup(clock.now_ms(), 400, ops::CleanupOutcome::succeeded);
  auto report = sla.report(clock.now_ms());
  REQUIRE(ops::cleanup_needs_workers(report));

  REQUIRE(pool.set_pressure(ops::cleanup_needs_workers(report)));
  CHECK(pool.under_pressure());
  CHECK(pool.worker_floor() == 2);
  REQUIRE(wait_until([&] { return pool.total_workers() == 2; }));
  // Asked again before the step is due: nothing more.
  pool.set_pressure(true);
  CHECK(pool.worker_floor() == 2);
  // A step later: one more each time (a quarter of the target, at least one), never past max.
  for (int expected : {3, 4, 4}) {
    clock.advance(WorkerPool::kPressureStepMs);
    pool.set_pressure(true);
    CHECK(pool.worker_floor() == expected);
    REQUIRE(wait_until([&] { return pool.total_workers() == expected; }));
  }
  // Jobs still run on the grown pool.
  auto id = f.enqueue().id;
  pool.notify();
  REQUIRE(wait_until([&] { return status_is(f, id, JobStatus::succeeded); }));

  // Compliant again: the floor returns to workers.min; the autoscaler lowers the count by its rule.
  pool.set_pressure(false);
  CHECK_FALSE(pool.under_pressure());
  CHECK(pool.worker_floor() == 1);
  pool.stop(1s);
}

TEST_CASE("worker pool: a fixed-size pool cannot be pressed", "[jobs][sla]") {
  JobStoreFixture f;
  SystemClock clock;
  CountingHandler handler;
  WorkerPool pool(*f.store, handler, clock, RetryPolicy(1000), fast_options(2));
  pool.start();
  CHECK_FALSE(pool.set_pressure(true));
  CHECK(pool.worker_floor() == 2);
  CHECK(pool.total_workers() == 2);
  pool.stop(1s);
}
