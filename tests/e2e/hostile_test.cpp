// Hostile archives end to end (issue 7): every input of tests/tools/make-hostile-archives is
// uploaded to the real server and must end as that tool says (refused with its code, or
// contained and reported), with the cleanup child and the server's memory bounded. The same
// inputs make bench/hostile-archives' table.
#include <catch2/catch.hpp>

#include "fixtures.hpp"

using namespace fti::e2e;

namespace {

constexpr std::int64_t kMiB = 1 << 20;
// The 2 GiB bomb and the 200,000 entries must not make the cleanup child grow with them.
constexpr std::int64_t kChildPeakBound = 256 * kMiB + kSanitizerRssAllowance;
// The server streams uploads to disk: a 20 MB upload and two dozen jobs leave it about where
// it was.
constexpr std::int64_t kServerGrowthBound = 64 * kMiB + kSanitizerRssAllowance;

struct HostileInput {
  std::string name;
  fs::path file;
  std::string content_type;
  std::string expect;  // refused | contained | rejected
  std::string code;
  std::string note;    // for contained inputs: what the report must say
};

std::vector<HostileInput> make_hostile_inputs(const fs::path& dir, const std::string& only = "") {
  auto manifest = dir / "manifest.jsonl";
  REQUIRE(sh(std::string("'") + FTI_SOURCE_DIR + "/tests/tools/make-hostile-archives' '" + (dir / "in").string() +
             "' --only '" + only + "' > '" + manifest.string() + "'") == 0);
  std::vector<HostileInput> inputs;
  std::istringstream lines(read_file(manifest));
  for (std::string line; std::getline(lines, line);) {
    auto doc = fti::json::Document::parse(line);
    REQUIRE(doc.ok());
    auto get = [&](const char* key) { return doc->root().get_string(key).value_or(""); };
    inputs.push_back({get("name"), get("file"), get("content_type"), get("expect"), get("code"), get("note")});
  }
  REQUIRE_FALSE(inputs.empty());
  return inputs;
}

std::string error_code_of(const std::string& job_json) {
  auto doc = fti::json::Document::parse(job_json);
  if (!doc.ok()) return {};
  auto err = doc->root().get("error");
  return err && err->is_object() ? err->get_string("code").value_or("") : "";
}

std::int64_t child_peak_rss(const std::string& job_json) {
  auto doc = fti::json::Document::parse(job_json);
  auto usage = doc.ok() ? doc->root().get("usage") : std::nullopt;
  return usage ? usage->get_int("peak_rss_bytes").value_or(-1) : -1;
}

fti::ProcessResult run_clean(const fs::path& input, const fs::path& work) {
  fs::create_directories(work);
  fti::ProcessSpec spec;
  spec.argv = {FTI_BINARY, "clean", input.string(), "-o", (work / "out.zip").string(), "--no-llm",
               "--progress", "none", "--work-dir", work.string()};
  spec.timeout = std::chrono::seconds(300);
  auto r = fti::run_process(spec);
  REQUIRE(r.ok());
  return std::move(r).value();
}

}  // namespace

TEST_CASE("hostile uploads are refused with a code or contained and reported, in bounded memory",
          "[e2e][hostile]") {
  const TempDir temp("e2e-hostile");
  const fs::path& dir = temp.path();
  auto inputs = make_hostile_inputs(dir);
  Server server(dir / "data");
  const std::int64_t server_before = server.peak_rss_bytes();

  for (const auto& input : inputs) {
    INFO(input.name);
    auto created = server.upload_file(input.file, input.content_type, "?filename=" + input.file.filename().string());
    if (input.expect == "rejected") {
      CHECK(created.status == 415);
      CHECK(json_string(created.body, "code") == input.code);
      continue;
    }
    REQUIRE(created.status == 201);
    auto id = json_string(created.body, "id");
    auto done = server.wait_for_job(id, std::chrono::seconds(300));
    INFO(done);
    if (input.expect == "refused") {
      CHECK(json_string(done, "status") == "failed");
      CHECK(error_code_of(done) == input.code);
      CHECK(done.find("\"attempt\":1") != std::string::npos);  // a hostile upload is not retried
    } else {
      REQUIRE(json_string(done, "status") == "succeeded");
      auto report = server.request("GET", "/api/v1/jobs/" + id + "/report");
      CHECK(report.body.find(input.note) != std::string::npos);
    }
    auto child_peak = child_peak_rss(done);
    CHECK(child_peak > 0);
    CHECK(child_peak < kChildPeakBound);
  }

  const std::int64_t server_after = server.peak_rss_bytes();
  INFO("server VmHWM " << server_before / kMiB << " MiB -> " << server_after / kMiB << " MiB");
  CHECK(server_after - server_before < kServerGrowthBound);
  CHECK(server.request("GET", "/healthz").status == 200);
  // Nothing landed where the traversals aimed.
  CHECK_FALSE(fs::exists("/tmp/fti-hostile-abs-victim.txt"));
  CHECK_FALSE(fs::exists(dir / "fti-hostile-slip.txt"));
  CHECK_FALSE(fs::exists(dir / "data/fti-hostile-slip.txt"));
  fs::remove_all(dir);
}

TEST_CASE("finishthisidea clean gives the same codes on one error line, in bounded memory", "[e2e][hostile][cli]") {
  const TempDir temp("e2e-hostile-cli");
  const fs::path& dir = temp.path();
  auto inputs = make_hostile_inputs(dir, "bomb.zip,many.zip,many.tar.gz,hardlink-abs.tar,clash.tar,nested.zip");
  for (const auto& input : inputs) {
    INFO(input.name);
    auto r = run_clean(input.file, dir / "work");
    INFO(r.stderr_data);
    CHECK(r.peak_rss_bytes < kChildPeakBound);
    if (input.expect == "refused") {
      CHECK(r.exit_code == 1);
      CHECK(r.stderr_data.rfind("error: " + input.code + ": ", 0) == 0);
      CHECK(r.stderr_data.find('\n') == r.stderr_data.size() - 1);  // one line
      CHECK(r.stderr_data.find(" - ") != std::string::npos);        // and what to do about it
    } else {
      CHECK(r.exit_code == 0);
    }
  }
  fs::remove_all(dir);
}
