#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fti/core/http_client.hpp"
#include "support/temp_dir.hpp"

namespace {
// A socket that listens but never accepts: connects succeed, answers never come.
struct SilentListener {
  int fd = -1;
  int port = 0;
  SilentListener() {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd, 8);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~SilentListener() { ::close(fd); }
};

int free_port() {
  SilentListener l;
  return l.port;  // closed on return: nothing listens there any more
}
}  // namespace

TEST_CASE("http client reports a refused connection as a network error", "[core][http_client]") {
  fti::HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(free_port()) + "/";
  auto r = fti::HttpClient().send(req);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == "network_error");
}

TEST_CASE("http client gives up on a server that never answers", "[core][http_client]") {
  SilentListener silent;
  fti::HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(silent.port) + "/";
  req.total_timeout = std::chrono::milliseconds(300);
  auto r = fti::HttpClient().send(req);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == "timeout");
}

namespace {
using namespace std::chrono_literals;

void write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    auto n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

// A small HTTP/1.1 server on a raw socket: every request on a connection (kept alive) is
// answered by `reply`, which writes the raw response. Counts the connections it accepts.
class TinyServer {
 public:
  using Reply = std::function<void(int fd, const std::string& head)>;
  explicit TinyServer(Reply reply) : reply_(std::move(reply)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(listen_fd_, 16);
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~TinyServer() {
    ::shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
    acceptor_.join();
    {
      std::lock_guard lock(mutex_);
      for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : workers_) t.join();
    for (int fd : fds_) ::close(fd);
    ::close(listen_fd_);
  }
  std::string url(const std::string& path = "/") const {
    return "http://127.0.0.1:" + std::to_string(port) + path;
  }
  int port = 0;
  std::atomic<int> connections{0};

 private:
  void accept_loop() {
    for (;;) {
      int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      ++connections;
      std::lock_guard lock(mutex_);
      fds_.push_back(fd);
      workers_.emplace_back([this, fd] { serve(fd); });
    }
  }
  void serve(int fd) {
    std::string buffer;
    char chunk[4096];
    for (;;) {
      auto end = buffer.find("\r\n\r\n");
      if (end != std::string::npos) {
        std::string head = buffer.substr(0, end + 4);
        std::size_t body = content_length(head);
        if (buffer.size() >= end + 4 + body) {
          buffer.erase(0, end + 4 + body);
          reply_(fd, head);
          continue;
        }
      }
      auto n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) return;
      buffer.append(chunk, static_cast<std::size_t>(n));
    }
  }
  static std::size_t content_length(const std::string& head) {
    auto at = head.find("Content-Length: ");
    return at == std::string::npos ? 0 : std::stoul(head.substr(at + 16));
  }
  Reply reply_;
  int listen_fd_ = -1;
  std::thread acceptor_;
  std::mutex mutex_;
  std::vector<int> fds_;
  std::vector<std::thread> workers_;
};

std::string response_head(int status, std::size_t length) {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: " + std::to_string(length) +
         "\r\n\r\n";
}

// Answers 200 "hello" to everything, at once.
void say_hello(int fd, const std::string&) { write_all(fd, response_head(200, 5) + "hello"); }
}  // namespace

TEST_CASE("http client says a refused connection was refused", "[core][http_client]") {
  fti::HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(free_port()) + "/";
  auto r = fti::HttpClient().send(req);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::Contains("connection refused"));
}

TEST_CASE("first_byte_timeout fires long before the total timeout", "[core][http_client]") {
  SilentListener silent;
  fti::HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(silent.port) + "/";
  req.first_byte_timeout = 300ms;
  req.total_timeout = 20s;
  auto start = std::chrono::steady_clock::now();
  auto r = fti::HttpClient().send(req);
  auto took = std::chrono::steady_clock::now() - start;
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == "timeout");
  CHECK_THAT(r.error().message, Catch::Contains("no response within 300 ms"));
  CHECK(took >= 290ms);
  CHECK(took < 2s);
}

TEST_CASE("first_byte_timeout does not limit a slow body after the headers", "[core][http_client]") {
  TinyServer server([](int fd, const std::string&) {
    write_all(fd, response_head(200, 4) + "ab");
    std::this_thread::sleep_for(400ms);
    write_all(fd, "cd");
  });
  fti::HttpRequest req;
  req.url = server.url();
  req.first_byte_timeout = 150ms;
  auto r = fti::HttpClient().send(req);
  REQUIRE(r.ok());
  CHECK(r->body == "abcd");
}

TEST_CASE("on_body receives a 2xx body as it arrives instead of storing it", "[core][http_client]") {
  TinyServer server([](int fd, const std::string&) {
    write_all(fd, response_head(200, 9) + "one");
    for (auto part : {"two", "333"}) {
      std::this_thread::sleep_for(30ms);
      write_all(fd, part);
    }
  });
  std::vector<std::string> chunks;
  fti::HttpRequest req;
  req.url = server.url();
  req.on_body = [&](std::string_view chunk) {
    chunks.emplace_back(chunk);
    return true;
  };
  auto r = fti::HttpClient().send(req);
  REQUIRE(r.ok());
  CHECK(r->status == 200);
  CHECK(r->body.empty());
  CHECK(chunks.size() >= 2);  // delivered while the server was still writing
  std::string all;
  for (const auto& c : chunks) all += c;
  CHECK(all == "onetwo333");
}

TEST_CASE("on_body leaves an error body in the response", "[core][http_client]") {
  TinyServer server([](int fd, const std::string&) {
    write_all(fd, response_head(503, 15) + "{\"error\":\"no\"}\n");
  });
  bool called = false;
  fti::HttpRequest req;
  req.url = server.url();
  req.on_body = [&](std::string_view) { return called = true; };
  auto r = fti::HttpClient().send(req);
  REQUIRE(r.ok());
  CHECK(r->status == 503);
  CHECK(r->body == "{\"error\":\"no\"}\n");
  CHECK_FALSE(called);
}

TEST_CASE("on_body returning false aborts the transfer", "[core][http_client]") {
  TinyServer server(say_hello);
  fti::HttpRequest req;
  req.url = server.url();
  req.on_body = [](std::string_view) { return false; };
  auto r = fti::HttpClient().send(req);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == "cancelled");
}

TEST_CASE("repeated calls from a thread reuse one kept-alive connection", "[core][http_client]") {
  TinyServer server(say_hello);
  fti::HttpClient client;
  for (int i = 0; i < 5; ++i) {
    fti::HttpRequest req;
    req.method = i % 2 ? "POST" : "GET";
    req.body = i % 2 ? "payload" : "";
    req.url = server.url();
    auto r = client.send(req);
    REQUIRE(r.ok());
    CHECK(r->body == "hello");
  }
  CHECK(server.connections == 1);
}

TEST_CASE("http client works again after each kind of failed call", "[core][http_client]") {
  TinyServer server(say_hello);
  SilentListener silent;
  fti::HttpClient client;
  auto hello = [&] {
    fti::HttpRequest req;
    req.url = server.url();
    auto r = client.send(req);
    return r.ok() && r->body == "hello";
  };
  REQUIRE(hello());

  fti::HttpRequest refused;
  refused.url = "http://127.0.0.1:" + std::to_string(free_port()) + "/";
  CHECK_FALSE(client.send(refused).ok());
  CHECK(hello());

  fti::HttpRequest hanging;
  hanging.url = "http://127.0.0.1:" + std::to_string(silent.port) + "/";
  hanging.first_byte_timeout = 100ms;
  CHECK_FALSE(client.send(hanging).ok());
  CHECK(hello());

  fti::HttpRequest stopped;
  stopped.url = server.url();
  stopped.on_body = [](std::string_view) { return false; };
  CHECK_FALSE(client.send(stopped).ok());
  CHECK(hello());

  fti::HttpRequest small;
  small.url = server.url();
  small.max_response_bytes = 2;
  CHECK(client.send(small).error().code == "too_large");
  CHECK(hello());
}

TEST_CASE("a request sent from inside on_body gets its own handle", "[core][http_client]") {
  TinyServer server(say_hello);
  fti::HttpClient client;
  std::string inner;
  fti::HttpRequest outer;
  outer.url = server.url();
  outer.on_body = [&](std::string_view) {
    fti::HttpRequest req;
    req.url = server.url();
    auto r = client.send(req);
    if (r.ok()) inner = r->body;
    return true;
  };
  REQUIRE(client.send(outer).ok());
  CHECK(inner == "hello");
}

TEST_CASE("an upload from a file reports its bytes going out, up to the whole file", "[core][http_client]") {
  std::string received_length;
  TinyServer server([&](int fd, const std::string& head) {
    auto at = head.find("Content-Length: ");
    if (at != std::string::npos) received_length = head.substr(at + 16, head.find('\r', at) - at - 16);
    write_all(fd, response_head(201, 2) + "ok");
  });
  const fti::testing::TempDir dir("http-upload");
  const std::string path = (dir / "upload.bin").string();
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    REQUIRE(f);
    std::string block(64 << 10, 'x');
    for (int i = 0; i < 8; ++i) std::fwrite(block.data(), 1, block.size(), f);  // 512 KiB: no Expect
    std::fclose(f);
  }
  std::vector<std::int64_t> sent;
  std::int64_t total_seen = 0;
  fti::HttpRequest req;
  req.method = "POST";
  req.url = server.url("/up");
  req.upload_file = path;
  req.on_progress = [&](std::int64_t now, std::int64_t total) {
    sent.push_back(now);
    total_seen = total;
    return true;
  };
  auto r = fti::HttpClient().send(req);
  REQUIRE(r.ok());
  CHECK(r->status == 201);
  CHECK(received_length == std::to_string(512 << 10));
  CHECK(total_seen == 512 << 10);
  REQUIRE_FALSE(sent.empty());
  CHECK(std::is_sorted(sent.begin(), sent.end()));
  CHECK(sent.back() == 512 << 10);

  req.on_progress = [](std::int64_t, std::int64_t) { return false; };
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    std::fputs("x", f);
    std::fclose(f);
  }
  auto stopped = fti::HttpClient().send(req);
  REQUIRE_FALSE(stopped.ok());
  CHECK(stopped.error().code == "cancelled");
}

TEST_CASE("stall_timeout ends a transfer that stops moving, long before the total timeout", "[core][http_client]") {
  // Headers and a first part of the body, then nothing (until the test ends the connection).
  TinyServer server([](int fd, const std::string&) {
    write_all(fd, response_head(200, 1000) + "first part");
    char byte;
    ::recv(fd, &byte, 1, 0);
  });
  fti::HttpRequest req;
  req.url = server.url();
  req.total_timeout = 30s;
  req.stall_timeout = 1s;
  auto started = std::chrono::steady_clock::now();
  auto r = fti::HttpClient().send(req);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == "timeout");
  CHECK(r.error().message.find("no byte moved for 1000 ms") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - started < 10s);
}
