// The job model: names of states and priorities, and the job as the HTTP API shows it.
#include "fti/jobs/job.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "fti/core/json.hpp"

namespace fti::jobs {

namespace {

constexpr std::array<std::pair<JobStatus, std::string_view>, 6> kStatusNames = {{
    {JobStatus::queued, "queued"},
    {JobStatus::running, "running"},
    {JobStatus::retrying, "retrying"},
    {JobStatus::succeeded, "succeeded"},
    {JobStatus::failed, "failed"},
    {JobStatus::cancelled, "cancelled"},
}};

constexpr std::array<std::pair<Priority, std::string_view>, 3> kPriorityNames = {{
    {Priority::high, "high"},
    {Priority::normal, "normal"},
    {Priority::low, "low"},
}};

template <class Table, class Enum>
std::string_view name_of(const Table& table, Enum e) {
  for (const auto& [value, name] : table)
    if (value == e) return name;
  return "unknown";
}

template <class Enum, class Table>
std::optional<Enum> parse_name(const Table& table, std::string_view s) {
  for (const auto& [value, name] : table)
    if (name == s) return value;
  return std::nullopt;
}

void write_optional_time(json::Writer& w, std::string_view key, const std::optional<TimeMs>& t) {
  w.key(key);
  if (t) {
    w.value(format_rfc3339(*t));
  } else {
    w.null();
  }
}

}  // namespace

std::string_view to_string(JobStatus s) { return name_of(kStatusNames, s); }
std::string_view to_string(Priority p) { return name_of(kPriorityNames, p); }

std::optional<JobStatus> parse_status(std::string_view s) { return parse_name<JobStatus>(kStatusNames, s); }
std::optional<Priority> parse_priority(std::string_view s) { return parse_name<Priority>(kPriorityNames, s); }

bool is_terminal(JobStatus s) {
  return s == JobStatus::succeeded || s == JobStatus::failed || s == JobStatus::cancelled;
}

bool is_valid_job_type(std::string_view type) {
  return std::find(std::begin(kJobTypes), std::end(kJobTypes), type) != std::end(kJobTypes);
}

bool is_known_job_type(std::string_view type) {
  return is_valid_job_type(type) ||
         std::find(std::begin(kInternalJobTypes), std::end(kInternalJobTypes), type) != std::end(kInternalJobTypes);
}

std::string job_to_json(const Job& job) {
  json::Writer w;
  w.begin_object();
  w.field("id", job.id);
  w.field("type", job.type);
  w.field("priority", to_string(job.priority));
  w.field("status", to_string(job.status));
  w.field("progress", job.progress);
  w.field("stage", job.stage);
  w.field("attempt", job.attempt);
  w.field("max_attempts", job.max_attempts);
  w.field("created_at", format_rfc3339(job.created_at));
  write_optional_time(w, "started_at", job.started_at);
  write_optional_time(w, "finished_at", job.finished_at);
  w.key("error");
  if (job.error) {
    w.begin_object().field("code", job.error->code).field("message", job.error->message).end_object();
  } else {
    w.null();
  }
  w.key("input").begin_object();
  w.field("filename", job.input.filename);
  w.field("bytes", job.input.bytes);
  w.field("sha256", job.input.sha256);
  w.end_object();
  w.key("result");
  // Stored as the handler serialised it: trusted JSON, inserted as is.
  if (job.result_json && !job.result_json->empty()) {
    w.raw(*job.result_json);
  } else {
    w.null();
  }
  // What the attempt that finished the job used (its cleanup child process).
  w.key("usage");
  if (job.peak_rss_bytes || job.cpu_ms) {
    w.begin_object().field("peak_rss_bytes", job.peak_rss_bytes).field("cpu_ms", job.cpu_ms).end_object();
  } else {
    w.null();
  }
  const std::string self = "/api/v1/jobs/" + job.id;
  w.key("links").begin_object();
  w.field("self", self);
  w.field("result", self + "/result");
  w.field("report", self + "/report");
  w.field("events", self + "/events");
  w.field("diff", self + "/diff");
  w.end_object();
  w.end_object();
  return w.take();
}

}  // namespace fti::jobs
