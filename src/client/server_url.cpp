#include "fti/client/server_url.hpp"

#include <charconv>
#include <fmt/format.h>
#include <optional>

namespace fti::client {

namespace {

Error bad_server(std::string_view text, std::string_view why) {
  return Error(errc::bad_request, fmt::format("--server {}: {}; give e.g. http://localhost:8080", text, why));
}

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

// "host", "host:port", "[v6]", "[v6]:port" into `out`; the error names what is wrong.
std::optional<std::string_view> split_authority(std::string_view authority, ServerUrl& out) {
  std::string_view port_text;
  if (authority.starts_with('[')) {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return "an IPv6 address needs its closing ]";
    out.host = std::string(authority.substr(1, close - 1));
    auto rest = authority.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(':')) return "unexpected text after the IPv6 address";
    if (!rest.empty()) port_text = rest.substr(1);
  } else {
    auto colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (out.host.empty()) return "no host";
  if (port_text.empty()) return std::nullopt;
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535) {
    return "the port must be a number from 1 to 65535";
  }
  out.port = static_cast<std::uint16_t>(port);
  return std::nullopt;
}

}  // namespace

Result<ServerUrl> parse_server_url(std::string_view text) {
  ServerUrl out;
  std::string_view rest;
  if (text.starts_with("http://")) {
    rest = text.substr(7);
  } else if (text.starts_with("https://")) {
    out.tls = true;
    rest = text.substr(8);
  } else {
    return bad_server(text, "must start with http:// or https://");
  }
  if (rest.find_first_of("?#") != std::string_view::npos) return bad_server(text, "no query or fragment");
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  if (authority.find('@') != std::string_view::npos) {
    return bad_server(text, "no user name or password in the URL; give a key with --api-key");
  }
  if (auto why = split_authority(authority, out)) return bad_server(text, *why);
  if (out.port == 0) out.port = out.tls ? 443 : 80;
  if (slash != std::string_view::npos) {
    std::string_view path = rest.substr(slash);
    while (path.ends_with('/')) path.remove_suffix(1);
    out.base_path = std::string(path);
  }
  return out;
}

std::string ServerUrl::authority() const {
  bool v6 = host.find(':') != std::string::npos;
  return fmt::format("{}{}{}:{}", v6 ? "[" : "", host, v6 ? "]" : "", port);
}

std::string ServerUrl::target(std::string_view path) const { return base_path + std::string(path); }

std::string ServerUrl::http(std::string_view path) const {
  return fmt::format("{}://{}{}", tls ? "https" : "http", authority(), target(path));
}

std::string ServerUrl::websocket(std::string_view path) const {
  return fmt::format("{}://{}{}", tls ? "wss" : "ws", authority(), target(path));
}

std::string encode_query_value(std::string_view value) {
  std::string out;
  for (char ch : value) {
    auto c = static_cast<unsigned char>(ch);
    if (is_unreserved(c)) {
      out.push_back(ch);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

}  // namespace fti::client
