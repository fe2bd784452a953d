// Job routes: list, get, cancel, retry, and the result, report and diff downloads.
#include <charconv>
#include <chrono>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "fti/api/status_cache.hpp"
#include "fti/cleanup/job_handler.hpp"
#include "fti/core/json.hpp"
#include "fti/jobs/event_bus.hpp"
#include "fti/jobs/job_store.hpp"
#include "fti/storage/blob_store.hpp"
#include "handlers.hpp"

namespace fti::api {

namespace {

constexpr int kDefaultLimit = 20;
constexpr int kMaxLimit = 100;
// A redirect to the result is followed at once; the URL need not outlive a slow start.
constexpr std::chrono::seconds kResultUrlTtl{15 * 60};

// A blob streamed as a response body, chunk by chunk.
class BlobBodySource final : public http::BodySource {
 public:
  explicit BlobBodySource(std::unique_ptr<storage::BlobReader> reader) : reader_(std::move(reader)) {}
  Result<std::size_t> read(char* buffer, std::size_t capacity) override { return reader_->read(buffer, capacity); }
  std::int64_t size() const override { return reader_->size(); }

 private:
  std::unique_ptr<storage::BlobReader> reader_;
};

// Every lookup is scoped to the caller's tenant: another tenant's job is simply not found.
std::optional<std::string> tenant_of(const http::Request& req) { return req.tenant; }

Result<int> parse_limit(const http::Request& req) {
  auto text = req.query_param("limit");
  if (!text) return kDefaultLimit;
  int limit = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), limit);
  if (ec != std::errc() || end != text->data() + text->size() || limit < 1) {
    return Error(errc::bad_request, "limit must be a whole number from 1 to 100");
  }
  return std::min(limit, kMaxLimit);
}

http::Response job_response(int status, const Result<jobs::Job>& job) {
  if (!job.ok()) return http::Response::from_error(job.error());
  return http::Response::json(status, jobs::job_to_json(*job));
}

// Downloads exist only once the job has succeeded; before that the answer says why not.
Result<jobs::Job> succeeded_job(const ApiDeps& deps, const http::Request& req, std::string_view what) {
  FTI_ASSIGN_OR_RETURN(jobs::Job job, deps.jobs->get(req.params.at("id"), tenant_of(req)));
  if (job.status != jobs::JobStatus::succeeded) {
    return Error(errc::conflict, fmt::format("job is {}; the {} is ready once it has succeeded",
                                             jobs::to_string(job.status), what));
  }
  return job;
}

// The job says succeeded, so a missing blob is our fault (pruned or lost), not the caller's.
http::Response output_error(const Error& error) {
  if (error.code == errc::not_found) {
    return http::Response::problem(500, errc::storage_error, "the job's output is missing from storage");
  }
  return http::Response::from_error(error);
}

// A store that can presign (S3) serves the download itself, and the bytes never pass
// through this server: the URL of an existing blob, or nullopt when the store cannot presign
// (a local folder). Presigning asks nothing of S3, so the blob is looked for first: a lost
// output is our 500, not a 404 page from the bucket.
Result<std::optional<std::string>> presigned_output_url(const ApiDeps& deps, const std::string& key,
                                                        const storage::PresignRequest& presign) {
  FTI_ASSIGN_OR_RETURN(auto url, deps.blobs->presigned_get_url(key, presign));
  if (!url) return url;
  FTI_TRY(deps.blobs->stat(key));
  return url;
}

http::Response redirect_to(std::string url) {
  http::Response res;
  res.status = 307;
  res.set_header("Location", std::move(url));
  res.set_header("Cache-Control", "no-store");  // the URL expires; never cache the redirect
  return res;
}

// `?link=1` on the result: the download's URL as JSON, {"url": ..., "expires_in_seconds":
// ...}, or {"url": null} when the bytes come from this endpoint. A page that sends an API
// key fetches the download, and a fetch may not follow a redirect to another origin (the
// web page's connect-src, the bucket's CORS); the page can still open the link itself.
http::Response download_link(const std::optional<std::string>& url, std::chrono::seconds ttl) {
  json::Writer w;
  w.begin_object();
  if (url) {
    w.field("url", *url).field("expires_in_seconds", static_cast<std::int64_t>(ttl.count()));
  } else {
    w.key("url").null();
  }
  w.end_object();
  auto res = http::Response::json(200, w.take());
  res.set_header("Cache-Control", "no-store");
  return res;
}

http::Response stream_reader(std::unique_ptr<storage::BlobReader> reader, std::string content_type) {
  http::Response res;
  res.status = 200;
  res.stream = std::make_unique<BlobBodySource>(std::move(reader));
  res.set_header("Content-Type", std::move(content_type));
  return res;
}

http::Response stream_blob(const ApiDeps& deps, const std::string& key, std::string content_type) {
  auto reader = deps.blobs->open_reader(key);
  if (!reader.ok()) return output_error(reader.error());
  return stream_reader(std::move(reader).value(), std::move(content_type));
}

// "messy.tar.gz" -> "messy-clean.zip"
std::string download_name(const jobs::Job& job) {
  std::string stem = job.input.filename;
  for (std::string_view ext : {".gz", ".bz2", ".xz", ".tgz", ".tar", ".zip"}) {
    if (stem.size() > ext.size() && stem.compare(stem.size() - ext.size(), ext.size(), ext) == 0) {
      stem.resize(stem.size() - ext.size());
    }
  }
  if (stem.empty() || stem == "upload") stem = job.id;
  return stem + "-clean.zip";
}

// RFC 6266: a plain ASCII fallback for old clients, and the exact name, percent-encoded UTF-8.
std::string content_disposition(const std::string& name) {
  std::string ascii;
  std::string encoded;
  for (unsigned char c : name) {
    bool plain = c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
    ascii.push_back(plain ? static_cast<char>(c) : '_');
    if (std::isalnum(c) || c == '.' || c == '-' || c == '_') {
      encoded.push_back(static_cast<char>(c));
    } else {
      encoded += fmt::format("%{:02X}", c);
    }
  }
  return "attachment; filename=\"" + ascii + "\"; filename*=UTF-8''" + encoded;
}

}  // namespace

http::Response handle_list_jobs(const ApiDeps& deps, http::Request& req) {
  auto limit = parse_limit(req);
  if (!limit.ok()) return http::Response::from_error(limit.error());
  std::string status = req.query_param("status").value_or("");
  if (!status.empty() && !jobs::parse_status(status)) {
    return http::Response::problem(400, errc::bad_request,
                                   "status must be one of queued, running, retrying, succeeded, failed, cancelled");
  }
  // ?status=failed is the dead-letter view: failed jobs stay until failed_retention_hours.
  auto page = deps.jobs->list(req.tenant, *limit, req.query_param("cursor"), status);
  if (!page.ok()) return http::Response::from_error(page.error());
  std::string out = "{\"jobs\":[";
  for (std::size_t i = 0; i < page->jobs.size(); ++i) {
    if (i > 0) out += ',';
    out += jobs::job_to_json(page->jobs[i]);
  }
  out += "],\"next_cursor\":";
  out += page->next_cursor ? json::quote(*page->next_cursor) : "null";
  out += '}';
  return http::Response::json(200, std::move(out));
}

http::Response handle_get_job(const ApiDeps& deps, http::Request& req) {
  const std::string& id = req.params.at("id");
  if (!deps.status_cache) return job_response(200, deps.jobs->get(id, tenant_of(req)));
  const std::uint64_t ticket = deps.status_cache->ticket(id);  // before the read: see store()
  auto job = deps.jobs->get(id, tenant_of(req));
  if (!job.ok()) return http::Response::from_error(job.error());
  std::string body = jobs::job_to_json(*job);
  deps.status_cache->store(ticket, req.tenant, id, body);
  return http::Response::json(200, std::move(body));
}

std::optional<http::Response> quick_get_job(const ApiDeps& deps, const http::Request& req) {
  if (!deps.status_cache) return std::nullopt;
  auto body = deps.status_cache->find(req.tenant, req.params.at("id"));
  if (!body) return std::nullopt;
  return http::Response::json(200, std::move(*body));
}

http::Response handle_cancel_job(const ApiDeps& deps, http::Request& req) {
  auto job = deps.jobs->cancel(req.params.at("id"), tenant_of(req), deps.clock->now_ms());
  // A queued job is cancelled now ("cancelled" ends its streams); a running one only has
  // cancel requested, and its worker publishes the end.
  if (job.ok() && deps.events) deps.events->publish(jobs::job_state_event(*job));
  if (job.ok() && job->status == jobs::JobStatus::running && deps.on_cancel_requested) {
    deps.on_cancel_requested(job->id);
  }
  return job_response(200, job);
}

http::Response handle_retry_job(const ApiDeps& deps, http::Request& req) {
  auto job = deps.jobs->retry(req.params.at("id"), tenant_of(req), deps.clock->now_ms());
  if (job.ok() && deps.on_enqueued) deps.on_enqueued();
  if (job.ok() && deps.events) deps.events->publish(jobs::job_state_event(*job));
  return job_response(200, job);
}

http::Response handle_job_result(const ApiDeps& deps, http::Request& req) {
  auto job = succeeded_job(deps, req, "result");
  if (!job.ok()) return http::Response::from_error(job.error());
  auto disposition = content_disposition(download_name(*job));
  auto key = cleanup::result_key(job->id);
  auto url = presigned_output_url(deps, key, {kResultUrlTtl, "application/zip", disposition});
  if (!url.ok()) return output_error(url.error());
  if (req.query_param("link").value_or("") == "1") return download_link(*url, kResultUrlTtl);
  if (*url) return redirect_to(std::move(**url));
  auto res = stream_blob(deps, key, "application/zip");
  if (res.status == 200) res.set_header("Content-Disposition", std::move(disposition));
  return res;
}

http::Response handle_job_report(const ApiDeps& deps, http::Request& req) {
  std::string format = req.query_param("format").value_or("json");
  if (format != "json" && format != "md") {
    return http::Response::problem(400, errc::bad_request, "format must be json or md");
  }
  auto job = succeeded_job(deps, req, "report");
  if (!job.ok()) return http::Response::from_error(job.error());
  if (format == "md") return stream_blob(deps, cleanup::report_md_key(job->id), "text/markdown; charset=utf-8");
  return stream_blob(deps, cleanup::report_key(job->id), "application/json");
}

// Jobs that succeeded before diffs were made have none: a 404 of its own, not a lost output.
http::Response handle_job_diff(const ApiDeps& deps, http::Request& req) {
  auto job = succeeded_job(deps, req, "diff");
  if (!job.ok()) return http::Response::from_error(job.error());
  auto reader = deps.blobs->open_reader(cleanup::diff_key(job->id));
  if (!reader.ok() && reader.error().code == errc::not_found) {
    return http::Response::problem(404, errc::diff_unavailable,
                                   "this job finished before diffs were kept; its result and report are there");
  }
  if (!reader.ok()) return output_error(reader.error());
  return stream_reader(std::move(reader).value(), "text/x-diff; charset=utf-8");
}

}  // namespace fti::api
