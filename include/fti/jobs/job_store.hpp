#pragma once
// JobStore: the durable queue. Every state change is one transaction; completion and
// progress are guarded by (id, attempt) so a stale worker can never overwrite a newer attempt.
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fti/core/clock.hpp"
#include "fti/core/result.hpp"
#include "fti/jobs/job.hpp"

namespace fti::db {
class Database;
class ReadRouting;
}

namespace fti::jobs {

// The PostgreSQL channel a store notifies when jobs become claimable (enqueue, retry,
// release), with the queue name as payload ("" for any): servers LISTEN on it to wake
// their idle workers. SQLite sends nothing: its one process wakes its own.
inline constexpr std::string_view kJobsReadyChannel = "fti_jobs_ready";
// ... and this one, with the job id as payload, when a running job is asked to cancel, so
// the instance running it stops it at once rather than at its next heartbeat.
inline constexpr std::string_view kJobCancelChannel = "fti_job_cancel";

struct ListPage {
  std::vector<Job> jobs;
  std::optional<std::string> next_cursor;
};

// The outcome a worker reports for one attempt.
struct Failure {
  JobError error;
  bool retryable = true;  // false: fail at once whatever attempts remain
};

// One attempt's end, recorded together with others in one transaction (group commit).
struct Outcome {
  enum class Kind { succeeded, failed, released, cancelled };
  std::string id;
  int attempt = 0;
  Kind kind = Kind::succeeded;
  std::string result_json;  // succeeded
  Failure failure;          // failed
  TimeMs retry_at = 0;      // failed and retryable
  std::optional<std::int64_t> peak_rss_bytes;
  std::optional<std::int64_t> cpu_ms;
};

struct JobStoreOptions {
  // Aging (see scheduler.hpp): a priority rank is worth this much waiting time.
  std::int64_t aging_ms = 60000;
  // Attempts a retried job gets. Attempt numbers only ever grow, so the (id, attempt) guard
  // can never mistake a stale worker for the current one: retry and release raise
  // max_attempts instead of resetting or reusing attempt numbers.
  int max_attempts = 3;
};

class JobStore {
 public:
  virtual ~JobStore() = default;

  virtual Result<Job> enqueue(const NewJob& job, TimeMs now) = 0;
  // A tenant sees only its own jobs; another tenant's id is not_found.
  virtual Result<Job> get(const std::string& id, const std::optional<std::string>& tenant) = 0;
  // `status` filters (e.g. failed: the dead-letter view); empty lists every status.
  virtual Result<ListPage> list(const std::string& tenant, int limit,
                                const std::optional<std::string>& cursor,
                                const std::string& status = {}) = 0;

  // Claims up to `max` claimable jobs (queued or retrying with run_at <= now, or running
  // with an expired lease), highest priority first, oldest first; each gets attempt + 1 and
  // a lease until now + lease_ms.
  // `queue` limits the claim to one job type (partition); empty claims from all.
  virtual Result<std::vector<Job>> claim(const std::string& worker_id, int max, TimeMs now,
                                         TimeMs lease_ms, const std::string& queue = {}) = 0;
  // Many jobs in one transaction (bulk submission); returns how many were inserted.
  virtual Result<std::int64_t> enqueue_many(const std::vector<NewJob>& jobs, TimeMs now) = 0;
  // Extends the lease; false when the attempt is no longer ours (or cancel was requested:
  // then `cancel_requested` is set on the result).
  struct HeartbeatResult {
    bool owned = false;
    bool cancel_requested = false;
  };
  virtual Result<HeartbeatResult> heartbeat(const std::string& id, int attempt, TimeMs lease_until) = 0;
  virtual Result<bool> set_progress(const std::string& id, int attempt, int progress,
                                    const std::string& stage) = 0;
  // Returns false (and changes nothing) when the attempt is stale.
  virtual Result<bool> complete(const std::string& id, int attempt, const std::string& result_json,
                                TimeMs now) = 0;
  // Retries with backoff while attempts remain and failure is retryable, else fails.
  virtual Result<bool> fail(const std::string& id, int attempt, const Failure& failure,
                            TimeMs now, TimeMs retry_at) = 0;
  // Gives a running job back to the queue without using up an attempt (graceful shutdown):
  // its max_attempts grows by one.
  virtual Result<bool> release(const std::string& id, int attempt, TimeMs now) = 0;
  // Ends a running attempt as `cancelled` (its handler stopped because cancel was requested).
  // Returns false (and changes nothing) when the attempt is stale.
  virtual Result<bool> finish_cancelled(const std::string& id, int attempt, TimeMs now) = 0;

  // Queued/retrying jobs are cancelled at once; running ones get cancel_requested and are
  // cancelled by their worker. Finished jobs answer conflict.
  virtual Result<Job> cancel(const std::string& id, const std::optional<std::string>& tenant,
                             TimeMs now) = 0;
  // Puts a failed or cancelled job back in the queue with fresh attempts (max_attempts is
  // raised to attempt + JobStoreOptions::max_attempts).
  virtual Result<Job> retry(const std::string& id, const std::optional<std::string>& tenant,
                            TimeMs now) = 0;

  // Records many outcomes in one transaction; element i is false when attempt i was stale.
  virtual Result<std::vector<bool>> record_outcomes(const std::vector<Outcome>& outcomes, TimeMs now) = 0;
  // Extends many leases in one transaction; one result per (id, attempt), in order.
  virtual Result<std::vector<HeartbeatResult>> heartbeat_many(
      const std::vector<std::pair<std::string, int>>& attempts, TimeMs lease_until) = 0;
  // Due waiting jobs per queue (job type), for sharing workers among partitions.
  virtual Result<std::map<std::string, std::int64_t>> waiting_by_queue(TimeMs now) = 0;
  // Deletes up to `limit` finished jobs: succeeded before `succeeded_before`, failed or
  // cancelled before `failed_before`. Returns their ids, so their blobs can go too.
  virtual Result<std::vector<std::string>> prune(TimeMs succeeded_before, TimeMs failed_before,
                                                 int limit) = 0;

  // Per queue: jobs waiting (due or not) and running now, jobs finished since `since` by
  // outcome, and whether the queue is paused (the admin's queue view).
  struct QueueStats {
    std::int64_t waiting = 0, running = 0;
    std::int64_t succeeded = 0, failed = 0, cancelled = 0;  // finished since `since`
    bool paused = false;
  };
  virtual Result<std::map<std::string, QueueStats>> queue_stats(TimeMs since) = 0;
  // A paused queue keeps its jobs but no worker of any instance claims from it (the mark is
  // in the database); resuming lets them run again. Idempotent.
  virtual Status set_queue_paused(const std::string& queue, bool paused, TimeMs now) = 0;
  virtual Result<std::set<std::string>> paused_queues() = 0;
  // CPU time of the cleanup children of jobs finished since `since`: the sum and count over
  // the jobs that recorded it, and the `sample` most recent of them (for percentiles).
  struct CpuFigures {
    std::int64_t total_ms = 0, jobs = 0;
    std::vector<std::int64_t> sample_ms;
  };
  virtual Result<CpuFigures> cpu_since(TimeMs since, int sample) = 0;

  // Jobs waiting to run (queued or retrying), for metrics and the autoscaler.
  virtual Result<std::int64_t> queue_depth() = 0;
  // The earliest run_at among waiting jobs, so idle workers know when to look again.
  virtual Result<std::optional<TimeMs>> next_run_at() = 0;
};

// `reads`, when given, serves a tenant's get and list (from a replica when fresh enough);
// everything else uses `database`, the primary.
std::unique_ptr<JobStore> make_sql_job_store(db::Database& database, JobStoreOptions options = {},
                                             db::ReadRouting* reads = nullptr);

}  // namespace fti::jobs
