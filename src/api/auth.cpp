// Authentication middleware: "open" gives everyone the anonymous tenant (loopback only: the
// App refuses another listen address, and requests a proxy forwarded from elsewhere are
// refused here); "api_key" looks the bearer key's SHA-256 up in api_keys. WebSocket upgrades
// from a browser may carry the key as a subprotocol instead (accept_browser_protocol).
#include <cctype>
#include <string_view>

#include "fti/core/config.hpp"
#include "fti/core/ids.hpp"
#include "fti/db/database.hpp"
#include "handlers.hpp"

namespace fti::api {

namespace {

http::Response unauthorized(std::string_view detail) {
  auto res = http::Response::problem(401, errc::unauthorized, detail);
  res.set_header("WWW-Authenticate", "Bearer");
  return res;
}

// "Bearer KEY" with the scheme case-insensitive; empty when absent or another scheme.
std::string bearer_token(const std::string& authorization) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size()) return {};
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i]) return {};
  }
  std::string token = authorization.substr(kScheme.size());
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.front()))) token.erase(0, 1);
  return token;
}

std::string trimmed(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

// The first address in X-Forwarded-For that is not loopback (anything unreadable counts as
// not loopback), or "" when there is none. A proxy in front, as config/nginx.conf sets it up,
// appends the address it took the request from, so a client cannot hide it.
std::string remote_forwarded_for(std::string_view list) {
  while (!list.empty()) {
    std::size_t comma = list.find(',');
    std::string address = trimmed(list.substr(0, comma));
    if (!address.empty() && !is_loopback_host(address)) return address;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return {};
}

// A browser cannot set headers on a WebSocket, and a key in the URL would end up in access
// logs. So the web page offers two subprotocols instead: "finishthisidea" and "bearer.KEY"
// (keys are URL-safe tokens). The upgrade selects "finishthisidea", never echoing the key.
constexpr std::string_view kBrowserProtocol = "finishthisidea";
constexpr std::string_view kKeyProtocolPrefix = "bearer.";

// Selects kBrowserProtocol when offered; returns the key offered as "bearer.KEY", or "".
std::string accept_browser_protocol(http::Request& req) {
  std::string key;
  const std::string offered = req.header("sec-websocket-protocol");
  std::string_view list = offered;
  while (!list.empty()) {
    std::size_t comma = list.find(',');
    std::string protocol = trimmed(list.substr(0, comma));
    if (protocol == kBrowserProtocol) req.websocket_protocol = protocol;
    if (protocol.rfind(kKeyProtocolPrefix, 0) == 0) key = protocol.substr(kKeyProtocolPrefix.size());
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return key;
}

struct KeyOwner {
  std::string tenant;
  bool is_admin = false;
};

// Keys are stored hashed, so a leaked database does not leak usable keys.
Result<std::optional<KeyOwner>> lookup_key(db::Database& database, const std::string& token) {
  FTI_ASSIGN_OR_RETURN(auto conn, database.acquire());
  FTI_ASSIGN_OR_RETURN(db::Rows rows,
                       conn->query("SELECT tenant, is_admin FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
                                   {db::Value(sha256_hex(token))}));
  if (rows.empty()) return std::optional<KeyOwner>();
  return std::optional<KeyOwner>(KeyOwner{rows[0].get_text(0), rows[0].get_int(1) != 0});
}

}  // namespace

http::Middleware make_auth_middleware(const ApiDeps& deps) {
  bool open = deps.config && deps.config->auth.mode == "open";
  db::Database* database = deps.database;
  return [open, database](http::Request& req, const http::Route& route) -> std::optional<http::Response> {
    std::string offered_key = route.options.websocket ? accept_browser_protocol(req) : std::string();
    if (open) {
      // "open" is for one person on their own machine. Behind a proxy that takes requests
      // from the network, anyone would be an anonymous admin: those requests are refused.
      const std::string from = remote_forwarded_for(req.header("x-forwarded-for"));
      if (!from.empty() && !route.options.public_route) {
        return unauthorized("auth.mode \"open\" serves this machine only, and this request was forwarded for " + from +
                            "; set auth.mode = \"api_key\" on instances behind a proxy");
      }
      req.tenant = "anonymous";
      req.is_admin = true;
      return std::nullopt;
    }
    if (route.options.public_route) return std::nullopt;
    std::string token = bearer_token(req.header("authorization"));
    if (token.empty()) token = offered_key;
    if (token.empty()) return unauthorized("send an API key as 'Authorization: Bearer KEY'");
    if (!database) return http::Response::problem(503, errc::unavailable, "no key database is configured");
    if (req.on_io_thread) return http::Response::defer();  // the key lookup is a database read
    auto owner = lookup_key(*database, token);
    if (!owner.ok()) {
      return http::Response::problem(503, errc::unavailable, "cannot check the API key now: " + owner.error().message);
    }
    if (!*owner) return unauthorized("the API key is unknown or revoked; create one with `finishthisidea keys create`");
    req.tenant = (*owner)->tenant;
    req.is_admin = (*owner)->is_admin;
    return std::nullopt;
  };
}

}  // namespace fti::api
