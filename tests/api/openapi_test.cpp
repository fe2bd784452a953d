// The OpenAPI document (src/api/openapi.json) kept true: every route the router serves is in
// it and everything in it is served, its references resolve, and what the handlers and the
// job, report and event writers produce fits its schemas.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include "api/string_body.hpp"
#include "fakes/manual_clock.hpp"
#include "fti/api/api.hpp"
#include "fti/cleanup/archive.hpp"
#include "fti/cleanup/report.hpp"
#include "fti/core/error.hpp"
#include "fti/core/json.hpp"
#include "fti/db/database.hpp"
#include "fti/jobs/event_bus.hpp"
#include "fti/jobs/job_store.hpp"
#include "fti/ops/metrics.hpp"
#include "fti/ops/sla.hpp"
#include "fti/storage/blob_store.hpp"
#include "support/test_database.hpp"

using namespace fti;
namespace fs = std::filesystem;

namespace {

constexpr const char* kSpecFile = "src/api/openapi.json";

json::Document parse(std::string_view text) {
  auto doc = json::Document::parse(text);
  INFO((doc.ok() ? std::string() : doc.error().message));
  REQUIRE(doc.ok());
  return std::move(doc).value();
}

// The real routes over a real database and blob folder, with the dependencies the server
// gives them (as tests/api/jobs_api_test.cpp builds them).
struct Api {
  Api() {
    database = test_db.open();
    auto store = storage::open_blob_store("file:" + (test_db.dir().path() / "blobs").string());
    REQUIRE(store.ok());
    blobs = std::move(store).value();
    job_store = jobs::make_sql_job_store(*database);
    ops::declare_standard_metrics(metrics);
    auto cfg = std::make_shared<Config>();
    cfg->server.max_upload_bytes = 256 * 1024;
    deps.config = cfg;
    deps.database = database.get();
    deps.blobs = blobs.get();
    deps.jobs = job_store.get();
    deps.metrics = &metrics;
    deps.clock = &clock;
    deps.events = &events;
    deps.draining = &draining;
    deps.sla = &sla;
    api::register_routes(router, deps);
  }

  http::Response call(const std::string& method, const std::string& target, std::string body = {},
                      std::map<std::string, std::string> headers = {}) {
    http::Request req = testing::request_for(method, target, std::move(headers));
    req.tenant = "t1";
    req.is_admin = admin;
    auto match = router.match(method, req.path);
    INFO(method << " " << target);
    REQUIRE(match.route);
    req.params = match.params;
    testing::StringBody stream(std::move(body));
    if (match.route->options.streaming_body) {
      req.body_stream = &stream;
    } else {
      req.body = stream_contents(stream);
    }
    return match.route->handler(req);
  }

  static std::string stream_contents(testing::StringBody& body) {
    std::string out;
    char buffer[4096];
    while (true) {
      auto n = body.read(buffer, sizeof buffer);
      if (!n.ok() || *n == 0) return out;
      out.append(buffer, *n);
    }
  }

  testing::TestDatabase test_db;
  std::unique_ptr<db::Database> database;
  std::unique_ptr<storage::BlobStore> blobs;
  std::unique_ptr<jobs::JobStore> job_store;
  ops::Metrics metrics;
  fakes::ManualClock clock;
  jobs::EventBus events;
  std::atomic<bool> draining{false};
  ops::SlaMonitor sla{ops::sla_options_from_config(SlaConfig{}), clock.now_ms()};
  bool admin = false;  // calls as an admin key
  api::ApiDeps deps;
  http::Router router;
};

std::string header_of(const http::Response& res, std::string_view name) {
  for (const auto& [n, v] : res.headers) {
    if (n.size() == name.size() && std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        })) {
      return v;
    }
  }
  return {};
}

// Resolves "#/a/b" JSON pointers and checks values against the document's schemas: the
// subset of JSON Schema the document uses ($ref, type, const, enum, properties, required,
// additionalProperties, items, oneOf, anyOf, allOf).
class Spec {
 public:
  Spec() : doc_(parse(api::openapi_document())) {}

  json::Value root() const { return doc_.root(); }

  std::optional<json::Value> resolve(std::string_view ref) const {
    if (ref.substr(0, 2) != "#/") return std::nullopt;  // local references only
    json::Value at = doc_.root();
    std::string_view rest = ref.substr(2);
    while (true) {
      std::size_t slash = rest.find('/');
      std::string token(rest.substr(0, slash));
      for (std::size_t i; (i = token.find("~1")) != std::string::npos;) token.replace(i, 2, "/");
      for (std::size_t i; (i = token.find("~0")) != std::string::npos;) token.replace(i, 2, "~");
      auto next = at.get(token);
      if (!next) return std::nullopt;
      at = *next;
      if (slash == std::string_view::npos) return at;
      rest.remove_prefix(slash + 1);
    }
  }

  json::Value schema(const std::string& name) const {
    auto s = resolve("#/components/schemas/" + name);
    INFO("components/schemas/" << name);
    REQUIRE(s);
    return *s;
  }

  // Every way `value` does not fit `schema`, each naming where; empty when it fits.
  std::vector<std::string> check(const json::Value& schema, const json::Value& value, const std::string& where) const {
    std::vector<std::string> problems;
    auto fail = [&](const std::string& what) { problems.push_back(where + ": " + what); };
    auto append = [&](std::vector<std::string> more) { problems.insert(problems.end(), more.begin(), more.end()); };

    if (auto ref = schema.get_string("$ref")) {
      auto target = resolve(*ref);
      if (!target) return {where + ": unresolved $ref " + *ref};
      append(check(*target, value, where));
    }
    if (auto all = schema.get("allOf")) {
      for (const auto& branch : all->items()) append(check(branch, value, where));
    }
    for (const char* keyword : {"oneOf", "anyOf"}) {
      auto branches = schema.get(keyword);
      if (!branches) continue;
      int fits = 0;
      for (const auto& branch : branches->items()) fits += check(branch, value, where).empty() ? 1 : 0;
      bool ok = std::string_view(keyword) == "oneOf" ? fits == 1 : fits >= 1;
      if (!ok) fail(std::string("fits ") + std::to_string(fits) + " branches of " + keyword + ": " + value.to_json());
    }
    if (auto type = schema.get("type")) {
      std::vector<std::string> types;
      if (auto one = type->as_string()) {
        types.push_back(*one);
      } else {
        for (const auto& t : type->items()) types.push_back(t.as_string().value_or(""));
      }
      bool fits = std::any_of(types.begin(), types.end(), [&](const std::string& t) { return has_type(value, t); });
      if (!fits) fail("is not " + type->to_json() + ": " + value.to_json());
    }
    if (auto c = schema.get("const"); c && c->to_json() != value.to_json()) {
      fail("is not " + c->to_json() + ": " + value.to_json());
    }
    if (auto e = schema.get("enum")) {
      auto items = e->items();
      bool listed = std::any_of(items.begin(), items.end(), [&](const json::Value& v) { return v.to_json() == value.to_json(); });
      if (!listed) fail(value.to_json() + " is not in the enum");
    }
    if (value.is_object()) append(check_object(schema, value, where));
    if (value.is_array()) {
      if (auto items = schema.get("items")) {
        auto elements = value.items();
        for (std::size_t i = 0; i < elements.size(); ++i) {
          append(check(*items, elements[i], where + "[" + std::to_string(i) + "]"));
        }
      }
    }
    return problems;
  }

  // Checks `json_text` against components/schemas/<name>; fails the test naming each misfit.
  void require_fits(const std::string& name, std::string_view json_text) const {
    auto value = parse(json_text);
    auto problems = check(schema(name), value.root(), name);
    for (const auto& p : problems) FAIL_CHECK(p << "\n  (fix " << kSpecFile << " or the code that wrote it)");
    CHECK(problems.empty());
  }

 private:
  static bool has_type(const json::Value& v, const std::string& type) {
    if (type == "object") return v.is_object();
    if (type == "array") return v.is_array();
    if (type == "string") return v.is_string();
    if (type == "boolean") return v.is_bool();
    if (type == "null") return v.is_null();
    if (type == "number") return v.is_number();
    if (type == "integer") return v.is_number() && v.as_int().has_value();
    return false;
  }

  std::vector<std::string> check_object(const json::Value& schema, const json::Value& value,
                                        const std::string& where) const {
    std::vector<std::string> problems;
    auto properties = schema.get("properties");
    auto additional = schema.get("additionalProperties");
    for (const auto& [key, member] : value.members()) {
      std::optional<json::Value> sub = properties ? properties->get(key) : std::nullopt;
      if (sub) {
        auto more = check(*sub, member, where + "." + key);
        problems.insert(problems.end(), more.begin(), more.end());
      } else if (additional && additional->is_bool() && !*additional->as_bool()) {
        problems.push_back(where + ": \"" + key + "\" is not in the schema's properties");
      } else if (additional && additional->is_object()) {
        auto more = check(*additional, member, where + "." + key);
        problems.insert(problems.end(), more.begin(), more.end());
      }
    }
    if (auto required = schema.get("required")) {
      for (const auto& name : required->items()) {
        if (!value.get(name.as_string().value_or(""))) {
          problems.push_back(where + ": required \"" + name.as_string().value_or("") + "\" is missing");
        }
      }
    }
    return problems;
  }

  json::Document doc_;
};

constexpr std::string_view kHttpMethods[] = {"get", "put", "post", "delete", "options", "head", "patch", "trace"};

bool is_http_method(std::string_view key) {
  return std::find(std::begin(kHttpMethods), std::end(kHttpMethods), key) != std::end(kHttpMethods);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

// Every "$ref" anywhere in `value`, with where it sits.
void collect_refs(const json::Value& value, const std::string& where, std::vector<std::pair<std::string, std::string>>& out) {
  if (value.is_object()) {
    for (const auto& [key, member] : value.members()) {
      if (key == "$ref" && member.is_string()) out.emplace_back(*member.as_string(), where);
      collect_refs(member, where + "/" + key, out);
    }
  } else if (value.is_array()) {
    auto items = value.items();
    for (std::size_t i = 0; i < items.size(); ++i) collect_refs(items[i], where + "/" + std::to_string(i), out);
  }
}

jobs::Job sample_job() {
  jobs::Job job;
  job.id = "01JH8Z3Q4W5E6R7T8Y9V0W1X2Y";
  job.tenant = "t1";
  job.created_at = 1767225600000;
  job.input = {"messy.zip", 12345, std::string(64, 'a'), "uploads/01JH8Z3Q4W5E6R7T8Y9V0W1X2Y"};
  return job;
}

cleanup::Report sample_report() {
  cleanup::Report report;
  report.files_in = 4;
  report.files_out = 3;
  report.bytes_in = 4000;
  report.bytes_out = 3000;
  report.removed.push_back({"node_modules/", "dependency folder", 120});
  report.record_change("src/main.py", "normalize", 2, 1);
  report.record_created("README.md", "llm-readme", 20);
  report.findings.push_back({"config.env", 3, "secret", "aws-access-key-id", "high", "AWS key AKIA****"});
  report.languages["Python"] = {1, 40};
  report.notes.push_back("data.csv kept its trailing white space");
  report.timings_ms["extract"] = 12;
  report.llm.record_answer("ollama", 100, 50, 0.0, false);
  report.llm.record_answer("openai", 10, 5, 0.001, true);
  report.llm.skip("budget", "src/big.py");
  report.diff = {true, 2, 1, 21, 1, 900, false, 0, {{"README.md", 20, 0}}};
  return report;
}

}  // namespace

TEST_CASE("GET /api/v1/openapi.json serves the embedded OpenAPI 3.1 document, without auth", "[openapi]") {
  Api api;
  auto match = api.router.match("GET", "/api/v1/openapi.json");
  REQUIRE(match.route);
  CHECK(match.route->options.public_route);
  auto res = api.call("GET", "/api/v1/openapi.json");
  CHECK(res.status == 200);
  CHECK(header_of(res, "Content-Type") == "application/json");
  CHECK(res.body == api::openapi_document());
  auto doc = parse(res.body);
  CHECK(doc.root().get_string("openapi") == "3.1.0");
  CHECK(doc.root().get("info").has_value());
  REQUIRE(doc.root().get("paths").has_value());
  CHECK(doc.root().get("paths")->is_object());
  // Bearer keys are the default for every operation; public ones opt out.
  CHECK(doc.root().get("components")->get("securitySchemes")->get("bearer")->get_string("scheme") == "bearer");
}

TEST_CASE("every $ref in the OpenAPI document resolves", "[openapi]") {
  Spec spec;
  std::vector<std::pair<std::string, std::string>> refs;
  collect_refs(spec.root(), "#", refs);
  CHECK(refs.size() > 20);
  for (const auto& [ref, where] : refs) {
    if (!spec.resolve(ref)) FAIL_CHECK(kSpecFile << ": $ref " << ref << " at " << where << " does not resolve");
  }
}

TEST_CASE("the router serves exactly the operations the OpenAPI document describes", "[openapi]") {
  Api api;
  Spec spec;
  std::set<std::string> served;
  for (const auto& route : api.router.routes()) served.insert(route.method + " " + route.pattern);
  std::set<std::string> described;
  for (const auto& [path, item] : spec.root().get("paths")->members()) {
    for (const auto& [key, operation] : item.members()) {
      if (is_http_method(key)) described.insert(upper(key) + " " + path);
    }
  }
  CHECK(served.size() >= 12);
  for (const auto& route : served) {
    if (!described.count(route)) {
      FAIL_CHECK(route << " is served (register_routes) but missing from " << kSpecFile
                       << ": describe it under \"paths\" (and in docs/api.md)");
    }
  }
  for (const auto& operation : described) {
    if (!served.count(operation)) {
      FAIL_CHECK(operation << " is described in " << kSpecFile << " but no route serves it");
    }
  }
}

TEST_CASE("each described operation's auth, upgrade and path parameters match its route", "[openapi]") {
  Api api;
  Spec spec;
  std::regex capture(R"(\{([^}]+)\})");
  for (const auto& route : api.router.routes()) {
    const std::string name = route.method + " " + route.pattern;
    auto item = spec.root().get("paths")->get(route.pattern);
    if (!item) continue;  // reported by the coverage test
    auto operation = item->get(lower(route.method));
    if (!operation) continue;
    INFO(name << " in " << kSpecFile);
    auto responses = operation->get("responses");
    REQUIRE(responses);

    auto security = operation->get("security");
    if (route.options.public_route) {
      // Public routes opt out of the document-wide bearer requirement.
      CHECK((security && security->is_array() && security->items().empty()));
    } else {
      CHECK((!security || security->to_json().find("\"bearer\"") != std::string::npos));
      CHECK(responses->get("401").has_value());
    }

    CHECK(responses->get("101").has_value() == route.options.websocket);

    // Every {name} in the pattern is a declared path parameter (on the path or the operation).
    std::set<std::string> declared;
    for (const auto& holder : {*item, *operation}) {
      auto parameters = holder.get("parameters");
      if (!parameters) continue;
      for (auto parameter : parameters->items()) {
        if (auto ref = parameter.get_string("$ref")) {
          auto target = spec.resolve(*ref);
          if (!target) continue;  // reported by the $ref test
          parameter = *target;
        }
        if (parameter.get_string("in") == "path") declared.insert(parameter.get_string("name").value_or(""));
      }
    }
    for (std::sregex_iterator it(route.pattern.begin(), route.pattern.end(), capture), end; it != end; ++it) {
      INFO("path parameter {" << (*it)[1].str() << "}");
      CHECK(declared.count((*it)[1].str()) == 1);
    }
  }
}

TEST_CASE("the ErrorCode enum in the OpenAPI document is the errc list", "[openapi]") {
  Spec spec;
  std::set<std::string> documented;
  for (const auto& code : spec.schema("ErrorCode").get("enum")->items()) documented.insert(code.as_string().value_or(""));

  // The source is the list's one home; reading it keeps this test in step without a copy.
  std::ifstream in(fs::path(FTI_SOURCE_DIR) / "include/fti/core/error.hpp");
  REQUIRE(in);
  std::string header((std::istreambuf_iterator<char>(in)), {});
  std::set<std::string> codes;
  std::regex constant(R"re(inline constexpr std::string_view \w+ = "([a-z_]+)";)re");
  for (std::sregex_iterator it(header.begin(), header.end(), constant), end; it != end; ++it) codes.insert((*it)[1].str());
  CHECK(codes.size() >= 20);

  for (const auto& code : codes) {
    if (!documented.count(code)) FAIL_CHECK("errc " << code << " is missing from ErrorCode in " << kSpecFile);
  }
  for (const auto& code : documented) {
    CHECK(is_stable_error_code(code));
    if (!codes.count(code)) FAIL_CHECK("ErrorCode " << code << " in " << kSpecFile << " is no errc code");
  }
}

TEST_CASE("the job, report, event and problem JSON the code writes fit the document's schemas", "[openapi]") {
  Spec spec;

  SECTION("jobs in each state") {
    jobs::Job queued = sample_job();
    spec.require_fits("Job", jobs::job_to_json(queued));

    jobs::Job failed = sample_job();
    failed.status = jobs::JobStatus::failed;
    failed.attempt = 3;
    failed.started_at = failed.created_at + 1000;
    failed.finished_at = failed.created_at + 2000;
    failed.error = jobs::JobError{std::string(errc::bad_archive), "the archive is truncated"};
    failed.peak_rss_bytes = 50'000'000;
    failed.cpu_ms = 1200;
    spec.require_fits("Job", jobs::job_to_json(failed));

    // The reaper's own code, outside errc.
    jobs::Job retrying = sample_job();
    retrying.status = jobs::JobStatus::retrying;
    retrying.attempt = 1;
    retrying.error = jobs::JobError{"lease_expired", "the worker running this attempt stopped responding"};
    spec.require_fits("Job", jobs::job_to_json(retrying));
    retrying.error->code = "no_such_code";
    CHECK_FALSE(spec.check(spec.schema("Job"), parse(jobs::job_to_json(retrying)).root(), "Job").empty());

    jobs::Job succeeded = sample_job();
    succeeded.status = jobs::JobStatus::succeeded;
    succeeded.progress = 100;
    succeeded.stage = "pack";
    succeeded.result_json = sample_report().result_json();
    succeeded.peak_rss_bytes = 1;
    spec.require_fits("Job", jobs::job_to_json(succeeded));
  }

  SECTION("the report") { spec.require_fits("Report", sample_report().to_json()); }

  SECTION("WebSocket events") {
    jobs::Job job = sample_job();
    spec.require_fits("JobEvent", jobs::job_state_event(job).json);
    job.status = jobs::JobStatus::succeeded;
    CHECK(jobs::job_state_event(job).type == "completed");
    spec.require_fits("JobEvent", jobs::job_state_event(job).json);
    spec.require_fits("JobEvent", jobs::job_progress_event(job, 40, "normalize").json);
  }

  SECTION("problems") {
    spec.require_fits("Problem", http::Response::problem(404, errc::not_found, "job x not found").body);
    spec.require_fits("Problem", http::Response::from_error(Error(errc::unavailable, "draining")).body);
  }
}

TEST_CASE("the handlers' answers fit the document's schemas and statuses", "[openapi]") {
  Api api;
  Spec spec;
  auto documented_status = [&](const std::string& path, const std::string& method, int status) {
    INFO(upper(method) << " " << path << " answered " << status);
    auto item = spec.root().get("paths")->get(path);
    auto operation = item ? item->get(method) : std::nullopt;
    auto responses = operation ? operation->get("responses") : std::nullopt;
    REQUIRE(responses);  // a missing operation is named by the coverage test
    CHECK(responses->get(std::to_string(status)).has_value());
  };

  auto health = api.call("GET", "/healthz");
  documented_status("/healthz", "get", health.status);
  spec.require_fits("Health", health.body);

  auto ready = api.call("GET", "/readyz");
  documented_status("/readyz", "get", ready.status);
  spec.require_fits("Ready", ready.body);
  api.draining = true;
  auto draining = api.call("GET", "/readyz");
  CHECK(draining.status == 503);
  documented_status("/readyz", "get", draining.status);
  CHECK(header_of(draining, "Retry-After") == "5");
  spec.require_fits("Problem", draining.body);
  api.draining = false;

  // A real upload through the streaming route.
  fs::path scratch = api.test_db.dir().path() / "zip";
  fs::create_directories(scratch / "tree");
  std::ofstream(scratch / "tree" / "main.py") << "print('hi')\n";
  REQUIRE(cleanup::pack_zip(scratch / "tree", scratch / "in.zip").ok());
  std::ifstream zip_in(scratch / "in.zip", std::ios::binary);
  std::string zip((std::istreambuf_iterator<char>(zip_in)), {});

  auto created = api.call("POST", "/api/v1/jobs?filename=messy.zip&priority=high", zip, {{"content-type", "application/zip"}});
  REQUIRE(created.status == 201);
  documented_status("/api/v1/jobs", "post", created.status);
  spec.require_fits("Job", created.body);
  const std::string id = parse(created.body).root().get_string("id").value_or("");
  CHECK(header_of(created, "Location") == "/api/v1/jobs/" + id);

  auto not_archive = api.call("POST", "/api/v1/jobs", std::string(600, 'x'), {{"content-type", "application/zip"}});
  CHECK(not_archive.status == 415);
  documented_status("/api/v1/jobs", "post", not_archive.status);
  spec.require_fits("Problem", not_archive.body);

  auto list = api.call("GET", "/api/v1/jobs?limit=5");
  documented_status("/api/v1/jobs", "get", list.status);
  spec.require_fits("JobList", list.body);

  auto job = api.call("GET", "/api/v1/jobs/" + id);
  documented_status("/api/v1/jobs/{id}", "get", job.status);
  spec.require_fits("Job", job.body);

  auto missing = api.call("GET", "/api/v1/jobs/NOPE");
  documented_status("/api/v1/jobs/{id}", "get", missing.status);
  spec.require_fits("Problem", missing.body);

  auto too_early = api.call("GET", "/api/v1/jobs/" + id + "/result");
  CHECK(too_early.status == 409);
  documented_status("/api/v1/jobs/{id}/result", "get", too_early.status);
  auto diff_too_early = api.call("GET", "/api/v1/jobs/" + id + "/diff");
  CHECK(diff_too_early.status == 409);
  documented_status("/api/v1/jobs/{id}/diff", "get", diff_too_early.status);
  spec.require_fits("Problem", diff_too_early.body);
  auto bad_format = api.call("GET", "/api/v1/jobs/" + id + "/report?format=pdf");
  documented_status("/api/v1/jobs/{id}/report", "get", bad_format.status);

  auto retry_waiting = api.call("POST", "/api/v1/jobs/" + id + "/retry");
  CHECK(retry_waiting.status == 409);
  documented_status("/api/v1/jobs/{id}/retry", "post", retry_waiting.status);

  auto cancelled = api.call("DELETE", "/api/v1/jobs/" + id);
  documented_status("/api/v1/jobs/{id}", "delete", cancelled.status);
  spec.require_fits("Job", cancelled.body);
  auto again = api.call("DELETE", "/api/v1/jobs/" + id);
  CHECK(again.status == 409);
  documented_status("/api/v1/jobs/{id}", "delete", again.status);

  auto retried = api.call("POST", "/api/v1/jobs/" + id + "/retry");
  documented_status("/api/v1/jobs/{id}/retry", "post", retried.status);
  spec.require_fits("Job", retried.body);

  // A plain GET on the WebSocket route.
  auto plain = api.call("GET", "/api/v1/jobs/" + id + "/events");
  CHECK(plain.status == 426);
  documented_status("/api/v1/jobs/{id}/events", "get", plain.status);
  spec.require_fits("Problem", plain.body);
}

TEST_CASE("the SLA report fits the document's schema, empty and with violations", "[openapi][sla]") {
  Api api;
  Spec spec;
  auto refused = api.call("GET", "/api/v1/admin/sla");
  CHECK(refused.status == 403);
  spec.require_fits("Problem", refused.body);
  api.admin = true;
  auto empty = api.call("GET", "/api/v1/admin/sla");
  CHECK(empty.status == 200);
  spec.require_fits("Sla", empty.body);
  for (int i = 0; i < 10; ++i) api.sla.record_api(api.clock.now_ms(), 2.0, i < 5 ? 200 : 503);
  api.sla.record_cleanup(api.clock.now_ms(), 1000, ops::CleanupOutcome::failed_service);
  api.sla.record_websocket(api.clock.now_ms(), 0.5);
  auto full = api.call("GET", "/api/v1/admin/sla");
  CHECK(full.status == 200);
  CHECK(full.body.find("\"violations\":[]") == std::string::npos);
  spec.require_fits("Sla", full.body);
}

TEST_CASE("the schema check used above rejects what does not fit", "[openapi]") {
  Spec spec;
  auto misfits = [&](const std::string& name, std::string_view text) {
    return !spec.check(spec.schema(name), parse(text).root(), name).empty();
  };
  CHECK_FALSE(misfits("JobList", R"({"jobs":[],"next_cursor":null})"));
  CHECK(misfits("JobList", R"({"jobs":[],"next_cursor":null,"extra":1})"));
  CHECK(misfits("Problem", R"({"type":"x","title":"t","status":400,"detail":"d"})"));
  CHECK(misfits("Problem", R"({"type":"x","title":"t","status":400,"detail":"d","code":"nope"})"));
  CHECK(misfits("JobEvent", R"({"type":"progress","job_id":"x","progress":"40","stage":"s"})"));
  CHECK(misfits("JobEvent", R"({"type":"exploded","job_id":"x","progress":40,"stage":"s"})"));
}
