// Admin endpoints of the operations playbooks: queues (depth, rates, pause and resume),
// this instance's workers, the database's state (and cancelling a runaway query), and the
// cost report with recommendations computed from its figures. Admin keys only.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <fmt/format.h>
#include <mutex>
#include <set>

#include "fti/core/json.hpp"
#include "fti/db/admin.hpp"
#include "fti/jobs/job.hpp"
#include "fti/jobs/job_store.hpp"
#include "fti/ops/metrics.hpp"
#include "fti/storage/blob_store.hpp"
#include "handlers.hpp"

namespace fti::api {

namespace {

TimeMs now_of(const ApiDeps& deps) { return deps.clock ? deps.clock->now_ms() : SystemClock().now_ms(); }

bool is_known_queue(std::string_view name) {
  for (auto q : jobs::kJobTypes) {
    if (q == name) return true;
  }
  for (auto q : jobs::kInternalJobTypes) {
    if (q == name) return true;
  }
  return false;
}

std::string known_queues() {
  std::string out;
  for (auto q : jobs::kJobTypes) out += (out.empty() ? "" : ", ") + std::string(q);
  for (auto q : jobs::kInternalJobTypes) out += ", " + std::string(q);
  return out;
}

// Every known queue appears, also when empty, so a dashboard's rows do not come and go.
Result<std::string> queues_json(const ApiDeps& deps) {
  const TimeMs now = now_of(deps);
  constexpr TimeMs kMinute = 60'000, kHour = 3'600'000;
  FTI_ASSIGN_OR_RETURN(auto hour, deps.jobs->queue_stats(now - kHour));
  FTI_ASSIGN_OR_RETURN(auto minute, deps.jobs->queue_stats(now - kMinute));
  std::vector<std::string> names;
  for (auto q : jobs::kJobTypes) names.emplace_back(q);
  for (auto q : jobs::kInternalJobTypes) names.emplace_back(q);
  json::Writer w;
  w.begin_object().key("queues").begin_array();
  for (const auto& name : names) {
    const auto h = hour[name];
    const auto m = minute[name];
    w.begin_object().field("name", name).field("paused", h.paused);
    w.field("waiting", h.waiting).field("running", h.running);
    w.key("finished_last_minute").begin_object();
    w.field("succeeded", m.succeeded).field("failed", m.failed).field("cancelled", m.cancelled).end_object();
    w.key("finished_last_hour").begin_object();
    w.field("succeeded", h.succeeded).field("failed", h.failed).field("cancelled", h.cancelled).end_object();
    w.field("completed_per_minute", static_cast<double>(h.succeeded + h.failed + h.cancelled) / 60.0);
    w.end_object();
  }
  w.end_array().end_object();
  return w.take();
}

http::Response set_paused(const ApiDeps& deps, http::Request& req, bool paused) {
  if (auto refused = refuse_non_admin(req)) return std::move(*refused);
  const std::string& name = req.params["name"];
  if (!is_known_queue(name)) {
    return http::Response::problem(404, errc::not_found,
                                   fmt::format("there is no queue \"{}\"; the queues are: {}", name, known_queues()));
  }
  if (auto st = deps.jobs->set_queue_paused(name, paused, now_of(deps)); !st.ok()) {
    return http::Response::from_error(st.error());
  }
  if (!paused && deps.on_enqueued) deps.on_enqueued();  // this instance's workers look at once
  auto body = queues_json(deps);
  if (!body) return http::Response::from_error(body.error());
  return http::Response::json(200, *body);
}

}  // namespace

http::Response handle_admin_queues(const ApiDeps& deps, http::Request& req) {
  if (auto refused = refuse_non_admin(req)) return std::move(*refused);
  auto body = queues_json(deps);
  if (!body) return http::Response::from_error(body.error());
  return http::Response::json(200, *body);
}

http::Response handle_pause_queue(const ApiDeps& deps, http::Request& req) { return set_paused(deps, req, true); }
http::Response handle_resume_queue(const ApiDeps& deps, http::Request& req) { return set_paused(deps, req, false); }

http::Response handle_admin_workers(const ApiDeps& deps, http::Request& req) {
  if (auto refused = refuse_non_admin(req)) return std::move(*refused);
  if (!deps.workers) return http::Response::problem(404, errc::not_found, "this instance runs no worker pool");
  const auto v = deps.workers();
  json::Writer w;
  w.begin_object().field("node", v.node).field("total", v.total).field("busy", v.busy);
  w.field("idle", std::max(0, v.total - v.busy)).field("min", v.min).field("max", v.max);
  w.field("executions", v.executions);
  w.field("scope", "this instance; each instance behind the balancer answers for its own workers");
  w.end_object();
  return http::Response::json(200, w.take());
}

// ?long_query_seconds=S (default 5): PostgreSQL queries running longer are listed.
http::Response handle_admin_database(const ApiDeps& deps, http::Request& req) {
  if (auto refused = refuse_non_admin(req)) return std::move(*refused);
  if (!deps.database) return http::Response::problem(404, errc::not_found, "no database here");
  double threshold = 5;
  if (auto q = req.query_param("long_query_seconds")) {
    try {
      threshold = std::stod(*q);
    } catch (const std::exception&) {
      threshold = -1;
    }
    if (!(threshold >= 0 && threshold <= 86400)) {
      return http::Response::problem(400, errc::bad_request, "long_query_seconds must be a number from 0 to 86400");
    }
  }
  auto state = db::database_state(*deps.database, threshold);
  if (!state) return http::Response::from_error(state.error());
  json::Writer w;
  w.begin_object().field("driver", state->driver).field("size_bytes", state->size_bytes);
  if (state->driver == "sqlite") {
    w.field("wal_bytes", state->wal_bytes.value_or(0));
    w.key("last_checkpoint");
    auto last = deps.last_checkpoint ? deps.last_checkpoint() : std::nullopt;
    if (last) {
      w.begin_object().field("at", format_rfc3339(last->at_ms)).field("wal_frames", last->wal_frames);
      w.field("checkpointed_frames", last->checkpointed_frames).field("busy", last->busy).end_object();
    } else {
      w.null();
    }
  } else {
    w.key("connections").begin_object();
    for (const auto& [s, n] : state->connections) w.field(s, n);
    w.end_object();
    w.field("long_query_seconds", threshold);
    w.key("long_queries").begin_array();
    for (const auto& q : state->long_queries) {
      w.begin_object().field("pid", q.pid).field("seconds", q.seconds).field("state", q.state);
      w.field("query", q.query).field("cancel", fmt::format("/api/v1/admin/database/queries/{}/cancel", q.pid));
      w.end_object();
    }
    w.end_array();
  }
  w.end_object();
  return http::Response::json(200, w.take());
}

http::Response handle_cancel_query(const ApiDeps& deps, http::Request& req) {
  if (auto refused = refuse_non_admin(req)) return std::move(*refused);
  if (!deps.database) return http::Response::problem(404, errc::not_found, "no database here");
  const std::string& text = req.params["pid"];
  std::int64_t pid = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), pid);
  if (ec != std::errc() || end != text.data() + text.size() || pid <= 0) {
    return http::Response::problem(400, errc::bad_request, "the pid must be a positive whole number");
  }
  if (auto st = db::cancel_query(*deps.database, pid); !st.ok()) return http::Response::from_error(st.error());
  return http::Response::json(200, fmt::format(R"({{"pid":{},"cancelled":true}})", pid));
}

namespace {

// Nearest rank over `v` plus `zeros` values of 0 that are not stored (the jobs that made no
// LLM call: millions over a long window).
double nearest_rank(std::vector<double> v, double q, std::int64_t zeros = 0) {
  const auto n = static_cast<std::int64_t>(v.size()) + std::max<std::int64_t>(0, zeros);
  if (n == 0) return 0;
  auto rank = std::clamp<std::int64_t>(static_cast<std::int64_t>(std::ceil(q * static_cast<double>(n))), 1, n);
  if (rank <= zeros) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(rank - std::max<std::int64_t>(0, zeros) - 1)];
}

// What the stores hold, listed at most every five minutes: a LIST of a big bucket is slow
// and billed, and these figures move slowly.
struct StorageFigures {
  std::string url;
  std::int64_t objects = 0, bytes = 0;
  std::string error;
};
StorageFigures storage_figures(storage::BlobStore& blobs, TimeMs now) {
  static std::mutex mutex;
  static TimeMs listed_at = 0;
  static StorageFigures cached;
  std::lock_guard lock(mutex);
  if (listed_at != 0 && now - listed_at < 5 * 60'000 && cached.url == blobs.url()) return cached;
  StorageFigures f;
  f.url = blobs.url();
  if (auto listed = blobs.list("")) {
    for (const auto& b : *listed) {
      ++f.objects;
      f.bytes += b.size;
    }
  } else {
    f.error = listed.error().message;
  }
  cached = f;
  listed_at = now;
  return f;
}

struct LlmLine {
  std::string provider, model;
  std::int64_t calls = 0, tokens_in = 0, tokens_out = 0;
  double cost_usd = 0;
};

}  // namespace

// ?hours=H (default 24, at most 720): the window of the report.
http::Response handle_admin_costs(const ApiDeps& deps, http::Request& req) {
  if (auto refused = refuse_non_admin(req)) return std::move(*refused);
  if (!deps.database || !deps.jobs) return http::Response::problem(404, errc::not_found, "no database here");
  int hours = 24;
  if (auto q = req.query_param("hours")) {
    auto [end, ec] = std::from_chars(q->data(), q->data() + q->size(), hours);
    if (ec != std::errc() || end != q->data() + q->size() || hours < 1 || hours > 720) {
      return http::Response::problem(400, errc::bad_request, "hours must be a whole number from 1 to 720");
    }
  }
  const TimeMs now = now_of(deps);
  const TimeMs since = now - static_cast<TimeMs>(hours) * 3'600'000;

  std::vector<LlmLine> llm;
  std::map<std::string, double> llm_by_job;
  std::set<std::string> cloud_jobs;
  std::int64_t finished = 0, succeeded = 0;
  Status read = deps.database->transact(db::TxMode::read, [&](db::Connection& c) -> Status {
    FTI_ASSIGN_OR_RETURN(auto lines, c.query("SELECT provider, model, COUNT(*), SUM(tokens_in), SUM(tokens_out), "
                                             "SUM(cost_nusd) FROM llm_costs WHERE at >= $1 GROUP BY provider, model "
                                             "ORDER BY provider, model",
                                             {db::Value(since)}));
    for (const auto& r : lines) {
      llm.push_back({r.get_text(0), r.get_text(1), r.get_int(2), r.get_int(3), r.get_int(4),
                     static_cast<double>(r.get_int(5)) / 1e9});
    }
    // Bounded: past 200,000 (job, provider) pairs the per-job figures cover the first ones.
    FTI_ASSIGN_OR_RETURN(auto by_job, c.query("SELECT job_id, provider, SUM(cost_nusd) FROM llm_costs WHERE at >= $1 "
                                              "GROUP BY job_id, provider LIMIT 200000",
                                              {db::Value(since)}));
    for (const auto& r : by_job) {
      llm_by_job[r.get_text(0)] += static_cast<double>(r.get_int(2)) / 1e9;
      if (r.get_text(1) != "ollama") cloud_jobs.insert(r.get_text(0));
    }
    return ok_status();
  });
  if (!read.ok()) return http::Response::from_error(read.error());
  // Jobs live in their shards' databases: read them through the store's own statements.
  auto stats = deps.jobs->queue_stats(since);
  if (!stats) return http::Response::from_error(stats.error());
  for (const auto& [q, s] : *stats) {
    finished += s.succeeded + s.failed + s.cancelled;
    succeeded += s.succeeded;
  }
  // Through the store: with database.shards the jobs are in the shards' databases.
  auto cpu = deps.jobs->cpu_since(since, 100'000);
  if (!cpu) return http::Response::from_error(cpu.error());
  std::vector<double> cpu_seconds;
  for (auto ms : cpu->sample_ms) cpu_seconds.push_back(static_cast<double>(ms) / 1000.0);

  double llm_total = 0;
  std::int64_t llm_calls = 0;
  for (const auto& l : llm) {
    llm_total += l.cost_usd;
    llm_calls += l.calls;
  }
  // Per finished job: its LLM spend, zero for the jobs that made no call.
  std::vector<double> per_job;
  for (const auto& [job, usd] : llm_by_job) per_job.push_back(usd);
  const std::int64_t no_llm_jobs = std::max<std::int64_t>(0, finished - static_cast<std::int64_t>(per_job.size()));
  const double compute_total = static_cast<double>(cpu->total_ms) / 1000.0;

  const double hits = deps.metrics ? deps.metrics->value("fti_cache_requests_total", {{"cache", "llm"}, {"result", "hit"}}) : 0;
  const double misses =
      deps.metrics ? deps.metrics->value("fti_cache_requests_total", {{"cache", "llm"}, {"result", "miss"}}) : 0;
  const double hit_rate = hits + misses > 0 ? hits / (hits + misses) : 0;
  const double escalated = llm_by_job.empty() ? 0 : static_cast<double>(cloud_jobs.size()) / static_cast<double>(llm_by_job.size());
  const auto workers = deps.workers ? deps.workers() : ApiDeps::WorkersView{};
  std::int64_t waiting = 0;
  for (const auto& [q, s] : *stats) waiting += s.waiting;

  std::vector<std::string> advice;
  if (hits + misses >= 100 && hit_rate < 0.2) {
    advice.push_back(fmt::format("The LLM cache answers {:.0f}% of asks: raise llm.cache_ttl_seconds, or check that "
                                 "prompts are stable (a changing prompt never hits).",
                                 hit_rate * 100));
  }
  if (llm_by_job.size() >= 10 && escalated > 0.3) {
    advice.push_back(fmt::format("{:.0f}% of jobs that used a model paid a cloud model: add Ollama capacity "
                                 "(llm.ollama_urls) or lower llm.confidence_threshold to keep more answers local.",
                                 escalated * 100));
  }
  if (workers.total > 0 && workers.busy * 4 < workers.total && waiting == 0 && workers.min > 1) {
    advice.push_back(fmt::format("{} of {} workers are idle with nothing waiting: workers.min ({}) could be lower.",
                                 workers.total - workers.busy, workers.total, workers.min));
  }
  if (workers.total > 0 && workers.busy == workers.total && waiting > workers.total && workers.total >= workers.max) {
    advice.push_back(fmt::format("Every worker is busy and {} jobs wait: raise workers.max ({}) or add instances.",
                                 waiting, workers.max));
  }
  if (finished > 0 && llm_total / static_cast<double>(finished) > 0.5) {
    advice.push_back("LLM spend averages over $0.50 a job: lower llm.max_cost_per_job_usd or llm.max_files_per_job.");
  }

  json::Writer w;
  w.begin_object().field("window_hours", hours).field("from", format_rfc3339(since)).field("to", format_rfc3339(now));
  w.key("llm").begin_object().field("calls", llm_calls).field("cost_usd", llm_total);
  w.key("by_provider_model").begin_array();
  for (const auto& l : llm) {
    w.begin_object().field("provider", l.provider).field("model", l.model).field("calls", l.calls);
    w.field("tokens_in", l.tokens_in).field("tokens_out", l.tokens_out).field("cost_usd", l.cost_usd).end_object();
  }
  w.end_array().field("cache_hit_rate", hit_rate).field("jobs_escalated_to_cloud", escalated).end_object();
  w.key("storage").begin_array();
  if (deps.blobs) {
    auto f = storage_figures(*deps.blobs, now);
    w.begin_object().field("store", f.url).field("objects", f.objects).field("bytes", f.bytes);
    if (!f.error.empty()) w.field("error", f.error);
    w.end_object();
  }
  w.end_array();
  w.key("compute").begin_object().field("cpu_seconds", compute_total).field("jobs_measured", cpu->jobs);
  w.field("cpu_seconds_per_job_p50", nearest_rank(cpu_seconds, 0.5)).field("cpu_seconds_per_job_p95", nearest_rank(cpu_seconds, 0.95));
  w.end_object();
  w.key("jobs").begin_object().field("finished", finished).field("succeeded", succeeded);
  w.field("llm_cost_per_job_p50_usd", nearest_rank(per_job, 0.5, no_llm_jobs));
  w.field("llm_cost_per_job_p95_usd", nearest_rank(per_job, 0.95, no_llm_jobs));
  w.end_object();
  w.key("workers").begin_object().field("total", workers.total).field("busy", workers.busy).end_object();
  w.key("recommendations").begin_array();
  for (const auto& a : advice) w.value(a);
  w.end_array();
  w.end_object();
  return http::Response::json(200, w.take());
}

}  // namespace fti::api
