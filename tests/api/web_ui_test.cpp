// The web page (GET /, /app.js, /app.css): served from the binary with its type, validators
// and security headers; written so that its Content-Security-Policy holds and server text is
// never parsed as HTML; and the WebSocket key a browser offers as a subprotocol (it cannot
// send Authorization there), through a real server in api_key mode.
// The page driven in a real browser: tests/web/upload.test.mjs.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>

#include "fti/api/api.hpp"
#include "fti/api/api_keys.hpp"
#include "fti/core/http_client.hpp"
#include "fti/core/json.hpp"
#include "fti/jobs/event_bus.hpp"
#include "fti/ops/metrics.hpp"
#include "jobs/job_test_support.hpp"
#include "support/api_server.hpp"
#include "support/ws_client.hpp"

using namespace fti;
namespace fs = std::filesystem;

namespace {

struct PageFile {
  std::string path;
  std::string source;  // under src/api/web/
  std::string content_type;
};

const std::vector<PageFile> kPageFiles = {
    {"/", "index.html", "text/html; charset=utf-8"},
    {"/app.js", "app.js", "text/javascript; charset=utf-8"},
    {"/app.css", "app.css", "text/css; charset=utf-8"},
};

std::string source_file(const std::string& name) {
  std::ifstream in(fs::path(FTI_SOURCE_DIR) / "src/api/web" / name, std::ios::binary);
  REQUIRE(in);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

std::string header_of(const http::Response& res, const std::string& name) {
  for (const auto& [n, v] : res.headers) {
    if (n == name) return v;
  }
  return {};
}

// The routes as register_routes sets them up; the page's handlers need no dependencies.
struct Page {
  Page() {
    api::ApiDeps deps;
    deps.config = std::make_shared<Config>();
    api::register_routes(router, deps);
  }

  http::Response get(const std::string& path, std::map<std::string, std::string> headers = {}) {
    auto match = router.match("GET", path);
    INFO("GET " << path);
    REQUIRE(match.route);
    CHECK(match.route->options.public_route);
    http::Request req;
    req.method = "GET";
    req.path = req.target = path;
    req.headers = std::move(headers);
    return match.route->handler(req);
  }

  http::Router router;
};

}  // namespace

TEST_CASE("the page, its script and its style are served from the binary with security headers", "[api][web]") {
  Page page;
  for (const auto& file : kPageFiles) {
    INFO(file.path);
    auto res = page.get(file.path);
    CHECK(res.status == 200);
    CHECK(header_of(res, "Content-Type") == file.content_type);
    CHECK(res.body == source_file(file.source));
    CHECK(std::regex_match(header_of(res, "ETag"), std::regex("\"[0-9a-f]{32}\"")));
    CHECK(header_of(res, "Cache-Control") == "no-cache");
    const std::string csp = header_of(res, "Content-Security-Policy");
    CHECK(csp.find("default-src 'none'") != std::string::npos);
    CHECK(csp.find("script-src 'self'") != std::string::npos);
    CHECK(csp.find("frame-ancestors 'none'") != std::string::npos);
    CHECK(csp.find("unsafe-inline") == std::string::npos);
    CHECK(csp.find("unsafe-eval") == std::string::npos);
    CHECK(header_of(res, "X-Content-Type-Options") == "nosniff");
    CHECK(header_of(res, "Referrer-Policy") == "no-referrer");
  }
  // Three different files, three different validators.
  CHECK(header_of(page.get("/"), "ETag") != header_of(page.get("/app.js"), "ETag"));
}

TEST_CASE("a file the browser already has answers 304 to its ETag", "[api][web]") {
  Page page;
  for (const auto& file : kPageFiles) {
    INFO(file.path);
    const std::string etag = header_of(page.get(file.path), "ETag");
    auto unchanged = page.get(file.path, {{"if-none-match", etag}});
    CHECK(unchanged.status == 304);
    CHECK(unchanged.body.empty());
    CHECK(header_of(unchanged, "ETag") == etag);
    auto listed = page.get(file.path, {{"if-none-match", "\"0123\", " + etag}});
    CHECK(listed.status == 304);
    auto stale = page.get(file.path, {{"if-none-match", "\"0123456789abcdef0123456789abcdef\""}});
    CHECK(stale.status == 200);
    CHECK(stale.body == source_file(file.source));
  }
}

TEST_CASE("the page keeps to its CSP, loads nothing from elsewhere and never parses server text as HTML",
          "[api][web]") {
  const std::string html = source_file("index.html");
  const std::string js = source_file("app.js");
  const std::string css = source_file("app.css");

  // Inline script or style and inline handlers would be blocked by the CSP: the page would break.
  std::smatch m;
  for (auto it = html.cbegin(); std::regex_search(it, html.cend(), m, std::regex("<script[^>]*>")); it = m[0].second) {
    INFO(m[0].str());
    CHECK(m[0].str().find("src=\"/app.js\"") != std::string::npos);
  }
  CHECK(html.find("<link rel=\"stylesheet\" href=\"/app.css\">") != std::string::npos);
  CHECK(html.find("<script src=\"/app.js\" defer></script>") != std::string::npos);
  CHECK(html.find("<style") == std::string::npos);
  CHECK_FALSE(std::regex_search(html, std::regex(R"(\sstyle=)")));
  CHECK_FALSE(std::regex_search(html, std::regex(R"(\son[a-z]+=)")));

  // No CDN, no web font: the page works offline and tells no third party about its users.
  for (const auto* text : {&html, &js, &css}) {
    CHECK(text->find("http://") == std::string::npos);
    CHECK(text->find("https://") == std::string::npos);
    CHECK(text->find("@import") == std::string::npos);
    CHECK(text->find("url(") == std::string::npos);
  }

  // Uploaded archives name their own files: server text goes in with textContent only.
  for (const char* sink : {"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"}) {
    INFO(sink);
    CHECK(js.find(sink) == std::string::npos);
  }
  CHECK(js.find("textContent") != std::string::npos);
  // A key in a WebSocket URL would end up in access logs.
  CHECK(js.find("?key=") == std::string::npos);
  CHECK(js.find("'bearer.'") != std::string::npos);
}

TEST_CASE("a browser's WebSocket authenticates with the key it offers as a subprotocol", "[api][web][keys]") {
  testing::JobStoreFixture fx;
  auto keys = api::make_sql_api_key_store(*fx.database, fx.clock);
  auto acme = keys->create("acme", false);
  REQUIRE(acme.ok());
  auto globex = keys->create("globex", false);
  REQUIRE(globex.ok());
  jobs::Job job = fx.enqueue("acme");

  jobs::EventBus bus;
  ops::Metrics metrics;
  ops::declare_standard_metrics(metrics);
  auto cfg = std::make_shared<Config>();
  cfg->auth.mode = "api_key";
  api::ApiDeps deps;
  deps.config = cfg;
  deps.database = fx.database.get();
  deps.jobs = fx.store.get();
  deps.metrics = &metrics;
  deps.clock = &fx.clock;
  deps.events = &bus;
  testing::ApiServer server(deps);

  const std::string events = "/api/v1/jobs/" + job.id + "/events";
  const auto ws_port = server.port();
  namespace bhttp = boost::beast::http;

  SECTION("the key offered as bearer.KEY opens the socket; the answer selects the page's protocol, not the key") {
    testing::WsClient browser(ws_port);
    REQUIRE_FALSE(browser.handshake(events, {}, "finishthisidea, bearer." + acme->key));
    CHECK(browser.response.result_int() == 101);
    CHECK(std::string(browser.response[bhttp::field::sec_websocket_protocol]) == "finishthisidea");
    for (const auto& field : browser.response) {
      CHECK(std::string(field.value()).find(acme->key) == std::string::npos);
    }
    auto first = browser.read();
    REQUIRE(first);
    auto doc = json::Document::parse(*first);
    REQUIRE(doc.ok());
    CHECK(doc->root().get_string("type") == "status");
    CHECK(doc->root().get("job")->get_string("id") == job.id);
  }
  SECTION("a wrong key, or none, is refused with 401 before the upgrade") {
    testing::WsClient wrong(ws_port);
    CHECK(wrong.handshake(events, {}, "finishthisidea, bearer." + acme->key + "x"));
    CHECK(wrong.response.result_int() == 401);
    testing::WsClient none(ws_port);
    CHECK(none.handshake(events, {}, "finishthisidea"));
    CHECK(none.response.result_int() == 401);
  }
  SECTION("another tenant's key finds no such job, as with an Authorization header") {
    testing::WsClient other(ws_port);
    CHECK(other.handshake(events, {}, "finishthisidea, bearer." + globex->key));
    CHECK(other.response.result_int() == 404);
  }
  SECTION("an Authorization header wins over an offered key") {
    testing::WsClient both(ws_port);
    CHECK(both.handshake(events, "Bearer " + globex->key, "finishthisidea, bearer." + acme->key));
    CHECK(both.response.result_int() == 404);
  }
  SECTION("a key is read on WebSocket routes only") {
    HttpRequest req;
    req.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/api/v1/jobs";
    req.headers = {{"Sec-WebSocket-Protocol", "finishthisidea, bearer." + acme->key}};
    auto res = HttpClient().send(req);
    REQUIRE(res.ok());
    CHECK(res->status == 401);
  }
}

TEST_CASE("in open mode a WebSocket that offers the page's protocol gets it selected", "[api][web]") {
  // The page offers it whenever a key is saved, and a browser fails a handshake whose answer
  // selects none of the offered protocols.
  auto cfg = std::make_shared<Config>();
  cfg->auth.mode = "open";
  api::ApiDeps deps;
  deps.config = cfg;
  auto auth = api::make_auth_middleware(deps);
  http::Route websocket_route{"GET", "/api/v1/jobs/{id}/events", nullptr, {}};
  websocket_route.options.websocket = true;
  http::Request offered;
  offered.headers["sec-websocket-protocol"] = "finishthisidea, bearer.fti_anything";
  CHECK_FALSE(auth(offered, websocket_route));
  CHECK(offered.websocket_protocol == "finishthisidea");
  CHECK(offered.tenant == "anonymous");

  http::Request plain;
  CHECK_FALSE(auth(plain, websocket_route));
  CHECK(plain.websocket_protocol.empty());
}
