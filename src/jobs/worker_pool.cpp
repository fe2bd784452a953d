// WorkerPool: worker threads claim one job at a time and run the handler; one heartbeat
// thread extends the leases of all running jobs and passes cancel requests on to them.
#include "fti/jobs/worker_pool.hpp"

#include <algorithm>
#include <exception>

#include "fti/core/log.hpp"

namespace fti::jobs {

namespace {

std::shared_ptr<spdlog::logger> logger() { return fti::log::get("jobs"); }

// Two attempts of one job can overlap in a pool (a lease expired under a slow handler).
std::string active_key(const Job& job) { return job.id + "#" + std::to_string(job.attempt); }

}  // namespace

struct WorkerPool::ActiveJob {
  ActiveJob(std::string job_id, int job_attempt) : id(std::move(job_id)), attempt(job_attempt) {}
  const std::string id;
  const int attempt;
  std::atomic<bool> cancel_requested{false};  // the user asked to cancel (seen by heartbeat)
  std::atomic<bool> lost{false};              // the lease went elsewhere: the result is moot
  std::atomic<bool> done{false};              // the handler returned: no more heartbeats
};

// What the handler sees of the pool while it runs one attempt.
class WorkerPool::Context final : public JobContext {
 public:
  Context(WorkerPool& pool, const Job& job, ActiveJob& active)
      : pool_(pool), job_(job), active_(active) {}

  void report_progress(int percent, const std::string& stage) override {
    auto owned = pool_.store_.set_progress(job_.id, job_.attempt, percent, stage);
    if (!owned.ok()) {
      logger()->warn("could not record progress: {}", owned.error().message);
    } else if (!*owned) {
      active_.lost = true;  // another worker or a cancel owns the job now
    }
    if (pool_.observer_) pool_.observer_->on_progress(job_, percent, stage);
  }

  bool cancel_requested() const override {
    return active_.cancel_requested || active_.lost || pool_.abandon_;
  }

 private:
  WorkerPool& pool_;
  const Job& job_;
  ActiveJob& active_;
};

WorkerPool::WorkerPool(JobStore& store, JobHandler& handler, const Clock& clock, RetryPolicy retry,
                       WorkerPoolOptions options, JobObserver* observer)
    : store_(store),
      handler_(handler),
      clock_(clock),
      retry_(std::move(retry)),
      options_(std::move(options)),
      observer_(observer) {
  options_.threads = std::max(options_.threads, 1);
  options_.lease_ms = std::max<TimeMs>(options_.lease_ms, 3);
  // A lease must survive a missed heartbeat or two.
  options_.heartbeat_ms = std::clamp<TimeMs>(options_.heartbeat_ms, 1, options_.lease_ms / 3);
  options_.idle_poll_ms = std::max<TimeMs>(options_.idle_poll_ms, 1);
}

WorkerPool::~WorkerPool() { stop(std::chrono::milliseconds(0)); }

void WorkerPool::start() {
  std::lock_guard lock(mutex_);
  if (started_) return;
  started_ = true;
  for (int i = 0; i < options_.threads; ++i) threads_.emplace_back(&WorkerPool::worker_loop, this, i);
  heartbeat_thread_ = std::thread(&WorkerPool::heartbeat_loop, this);
  logger()->info("worker pool started: {} threads on {}", options_.threads, options_.node_id);
}

void WorkerPool::notify() {
  {
    std::lock_guard lock(mutex_);
    ++wake_generation_;
  }
  wake_.notify_one();
}

void WorkerPool::stop(std::chrono::milliseconds grace) {
  {
    std::unique_lock lock(mutex_);
    if (!started_ || stopped_) return;
    stopped_ = true;
    stopping_ = true;
    ++wake_generation_;
    wake_.notify_all();
    if (!idle_.wait_for(lock, grace, [&] { return in_flight_ == 0; })) {
      // Handlers now see cancel_requested; their workers give the jobs back to the queue.
      logger()->info("{} job(s) still running after the grace period; releasing them", in_flight_);
      abandon_ = true;
    }
  }
  for (auto& t : threads_) t.join();
  {
    std::lock_guard lock(mutex_);
    heartbeat_stop_ = true;
  }
  heartbeat_wake_.notify_all();
  heartbeat_thread_.join();
  logger()->info("worker pool stopped");
}

void WorkerPool::worker_loop(int index) {
  const std::string worker_id = options_.node_id + "/" + std::to_string(index);
  for (;;) {
    std::uint64_t seen_generation = 0;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      seen_generation = wake_generation_;
      ++in_flight_;
    }
    auto claimed = store_.claim(worker_id, 1, clock_.now_ms(), options_.lease_ms);
    if (!claimed.ok()) logger()->warn("claiming a job failed: {}", claimed.error().message);
    const bool got_work = claimed.ok() && !claimed->empty();
    if (got_work && stopping_) {
      // stop() began during the claim: hand the job straight back rather than start it.
      const Job& job = claimed->front();
      if (auto r = store_.release(job.id, job.attempt, clock_.now_ms()); !r.ok())
        logger()->warn("could not release job {}: {}", job.id, r.error().message);
    } else if (got_work) {
      run_one(claimed->front());
    }
    {
      std::lock_guard lock(mutex_);
      --in_flight_;
    }
    idle_.notify_all();
    // After a job, look for the next one at once: a backlog drains without waiting.
    if (!got_work) wait_for_work(seen_generation);
  }
}

void WorkerPool::wait_for_work(std::uint64_t seen_generation) {
  TimeMs wait_ms = options_.idle_poll_ms;
  auto next = store_.next_run_at();
  if (next.ok() && next->has_value()) {
    wait_ms = std::clamp<TimeMs>(**next - clock_.now_ms(), 1, wait_ms);
  }
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, std::chrono::milliseconds(wait_ms),
                 [&] { return stopping_ || wake_generation_ != seen_generation; });
}

void WorkerPool::run_one(const Job& job) {
  fti::log::ScopedLogContext log_context(job.id);
  auto active = std::make_shared<ActiveJob>(job.id, job.attempt);
  active->cancel_requested = job.cancel_requested;
  {
    std::lock_guard lock(mutex_);
    active_[active_key(job)] = active;
  }
  ++busy_;
  logger()->info("running {} job, attempt {}/{}", job.type, job.attempt, job.max_attempts);
  const Stopwatch watch;
  Context context(*this, job, *active);
  const Result<std::string> result = run_handler(job, context);
  active->done = true;
  {
    std::lock_guard lock(mutex_);
    active_.erase(active_key(job));
  }
  const auto status = record_outcome(job, *active, result);
  --busy_;
  if (!status) return;
  logger()->info("attempt {} ended after {:.3f}s; job is {}", job.attempt, watch.seconds(),
                 to_string(*status));
  if (observer_) observer_->on_finished(job, *status, watch.seconds());
}

Result<std::string> WorkerPool::run_handler(const Job& job, JobContext& context) {
  // A throwing handler is a bug, but it must not take the worker thread (and process) down.
  try {
    return handler_.run(job, context);
  } catch (const std::exception& e) {
    logger()->error("handler threw: {}", e.what());
    return Error(errc::internal, std::string("the job handler failed unexpectedly: ") + e.what());
  }
}

std::optional<JobStatus> WorkerPool::record_outcome(const Job& job, const ActiveJob& active,
                                                    const Result<std::string>& result) {
  const TimeMs now = clock_.now_ms();
  Result<bool> stored = false;
  JobStatus status = JobStatus::failed;
  const bool cancelled = !result.ok() && result.error().code == errc::cancelled;
  if (result.ok()) {
    stored = store_.complete(job.id, job.attempt, *result, now);
    status = JobStatus::succeeded;
  } else if (abandon_ && !active.cancel_requested) {
    // Shutting down: the failure is most likely ours, so the attempt is not counted.
    stored = store_.release(job.id, job.attempt, now);
    status = JobStatus::queued;
  } else if (cancelled) {
    stored = store_.finish_cancelled(job.id, job.attempt, now);
    status = JobStatus::cancelled;
  } else {
    const Failure failure{{result.error().code, result.error().message},
                          is_retryable_error(result.error().code)};
    stored = store_.fail(job.id, job.attempt, failure, now, now + retry_.delay_ms(job.attempt));
    const bool retries = failure.retryable && job.attempt < job.max_attempts;
    status = active.cancel_requested ? JobStatus::cancelled
                                     : (retries ? JobStatus::retrying : JobStatus::failed);
    logger()->warn("attempt failed ({}): {}", failure.error.code, failure.error.message);
  }
  if (!stored.ok()) {
    // The lease runs out and another worker (or the reaper) picks the job up again.
    logger()->error("could not record the outcome: {}", stored.error().message);
    return std::nullopt;
  }
  if (!*stored) {
    logger()->warn("attempt {} is stale (lease lost or job cancelled); outcome dropped", job.attempt);
    return std::nullopt;
  }
  return status;
}

void WorkerPool::heartbeat_loop() {
  std::unique_lock lock(mutex_);
  while (!heartbeat_stop_) {
    heartbeat_wake_.wait_for(lock, std::chrono::milliseconds(options_.heartbeat_ms),
                             [&] { return heartbeat_stop_; });
    if (heartbeat_stop_) return;
    lock.unlock();
    heartbeat_all();
    lock.lock();
  }
}

void WorkerPool::heartbeat_all() {
  std::vector<std::shared_ptr<ActiveJob>> running;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, active] : active_) running.push_back(active);
  }
  for (const auto& active : running) {
    if (active->done) continue;
    fti::log::ScopedLogContext log_context(active->id);
    auto beat = store_.heartbeat(active->id, active->attempt, clock_.now_ms() + options_.lease_ms);
    if (!beat.ok()) {
      logger()->warn("heartbeat failed: {}", beat.error().message);
      continue;
    }
    // A job that finished meanwhile is no longer "running": that is not a lost lease.
    if (!beat->owned && !active->done && !active->lost.exchange(true)) {
      logger()->warn("lease lost; this attempt's result will be dropped");
    }
    if (beat->cancel_requested && !active->cancel_requested.exchange(true)) {
      logger()->info("cancel requested; asking the handler to stop");
    }
  }
}

}  // namespace fti::jobs
