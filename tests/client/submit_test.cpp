// submit() against a stand-in for the job API on the project's own HttpServer, for what a
// real server does not do on demand: an event stream that ends before the job does, and a
// result answered with a redirect to a store's presigned URL.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "fti/client/submit.hpp"
#include "fti/http/server.hpp"
#include "fti/ops/metrics.hpp"
#include "support/captured_file.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace fti;

namespace {

std::string job_json(const std::string& status, int progress, const std::string& stage) {
  std::string result = status == "succeeded" ? R"({"files_in":3,"files_out":2,"files_changed":1,"files_removed":1})"
                                             : "null";
  return R"({"id":"j1","status":")" + status + R"(","progress":)" + std::to_string(progress) + R"(,"stage":")" +
         stage + R"(","attempt":1,"error":null,"result":)" + result + "}";
}

// The job API as the client sees it. The job's events stop after two messages without the
// final one; polls then see it running once and succeeded after that.
class FakeJobServer {
 public:
  FakeJobServer() {
    ops::declare_standard_metrics(metrics_);
    router_.add("POST", "/api/v1/jobs", [this](http::Request& req) {
      std::lock_guard lock(mutex_);
      upload_auth = req.header("authorization");
      upload_filename = req.query_param("filename").value_or("");
      upload_bytes = req.body.size();
      return http::Response::json(201, job_json("queued", 0, ""));
    });
    router_.add_websocket("/api/v1/jobs/{id}/events",
                          [this](http::Request& req, std::shared_ptr<http::WebSocketChannel> channel) {
                            {
                              std::lock_guard lock(mutex_);
                              events_auth = req.header("authorization");
                            }
                            channel->send_text(R"({"type":"status","job":)" + job_json("running", 20, "extract") + "}");
                            channel->send_text(R"({"type":"progress","job_id":"j1","progress":40,"stage":"format"})");
                            channel->close("going away early");
                            return std::optional<http::Response>();
                          });
    router_.add("GET", "/api/v1/jobs/{id}", [this](http::Request&) {
      return ++polls == 1 ? http::Response::json(200, job_json("running", 60, "secrets"))
                          : http::Response::json(200, job_json("succeeded", 100, "pack"));
    });
    router_.add("GET", "/api/v1/jobs/{id}/result", [this](http::Request&) {
      http::Response r;
      r.status = 307;
      r.set_header("Location", "http://127.0.0.1:" + std::to_string(port_) + "/store/results/j1.zip?sig=abc");
      return r;
    });
    router_.add("GET", "/store/results/j1.zip", [this](http::Request& req) {
      std::lock_guard lock(mutex_);
      store_auth = req.header("authorization");
      return http::Response::text(200, "the cleaned archive", "application/zip");
    });
    http::ServerOptions options;
    options.port = 0;
    server_ = std::make_unique<http::HttpServer>(options, router_, metrics_);
    auto port = server_->listen();
    REQUIRE(port.ok());
    port_ = *port;
    thread_ = std::thread([this] { server_->run(); });
  }
  ~FakeJobServer() {
    server_->stop();
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  std::mutex mutex_;
  std::string upload_auth, upload_filename, events_auth, store_auth;
  std::size_t upload_bytes = 0;
  std::atomic<int> polls{0};

 private:
  http::Router router_;
  ops::Metrics metrics_;
  std::unique_ptr<http::HttpServer> server_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

using Capture = fti::testing::CapturedFile;

}  // namespace

TEST_CASE("submit polls when the event stream ends early, and follows the result's redirect without the key",
          "[client][submit]") {
  const fti::testing::TempDir temp("client-submit");
  const fs::path& dir = temp.path();
  fs::create_directories(dir / "my project" / "src");
  std::ofstream(dir / "my project" / "src" / "a.c") << "int a;\r\n";
  FakeJobServer server;

  client::SubmitOptions options;
  options.input = (dir / "my project").string();
  options.output = (dir / "out.zip").string();
  options.server = server.url() + "/";
  options.api_key = "k1";
  options.work_dir = dir;
  options.timeout = std::chrono::seconds(30);
  Capture out, err, notes;
  client::SubmitOutcome outcome;
  {
    ProgressDisplay progress(ProgressMode::lines, out.file(), err.file());
    outcome = client::submit(options, progress, notes.file());
  }
  INFO(notes.text());
  REQUIRE_FALSE(outcome.error);
  CHECK(outcome.job_id == "j1");
  CHECK(outcome.polled);
  CHECK(outcome.summary == "3 files in, 2 out (1 changed, 1 removed)");

  // The folder went up as a zip named after it, with the key on the upload and the upgrade.
  {
    std::lock_guard lock(server.mutex_);
    CHECK(server.upload_filename == "my project.zip");
    CHECK(server.upload_bytes > 0);
    CHECK(server.upload_auth == "Bearer k1");
    CHECK(server.events_auth == "Bearer k1");
    CHECK(server.store_auth.empty());  // a presigned URL carries its own signature
  }
  CHECK(notes.text().find("note: the event stream ended early") != std::string::npos);
  CHECK(server.polls == 2);
  // Events first, then what polling saw, and no repeats.
  const std::string lines = out.text();
  CHECK(lines.find("progress 20 extract\nprogress 40 format\nprogress 60 secrets\nprogress 100 done\n") !=
        std::string::npos);

  std::ifstream result(dir / "out.zip");
  std::stringstream body;
  body << result.rdbuf();
  CHECK(body.str() == "the cleaned archive");
  // Neither the folder's temporary zip nor a partial download is left behind.
  for (const auto& entry : fs::directory_iterator(dir)) {
    INFO(entry.path());
    CHECK((entry.path().filename() == "my project" || entry.path().filename() == "out.zip"));
  }
}
