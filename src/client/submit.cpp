#include "fti/client/submit.hpp"

#include <cstring>
#include <fmt/format.h>
#include <memory>
#include <thread>

#include "fti/cleanup/archive.hpp"
#include "fti/client/server_url.hpp"
#include "fti/client/websocket_client.hpp"
#include "fti/core/http_client.hpp"
#include "fti/core/ids.hpp"
#include "fti/core/json.hpp"
#include "fti/core/result.hpp"

namespace fti::client {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;
using std::chrono::milliseconds;

constexpr const char* kArchiveNames = ".zip, .tar, .tar.gz or .tgz";

// Removes a temporary file (a folder's zip, a partial download) unless released.
class TempFile {
 public:
  explicit TempFile(fs::path path) : path_(std::move(path)) {}
  ~TempFile() {
    std::error_code ignored;
    if (!path_.empty()) fs::remove(path_, ignored);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const fs::path& path() const { return path_; }
  void release() { path_.clear(); }

 private:
  fs::path path_;
};

// What goes over the wire: the archive itself, or a zip made of the folder.
struct UploadBody {
  fs::path file;
  std::string filename;  // the name the server records
  std::string content_type;
  std::unique_ptr<TempFile> temp;
};

std::string content_type_for(const std::string& name) {
  if (name.ends_with(".zip")) return "application/zip";
  if (name.ends_with(".tar")) return "application/x-tar";
  if (name.ends_with(".tar.gz") || name.ends_with(".tgz") || name.ends_with(".gz")) return "application/gzip";
  return "application/octet-stream";  // the server sniffs it
}

// A problem+json answer's code and detail; the start of the body when it is something else.
struct Problem {
  std::string code, detail;
};

Problem read_problem(const HttpResponse& response) {
  Problem p;
  if (auto doc = json::Document::parse(response.body); doc.ok() && doc->root().is_object()) {
    p.code = doc->root().get_string("code").value_or("");
    p.detail = doc->root().get_string("detail").value_or("");
  }
  if (p.detail.empty()) p.detail = response.body.substr(0, 200);
  for (char& c : p.detail) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  if (p.detail.empty()) p.detail = fmt::format("HTTP {}", response.status);
  return p;
}

// Seconds from Retry-After (or the problem's retry_after), at least 1, at most `cap`.
std::chrono::seconds retry_after(const HttpResponse& response, std::chrono::seconds cap) {
  std::int64_t seconds = 0;
  try {
    seconds = std::stoll(response.header("retry-after"));
  } catch (const std::exception&) {
    auto doc = json::Document::parse(response.body);
    if (doc.ok() && doc->root().is_object()) seconds = doc->root().get_int("retry_after").value_or(0);
  }
  return std::clamp(std::chrono::seconds(seconds), std::chrono::seconds(1), cap);
}

// The name a file or folder goes by: "src/" and "./src/." are "src".
std::string base_name(const fs::path& input) {
  std::error_code ec;
  fs::path path = fs::absolute(input, ec).lexically_normal();
  if (!path.has_filename()) path = path.parent_path();
  return path.filename().string();
}

bool is_redirect(long status) { return status == 301 || status == 302 || status == 303 || status == 307 || status == 308; }

bool is_terminal_status(const std::string& status) {
  return status == "succeeded" || status == "failed" || status == "cancelled";
}

// "12 files in, 9 out (4 changed, 3 removed)" from the job's result.
std::string summarize(const json::Value& result) {
  return fmt::format("{} files in, {} out ({} changed, {} removed)", result.get_int("files_in").value_or(0),
                     result.get_int("files_out").value_or(0), result.get_int("files_changed").value_or(0),
                     result.get_int("files_removed").value_or(0));
}

// One submit from start to end. Steps return Status/Result; a step that fails because of
// what the caller gave (server, key, input) marks the failure as bad usage.
class SubmitRun {
 public:
  SubmitRun(const SubmitOptions& options, ProgressDisplay& progress, std::FILE* notes)
      : options_(options), progress_(progress), notes_(notes), deadline_(Clock::now() + options.timeout) {}

  SubmitOutcome run() {
    Status done = run_steps();
    progress_.finish();
    if (!done.ok() && stop_requested()) {
      outcome_.interrupted = true;
      outcome_.error = Error(errc::cancelled, outcome_.job_id.empty()
                                                  ? std::string("interrupted")
                                                  : fmt::format("interrupted; job {} goes on on the server: {}",
                                                                outcome_.job_id, server_.http(job_path(""))));
    } else if (!done.ok()) {
      outcome_.error = done.error();
      outcome_.usage_error = usage_;
    }
    return std::move(outcome_);
  }

 private:
  Status run_steps() {
    auto server = parse_server_url(options_.server);
    if (!server.ok()) return usage(server.error());
    server_ = *server;
    if (!options_.api_key.empty()) auth_ = {"Authorization", "Bearer " + options_.api_key};
    outcome_.output = options_.output.empty() ? default_output_path(options_.input) : options_.output;
    FTI_ASSIGN_OR_RETURN(UploadBody body, prepare_body());
    FTI_ASSIGN_OR_RETURN(std::string created, upload(body));
    body.temp.reset();  // the folder's zip is not needed any more
    FTI_TRY(read_job_id(created));
    FTI_ASSIGN_OR_RETURN(std::string finished, follow());
    FTI_TRY(check_succeeded(finished));
    FTI_TRY(download(job_path("/result"), outcome_.output));
    if (!options_.report.empty()) FTI_TRY(download(job_path("/report"), options_.report));
    return {};
  }

  bool stop_requested() const { return options_.interrupted && options_.interrupted(); }

  // Sleeps `length`, waking early when asked to stop.
  void pause(milliseconds length) {
    const auto until = Clock::now() + length;
    while (!stop_requested() && Clock::now() < until) {
      auto left = std::chrono::duration_cast<milliseconds>(until - Clock::now());
      std::this_thread::sleep_for(std::min(milliseconds(100), left));
    }
  }

  Error usage(Error error) {
    usage_ = true;
    return error;
  }

  void note(const std::string& text) {
    progress_.finish();
    std::fprintf(notes_, "note: %s\n", text.c_str());
    std::fflush(notes_);
  }

  milliseconds remaining() const {
    return std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(deadline_ - Clock::now()));
  }

  std::string job_path(std::string_view tail) const { return "/api/v1/jobs/" + outcome_.job_id + std::string(tail); }

  Error out_of_time(std::string_view doing) const {
    return Error(errc::timeout, fmt::format("{} did not finish within --timeout {} s{}", doing, options_.timeout.count(),
                                            outcome_.job_id.empty()
                                                ? std::string()
                                                : fmt::format("; job {} may still finish: {}", outcome_.job_id,
                                                              server_.http(job_path("")))));
  }

  HttpRequest request(const std::string& method, const std::string& path) const {
    HttpRequest req;
    req.method = method;
    req.url = server_.http(path);
    if (auth_) req.headers.push_back(*auth_);
    req.connect_timeout = options_.connect_timeout;
    req.total_timeout = remaining();
    req.on_progress = [this](std::int64_t, std::int64_t) { return !stop_requested(); };
    if (!options_.ca_file.empty()) req.ca_file = options_.ca_file;
    return req;
  }

  // --- the upload ---

  Result<UploadBody> prepare_body() {
    std::error_code ec;
    const fs::path input(options_.input);
    if (!fs::exists(input, ec)) {
      return usage(Error(errc::bad_request, fmt::format("{} does not exist; give a folder or an archive ({})",
                                                        options_.input, kArchiveNames)));
    }
    if (fs::is_directory(input, ec)) return zip_folder(input);
    if (!cleanup::looks_like_archive(input)) {
      return usage(Error(errc::unsupported_media_type, fmt::format("{} is not an archive; give a folder or a {} file",
                                                                   options_.input, kArchiveNames)));
    }
    UploadBody body;
    body.file = input;
    body.filename = base_name(input);
    body.content_type = content_type_for(body.filename);
    return body;
  }

  Result<UploadBody> zip_folder(const fs::path& folder) const {
    UploadBody body;
    const fs::path dir = options_.work_dir.empty() ? fs::temp_directory_path() : options_.work_dir;
    body.temp = std::make_unique<TempFile>(dir / ("fti-submit-" + new_request_id() + ".zip"));
    if (auto packed = cleanup::pack_zip(folder, body.temp->path()); !packed.ok()) {
      return Error(packed.error().code, "cannot zip " + folder.string() + ": " + packed.error().message);
    }
    body.file = body.temp->path();
    body.filename = base_name(folder) + ".zip";
    body.content_type = "application/zip";
    return body;
  }

  std::string upload_path(const UploadBody& body) const {
    std::string path = "/api/v1/jobs?filename=" + encode_query_value(body.filename);
    for (const auto& [name, value] :
         {std::pair{"type", options_.type}, {"profile", options_.profile}, {"priority", options_.priority}}) {
      if (!value.empty()) path += fmt::format("&{}={}", name, encode_query_value(value));
    }
    return path;
  }

  // POSTs the archive, streamed from its file; on 429 and 503 waits as told and tries again
  // (the Idempotency-Key makes a repeated upload the same job). Returns the job's JSON.
  Result<std::string> upload(const UploadBody& body) {
    HttpRequest req = request("POST", upload_path(body));
    req.upload_file = body.file.string();
    req.headers.emplace_back("Content-Type", body.content_type);
    req.headers.emplace_back("Idempotency-Key", "submit-" + new_request_id());
    req.stall_timeout = options_.stall_timeout;
    std::int64_t sent = 0;
    req.on_progress = [&](std::int64_t now, std::int64_t total) {
      sent = std::max(sent, now);
      // From the first byte out: a refusal before the body (401, 413) shows no upload at all.
      if (total > 0 && now > 0) progress_.transfer("upload", now, total);
      return !stop_requested();
    };
    int retries = 0;
    auto response = send_patiently(req, retries);
    if (!response.ok()) {
      return response.error().code == errc::timeout && remaining().count() == 0
                 ? out_of_time("the upload")
                 : upload_transport_error(response.error(), sent);
    }
    if (response->status == 200 || response->status == 201) return std::move(response->body);
    return upload_refused(*response, retries);
  }

  // Sends `req`; on 429 and 503 waits as the server says (Retry-After) and sends it again, up
  // to busy_retries times and within the deadline. The last answer is returned as it is.
  Result<HttpResponse> send_patiently(HttpRequest& req, int& retries) {
    for (retries = 0;; ++retries) {
      req.total_timeout = remaining();
      if (req.total_timeout.count() == 0) return Error(errc::timeout, "out of time");
      auto response = HttpClient().send(req);
      if (!response.ok()) return response;
      const bool busy = response->status == 429 || response->status == 503;
      if (!busy || retries >= options_.busy_retries) return response;
      auto wait = retry_after(*response, options_.max_retry_wait);
      if (milliseconds(wait) >= remaining()) return response;
      const std::string code = read_problem(*response).code;  // none from a proxy's own 503
      note(fmt::format("the server is busy ({}{}{}); trying again in {} s ({} of {})", response->status,
                       code.empty() ? "" : " ", code, wait.count(), retries + 1, options_.busy_retries));
      pause(wait);
      if (stop_requested()) return Error(errc::cancelled, "interrupted");
    }
  }

  // Nothing reached the server: the URL is wrong or the server is down, which the caller fixes.
  Error upload_transport_error(const Error& error, std::int64_t sent) {
    if (error.code == errc::cancelled) return error;
    if (sent > 0) return Error(error.code, "the upload broke off: " + error.message);
    if (error.message.find("connection refused") != std::string::npos) {
      return usage(Error(errc::network_error, fmt::format("cannot connect to {} (connection refused); is the server "
                                                          "running at that address? Check --server",
                                                          options_.server)));
    }
    const bool untrusted = error.message.find("SSL certificate") != std::string::npos;
    return usage(Error(error.code, fmt::format("cannot reach the server at {}: {}; check --server{}", options_.server,
                                               error.message,
                                               untrusted ? ", or give --ca-file PEM for a private CA" : "")));
  }

  Error upload_refused(const HttpResponse& response, int retries) {
    Problem p = read_problem(response);
    switch (response.status) {
      case 401:
        return usage(Error(errc::unauthorized, options_.api_key.empty()
                                                   ? "the server wants an API key: give --api-key KEY"
                                                   : "the server refused the API key (" + p.detail +
                                                         "); check --api-key"));
      case 403: return usage(Error(errc::forbidden, "the API key may not submit this: " + p.detail));
      case 404:
        return usage(Error(errc::not_found, fmt::format("{} has no job API (404 on /api/v1/jobs); check --server",
                                                        options_.server)));
      case 413: return usage(Error(errc::too_large, "the archive is too large for this server: " + p.detail));
      case 415:
        return usage(Error(errc::unsupported_media_type, "the server does not take this as an archive: " + p.detail));
      case 400: return usage(Error(errc::bad_request, "the server refused the upload: " + p.detail));
      case 429:
      case 503:
        return Error(response.status == 429 ? errc::rate_limited : errc::overloaded,
                     fmt::format("the server is still busy after {} tr{} ({}); try again in {} s or later",
                                 retries + 1, retries == 0 ? "y" : "ies", p.detail,
                                 retry_after(response, std::chrono::hours(24)).count()));
      default:
        return Error(p.code.empty() ? std::string(errc::internal) : p.code,
                     fmt::format("the upload failed with HTTP {}: {}", response.status, p.detail));
    }
  }

  Status read_job_id(const std::string& job_json) {
    auto doc = json::Document::parse(job_json);
    if (doc.ok() && doc->root().is_object()) outcome_.job_id = doc->root().get_string("id").value_or("");
    if (outcome_.job_id.empty()) {
      return Error(errc::internal, "the server accepted the upload but sent no job id: " + job_json.substr(0, 200));
    }
    outcome_.job_json = job_json;
    return {};
  }

  // --- following the job ---

  // The finished job's JSON: from the WebSocket while it lasts, then by polling.
  Result<std::string> follow() {
    WebSocketOptions ws_options;
    ws_options.connect_timeout = options_.connect_timeout;
    if (auth_) ws_options.headers.push_back(*auth_);
    ws_options.should_stop = [this] { return stop_requested(); };
    ws_options.ca_file = options_.ca_file;
    auto socket = WebSocketClient::connect(server_, job_path("/events"), ws_options);
    if (!socket.ok()) {
      if (stop_requested()) return socket.error();
      note("no live events (" + socket.error().message + "); polling the job instead");
      return poll();
    }
    auto finished = follow_events(**socket);
    if (finished.ok() || stop_requested()) return finished;
    if (remaining().count() == 0) return out_of_time("the job");
    note("the event stream ended early (" + finished.error().message + "); polling the job instead");
    return poll();
  }

  Result<std::string> follow_events(WebSocketClient& socket) {
    for (;;) {
      auto message = socket.read(deadline_);
      if (!message.ok()) return message.error();
      if (!*message) return Error(errc::network_error, "the server closed the event stream before the job finished");
      auto doc = json::Document::parse(**message);
      if (!doc.ok() || !doc->root().is_object()) continue;
      const auto root = doc->root();
      const std::string type = root.get_string("type").value_or("");
      if (type == "progress") {
        show(static_cast<int>(root.get_int("progress").value_or(0)), root.get_string("stage").value_or(""));
        continue;
      }
      auto job = root.get("job");
      if (!job) continue;
      if (type == "completed" || type == "failed" || type == "cancelled") return job->to_json();
      show_job(*job);
    }
  }

  // GET /api/v1/jobs/{id} until the job ends, backing off from poll_min to poll_max while
  // nothing changes; passing failures (a restarting server) are retried until the deadline.
  Result<std::string> poll() {
    outcome_.polled = true;
    milliseconds wait = options_.poll_min;
    int failures = 0;
    for (;;) {
      if (remaining().count() == 0) return out_of_time("the job");
      if (stop_requested()) return Error(errc::cancelled, "interrupted");
      HttpRequest req = request("GET", job_path(""));
      req.total_timeout = std::min(remaining(), milliseconds(30000));
      auto response = HttpClient().send(req);
      const std::string before = last_shown_;
      if (response.ok() && response->status == 200) {
        auto doc = json::Document::parse(response->body);
        if (doc.ok() && doc->root().is_object()) {
          if (is_terminal_status(doc->root().get_string("status").value_or(""))) return std::move(response->body);
          show_job(doc->root());
          failures = 0;
        }
      } else if (response.ok() && (response->status == 401 || response->status == 403 || response->status == 404)) {
        Problem p = read_problem(*response);
        return Error(p.code.empty() ? std::string(errc::not_found) : p.code,
                     fmt::format("cannot read job {}: {}", outcome_.job_id, p.detail));
      } else if (++failures == 1) {
        note(fmt::format("cannot read job {} ({}); still trying", outcome_.job_id,
                         response.ok() ? read_problem(*response).detail : response.error().message));
      }
      wait = last_shown_ != before ? options_.poll_min : std::min(wait * 2, options_.poll_max);
      // A busy server says when to come back; asking sooner would only be refused again.
      const bool busy = response.ok() && (response->status == 429 || response->status == 503);
      const milliseconds next = busy ? milliseconds(retry_after(*response, options_.max_retry_wait)) : wait;
      pause(std::min(next, remaining()));
    }
  }

  void show_job(const json::Value& job) {
    const std::string status = job.get_string("status").value_or("");
    const int percent = static_cast<int>(job.get_int("progress").value_or(0));
    if (status == "queued") return show(percent, "queued");
    if (status == "retrying") {
      auto error = job.get("error");
      std::string why = error ? error->get_string("code").value_or("") + ": " + error->get_string("message").value_or("")
                              : std::string("unknown");
      if (why != last_retry_) note(fmt::format("attempt {} failed ({}); the server tries again",
                                               job.get_int("attempt").value_or(0), why));
      last_retry_ = why;
      return show(percent, "retrying");
    }
    show(percent, job.get_string("stage").value_or(status));
  }

  // Each change once: the first WebSocket message repeats what polling or an event showed.
  void show(int percent, const std::string& stage) {
    std::string shown = fmt::format("{} {}", percent, stage);
    if (shown == last_shown_) return;
    last_shown_ = shown;
    progress_.stage(percent, stage.empty() ? "running" : stage);
  }

  Status check_succeeded(const std::string& job_json) {
    outcome_.job_json = job_json;
    auto doc = json::Document::parse(job_json);
    if (!doc.ok() || !doc->root().is_object()) return Error(errc::internal, "the server sent a job that is not JSON");
    const auto job = doc->root();
    const std::string status = job.get_string("status").value_or("");
    if (status == "succeeded") {
      show(100, "done");
      if (auto result = job.get("result"); result && result->is_object()) {
        outcome_.result_json = result->to_json();
        outcome_.summary = summarize(*result);
      }
      return {};
    }
    if (status == "cancelled") return Error(errc::cancelled, fmt::format("job {} was cancelled", outcome_.job_id));
    auto error = job.get("error");
    if (!error || !error->is_object()) return Error(errc::internal, fmt::format("job {} failed", outcome_.job_id));
    return Error(error->get_string("code").value_or(std::string(errc::internal)),
                 error->get_string("message").value_or("the job failed"));
  }

  // --- the download ---

  // GETs `path` into `dest` through a temporary file beside it, renamed when complete. A
  // redirect (a store's presigned URL) is followed once, without our Authorization header.
  Status download(const std::string& path, const std::string& dest) {
    if (remaining().count() == 0) return out_of_time("the download");
    const fs::path target(dest);
    const fs::path folder = target.has_parent_path() ? target.parent_path() : fs::path(".");
    TempFile part(folder / ("." + target.filename().string() + ".part-" + new_request_id()));
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(part.path().c_str(), "wb"), &std::fclose);
    if (!file) return Error(errc::io_error, fmt::format("cannot write {}: {}", dest, std::strerror(errno)));
    HttpRequest req = request("GET", path);
    req.stall_timeout = options_.stall_timeout;
    bool write_failed = false;
    req.on_body = [&](std::string_view chunk) {
      write_failed = std::fwrite(chunk.data(), 1, chunk.size(), file.get()) != chunk.size();
      return !write_failed;
    };
    int retries = 0;
    auto response = send_patiently(req, retries);
    if (response.ok() && is_redirect(response->status) && !response->header("location").empty()) {
      std::string location = response->header("location");
      req.url = location.starts_with("/") ? server_.http(location) : location;
      if (!location.starts_with("/")) req.headers.clear();
      response = send_patiently(req, retries);
    }
    if (write_failed) return Error(errc::io_error, fmt::format("cannot write {}: {}", dest, std::strerror(errno)));
    if (!response.ok()) {
      return Error(response.error().code, fmt::format("downloading {} failed: {}", path, response.error().message));
    }
    if (response->status != 200) {
      return Error(errc::internal, fmt::format("downloading {} failed: HTTP {}: {}", path, response->status,
                                               read_problem(*response).detail));
    }
    if (std::fflush(file.get()) != 0 || std::fclose(file.release()) != 0) {
      return Error(errc::io_error, fmt::format("cannot write {}: {}", dest, std::strerror(errno)));
    }
    std::error_code ec;
    fs::rename(part.path(), target, ec);
    if (ec) return Error(errc::io_error, fmt::format("cannot write {}: {}", dest, ec.message()));
    part.release();
    return {};
  }

  const SubmitOptions& options_;
  ProgressDisplay& progress_;
  std::FILE* notes_;
  const Deadline deadline_;
  ServerUrl server_;
  std::optional<std::pair<std::string, std::string>> auth_;  // the Authorization header
  SubmitOutcome outcome_;
  bool usage_ = false;
  std::string last_shown_;  // the last "percent stage" shown
  std::string last_retry_;  // the last failed attempt noted
};

}  // namespace

SubmitOutcome submit(const SubmitOptions& options, ProgressDisplay& progress, std::FILE* notes) {
  return SubmitRun(options, progress, notes).run();
}

std::string default_output_path(const std::string& input) {
  std::string stem = base_name(input);
  for (const char* ext : {".tar.gz", ".tgz", ".zip", ".tar"}) {
    const std::size_t n = std::strlen(ext);
    if (stem.size() > n && stem.ends_with(ext)) {
      stem.resize(stem.size() - n);
      break;
    }
  }
  return stem + "-clean.zip";
}

}  // namespace fti::client
