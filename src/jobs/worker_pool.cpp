// WorkerPool: one dispatcher claims jobs in batches and hands them to worker threads through
// memory; one committer records outcomes in batches; one heartbeat thread extends every
// lease in one transaction. A job's handler may run more than once only when a lease is lost
// (a crash, or a worker that stopped heartbeating): the guarantees are the store's.
#include "fti/jobs/worker_pool.hpp"

#include <algorithm>
#include <cmath>
#include <exception>

#include "fti/core/log.hpp"
#include "fti/jobs/scheduler.hpp"
#include "fti/ops/metrics.hpp"

namespace fti::jobs {

namespace {

std::shared_ptr<spdlog::logger> logger() { return fti::log::get("jobs"); }

// Two attempts of one job can overlap in a pool (a lease expired under a slow handler).
std::string active_key(const std::string& id, int attempt) { return id + "#" + std::to_string(attempt); }

constexpr TimeMs kWaitingCountTtlMs = 1000;  // how long cached per-queue counts are trusted
constexpr TimeMs kAutoscaleEveryMs = 1000;
constexpr int kCommitTries = 5;

std::string outcome_label(JobStatus s) {
  switch (s) {
    case JobStatus::succeeded: return "succeeded";
    case JobStatus::failed: return "failed";
    case JobStatus::cancelled: return "cancelled";
    case JobStatus::retrying: return "retried";
    default: return "released";
  }
}

}  // namespace

struct WorkerPool::ActiveJob {
  ActiveJob(std::string job_id, int job_attempt) : id(std::move(job_id)), attempt(job_attempt) {}
  const std::string id;
  const int attempt;
  std::atomic<bool> cancel_requested{false};  // the user asked to cancel (seen by heartbeat)
  std::atomic<bool> lost{false};              // the lease went elsewhere: the result is moot
  TimeMs last_progress_write = 0;             // touched by the running worker only
};

// An outcome on its way to the database, with what the observers need afterwards.
struct WorkerPool::Pending {
  Outcome outcome;
  Job job;
  JobStatus status = JobStatus::failed;  // what the job becomes if the write applies
  double seconds = 0;
  std::string error_text;
};

// What the handler sees of the pool while it runs one attempt.
class WorkerPool::Context final : public JobContext {
 public:
  Context(WorkerPool& pool, const Job& job, ActiveJob& active) : pool_(pool), job_(job), active_(active) {}

  void report_progress(int percent, const std::string& stage) override {
    // Events go out at every call; the database hears at most every progress_write_ms.
    const TimeMs now = pool_.clock_.now_ms();
    if (percent >= 100 || now - active_.last_progress_write >= pool_.options_.progress_write_ms) {
      active_.last_progress_write = now;
      auto owned = pool_.store_.set_progress(job_.id, job_.attempt, percent, stage);
      if (!owned.ok()) {
        logger()->warn("could not record progress: {}", owned.error().message);
      } else if (!*owned) {
        active_.lost = true;  // another worker or a cancel owns the job now
      }
    }
    if (pool_.observer_) pool_.observer_->on_progress(job_, percent, stage);
  }

  bool cancel_requested() const override { return active_.cancel_requested || active_.lost || pool_.abandon_; }

  void record_usage(std::int64_t peak_rss_bytes, double cpu_seconds) override {
    peak_rss_bytes_ = peak_rss_bytes;
    cpu_ms_ = static_cast<std::int64_t>(cpu_seconds * 1000.0);
  }

  std::optional<std::int64_t> peak_rss_bytes_;
  std::optional<std::int64_t> cpu_ms_;

 private:
  WorkerPool& pool_;
  const Job& job_;
  ActiveJob& active_;
};

WorkerPool::WorkerPool(JobStore& store, JobHandler& handler, const Clock& clock, RetryPolicy retry,
                       WorkerPoolOptions options, JobObserver* observer)
    : store_(store), handler_(handler), clock_(clock), retry_(std::move(retry)), options_(std::move(options)),
      observer_(observer) {
  options_.threads = std::max(options_.threads, 1);
  options_.max_threads = std::max(options_.max_threads, options_.threads);
  options_.lease_ms = std::max<TimeMs>(options_.lease_ms, 3);
  // A lease must survive a missed heartbeat or two.
  options_.heartbeat_ms = std::clamp<TimeMs>(options_.heartbeat_ms, 1, options_.lease_ms / 3);
  options_.idle_poll_ms = std::max<TimeMs>(options_.idle_poll_ms, 1);
  options_.claim_batch = std::max(options_.claim_batch, 1);
  if (options_.prefetch <= 0) options_.prefetch = options_.threads;
  target_workers_ = options_.threads;
  floor_ = options_.threads;
}

WorkerPool::~WorkerPool() { stop(std::chrono::milliseconds(0)); }

void WorkerPool::start() {
  std::lock_guard lock(mutex_);
  if (started_) return;
  started_ = true;
  for (int i = 0; i < target_workers_; ++i) {
    ++live_workers_;
    workers_.emplace_back(&WorkerPool::worker_loop, this);
  }
  dispatcher_ = std::thread(&WorkerPool::dispatcher_loop, this);
  committer_ = std::thread(&WorkerPool::committer_loop, this);
  heartbeat_thread_ = std::thread(&WorkerPool::heartbeat_loop, this);
  logger()->info("worker pool started: {} workers (up to {}) on {}", target_workers_, options_.max_threads,
                 options_.node_id);
}

void WorkerPool::notify(const std::string& queue) {
  {
    std::lock_guard lock(mutex_);
    ++wake_generation_;
    if (queue.empty()) {
      waiting_dirty_ = true;
    } else {
      ++waiting_[queue];  // counted now; the next refresh corrects it
    }
  }
  dispatch_cv_.notify_one();
}

void WorkerPool::cancel_local(const std::string& id) {
  std::lock_guard lock(mutex_);
  for (auto& [key, active] : active_) {
    if (active->id == id) active->cancel_requested = true;
  }
}

int WorkerPool::busy_workers() const {
  std::lock_guard lock(mutex_);
  return running_;
}

int WorkerPool::total_workers() const {
  std::lock_guard lock(mutex_);
  return live_workers_;
}

void WorkerPool::stop(std::chrono::milliseconds grace) {
  std::deque<Job> unstarted;
  {
    std::unique_lock lock(mutex_);
    if (!started_ || stopped_) return;
    stopped_ = true;
    stopping_ = true;
    ++wake_generation_;
    unstarted.swap(ready_);
  }
  dispatch_cv_.notify_all();
  work_cv_.notify_all();
  dispatcher_.join();
  // Claimed but never started: back to the queue at once, without using an attempt.
  for (const auto& job : unstarted) {
    Pending p;
    p.outcome = Outcome{job.id, job.attempt, Outcome::Kind::released, {}, {}, 0, {}, {}};
    p.job = job;
    p.status = JobStatus::queued;
    push_outcome(std::move(p));
  }
  {
    std::unique_lock lock(mutex_);
    if (!idle_cv_.wait_for(lock, grace, [&] { return running_ == 0; })) {
      // Handlers now see cancel_requested; their workers give the jobs back to the queue.
      logger()->info("{} job(s) still running after the grace period; releasing them", running_);
      abandon_ = true;
    }
  }
  work_cv_.notify_all();
  for (auto& t : workers_) t.join();
  {
    std::lock_guard lock(mutex_);
    committer_stop_ = true;
  }
  commit_cv_.notify_all();
  committer_.join();  // records everything still queued before it returns
  {
    std::lock_guard lock(mutex_);
    heartbeat_stop_ = true;
  }
  heartbeat_cv_.notify_all();
  heartbeat_thread_.join();
  logger()->info("worker pool stopped");
}

// ---- dispatcher ------------------------------------------------------------------------

void WorkerPool::dispatcher_loop() {
  while (!stopping_) {
    std::uint64_t seen = 0;
    {
      std::lock_guard lock(mutex_);
      seen = wake_generation_;
    }
    const int claimed = claim_round();
    autoscale(clock_.now_ms());
    if (claimed > 0) continue;  // more may be waiting: look again at once
    TimeMs wait_ms = options_.idle_poll_ms;
    if (claimed == 0) {
      // Nothing due now: sleep until the next delayed job or lease expiry is.
      auto next = store_.next_run_at();
      if (next.ok() && next->has_value()) wait_ms = std::clamp<TimeMs>(**next - clock_.now_ms(), 1, wait_ms);
    }
    std::unique_lock lock(mutex_);
    dispatch_cv_.wait_for(lock, std::chrono::milliseconds(wait_ms),
                          [&] { return stopping_ || wake_generation_ != seen; });
    if (!stopping_ && wake_generation_ == seen) waiting_dirty_ = true;  // timed out: re-count
  }
}

// Claims what free workers (plus prefetch) can take, shared among queues in proportion to
// their waiting jobs. Returns how many jobs were claimed, or -1 when the workers have
// enough in hand and it did not look.
int WorkerPool::claim_round() {
  const TimeMs now = clock_.now_ms();
  std::map<std::string, std::int64_t> waiting;
  std::map<std::string, int> inflight;
  int room = 0;
  int slots = 0;
  bool recount = false;
  {
    std::lock_guard lock(mutex_);
    slots = target_workers_ + options_.prefetch;
    // Outcomes not yet recorded count too: a crash re-runs every job still "running" in the
    // database, so claims must not run ahead of the committer.
    const int held = static_cast<int>(ready_.size() + outcomes_.size() + committing_) + running_;
    // Claim in batches: wait until at least half the prefetch is free (or nothing is held).
    if (held > 0 && slots - held < std::max(1, options_.prefetch / 2)) return -1;
    room = std::min(slots - held, options_.claim_batch);
    if (room <= 0) return -1;
    if (waiting_dirty_ || now >= waiting_fresh_until_) {
      waiting_dirty_ = false;
      waiting_fresh_until_ = now + kWaitingCountTtlMs;
      recount = true;  // below, outside the lock
    }
    waiting = waiting_;
    inflight = inflight_by_queue_;
  }
  if (recount) {
    auto counts = store_.waiting_by_queue(now);
    if (!counts.ok()) {
      logger()->warn("counting waiting jobs failed: {}", counts.error().message);
      return 0;
    }
    waiting = *counts;
    // A paused queue's jobs wait; read with the counts, so a pause takes effect within a
    // count's lifetime on every instance.
    // When the read fails, the last known pauses hold (failing open would run paused work).
    if (auto paused = store_.paused_queues(); paused.ok()) {
      std::lock_guard lock(mutex_);
      paused_ = std::move(*paused);
    } else {
      logger()->warn("reading paused queues failed: {}", paused.error().message);
    }
    {
      std::lock_guard lock(mutex_);
      for (const auto& q : paused_) waiting.erase(q);
    }
    std::lock_guard lock(mutex_);
    waiting_ = waiting;
  }
  std::int64_t total_waiting = 0;
  for (const auto& [q, n] : waiting) total_waiting += std::max<std::int64_t>(n, 0);
  if (total_waiting == 0) return 0;

  // One queue waiting: one claim. Several: each gets its share of the slots. Claims always
  // name their queue, so each walks its own (type, sort_key) index range.
  std::vector<std::pair<std::string, int>> wants;
  std::vector<std::string> busy_queues;
  for (const auto& [q, n] : waiting) {
    if (n > 0) busy_queues.push_back(q);
  }
  if (busy_queues.size() == 1) {
    wants.emplace_back(busy_queues.front(), room);
  } else {
    for (const auto& [q, share] : allocate_workers(slots, waiting)) {
      int want = std::min(share - inflight[q], room);
      if (want > 0) wants.emplace_back(q, want);
    }
  }

  int claimed_total = 0;
  const std::string worker_id = options_.node_id;
  for (const auto& [queue, want] : wants) {
    auto claimed = store_.claim(worker_id, want, now, options_.lease_ms, queue);
    if (!claimed.ok()) {
      logger()->warn("claiming jobs failed: {}", claimed.error().message);
      break;
    }
    if (claimed->empty()) {
      std::lock_guard lock(mutex_);
      waiting_dirty_ = true;
      continue;
    }
    {
      std::lock_guard lock(mutex_);
      for (auto& job : *claimed) {
        auto active = std::make_shared<ActiveJob>(job.id, job.attempt);
        active->cancel_requested = job.cancel_requested;
        active_[active_key(job.id, job.attempt)] = active;
        ++inflight_by_queue_[job.type];
        auto it = waiting_.find(job.type);
        if (it != waiting_.end() && it->second > 0) --it->second;
        ready_.push_back(std::move(job));
      }
    }
    claimed_total += static_cast<int>(claimed->size());
    work_cv_.notify_all();
  }
  return claimed_total;
}

void WorkerPool::autoscale(TimeMs now) {
  if (options_.max_threads <= options_.threads) return;
  std::lock_guard lock(mutex_);
  if (stopping_) return;
  raise_floor(now);
  if (now < next_autoscale_) return;
  next_autoscale_ = now + kAutoscaleEveryMs;
  std::int64_t depth = static_cast<std::int64_t>(ready_.size());
  for (const auto& [q, n] : waiting_) depth += std::max<std::int64_t>(n, 0);
  Autoscaler scaler(floor_, options_.max_threads, options_.target_queue_seconds);
  const int next = scaler.next(target_workers_, depth, average_job_seconds_);
  if (next == target_workers_) return;
  logger()->info("autoscaler: {} -> {} workers (queue {}, average job {:.2f} s)", target_workers_, next, depth,
                 average_job_seconds_);
  target_workers_ = next;
  spawn_to_target();
}

// Retire lazily: idle workers above the target leave. Add at once.
void WorkerPool::spawn_to_target() {
  if (!started_) return;  // start() spawns target_workers_
  while (live_workers_ < target_workers_) {
    ++live_workers_;
    workers_.emplace_back(&WorkerPool::worker_loop, this);
  }
  work_cv_.notify_all();
}

bool WorkerPool::set_pressure(bool on) {
  if (options_.max_threads <= options_.threads) return false;
  std::lock_guard lock(mutex_);
  if (on == pressure_) {
    if (on) raise_floor(clock_.now_ms());  // the next step, when it is due
    return true;
  }
  pressure_ = on;
  if (on) {
    next_pressure_step_ = 0;  // the first step now
    raise_floor(clock_.now_ms());
  } else {
    floor_ = options_.threads;
    logger()->info("SLA pressure off: the floor is back to {} workers ({} now; the autoscaler decides)", floor_,
                   target_workers_);
  }
  return true;
}

void WorkerPool::raise_floor(TimeMs now) {
  if (!pressure_ || stopping_ || now < next_pressure_step_ || floor_ >= options_.max_threads) return;
  next_pressure_step_ = now + kPressureStepMs;
  const int step = std::max(1, static_cast<int>(std::ceil(target_workers_ / 4.0)));
  floor_ = std::min(options_.max_threads, std::max(floor_, target_workers_) + step);
  logger()->info("SLA pressure: the cleanup SLA is missed; floor raised to {} workers (up to {})", floor_,
                 options_.max_threads);
  if (target_workers_ < floor_) {
    target_workers_ = floor_;
    spawn_to_target();
  }
}

bool WorkerPool::under_pressure() const {
  std::lock_guard lock(mutex_);
  return pressure_;
}

int WorkerPool::worker_floor() const {
  std::lock_guard lock(mutex_);
  return floor_;
}

// ---- workers ---------------------------------------------------------------------------

void WorkerPool::worker_loop() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      work_cv_.wait(lock, [&] { return stopping_ || !ready_.empty() || live_workers_ > target_workers_; });
      if (stopping_ || (ready_.empty() && live_workers_ > target_workers_)) {
        --live_workers_;
        return;
      }
      job = std::move(ready_.front());
      ready_.pop_front();
      ++running_;
    }
    publish_gauges();
    run_one(std::move(job));
  }
}

void WorkerPool::run_one(Job job) {
  fti::log::ScopedLogContext log_context(job.id);
  std::shared_ptr<ActiveJob> active;
  {
    std::lock_guard lock(mutex_);
    active = active_[active_key(job.id, job.attempt)];
  }
  if (!active) active = std::make_shared<ActiveJob>(job.id, job.attempt);
  logger()->debug("running {} job, attempt {}/{}", job.type, job.attempt, job.max_attempts);
  if (observer_) observer_->on_started(job);
  const Stopwatch watch;
  Context context(*this, job, *active);
  ++executions_;
  const Result<std::string> result = run_handler(job, context);
  Pending pending = make_outcome(job, *active, result);
  pending.seconds = watch.seconds();
  pending.outcome.peak_rss_bytes = context.peak_rss_bytes_;
  pending.outcome.cpu_ms = context.cpu_ms_;
  {
    std::lock_guard lock(mutex_);
    --running_;
    if (--inflight_by_queue_[job.type] <= 0) inflight_by_queue_.erase(job.type);
    // An exponential average: recent jobs say more about the next ones.
    average_job_seconds_ = 0.8 * average_job_seconds_ + 0.2 * pending.seconds;
    ++wake_generation_;
  }
  dispatch_cv_.notify_one();
  idle_cv_.notify_all();
  publish_gauges();
  push_outcome(std::move(pending));
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

WorkerPool::Pending WorkerPool::make_outcome(const Job& job, const ActiveJob& active,
                                             const Result<std::string>& result) {
  Pending p;
  p.job = job;
  p.outcome.id = job.id;
  p.outcome.attempt = job.attempt;
  const bool cancelled = !result.ok() && result.error().code == errc::cancelled;
  if (result.ok()) {
    p.outcome.kind = Outcome::Kind::succeeded;
    p.outcome.result_json = *result;
    p.status = JobStatus::succeeded;
  } else if (abandon_ && !active.cancel_requested) {
    // Shutting down: the failure is most likely ours, so the attempt is not counted.
    p.outcome.kind = Outcome::Kind::released;
    p.status = JobStatus::queued;
  } else if (cancelled) {
    p.outcome.kind = Outcome::Kind::cancelled;
    p.status = JobStatus::cancelled;
  } else {
    const Failure failure{{result.error().code, result.error().message}, is_retryable_error(result.error().code)};
    const bool retries = failure.retryable && job.attempt < job.max_attempts;
    p.outcome.kind = Outcome::Kind::failed;
    p.outcome.failure = failure;
    p.outcome.retry_at = clock_.now_ms() + retry_.delay_ms(job.attempt);
    p.status = active.cancel_requested ? JobStatus::cancelled : (retries ? JobStatus::retrying : JobStatus::failed);
    p.error_text = failure.error.code + ": " + failure.error.message;
  }
  return p;
}

void WorkerPool::push_outcome(Pending pending) {
  {
    std::lock_guard lock(mutex_);
    outcomes_.push_back(std::move(pending));
  }
  commit_cv_.notify_one();
}

void WorkerPool::publish_gauges() {
  if (!options_.metrics) return;
  int busy = 0, live = 0;
  {
    std::lock_guard lock(mutex_);
    busy = running_;
    live = live_workers_;
  }
  options_.metrics->set("fti_workers", {{"state", "busy"}}, busy);
  options_.metrics->set("fti_workers", {{"state", "idle"}}, std::max(0, live - busy));
}

// ---- committer (group commit) ------------------------------------------------------------

void WorkerPool::committer_loop() {
  for (;;) {
    std::vector<Pending> batch;
    {
      std::unique_lock lock(mutex_);
      commit_cv_.wait(lock, [&] { return committer_stop_ || !outcomes_.empty(); });
      if (outcomes_.empty() && committer_stop_) return;
      batch.swap(outcomes_);
      committing_ = batch.size();
    }
    const bool retries = std::any_of(batch.begin(), batch.end(), [](const Pending& p) {
      return p.status == JobStatus::retrying || p.status == JobStatus::queued;
    });
    commit(batch);
    {
      std::lock_guard lock(mutex_);
      committing_ = 0;
      ++wake_generation_;  // room to claim again
      // A retried or released job waits again (due soon): the dispatcher re-counts.
      if (retries) waiting_dirty_ = true;
    }
    dispatch_cv_.notify_one();
  }
}

void WorkerPool::commit(std::vector<Pending>& batch) {
  std::vector<Outcome> outcomes;
  outcomes.reserve(batch.size());
  for (const auto& p : batch) outcomes.push_back(p.outcome);
  Result<std::vector<bool>> applied = std::vector<bool>{};
  // Heartbeats go on for these jobs until this returns, so retrying a busy database here
  // keeps the results instead of letting the leases lapse.
  for (int attempt = 1; attempt <= kCommitTries; ++attempt) {
    applied = store_.record_outcomes(outcomes, clock_.now_ms());
    if (applied.ok()) break;
    logger()->warn("recording {} outcome(s) failed (try {}): {}", batch.size(), attempt, applied.error().message);
    std::this_thread::sleep_for(std::chrono::milliseconds(50 * attempt));
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    Pending& p = batch[i];
    fti::log::ScopedLogContext log_context(p.job.id);
    const bool stored = applied.ok() && i < applied->size() && (*applied)[i];
    {
      std::lock_guard lock(mutex_);
      active_.erase(active_key(p.job.id, p.job.attempt));
    }
    if (!stored) {
      // Stale (lease lost, cancelled), or the database is down: the lease runs out and the
      // job is claimed again, so nothing is lost.
      logger()->warn("attempt {} outcome not recorded ({}); the job's lease decides", p.job.attempt,
                     applied.ok() ? "stale attempt" : applied.error().message);
      continue;
    }
    if (!p.error_text.empty()) logger()->warn("attempt {} failed: {}", p.job.attempt, p.error_text);
    logger()->info("attempt {} ended after {:.3f}s; job is {}", p.job.attempt, p.seconds, to_string(p.status));
    if (options_.metrics && p.status != JobStatus::queued) {
      options_.metrics->inc("fti_jobs_completed_total", {{"queue", p.job.type}, {"outcome", outcome_label(p.status)}});
      options_.metrics->observe("fti_job_duration_seconds", {{"queue", p.job.type}}, p.seconds);
      if (p.outcome.peak_rss_bytes) {
        options_.metrics->observe("fti_job_peak_rss_bytes", {}, static_cast<double>(*p.outcome.peak_rss_bytes));
      }
    }
    if (observer_) {
      // The job as claimed, with this attempt's error (observers judge failures by code).
      if (p.outcome.kind == Outcome::Kind::failed) p.job.error = p.outcome.failure.error;
      observer_->on_finished(p.job, p.status, p.seconds);
    }
  }
}

// ---- heartbeats ------------------------------------------------------------------------

void WorkerPool::heartbeat_loop() {
  std::unique_lock lock(mutex_);
  while (!heartbeat_stop_) {
    heartbeat_cv_.wait_for(lock, std::chrono::milliseconds(options_.heartbeat_ms), [&] { return heartbeat_stop_; });
    if (heartbeat_stop_) return;
    lock.unlock();
    heartbeat_all();
    lock.lock();
  }
}

void WorkerPool::heartbeat_all() {
  std::vector<std::shared_ptr<ActiveJob>> held;
  std::vector<std::pair<std::string, int>> attempts;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [key, active] : active_) {
      held.push_back(active);
      attempts.emplace_back(active->id, active->attempt);
    }
  }
  if (attempts.empty()) return;
  auto beats = store_.heartbeat_many(attempts, clock_.now_ms() + options_.lease_ms);
  if (!beats.ok()) {
    logger()->warn("heartbeat of {} job(s) failed: {}", attempts.size(), beats.error().message);
    return;
  }
  for (std::size_t i = 0; i < held.size() && i < beats->size(); ++i) {
    const auto& beat = (*beats)[i];
    auto& active = *held[i];
    fti::log::ScopedLogContext log_context(active.id);
    if (!beat.owned) {
      bool recorded = false;
      {
        std::lock_guard lock(mutex_);
        recorded = active_.count(active_key(active.id, active.attempt)) == 0;
      }
      // Recorded meanwhile is fine; otherwise the lease went elsewhere.
      if (!recorded && !active.lost.exchange(true)) logger()->warn("lease lost; this attempt's result will be dropped");
    }
    if (beat.cancel_requested && !active.cancel_requested.exchange(true)) {
      logger()->info("cancel requested; asking the handler to stop");
    }
  }
}

}  // namespace fti::jobs
