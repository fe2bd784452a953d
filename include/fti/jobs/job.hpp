#pragma once
// The job model shared by the store, the workers and the API.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fti/core/clock.hpp"
#include "fti/core/result.hpp"

namespace fti::jobs {

enum class JobStatus { queued, running, retrying, succeeded, failed, cancelled };
enum class Priority { high = 0, normal = 1, low = 2 };

std::string_view to_string(JobStatus s);
std::string_view to_string(Priority p);
std::optional<JobStatus> parse_status(std::string_view s);
std::optional<Priority> parse_priority(std::string_view s);
bool is_terminal(JobStatus s);

// Queue partitions by job type: the types users submit...
inline constexpr std::string_view kJobTypes[] = {"cleanup", "template", "enterprise", "priority"};
bool is_valid_job_type(std::string_view type);
// ... and the engine's own (blob replication), never accepted from users.
inline constexpr std::string_view kInternalJobTypes[] = {"replicate"};
bool is_known_job_type(std::string_view type);  // either kind

struct JobInput {
  std::string filename;
  std::int64_t bytes = 0;
  std::string sha256;
  std::string key;  // blob key of the upload
};

struct JobError {
  std::string code;
  std::string message;
};

struct Job {
  std::string id;
  std::string tenant;
  std::string type = "cleanup";
  Priority priority = Priority::normal;
  JobStatus status = JobStatus::queued;
  std::string profile;  // style profile for template jobs; empty for none
  int attempt = 0;      // number of claims so far
  int max_attempts = 3;
  int progress = 0;     // 0..100
  std::string stage;
  TimeMs created_at = 0;
  TimeMs run_at = 0;    // not claimable before this
  std::optional<TimeMs> started_at;
  std::optional<TimeMs> finished_at;
  std::optional<TimeMs> lease_until;
  std::optional<JobError> error;
  JobInput input;
  std::optional<std::string> result_json;  // handler's result object, serialised
  bool cancel_requested = false;
  std::optional<std::int64_t> peak_rss_bytes;  // of the attempt that finished it
  std::optional<std::int64_t> cpu_ms;
};

// What a caller submits.
struct NewJob {
  std::string tenant;
  std::string type = "cleanup";
  Priority priority = Priority::normal;
  std::string profile;
  JobInput input;
  std::optional<std::string> id;  // generated when empty
  int max_attempts = 3;           // jobs.max_attempts
  std::optional<TimeMs> run_at;   // a delayed job; now when empty
  // Idempotent submission: a second enqueue with the same (tenant, key) returns the first job.
  std::optional<std::string> idempotency_key;
};

// The job as the HTTP API shows it (ARCHITECTURE.md section 5).
std::string job_to_json(const Job& job);

}  // namespace fti::jobs
