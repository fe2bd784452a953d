// Admin endpoints for flags and surge mode, the surge responder, and load shedding, through
// the real router and middlewares over a real SQLite job store.
#include <catch2/catch.hpp>

#include <map>
#include <thread>

#include "api/string_body.hpp"
#include "fakes/fake_blob_store.hpp"
#include "fakes/manual_clock.hpp"
#include "fti/api/api.hpp"
#include "fti/api/surge_responder.hpp"
#include "fti/core/json.hpp"
#include "fti/db/admin.hpp"
#include "fti/jobs/job_store.hpp"
#include "fti/llm/router.hpp"
#include "fti/ops/dependency_monitor.hpp"
#include "fti/ops/flags.hpp"
#include "fti/ops/metrics.hpp"
#include "fti/ops/sla.hpp"
#include "fti/ops/surge.hpp"
#include "support/test_database.hpp"

using namespace fti;

namespace {

struct Admin {
  explicit Admin(std::function<void(Config&)> tune = {}) {
    database = test_db.open();
    job_store = jobs::make_sql_job_store(*database);
    ops::declare_standard_metrics(metrics);
    auto cfg = std::make_shared<Config>();
    cfg->llm.mode = "auto";
    if (tune) tune(*cfg);
    config = cfg;
    flags = std::make_unique<ops::FeatureFlags>(config->flags);
    surge = std::make_unique<ops::SurgeController>(ops::SurgeOptions{}, clock.now_ms());
    LlmConfig llm = config->llm;
    llm.openai_base_url = "http://127.0.0.1:9/v1";  // never called here
    auto made = llm::make_router(llm, clock, nullptr, nullptr, &metrics);
    REQUIRE(made.ok());
    router_llm = std::move(*made);
    responder = std::make_unique<api::SurgeResponder>(config, *flags, router_llm.get(), metrics);
    surge->on_change([this](const ops::SurgeStatus& s) { responder->apply(s); });
    sla = std::make_unique<ops::SlaMonitor>(ops::sla_options_from_config(config->sla), clock.now_ms());

    deps.config = config;
    deps.database = database.get();
    deps.jobs = job_store.get();
    deps.blobs = &blobs;
    deps.metrics = &metrics;
    deps.clock = &clock;
    deps.flags = flags.get();
    deps.surge = surge.get();
    deps.sla = sla.get();
    deps.in_flight = [this] { return in_flight; };
    api::register_routes(router, deps);
    middlewares = {api::make_admission_middleware(deps), api::make_tenant_limit_middleware(deps)};
  }

  // As the server runs a request: admission, then (auth: tenant and admin given here), then
  // the tenant's limits, then the handler.
  http::Response call(const std::string& method, const std::string& path, std::string body = {},
                      bool admin = true, const std::string& tenant = "t1", const std::string& from = "10.0.0.7") {
    http::Request req = testing::request_for(method, path);
    req.remote_address = from;
    auto match = router.match(method, req.path);
    REQUIRE(match.route);
    req.params = match.params;
    testing::StringBody stream(body);
    if (match.route->options.streaming_body) {
      req.body_stream = &stream;
      req.headers["content-type"] = "application/zip";
    } else {
      req.body = body;
    }
    if (auto early = middlewares[0](req, *match.route)) return std::move(*early);
    req.tenant = tenant;
    req.is_admin = admin;
    if (auto early = middlewares[1](req, *match.route)) return std::move(*early);
    return match.route->handler(req);
  }

  static json::Document parse(const http::Response& r) {
    auto doc = json::Document::parse(r.body);
    REQUIRE(doc.ok());
    return std::move(*doc);
  }

  std::string header(const http::Response& r, const std::string& name) const {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return {};
  }

  testing::TestDatabase test_db;
  std::unique_ptr<db::Database> database;
  std::unique_ptr<jobs::JobStore> job_store;
  fakes::FakeBlobStore blobs;
  ops::Metrics metrics;
  fakes::ManualClock clock;
  std::shared_ptr<const Config> config;
  std::unique_ptr<ops::FeatureFlags> flags;
  std::unique_ptr<ops::SurgeController> surge;
  std::unique_ptr<llm::Router> router_llm;
  std::unique_ptr<api::SurgeResponder> responder;
  std::unique_ptr<ops::SlaMonitor> sla;
  std::int64_t in_flight = 1;
  api::ApiDeps deps;
  http::Router router;
  std::vector<http::Middleware> middlewares;
};

// A small valid zip (one empty file), enough for the upload handler to accept.
std::string tiny_zip() {
  static const unsigned char bytes[] = {
      0x50, 0x4b, 0x03, 0x04, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0x21, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 'a',
      0x50, 0x4b, 0x01, 0x02, 0x14, 0, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0x21, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0,
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'a', 0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 1, 0, 1, 0, 0x2f, 0,
      0, 0, 0x1f, 0, 0, 0, 0, 0};
  return std::string(reinterpret_cast<const char*>(bytes), sizeof bytes);
}

}  // namespace

TEST_CASE("admin: flags and surge need an admin key", "[admin]") {
  Admin a;
  for (auto [method, path] : {std::pair{"GET", "/api/v1/admin/flags"}, std::pair{"PUT", "/api/v1/admin/flags"},
                              std::pair{"GET", "/api/v1/admin/surge"}, std::pair{"POST", "/api/v1/admin/surge"}}) {
    auto r = a.call(method, path, R"({"active": true})", /*admin=*/false);
    CHECK(r.status == 403);
    CHECK(a.parse(r).root().get_string("code") == std::optional<std::string>("forbidden"));
  }
  CHECK_FALSE(a.surge->status().active);  // the refused POST changed nothing
}

TEST_CASE("admin: forcing surge mode flips the flags, the LLM mode, the cache TTL and fti_surge_mode", "[admin]") {
  Admin a;
  REQUIRE(a.router_llm->mode() == llm::Mode::auto_);
  auto on = a.call("POST", "/api/v1/admin/surge", R"({"active": true})");
  REQUIRE(on.status == 200);
  auto body = a.parse(on);
  CHECK(body.root().get_bool("active") == std::optional<bool>(true));
  CHECK(body.root().get_string("mode") == std::optional<std::string>("forced"));

  CHECK(a.router_llm->mode() == llm::Mode::fast);
  CHECK(a.router_llm->cache_ttl().count() == a.config->llm.cache_ttl_seconds * 4);
  CHECK(a.metrics.render().find("fti_surge_mode 1") != std::string::npos);
  auto flags = a.parse(a.call("GET", "/api/v1/admin/flags"));
  auto readme = flags.root().get("flags")->get("llm_readme");
  REQUIRE(readme);
  CHECK(readme->get_bool("enabled") == std::optional<bool>(false));
  CHECK(readme->get_bool("off_for_surge") == std::optional<bool>(true));

  auto automatic = a.call("POST", "/api/v1/admin/surge", R"({"active": null})");
  REQUIRE(automatic.status == 200);
  CHECK(a.parse(automatic).root().get_bool("active") == std::optional<bool>(false));  // no surge in the figures
  CHECK(a.router_llm->mode() == llm::Mode::auto_);
  CHECK(a.router_llm->cache_ttl().count() == a.config->llm.cache_ttl_seconds);
  CHECK(a.metrics.render().find("fti_surge_mode 0") != std::string::npos);
  CHECK(a.flags->enabled(ops::kFlagLlmReadme));

  auto bad = a.call("POST", "/api/v1/admin/surge", R"({"active": "yes"})");
  CHECK(bad.status == 400);
}

TEST_CASE("admin: PUT flags overrides, null returns to configured, a bad body changes nothing", "[admin]") {
  Admin a;
  auto put = a.call("PUT", "/api/v1/admin/flags", R"({"report_extras": false})");
  REQUIRE(put.status == 200);
  CHECK_FALSE(a.flags->enabled(ops::kFlagReportExtras));
  auto doc = a.parse(put);
  CHECK(doc.root().get("flags")->get("report_extras")->get_bool("override") == std::optional<bool>(false));

  auto bad = a.call("PUT", "/api/v1/admin/flags", R"({"report_extras": null, "no_such": true})");
  CHECK(bad.status == 400);
  CHECK(a.parse(bad).root().get_string("detail")->find("llm_readme") != std::string::npos);
  CHECK_FALSE(a.flags->enabled(ops::kFlagReportExtras));  // the valid half was not applied

  REQUIRE(a.call("PUT", "/api/v1/admin/flags", R"({"report_extras": null})").status == 200);
  CHECK(a.flags->enabled(ops::kFlagReportExtras));
  CHECK(a.call("PUT", "/api/v1/admin/flags", "[1]").status == 400);
}

TEST_CASE("admin: a burst through the API turns surge mode on, and calm turns it off", "[admin][surge]") {
  Admin a;
  auto drive = [&](int seconds, int per_second) {
    for (int s = 0; s < seconds; ++s) {
      for (int i = 0; i < per_second; ++i) {
        auto r = a.call("GET", "/api/v1/jobs", {}, false, "t" + std::to_string(i % 20), "10.0.0." + std::to_string(i % 50));
        REQUIRE(r.status == 200);
      }
      a.clock.advance(1000);
      a.surge->tick(a.clock.now_ms());
    }
  };
  drive(600, 6);
  REQUIRE_FALSE(a.surge->status().active);
  drive(40, 30);
  auto during = a.parse(a.call("GET", "/api/v1/admin/surge"));
  CHECK(during.root().get_bool("active") == std::optional<bool>(true));
  CHECK(during.root().get_string("mode") == std::optional<std::string>("automatic"));
  CHECK(a.router_llm->mode() == llm::Mode::fast);
  drive(150, 6);
  CHECK(a.parse(a.call("GET", "/api/v1/admin/surge")).root().get_bool("active") == std::optional<bool>(false));
  CHECK(a.router_llm->mode() == llm::Mode::auto_);
}

TEST_CASE("shedding: a tenant over its bucket gets 429 with Retry-After; others are unaffected", "[shedding]") {
  Admin a([](Config& c) {
    c.shedding.tenant_rate = 1;
    c.shedding.tenant_burst = 3;
  });
  for (int i = 0; i < 3; ++i) REQUIRE(a.call("GET", "/api/v1/jobs", {}, false, "greedy").status == 200);
  auto limited = a.call("GET", "/api/v1/jobs", {}, false, "greedy");
  REQUIRE(limited.status == 429);
  CHECK(a.header(limited, "Retry-After") == "1");
  auto body = a.parse(limited);
  CHECK(body.root().get_string("code") == std::optional<std::string>("rate_limited"));
  CHECK(body.root().get_int("retry_after") == std::optional<std::int64_t>(1));
  CHECK(a.call("GET", "/api/v1/jobs", {}, false, "polite").status == 200);
  a.clock.advance(1000);
  CHECK(a.call("GET", "/api/v1/jobs", {}, false, "greedy").status == 200);
}

TEST_CASE("shedding: one address over its bucket gets 429 before authentication", "[shedding]") {
  Admin a([](Config& c) {
    c.shedding.client_rate = 2;
    c.shedding.client_burst = 2;
  });
  CHECK(a.call("GET", "/api/v1/jobs", {}, false, "a", "10.1.1.1").status == 200);
  CHECK(a.call("GET", "/api/v1/jobs", {}, false, "b", "10.1.1.1").status == 200);
  CHECK(a.call("GET", "/api/v1/jobs", {}, false, "c", "10.1.1.1").status == 429);
  CHECK(a.call("GET", "/api/v1/jobs", {}, false, "c", "10.1.1.2").status == 200);
  // Behind the local nginx, the address it appended is the client's, not the proxy's.
  http::Request via_proxy;
  via_proxy.method = "GET";
  via_proxy.path = "/api/v1/jobs";
  via_proxy.remote_address = "127.0.0.1";
  via_proxy.headers["x-forwarded-for"] = "1.2.3.4, 10.1.1.1";  // the first entry is the client's claim
  auto match = a.router.match("GET", "/api/v1/jobs");
  auto r = a.middlewares[0](via_proxy, *match.route);
  REQUIRE(r.has_value());
  CHECK(r->status == 429);
}

TEST_CASE("shedding: too many requests in flight answer 503 with retry_after; probes still answer", "[shedding]") {
  Admin a([](Config& c) { c.shedding.max_in_flight = 4; });
  a.in_flight = 5;
  auto r = a.call("GET", "/api/v1/jobs");
  REQUIRE(r.status == 503);
  CHECK(a.header(r, "Retry-After") == "5");
  CHECK(a.parse(r).root().get_int("retry_after") == std::optional<std::int64_t>(5));
  CHECK(a.call("GET", "/healthz").status == 200);
  CHECK(a.call("GET", "/metrics").status == 200);
  a.in_flight = 4;
  CHECK(a.call("GET", "/api/v1/jobs").status == 200);
}

TEST_CASE("shedding: uploads past the queue bound get 503 and no job; every accepted upload is stored", "[shedding]") {
  Admin a([](Config& c) {
    c.shedding.max_queue_depth = 5;
    c.shedding.tenant_rate = 0;
    c.shedding.client_rate = 0;
  });
  int accepted = 0, refused = 0;
  for (int i = 0; i < 12; ++i) {
    auto r = a.call("POST", "/api/v1/jobs", tiny_zip());
    if (r.status == 201) ++accepted;
    if (r.status == 503) {
      ++refused;
      CHECK(a.parse(r).root().get_string("code") == std::optional<std::string>("overloaded"));
      CHECK_FALSE(a.header(r, "Retry-After").empty());
    }
    a.clock.advance(1000);  // the waiting count is re-read at most once a second
  }
  CHECK(accepted == 5);
  CHECK(refused == 7);
  auto page = a.job_store->list("t1", 100, std::nullopt, "");
  REQUIRE(page.ok());
  CHECK(static_cast<int>(page->jobs.size()) == accepted);
}

TEST_CASE("admin: queues show waiting, running and finished jobs; pause and resume by name", "[admin]") {
  Admin a;
  jobs::NewJob job;
  job.tenant = "t1";
  job.input = {"a.zip", 10, "abc", "uploads/a"};
  for (int i = 0; i < 3; ++i) REQUIRE(a.job_store->enqueue(job, a.clock.now_ms()).ok());
  auto claimed = a.job_store->claim("w", 1, a.clock.now_ms(), 60000, "cleanup");
  REQUIRE(claimed.ok());
  REQUIRE(claimed->size() == 1);
  REQUIRE(*a.job_store->complete(claimed->front().id, claimed->front().attempt, "{}", a.clock.now_ms()));

  auto view = a.parse(a.call("GET", "/api/v1/admin/queues"));
  std::optional<json::Value> cleanup;
  for (const auto& q : view.root().get("queues")->items()) {
    if (q.get_string("name") == std::optional<std::string>("cleanup")) cleanup = q;
  }
  REQUIRE(cleanup);
  CHECK(cleanup->get_int("waiting") == std::optional<std::int64_t>(2));
  CHECK(cleanup->get_int("running") == std::optional<std::int64_t>(0));
  CHECK(cleanup->get("finished_last_minute")->get_int("succeeded") == std::optional<std::int64_t>(1));
  CHECK(cleanup->get_bool("paused") == std::optional<bool>(false));

  auto paused = a.call("POST", "/api/v1/admin/queues/cleanup/pause");
  REQUIRE(paused.status == 200);
  CHECK(a.job_store->paused_queues()->count("cleanup") == 1);
  CHECK(a.call("POST", "/api/v1/admin/queues/nope/pause").status == 404);
  CHECK(a.call("POST", "/api/v1/admin/queues/cleanup/pause", {}, false).status == 403);
  REQUIRE(a.call("POST", "/api/v1/admin/queues/cleanup/resume").status == 200);
  CHECK(a.job_store->paused_queues()->empty());
}

TEST_CASE("admin: workers of this instance, and the database's state", "[admin]") {
  Admin a;
  CHECK(a.call("GET", "/api/v1/admin/workers").status == 404);  // no pool wired in this test
  a.deps.workers = [] { return api::ApiDeps::WorkersView{"node-1", 4, 1, 2, 8, 17}; };
  http::Router with_pool;
  api::register_routes(with_pool, a.deps);
  http::Request req;
  req.method = "GET";
  req.is_admin = true;
  auto body = a.parse(with_pool.match("GET", "/api/v1/admin/workers").route->handler(req));
  CHECK(body.root().get_int("idle") == std::optional<std::int64_t>(3));
  CHECK(body.root().get_string("node") == std::optional<std::string>("node-1"));

  auto db = a.call("GET", "/api/v1/admin/database");
  REQUIRE(db.status == 200);
  auto state = a.parse(db);
  CHECK(state.root().get_int("size_bytes").value_or(0) > 0);
  CHECK(a.call("GET", "/api/v1/admin/database?long_query_seconds=-3").status == 400);
}

TEST_CASE("admin: SQLite reports its WAL and checkpoint; queries cannot be cancelled there", "[admin][sqlite]") {
  Admin a;
  auto checkpoint = db::checkpoint_wal(*a.database, a.clock.now_ms());
  REQUIRE(checkpoint.ok());
  a.deps.last_checkpoint = [&] { return std::optional<db::CheckpointRecord>(*checkpoint); };
  http::Router r;
  api::register_routes(r, a.deps);
  http::Request req;
  req.method = "GET";
  req.is_admin = true;
  auto state = a.parse(r.match("GET", "/api/v1/admin/database").route->handler(req));
  CHECK(state.root().get_string("driver") == std::optional<std::string>("sqlite"));
  CHECK(state.root().get("wal_bytes"));
  CHECK(state.root().get("last_checkpoint")->get_string("at") == std::optional<std::string>(format_rfc3339(a.clock.now_ms())));
  auto cancel = a.call("POST", "/api/v1/admin/database/queries/123/cancel");
  CHECK(cancel.status == 400);
}

TEST_CASE("admin: PostgreSQL lists a long query and cancels it", "[admin][postgres]") {
  REQUIRE(testing::testing_postgres());
  Admin a;
  auto sleeper = a.test_db.open();
  std::string sleep_error;
  std::thread slow([&] {
    auto conn = sleeper->acquire();
    REQUIRE(conn.ok());
    auto r = (*conn)->query("SELECT pg_sleep(30)");
    sleep_error = r.ok() ? "" : r.error().message;
  });
  std::int64_t pid = 0;
  for (int i = 0; i < 500 && pid == 0; ++i) {
    auto state = a.parse(a.call("GET", "/api/v1/admin/database?long_query_seconds=0.2"));
    CHECK(state.root().get("connections")->is_object());
    for (const auto& q : state.root().get("long_queries")->items()) {
      if (q.get_string("query")->find("pg_sleep") != std::string::npos) pid = *q.get_int("pid");
    }
    if (pid == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(pid > 0);
  auto cancelled = a.call("POST", "/api/v1/admin/database/queries/" + std::to_string(pid) + "/cancel");
  CHECK(cancelled.status == 200);
  slow.join();
  CHECK(sleep_error.find("cancel") != std::string::npos);
  CHECK(a.call("POST", "/api/v1/admin/database/queries/999999/cancel").status == 404);
}

TEST_CASE("admin: the cost report adds up LLM spend, jobs and recommendations", "[admin]") {
  Admin a;
  auto conn = a.database->acquire();
  REQUIRE(conn.ok());
  const auto at = a.clock.now_ms();
  // Twelve jobs that used a model, ten of them paying a cloud one.
  for (int i = 0; i < 12; ++i) {
    const std::string provider = i < 10 ? "openai" : "ollama";
    REQUIRE((*conn)->execute("INSERT INTO llm_costs (job_id, provider, model, tokens_in, tokens_out, cost_nusd, at) "
                             "VALUES ($1, $2, $3, 1000, 500, $4, $5)",
                             {db::Value("job-" + std::to_string(i)), db::Value(provider),
                              db::Value(std::string(i < 10 ? "gpt-4o-mini" : "codellama")),
                              db::Value(std::int64_t{i < 10 ? 450'000 : 0}), db::Value(at)})
                .ok());
  }
  auto report = a.call("GET", "/api/v1/admin/costs?hours=1");
  REQUIRE(report.status == 200);
  auto doc = a.parse(report);
  auto llm = doc.root().get("llm");
  CHECK(llm->get_int("calls") == std::optional<std::int64_t>(12));
  CHECK(llm->get_double("cost_usd").value_or(0) == Approx(0.0045));
  CHECK(llm->get("by_provider_model")->items().size() == 2);
  CHECK(llm->get_double("jobs_escalated_to_cloud").value_or(0) == Approx(10.0 / 12));
  bool advises_ollama = false;
  for (const auto& r : doc.root().get("recommendations")->items()) {
    advises_ollama = advises_ollama || r.as_string()->find("Ollama") != std::string::npos;
  }
  CHECK(advises_ollama);
  CHECK(a.call("GET", "/api/v1/admin/costs?hours=0").status == 400);
  CHECK(a.call("GET", "/api/v1/admin/costs", {}, false).status == 403);
}

TEST_CASE("admin sla: admin keys only", "[api][admin][sla]") {
  Admin a;
  auto refused = a.call("GET", "/api/v1/admin/sla", {}, false);
  CHECK(refused.status == 403);
  CHECK(Admin::parse(refused).root().get_string("code") == "forbidden");
}

TEST_CASE("admin sla: measured figures, targets and violations per service", "[api][admin][sla]") {
  Admin a;
  auto empty = a.call("GET", "/api/v1/admin/sla");
  REQUIRE(empty.status == 200);
  {
    auto doc = Admin::parse(empty);
    CHECK(doc.root().get_bool("compliant") == true);
    CHECK(doc.root().get_int("window_seconds") == 300);
    auto api = doc.root().get("services")->get("api");
    REQUIRE(api);
    CHECK(api->get_int("count") == 0);
    CHECK(api->get("p99_ms")->is_null());
    CHECK(api->get("targets")->get_double("p99_ms") == 500.0);
    CHECK(api->get("targets")->get_double("availability_percent") == 99.95);
    CHECK(doc.root().get("services")->get("websocket")->get("targets")->get("availability_percent")->is_null());
  }

  // Recorded events: fast API traffic with a burst of 500s, slow cleanups, fast WebSocket.
  for (int i = 0; i < 95; ++i) a.sla->record_api(a.clock.now_ms(), 0.004, 200);
  for (int i = 0; i < 5; ++i) a.sla->record_api(a.clock.now_ms(), 0.004, 500);
  for (int i = 0; i < 10; ++i) a.sla->record_cleanup(a.clock.now_ms(), 400, ops::CleanupOutcome::succeeded);
  for (int i = 0; i < 10; ++i) a.sla->record_websocket(a.clock.now_ms(), 0.001);
  a.clock.advance(10'000);
  auto res = a.call("GET", "/api/v1/admin/sla");
  REQUIRE(res.status == 200);
  auto doc = Admin::parse(res);
  CHECK(doc.root().get_bool("compliant") == false);
  auto services = doc.root().get("services");
  auto api = services->get("api");
  CHECK(api->get_int("count") == 100);
  CHECK(*api->get_double("rate_per_second") == Approx(10.0));
  CHECK(*api->get_double("availability_percent") == Approx(95.0));
  CHECK(*api->get_double("error_rate_percent") == Approx(5.0));
  CHECK(*api->get_double("p50_ms") == Approx(4.0));
  CHECK(api->get_bool("compliant") == false);
  std::vector<std::string> metrics;
  for (const auto& v : api->get("violations")->items()) metrics.push_back(*v.get_string("metric"));
  CHECK(metrics == std::vector<std::string>{"availability", "error_rate"});

  auto cleanup = services->get("cleanup");
  CHECK(cleanup->get_int("count") == 10);
  CHECK(*cleanup->get_double("p99_ms") == Approx(400'000.0));
  auto first = cleanup->get("violations")->items().at(0);
  CHECK(first.get_string("metric") == "p50_ms");
  CHECK(first.get_double("target") == 60'000.0);
  CHECK(*first.get_double("measured") == Approx(400'000.0));

  auto ws = services->get("websocket");
  CHECK(ws->get_bool("compliant") == true);
  CHECK(ws->get("violations")->items().empty());
}

TEST_CASE("readiness: an open database breaker makes /readyz 503 and refuses requests at once", "[shedding][deps]") {
  Admin a;
  ops::DependencyMonitor monitor;
  bool db_up = true;
  ops::DependencyOptions o;
  o.failure_threshold = 1;
  o.cooldown = std::chrono::milliseconds(7000);
  monitor.add("database", [&]() -> Status { return db_up ? ok_status() : Status(Error(errc::db_error, "gone")); }, o);
  a.deps.dependencies = &monitor;
  http::Router router;
  api::register_routes(router, a.deps);
  auto admission = api::make_admission_middleware(a.deps);
  auto run = [&](const std::string& method, const std::string& path) {
    http::Request req;
    req.method = method;
    req.path = path;
    req.remote_address = "10.0.0.9";
    req.is_admin = true;
    auto match = router.match(method, path);
    REQUIRE(match.route);
    if (auto early = admission(req, *match.route)) return std::move(*early);
    return match.route->handler(req);
  };
  monitor.tick(a.clock.now_ms());
  CHECK(run("GET", "/readyz").status == 200);
  CHECK(run("GET", "/api/v1/jobs").status == 200);

  db_up = false;
  a.clock.advance(3000);
  monitor.tick(a.clock.now_ms());
  auto ready = run("GET", "/readyz");
  CHECK(ready.status == 503);
  CHECK(ready.body.find("database") != std::string::npos);
  auto refused = run("GET", "/api/v1/jobs");
  CHECK(refused.status == 503);
  CHECK(a.header(refused, "Retry-After") == "7");
  CHECK(run("GET", "/healthz").status == 200);            // liveness is not readiness
  CHECK(run("GET", "/api/v1/admin/surge").status == 200);  // an operator still gets in

  db_up = true;
  a.clock.advance(7000);
  monitor.tick(a.clock.now_ms());
  CHECK(run("GET", "/readyz").status == 200);
  CHECK(run("GET", "/api/v1/jobs").status == 200);
}

TEST_CASE("shedding: the operator gets through an overload; refused requests do not feed surge mode", "[shedding]") {
  Admin a([](Config& c) {
    c.shedding.max_in_flight = 4;
    c.shedding.tenant_rate = 1;
    c.shedding.tenant_burst = 1;
  });
  a.in_flight = 50;
  CHECK(a.call("GET", "/api/v1/jobs").status == 503);
  CHECK(a.call("GET", "/api/v1/admin/surge").status == 200);  // past the in-flight bound
  a.in_flight = 1;
  for (int i = 0; i < 5; ++i) CHECK(a.call("GET", "/api/v1/admin/flags").status == 200);  // admins: no tenant bucket
  CHECK(a.call("GET", "/api/v1/jobs", {}, false, "busy").status == 200);
  CHECK(a.call("GET", "/api/v1/jobs", {}, false, "busy").status == 429);
  // Only the admitted requests above count: 1 refused at the in-flight bound and 1 at the
  // tenant's bucket do not.
  a.clock.advance(1000);
  a.surge->tick(a.clock.now_ms());
  CHECK(a.surge->status().rate * 59 == Approx(7));
}

TEST_CASE("shedding: behind trusted proxies the client is the rightmost untrusted address", "[shedding]") {
  Admin a([](Config& c) {
    c.shedding.client_rate = 1;
    c.shedding.client_burst = 1;
    c.shedding.trusted_proxies = {"127.0.0.1", "10.0.0.0/8"};
  });
  auto match = a.router.match("GET", "/api/v1/jobs");
  auto admit = [&](const std::string& peer, const std::string& forwarded) {
    http::Request req = testing::request_for("GET", "/api/v1/jobs", {{"x-forwarded-for", forwarded}});
    req.remote_address = peer;
    return !a.middlewares[0](req, *match.route).has_value();
  };
  // An ingress (10.1.1.1) in front of the local nginx: the client is 203.0.113.5 both times,
  // whatever it claims further left.
  CHECK(admit("127.0.0.1", "1.1.1.1, 203.0.113.5, 10.1.1.1"));
  CHECK_FALSE(admit("127.0.0.1", "2.2.2.2, 203.0.113.5, 10.1.1.1"));
  CHECK(admit("127.0.0.1", "203.0.113.6, 10.1.1.1"));  // another client: its own bucket
  // An untrusted peer's X-Forwarded-For is ignored: it cannot pick someone else's bucket.
  CHECK(admit("198.51.100.9", "203.0.113.77"));
  CHECK_FALSE(admit("198.51.100.9", "203.0.113.78"));
}
