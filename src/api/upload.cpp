// POST /api/v1/jobs: streams the upload into the blob store while hashing and counting it,
// sniffs that it is an archive, then queues the job. The body is never held in memory.
#include <algorithm>
#include <cstdlib>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "fti/api/multipart.hpp"
#include "fti/cleanup/archive.hpp"
#include "fti/cleanup/formatters.hpp"
#include "fti/cleanup/job_handler.hpp"
#include "fti/core/ids.hpp"
#include "fti/jobs/event_bus.hpp"
#include "fti/jobs/job_store.hpp"
#include "fti/storage/blob_store.hpp"
#include "handlers.hpp"

namespace fti::api {

namespace {

constexpr std::size_t kCopyChunk = 64 * 1024;
constexpr std::size_t kSniffBytes = 512;  // tar's magic sits at offset 257

struct UploadParams {
  std::string type = "cleanup";
  jobs::Priority priority = jobs::Priority::normal;
  std::string profile;
  std::optional<std::string> filename;
  std::int64_t delay_seconds = 0;  // a delayed job: not run before now + this
};

bool is_plain_name(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_' || c == '.';
  });
}

Result<UploadParams> parse_params(const http::Request& req) {
  UploadParams p;
  if (auto type = req.query_param("type")) {
    if (!jobs::is_valid_job_type(*type)) {
      return Error(errc::bad_request, "type \"" + *type + "\" is unknown; use cleanup, template, enterprise or priority");
    }
    p.type = *type;
  }
  if (auto priority = req.query_param("priority")) {
    auto parsed = jobs::parse_priority(*priority);
    if (!parsed) return Error(errc::bad_request, "priority \"" + *priority + "\" is unknown; use high, normal or low");
    p.priority = *parsed;
  }
  if (auto profile = req.query_param("profile"); profile && !profile->empty()) {
    if (!is_plain_name(*profile)) {
      return Error(errc::bad_request, "profile must be 1 to 64 letters, digits, '-', '_' or '.'");
    }
    FTI_TRY(cleanup::find_style_profile(*profile));  // the job would fail later; say so now
    p.profile = *profile;
  }
  if (auto filename = req.query_param("filename"); filename && !filename->empty()) p.filename = *filename;
  if (auto delay = req.query_param("delay_seconds"); delay && !delay->empty()) {
    char* end = nullptr;
    long long v = std::strtoll(delay->c_str(), &end, 10);
    if (*end != '\0' || v < 0 || v > 30LL * 86400) {
      return Error(errc::bad_request, "delay_seconds must be a whole number from 0 to 2592000 (30 days)");
    }
    p.delay_seconds = v;
  }
  return p;
}

// Client file names are shown back and used in download names: keep the last path segment
// and drop control characters and quotes.
std::string clean_filename(std::string_view name) {
  std::size_t slash = name.find_last_of("/\\");
  if (slash != std::string_view::npos) name.remove_prefix(slash + 1);
  std::string out;
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f || c == '"') continue;
    out.push_back(static_cast<char>(c));
  }
  if (out.size() > 255) out.resize(255);
  if (out.empty() || out == "." || out == "..") return "upload";
  return out;
}

std::string media_type(const http::Request& req) {
  std::string type = req.header("content-type");
  type = type.substr(0, type.find(';'));
  type.erase(std::remove_if(type.begin(), type.end(), [](unsigned char c) { return std::isspace(c); }), type.end());
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return std::tolower(c); });
  return type;
}

bool is_raw_archive_type(std::string_view type) {
  // Every raw upload is sniffed anyway; the list only turns away bodies that are clearly
  // something else (forms, JSON). An absent type counts as octet-stream.
  static constexpr std::string_view kTypes[] = {
      "",
      "application/octet-stream",
      "application/zip",
      "application/x-zip-compressed",
      "application/x-tar",
      "application/gzip",
      "application/x-gzip",
      "application/x-gtar",
      "application/x-compressed-tar",
  };
  return std::find(std::begin(kTypes), std::end(kTypes), type) != std::end(kTypes);
}

// Where the archive's bytes come from: the raw body, or the `file` part of a form.
struct UploadSource {
  http::BodyStream* stream = nullptr;
  std::unique_ptr<MultipartFileReader> multipart;
};

Result<UploadSource> open_source(http::Request& req) {
  if (!req.body_stream) return Error(errc::internal, "the upload route was registered without a body stream");
  std::string type = media_type(req);
  UploadSource source;
  if (type == "multipart/form-data") {
    FTI_ASSIGN_OR_RETURN(std::string boundary, multipart_boundary(req.header("content-type")));
    source.multipart = std::make_unique<MultipartFileReader>(*req.body_stream, boundary, "file");
    source.stream = source.multipart.get();
    return source;
  }
  if (!is_raw_archive_type(type)) {
    return Error(errc::unsupported_media_type,
                 "Content-Type " + type + " is not accepted; send the archive as application/zip, " +
                     "application/x-tar, application/gzip or multipart/form-data with a 'file' field");
  }
  source.stream = req.body_stream;
  return source;
}

struct StoredUpload {
  std::int64_t bytes = 0;
  std::string sha256;
};

// Copies the source into the writer, hashing and counting; refuses non-archives after the
// first bytes and anything past the size limit. The caller aborts the writer on error.
Result<StoredUpload> copy_upload(http::BodyStream& source, storage::BlobWriter& writer, std::int64_t max_bytes) {
  std::vector<char> buffer(kCopyChunk);
  Sha256 hash;
  std::string head;
  bool sniffed = false;
  StoredUpload stored;
  auto sniff = [&]() -> Status {
    sniffed = true;
    if (head.empty()) return Error(errc::bad_request, "the upload is empty; send a .zip, .tar or .tar.gz archive");
    if (!cleanup::looks_like_archive_bytes(head)) {
      return Error(errc::unsupported_media_type,
                   "the upload is not an archive; send a .zip, .tar, .tar.gz, .tar.bz2, .tar.xz, .tar.zst, .7z or .cpio file");
    }
    return ok_status();
  };
  while (true) {
    FTI_ASSIGN_OR_RETURN(std::size_t n, source.read(buffer.data(), buffer.size()));
    if (n == 0) break;
    stored.bytes += static_cast<std::int64_t>(n);
    if (stored.bytes > max_bytes) {
      return Error(errc::too_large, fmt::format("the upload is over the limit of {} bytes", max_bytes));
    }
    std::string_view chunk(buffer.data(), n);
    if (!sniffed) {
      head.append(chunk.substr(0, kSniffBytes - head.size()));
      if (head.size() >= kSniffBytes) FTI_TRY(sniff());
    }
    hash.update(chunk);
    FTI_TRY(writer.write(chunk));
  }
  if (!sniffed) FTI_TRY(sniff());
  stored.sha256 = hash.hex_digest();
  return stored;
}

// The job the upload made, or the earlier one its Idempotency-Key names (created false).
struct Submitted {
  jobs::Job job;
  bool created = true;
};

Result<Submitted> store_and_enqueue(const ApiDeps& deps, http::Request& req, const UploadParams& params) {
  FTI_ASSIGN_OR_RETURN(UploadSource source, open_source(req));
  std::string id = new_job_id(deps.clock->now_ms());
  std::string key = cleanup::upload_key(id);
  FTI_ASSIGN_OR_RETURN(std::unique_ptr<storage::BlobWriter> writer, deps.blobs->open_writer(key));
  auto stored = copy_upload(*source.stream, *writer, deps.config->server.max_upload_bytes);
  if (!stored.ok()) {
    writer->abort();
    return stored.error();
  }
  auto committed = writer->commit();
  if (!committed.ok()) return committed.error();

  jobs::NewJob job;
  job.id = id;
  job.tenant = req.tenant;
  job.type = params.type;
  job.priority = params.priority;
  job.profile = params.profile;
  job.max_attempts = deps.config->jobs.max_attempts;
  if (params.delay_seconds > 0) job.run_at = deps.clock->now_ms() + params.delay_seconds * 1000;
  std::string name = params.filename ? *params.filename : (source.multipart ? source.multipart->filename() : "");
  job.input.filename = clean_filename(name);
  job.input.bytes = stored->bytes;
  job.input.sha256 = stored->sha256;
  job.input.key = key;
  std::string idempotency_key = req.header("idempotency-key");
  if (!idempotency_key.empty()) job.idempotency_key = idempotency_key.substr(0, 255);
  auto created = deps.jobs->enqueue(job, deps.clock->now_ms());
  // No job points at the upload when it failed, or when the key named an earlier job.
  if (!created.ok() || created->id != id) (void)deps.blobs->remove(key);
  if (!created.ok()) return created.error();
  const bool is_new = created->id == id;
  return Submitted{std::move(created).value(), is_new};
}

}  // namespace

http::Response handle_create_job(const ApiDeps& deps, http::Request& req) {
  auto params = parse_params(req);
  if (!params.ok()) return http::Response::from_error(params.error());
  auto submitted = store_and_enqueue(deps, req, *params);
  // On error the body may be partly unread; the server then closes the connection.
  if (!submitted.ok()) return http::Response::from_error(submitted.error());
  // An Idempotency-Key that names an earlier job answers with that job, and 200.
  if (!submitted->created) return http::Response::json(200, jobs::job_to_json(submitted->job));
  const jobs::Job* job = &submitted->job;
  if (deps.on_enqueued) deps.on_enqueued();
  if (deps.events) deps.events->publish(jobs::job_state_event(*job));
  auto res = http::Response::json(201, jobs::job_to_json(*job));
  res.set_header("Location", "/api/v1/jobs/" + job->id);
  return res;
}

}  // namespace fti::api
