// `finishthisidea submit` against a real `serve`: the upload, the followed job, the download,
// and the exit status and one-line error of each way it can go wrong.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <spawn.h>

#include <sstream>

#include "fixtures.hpp"

using namespace fti::e2e;

namespace {

fti::ProcessResult run_fti(std::vector<std::string> args, std::chrono::seconds timeout = std::chrono::seconds(120)) {
  fti::ProcessSpec spec;
  spec.argv = {FTI_BINARY};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.timeout = timeout;
  auto r = fti::run_process(spec);
  REQUIRE(r.ok());
  return std::move(r).value();
}

// One file of a zip, read with the unzip tool.
std::string unzip_file(const fs::path& zip, const std::string& name) {
  fti::ProcessSpec spec;
  spec.argv = {"unzip", "-p", zip.string(), name};
  auto r = fti::run_process(spec);
  REQUIRE(r.ok());
  return r->stdout_data;
}

std::string zip_listing(const fs::path& zip) {
  fti::ProcessSpec spec;
  spec.argv = {"unzip", "-Z1", zip.string()};
  auto r = fti::run_process(spec);
  REQUIRE(r.ok());
  return r->stdout_data;
}

// The percents of the `progress N stage` lines, in order.
std::vector<int> progress_percents(const std::string& stdout_text) {
  std::vector<int> out;
  std::istringstream in(stdout_text);
  std::string word;
  int percent = 0;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    if (words >> word >> percent && word == "progress") out.push_back(percent);
  }
  return out;
}

// True when an `upload SENT TOTAL` line says every byte went out.
bool upload_finished(const std::string& stdout_text) {
  std::istringstream in(stdout_text);
  std::string line, word;
  long long sent = 0, total = 0;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    if (words >> word >> sent >> total && word == "upload" && total > 0 && sent == total) return true;
  }
  return false;
}

std::string key_from(const std::string& created) {
  auto at = created.find("\nkey");
  REQUIRE(at != std::string::npos);
  std::istringstream words(created.substr(at + 4));
  std::string key;
  words >> key;
  return key;
}

}  // namespace

TEST_CASE("submit cleans a folder on a server, showing upload and job progress", "[e2e][cli][submit]") {
  const TempDir temp("e2e-submit");
  const fs::path& dir = temp.path();
  auto tree = make_messy_tree(dir / "messy");
  Server server(dir / "data");
  auto out = dir / "out.zip";
  auto report = dir / "report.json";

  auto r = run_fti({"submit", tree.string(), "--server", server.url(""), "-o", out.string(), "--report",
                    report.string(), "--progress", "lines"});
  INFO(r.stdout_data << r.stderr_data);
  REQUIRE(r.exit_code == 0);

  // The cleaned files: CRLF became LF, junk folders are gone, the rest is kept.
  CHECK(unzip_file(out, "src/main.c").find('\r') == std::string::npos);
  CHECK(unzip_file(out, "app.py").find("    kept   \n") != std::string::npos);  // inside a string: kept
  auto listing = zip_listing(out);
  CHECK(listing.find("node_modules") == std::string::npos);
  CHECK(listing.find("README.md") != std::string::npos);
  CHECK(fti::json::Document::parse(read_file(report)).ok());
  CHECK(read_file(report).find("node_modules/") != std::string::npos);
  // No partial download or temporary zip left beside the output.
  for (const auto& entry : fs::directory_iterator(dir)) CHECK(entry.path().filename().string().find(".part-") == std::string::npos);

  // Upload bytes first, then the job's percent, never going back, up to 100.
  CHECK(upload_finished(r.stdout_data));
  auto percents = progress_percents(r.stdout_data);
  REQUIRE(percents.size() >= 3);
  CHECK(std::is_sorted(percents.begin(), percents.end()));
  CHECK(percents.back() == 100);
  CHECK(r.stdout_data.find("\nresult {\"files_in\":") != std::string::npos);
  CHECK(r.stdout_data.find("upload") < r.stdout_data.find("progress"));
  CHECK(r.stderr_data.find("polling") == std::string::npos);  // the WebSocket carried the job
}

TEST_CASE("submit sends an archive as it is; plain progress goes to stderr", "[e2e][cli][submit]") {
  const TempDir temp("e2e-submit-zip");
  const fs::path& dir = temp.path();
  auto zip = make_messy_zip(dir);
  Server server(dir / "data");
  auto out = dir / "from-zip.zip";

  auto r = run_fti({"submit", zip.string(), "--server", server.url("/"), "-o", out.string(), "--progress", "plain"});
  INFO(r.stderr_data);
  REQUIRE(r.exit_code == 0);
  CHECK(unzip_file(out, "run.bat") == "@echo off\r\necho hi\r\n");  // .bat files keep CRLF
  CHECK(r.stderr_data.find("100% done") != std::string::npos);
  CHECK(r.stderr_data.find("wrote " + out.string()) != std::string::npos);
  // The server recorded the archive's own name.
  auto jobs = server.request("GET", "/api/v1/jobs");
  CHECK(jobs.body.find("\"filename\":\"messy.zip\"") != std::string::npos);
}

TEST_CASE("submit exits 1 with the job's error code when the job fails", "[e2e][cli][submit]") {
  const TempDir temp("e2e-submit-fail");
  const fs::path& dir = temp.path();
  // A zip-slip entry: the server takes the upload, the cleanup refuses to extract it.
  write_file(dir / "mk.py",
             "import zipfile, sys\n"
             "with zipfile.ZipFile(sys.argv[1], 'w') as z:\n"
             "    z.writestr('ok.txt', 'fine\\n')\n"
             "    z.writestr('../../victim.txt', 'owned\\n')\n");
  REQUIRE(sh("python3 '" + (dir / "mk.py").string() + "' '" + (dir / "slip.zip").string() + "'") == 0);
  Server server(dir / "data");
  auto out = dir / "never.zip";

  auto r = run_fti({"submit", (dir / "slip.zip").string(), "--server", server.url(""), "-o", out.string(),
                    "--progress", "none"});
  INFO(r.stderr_data);
  CHECK(r.exit_code == 1);
  CHECK(r.stderr_data.find("error: unsafe_archive: ") != std::string::npos);
  CHECK(std::count(r.stderr_data.begin(), r.stderr_data.end(), '\n') == 1);
  CHECK_FALSE(fs::exists(out));
}

TEST_CASE("submit to a server with API keys: without one exits 2 and says to give --api-key", "[e2e][cli][submit]") {
  const TempDir temp("e2e-submit-auth");
  const fs::path& dir = temp.path();
  auto zip = make_messy_zip(dir);
  const std::string data = (dir / "data").string();
  auto created = run_fti({"keys", "create", "--tenant", "acme", "--data-dir", data});
  REQUIRE(created.exit_code == 0);
  const std::string key = key_from(created.stdout_data);
  Server server(dir / "data", {"FTI_AUTH_MODE=api_key"});
  auto out = dir / "out.zip";

  auto anonymous = run_fti({"submit", zip.string(), "--server", server.url(""), "-o", out.string()});
  CHECK(anonymous.exit_code == 2);
  CHECK(anonymous.stderr_data == "error: unauthorized: the server wants an API key: give --api-key KEY\n");

  auto wrong = run_fti({"submit", zip.string(), "--server", server.url(""), "-o", out.string(), "--api-key",
                        "fti_" + std::string(52, 'a')});
  CHECK(wrong.exit_code == 2);
  CHECK(wrong.stderr_data.find("refused the API key") != std::string::npos);
  CHECK_FALSE(fs::exists(out));

  // The key also opens the job's WebSocket (Authorization on the upgrade): no polling.
  write_file(dir / "key.txt", key + "\n");
  auto keyed = run_fti({"submit", zip.string(), "--server", server.url(""), "-o", out.string(), "--api-key-file",
                        (dir / "key.txt").string(), "--progress", "plain"});
  INFO(keyed.stderr_data);
  CHECK(keyed.exit_code == 0);
  CHECK(keyed.stderr_data.find("polling") == std::string::npos);
  CHECK(fs::file_size(out) > 0);
}

TEST_CASE("submit to a port where no server listens exits 2 at once", "[e2e][cli][submit]") {
  const TempDir temp("e2e-submit-noserver");
  const fs::path& dir = temp.path();
  auto zip = make_messy_zip(dir);
  // A port that was just free: bind, learn it, close.
  int port = 0;
  {
    Server probe(dir / "probe");
    port = probe.port();
  }
  auto started = std::chrono::steady_clock::now();
  auto r = run_fti({"submit", zip.string(), "--server", "http://127.0.0.1:" + std::to_string(port)});
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
  CHECK(r.exit_code == 2);
  CHECK(r.stderr_data.find("(connection refused); is the server running") != std::string::npos);

  auto no_scheme = run_fti({"submit", zip.string(), "--server", "127.0.0.1:" + std::to_string(port)});
  CHECK(no_scheme.exit_code == 2);
  CHECK(no_scheme.stderr_data.find("http:// or https://") != std::string::npos);
  auto missing = run_fti({"submit", (dir / "nope").string(), "--server", "http://127.0.0.1:1"});
  CHECK(missing.exit_code == 2);
  CHECK(missing.stderr_data.find("does not exist") != std::string::npos);
  CHECK(run_fti({"submit", zip.string()}).exit_code == 2);  // --server is required
}

TEST_CASE("submit polls the job when the server refuses its WebSocket, and waits out 429s", "[e2e][cli][submit]") {
  const TempDir temp("e2e-submit-poll");
  const fs::path& dir = temp.path();
  auto zip = make_messy_zip(dir);
  // One request per 4 s from an address: the upload takes the burst, so the WebSocket upgrade
  // right after it is refused (429); polling and the download wait for tokens (Retry-After).
  Server server(dir / "data", {"FTI_SHEDDING_CLIENT_RATE=0.25", "FTI_SHEDDING_CLIENT_BURST=1"});
  auto out = dir / "out.zip";

  auto r = run_fti({"submit", zip.string(), "--server", server.url(""), "-o", out.string(), "--progress", "plain"});
  INFO(r.stderr_data);
  REQUIRE(r.exit_code == 0);
  CHECK(r.stderr_data.find("note: no live events") != std::string::npos);
  CHECK(r.stderr_data.find("HTTP 429") != std::string::npos);
  CHECK(r.stderr_data.find("polling the job instead") != std::string::npos);
  CHECK(r.stderr_data.find("the server is busy (429 rate_limited); trying again in") != std::string::npos);
  CHECK(unzip_file(out, "src/main.c").find('\r') == std::string::npos);
}

TEST_CASE("submit gives up on a busy server when its Retry-After would pass the --timeout", "[e2e][cli][submit]") {
  const TempDir temp("e2e-submit-busy");
  const fs::path& dir = temp.path();
  auto zip = make_messy_zip(dir);
  Server server(dir / "data", {"FTI_SHEDDING_CLIENT_RATE=0.01", "FTI_SHEDDING_CLIENT_BURST=1"});
  REQUIRE(server.request("GET", "/api/v1/jobs").status == 200);  // takes this address's only token

  auto started = std::chrono::steady_clock::now();
  auto r = run_fti({"submit", zip.string(), "--server", server.url(""), "-o", (dir / "o.zip").string(), "--timeout",
                    "20"});
  INFO(r.stderr_data);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
  CHECK(r.exit_code == 1);
  CHECK(r.stderr_data.find("error: rate_limited: the server is still busy after 1 try") == 0);
  CHECK(r.stderr_data.find("try again in 100 s or later") != std::string::npos);
}

TEST_CASE("submit's memory does not grow with the archive: zip, upload and download stream", "[e2e][cli][submit][slow]") {
  const TempDir temp("e2e-submit-big");
  const fs::path& dir = temp.path();
  // 64 MiB that does not compress, beside a file to clean.
  REQUIRE(sh("mkdir -p '" + dir.string() + "/big' && head -c 67108864 /dev/urandom > '" + dir.string() +
             "/big/blob.bin'") == 0);
  write_file(dir / "big/a.py", "x = 1   \n");
  Server server(dir / "data");
  auto out = dir / "big-clean.zip";

  auto r = run_fti({"submit", (dir / "big").string(), "--server", server.url(""), "-o", out.string(), "--progress",
                    "none"},
                   std::chrono::seconds(300));
  INFO(r.stderr_data);
  REQUIRE(r.exit_code == 0);
  INFO("submit's peak RSS: " << r.peak_rss_bytes / 1048576 << " MiB");
  CHECK(fs::file_size(out) > 64LL << 20);
  CHECK(r.peak_rss_bytes < (40LL << 20) + kSanitizerRssAllowance);
  fs::remove_all(dir / "big");
  fs::remove(out);
}

TEST_CASE("Ctrl-C stops submit at once and leaves no temporary zip", "[e2e][cli][submit]") {
  const TempDir temp("e2e-submit-interrupt");
  const fs::path& dir = temp.path();
  auto tree = make_messy_tree(dir / "messy");
  fs::create_directories(dir / "tmp");
  // The upload is refused with a long Retry-After, so submit is waiting when the signal comes.
  Server server(dir / "data", {"FTI_SHEDDING_CLIENT_RATE=0.01", "FTI_SHEDDING_CLIENT_BURST=1"});
  REQUIRE(server.request("GET", "/api/v1/jobs").status == 200);

  const std::string err_path = (dir / "stderr.txt").string();
  const std::string tmpdir = "TMPDIR=" + (dir / "tmp").string();
  const std::string server_url = server.url("");
  const std::string input = tree.string();
  const char* argv[] = {FTI_BINARY, "submit", input.c_str(), "--server", server_url.c_str(), "--timeout", "600",
                        "--progress", "none", nullptr};
  std::vector<char*> envp;
  for (char** e = environ; *e; ++e) envp.push_back(*e);
  envp.push_back(const_cast<char*>(tmpdir.c_str()));
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  REQUIRE(posix_spawn(&pid, FTI_BINARY, &actions, nullptr, const_cast<char* const*>(argv), envp.data()) == 0);
  posix_spawn_file_actions_destroy(&actions);

  bool waiting = wait_until([&] { return read_file(err_path).find("trying again in") != std::string::npos; },
                            std::chrono::seconds(30));
  CHECK(waiting);
  ::kill(pid, SIGINT);
  const auto signalled = std::chrono::steady_clock::now();
  int status = 0;
  bool ended = wait_until([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, std::chrono::seconds(10));
  if (!ended) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  INFO(read_file(err_path));
  REQUIRE(ended);
  CHECK(std::chrono::steady_clock::now() - signalled < std::chrono::seconds(3));
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 130);
  CHECK(read_file(err_path).find("error: cancelled: interrupted") != std::string::npos);
  CHECK(fs::is_empty(dir / "tmp"));  // the folder's zip is gone
}
