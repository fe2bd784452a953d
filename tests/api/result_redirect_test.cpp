// The result download when storage is S3: the upload streams into the bucket, and the result
// endpoint answers 307 to a presigned URL that a plain client follows to the bytes, under
// the download name. The bucket is the fake S3 server, which checks every signature.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>

#include "fakes/fake_s3_server.hpp"
#include "fakes/manual_clock.hpp"
#include "api/string_body.hpp"
#include "support/temp_dir.hpp"
#include "fti/api/api.hpp"
#include "fti/cleanup/archive.hpp"
#include "fti/cleanup/job_handler.hpp"
#include "fti/core/http_client.hpp"
#include "fti/core/json.hpp"
#include "fti/db/database.hpp"
#include "fti/db/migrations.hpp"
#include "fti/jobs/job_store.hpp"
#include "fti/ops/metrics.hpp"
#include "fti/storage/s3_blob_store.hpp"

using namespace fti;
namespace fs = std::filesystem;

namespace {


struct S3Api {
  S3Api() {
    auto db = db::open_database("sqlite:" + (dir / "fti.db").string(), {});
    REQUIRE(db.ok());
    database = std::move(db).value();
    REQUIRE(db::migrate(*database).ok());
    storage::OpenBlobStoreOptions options;
    fakes::FakeS3Server::Options fake;
    options.s3_credentials = {fake.access_key_id, fake.secret_access_key, ""};
    options.clock = &clock;
    auto store = storage::open_blob_store("s3://fake-bucket?endpoint=" + s3.endpoint(), options);
    REQUIRE(store.ok());
    blobs = std::move(store).value();
    job_store = jobs::make_sql_job_store(*database);
    ops::declare_standard_metrics(metrics);
    auto cfg = std::make_shared<Config>();
    deps.config = cfg;
    deps.database = database.get();
    deps.blobs = blobs.get();
    deps.jobs = job_store.get();
    deps.metrics = &metrics;
    deps.clock = &clock;
    deps.draining = &draining;
    api::register_routes(router, deps);
  }
  http::Response call(const std::string& method, const std::string& target, std::string body = {}) {
    http::Request req;
    req.method = method;
    req.target = target;
    auto q = target.find('?');
    req.path = target.substr(0, q);
    if (q != std::string::npos) req.query = http::parse_query(target.substr(q + 1));
    req.headers = {{"content-type", "application/zip"}};
    req.tenant = "t1";
    auto match = router.match(method, req.path);
    REQUIRE(match.route);
    req.params = match.params;
    testing::StringBody stream(std::move(body));
    if (match.route->options.streaming_body) req.body_stream = &stream;
    return match.route->handler(req);
  }

  // Claims the job and completes it, as a worker would.
  void succeed(const std::string& id) {
    auto claimed = job_store->claim("worker-1", 10, clock.now_ms(), 60000);
    REQUIRE(claimed.ok());
    REQUIRE(claimed->size() == 1);
    REQUIRE(*job_store->complete(id, claimed->front().attempt, R"({"files_in":1})", clock.now_ms()));
  }

  fakes::ManualClock clock;
  fakes::FakeS3Server s3{fakes::FakeS3Server::Options{.clock = &clock}};
  testing::TempDir dir{"s3-api"};
  std::unique_ptr<db::Database> database;
  std::unique_ptr<storage::BlobStore> blobs;
  std::unique_ptr<jobs::JobStore> job_store;
  ops::Metrics metrics;
  std::atomic<bool> draining{false};
  api::ApiDeps deps;
  http::Router router;
};

std::string header_of(const http::Response& res, const std::string& name) {
  for (const auto& [n, v] : res.headers) {
    if (n == name) return v;
  }
  return {};
}

std::string make_zip(const fs::path& scratch) {
  fs::create_directories(scratch / "tree");
  std::ofstream(scratch / "tree/main.c") << "int main(void){return 0;}\n";
  REQUIRE(cleanup::pack_zip(scratch / "tree", scratch / "in.zip").ok());
  std::ifstream in(scratch / "in.zip", std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// What a browser does with a presigned URL: a plain GET, no credentials. It must get the
// result's bytes under the download name.
void check_download(const std::string& url) {
  HttpRequest follow;
  follow.url = url;
  auto download = HttpClient().send(follow);
  REQUIRE(download.ok());
  CHECK(download->status == 200);
  CHECK(download->body == "PK-clean-result");
  CHECK(download->header("content-type") == "application/zip");
  CHECK(download->header("content-disposition") ==
        "attachment; filename=\"messy-clean.zip\"; filename*=UTF-8''messy-clean.zip");
}

}  // namespace

TEST_CASE("with S3 storage the result endpoint redirects to a presigned URL that serves the bytes", "[api][s3]") {
  S3Api api;
  auto created = api.call("POST", "/api/v1/jobs?filename=messy.zip", make_zip(api.dir.path()));
  REQUIRE(created.status == 201);
  auto id = json::Document::parse(created.body).value().root().get_string("id").value_or("");
  REQUIRE(api.s3.object("fake-bucket", "uploads/" + id));  // the upload went to the bucket

  api.succeed(id);
  REQUIRE(storage::put_bytes(*api.blobs, cleanup::result_key(id), "PK-clean-result").ok());

  auto res = api.call("GET", "/api/v1/jobs/" + id + "/result");
  REQUIRE(res.status == 307);
  CHECK_FALSE(res.stream);
  CHECK(header_of(res, "Cache-Control") == "no-store");
  std::string location = header_of(res, "Location");
  CHECK(location.rfind(api.s3.endpoint() + "/fake-bucket/results/" + id + ".zip?", 0) == 0);
  CHECK_THAT(location, Catch::Contains("X-Amz-Signature=") && Catch::Contains("X-Amz-Expires=900"));
  check_download(location);
}

TEST_CASE("with S3 storage ?link=1 answers the download's URL as JSON, for a page that cannot follow the redirect",
          "[api][s3]") {
  S3Api api;
  auto created = api.call("POST", "/api/v1/jobs?filename=messy.zip", make_zip(api.dir.path()));
  REQUIRE(created.status == 201);
  auto id = json::Document::parse(created.body).value().root().get_string("id").value_or("");
  api.succeed(id);
  REQUIRE(storage::put_bytes(*api.blobs, cleanup::result_key(id), "PK-clean-result").ok());

  auto res = api.call("GET", "/api/v1/jobs/" + id + "/result?link=1");
  REQUIRE(res.status == 200);
  CHECK(header_of(res, "Cache-Control") == "no-store");
  auto doc = json::Document::parse(res.body);
  REQUIRE(doc.ok());
  const std::string url = doc->root().get_string("url").value_or("");
  CHECK(url.rfind(api.s3.endpoint() + "/fake-bucket/results/" + id + ".zip?", 0) == 0);
  CHECK(doc->root().get_int("expires_in_seconds") == 900);
  check_download(url);
  // A lost result is not linked to either.
  REQUIRE(api.blobs->remove(cleanup::result_key(id)).ok());
  auto lost = api.call("GET", "/api/v1/jobs/" + id + "/result?link=1");
  CHECK(lost.status == 500);
}

TEST_CASE("with S3 storage a missing result is still our 500, not a redirect to a 404", "[api][s3]") {
  S3Api api;
  auto created = api.call("POST", "/api/v1/jobs?filename=messy.zip", make_zip(api.dir.path()));
  auto id = json::Document::parse(created.body).value().root().get_string("id").value_or("");
  api.succeed(id);
  auto res = api.call("GET", "/api/v1/jobs/" + id + "/result");
  CHECK(res.status == 500);
  CHECK_THAT(res.body, Catch::Contains("missing from storage"));
}
