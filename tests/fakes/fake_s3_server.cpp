// The fake S3 server: the project's HttpServer with routes for every path depth, one handler
// that parses the raw request target (S3 signs the path and query exactly as sent), checks
// authentication, applies any scripted fault, then runs the operation on in-memory buckets.
#include "fakes/fake_s3_server.hpp"

#include <algorithm>
#include <condition_variable>
#include <ctime>
#include <fmt/format.h>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "../../src/storage/s3_xml.hpp"
#include "../../src/storage/sigv4.hpp"
#include "fti/core/ids.hpp"
#include "fti/http/server.hpp"
#include "fti/ops/metrics.hpp"

namespace fti::fakes {

namespace fake_s3_impl {

namespace sigv4 = storage::sigv4;
namespace s3xml = storage::s3xml;

constexpr int kMaxKeySegments = 16;
constexpr TimeMs kMaxSkewMs = 15 * 60 * 1000;

struct Object {
  std::string data;
  std::string etag;  // quoted, as S3 sends it
  TimeMs modified_ms = 0;
};

struct Upload {
  std::string bucket, key;
  std::map<int, Object> parts;
};

// A request taken apart the way S3 sees it.
struct Parsed {
  std::string bucket;
  std::string key;
  sigv4::Pairs query;  // decoded, in order
  S3Op op = S3Op::unknown;

  const std::string* param(std::string_view name) const {
    for (const auto& [n, v] : query) {
      if (n == name) return &v;
    }
    return nullptr;
  }
  bool has(std::string_view name) const { return param(name) != nullptr; }
};

std::string quoted_etag(std::string_view data) { return "\"" + sha256_hex(data).substr(0, 32) + "\""; }

// "20150830T123600Z" -> ms; nullopt when malformed.
std::optional<TimeMs> parse_amz_date(const std::string& s) {
  std::tm tm{};
  if (s.size() != 16 || !strptime(s.c_str(), "%Y%m%dT%H%M%SZ", &tm)) return std::nullopt;
  return static_cast<TimeMs>(timegm(&tm)) * 1000;
}

std::string http_date(TimeMs t) {
  std::time_t secs = static_cast<std::time_t>(t / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

std::string iso_date(TimeMs t) {
  std::time_t secs = static_cast<std::time_t>(t / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.000Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec);
}

http::Response s3_error(int status, std::string_view code, std::string_view message) {
  auto body = fmt::format("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message>"
                          "<RequestId>{}</RequestId></Error>",
                          s3xml::escape(code), s3xml::escape(message), new_request_id());
  return http::Response::text(status, std::move(body), "application/xml");
}

http::Response xml(int status, std::string body) {
  return http::Response::text(status, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + body, "application/xml");
}

S3Op classify(const std::string& method, const Parsed& p) {
  if (p.key.empty()) {
    if (method == "HEAD") return S3Op::head_bucket;
    if (method == "GET" && p.has("list-type")) return S3Op::list_objects;
    return S3Op::unknown;
  }
  if (method == "POST" && p.has("uploads")) return S3Op::create_multipart;
  if (method == "POST" && p.has("uploadId")) return S3Op::complete_multipart;
  if (method == "PUT" && p.has("uploadId")) return S3Op::upload_part;
  if (method == "DELETE" && p.has("uploadId")) return S3Op::abort_multipart;
  if (method == "PUT") return S3Op::put_object;
  if (method == "GET") return S3Op::get_object;
  if (method == "HEAD") return S3Op::head_object;
  if (method == "DELETE") return S3Op::delete_object;
  return S3Op::unknown;
}

Parsed parse_target(const http::Request& req) {
  Parsed p;
  std::string_view target = req.target;
  auto q = target.find('?');
  std::string path = http::percent_decode(target.substr(0, q));
  if (!path.empty() && path.front() == '/') path.erase(0, 1);
  auto slash = path.find('/');
  p.bucket = path.substr(0, slash);
  if (slash != std::string::npos) p.key = path.substr(slash + 1);
  std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  while (!query.empty()) {
    auto amp = query.find('&');
    auto item = query.substr(0, amp);
    auto eq = item.find('=');
    p.query.emplace_back(http::percent_decode(item.substr(0, eq)),
                         eq == std::string_view::npos ? "" : http::percent_decode(item.substr(eq + 1)));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  p.op = classify(req.method, p);
  return p;
}

// "Credential=AK/20150830/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=..."
std::map<std::string, std::string> authorization_fields(std::string_view value) {
  std::map<std::string, std::string> out;
  auto space = value.find(' ');
  value = space == std::string_view::npos ? std::string_view() : value.substr(space + 1);
  while (!value.empty()) {
    auto comma = value.find(',');
    auto item = value.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    auto eq = item.find('=');
    if (eq != std::string_view::npos) out[std::string(item.substr(0, eq))] = std::string(item.substr(eq + 1));
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return out;
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  while (true) {
    auto at = s.find(sep);
    out.emplace_back(s.substr(0, at));
    if (at == std::string_view::npos) break;
    s.remove_prefix(at + 1);
  }
  return out;
}

}  // namespace fake_s3_impl

using namespace fake_s3_impl;

struct FakeS3Server::Impl {
  Options options;
  SystemClock system_clock;
  const Clock* clock = nullptr;
  ops::Metrics metrics;
  http::Router router;
  std::unique_ptr<http::HttpServer> server;
  std::thread thread;
  std::uint16_t port = 0;

  mutable std::mutex mutex;
  std::condition_variable released;
  bool stopping = false;
  std::map<std::string, std::map<std::string, Object>> buckets;
  std::map<std::string, Upload> uploads;
  std::vector<S3Fault> faults;
  std::vector<S3Record> records;

  explicit Impl(Options o) : options(std::move(o)), clock(options.clock ? options.clock : &system_clock) {
    for (const auto& b : options.buckets) buckets[b];
  }

  // ---- authentication ----------------------------------------------------------------------

  std::optional<http::Response> check_header_auth(const http::Request& req, const Parsed& p) const {
    auto fields = authorization_fields(req.header("authorization"));
    auto credential = split(fields["Credential"], '/');
    if (credential.size() != 5 || credential[0] != options.access_key_id) {
      return s3_error(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.");
    }
    auto date = parse_amz_date(req.header("x-amz-date"));
    if (!date) return s3_error(403, "AccessDenied", "AWS authentication requires a valid x-amz-date header");
    if (std::llabs(*date - clock->now_ms()) > kMaxSkewMs) {
      return s3_error(403, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large.");
    }
    std::string payload_hash = req.header("x-amz-content-sha256");
    if (payload_hash.empty()) return s3_error(400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256");
    if (payload_hash != sigv4::kUnsignedPayload && payload_hash != sha256_hex(req.body)) {
      return s3_error(400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.");
    }
    auto expected = sign(req, p, split(fields["SignedHeaders"], ';'), p.query, payload_hash, req.header("x-amz-date"));
    if (expected != fields["Signature"]) {
      return s3_error(403, "SignatureDoesNotMatch",
                      "The request signature we calculated does not match the signature you provided. Check your key and signing method.");
    }
    return std::nullopt;
  }

  std::optional<http::Response> check_presigned(const http::Request& req, const Parsed& p) const {
    auto credential = split(p.param("X-Amz-Credential") ? *p.param("X-Amz-Credential") : "", '/');
    if (credential.size() != 5 || credential[0] != options.access_key_id) {
      return s3_error(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.");
    }
    const std::string* date_text = p.param("X-Amz-Date");
    const std::string* expires = p.param("X-Amz-Expires");
    const std::string* signature = p.param("X-Amz-Signature");
    const std::string* signed_headers = p.param("X-Amz-SignedHeaders");
    auto date = date_text ? parse_amz_date(*date_text) : std::nullopt;
    if (!date || !expires || !signature || !signed_headers) {
      return s3_error(400, "AuthorizationQueryParametersError", "Query-string authentication version 4 requires all X-Amz- parameters.");
    }
    if (clock->now_ms() > *date + std::stoll(*expires) * 1000) return s3_error(403, "AccessDenied", "Request has expired");
    sigv4::Pairs query;
    for (const auto& pair : p.query) {
      if (pair.first != "X-Amz-Signature") query.push_back(pair);
    }
    auto expected = sign(req, p, split(*signed_headers, ';'), query, std::string(sigv4::kUnsignedPayload), *date_text);
    if (expected != *signature) {
      return s3_error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.");
    }
    return std::nullopt;
  }

  std::string sign(const http::Request& req, const Parsed& p, const std::vector<std::string>& signed_headers,
                   const sigv4::Pairs& query, const std::string& payload_hash, const std::string& date) const {
    sigv4::Request r;
    r.method = req.method;
    r.path = "/" + p.bucket + (p.key.empty() && !req.target.starts_with("/" + p.bucket + "/") ? "" : "/" + p.key);
    r.query = query;
    for (const auto& name : signed_headers) r.headers.emplace_back(name, req.header(name));
    r.payload_hash = payload_hash;
    sigv4::Scope scope{options.region, "s3"};
    auto sts = sigv4::string_to_sign(date, scope, sigv4::canonical_request(r));
    return sigv4::hmac_sha256_hex(sigv4::signing_key(options.secret_access_key, date, scope), sts);
  }

  std::optional<http::Response> authenticate(const http::Request& req, const Parsed& p) const {
    if (!req.header("authorization").empty()) return check_header_auth(req, p);
    if (p.has("X-Amz-Algorithm")) return check_presigned(req, p);
    return s3_error(403, "AccessDenied", "Access Denied");  // the bucket is private
  }

  // ---- faults --------------------------------------------------------------------------------

  // The fault for this request, consumed; nullopt when none matches.
  std::optional<S3Fault> take_fault(S3Op op) {
    std::lock_guard lock(mutex);
    for (auto it = faults.begin(); it != faults.end(); ++it) {
      if (it->op != S3Op::any && it->op != op) continue;
      if (it->skip > 0) {
        --it->skip;
        return std::nullopt;
      }
      S3Fault fault = *it;
      if (--it->times <= 0) faults.erase(it);
      return fault;
    }
    return std::nullopt;
  }

  http::Response hang() {
    std::unique_lock lock(mutex);
    released.wait(lock, [&] { return stopping; });
    return s3_error(503, "ServiceUnavailable", "shutting down");
  }

  // ---- operations (mutex held) -------------------------------------------------------------

  http::Response run(const http::Request& req, const Parsed& p) {
    auto bucket = buckets.find(p.bucket);
    if (bucket == buckets.end()) return s3_error(404, "NoSuchBucket", "The specified bucket does not exist");
    auto& objects = bucket->second;
    switch (p.op) {
      case S3Op::head_bucket: return http::Response::text(200, "");
      case S3Op::list_objects: return list(p, objects);
      case S3Op::put_object: return store(objects, p.key, req.body);
      case S3Op::get_object:
      case S3Op::head_object: return get(req, p, objects);
      case S3Op::delete_object:
        objects.erase(p.key);
        return http::Response::text(204, "");
      case S3Op::create_multipart: return create_upload(p);
      case S3Op::upload_part: return upload_part(req, p);
      case S3Op::complete_multipart: return complete(req, p, objects);
      case S3Op::abort_multipart:
        if (uploads.erase(*p.param("uploadId")) == 0) return s3_error(404, "NoSuchUpload", "The specified upload does not exist.");
        return http::Response::text(204, "");
      default: return s3_error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.");
    }
  }

  http::Response store(std::map<std::string, Object>& objects, const std::string& key, std::string data) {
    Object o{std::move(data), "", clock->now_ms()};
    o.etag = quoted_etag(o.data);
    auto res = http::Response::text(200, "");
    res.set_header("ETag", o.etag);
    objects[key] = std::move(o);
    return res;
  }

  http::Response get(const http::Request& req, const Parsed& p, std::map<std::string, Object>& objects) {
    auto it = objects.find(p.key);
    if (it == objects.end()) return s3_error(404, "NoSuchKey", "The specified key does not exist.");
    const Object& o = it->second;
    auto if_match = req.header("if-match");
    if (!if_match.empty() && if_match != o.etag) {
      return s3_error(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold");
    }
    // Presigned downloads may ask for their own headers, as S3 allows.
    std::string type = p.param("response-content-type") ? *p.param("response-content-type") : "application/octet-stream";
    http::Response res = http::Response::text(200, o.data, type);
    auto range = req.header("range");
    std::int64_t first = 0, last = 0;
    if (std::sscanf(range.c_str(), "bytes=%ld-%ld", &first, &last) == 2) {
      auto size = static_cast<std::int64_t>(o.data.size());
      if (first >= size || last < first) return s3_error(416, "InvalidRange", "The requested range is not satisfiable");
      last = std::min(last, size - 1);
      res = http::Response::text(206, o.data.substr(first, last - first + 1), type);
      res.set_header("Content-Range", fmt::format("bytes {}-{}/{}", first, last, size));
    }
    res.set_header("ETag", o.etag);
    res.set_header("Last-Modified", http_date(o.modified_ms));
    if (auto d = p.param("response-content-disposition")) res.set_header("Content-Disposition", *d);
    return res;
  }

  http::Response list(const Parsed& p, const std::map<std::string, Object>& objects) {
    std::string prefix = p.param("prefix") ? *p.param("prefix") : "";
    int max_keys = p.param("max-keys") ? std::stoi(*p.param("max-keys")) : 1000;
    // The token is opaque to clients; this one needs XML and URL escaping on purpose.
    std::string after;
    if (auto token = p.param("continuation-token")) {
      if (token->rfind("after&<", 0) != 0) return s3_error(400, "InvalidArgument", "The continuation token provided is incorrect");
      after = token->substr(7);
    }
    std::string contents;
    int count = 0;
    std::string last_key;
    bool truncated = false;
    for (auto it = after.empty() ? objects.begin() : objects.upper_bound(after); it != objects.end(); ++it) {
      if (it->first.rfind(prefix, 0) != 0) continue;
      if (count == max_keys) {
        truncated = true;
        break;
      }
      contents += fmt::format("<Contents><Key>{}</Key><LastModified>{}</LastModified><ETag>{}</ETag><Size>{}</Size>"
                              "<StorageClass>STANDARD</StorageClass></Contents>",
                              s3xml::escape(it->first), iso_date(it->second.modified_ms), s3xml::escape(it->second.etag),
                              it->second.data.size());
      last_key = it->first;
      ++count;
    }
    std::string next = truncated ? fmt::format("<NextContinuationToken>{}</NextContinuationToken>",
                                               s3xml::escape("after&<" + last_key))
                                 : std::string();
    return xml(200, fmt::format("<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>{}</Name>"
                                "<Prefix>{}</Prefix><KeyCount>{}</KeyCount><MaxKeys>{}</MaxKeys>"
                                "<IsTruncated>{}</IsTruncated>{}{}</ListBucketResult>",
                                s3xml::escape(p.bucket), s3xml::escape(prefix), count, max_keys,
                                truncated ? "true" : "false", next, contents));
  }

  http::Response create_upload(const Parsed& p) {
    std::string id = new_request_id() + new_request_id();
    uploads[id] = Upload{p.bucket, p.key, {}};
    return xml(200, fmt::format("<InitiateMultipartUploadResult><Bucket>{}</Bucket><Key>{}</Key>"
                                "<UploadId>{}</UploadId></InitiateMultipartUploadResult>",
                                s3xml::escape(p.bucket), s3xml::escape(p.key), id));
  }

  http::Response upload_part(const http::Request& req, const Parsed& p) {
    auto it = uploads.find(*p.param("uploadId"));
    if (it == uploads.end()) return s3_error(404, "NoSuchUpload", "The specified upload does not exist.");
    int number = p.param("partNumber") ? std::atoi(p.param("partNumber")->c_str()) : 0;
    if (number < 1 || number > 10000) return s3_error(400, "InvalidArgument", "Part number must be an integer between 1 and 10000");
    Object part{req.body, quoted_etag(req.body), clock->now_ms()};
    auto res = http::Response::text(200, "");
    res.set_header("ETag", part.etag);
    it->second.parts[number] = std::move(part);
    return res;
  }

  http::Response complete(const http::Request& req, const Parsed& p, std::map<std::string, Object>& objects) {
    auto it = uploads.find(*p.param("uploadId"));
    if (it == uploads.end()) return s3_error(404, "NoSuchUpload", "The specified upload does not exist.");
    auto listed = s3xml::elements(req.body, "Part");
    if (listed.empty()) return s3_error(400, "MalformedXML", "The XML you provided was not well-formed");
    std::string data;
    for (std::size_t i = 0; i < listed.size(); ++i) {
      int number = std::atoi(s3xml::text(listed[i], "PartNumber").value_or("0").c_str());
      auto part = it->second.parts.find(number);
      if (part == it->second.parts.end() || part->second.etag != s3xml::text(listed[i], "ETag").value_or("")) {
        return s3_error(400, "InvalidPart", "One or more of the specified parts could not be found.");
      }
      if (i + 1 < listed.size() && part->second.data.size() < options.min_part_size) {
        return s3_error(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object size.");
      }
      data += part->second.data;
    }
    uploads.erase(it);
    store(objects, p.key, std::move(data));
    return xml(200, fmt::format("<CompleteMultipartUploadResult><Bucket>{}</Bucket><Key>{}</Key><ETag>{}</ETag>"
                                "</CompleteMultipartUploadResult>",
                                s3xml::escape(p.bucket), s3xml::escape(p.key), s3xml::escape(objects[p.key].etag)));
  }

  // ---- the one handler ----------------------------------------------------------------------

  // Recorded before it is answered, so a hanging request is already counted.
  http::Response handle(http::Request& req) {
    Parsed p = parse_target(req);
    std::size_t index = 0;
    {
      std::lock_guard lock(mutex);
      index = records.size();
      records.push_back(S3Record{p.op, req.method, req.target, 0, req.headers});
    }
    auto res = answer(req, p);
    std::lock_guard lock(mutex);
    records[index].status = res.status;
    return res;
  }

  http::Response answer(http::Request& req, const Parsed& p) {
    if (auto refused = authenticate(req, p)) return std::move(*refused);
    if (auto fault = take_fault(p.op)) {
      if (fault->hang) return hang();
      if (fault->in_success_body) {
        return xml(200, fmt::format("<Error><Code>{}</Code><Message>{}</Message></Error>", fault->code, fault->message));
      }
      return s3_error(fault->status, fault->code, fault->message);
    }
    std::lock_guard lock(mutex);
    return run(req, p);
  }
};

FakeS3Server::FakeS3Server(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {
  ops::declare_standard_metrics(impl_->metrics);
  // Every depth of path, for every method S3 uses (HEAD is served by the GET routes).
  std::string pattern = "/{bucket}";
  http::RouteOptions public_route;
  public_route.public_route = true;
  for (int depth = 0; depth <= kMaxKeySegments; ++depth) {
    for (const char* method : {"GET", "PUT", "POST", "DELETE"}) {
      impl_->router.add(method, pattern, [impl = impl_.get()](http::Request& req) { return impl->handle(req); },
                        public_route);
    }
    pattern += fmt::format("/{{k{}}}", depth);
  }
  http::ServerOptions server;
  server.host = "127.0.0.1";
  server.port = 0;
  server.io_threads = 1;
  server.blocking_threads = 8;
  server.max_body_bytes = 64 << 20;  // a part of S3's usual sizes, read whole
  impl_->server = std::make_unique<http::HttpServer>(server, impl_->router, impl_->metrics);
  auto port = impl_->server->listen();
  if (!port.ok()) throw std::runtime_error("fake S3 server: " + port.error().message);
  impl_->port = *port;
  impl_->thread = std::thread([impl = impl_.get()] { impl->server->run(); });
}

FakeS3Server::~FakeS3Server() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->released.notify_all();
  impl_->server->stop();
  impl_->thread.join();
}

std::string FakeS3Server::endpoint() const { return fmt::format("http://127.0.0.1:{}", impl_->port); }

void FakeS3Server::fail_next(S3Fault fault) {
  std::lock_guard lock(impl_->mutex);
  impl_->faults.push_back(std::move(fault));
}

std::optional<std::string> FakeS3Server::object(const std::string& bucket, const std::string& key) const {
  std::lock_guard lock(impl_->mutex);
  auto b = impl_->buckets.find(bucket);
  if (b == impl_->buckets.end()) return std::nullopt;
  auto o = b->second.find(key);
  if (o == b->second.end()) return std::nullopt;
  return o->second.data;
}

void FakeS3Server::put_object(const std::string& bucket, const std::string& key, std::string data) {
  std::lock_guard lock(impl_->mutex);
  impl_->store(impl_->buckets[bucket], key, std::move(data));
}

std::size_t FakeS3Server::object_count(const std::string& bucket) const {
  std::lock_guard lock(impl_->mutex);
  auto b = impl_->buckets.find(bucket);
  return b == impl_->buckets.end() ? 0 : b->second.size();
}

std::size_t FakeS3Server::open_uploads() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->uploads.size();
}

std::vector<S3Record> FakeS3Server::requests() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->records;
}

int FakeS3Server::count(S3Op op) const {
  std::lock_guard lock(impl_->mutex);
  return static_cast<int>(std::count_if(impl_->records.begin(), impl_->records.end(),
                                        [op](const S3Record& r) { return op == S3Op::any || r.op == op; }));
}

}  // namespace fti::fakes
