#include "fti/core/http_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <fmt/format.h>
#include <memory>
#include <mutex>

namespace fti {
namespace {

using Clock = std::chrono::steady_clock;

void global_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// A multi handle with one easy handle. Driving the easy handle through our own multi loop
// (rather than curl_easy_perform) lets us wake up exactly at the first-byte deadline; the
// multi handle owns the connection cache, so it must outlive single calls to keep
// connections alive.
class CurlSession {
 public:
  CurlSession() : multi_(curl_multi_init()), easy_(curl_easy_init()) {}
  ~CurlSession() {
    if (multi_) curl_multi_cleanup(multi_);
    if (easy_) curl_easy_cleanup(easy_);
  }
  CurlSession(const CurlSession&) = delete;
  CurlSession& operator=(const CurlSession&) = delete;
  bool valid() const { return multi_ && easy_; }
  CURLM* multi() const { return multi_; }
  CURL* easy() const { return easy_; }

 private:
  CURLM* multi_;
  CURL* easy_;
};

// The calling thread's session, or a fresh one when that is busy (a callback of a transfer
// in progress is itself sending a request).
class SessionLease {
 public:
  SessionLease() {
    thread_local CurlSession cached;
    thread_local bool busy = false;
    if (!busy && cached.valid()) {
      session_ = &cached;
      busy_ = &busy;
      busy = true;
    } else {
      own_ = std::make_unique<CurlSession>();
      session_ = own_.get();
    }
  }
  ~SessionLease() {
    // Forgets options that point into the finished call (headers, error buffer) while
    // keeping the connection and DNS caches.
    if (session_->easy()) curl_easy_reset(session_->easy());
    if (busy_) *busy_ = false;
  }
  SessionLease(const SessionLease&) = delete;
  SessionLease& operator=(const SessionLease&) = delete;
  CurlSession& operator*() const { return *session_; }
  CurlSession* operator->() const { return session_; }

 private:
  CurlSession* session_ = nullptr;
  std::unique_ptr<CurlSession> own_;
  bool* busy_ = nullptr;
};

struct Transfer {
  const HttpRequest* request = nullptr;
  HttpResponse* response = nullptr;
  std::FILE* download = nullptr;
  long status = 0;  // of the last status line; 0 until one arrives
  bool too_large = false;
  bool consumer_stopped = false;
  bool caller_stopped = false;  // on_progress said stop
  char error_text[CURL_ERROR_SIZE] = {};
};

bool is_success(long status) { return status >= 200 && status < 300; }

std::size_t store_body(Transfer* t, const char* data, std::size_t bytes) {
  if (static_cast<std::int64_t>(t->response->body.size() + bytes) > t->request->max_response_bytes) {
    t->too_large = true;
    return 0;  // makes curl abort the transfer
  }
  t->response->body.append(data, bytes);
  return bytes;
}

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::size_t bytes = size * n;
  if (t->request->on_body && is_success(t->status)) {
    if (t->request->on_body(std::string_view(data, bytes))) return bytes;
    t->consumer_stopped = true;
    return 0;
  }
  if (t->download) return std::fwrite(data, 1, bytes, t->download);
  return store_body(t, data, bytes);
}

int on_transfer_info(void* user, curl_off_t, curl_off_t, curl_off_t upload_total, curl_off_t upload_now) {
  auto* t = static_cast<Transfer*>(user);
  if (t->request->on_progress(static_cast<std::int64_t>(upload_now), static_cast<std::int64_t>(upload_total))) {
    return 0;
  }
  t->caller_stopped = true;
  return 1;  // makes curl abort the transfer
}

// "HTTP/1.1 200 OK" -> 200; 0 when the line is not a status line.
long parse_status_line(std::string_view line) {
  if (line.rfind("HTTP/", 0) != 0) return 0;
  auto space = line.find(' ');
  if (space == std::string_view::npos) return 0;
  long status = 0;
  for (std::size_t i = space + 1; i < line.size() && std::isdigit(static_cast<unsigned char>(line[i])); ++i) {
    status = status * 10 + (line[i] - '0');
  }
  return status;
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  if (long status = parse_status_line(line)) {
    t->status = status;
    t->response->headers.clear();  // a new response (after 100 Continue)
    return size * n;
  }
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

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

// How a transfer driven by run_transfer ended.
struct Outcome {
  CURLcode code = CURLE_OK;
  bool first_byte_timed_out = false;
  bool multi_failed = false;
};

// The first-byte deadline is only armed until a final (non-1xx) status line has arrived.
bool awaiting_first_byte(const Transfer& t) { return t.status < 200; }

Outcome run_transfer(CurlSession& session, const Transfer& transfer) {
  const auto& request = *transfer.request;
  const bool has_deadline = request.first_byte_timeout.count() > 0;
  const auto deadline = Clock::now() + request.first_byte_timeout;
  Outcome outcome;
  curl_multi_add_handle(session.multi(), session.easy());
  for (;;) {
    int running = 0;
    if (curl_multi_perform(session.multi(), &running) != CURLM_OK) {
      outcome.multi_failed = true;
      break;
    }
    if (running == 0) {
      int queued = 0;
      while (CURLMsg* msg = curl_multi_info_read(session.multi(), &queued)) {
        if (msg->msg == CURLMSG_DONE) outcome.code = msg->data.result;
      }
      break;
    }
    int wait_ms = 1000;
    if (has_deadline && awaiting_first_byte(transfer)) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) {
        outcome.first_byte_timed_out = true;
        break;
      }
      wait_ms = static_cast<int>(std::min<std::int64_t>(wait_ms, left.count() + 1));
    }
    curl_multi_poll(session.multi(), nullptr, 0, wait_ms, nullptr);
  }
  // Removing an unfinished transfer closes its connection; a finished one stays cached.
  curl_multi_remove_handle(session.multi(), session.easy());
  return outcome;
}

// The error for a failed transfer, saying which limit or failure it was.
Error transfer_error(const HttpRequest& request, CURL* h, const Transfer& t, const Outcome& o) {
  auto where = fmt::format("{} {}", request.method, request.url);
  if (o.first_byte_timed_out) {
    return Error(errc::timeout, fmt::format("{}: no response within {} ms", where,
                                            request.first_byte_timeout.count()));
  }
  if (o.multi_failed) return Error(errc::internal, fmt::format("{}: libcurl multi interface failed", where));
  if (o.code == CURLE_OPERATION_TIMEDOUT) {
    // Both the total and the stall limit end as a timeout; the elapsed time tells them apart.
    curl_off_t elapsed_us = 0;
    curl_easy_getinfo(h, CURLINFO_TOTAL_TIME_T, &elapsed_us);
    if (request.stall_timeout.count() > 0 && elapsed_us / 1000 < request.total_timeout.count()) {
      return Error(errc::timeout, fmt::format("{}: no byte moved for {} ms", where, request.stall_timeout.count()));
    }
    curl_off_t connected_us = 0;
    curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &connected_us);
    if (connected_us == 0 && t.status == 0) {
      auto limit = std::min(request.connect_timeout, request.total_timeout);
      return Error(errc::timeout, fmt::format("{}: no connection within {} ms", where, limit.count()));
    }
    return Error(errc::timeout, fmt::format("{}: no complete response within {} ms", where,
                                            request.total_timeout.count()));
  }
  long os_errno = 0;
  curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
  if (o.code == CURLE_COULDNT_CONNECT && os_errno == ECONNREFUSED) {
    return Error(errc::network_error, fmt::format("{}: connection refused", where));
  }
  const char* detail = t.error_text[0] ? t.error_text : curl_easy_strerror(o.code);
  return Error(errc::network_error, fmt::format("{}: {}", where, detail));
}

}  // namespace

std::string HttpResponse::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

Result<HttpResponse> HttpClient::send(const HttpRequest& request) const {
  global_init_once();
  SessionLease session;
  if (!session->valid()) return Error(errc::internal, "cannot create a libcurl handle");
  CURL* h = session->easy();

  HttpResponse response;
  Transfer transfer;
  transfer.request = &request;
  transfer.response = &response;
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  for (const auto& [name, value] : request.headers) {
    headers.reset(curl_slist_append(headers.release(), fmt::format("{}: {}", name, value).c_str()));
  }

  std::unique_ptr<std::FILE, FileCloser> upload;
  std::unique_ptr<std::FILE, FileCloser> download;
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, transfer.error_text);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(request.total_timeout.count()));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  if (request.method == "HEAD") curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  if (request.ca_file) curl_easy_setopt(h, CURLOPT_CAINFO, request.ca_file->c_str());
  if (request.stall_timeout.count() > 0) {
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, std::max(1L, static_cast<long>(request.stall_timeout.count() / 1000)));
  }
  if (request.on_progress) {
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_transfer_info);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &transfer);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  }

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

  Outcome outcome = run_transfer(*session, transfer);
  if (transfer.too_large) {
    return Error(errc::too_large, fmt::format("response from {} is over {} bytes", request.url,
                                              request.max_response_bytes));
  }
  if (transfer.caller_stopped) {
    return Error(errc::cancelled, fmt::format("{} {}: stopped by the caller", request.method, request.url));
  }
  if (transfer.consumer_stopped) {
    return Error(errc::cancelled, fmt::format("{} {}: the body consumer stopped the transfer",
                                              request.method, request.url));
  }
  if (outcome.first_byte_timed_out || outcome.multi_failed || outcome.code != CURLE_OK) {
    return transfer_error(request, h, transfer, outcome);
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
  if (download && std::fflush(download.get()) != 0) {
    return Error(errc::io_error, fmt::format("cannot write {}", *request.download_file));
  }
  return response;
}

}  // namespace fti
