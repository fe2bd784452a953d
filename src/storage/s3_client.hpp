#pragma once
// S3Client: one S3 request, signed, sent over HttpClient with timeouts, retried with backoff
// when the failure is transient, and turned into a stable error when it is not. The store,
// its writers and its readers share one client.
#include <functional>
#include <string>

#include "fti/core/http_client.hpp"
#include "fti/storage/s3_blob_store.hpp"
#include "sigv4.hpp"

namespace fti::storage {

// An endpoint URL taken apart: "http://minio:9000/" -> base "http://minio:9000", host
// "minio:9000". A default port is dropped from the host, as browsers drop it from the Host
// header of a presigned URL they fetch. bad_config for anything but scheme://host[:port].
struct Endpoint {
  std::string base_url;
  std::string host;
};
Result<Endpoint> parse_endpoint(std::string_view endpoint);

struct S3Call {
  std::string what{};      // for messages: "PUT results/1.zip (part 3)"
  std::string method{};    // "GET"
  std::string key{};     // empty: the bucket itself
  sigv4::Pairs query{};    // not yet encoded
  sigv4::Pairs headers{};  // besides host, date, payload hash and authorization
  std::string body{};      // moved in for uploads; handed back untouched after send()
  bool transfer = false;  // a part or chunk: the transfer timeout, no first-byte limit on uploads
  std::int64_t max_response_bytes = 1 << 20;  // in-memory bodies (listings, errors)
  // A 2xx body goes here as it arrives instead of into the response; false stops the call.
  std::function<bool(std::string_view)> on_body{};
  std::function<void()> before_attempt{};  // resets what on_body filled, before each try
  // CompleteMultipartUpload may answer 200 and still fail, with an <Error> document.
  bool error_in_success_body = false;
  int max_attempts = 0;  // 0: the store's option

  // Filled by send(): the S3 error code of the last answer ("NoSuchUpload"), and tries made.
  std::string last_s3_code{};
  int attempts = 0;
};

class S3Client {
 public:
  explicit S3Client(S3Options options);

  // A 2xx answer is a value. Otherwise an Error: not_found (404 on a key), timeout or
  // network_error (transport, after the retries), unavailable (503 after the retries), and
  // storage_error for the rest, with a message that says what to check.
  Result<HttpResponse> send(S3Call& call) const;

  // A GET URL for `key` that works without credentials until `ttl` has passed.
  std::string presigned_get_url(std::string_view key, const PresignRequest& request) const;

  const S3Options& options() const { return options_; }
  TimeMs now_ms() const { return clock_->now_ms(); }
  std::string url() const;  // the s3:// URL, never the credentials

 private:
  HttpRequest build(const S3Call& call, const std::string& payload_hash, TimeMs now) const;
  std::string path_of(std::string_view key) const;  // "/bucket/key" or "/key", not encoded
  std::chrono::milliseconds backoff(int retry) const;
  Error error_for(const S3Call& call, long status, const std::string& code, const std::string& message) const;

  S3Options options_;
  SystemClock system_clock_;
  const Clock* clock_;
  sigv4::Credentials credentials_;
  sigv4::Scope scope_;
  std::string base_url_;  // "http://127.0.0.1:9000", no trailing slash
  std::string host_;      // the Host header: authority without a default port
  bool path_style_ = true;
  HttpClient http_;
};

}  // namespace fti::storage
