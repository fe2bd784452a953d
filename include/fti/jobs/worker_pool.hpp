#pragma once
// WorkerPool: a fixed set of threads that claim jobs from the JobStore, run the handler,
// heartbeat the lease meanwhile, and record the outcome. Never runs on an I/O thread.
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "fti/core/clock.hpp"
#include "fti/core/result.hpp"
#include "fti/jobs/job.hpp"
#include "fti/jobs/job_store.hpp"
#include "fti/jobs/retry_policy.hpp"

namespace fti::jobs {

// What a handler may do while it runs.
class JobContext {
 public:
  virtual ~JobContext() = default;
  virtual void report_progress(int percent, const std::string& stage) = 0;
  virtual bool cancel_requested() const = 0;
};

// Runs one attempt of a job. Returns the result object (JSON) or a failure.
class JobHandler {
 public:
  virtual ~JobHandler() = default;
  virtual Result<std::string> run(const Job& job, JobContext& context) = 0;
};

// Observes job transitions (events, metrics). Called from worker threads.
class JobObserver {
 public:
  virtual ~JobObserver() = default;
  virtual void on_started(const Job& /*job*/) {}
  virtual void on_progress(const Job& job, int percent, const std::string& stage) = 0;
  virtual void on_finished(const Job& job, JobStatus status, double seconds) = 0;
};

struct WorkerPoolOptions {
  int threads = 2;
  TimeMs lease_ms = 30000;
  TimeMs heartbeat_ms = 10000;     // at most lease_ms / 3
  TimeMs idle_poll_ms = 1000;      // safety net; enqueue wakes workers at once via notify()
  std::string node_id = "node";
};

class WorkerPool {
 public:
  WorkerPool(JobStore& store, JobHandler& handler, const Clock& clock, RetryPolicy retry,
             WorkerPoolOptions options, JobObserver* observer = nullptr);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void start();
  // Wakes an idle worker: call after enqueueing.
  void notify();
  // Stops claiming; waits up to `grace` for running jobs, then releases the rest back to the
  // queue (without using up an attempt) and joins the threads.
  void stop(std::chrono::milliseconds grace);

  int busy_workers() const { return busy_.load(); }
  int total_workers() const { return options_.threads; }

 private:
  struct ActiveJob;  // a running attempt, shared with the heartbeat thread
  class Context;

  void worker_loop(int index);
  void run_one(const Job& job);
  void heartbeat_loop();
  void heartbeat_all();
  void wait_for_work(std::uint64_t seen_generation);
  Result<std::string> run_handler(const Job& job, JobContext& context);
  // Stores the attempt's outcome; the job's new status, or nullopt when the attempt was stale.
  std::optional<JobStatus> record_outcome(const Job& job, const ActiveJob& active,
                                          const Result<std::string>& result);

  JobStore& store_;
  JobHandler& handler_;
  const Clock& clock_;
  RetryPolicy retry_;
  WorkerPoolOptions options_;
  JobObserver* observer_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::uint64_t wake_generation_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> abandon_{false};  // grace elapsed: running handlers should give up
  std::atomic<int> busy_{0};
  std::vector<std::thread> threads_;

  std::condition_variable idle_;  // in_flight_ dropped: stop() waits on it for running jobs
  std::condition_variable heartbeat_wake_;
  bool heartbeat_stop_ = false;
  std::map<std::string, std::shared_ptr<ActiveJob>> active_;  // by job id and attempt, under mutex_
  std::thread heartbeat_thread_;
  int in_flight_ = 0;  // workers claiming or running a job, under mutex_
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace fti::jobs
