#pragma once
// Request and Response as the router and the API handlers see them: plain structs with no
// Beast types, so only src/http/server.cpp pays for Beast's compile time.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fti/core/result.hpp"

namespace fti::http {

// A request body delivered piece by piece (uploads). read() blocks the calling handler
// thread until the connection has more bytes; 0 means the body is complete.
class BodyStream {
 public:
  virtual ~BodyStream() = default;
  virtual Result<std::size_t> read(char* buffer, std::size_t capacity) = 0;
  // Content-Length when the client sent one.
  virtual std::optional<std::int64_t> content_length() const = 0;
};

// A response body produced piece by piece (downloads).
class BodySource {
 public:
  virtual ~BodySource() = default;
  virtual Result<std::size_t> read(char* buffer, std::size_t capacity) = 0;
  virtual std::int64_t size() const = 0;
};

// The server side of one WebSocket connection, as a WebSocket route's handler sees it. Every
// method is thread-safe and never blocks: messages are queued and written by the connection's
// I/O strand, one at a time, in the order they were sent.
class WebSocketChannel {
 public:
  virtual ~WebSocketChannel() = default;
  // Queues one text message. Ignored once the channel is closed or closing. A client that
  // falls too far behind (too many queued messages) is disconnected.
  virtual void send_text(std::string message) = 0;
  // Sends what is queued, then a normal close frame with `reason` (at most 123 bytes).
  virtual void close(std::string reason) = 0;
  // False once close() was called or the connection ended.
  virtual bool is_open() const = 0;
  // Runs `fn` once when the connection has ended for whatever reason (at once if it already
  // has), on an I/O or pool thread: it must be cheap and must not block.
  virtual void on_closed(std::function<void()> fn) = 0;
};

struct Request {
  std::string method;                         // "GET"
  std::string target;                         // "/api/v1/jobs?limit=10"
  std::string path;                           // "/api/v1/jobs" (percent-decoded)
  std::map<std::string, std::string> query;   // decoded
  std::map<std::string, std::string> headers; // names lower-cased
  std::map<std::string, std::string> params;  // from the route pattern: {id}
  std::string body;                           // small bodies only (non-streaming routes)
  BodyStream* body_stream = nullptr;          // streaming routes only
  std::string remote_address;
  std::string request_id;
  std::string tenant;                         // set by auth middleware
  bool is_admin = false;
  // A WebSocket upgrade: the subprotocol its 101 answer selects (Sec-WebSocket-Protocol), set
  // by a middleware or the route's handler to one the client offered; empty selects none.
  std::string websocket_protocol;
  // True while the middlewares run on an I/O thread (a route with a quick handler): one that
  // would have to block (a database lookup) answers Response::defer() instead.
  bool on_io_thread = false;

  std::string header(const std::string& lower_name) const;
  std::optional<std::string> query_param(const std::string& name) const;
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::unique_ptr<BodySource> stream;  // when set, streamed instead of body

  Response& set_header(std::string name, std::string value);
  static Response json(int status, std::string body);
  static Response text(int status, std::string body, std::string content_type = "text/plain; charset=utf-8");
  // application/problem+json: {"type","title","status","detail","code"}
  static Response problem(int status, std::string_view code, std::string_view detail);
  // Maps an Error's code to a fitting HTTP status.
  static Response from_error(const Error& error);
  // A middleware's "not here": run me, and everything after me, again on the pool.
  static Response defer();
  bool is_deferred() const { return status == kDeferredStatus; }
  static constexpr int kDeferredStatus = -1;  // never sent
};

int status_for_error_code(std::string_view code);
std::string_view reason_phrase(int status);

std::string percent_decode(std::string_view s);
std::map<std::string, std::string> parse_query(std::string_view query);

}  // namespace fti::http
