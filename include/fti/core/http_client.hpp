#pragma once
// HttpClient: blocking HTTP over libcurl with connect and total timeouts on every call.
// Never call it from an I/O thread. Each thread keeps one libcurl handle, so repeated calls
// from a thread reuse kept-alive connections.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fti/core/result.hpp"

namespace fti {

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;                          // sent as is when upload_file is empty
  std::optional<std::string> upload_file;    // stream the body from this file instead
  std::optional<std::string> download_file;  // stream the response body to this file
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds total_timeout{60000};
  // Until the response's status line arrives, counted from the start of the call; 0 = none.
  // Catches a server that accepts and never answers long before total_timeout would.
  std::chrono::milliseconds first_byte_timeout{0};
  std::int64_t max_response_bytes = 64LL << 20;  // in-memory bodies only
  // When set, a 2xx body is handed over as it arrives instead of being stored (it wins over
  // download_file); returning false aborts the call with a `cancelled` error. Other
  // statuses keep their body in HttpResponse::body so error bodies can still be read.
  std::function<bool(std::string_view chunk)> on_body;
  // When set, called as the call proceeds, at least about once a second: the request body's
  // bytes sent so far, of total (0 of 0 when there is none). Returning false aborts the call
  // with a `cancelled` error (an interrupted command line).
  std::function<bool(std::int64_t sent, std::int64_t total)> on_progress;
  // A transfer that moves no byte either way for this long fails with `timeout`; 0 = none.
  // For long uploads and downloads, where total_timeout must be generous.
  std::chrono::milliseconds stall_timeout{0};
  // HTTPS: trust the certificates in this PEM file instead of the system's (a private CA).
  std::optional<std::string> ca_file;
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;                            // empty when download_file was set
  std::string header(const std::string& lower_name) const;
};

class HttpClient {
 public:
  // Transport failures are errors; any HTTP status is a value. Codes: `timeout` (connect,
  // first byte or total; the message says which), `network_error` (refused, reset, DNS...),
  // `too_large`, `cancelled` (on_body said stop), `io_error` (local files).
  Result<HttpResponse> send(const HttpRequest& request) const;
};

}  // namespace fti
