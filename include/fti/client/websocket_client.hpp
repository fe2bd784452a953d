#pragma once
// WebSocketClient: a blocking WebSocket client (ws:// and wss://) for the command line, with
// a deadline on every step. Beast stays inside src/client/websocket_client.cpp.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fti/client/server_url.hpp"
#include "fti/core/result.hpp"

namespace fti::client {

struct WebSocketOptions {
  // Name resolution, TCP, TLS and the upgrade together.
  std::chrono::milliseconds connect_timeout{10000};
  // With nothing heard for half of this the client pings; with nothing for all of it, the
  // connection counts as dropped (a server or network that vanished without a close).
  std::chrono::milliseconds idle_timeout{60000};
  std::vector<std::pair<std::string, std::string>> headers;  // sent with the upgrade request
  std::string ca_file;  // wss: trust this PEM file's certificates instead of the system's
  // Polled about every 100 ms while waiting; true ends the wait with `cancelled`.
  std::function<bool()> should_stop;
};

class WebSocketClient {
 public:
  using Deadline = std::chrono::steady_clock::time_point;

  // Opens `server` + `path`. Errors: `network_error` (unreachable, TLS, the upgrade refused:
  // the message has the HTTP status), `timeout`.
  static Result<std::unique_ptr<WebSocketClient>> connect(const ServerUrl& server, const std::string& path,
                                                         const WebSocketOptions& options);
  virtual ~WebSocketClient() = default;

  // The next text message, or nullopt once the server has closed the connection normally.
  // Errors: `timeout` (nothing by `deadline`; the connection is then closed), `network_error`
  // (the connection dropped), `cancelled` (should_stop). After an error or nullopt, read() must not be called again.
  virtual Result<std::optional<std::string>> read(Deadline deadline) = 0;
};

}  // namespace fti::client
