#include "fti/core/http_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cstdio>
#include <fmt/format.h>
#include <memory>
#include <mutex>

namespace fti {
namespace {

void global_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  const HttpRequest* request = nullptr;
  HttpResponse* response = nullptr;
  std::FILE* download = nullptr;
  bool too_large = false;
};

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::size_t bytes = size * n;
  if (t->download) return std::fwrite(data, 1, bytes, t->download);
  if (static_cast<std::int64_t>(t->response->body.size() + bytes) > t->request->max_response_bytes) {
    t->too_large = true;
    return 0;  // makes curl abort the transfer
  }
  t->response->body.append(data, bytes);
  return bytes;
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) t->response->headers.clear();  // a new response (after 100)
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    auto value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.remove_suffix(1);
    t->response->headers[name] = std::string(value);
  }
  return size * n;
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

std::string HttpResponse::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

Result<HttpResponse> HttpClient::send(const HttpRequest& request) const {
  global_init_once();
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return Error(errc::internal, "cannot create a libcurl handle");
  CURL* h = curl.get();

  HttpResponse response;
  Transfer transfer{&request, &response, nullptr, false};
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  for (const auto& [name, value] : request.headers) {
    headers.reset(curl_slist_append(headers.release(), fmt::format("{}: {}", name, value).c_str()));
  }

  std::unique_ptr<std::FILE, FileCloser> upload;
  std::unique_ptr<std::FILE, FileCloser> download;
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(request.total_timeout.count()));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  if (request.method == "HEAD") curl_easy_setopt(h, CURLOPT_NOBODY, 1L);

  if (request.upload_file) {
    upload.reset(std::fopen(request.upload_file->c_str(), "rb"));
    if (!upload) return Error(errc::io_error, fmt::format("cannot open {}", *request.upload_file));
    std::fseek(upload.get(), 0, SEEK_END);
    long size = std::ftell(upload.get());
    std::fseek(upload.get(), 0, SEEK_SET);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READDATA, upload.get());
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(size));
  } else if (!request.body.empty() || request.method == "POST" || request.method == "PUT") {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  }
  // CURLOPT_POSTFIELDS switches the method to POST; CUSTOMREQUEST above keeps ours.
  if (request.download_file) {
    download.reset(std::fopen(request.download_file->c_str(), "wb"));
    if (!download) return Error(errc::io_error, fmt::format("cannot write {}", *request.download_file));
    transfer.download = download.get();
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());

  CURLcode rc = curl_easy_perform(h);
  if (transfer.too_large) {
    return Error(errc::too_large, fmt::format("response from {} is over {} bytes", request.url,
                                              request.max_response_bytes));
  }
  if (rc != CURLE_OK) {
    auto code = rc == CURLE_OPERATION_TIMEDOUT ? errc::timeout : errc::network_error;
    return Error(code, fmt::format("{} {}: {}", request.method, request.url, curl_easy_strerror(rc)));
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
  if (download && std::fflush(download.get()) != 0) {
    return Error(errc::io_error, fmt::format("cannot write {}", *request.download_file));
  }
  return response;
}

}  // namespace fti
