#include "fti/jobs/bench.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <fmt/format.h>
#include <mutex>
#include <thread>
#include <vector>

#include "fti/core/clock.hpp"
#include "fti/core/json.hpp"
#include "fti/db/database.hpp"
#include "fti/db/migrations.hpp"
#include "fti/jobs/job_store.hpp"
#include "fti/jobs/worker_pool.hpp"

namespace fti::jobs {
namespace {

constexpr std::string_view kTenant = "bench";
constexpr std::string_view kLatencyTenant = "bench-latency";
constexpr std::size_t kEnqueueBatch = 5000;

// Does nothing, counts, and tells the latency probe when it started.
class NoopHandler final : public JobHandler {
 public:
  explicit NoopHandler(const std::string& executions_file) {
    if (!executions_file.empty()) fd_ = ::open(executions_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  }
  ~NoopHandler() override {
    if (fd_ >= 0) ::close(fd_);
  }

  Result<std::string> run(const Job& job, JobContext&) override {
    if (fd_ >= 0) {
      // One write per run: O_APPEND keeps lines whole, and a kill -9 loses none written.
      std::string line = job.id + "\n";
      if (::write(fd_, line.data(), line.size()) < 0) return Error(errc::io_error, "cannot record the execution");
    }
    if (job.tenant == kLatencyTenant) {
      std::lock_guard lock(mutex_);
      started_at_ = std::chrono::steady_clock::now();
      started_id_ = job.id;
      cv_.notify_all();
    }
    return std::string("{}");
  }

  // Waits for the handler to start job `id`; returns when it did.
  std::chrono::steady_clock::time_point wait_started(const std::string& id) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, std::chrono::seconds(10), [&] { return started_id_ == id; });
    return started_at_;
  }

 private:
  int fd_ = -1;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::string started_id_;
  std::chrono::steady_clock::time_point started_at_;
};

// Counts finished jobs, so the drain knows when to ask the database.
class FinishCounter final : public JobObserver {
 public:
  void on_progress(const Job&, int, const std::string&) override {}
  void on_finished(const Job&, JobStatus status, double) override {
    if (is_terminal(status)) ++finished;
  }
  std::atomic<std::int64_t> finished{0};
};

Result<std::int64_t> count(db::Database& database, std::string_view sql) {
  FTI_ASSIGN_OR_RETURN(auto conn, database.acquire());
  FTI_ASSIGN_OR_RETURN(auto rows, conn->query(sql, {db::Value(std::string(kTenant))}));
  return rows.empty() ? 0 : rows.front().get_int(0);
}

// Waiting and running jobs, each part counted through its partial index (jobs_ready_idx,
// jobs_lease_idx): no index leads with the tenant, and the history may be large.
constexpr std::string_view kUnfinished =
    "SELECT (SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'retrying') AND tenant = $1) + "
    "(SELECT COUNT(*) FROM jobs WHERE lease_until IS NOT NULL AND status = 'running' AND tenant = $1)";
// The run's own jobs through the tenant's listing (tenant_jobs), not a scan of the history.
constexpr std::string_view kSucceeded =
    "SELECT COUNT(*) FROM tenant_jobs t JOIN jobs j ON j.id = t.id WHERE t.tenant = $1 AND j.status = 'succeeded'";

// History: n succeeded jobs of another tenant, inserted directly (the fastest way to get a
// big table; the engine never claims them).
Status prefill_finished(db::Database& database, std::int64_t n) {
  constexpr std::int64_t kBatch = 20000;
  SystemClock clock;
  const TimeMs now = clock.now_ms();
  for (std::int64_t done = 0; done < n;) {
    const std::int64_t batch = std::min(kBatch, n - done);
    FTI_TRY(database.transact(db::TxMode::write, [&](db::Connection& c) -> Status {
      for (std::int64_t i = 0; i < batch; ++i) {
        FTI_TRY(c.execute(
            "INSERT INTO jobs (id, tenant, type, priority, status, attempt, max_attempts, created_at, run_at, "
            "finished_at, sort_key, result_json) VALUES ($1, 'bench-history', 'cleanup', 1, 'succeeded', 1, 3, "
            "$2, $2, $2, $2, '{}')",
            {db::Value("H" + std::to_string(done + i)), db::Value(now - 1000)}));
      }
      return ok_status();
    }));
    done += batch;
  }
  return {};
}

Result<double> enqueue_all(JobStore& store, std::int64_t n) {
  SystemClock clock;
  Stopwatch watch;
  std::vector<NewJob> batch;
  batch.reserve(kEnqueueBatch);
  for (std::int64_t i = 0; i < n; ++i) {
    NewJob job;
    job.tenant = std::string(kTenant);
    batch.push_back(std::move(job));
    if (batch.size() == kEnqueueBatch || i + 1 == n) {
      FTI_TRY(store.enqueue_many(batch, clock.now_ms()));
      batch.clear();
    }
  }
  return watch.seconds();
}

// Starts the pool and runs until no job of the run is waiting or running, waiting out leases
// of a killed run. The clock starts before the pool does: its first claims count.
Result<double> drain(db::Database& database, WorkerPool& pool, FinishCounter& counter) {
  FTI_ASSIGN_OR_RETURN(std::int64_t pending, count(database, kUnfinished));
  Stopwatch watch;
  pool.start();
  pool.notify();
  for (;;) {
    if (counter.finished.load() >= pending) {
      FTI_ASSIGN_OR_RETURN(std::int64_t left, count(database, kUnfinished));
      if (left == 0) return watch.seconds();
      pending = counter.finished.load() + left;
    }
    // The database is asked only when the count says all are done: polling a COUNT would
    // compete with the engine it measures.
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto idx = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(idx, v.size() - 1)];
}

Status measure_pickup(JobStore& store, WorkerPool& pool, NoopHandler& handler, int samples, BenchResult& out) {
  SystemClock clock;
  std::vector<double> ms;
  for (int i = 0; i < samples; ++i) {
    NewJob job;
    job.tenant = std::string(kLatencyTenant);
    auto t0 = std::chrono::steady_clock::now();
    FTI_ASSIGN_OR_RETURN(Job queued, store.enqueue(job, clock.now_ms()));
    pool.notify(queued.type);
    auto t1 = handler.wait_started(queued.id);
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    // Idle again before the next sample: the outcome is recorded off the worker.
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  out.pickup_p50_ms = percentile(ms, 0.50);
  out.pickup_p99_ms = percentile(ms, 0.99);
  return {};
}

}  // namespace

Result<BenchResult> run_jobs_bench(const BenchOptions& o) {
  db::OpenOptions open;
  open.pool_size = std::max(4, o.workers / 4 + 4);
  FTI_ASSIGN_OR_RETURN(auto database, db::open_database(o.db_url, open));
  FTI_TRY(db::migrate(*database));
  auto store = make_sql_job_store(*database);

  if (o.prefill_finished > 0) FTI_TRY(prefill_finished(*database, o.prefill_finished));
  BenchResult r;
  r.jobs = o.jobs;
  r.workers = o.workers;
  double enqueue_s = 0;
  if (!o.work_only) {
    FTI_ASSIGN_OR_RETURN(enqueue_s, enqueue_all(*store, o.jobs));
    r.enqueue_per_sec = static_cast<double>(o.jobs) / std::max(enqueue_s, 1e-9);
  }
  if (!o.enqueue_only) {
    SystemClock clock;
    NoopHandler handler(o.executions_file);
    FinishCounter counter;
    WorkerPoolOptions pool_options;
    pool_options.threads = o.workers;
    pool_options.lease_ms = o.lease_ms;
    pool_options.heartbeat_ms = std::max<TimeMs>(o.lease_ms / 3, 1);
    pool_options.idle_poll_ms = 200;
    pool_options.claim_batch = 512;
    // No-op jobs finish in microseconds: claim far ahead, so claims come in big batches and
    // the next claim runs while earlier batches' outcomes are being recorded (on PostgreSQL
    // two server processes then work at once; with room for one batch only they took turns).
    pool_options.prefetch = 4 * std::max(o.workers * 32, 512);
    pool_options.node_id = "bench";
    WorkerPool pool(*store, handler, clock, RetryPolicy(100), pool_options, &counter);
    FTI_ASSIGN_OR_RETURN(double drain_s, drain(*database, pool, counter));
    r.process_per_sec = static_cast<double>(o.jobs) / std::max(drain_s, 1e-9);
    if (!o.work_only) r.end_to_end_per_sec = static_cast<double>(o.jobs) / std::max(enqueue_s + drain_s, 1e-9);
    if (o.latency_samples > 0) FTI_TRY(measure_pickup(*store, pool, handler, o.latency_samples, r));
    pool.stop(std::chrono::seconds(10));
    r.executions = pool.executions() - static_cast<std::uint64_t>(std::max(o.latency_samples, 0));
  }
  FTI_ASSIGN_OR_RETURN(r.succeeded, count(*database, kSucceeded));
  return r;
}

std::string BenchResult::to_json() const {
  json::Writer w;
  w.begin_object();
  w.field("jobs", jobs).field("workers", workers);
  w.field("enqueue_per_sec", enqueue_per_sec).field("process_per_sec", process_per_sec);
  w.field("end_to_end_per_sec", end_to_end_per_sec);
  w.key("pickup_latency_ms").begin_object().field("p50", pickup_p50_ms).field("p99", pickup_p99_ms).end_object();
  w.field("succeeded", succeeded).field("executions", executions);
  w.end_object();
  return w.str();
}

std::string BenchResult::to_text() const {
  auto shown = [](const std::optional<double>& v, int decimals) {
    return v ? fmt::format("{:>10.{}f}", *v, decimals) : fmt::format("{:>10}", "-");
  };
  return fmt::format(
      "jobs {}  workers {}\nenqueue      {} jobs/s\nprocess      {} jobs/s\nend to end   {} jobs/s\n"
      "pickup p50   {} ms\npickup p99   {} ms\nsucceeded    {:>10}\nexecutions   {:>10}",
      jobs, workers, shown(enqueue_per_sec, 0), shown(process_per_sec, 0), shown(end_to_end_per_sec, 0),
      shown(pickup_p50_ms, 3), shown(pickup_p99_ms, 3), succeeded, executions);
}

}  // namespace fti::jobs
