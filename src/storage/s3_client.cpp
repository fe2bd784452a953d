#include "s3_client.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <random>
#include <thread>

#include "fti/core/ids.hpp"
#include "fti/core/log.hpp"
#include "s3_xml.hpp"

namespace fti::storage {
namespace {

bool is_success(long status) { return status >= 200 && status < 300; }

// Transport failures worth another try: the next connection may well work.
bool is_transient_transport(const Error& e) { return e.code == errc::timeout || e.code == errc::network_error; }

// Server-side trouble S3 documents as retryable. RequestTimeout is a 400, but it means our
// own upload stalled on the way (a network condition), and AWS's SDKs retry it too.
bool is_retryable_answer(long status, std::string_view code) {
  if (status == 500 || status == 502 || status == 503 || status == 504) return true;
  return code == "SlowDown" || code == "InternalError" || code == "ServiceUnavailable" || code == "RequestTimeout";
}

// What to check for each refusal S3 gives about who we are.
std::string_view credential_hint(std::string_view code) {
  if (code == "SignatureDoesNotMatch") return "check AWS_SECRET_ACCESS_KEY and the region in storage.url";
  if (code == "InvalidAccessKeyId") return "check AWS_ACCESS_KEY_ID";
  if (code == "ExpiredToken" || code == "TokenRefreshRequired") {
    return "the temporary credentials have expired; renew AWS_SESSION_TOKEN and its keys, then restart";
  }
  if (code == "InvalidToken") return "check AWS_SESSION_TOKEN";
  if (code == "RequestTimeTooSkewed") return "this machine's clock is more than 15 minutes off; synchronise it (NTP)";
  return "check the credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) and that they may use this bucket";
}

std::string strip_trailing_slashes(std::string_view s) {
  while (!s.empty() && s.back() == '/') s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

Result<Endpoint> parse_endpoint(std::string_view endpoint) {
  auto bad = [&](std::string_view why) {
    return Error(errc::bad_config, fmt::format("storage.url: endpoint \"{}\" {}; write it as http://HOST:PORT or "
                                               "https://HOST", endpoint, why));
  };
  std::string_view scheme;
  if (endpoint.rfind("http://", 0) == 0) {
    scheme = "http";
  } else if (endpoint.rfind("https://", 0) == 0) {
    scheme = "https";
  } else {
    return bad("must start with http:// or https://");
  }
  std::string authority = strip_trailing_slashes(endpoint.substr(scheme.size() + 3));
  if (authority.empty()) return bad("has no host");
  if (authority.find_first_of("/?#@ ") != std::string::npos) return bad("may hold only a scheme, a host and a port");
  std::string host = authority;
  std::string default_port = scheme == "http" ? ":80" : ":443";
  if (host.size() > default_port.size() && host.compare(host.size() - default_port.size(), default_port.size(), default_port) == 0) {
    host.resize(host.size() - default_port.size());
  }
  return Endpoint{fmt::format("{}://{}", scheme, authority), host};
}

S3Client::S3Client(S3Options options)
    : options_(std::move(options)),
      clock_(options_.clock ? options_.clock : &system_clock_),
      credentials_{options_.credentials.access_key_id, options_.credentials.secret_access_key,
                   options_.credentials.session_token},
      scope_{options_.location.region, "s3"} {
  const auto& loc = options_.location;
  if (!loc.endpoint.empty()) {
    // Validated by parse_s3_url; a bad endpoint here is a caller's bug.
    auto endpoint = parse_endpoint(loc.endpoint);
    if (!endpoint.ok()) throw std::invalid_argument(endpoint.error().message);
    base_url_ = endpoint->base_url;
    host_ = endpoint->host;
  } else if (loc.bucket.find('.') == std::string::npos) {
    // AWS's virtual-hosted style; a bucket with dots would not match the TLS certificate.
    host_ = fmt::format("{}.s3.{}.amazonaws.com", loc.bucket, loc.region);
    base_url_ = "https://" + host_;
    path_style_ = false;
  } else {
    host_ = fmt::format("s3.{}.amazonaws.com", loc.region);
    base_url_ = "https://" + host_;
  }
  if (!options_.sleep) options_.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
}

std::string S3Client::url() const {
  const auto& loc = options_.location;
  std::string out = "s3://" + loc.bucket + "?region=" + loc.region;
  if (!loc.endpoint.empty()) out += "&endpoint=" + loc.endpoint;
  return out;
}

std::string S3Client::path_of(std::string_view key) const {
  std::string path = path_style_ ? "/" + options_.location.bucket : std::string();
  if (!key.empty() || !path_style_) path += "/" + std::string(key);
  return path;
}

std::chrono::milliseconds S3Client::backoff(int retry) const {
  // Exponential, capped, with "equal jitter": half the delay is fixed, half random, so that
  // clients failing together do not all come back together.
  auto delay = options_.backoff_base.count() << std::min(retry - 1, 20);
  delay = std::min<std::int64_t>(delay, options_.backoff_max.count());
  thread_local std::minstd_rand rng{std::random_device{}()};
  std::uniform_int_distribution<std::int64_t> jitter(0, delay / 2);
  return std::chrono::milliseconds(delay - delay / 2 + jitter(rng));
}

HttpRequest S3Client::build(const S3Call& call, const std::string& payload_hash, TimeMs now) const {
  sigv4::Request signable;
  signable.method = call.method;
  signable.path = path_of(call.key);
  signable.query = call.query;
  signable.payload_hash = payload_hash;
  std::string date = sigv4::amz_date(now);
  signable.headers = {{"host", host_}, {"x-amz-date", date}, {"x-amz-content-sha256", payload_hash}};
  if (!credentials_.session_token.empty()) signable.headers.emplace_back("x-amz-security-token", credentials_.session_token);
  for (const auto& h : call.headers) signable.headers.push_back(h);

  HttpRequest request;
  request.method = call.method;
  request.url = base_url_ + sigv4::uri_encode(signable.path, false);
  if (!call.query.empty()) request.url += "?" + sigv4::canonical_query(call.query);
  // The Host header is set, not left to libcurl, so that what is sent is what was signed.
  request.headers = signable.headers;
  request.headers.emplace_back("Authorization", sigv4::authorization(signable, credentials_, scope_, date));
  request.connect_timeout = options_.connect_timeout;
  const bool uploads = !call.body.empty();
  request.total_timeout = call.transfer ? options_.transfer_timeout : options_.request_timeout;
  // An upload's status line comes only after its body, so only total_timeout bounds it.
  request.first_byte_timeout = uploads ? std::chrono::milliseconds(0) : options_.first_byte_timeout;
  request.max_response_bytes = call.max_response_bytes;
  request.on_body = call.on_body;
  return request;
}

Result<HttpResponse> S3Client::send(S3Call& call) const {
  const std::string payload_hash = sha256_hex(call.body);
  const int max_attempts = std::max(1, call.max_attempts > 0 ? call.max_attempts : options_.max_attempts);
  auto log = log::get("storage");
  Error last;
  for (call.attempts = 1;; ++call.attempts) {
    if (call.before_attempt) call.before_attempt();
    // The body is lent to the request for the call and taken back after it, never copied.
    HttpRequest request = build(call, payload_hash, clock_->now_ms());
    request.body = std::move(call.body);
    if (options_.stats) ++options_.stats->requests;
    auto response = http_.send(request);
    call.body = std::move(request.body);

    bool retry = false;
    if (!response.ok()) {
      retry = is_transient_transport(response.error());
      last = response.error().code == errc::cancelled
                 ? Error(errc::storage_error, fmt::format("S3 {}: the answer was longer than asked for", call.what))
                 : Error(response.error().code, fmt::format("S3 {}: {}", call.what, response.error().message));
      call.last_s3_code.clear();
    } else {
      const bool success = is_success(response->status);
      auto s3_error = (!success || call.error_in_success_body) ? s3xml::parse_error(response->body) : std::nullopt;
      if (success && !s3_error) return response;
      long status = is_success(response->status) ? 500 : response->status;  // an error inside a 200
      call.last_s3_code = s3_error ? s3_error->code : std::string();
      retry = is_retryable_answer(status, call.last_s3_code);
      last = error_for(call, status, call.last_s3_code, s3_error ? s3_error->message : std::string());
    }
    if (!retry) return last;
    if (call.attempts >= max_attempts) {
      return Error(last.code, fmt::format("{} (tried {} times)", last.message, call.attempts));
    }
    auto delay = backoff(call.attempts);
    if (options_.stats) ++options_.stats->retries;
    log->warn("{}; retry {} of {} in {} ms", last.message, call.attempts, max_attempts - 1, delay.count());
    options_.sleep(delay);
  }
}

Error S3Client::error_for(const S3Call& call, long status, const std::string& code, const std::string& message) const {
  const auto& bucket = options_.location.bucket;
  std::string answer = code.empty() ? fmt::format("{}", status) : fmt::format("{} {}", status, code);
  if (!message.empty()) answer += ": " + message;
  std::string where = fmt::format("S3 {}: answered {}", call.what, answer);
  if (code == "NoSuchBucket" || (status == 404 && call.key.empty())) {
    return Error(errc::storage_error, fmt::format("{}; bucket \"{}\" does not exist at {}: create it or fix storage.url",
                                                  where, bucket, base_url_));
  }
  if (code == "PermanentRedirect" || code == "AuthorizationHeaderMalformed" || status == 301) {
    return Error(errc::storage_error, fmt::format("{}; bucket \"{}\" is in another region: set region= in storage.url",
                                                  where, bucket));
  }
  if (code == "NoSuchUpload") {
    return Error(errc::storage_error, where + "; the multipart upload is gone (aborted or expired), write the blob again");
  }
  if (status == 404) return Error(errc::not_found, fmt::format("no blob {} in bucket {}", call.key, bucket));
  if (status == 401 || status == 403) {
    return Error(errc::storage_error, fmt::format("{}; {}", where, credential_hint(code)));
  }
  if (status == 503) {
    return Error(errc::unavailable, where + "; S3 is overloaded or down, try again later");
  }
  return Error(errc::storage_error, where);
}

std::string S3Client::presigned_get_url(std::string_view key, const PresignRequest& presign) const {
  sigv4::Request signable;
  signable.method = "GET";
  signable.path = path_of(key);
  signable.headers = {{"host", host_}};
  if (!presign.content_type.empty()) signable.query.emplace_back("response-content-type", presign.content_type);
  if (!presign.content_disposition.empty()) {
    signable.query.emplace_back("response-content-disposition", presign.content_disposition);
  }
  auto query = sigv4::presigned_query(signable, credentials_, scope_, sigv4::amz_date(clock_->now_ms()),
                                      presign.ttl.count());
  return base_url_ + sigv4::uri_encode(signable.path, false) + "?" + query;
}

}  // namespace fti::storage
