#include <catch2/catch.hpp>

#include "fti/core/json.hpp"
#include "fti/http/message.hpp"
#include "fti/http/router.hpp"

using namespace fti::http;

namespace {

Handler named(std::string name) {
  return [name](Request&) { return Response::text(200, name); };
}

std::string call(const RouteMatch& m) {
  Request req;
  return m.route->handler(req).body;
}

}  // namespace

TEST_CASE("the router picks the route by method and pattern and captures segments", "[http]") {
  Router router;
  router.add("GET", "/api/v1/jobs", named("list"));
  router.add("POST", "/api/v1/jobs", named("create"));
  router.add("GET", "/api/v1/jobs/{id}", named("get"));
  router.add("GET", "/api/v1/jobs/{id}/result", named("result"));

  auto list = router.match("GET", "/api/v1/jobs");
  REQUIRE(list.route);
  CHECK(call(list) == "list");
  CHECK(call(router.match("POST", "/api/v1/jobs")) == "create");

  auto get = router.match("GET", "/api/v1/jobs/01ABC");
  REQUIRE(get.route);
  CHECK(call(get) == "get");
  CHECK(get.params.at("id") == "01ABC");
  CHECK(get.route->pattern == "/api/v1/jobs/{id}");

  auto result = router.match("GET", "/api/v1/jobs/01ABC/result");
  REQUIRE(result.route);
  CHECK(result.params.at("id") == "01ABC");

  SECTION("no route: neither a match nor a 405") {
    for (auto path : {"/api/v1/job", "/api/v1/jobs/1/2/3", "/", "/api/v1/jobs//result", "/api/v1/jobs/"}) {
      INFO(path);
      auto m = router.match("GET", path);
      CHECK_FALSE(m.route);
      CHECK_FALSE(m.path_matched_other_method);
    }
  }

  SECTION("a known path with another method is a 405 with the allowed methods") {
    auto m = router.match("PUT", "/api/v1/jobs");
    CHECK_FALSE(m.route);
    CHECK(m.path_matched_other_method);
    CHECK(m.allowed_methods == std::vector<std::string>{"GET", "POST"});
  }

  SECTION("HEAD is answered by the GET route") {
    auto m = router.match("HEAD", "/api/v1/jobs/7");
    REQUIRE(m.route);
    CHECK(m.route->method == "GET");
  }
}

TEST_CASE("percent decoding and query parsing", "[http]") {
  CHECK(percent_decode("/a%20b/%2Fc") == "/a b//c");
  CHECK(percent_decode("a+b") == "a+b");       // '+' is literal in paths
  CHECK(percent_decode("100%") == "100%");     // malformed escapes stay as they are
  CHECK(percent_decode("%zz%4") == "%zz%4");
  CHECK(percent_decode("%e2%9c%93") == "\xe2\x9c\x93");

  auto q = parse_query("limit=10&cursor=abc%3D%3D&name=a+b&flag&&empty=&limit=99");
  CHECK(q.at("limit") == "10");  // the first occurrence wins
  CHECK(q.at("cursor") == "abc==");
  CHECK(q.at("name") == "a b");
  CHECK(q.at("flag").empty());
  CHECK(q.at("empty").empty());
  CHECK(q.size() == 5);
  CHECK(parse_query("").empty());

  Request req;
  req.query = q;
  req.headers = {{"content-type", "application/zip"}};
  CHECK(req.query_param("cursor") == std::optional<std::string>("abc=="));
  CHECK_FALSE(req.query_param("missing"));
  CHECK(req.header("content-type") == "application/zip");
  CHECK(req.header("x-missing").empty());
}

TEST_CASE("problem+json bodies carry type, title, status, detail and code", "[http]") {
  auto res = Response::problem(409, "conflict", "job is \"running\"");
  CHECK(res.status == 409);
  REQUIRE(res.headers.size() == 1);
  CHECK(res.headers[0] == std::pair<std::string, std::string>{"Content-Type", "application/problem+json"});
  auto doc = fti::json::Document::parse(res.body);
  REQUIRE(doc.ok());
  auto root = doc->root();
  CHECK(root.get_string("type") == std::optional<std::string>("https://finishthisidea.dev/errors/conflict"));
  CHECK(root.get_string("title") == std::optional<std::string>("Conflict"));
  CHECK(root.get_int("status") == std::optional<std::int64_t>(409));
  CHECK(root.get_string("detail") == std::optional<std::string>("job is \"running\""));
  CHECK(root.get_string("code") == std::optional<std::string>("conflict"));
}

TEST_CASE("errors map to HTTP statuses by code", "[http]") {
  struct Case {
    std::string_view code;
    int status;
  };
  const Case cases[] = {
      {"not_found", 404},         {"conflict", 409},     {"too_large", 413},  {"unsupported_media_type", 415},
      {"bad_request", 400},       {"bad_archive", 400},  {"unauthorized", 401}, {"unavailable", 503},
      {"db_busy", 503},           {"timeout", 504},      {"internal", 500},   {"io_error", 500},
      {"something_new", 500},
  };
  for (const auto& c : cases) {
    INFO(c.code);
    CHECK(status_for_error_code(c.code) == c.status);
  }
  auto res = Response::from_error(fti::Error("not_found", "job 7 not found"));
  CHECK(res.status == 404);
  CHECK(res.body.find("\"detail\":\"job 7 not found\"") != std::string::npos);
}

TEST_CASE("set_header replaces a header regardless of case", "[http]") {
  auto res = Response::json(200, "{}");
  res.set_header("content-type", "application/vnd.fti+json");
  res.set_header("X-A", "1");
  REQUIRE(res.headers.size() == 2);
  CHECK(res.headers[0].second == "application/vnd.fti+json");
  CHECK(reason_phrase(413) == "Payload Too Large");
}
