#pragma once
// HttpClient: blocking HTTP over libcurl with connect and total timeouts on every call.
// Never call it from an I/O thread.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
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
  std::int64_t max_response_bytes = 64LL << 20;  // in-memory bodies only
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;                            // empty when download_file was set
  std::string header(const std::string& lower_name) const;
};

class HttpClient {
 public:
  // Transport failures (refused, timeout, too large) are errors; any HTTP status is a value.
  Result<HttpResponse> send(const HttpRequest& request) const;
};

}  // namespace fti
