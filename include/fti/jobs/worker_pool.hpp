#pragma once
// WorkerPool: runs jobs from the JobStore on threads of its own, never on an I/O thread.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fti/core/clock.hpp"
#include "fti/core/result.hpp"
#include "fti/jobs/job.hpp"
#include "fti/jobs/job_store.hpp"
#include "fti/jobs/retry_policy.hpp"

namespace fti::ops {
class Metrics;
}

namespace fti::jobs {

// What a handler may do while it runs.
class JobContext {
 public:
  virtual ~JobContext() = default;
  virtual void report_progress(int percent, const std::string& stage) = 0;
  virtual bool cancel_requested() const = 0;
  // Resources the attempt used (a child process's peak RSS and CPU time), kept on the job.
  virtual void record_usage(std::int64_t /*peak_rss_bytes*/, double /*cpu_seconds*/) {}
};

// Runs one attempt of a job. Returns the result object (JSON) or a failure.
class JobHandler {
 public:
  virtual ~JobHandler() = default;
  virtual Result<std::string> run(const Job& job, JobContext& context) = 0;
};

// Observes job transitions (events, metrics). Called from the pool's threads.
class JobObserver {
 public:
  virtual ~JobObserver() = default;
  virtual void on_started(const Job& /*job*/) {}
  virtual void on_progress(const Job& job, int percent, const std::string& stage) = 0;
  // `job` is the job as claimed; for a failed attempt its `error` is that attempt's.
  // `seconds` is the attempt's run time.
  virtual void on_finished(const Job& job, JobStatus status, double seconds) = 0;
};

struct WorkerPoolOptions {
  int threads = 2;                 // workers at start, and the autoscaler's minimum
  int max_threads = 0;             // the autoscaler's maximum; <= threads: fixed size
  double target_queue_seconds = 60;
  TimeMs lease_ms = 30000;
  TimeMs heartbeat_ms = 10000;     // at most lease_ms / 3
  TimeMs idle_poll_ms = 1000;      // safety net; enqueue wakes the dispatcher at once via notify()
  TimeMs progress_write_ms = 1000; // progress reaches the database at most this often per job
  int claim_batch = 256;           // most jobs one claim transaction takes
  int prefetch = 0;                // jobs claimed ahead of free workers; 0: as many as workers
  std::string node_id = "node";
  ops::Metrics* metrics = nullptr; // fti_jobs_*, fti_workers, fti_job_* when set
};

// A dispatcher thread claims jobs in batches (sharing workers among queues in proportion to
// their waiting jobs) and hands them to worker threads through memory; a committer thread
// records outcomes in batches (group commit); a heartbeat thread extends every lease in one
// transaction. Worker threads scale between threads and max_threads (Autoscaler).
class WorkerPool {
 public:
  WorkerPool(JobStore& store, JobHandler& handler, const Clock& clock, RetryPolicy retry,
             WorkerPoolOptions options, JobObserver* observer = nullptr);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void start();
  // Wakes the dispatcher: call after enqueueing (`queue` is the job's type, when known).
  void notify(const std::string& queue = {});
  // Tells a handler of this pool running job `id` that its cancel was requested (the
  // heartbeat would say so too, a lease third later).
  void cancel_local(const std::string& id);
  // Stops claiming; waits up to `grace` for running jobs, then releases the rest back to the
  // queue (without using up an attempt), records every outcome and joins the threads.
  void stop(std::chrono::milliseconds grace);

  // Pressure from the cleanup SLA (ops::SlaMonitor): while on, the autoscaler's floor rises
  // by a quarter of the target (at least one worker) at once and then every
  // kPressureStepMs of the pool's clock while pressure lasts, up to max_threads; off returns
  // the floor to `threads`, and the autoscaler brings the count down by its usual rule.
  // Logged at every change. Returns whether the pool can grow at all (max_threads > threads).
  bool set_pressure(bool on);
  bool under_pressure() const;
  // The autoscaler's current minimum: `threads`, or higher under pressure.
  int worker_floor() const;
  static constexpr TimeMs kPressureStepMs = 30000;

  int busy_workers() const;
  int total_workers() const;
  // Handler runs so far (benchmarks count duplicates with it).
  std::uint64_t executions() const { return executions_.load(); }

 private:
  struct ActiveJob;
  struct Pending;
  class Context;

  void dispatcher_loop();
  int claim_round();
  void autoscale(TimeMs now);
  void raise_floor(TimeMs now);  // under mutex_
  void spawn_to_target();        // under mutex_
  void worker_loop();
  void run_one(Job job);
  void committer_loop();
  void commit(std::vector<Pending>& batch);
  void heartbeat_loop();
  void heartbeat_all();
  Result<std::string> run_handler(const Job& job, JobContext& context);
  Pending make_outcome(const Job& job, const ActiveJob& active, const Result<std::string>& result);
  void push_outcome(Pending pending);
  void publish_gauges();

  JobStore& store_;
  std::set<std::string> paused_;  // queues not to claim from, as last read (under mutex_)
  JobHandler& handler_;
  const Clock& clock_;
  RetryPolicy retry_;
  WorkerPoolOptions options_;
  JobObserver* observer_;

  mutable std::mutex mutex_;
  std::condition_variable work_cv_;      // workers: a job is ready, or stop/retire
  std::condition_variable dispatch_cv_;  // dispatcher: notify(), a worker freed, stop
  std::condition_variable commit_cv_;    // committer: outcomes to record
  std::condition_variable idle_cv_;      // stop(): running_ changed
  std::condition_variable heartbeat_cv_;
  std::uint64_t wake_generation_ = 0;
  std::deque<Job> ready_;
  std::map<std::string, int> inflight_by_queue_;   // ready + running
  std::map<std::string, std::int64_t> waiting_;    // cached due counts per queue
  TimeMs waiting_fresh_until_ = 0;
  bool waiting_dirty_ = true;
  int running_ = 0;
  int target_workers_ = 0;
  int live_workers_ = 0;
  double average_job_seconds_ = 1.0;
  int floor_ = 0;                  // the autoscaler's minimum: threads, raised under pressure
  bool pressure_ = false;
  TimeMs next_pressure_step_ = 0;
  TimeMs next_autoscale_ = 0;
  std::vector<Pending> outcomes_;
  std::size_t committing_ = 0;  // outcomes the committer is writing now
  std::map<std::string, std::shared_ptr<ActiveJob>> active_;  // claimed until recorded
  bool started_ = false;
  bool stopped_ = false;
  bool committer_stop_ = false;
  bool heartbeat_stop_ = false;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> abandon_{false};  // grace elapsed: running handlers should give up
  std::atomic<std::uint64_t> executions_{0};
  std::thread dispatcher_;
  std::thread committer_;
  std::thread heartbeat_thread_;
  std::vector<std::thread> workers_;
};

}  // namespace fti::jobs
