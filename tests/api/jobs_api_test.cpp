// The API's handlers called through the Router, as the server would, over a real SQLite
// database and a real local blob store in a temp folder.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>

#include "fakes/manual_clock.hpp"
#include "support/test_database.hpp"
#include "api/string_body.hpp"
#include "support/temp_dir.hpp"
#include "fti/api/api.hpp"
#include "fti/api/status_cache.hpp"
#include "fti/jobs/event_bus.hpp"
#include "fti/cleanup/archive.hpp"
#include "fti/cleanup/job_handler.hpp"
#include "fti/core/ids.hpp"
#include "fti/core/json.hpp"
#include "fti/db/database.hpp"
#include "fti/db/migrations.hpp"
#include "fti/jobs/job_store.hpp"
#include "fti/ops/metrics.hpp"
#include "fti/storage/blob_store.hpp"

using namespace fti;
namespace fs = std::filesystem;

namespace {

std::string read_all(http::BodySource& source) {
  std::string out;
  char buffer[4096];
  while (true) {
    auto n = source.read(buffer, sizeof buffer);
    REQUIRE(n.ok());
    if (*n == 0) return out;
    out.append(buffer, *n);
  }
}

std::string file_contents(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Regular files anywhere under the blob folder (temp files included).
int files_under(const fs::path& root) {
  int n = 0;
  for (const auto& e : fs::recursive_directory_iterator(root)) n += e.is_regular_file() ? 1 : 0;
  return n;
}

struct Api {
  Api() {
    database = test_db.open();
    auto store = storage::open_blob_store("file:" + blob_dir().string());
    REQUIRE(store.ok());
    blobs = std::move(store).value();
    job_store = jobs::make_sql_job_store(*database);
    ops::declare_standard_metrics(metrics);

    auto cfg = std::make_shared<Config>();
    cfg->server.max_upload_bytes = 256 * 1024;
    config = cfg;
    deps.config = config;
    deps.database = database.get();
    deps.blobs = blobs.get();
    deps.jobs = job_store.get();
    deps.metrics = &metrics;
    deps.clock = &clock;
    deps.on_enqueued = [this] { ++enqueued; };
    deps.draining = &draining;
    deps.events = &events;
    deps.status_cache = &status_cache;
    events.subscribe_all([this](const jobs::JobEvent& e) { status_cache.invalidate(e.job_id); });
    api::register_routes(router, deps);
  }

  fs::path blob_dir() const { return dir.path() / "blobs"; }

  // Routes a request the way the server does: path and query split, route matched.
  http::Response call(const std::string& method, const std::string& target, std::string body = {},
                      std::map<std::string, std::string> headers = {}, const std::string& tenant = "t1") {
    http::Request req = testing::request_for(method, target, std::move(headers));
    req.tenant = tenant;
    auto match = router.match(method, req.path);
    if (!match.route) return http::Response::problem(404, "not_found", "no route");
    req.params = match.params;
    testing::StringBody stream(body);
    if (match.route->options.streaming_body) {
      req.body_stream = &stream;
    } else {
      req.body = body;
    }
    return match.route->handler(req);
  }

  http::Response upload(const std::string& bytes, const std::string& query = "",
                        const std::string& content_type = "application/zip", const std::string& tenant = "t1") {
    return call("POST", "/api/v1/jobs" + query, bytes, {{"content-type", content_type}}, tenant);
  }

  // GET /api/v1/jobs/{id} as the server runs it: the quick handler (the status cache) on the
  // I/O thread, then on a miss the handler.
  http::Response status(const std::string& id, const std::string& tenant = "t1") {
    http::Request req = testing::request_for("GET", "/api/v1/jobs/" + id, {});
    req.tenant = tenant;
    auto match = router.match("GET", req.path);
    REQUIRE(match.route);
    REQUIRE(match.route->options.quick);
    req.params = match.params;
    if (auto quick = match.route->options.quick(req)) return std::move(*quick);
    return match.route->handler(req);
  }

  // Claims every queued job and completes the one with `id`, as a worker would.
  void succeed(const std::string& id) {
    auto claimed = job_store->claim("worker-1", 100, clock.now_ms(), 60000);
    REQUIRE(claimed.ok());
    for (const auto& job : *claimed) {
      if (job.id == id) REQUIRE(*job_store->complete(id, job.attempt, R"({"files_in":1})", clock.now_ms()));
    }
  }

  testing::TestDatabase test_db;  // SQLite, or PostgreSQL when the suite runs against it
  testing::TempDir dir{"api-test"};
  std::unique_ptr<db::Database> database;
  std::unique_ptr<storage::BlobStore> blobs;
  std::unique_ptr<jobs::JobStore> job_store;
  ops::Metrics metrics;
  fakes::ManualClock clock;
  std::atomic<bool> draining{false};
  api::JobStatusCache status_cache{clock, std::chrono::milliseconds(1000), 100};
  jobs::EventBus events;  // after the cache: its subscription goes first
  std::shared_ptr<const Config> config;
  api::ApiDeps deps;
  http::Router router;
  int enqueued = 0;
};

// A real zip made by the project's own packer.
std::string make_zip(const fs::path& scratch) {
  fs::create_directories(scratch / "tree/src");
  std::ofstream(scratch / "tree/src/main.c") << "int main(void){return 0;}\n";
  REQUIRE(cleanup::pack_zip(scratch / "tree", scratch / "in.zip").ok());
  return file_contents(scratch / "in.zip");
}

json::Document parse(const std::string& text) {
  auto doc = json::Document::parse(text);
  REQUIRE(doc.ok());
  return std::move(doc).value();
}

std::string field(const std::string& json, const std::string& key) {
  return parse(json).root().get_string(key).value_or("<missing>");
}

std::string header_of(const http::Response& res, const std::string& name) {
  for (const auto& [n, v] : res.headers) {
    if (n == name) return v;
  }
  return {};
}

}  // namespace

TEST_CASE("status reads served from memory follow the job: events at once, other changes within the TTL",
          "[api][status_cache]") {
  Api api;
  const std::string id = parse(api.upload(make_zip(api.dir.path())).body).root().get_string("id").value_or("");
  CHECK(field(api.status(id).body, "status") == "queued");  // read from the store, then kept
  CHECK(api.status_cache.hits() == 0);
  CHECK(field(api.status(id).body, "status") == "queued");
  CHECK(api.status_cache.hits() == 1);

  // Another tenant never gets the kept answer.
  CHECK(api.status(id, "t2").status == 404);

  // A change that published no event here (another instance's, with the bridge down) shows
  // once the TTL has passed.
  REQUIRE(api.job_store->claim("w", 10, api.clock.now_ms(), 60000)->size() == 1);
  CHECK(field(api.status(id).body, "status") == "queued");
  api.clock.advance(1000);
  CHECK(field(api.status(id).body, "status") == "running");

  // The worker's event ("completed") drops the kept answer at once.
  REQUIRE(*api.job_store->complete(id, 1, R"({"files_in":1})", api.clock.now_ms()));
  CHECK(field(api.status(id).body, "status") == "running");
  auto job = api.job_store->get(id, std::string("t1"));
  REQUIRE(job.ok());
  api.events.publish(jobs::job_state_event(*job));
  CHECK(field(api.status(id).body, "status") == "succeeded");

  // So does a change made through the API: the cancel handler publishes "cancelled".
  api.clock.advance(1);
  const std::string other = parse(api.upload(make_zip(api.dir.path())).body).root().get_string("id").value_or("");
  CHECK(field(api.status(other).body, "status") == "queued");
  REQUIRE(api.call("DELETE", "/api/v1/jobs/" + other).status == 200);
  CHECK(field(api.status(other).body, "status") == "cancelled");
}

TEST_CASE("?status= filters the list: failed jobs are the dead-letter view", "[api]") {
  Api api;
  std::string zip = make_zip(api.dir.path());
  auto a = parse(api.upload(zip).body).root().get_string("id").value_or("");
  api.clock.advance(1);
  auto b = parse(api.upload(zip).body).root().get_string("id").value_or("");
  auto claimed = api.job_store->claim("w", 10, api.clock.now_ms(), 1000);
  REQUIRE(claimed->size() == 2);
  REQUIRE(*api.job_store->fail(a, 1, jobs::Failure{{"bad_archive", "broken"}, false}, api.clock.now_ms(), 0));
  auto failed = api.call("GET", "/api/v1/jobs?status=failed");
  REQUIRE(failed.status == 200);
  auto items = parse(failed.body).root().get("jobs")->items();
  REQUIRE(items.size() == 1);
  CHECK(items.front().get_string("id") == a);
  CHECK(api.call("GET", "/api/v1/jobs?status=running").body.find(b) != std::string::npos);
  CHECK(api.call("GET", "/api/v1/jobs?status=lost").status == 400);
}

TEST_CASE("a delayed upload is not claimable before its time", "[api]") {
  Api api;
  REQUIRE(api.upload(make_zip(api.dir.path()), "?delay_seconds=60").status == 201);
  CHECK(api.job_store->claim("w", 10, api.clock.now_ms(), 1000)->empty());
  api.clock.advance(60000);
  CHECK(api.job_store->claim("w", 10, api.clock.now_ms(), 1000)->size() == 1);
}

TEST_CASE("a repeated upload with the same Idempotency-Key returns the first job", "[api]") {
  Api api;
  std::string zip = make_zip(api.dir.path());
  auto first = api.call("POST", "/api/v1/jobs", zip, {{"content-type", "application/zip"}, {"idempotency-key", "k-1"}}, "t1");
  REQUIRE(first.status == 201);
  auto again = api.call("POST", "/api/v1/jobs", zip, {{"content-type", "application/zip"}, {"idempotency-key", "k-1"}}, "t1");
  CHECK(again.status == 200);
  auto id = parse(first.body).root().get_string("id");
  CHECK(parse(again.body).root().get_string("id") == id);
  CHECK(api.enqueued == 1);
  // The second upload's bytes are not kept: only the first job's upload is stored.
  CHECK(api.blobs->list("uploads/")->size() == 1);
  auto other = api.call("POST", "/api/v1/jobs", zip, {{"content-type", "application/zip"}, {"idempotency-key", "k-1"}}, "t2");
  CHECK(other.status == 201);
}

TEST_CASE("a raw zip upload is stored, hashed and queued", "[api]") {
  Api api;
  std::string zip = make_zip(api.dir.path());
  auto res = api.upload(zip, "?filename=messy.zip&priority=high");
  REQUIRE(res.status == 201);
  CHECK(header_of(res, "Content-Type") == "application/json");
  auto doc = parse(res.body);
  auto root = doc.root();
  std::string id = root.get_string("id").value_or("");
  REQUIRE(id.size() == 26);
  CHECK(header_of(res, "Location") == "/api/v1/jobs/" + id);
  CHECK(root.get_string("status") == std::optional<std::string>("queued"));
  CHECK(root.get_string("type") == std::optional<std::string>("cleanup"));
  CHECK(root.get_string("priority") == std::optional<std::string>("high"));
  auto input = root.get("input");
  REQUIRE(input);
  CHECK(input->get_string("filename") == std::optional<std::string>("messy.zip"));
  CHECK(input->get_int("bytes") == std::optional<std::int64_t>(static_cast<std::int64_t>(zip.size())));
  CHECK(input->get_string("sha256") == std::optional<std::string>(sha256_hex(zip)));
  CHECK(*storage::get_bytes(*api.blobs, cleanup::upload_key(id), 1 << 20) == zip);
  CHECK(api.enqueued == 1);
}

TEST_CASE("a multipart upload takes the file field and its filename", "[api]") {
  Api api;
  std::string zip = make_zip(api.dir.path());
  std::string body = "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"C:\\\\work\\\\proj.zip\"\r\n"
                     "Content-Type: application/zip\r\n\r\n" +
                     zip + "\r\n--XyZ--\r\n";
  auto res = api.upload(body, "?type=template&profile=google", "multipart/form-data; boundary=XyZ");
  REQUIRE(res.status == 201);
  auto doc = parse(res.body);
  CHECK(doc.root().get_string("type") == std::optional<std::string>("template"));
  CHECK(doc.root().get("input")->get_string("filename") == std::optional<std::string>("proj.zip"));
  CHECK(doc.root().get("input")->get_int("bytes") == std::optional<std::int64_t>(static_cast<std::int64_t>(zip.size())));
  std::string id = doc.root().get_string("id").value_or("");
  CHECK(*storage::get_bytes(*api.blobs, cleanup::upload_key(id), 1 << 20) == zip);
}

TEST_CASE("uploads that are refused leave nothing behind", "[api]") {
  Api api;
  std::string zip = make_zip(api.dir.path());

  SECTION("not an archive: 415") {
    auto res = api.upload(std::string(4000, 't'), "", "application/octet-stream");
    CHECK(res.status == 415);
    CHECK(field(res.body, "code") == "unsupported_media_type");
  }
  SECTION("a short non-archive: 415") {
    auto res = api.upload("hello", "", "application/zip");
    CHECK(res.status == 415);
  }
  SECTION("an empty body: 400") {
    CHECK(api.upload("", "").status == 400);
  }
  SECTION("over server.max_upload_bytes: 413") {
    std::string big = zip + std::string(300 * 1024, 'x');
    auto res = api.upload(big);
    CHECK(res.status == 413);
    CHECK(field(res.body, "code") == "too_large");
  }
  SECTION("a content type that is not an archive or a form: 415") {
    auto res = api.upload(zip, "", "application/json");
    CHECK(res.status == 415);
  }
  SECTION("an unknown job type: 400") {
    auto res = api.upload(zip, "?type=nonsense");
    CHECK(res.status == 400);
    CHECK(field(res.body, "code") == "bad_request");
  }
  SECTION("an unknown priority: 400") {
    CHECK(api.upload(zip, "?priority=urgent").status == 400);
    CHECK(api.upload(zip, "?delay_seconds=soon").status == 400);
  }
  SECTION("a form without a file field: 400") {
    auto res = api.upload("--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n--b--\r\n", "",
                          "multipart/form-data; boundary=b");
    CHECK(res.status == 400);
  }

  CHECK(api.enqueued == 0);
  CHECK(files_under(api.blob_dir()) == 0);
  auto list = api.call("GET", "/api/v1/jobs");
  CHECK(list.body == R"({"jobs":[],"next_cursor":null})");
}

TEST_CASE("jobs are listed newest first in pages, fetched, cancelled and retried", "[api]") {
  Api api;
  std::string zip = make_zip(api.dir.path());
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    auto res = api.upload(zip);
    REQUIRE(res.status == 201);
    ids.push_back(field(res.body, "id"));
    api.clock.advance(1000);
  }

  auto page1 = parse(api.call("GET", "/api/v1/jobs?limit=2").body);
  auto jobs1 = page1.root().get("jobs")->items();
  REQUIRE(jobs1.size() == 2);
  CHECK(jobs1[0].get_string("id") == std::optional<std::string>(ids[2]));
  CHECK(jobs1[1].get_string("id") == std::optional<std::string>(ids[1]));
  auto cursor = page1.root().get_string("next_cursor");
  REQUIRE(cursor);
  auto page2 = parse(api.call("GET", "/api/v1/jobs?limit=2&cursor=" + *cursor).body);
  auto jobs2 = page2.root().get("jobs")->items();
  REQUIRE(jobs2.size() == 1);
  CHECK(jobs2[0].get_string("id") == std::optional<std::string>(ids[0]));
  CHECK(page2.root().get("next_cursor")->is_null());
  CHECK(api.call("GET", "/api/v1/jobs?limit=0").status == 400);
  CHECK(api.call("GET", "/api/v1/jobs?limit=abc").status == 400);

  auto got = api.call("GET", "/api/v1/jobs/" + ids[0]);
  CHECK(got.status == 200);
  CHECK(field(got.body, "id") == ids[0]);
  CHECK(api.call("GET", "/api/v1/jobs/01NOSUCHJOB0000000000000000").status == 404);

  auto cancelled = api.call("DELETE", "/api/v1/jobs/" + ids[0]);
  CHECK(cancelled.status == 200);
  CHECK(field(cancelled.body, "status") == "cancelled");
  auto again = api.call("DELETE", "/api/v1/jobs/" + ids[0]);
  CHECK(again.status == 409);
  CHECK(field(again.body, "code") == "conflict");

  auto retried = api.call("POST", "/api/v1/jobs/" + ids[0] + "/retry");
  CHECK(retried.status == 200);
  CHECK(field(retried.body, "status") == "queued");
  CHECK(api.enqueued == 4);
  CHECK(api.call("POST", "/api/v1/jobs/" + ids[1] + "/retry").status == 409);  // still queued
}

TEST_CASE("another tenant's job answers 404 everywhere", "[api]") {
  Api api;
  auto res = api.upload(make_zip(api.dir.path()), "", "application/zip", "alice");
  REQUIRE(res.status == 201);
  std::string id = field(res.body, "id");
  for (auto [method, suffix] : std::vector<std::pair<std::string, std::string>>{
           {"GET", ""}, {"DELETE", ""}, {"POST", "/retry"}, {"GET", "/result"}, {"GET", "/report"}, {"GET", "/diff"}}) {
    INFO(method << " " << suffix);
    auto r = api.call(method, "/api/v1/jobs/" + id + suffix, {}, {}, "bob");
    CHECK(r.status == 404);
    CHECK(field(r.body, "code") == "not_found");
  }
  CHECK(api.call("GET", "/api/v1/jobs", {}, {}, "bob").body == R"({"jobs":[],"next_cursor":null})");
  CHECK(api.call("GET", "/api/v1/jobs/" + id, {}, {}, "alice").status == 200);
}

TEST_CASE("results and reports answer 409 until the job has succeeded, then stream", "[api]") {
  Api api;
  auto created = api.upload(make_zip(api.dir.path()), "?filename=messy.tar.gz");
  std::string id = field(created.body, "id");

  auto early = api.call("GET", "/api/v1/jobs/" + id + "/result");
  CHECK(early.status == 409);
  CHECK(field(early.body, "code") == "conflict");
  CHECK(field(early.body, "detail") == "job is queued; the result is ready once it has succeeded");
  CHECK(api.call("GET", "/api/v1/jobs/" + id + "/report").status == 409);

  api.succeed(id);
  REQUIRE(storage::put_bytes(*api.blobs, cleanup::result_key(id), "PK-result-bytes").ok());
  REQUIRE(storage::put_bytes(*api.blobs, cleanup::report_key(id), R"({"summary":{}})").ok());
  REQUIRE(storage::put_bytes(*api.blobs, cleanup::report_md_key(id), "# Report\n").ok());

  auto result = api.call("GET", "/api/v1/jobs/" + id + "/result");
  REQUIRE(result.status == 200);
  REQUIRE(result.stream);
  CHECK(result.stream->size() == 15);
  CHECK(read_all(*result.stream) == "PK-result-bytes");
  CHECK(header_of(result, "Content-Type") == "application/zip");
  CHECK(header_of(result, "Content-Disposition") ==
        "attachment; filename=\"messy-clean.zip\"; filename*=UTF-8''messy-clean.zip");
  // A local folder presigns nothing: the link says the bytes come from the endpoint itself.
  auto link = api.call("GET", "/api/v1/jobs/" + id + "/result?link=1");
  CHECK(link.status == 200);
  CHECK(link.body == R"({"url":null})");

  auto report = api.call("GET", "/api/v1/jobs/" + id + "/report");
  REQUIRE(report.stream);
  CHECK(read_all(*report.stream) == R"({"summary":{}})");
  CHECK(header_of(report, "Content-Type") == "application/json");
  auto md = api.call("GET", "/api/v1/jobs/" + id + "/report?format=md");
  REQUIRE(md.stream);
  CHECK(read_all(*md.stream) == "# Report\n");
  CHECK(header_of(md, "Content-Type") == "text/markdown; charset=utf-8");
  CHECK(api.call("GET", "/api/v1/jobs/" + id + "/report?format=pdf").status == 400);
}

TEST_CASE("the diff answers 409 until the job has succeeded, then streams; none from before diffs is its own 404",
          "[api][diff]") {
  Api api;
  auto created = api.upload(make_zip(api.dir.path()), "", "application/zip", "alice");
  std::string id = field(created.body, "id");
  auto early = api.call("GET", "/api/v1/jobs/" + id + "/diff", {}, {}, "alice");
  CHECK(early.status == 409);
  CHECK(field(early.body, "code") == "conflict");
  CHECK(field(early.body, "detail") == "job is queued; the diff is ready once it has succeeded");

  api.succeed(id);
  auto before_diffs = api.call("GET", "/api/v1/jobs/" + id + "/diff", {}, {}, "alice");
  CHECK(before_diffs.status == 404);
  CHECK(field(before_diffs.body, "code") == "diff_unavailable");

  const std::string patch = "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a \n+a\n";
  REQUIRE(storage::put_bytes(*api.blobs, cleanup::diff_key(id), patch).ok());
  auto diff = api.call("GET", "/api/v1/jobs/" + id + "/diff", {}, {}, "alice");
  REQUIRE(diff.status == 200);
  REQUIRE(diff.stream);
  CHECK(diff.stream->size() == static_cast<std::int64_t>(patch.size()));
  CHECK(read_all(*diff.stream) == patch);
  CHECK(header_of(diff, "Content-Type") == "text/x-diff; charset=utf-8");
  // Another tenant cannot tell the job exists.
  auto other = api.call("GET", "/api/v1/jobs/" + id + "/diff", {}, {}, "bob");
  CHECK(other.status == 404);
  CHECK(field(other.body, "code") == "not_found");
}

TEST_CASE("health, readiness and metrics", "[api]") {
  Api api;
  auto health = api.call("GET", "/healthz");
  CHECK(health.status == 200);
  CHECK(health.body == R"({"status":"ok"})");
  auto ready = api.call("GET", "/readyz");
  CHECK(ready.status == 200);
  CHECK(ready.body == R"({"status":"ready"})");

  REQUIRE(api.upload(make_zip(api.dir.path())).status == 201);
  auto metrics = api.call("GET", "/metrics");
  CHECK(metrics.status == 200);
  CHECK(header_of(metrics, "Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(metrics.body.find("fti_jobs_queue_depth{queue=\"cleanup\"} 1\n") != std::string::npos);

  api.draining = true;
  auto draining = api.call("GET", "/readyz");
  CHECK(draining.status == 503);
  CHECK(field(draining.body, "code") == "unavailable");
  api.draining = false;

  // Storage gone: the blob folder cannot be checked.
  fs::remove_all(api.blob_dir());
  std::ofstream(api.blob_dir()) << "not a folder";
  CHECK(api.call("GET", "/readyz").status == 503);
}

TEST_CASE("the auth middleware", "[api][auth]") {
  Api api;
  http::Route private_route{"GET", "/api/v1/jobs", nullptr, {}};
  http::Route public_route{"GET", "/healthz", nullptr, {}};
  public_route.options.public_route = true;

  SECTION("open mode: everyone is the anonymous tenant") {
    auto auth = api::make_auth_middleware(api.deps);
    http::Request req;
    CHECK_FALSE(auth(req, private_route));
    CHECK(req.tenant == "anonymous");
    CHECK(req.is_admin);
  }

  SECTION("open mode behind a proxy: requests forwarded from another machine are refused") {
    auto auth = api::make_auth_middleware(api.deps);
    for (std::string local : {"127.0.0.1", "::1", "127.0.0.1, 127.0.0.2", " localhost "}) {
      INFO(local);
      http::Request req;
      req.headers["x-forwarded-for"] = local;
      CHECK_FALSE(auth(req, private_route));
      CHECK(req.tenant == "anonymous");
    }
    // The proxy appends the address it took the request from; a client may prepend anything.
    for (std::string remote : {"203.0.113.7", "127.0.0.1, 203.0.113.7", "2001:db8::1", "unknown"}) {
      INFO(remote);
      http::Request req;
      req.headers["x-forwarded-for"] = remote;
      auto refused = auth(req, private_route);
      REQUIRE(refused);
      CHECK(refused->status == 401);
      CHECK(field(refused->body, "code") == "unauthorized");
      CHECK(req.tenant.empty());
      http::Request health;
      health.headers["x-forwarded-for"] = remote;
      CHECK_FALSE(auth(health, public_route));  // probes through the proxy still work
    }
  }

  SECTION("api_key mode: bearer keys are looked up hashed") {
    auto cfg = std::make_shared<Config>();
    cfg->auth.mode = "api_key";
    api.deps.config = cfg;
    auto auth = api::make_auth_middleware(api.deps);
    {
      auto conn = api.database->acquire();
      REQUIRE(conn.ok());
      REQUIRE((*conn)
                  ->execute("INSERT INTO api_keys (id, tenant, key_hash, is_admin, created_at, revoked_at) VALUES "
                            "('k1', 'acme', $1, 0, 1, NULL), ('k2', 'old', $2, 1, 1, 5)",
                            {db::Value(sha256_hex("good-key")), db::Value(sha256_hex("revoked-key"))})
                  .ok());
    }

    http::Request ok;
    ok.headers["authorization"] = "Bearer good-key";
    CHECK_FALSE(auth(ok, private_route));
    CHECK(ok.tenant == "acme");
    CHECK_FALSE(ok.is_admin);

    for (std::string header : {"", "Bearer ", "Bearer wrong", "Basic Z29vZC1rZXk=", "Bearer revoked-key"}) {
      INFO(header);
      http::Request req;
      if (!header.empty()) req.headers["authorization"] = header;
      auto refused = auth(req, private_route);
      REQUIRE(refused);
      CHECK(refused->status == 401);
      CHECK(field(refused->body, "code") == "unauthorized");
      CHECK(header_of(*refused, "WWW-Authenticate") == "Bearer");
    }

    http::Request health;
    CHECK_FALSE(auth(health, public_route));
  }
}
