#pragma once
// Router: method + path pattern ("/api/v1/jobs/{id}") -> handler. The matched pattern, not
// the raw path, labels metrics, so ids never blow up label cardinality.
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fti/http/message.hpp"

namespace fti::http {

using Handler = std::function<Response(Request&)>;
// Decides a WebSocket upgrade after the middlewares ran (so the caller is authenticated). It
// runs on the blocking pool. Returning a Response refuses the upgrade with that answer (e.g.
// 404); returning nullopt accepts it, and `channel` then carries the connection's messages.
// The handler may send on the channel before returning: messages wait for the handshake.
using WebSocketHandler = std::function<std::optional<Response>(Request&, std::shared_ptr<WebSocketChannel> channel)>;

// Answers a request from memory on the connection's I/O thread, after the middlewares, with
// no thread hand-over: it must not block (no database, no disk, no network). nullopt sends
// the request on to the route's handler on the pool (a cache miss, say).
using QuickHandler = std::function<std::optional<Response>(const Request&)>;

struct RouteOptions {
  bool streaming_body = false;   // the handler reads the body itself through body_stream
  bool public_route = false;     // no authentication (health, metrics, the web page)
  bool websocket = false;        // GET with "Upgrade: websocket"; set by Router::add_websocket
  // The handler may block long (a blob store's network calls, listing a store): it runs on
  // the blocking pool, never on the short-request pool that health probes need.
  bool blocking = false;
  // Tried first, on the I/O thread; the middlewares then run there too (see Middleware).
  QuickHandler quick;
};

struct Route {
  Route(std::string method, std::string pattern, Handler handler, RouteOptions options = {},
        WebSocketHandler websocket_handler = {})
      : method(std::move(method)),
        pattern(std::move(pattern)),
        handler(std::move(handler)),
        options(options),
        websocket_handler(std::move(websocket_handler)) {}

  std::string method;
  std::string pattern;
  Handler handler;                     // on a WebSocket route: answers requests that do not upgrade
  RouteOptions options;
  WebSocketHandler websocket_handler;  // WebSocket routes only
};

struct RouteMatch {
  const Route* route = nullptr;
  std::map<std::string, std::string> params;
  bool path_matched_other_method = false;  // for 405
  std::vector<std::string> allowed_methods;  // when the path matched: the Allow header
};

class Router {
 public:
  void add(std::string method, std::string pattern, Handler handler, RouteOptions options = {});
  // A GET route that upgrades to a WebSocket; a plain GET on it answers 426 Upgrade Required.
  void add_websocket(std::string pattern, WebSocketHandler handler, RouteOptions options = {});
  RouteMatch match(std::string_view method, std::string_view path) const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

}  // namespace fti::http
