#pragma once
// JobStore: the durable queue. Every state change is one transaction; completion and
// progress are guarded by (id, attempt) so a stale worker can never overwrite a newer attempt.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fti/core/clock.hpp"
#include "fti/core/result.hpp"
#include "fti/jobs/job.hpp"

namespace fti::db {
class Database;
}

namespace fti::jobs {

struct ListPage {
  std::vector<Job> jobs;
  std::optional<std::string> next_cursor;
};

// The outcome a worker reports for one attempt.
struct Failure {
  JobError error;
  bool retryable = true;  // false: fail at once whatever attempts remain
};

class JobStore {
 public:
  virtual ~JobStore() = default;

  virtual Result<Job> enqueue(const NewJob& job, TimeMs now) = 0;
  // A tenant sees only its own jobs; another tenant's id is not_found.
  virtual Result<Job> get(const std::string& id, const std::optional<std::string>& tenant) = 0;
  virtual Result<ListPage> list(const std::string& tenant, int limit,
                                const std::optional<std::string>& cursor) = 0;

  // Claims up to `max` claimable jobs (queued or retrying with run_at <= now, or running
  // with an expired lease), highest priority first, oldest first; each gets attempt + 1 and
  // a lease until now + lease_ms.
  virtual Result<std::vector<Job>> claim(const std::string& worker_id, int max, TimeMs now,
                                         TimeMs lease_ms) = 0;
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
  // Gives a running job back to the queue without using up an attempt (graceful shutdown).
  virtual Result<bool> release(const std::string& id, int attempt, TimeMs now) = 0;
  // Ends a running attempt as `cancelled` (its handler stopped because cancel was requested).
  // Returns false (and changes nothing) when the attempt is stale.
  virtual Result<bool> finish_cancelled(const std::string& id, int attempt, TimeMs now) = 0;

  // Queued/retrying jobs are cancelled at once; running ones get cancel_requested and are
  // cancelled by their worker. Finished jobs answer conflict.
  virtual Result<Job> cancel(const std::string& id, const std::optional<std::string>& tenant,
                             TimeMs now) = 0;
  // Puts a failed or cancelled job back in the queue with fresh attempts.
  virtual Result<Job> retry(const std::string& id, const std::optional<std::string>& tenant,
                            TimeMs now) = 0;

  // Jobs waiting to run (queued or retrying), for metrics and the autoscaler.
  virtual Result<std::int64_t> queue_depth() = 0;
  // The earliest run_at among waiting jobs, so idle workers know when to look again.
  virtual Result<std::optional<TimeMs>> next_run_at() = 0;
};

std::unique_ptr<JobStore> make_sql_job_store(db::Database& database);

}  // namespace fti::jobs
