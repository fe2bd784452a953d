// The API key store on a real database (SQLite, or PostgreSQL in api_pg), and its keys
// going through the real auth middleware and a real HTTP server.
#include <catch2/catch.hpp>

#include <set>
#include <thread>

#include "fakes/manual_clock.hpp"
#include "support/api_server.hpp"
#include "support/test_database.hpp"
#include "fti/api/api.hpp"
#include "fti/api/api_keys.hpp"
#include "fti/core/http_client.hpp"
#include "fti/core/ids.hpp"
#include "fti/db/database.hpp"
#include "fti/http/server.hpp"
#include "fti/jobs/job_store.hpp"
#include "fti/ops/metrics.hpp"

using namespace fti;

namespace {

struct Keys {
  Keys() : database(test_db.open()), store(api::make_sql_api_key_store(*database, clock)) {}

  // Every stored value of every api_keys row, as text.
  std::vector<std::string> stored_cells() {
    auto conn = database->acquire();
    REQUIRE(conn.ok());
    auto rows = (*conn)->query("SELECT id, tenant, key_hash, is_admin, created_at, revoked_at FROM api_keys");
    REQUIRE(rows.ok());
    std::vector<std::string> cells;
    for (const auto& row : *rows) {
      for (std::size_t i = 0; i < row.size(); ++i) cells.push_back(row.get_text(i));
    }
    return cells;
  }

  testing::TestDatabase test_db;
  fakes::ManualClock clock;
  std::unique_ptr<db::Database> database;
  std::unique_ptr<api::ApiKeyStore> store;
};

bool key_charset(const std::string& s) {
  return s.find_first_not_of("abcdefghijklmnopqrstuvwxyz234567") == std::string::npos;
}

// The middleware as the server runs it, over the test's database, in api_key mode.
http::Middleware api_key_auth(db::Database& database) {
  auto cfg = std::make_shared<Config>();
  cfg->auth.mode = "api_key";
  api::ApiDeps deps;
  deps.config = cfg;
  deps.database = &database;
  return api::make_auth_middleware(deps);
}

}  // namespace

TEST_CASE("keys are random, shown once and stored only as their SHA-256", "[api][keys]") {
  Keys k;
  auto a = k.store->create("acme", false);
  REQUIRE(a.ok());
  auto b = k.store->create("acme", true);
  REQUIRE(b.ok());

  for (const auto* created : {&*a, &*b}) {
    INFO(created->key);
    CHECK(created->key.size() == 56);
    CHECK(created->key.rfind("fti_", 0) == 0);
    CHECK(key_charset(created->key.substr(4)));
  }
  CHECK(a->key != b->key);
  CHECK(a->info.id != b->info.id);

  auto cells = k.stored_cells();
  std::set<std::string> stored(cells.begin(), cells.end());
  CHECK(stored.count(sha256_hex(a->key)) == 1);
  CHECK(stored.count(sha256_hex(b->key)) == 1);
  for (const auto& cell : cells) {
    CHECK(cell.find(a->key.substr(4)) == std::string::npos);
    CHECK(cell.find(b->key.substr(4)) == std::string::npos);
  }
}

TEST_CASE("list shows every key oldest first, revoke marks one and keeps its first time", "[api][keys]") {
  Keys k;
  k.clock.set(1'700'000'000'000);
  auto first = k.store->create("acme", false);
  REQUIRE(first.ok());
  k.clock.advance(1000);
  auto second = k.store->create("globex", true);
  REQUIRE(second.ok());

  auto listed = k.store->list();
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 2);
  CHECK((*listed)[0].id == first->info.id);
  CHECK((*listed)[0].tenant == "acme");
  CHECK_FALSE((*listed)[0].is_admin);
  CHECK((*listed)[0].created_at == 1'700'000'000'000);
  CHECK_FALSE((*listed)[0].revoked_at);
  CHECK((*listed)[1].tenant == "globex");
  CHECK((*listed)[1].is_admin);

  k.clock.advance(5000);
  auto revoked = k.store->revoke(first->info.id);
  REQUIRE(revoked.ok());
  CHECK(revoked->tenant == "acme");
  CHECK(revoked->revoked_at == std::optional<TimeMs>(1'700'000'006'000));
  k.clock.advance(5000);
  auto again = k.store->revoke(first->info.id);
  REQUIRE(again.ok());
  CHECK(again->revoked_at == std::optional<TimeMs>(1'700'000'006'000));

  listed = k.store->list();
  REQUIRE(listed.ok());
  CHECK((*listed)[0].revoked_at == std::optional<TimeMs>(1'700'000'006'000));
  CHECK_FALSE((*listed)[1].revoked_at);

  auto unknown = k.store->revoke("no-such-key");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().code == errc::not_found);
  CHECK(unknown.error().message.find("keys list") != std::string::npos);
}

TEST_CASE("tenant names are checked before anything is stored", "[api][keys]") {
  struct Case {
    std::string tenant;
    bool valid;
  };
  const std::vector<Case> cases = {
      {"acme", true},          {"Acme-Corp_2.eu", true}, {"7eleven", true},        {std::string(64, 'a'), true},
      {"", false},             {std::string(65, 'a'), false}, {"-acme", false},   {".hidden", false},
      {"acme corp", false},    {"acme/corp", false},     {"acme\nx", false},       {"caf\xc3\xa9", false},
      {"anonymous", false},    {"system", false},
  };
  Keys k;
  for (const auto& c : cases) {
    INFO("tenant '" << c.tenant << "'");
    CHECK(api::validate_tenant_name(c.tenant).ok() == c.valid);
    auto created = k.store->create(c.tenant, false);
    CHECK(created.ok() == c.valid);
    if (!c.valid) {
      CHECK(created.error().code == errc::bad_request);
      CHECK(created.error().message.find('\n') == std::string::npos);
    }
  }
  auto listed = k.store->list();
  REQUIRE(listed.ok());
  CHECK(listed->size() == 4);
}

TEST_CASE("a created key authenticates through the auth middleware until it is revoked", "[api][keys]") {
  Keys k;
  auto auth = api_key_auth(*k.database);
  http::Route private_route{"GET", "/api/v1/jobs", nullptr, {}};
  auto admin = k.store->create("acme", true);
  REQUIRE(admin.ok());
  auto user = k.store->create("globex", false);
  REQUIRE(user.ok());

  http::Request as_admin;
  as_admin.headers["authorization"] = "Bearer " + admin->key;
  CHECK_FALSE(auth(as_admin, private_route));
  CHECK(as_admin.tenant == "acme");
  CHECK(as_admin.is_admin);

  REQUIRE(k.store->revoke(admin->info.id).ok());
  http::Request after;
  after.headers["authorization"] = "Bearer " + admin->key;
  auto refused = auth(after, private_route);
  REQUIRE(refused);
  CHECK(refused->status == 401);
  CHECK(after.tenant.empty());

  // Revoking one key leaves the others working.
  http::Request other;
  other.headers["authorization"] = "Bearer " + user->key;
  CHECK_FALSE(auth(other, private_route));
  CHECK(other.tenant == "globex");
  CHECK_FALSE(other.is_admin);
}

TEST_CASE("over HTTP a created key lists its tenant's jobs, and a revoked one gets 401", "[api][keys]") {
  Keys k;
  auto job_store = jobs::make_sql_job_store(*k.database);
  ops::Metrics metrics;
  ops::declare_standard_metrics(metrics);
  auto cfg = std::make_shared<Config>();
  cfg->auth.mode = "api_key";
  api::ApiDeps deps;
  deps.config = cfg;
  deps.database = k.database.get();
  deps.jobs = job_store.get();
  deps.metrics = &metrics;
  deps.clock = &k.clock;
  testing::ApiServer server(deps);

  auto get_jobs = [&](const std::string& key) {
    HttpRequest req;
    req.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/api/v1/jobs";
    if (!key.empty()) req.headers = {{"Authorization", "Bearer " + key}};
    req.total_timeout = std::chrono::seconds(30);
    auto r = HttpClient().send(req);
    REQUIRE(r.ok());
    return std::move(r).value();
  };

  auto created = k.store->create("acme", false);
  REQUIRE(created.ok());
  auto ok = get_jobs(created->key);
  INFO(ok.body);
  CHECK(ok.status == 200);
  CHECK(get_jobs("").status == 401);
  CHECK(get_jobs(created->key + "x").status == 401);

  REQUIRE(k.store->revoke(created->info.id).ok());
  auto refused = get_jobs(created->key);
  CHECK(refused.status == 401);
  CHECK(refused.body.find("unknown or revoked") != std::string::npos);
}
