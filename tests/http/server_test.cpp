// HttpServer over real sockets on port 0: libcurl for ordinary requests, a raw socket where a
// test needs control over the bytes on the wire (keep-alive, Expect, chunked uploads).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <future>
#include <chrono>
#include <thread>

#include "fti/core/http_client.hpp"
#include "fti/core/ids.hpp"
#include "fti/http/server.hpp"
#include "fti/ops/metrics.hpp"

using namespace fti;
using namespace fti::http;

namespace {

class TestServer {
 public:
  explicit TestServer(ServerOptions options = {}) : options_(std::move(options)) {
    options_.host = "127.0.0.1";
    options_.port = 0;
    ops::declare_standard_metrics(metrics);
  }
  ~TestServer() {
    if (server) {
      server->stop();
      if (thread_.joinable()) thread_.join();
    }
  }

  void start() {
    server = std::make_unique<HttpServer>(options_, router, metrics);
    for (auto& m : middlewares) server->use(m);
    auto port = server->listen();
    REQUIRE(port.ok());
    port_ = *port;
    thread_ = std::thread([this] { server->run(); });
  }

  // Stops and waits for run() to return.
  void stop_and_join() {
    server->stop();
    thread_.join();
  }

  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  std::uint16_t port() const { return port_; }

  HttpResponse send(const std::string& method, const std::string& path, std::string body = {},
                    std::vector<std::pair<std::string, std::string>> headers = {}) const {
    HttpRequest req;
    req.method = method;
    req.url = url(path);
    req.body = std::move(body);
    req.headers = std::move(headers);
    req.total_timeout = std::chrono::seconds(30);
    auto r = HttpClient().send(req);
    REQUIRE(r.ok());
    return std::move(r).value();
  }

  Router router;
  ops::Metrics metrics;
  std::vector<Middleware> middlewares;
  std::unique_ptr<HttpServer> server;

 private:
  ServerOptions options_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

// A blocking client that writes exactly what the test says and parses Content-Length replies.
class RawClient {
 public:
  explicit RawClient(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    timeval tv{10, 0};  // a broken server fails the test instead of hanging it
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  }
  ~RawClient() { ::close(fd_); }

  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  struct Reply {
    int status = 0;
    std::string head;  // status line and headers, lower-cased
    std::string body;
    bool has(std::string_view header_line) const { return head.find(header_line) != std::string::npos; }
  };

  // Reads one response; status 0 when the connection closed first.
  Reply read_reply() {
    Reply reply;
    std::size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return reply;
    }
    reply.head = buffer_.substr(0, end + 2);
    std::transform(reply.head.begin(), reply.head.end(), reply.head.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    buffer_.erase(0, end + 4);
    reply.status = std::stoi(reply.head.substr(9, 3));
    std::size_t length = 0;
    auto at = reply.head.find("content-length: ");
    if (at != std::string::npos) length = std::stoul(reply.head.substr(at + 16));
    while (buffer_.size() < length) {
      if (!fill()) break;
    }
    reply.body = buffer_.substr(0, length);
    buffer_.erase(0, std::min(length, buffer_.size()));
    return reply;
  }

  // True when the server closed the connection (EOF or reset) before sending anything more.
  bool closed_by_server() {
    if (!buffer_.empty()) return false;
    char c;
    ssize_t n = ::recv(fd_, &c, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

 private:
  bool fill() {
    char chunk[65536];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string buffer_;
};

// A response body produced on demand: `size` bytes of a repeating pattern.
class PatternSource final : public BodySource {
 public:
  PatternSource(std::int64_t size, bool announce_size) : size_(size), announce_(announce_size) {}
  Result<std::size_t> read(char* buffer, std::size_t capacity) override {
    std::size_t n = static_cast<std::size_t>(std::min<std::int64_t>(static_cast<std::int64_t>(capacity), size_ - sent_));
    for (std::size_t i = 0; i < n; ++i) buffer[i] = static_cast<char>('a' + (sent_ + static_cast<std::int64_t>(i)) % 26);
    sent_ += static_cast<std::int64_t>(n);
    return n;
  }
  std::int64_t size() const override { return announce_ ? size_ : -1; }

 private:
  std::int64_t size_;
  bool announce_;
  std::int64_t sent_ = 0;
};

std::string pattern(std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>('a' + i % 26);
  return s;
}

// What a streaming handler saw of its body.
struct UploadSeen {
  std::int64_t bytes = 0;
  std::size_t largest_read = 0;
  std::string sha256;
  std::string error_code;
  std::optional<std::int64_t> content_length;
};

Handler upload_handler(std::shared_ptr<UploadSeen> seen) {
  return [seen](Request& req) {
    std::vector<char> buffer(1 << 20);  // ask for far more than one chunk
    Sha256 hash;
    seen->content_length = req.body_stream->content_length();
    while (true) {
      auto n = req.body_stream->read(buffer.data(), buffer.size());
      if (!n.ok()) {
        seen->error_code = n.error().code;
        return Response::from_error(n.error());
      }
      if (*n == 0) break;
      seen->largest_read = std::max(seen->largest_read, *n);
      seen->bytes += static_cast<std::int64_t>(*n);
      hash.update(std::string_view(buffer.data(), *n));
    }
    seen->sha256 = hash.hex_digest();
    return Response::json(201, "{\"bytes\":" + std::to_string(seen->bytes) + "}");
  };
}

RouteOptions streaming() {
  RouteOptions o;
  o.streaming_body = true;
  return o;
}

}  // namespace

TEST_CASE("the server answers routes, 404 and 405 with problem json and request ids", "[http][server]") {
  TestServer s;
  s.router.add("GET", "/hello/{name}", [](Request& req) {
    return Response::json(200, "{\"hello\":\"" + req.params.at("name") + "\",\"q\":\"" +
                                   req.query_param("q").value_or("") + "\"}");
  });
  s.router.add("POST", "/echo", [](Request& req) { return Response::text(200, req.body); });
  s.start();

  auto ok = s.send("GET", "/hello/w%20orld?q=a+b");
  CHECK(ok.status == 200);
  CHECK(ok.body == R"({"hello":"w orld","q":"a b"})");
  CHECK(ok.header("content-type") == "application/json");
  CHECK(ok.header("x-request-id").size() == 16);

  auto echoed = s.send("POST", "/echo", "some body", {{"X-Request-Id", "client-id-1"}});
  CHECK(echoed.body == "some body");
  CHECK(echoed.header("x-request-id") == "client-id-1");
  CHECK(echoed.header("content-type") == "text/plain; charset=utf-8");

  // An id that could inject into logs or headers is replaced.
  auto odd = s.send("GET", "/hello/x", {}, {{"X-Request-Id", "bad id with spaces"}});
  CHECK(odd.header("x-request-id") != "bad id with spaces");

  auto missing = s.send("GET", "/nope");
  CHECK(missing.status == 404);
  CHECK(missing.header("content-type") == "application/problem+json");
  CHECK(missing.body.find("\"code\":\"not_found\"") != std::string::npos);

  auto wrong = s.send("DELETE", "/echo");
  CHECK(wrong.status == 405);
  CHECK(wrong.header("allow") == "POST");

  // Requests are counted when their response has been written, which the client may see
  // a moment before the server's write handler runs.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (s.metrics.count("fti_http_request_duration_seconds", {{"route", "/echo"}}) < 1 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  CHECK(s.metrics.value("fti_http_requests_total", {{"route", "/hello/{name}"}, {"method", "GET"}, {"status", "200"}}) == 2);
  CHECK(s.metrics.value("fti_http_requests_total", {{"route", "unmatched"}, {"method", "GET"}, {"status", "404"}}) == 1);
  CHECK(s.metrics.count("fti_http_request_duration_seconds", {{"route", "/echo"}}) == 1);
}

TEST_CASE("keep-alive serves several requests on one connection", "[http][server]") {
  TestServer s;
  std::atomic<int> calls{0};
  s.router.add("GET", "/n", [&](Request&) { return Response::text(200, std::to_string(++calls)); });
  s.start();

  RawClient c(s.port());
  REQUIRE(c.send("GET /n HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto first = c.read_reply();
  REQUIRE(c.send("GET /n HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto second = c.read_reply();
  CHECK(first.status == 200);
  CHECK(first.body == "1");
  CHECK(second.status == 200);
  CHECK(second.body == "2");

  REQUIRE(c.send("GET /n HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  auto last = c.read_reply();
  CHECK(last.body == "3");
  CHECK(last.has("connection: close"));
  CHECK(c.closed_by_server());
}

TEST_CASE("a body over the limit is refused from its Content-Length without being read", "[http][server]") {
  ServerOptions options;
  options.max_body_bytes = 1024;
  options.max_upload_bytes = 1 << 20;
  TestServer s(options);
  std::atomic<bool> handler_ran{false};
  s.router.add("POST", "/small", [&](Request&) {
    handler_ran = true;
    return Response::text(200, "ran");
  });
  s.router.add("POST", "/upload", [&](Request&) {
    handler_ran = true;
    return Response::text(200, "ran");
  }, streaming());
  s.start();

  for (std::string path : {"/small", "/upload"}) {
    INFO(path);
    RawClient c(s.port());
    // Only the header is sent: an answer proves the server did not wait for 10 GiB.
    REQUIRE(c.send("POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: 10737418240\r\n\r\n"));
    auto reply = c.read_reply();
    CHECK(reply.status == 413);
    CHECK(reply.has("content-type: application/problem+json"));
    CHECK(reply.body.find("\"code\":\"too_large\"") != std::string::npos);
    CHECK(reply.has("connection: close"));
  }
  CHECK_FALSE(handler_ran);

  auto small = s.send("POST", "/small", std::string(2000, 'x'));
  CHECK(small.status == 413);
}

TEST_CASE("a chunked upload crossing the limit ends in 413 and a closed connection", "[http][server]") {
  ServerOptions options;
  options.max_upload_bytes = 100 * 1024;
  TestServer s(options);
  auto seen = std::make_shared<UploadSeen>();
  s.router.add("POST", "/upload", upload_handler(seen), streaming());
  s.start();

  RawClient c(s.port());
  REQUIRE(c.send("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
  std::string chunk(32 * 1024, 'z');
  for (int i = 0; i < 4; ++i) {  // 128 KiB in all, over the 100 KiB limit
    if (!c.send("8000\r\n" + chunk + "\r\n")) break;
  }
  c.send("0\r\n\r\n");
  auto reply = c.read_reply();
  CHECK(reply.status == 413);
  CHECK(reply.has("connection: close"));
  CHECK(seen->error_code == "too_large");
  CHECK(seen->bytes <= 100 * 1024);
}

TEST_CASE("a streaming route receives 20 MiB in bounded chunks", "[http][server]") {
  TestServer s;
  auto seen = std::make_shared<UploadSeen>();
  s.router.add("POST", "/upload", upload_handler(seen), streaming());
  s.start();

  std::string body = pattern(20 << 20);
  auto r = s.send("POST", "/upload", body, {{"Content-Type", "application/octet-stream"}});
  CHECK(r.status == 201);
  CHECK(r.body == "{\"bytes\":" + std::to_string(20 << 20) + "}");
  CHECK(seen->bytes == 20 << 20);
  CHECK(seen->sha256 == sha256_hex(body));
  CHECK(seen->content_length == std::optional<std::int64_t>(20 << 20));
  // The server hands over at most one 64 KiB chunk at a time, whatever the handler asks for.
  CHECK(seen->largest_read <= 64 * 1024);
  CHECK(seen->largest_read > 0);
}

TEST_CASE("Expect: 100-continue gets a 100 before the body is sent", "[http][server]") {
  TestServer s;
  auto seen = std::make_shared<UploadSeen>();
  s.router.add("POST", "/upload", upload_handler(seen), streaming());
  s.router.add("POST", "/small", [](Request& req) { return Response::text(200, req.body); });
  s.start();

  for (std::string path : {"/upload", "/small"}) {
    INFO(path);
    RawClient c(s.port());
    REQUIRE(c.send("POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
    auto interim = c.read_reply();
    CHECK(interim.status == 100);
    REQUIRE(c.send("hello"));
    auto final_reply = c.read_reply();
    CHECK(final_reply.status == (path == "/upload" ? 201 : 200));
  }
  CHECK(seen->bytes == 5);
}

TEST_CASE("streamed responses arrive whole, with and without a known size", "[http][server]") {
  TestServer s;
  static constexpr std::int64_t kSize = 5 * 1024 * 1024 + 123;
  s.router.add("GET", "/sized", [](Request&) {
    Response r;
    r.stream = std::make_unique<PatternSource>(kSize, true);
    r.set_header("Content-Type", "application/zip");
    return r;
  });
  s.router.add("GET", "/chunked", [](Request&) {
    Response r;
    r.stream = std::make_unique<PatternSource>(kSize, false);
    return r;
  });
  s.start();

  auto sized = s.send("GET", "/sized");
  CHECK(sized.status == 200);
  CHECK(sized.header("content-type") == "application/zip");
  CHECK(sized.header("content-length") == std::to_string(kSize));
  CHECK(sized.body == pattern(kSize));

  auto chunked = s.send("GET", "/chunked");
  CHECK(chunked.status == 200);
  CHECK(chunked.header("transfer-encoding") == "chunked");
  CHECK(chunked.header("content-type") == "application/octet-stream");
  CHECK(chunked.body == pattern(kSize));
}

TEST_CASE("middlewares run before the handler and can answer instead", "[http][server]") {
  TestServer s;
  s.router.add("GET", "/who", [](Request& req) { return Response::text(200, req.tenant); });
  s.middlewares.push_back([](Request& req, const Route&) -> std::optional<Response> {
    if (req.header("authorization").empty()) return Response::problem(401, "unauthorized", "no key");
    req.tenant = "t1";
    return std::nullopt;
  });
  s.router.add("GET", "/boom", [](Request&) -> Response { throw std::runtime_error("bug"); });
  s.start();

  CHECK(s.send("GET", "/who").status == 401);
  auto ok = s.send("GET", "/who", {}, {{"Authorization", "Bearer k"}});
  CHECK(ok.status == 200);
  CHECK(ok.body == "t1");
  auto boom = s.send("GET", "/boom", {}, {{"Authorization", "Bearer k"}});
  CHECK(boom.status == 500);
  CHECK(boom.body.find("\"code\":\"internal\"") != std::string::npos);
}

TEST_CASE("a quick handler answers while every request thread is busy; declining hands over to the pool",
          "[http][server]") {
  ServerOptions options;
  options.request_threads = 1;
  TestServer s(options);
  std::promise<void> entered;
  std::promise<void> release;
  auto released = release.get_future().share();
  s.router.add("GET", "/slow", [&](Request&) {
    entered.set_value();
    released.wait();
    return Response::text(200, "slow");
  });
  RouteOptions quick;
  quick.quick = [](const Request& req) -> std::optional<Response> {
    if (req.params.at("id") == "cached") return Response::json(200, R"({"from":"memory"})");
    return std::nullopt;
  };
  s.router.add("GET", "/jobs/{id}", [](Request&) { return Response::json(200, R"({"from":"store"})"); }, quick);
  s.start();

  // The one request thread is held by /slow: only an answer made on the I/O thread gets out.
  auto slow = std::async(std::launch::async, [&] { return s.send("GET", "/slow"); });
  entered.get_future().wait();
  auto hit = s.send("GET", "/jobs/cached");
  CHECK(hit.status == 200);
  CHECK(hit.body == R"({"from":"memory"})");
  CHECK(!hit.header("x-request-id").empty());

  release.set_value();
  CHECK(slow.get().body == "slow");
  auto miss = s.send("GET", "/jobs/other");
  CHECK(miss.status == 200);
  CHECK(miss.body == R"({"from":"store"})");
  // An exchange is counted when its write handler runs, which may be just after the client
  // has read the reply.
  auto counted = [&] {
    return s.metrics.value("fti_http_requests_total", {{"method", "GET"}, {"route", "/jobs/{id}"}, {"status", "200"}}) ==
               2 &&
           s.metrics.count("fti_http_request_duration_seconds", {{"route", "/jobs/{id}"}}) == 2;
  };
  auto settle = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!counted() && std::chrono::steady_clock::now() < settle) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  CHECK(counted());
}

TEST_CASE("a middleware that would block defers: it and those after it run again on the pool, those before it once",
          "[http][server]") {
  TestServer s;
  std::atomic<int> counted{0};
  std::atomic<int> deferred{0};
  std::atomic<int> key_lookups{0};
  s.middlewares.push_back([&](Request&, const Route&) -> std::optional<Response> {
    ++counted;  // a token bucket: must see each request once
    return std::nullopt;
  });
  s.middlewares.push_back([&](Request& req, const Route&) -> std::optional<Response> {
    if (req.header("authorization").empty()) return std::nullopt;
    if (req.on_io_thread) {
      ++deferred;
      return Response::defer();
    }
    ++key_lookups;
    req.tenant = "keyed";
    return std::nullopt;
  });
  RouteOptions quick;
  quick.quick = [](const Request& req) -> std::optional<Response> {
    if (req.params.at("id") == "boom") throw std::runtime_error("bug");
    return Response::text(200, "quick:" + req.tenant + (req.on_io_thread ? ":io" : ":pool"));
  };
  s.router.add("GET", "/jobs/{id}", [](Request&) { return Response::text(200, "handler"); }, quick);
  s.start();

  auto anonymous = s.send("GET", "/jobs/1");
  CHECK(anonymous.body == "quick::io");
  auto keyed = s.send("GET", "/jobs/1", {}, {{"Authorization", "Bearer k"}});
  CHECK(keyed.status == 200);
  CHECK(keyed.body == "quick:keyed:pool");  // the quick handler still answers, after the lookup
  CHECK(counted == 2);
  CHECK(deferred == 1);
  CHECK(key_lookups == 1);

  auto boom = s.send("GET", "/jobs/boom");
  CHECK(boom.status == 500);
  CHECK(boom.body.find("\"code\":\"internal\"") != std::string::npos);
}

TEST_CASE("stop() closes idle connections, lets in-flight requests finish, then run() returns", "[http][server]") {
  TestServer s;
  std::promise<void> entered;
  std::promise<void> release;
  auto release_future = release.get_future().share();
  s.router.add("GET", "/slow", [&](Request&) {
    entered.set_value();
    release_future.wait();
    return Response::text(200, "finished");
  });
  s.router.add("GET", "/fast", [](Request&) { return Response::text(200, "fast"); });
  s.start();

  // An idle keep-alive connection.
  RawClient idle(s.port());
  REQUIRE(idle.send("GET /fast HTTP/1.1\r\nHost: x\r\n\r\n"));
  REQUIRE(idle.read_reply().status == 200);

  // A request in flight.
  RawClient busy(s.port());
  REQUIRE(busy.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
  entered.get_future().wait();
  // The /fast exchange ends when its write handler runs, which may be just after the client
  // has read the reply.
  auto settle = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (s.server->in_flight() != 1 && std::chrono::steady_clock::now() < settle) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  CHECK(s.server->in_flight() == 1);

  auto stopped = std::async(std::launch::async, [&] { s.stop_and_join(); });
  CHECK(idle.closed_by_server());
  CHECK(stopped.wait_for(std::chrono::milliseconds(0)) == std::future_status::timeout);

  release.set_value();
  auto reply = busy.read_reply();
  CHECK(reply.status == 200);
  CHECK(reply.body == "finished");
  CHECK(reply.has("connection: close"));
  stopped.get();  // run() returned
  CHECK(s.server->in_flight() == 0);
}
