#pragma once
// HttpServer: the Beast listener and sessions. HTTP/1.1 keep-alive, a timeout on every read
// and write, a body limit on every parser, handlers run on a separate blocking pool (never on
// an I/O thread; only a route's quick handler, which answers from memory, runs there), and a
// graceful drain.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "fti/core/result.hpp"
#include "fti/http/router.hpp"

namespace fti::ops {
class Metrics;
}

namespace fti::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;          // 0: any free port
  int io_threads = 2;
  int blocking_threads = 8;           // uploads, WebSocket upgrades, streamed response bodies
  // Every other request's middlewares and handler (status reads, lists, admin): short work
  // on threads of its own, about one per core, so it never waits behind long uploads and
  // does not pay for waking one of many idle threads (measured: status reads 22,000/s with
  // 8 shared threads, 32,000/s with 2).
  int request_threads = 2;
  std::int64_t max_body_bytes = 1 << 20;      // non-streaming routes
  std::int64_t max_upload_bytes = 512LL << 20; // streaming routes
  int io_timeout_seconds = 30;
  std::size_t max_header_bytes = 16 * 1024;
  // Sent as X-FTI-Node on every response, the WebSocket upgrade included, so that behind a
  // load balancer a client (or a test) can tell which instance answered. Empty: not sent.
  std::string node_id;
  // Observers (the SLA monitor). Called on an I/O thread, so they must be cheap and must not
  // block. on_exchange: once per answered request, with the status sent and the seconds from
  // the request's headers read to the response written (the fti_http_request_duration_seconds
  // figure). on_websocket_sent: once per WebSocket message written, with the seconds from its
  // hand-over to the channel (or from the handshake, if it was queued before) to the write's end.
  std::function<void(int status, double seconds)> on_exchange;
  std::function<void(double seconds)> on_websocket_sent;
};

// Runs before the handler (auth, rate limits). Returning a response ends the request there.
// On a route with a quick handler the middlewares run on the I/O thread first
// (Request::on_io_thread): there a middleware that would block returns Response::defer(),
// and it and the ones after it run again on the pool. So a middleware that counts (a token
// bucket) must not defer after counting.
using Middleware = std::function<std::optional<Response>(Request&, const Route&)>;

class HttpServer {
 public:
  HttpServer(ServerOptions options, const Router& router, ops::Metrics& metrics);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void use(Middleware middleware);
  // Binds and listens; returns the bound port (useful with port 0).
  Result<std::uint16_t> listen();
  // Runs the I/O threads; returns after stop() once every session is closed.
  void run();
  // Stops accepting; lets in-flight requests finish (bounded by the io timeout), then stops.
  void stop();
  std::int64_t in_flight() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fti::http
