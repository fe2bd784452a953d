// WebSocket routes over real sockets on port 0, driven by a Beast WebSocket client: upgrade,
// messages in order, refusal with an HTTP answer, the client's close, a slow client, and
// the server's stop() closing with "going away".
#include <catch2/catch.hpp>

#include "fti/core/asio.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <thread>

#include "fti/core/http_client.hpp"
#include "support/ws_client.hpp"
#include "fti/http/server.hpp"
#include "fti/ops/metrics.hpp"

using namespace fti;
using namespace fti::http;

using fti::testing::WsClient;

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;

constexpr auto kDeadline = std::chrono::seconds(10);

bool wait_until(const std::function<bool()>& ready, std::chrono::milliseconds deadline = kDeadline) {
  auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return ready();
}

class TestServer {
 public:
  TestServer() { ops::declare_standard_metrics(metrics); }
  ~TestServer() { stop_and_join(); }

  void start() {
    ServerOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.node_id = node_id;
    options.on_exchange = on_exchange;
    options.on_websocket_sent = on_websocket_sent;
    server = std::make_unique<HttpServer>(options, router, metrics);
    for (auto& m : middlewares) server->use(m);
    auto port = server->listen();
    REQUIRE(port.ok());
    port_ = *port;
    thread_ = std::thread([this] {
      server->run();
      stopped_ = true;
    });
  }

  void stop_and_join() {
    if (!server || !thread_.joinable()) return;
    server->stop();
    thread_.join();
  }

  bool stopped() const { return stopped_; }
  std::uint16_t port() const { return port_; }
  double websockets() const { return metrics.value("fti_websocket_connections"); }

  Router router;
  ops::Metrics metrics;
  std::vector<Middleware> middlewares;
  std::unique_ptr<HttpServer> server;
  std::string node_id;  // ServerOptions::node_id
  std::function<void(int, double)> on_exchange;     // ServerOptions' observers
  std::function<void(double)> on_websocket_sent;

 private:
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> stopped_{false};
};

// What a route's handler was given, for the test to drive from its own thread.
struct Captured {
  std::mutex mutex;
  std::shared_ptr<WebSocketChannel> channel;
  std::string name;
  std::atomic<int> closed_calls{0};

  std::shared_ptr<WebSocketChannel> get() {
    std::lock_guard lock(mutex);
    return channel;
  }
};

WebSocketHandler capture_into(std::shared_ptr<Captured> captured) {
  return [captured](Request& req, std::shared_ptr<WebSocketChannel> channel) -> std::optional<Response> {
    channel->on_closed([captured] { ++captured->closed_calls; });
    std::lock_guard lock(captured->mutex);
    captured->name = req.params.at("name");
    captured->channel = std::move(channel);
    return std::nullopt;
  };
}

}  // namespace

TEST_CASE("a WebSocket route sends the handler's messages in order, then closes normally", "[http][websocket]") {
  TestServer ts;
  ts.router.add_websocket("/ws", [](Request&, std::shared_ptr<WebSocketChannel> channel) -> std::optional<Response> {
    // Sent before the handshake has finished: they wait for it.
    channel->send_text(R"({"n":1})");
    channel->send_text(R"({"n":2})");
    channel->close("all done");
    channel->send_text("after close: dropped");
    CHECK_FALSE(channel->is_open());
    return std::nullopt;
  });
  ts.start();

  WsClient client(ts.port());
  REQUIRE_FALSE(client.handshake("/ws"));
  CHECK(client.response.result_int() == 101);
  CHECK(client.read_all() == std::vector<std::string>{R"({"n":1})", R"({"n":2})"});
  CHECK(client.error() == websocket::error::closed);
  CHECK(client.close_reason().code == websocket::close_code::normal);
  CHECK(std::string(client.close_reason().reason.c_str()) == "all done");
  CHECK(wait_until([&] { return ts.websockets() == 0; }));
}

TEST_CASE("messages sent later from another thread arrive; the client's close ends the channel", "[http][websocket]") {
  TestServer ts;
  auto captured = std::make_shared<Captured>();
  ts.router.add_websocket("/ws/{name}", capture_into(captured));
  ts.start();

  WsClient client(ts.port());
  REQUIRE_FALSE(client.handshake("/ws/alpha"));
  REQUIRE(wait_until([&] { return captured->get() != nullptr; }));
  CHECK(captured->name == "alpha");
  auto channel = captured->get();
  CHECK(channel->is_open());
  CHECK(wait_until([&] { return ts.websockets() == 1; }));

  std::thread sender([channel] {
    for (int i = 0; i < 100; ++i) channel->send_text("m" + std::to_string(i));
  });
  sender.join();
  for (int i = 0; i < 100; ++i) {
    auto m = client.read();
    REQUIRE(m);
    CHECK(*m == "m" + std::to_string(i));
  }

  CHECK_FALSE(client.close());
  CHECK(wait_until([&] { return captured->closed_calls == 1; }));
  CHECK_FALSE(channel->is_open());
  CHECK(wait_until([&] { return ts.websockets() == 0; }));
  channel->send_text("nobody is listening");  // harmless after the end

  int late = 0;
  channel->on_closed([&] { ++late; });  // registered after the end: runs at once
  CHECK(late == 1);
}

TEST_CASE("a WebSocket upgrade can be refused with an HTTP answer, after the middlewares ran", "[http][websocket]") {
  TestServer ts;
  std::atomic<int> handler_calls{0};
  ts.middlewares.push_back([](Request& req, const Route&) -> std::optional<Response> {
    if (req.header("authorization") != "Bearer good") {
      return Response::problem(401, errc::unauthorized, "no key");
    }
    req.tenant = "acme";
    return std::nullopt;
  });
  ts.router.add_websocket("/ws/{name}",
                          [&](Request& req, std::shared_ptr<WebSocketChannel>) -> std::optional<Response> {
                            ++handler_calls;
                            CHECK(req.tenant == "acme");  // auth ran first
                            return Response::problem(404, errc::not_found, "no such job: " + req.params.at("name"));
                          });
  ts.start();

  SECTION("the middleware refuses") {
    WsClient client(ts.port());
    CHECK(client.handshake("/ws/x"));
    CHECK(client.response.result_int() == 401);
    CHECK(handler_calls == 0);
  }
  SECTION("the handler refuses") {
    WsClient client(ts.port());
    CHECK(client.handshake("/ws/x", "Bearer good"));
    CHECK(client.response.result_int() == 404);
    CHECK(client.response.body().find("no such job: x") != std::string::npos);
    CHECK(handler_calls == 1);
  }
  SECTION("a plain GET on the route asks for an upgrade") {
    HttpRequest req;
    req.url = "http://127.0.0.1:" + std::to_string(ts.port()) + "/ws/x";
    req.headers = {{"Authorization", "Bearer good"}};
    auto res = HttpClient().send(req);
    REQUIRE(res.ok());
    CHECK(res->status == 426);
    CHECK(handler_calls == 0);
  }
  CHECK(ts.websockets() == 0);
}

TEST_CASE("every answer names the instance in X-FTI-Node, the WebSocket upgrade included", "[http][websocket]") {
  TestServer ts;
  ts.node_id = "node-test1";
  ts.router.add_websocket("/ws/{name}",
                          [](Request& req, std::shared_ptr<WebSocketChannel> channel) -> std::optional<Response> {
                            if (req.params.at("name") != "open") return Response::problem(404, errc::not_found, "no");
                            channel->close("bye");
                            return std::nullopt;
                          });
  ts.router.add("GET", "/plain", [](Request&) { return Response::text(200, "hi"); });
  ts.start();

  WsClient upgraded(ts.port());
  REQUIRE_FALSE(upgraded.handshake("/ws/open"));
  CHECK(upgraded.response.result_int() == 101);
  CHECK(std::string(upgraded.response["X-FTI-Node"]) == "node-test1");

  WsClient refused(ts.port());
  CHECK(refused.handshake("/ws/other"));
  CHECK(refused.response.result_int() == 404);
  CHECK(std::string(refused.response["X-FTI-Node"]) == "node-test1");

  for (const std::string path : {"/plain", "/missing"}) {
    HttpRequest req;
    req.url = "http://127.0.0.1:" + std::to_string(ts.port()) + path;
    auto res = HttpClient().send(req);
    REQUIRE(res.ok());
    CHECK(res->header("x-fti-node") == "node-test1");
  }
}

TEST_CASE("a client too far behind is dropped instead of queueing without bound", "[http][websocket]") {
  TestServer ts;
  std::atomic<int> closed_calls{0};
  ts.router.add_websocket("/ws", [&](Request&, std::shared_ptr<WebSocketChannel> channel) -> std::optional<Response> {
    channel->on_closed([&] { ++closed_calls; });
    // Nothing can be written before the handshake, so this is a client 2000 messages behind.
    for (int i = 0; i < 2000; ++i) channel->send_text(std::string(100, 'x'));
    CHECK_FALSE(channel->is_open());
    return std::nullopt;
  });
  ts.start();

  WsClient client(ts.port());
  REQUIRE_FALSE(client.handshake("/ws"));
  auto received = client.read_all();
  CHECK(received.size() < 1024);
  CHECK(client.error() != websocket::error::closed);  // cut off, not a polite close
  CHECK(wait_until([&] { return closed_calls == 1; }));
  CHECK(wait_until([&] { return ts.websockets() == 0; }));
}

TEST_CASE("stop() closes open WebSockets with going_away and run() returns", "[http][websocket]") {
  TestServer ts;
  auto captured = std::make_shared<Captured>();
  ts.router.add_websocket("/ws/{name}", capture_into(captured));
  ts.start();

  WsClient first(ts.port());
  WsClient second(ts.port());
  REQUIRE_FALSE(first.handshake("/ws/a"));
  REQUIRE_FALSE(second.handshake("/ws/b"));
  REQUIRE(wait_until([&] { return ts.websockets() == 2; }));

  ts.server->stop();
  CHECK_FALSE(first.read());
  CHECK(first.error() == websocket::error::closed);
  CHECK(first.close_reason().code == websocket::close_code::going_away);
  CHECK_FALSE(second.read());
  CHECK(second.close_reason().code == websocket::close_code::going_away);
  CHECK(wait_until([&] { return ts.stopped(); }));
  CHECK(captured->closed_calls == 2);
  CHECK(ts.websockets() == 0);
}

TEST_CASE("the server reports each exchange and each WebSocket message's delivery time", "[http][websocket][sla]") {
  TestServer ts;
  std::mutex mutex;
  std::vector<int> statuses;
  std::vector<double> deliveries;
  ts.on_exchange = [&](int status, double seconds) {
    std::lock_guard lock(mutex);
    statuses.push_back(status);
    CHECK(seconds >= 0);
  };
  ts.on_websocket_sent = [&](double seconds) {
    std::lock_guard lock(mutex);
    deliveries.push_back(seconds);
  };
  auto captured = std::make_shared<Captured>();
  ts.router.add_websocket("/ws/{name}", capture_into(captured));
  ts.start();

  WsClient client(ts.port());
  REQUIRE_FALSE(client.handshake("/ws/a"));
  REQUIRE(wait_until([&] { return captured->get() != nullptr; }));
  // A message sent long after the handshake is timed from its hand-over, not from the handshake.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  captured->get()->send_text("late");
  CHECK(client.read() == std::optional<std::string>("late"));
  REQUIRE(wait_until([&] {
    std::lock_guard lock(mutex);
    return deliveries.size() == 1;
  }));
  {
    std::lock_guard lock(mutex);
    CHECK(deliveries[0] >= 0);
    CHECK(deliveries[0] < 0.25);
    CHECK(statuses == std::vector<int>{101});
  }
  captured->get()->close("done");
  client.read_all();
}
