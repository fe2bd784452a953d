#pragma once
// Router: method + path pattern ("/api/v1/jobs/{id}") -> handler. The matched pattern, not
// the raw path, labels metrics, so ids never blow up label cardinality.
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fti/http/message.hpp"

namespace fti::http {

using Handler = std::function<Response(Request&)>;

struct RouteOptions {
  bool streaming_body = false;   // the handler reads the body itself through body_stream
  bool public_route = false;     // no authentication (health, metrics, the web page)
};

struct Route {
  std::string method;
  std::string pattern;
  Handler handler;
  RouteOptions options;
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
  RouteMatch match(std::string_view method, std::string_view path) const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

}  // namespace fti::http
