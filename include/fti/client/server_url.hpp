#pragma once
// The server a `submit` talks to, from --server: http(s)://HOST[:PORT][/PREFIX]. One parsed
// form gives the HTTP URLs and the WebSocket URL (ws:// or wss://) of the same server.
#include <cstdint>
#include <string>
#include <string_view>

#include "fti/core/result.hpp"

namespace fti::client {

struct ServerUrl {
  bool tls = false;       // https (and so wss)
  std::string host;       // a name or an address; IPv6 without its brackets
  std::uint16_t port = 0;
  std::string base_path;  // "" or "/prefix" (a server behind a proxy path), no trailing slash

  // "http://host:port/prefix" + path; path starts with '/'.
  std::string http(std::string_view path) const;
  // "ws://host:port/prefix" + path, "wss://" when tls.
  std::string websocket(std::string_view path) const;
  // The request target on this server: base_path + path.
  std::string target(std::string_view path) const;
  // The Host header: "host:port", "[::1]:port".
  std::string authority() const;
};

// Errors (bad_request) say what a good value looks like; a missing scheme is refused rather
// than guessed, as http and https differ.
Result<ServerUrl> parse_server_url(std::string_view text);

// Percent-encodes a query parameter's value (RFC 3986 unreserved characters stay).
std::string encode_query_value(std::string_view value);

}  // namespace fti::client
