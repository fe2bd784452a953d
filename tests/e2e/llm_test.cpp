#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sys/socket.h>

#include "fixtures.hpp"

using namespace fti::e2e;

namespace {

// The fake LLM server (tests/fakes) as its own process, the way a real Ollama or cloud
// endpoint would be: the server under test reaches it only over HTTP.
class FakeLlmProcess {
 public:
  explicit FakeLlmProcess(const fs::path& dir) : port_file_(dir / "fake-llm.port") {
    fs::create_directories(dir);
    pid_ = ::fork();
    if (pid_ == 0) {
      std::string pf = port_file_.string();
      const char* argv[] = {FTI_FAKE_LLM_SERVER, "--listen", "127.0.0.1:0", "--port-file", pf.c_str(), nullptr};
      ::execv(FTI_FAKE_LLM_SERVER, const_cast<char* const*>(argv));
      ::_exit(127);
    }
    if (!wait_until([&] { return fs::exists(port_file_); }, std::chrono::seconds(20))) {
      throw std::runtime_error("the fake LLM server did not start");
    }
    port_ = std::stoi(read_file(port_file_));
  }
  ~FakeLlmProcess() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // Every generation request from now on behaves like this (see FakeLlmBehavior).
  void set_default(const std::string& behaviour_json) const { post("/_fake/default", behaviour_json); }
  std::string requests() const { return get("/_fake/requests"); }

 private:
  void post(const std::string& path, const std::string& body) const {
    fti::HttpRequest req;
    req.method = "POST";
    req.url = url() + path;
    req.body = body;
    req.headers = {{"Content-Type", "application/json"}};
    auto r = fti::HttpClient().send(req);
    if (!r.ok() || r->status != 200) throw std::runtime_error("fake LLM control call failed");
  }
  std::string get(const std::string& path) const {
    fti::HttpRequest req;
    req.url = url() + path;
    auto r = fti::HttpClient().send(req);
    if (!r.ok()) throw std::runtime_error("fake LLM control call failed");
    return r->body;
  }

  fs::path port_file_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// A loopback port nothing listens on: connections to it are refused.
int closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// A codebase with a Python file worth rewriting, a secret, and no README.
fs::path make_llm_zip(const fs::path& dir) {
  auto tree = dir / "project";
  write_file(tree / "tool.py",
             "import os\nimport sys\n\n\ndef main():\n    # old = compute()\n    print(\"hi\")\n\n\n"
             "if __name__ == \"__main__\":\n    main()\n");
  write_file(tree / "settings.py", "AWS_KEY = 'AKIAIOSFODNN7EXAMPLE'\nDEBUG = True\n");
  auto zip = dir / "project.zip";
  if (sh("cd '" + tree.string() + "' && zip -qr '" + zip.string() + "' .") != 0) throw std::runtime_error("zip failed");
  return zip;
}

struct JobOutcome {
  std::string status;
  std::string report;
};

JobOutcome run_job(const Server& server, const fs::path& zip) {
  auto created = server.upload_file(zip, "application/zip", "?filename=project.zip");
  REQUIRE(created.status == 201);
  auto id = json_string(created.body, "id");
  auto done = server.wait_for_job(id, std::chrono::seconds(120));
  return {json_string(done, "status"), server.request("GET", "/api/v1/jobs/" + id + "/report").body};
}

fti::json::Value llm_section(const fti::json::Document& doc) {
  auto llm = doc.root().get("llm");
  REQUIRE(llm);
  return *llm;
}

}  // namespace

TEST_CASE("with Ollama configured, a job's report shows Ollama calls at no cost", "[e2e][llm]") {
  const TempDir temp("e2e-llm-ollama");
  const fs::path& dir = temp.path();
  FakeLlmProcess ollama(dir);
  Server server(dir / "data", {"FTI_LLM_MODE=auto", "FTI_LLM_OLLAMA_URLS=" + ollama.url()});
  auto job = run_job(server, make_llm_zip(dir));
  INFO(job.report << "\n" << server.log());
  REQUIRE(job.status == "succeeded");
  auto doc = fti::json::Document::parse(job.report);
  REQUIRE(doc.ok());
  auto llm = llm_section(*doc);
  CHECK(llm.get_int("calls").value_or(0) >= 1);
  auto by = llm.get("by_provider");
  REQUIRE(by);
  auto ollama_stats = by->get("ollama");
  REQUIRE(ollama_stats);
  CHECK(ollama_stats->get_int("calls").value_or(0) >= 1);
  CHECK(llm.get_double("cost_usd").value_or(-1) == 0.0);
  // The secret was redacted before any prompt left the process.
  auto seen = ollama.requests();
  CHECK(seen.find("/api/chat") != std::string::npos);
  CHECK(seen.find("AKIAIOSFODNN7EXAMPLE") == std::string::npos);
  auto metrics = server.request("GET", "/metrics").body;
  CHECK(metrics.find("fti_llm_requests_total{model=\"codellama\",outcome=\"ok\",provider=\"ollama\"}") != std::string::npos);
}

TEST_CASE("with Ollama failing, the job falls back to the cloud models and records their cost", "[e2e][llm]") {
  const TempDir temp("e2e-llm-fallback");
  const fs::path& dir = temp.path();
  FakeLlmProcess ollama(dir / "ollama");
  FakeLlmProcess cloud(dir / "cloud");
  ollama.set_default(R"({"kind":"status","status":503,"error_type":"server busy"})");
  Server server(dir / "data", {"FTI_LLM_MODE=auto", "FTI_LLM_OLLAMA_URLS=" + ollama.url(),
                               "FTI_LLM_OPENAI_BASE_URL=" + cloud.url() + "/v1", "FTI_LLM_OPENAI_API_KEY=sk-test",
                               "FTI_LLM_ANTHROPIC_BASE_URL=" + cloud.url(), "FTI_LLM_ANTHROPIC_API_KEY=ak-test"});
  auto job = run_job(server, make_llm_zip(dir));
  INFO(job.report << "\n" << server.log());
  REQUIRE(job.status == "succeeded");
  auto doc = fti::json::Document::parse(job.report);
  REQUIRE(doc.ok());
  auto llm = llm_section(*doc);
  CHECK(llm.get_double("cost_usd").value_or(0) > 0);
  auto by = llm.get("by_provider");
  REQUIRE(by);
  auto openai = by->get("openai");
  auto anthropic = by->get("anthropic");
  std::int64_t cloud_calls = (openai ? openai->get_int("calls").value_or(0) : 0) +
                             (anthropic ? anthropic->get_int("calls").value_or(0) : 0);
  CHECK(cloud_calls >= 1);
  CHECK(cloud.requests().find("AKIAIOSFODNN7EXAMPLE") == std::string::npos);
  auto metrics = server.request("GET", "/metrics").body;
  CHECK(metrics.find("fti_llm_cost_usd_total{provider=") != std::string::npos);
}

TEST_CASE("with every model down, the job still succeeds and the report says why", "[e2e][llm]") {
  const TempDir temp("e2e-llm-down");
  const fs::path& dir = temp.path();
  auto down = "http://127.0.0.1:" + std::to_string(closed_port());
  Server server(dir / "data", {"FTI_LLM_MODE=auto", "FTI_LLM_OLLAMA_URLS=" + down,
                               "FTI_LLM_OPENAI_BASE_URL=" + down + "/v1", "FTI_LLM_OPENAI_API_KEY=sk-test",
                               "FTI_LLM_ANTHROPIC_BASE_URL=" + down, "FTI_LLM_ANTHROPIC_API_KEY=ak-test",
                               "FTI_LLM_MAX_RETRIES=0"});
  auto zip = make_llm_zip(dir);
  auto job = run_job(server, zip);
  INFO(job.report << "\n" << server.log());
  REQUIRE(job.status == "succeeded");
  auto doc = fti::json::Document::parse(job.report);
  REQUIRE(doc.ok());
  auto llm = llm_section(*doc);
  CHECK(llm.get_int("calls").value_or(-1) == 0);
  auto skipped = llm.get("skipped");
  REQUIRE(skipped);
  REQUIRE_FALSE(skipped->items().empty());
  CHECK(skipped->to_json().find("could answer") != std::string::npos);
}
