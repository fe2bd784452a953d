// Route matching: literal segments compare exactly, "{name}" captures one non-empty segment.
#include "fti/http/router.hpp"

#include <string_view>

namespace fti::http {

namespace {

// Splits "/a/b/c" into {"a","b","c"}; a trailing slash gives a final empty segment so that
// "/jobs/" does not silently match "/jobs".
std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  if (path.empty()) return parts;
  while (true) {
    std::size_t slash = path.find('/');
    parts.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return parts;
}

bool is_capture(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

bool match_pattern(std::string_view pattern, const std::vector<std::string_view>& path_parts,
                   std::map<std::string, std::string>& params) {
  auto pattern_parts = split_path(pattern);
  if (pattern_parts.size() != path_parts.size()) return false;
  std::map<std::string, std::string> captured;
  for (std::size_t i = 0; i < pattern_parts.size(); ++i) {
    std::string_view want = pattern_parts[i];
    std::string_view got = path_parts[i];
    if (is_capture(want)) {
      if (got.empty()) return false;
      captured.emplace(std::string(want.substr(1, want.size() - 2)), std::string(got));
    } else if (want != got) {
      return false;
    }
  }
  params = std::move(captured);
  return true;
}

}  // namespace

void Router::add(std::string method, std::string pattern, Handler handler, RouteOptions options) {
  routes_.push_back(Route{std::move(method), std::move(pattern), std::move(handler), options});
}

void Router::add_websocket(std::string pattern, WebSocketHandler handler, RouteOptions options) {
  options.websocket = true;
  options.streaming_body = false;
  auto plain_get = [](Request& req) {
    auto res = Response::problem(426, errc::bad_request,
                                 req.path + " is a WebSocket endpoint; connect with a WebSocket client");
    res.set_header("Upgrade", "websocket");
    return res;
  };
  routes_.push_back(Route{"GET", std::move(pattern), std::move(plain_get), options, std::move(handler)});
}

RouteMatch Router::match(std::string_view method, std::string_view path) const {
  RouteMatch result;
  auto parts = split_path(path);
  for (const auto& route : routes_) {
    std::map<std::string, std::string> params;
    if (!match_pattern(route.pattern, parts, params)) continue;
    // HEAD is answered by the GET handler (the server drops the body).
    if (route.method == method || (method == "HEAD" && route.method == "GET")) {
      result.route = &route;
      result.params = std::move(params);
      result.path_matched_other_method = false;
      return result;
    }
    result.path_matched_other_method = true;
    result.allowed_methods.push_back(route.method);
  }
  return result;
}

}  // namespace fti::http
