#pragma once
// End-to-end harness: starts the real finishthisidea binary on port 0 in a temp data folder,
// learns its port from its log, and talks to it over real HTTP (libcurl).
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "fti/core/http_client.hpp"
#include "fti/core/json.hpp"
#include "fti/core/process.hpp"
#include "support/temp_dir.hpp"

extern char** environ;

namespace fti::e2e {

// AddressSanitizer keeps freed memory resident in its quarantine (256 MiB by default) and adds
// shadow memory, so a memory bound measured on its builds measures ASan: they get this much
// more room. Release builds are held to the bounds themselves.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr std::int64_t kSanitizerRssAllowance = 320LL << 20;
#else
inline constexpr std::int64_t kSanitizerRssAllowance = 0;
#endif

namespace fs = std::filesystem;

// Each test's folder: declared before the servers and processes that run in it, so they
// are stopped before it is removed.
using fti::testing::TempDir;

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_file(const fs::path& p, const std::string& data) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << data;
}

// Waits for `ready` with a deadline; the only kind of waiting tests do.
inline bool wait_until(const std::function<bool()>& ready, std::chrono::milliseconds deadline) {
  auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return ready();
}

// True, and `pid` set to -1 (reaped), when that child has ended on its own.
inline bool reap_if_exited(pid_t& pid) {
  int status = 0;
  if (pid > 0 && ::waitpid(pid, &status, WNOHANG) == pid) {
    pid = -1;
    return true;
  }
  return false;
}

// Runs a shell command (building fixtures with zip/tar/python3); returns the exit code.
inline int sh(const std::string& command) {
  ProcessSpec spec;
  spec.argv = {"sh", "-c", command};
  spec.timeout = std::chrono::seconds(120);
  auto r = run_process(spec);
  return r.ok() && !r->signaled ? r->exit_code : -1;
}

// Unzips the whole archive into a fresh "unzipped" folder beside it and returns one member's
// bytes (so the test can also look at the folder afterwards).
inline std::string unzip_member(const fs::path& zip, const std::string& member) {
  auto out = zip.parent_path() / "unzipped";
  fs::remove_all(out);
  fs::create_directories(out);
  if (sh("cd '" + out.string() + "' && unzip -qo '" + zip.string() + "'") != 0) {
    throw std::runtime_error("unzip failed: " + zip.string());
  }
  return read_file(out / member);
}

class Server {
 public:
  explicit Server(fs::path data_dir, std::vector<std::string> env = {}) : data_dir_(std::move(data_dir)), env_(std::move(env)) {
    start();
  }

  // The embedded defaults: started inside `cwd` with no --data-dir, so data goes to ./data.
  struct InWorkingDir {};
  Server(InWorkingDir, fs::path cwd) : data_dir_(cwd / "data"), cwd_(std::move(cwd)) { start(); }
  ~Server() { stop(SIGTERM); }

  void start() {
    fs::create_directories(data_dir_);
    log_path_ = data_dir_ / ("server-" + std::to_string(++starts_) + ".log");
    // Everything the child needs is prepared before fork; the child only dups and execs.
    FILE* log = std::fopen(log_path_.c_str(), "w");
    if (!log) throw std::runtime_error("cannot create " + log_path_.string());
    std::string data = data_dir_.string();
    std::vector<char*> envp;
    for (char** e = environ; *e; ++e) envp.push_back(*e);
    for (auto& e : env_) envp.push_back(e.data());
    envp.push_back(nullptr);
    const char* argv[] = {FTI_BINARY, "serve", "--listen", "127.0.0.1:0", "--data-dir", data.c_str(), nullptr};
    if (!cwd_.empty()) argv[4] = nullptr;  // no --data-dir: the default ./data
    std::string cwd = cwd_.string();
    pid_ = ::fork();
    if (pid_ == 0) {
      // The server goes with the test if the test dies without stopping it (the test's main
      // thread starts every server and outlives them).
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
      ::dup2(::fileno(log), 2);
      ::dup2(::fileno(log), 1);
      ::execve(FTI_BINARY, const_cast<char* const*>(argv), envp.data());
      ::_exit(127);
    }
    std::fclose(log);
    bool up = wait_until([&] { return read_port() || exited(); }, std::chrono::seconds(30));
    if (!up || pid_ <= 0) throw std::runtime_error("server did not start: " + read_file(log_path_));
  }

  // True (and reaps it) when the server process has ended on its own.
  bool exited() { return reap_if_exited(pid_); }

  // SIGTERM: graceful drain; SIGKILL: a crash. A server still running after `grace` is
  // killed, so a stuck drain fails the test instead of hanging it.
  int stop(int sig, std::chrono::seconds grace = std::chrono::seconds(60)) {
    if (pid_ <= 0) return 0;
    ::kill(pid_, sig);
    int status = 0;
    if (!wait_until([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, grace)) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
    pid_ = -1;
    return status;
  }

  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  int port() const { return port_; }
  int pid() const { return pid_; }
  std::string log() const { return read_file(log_path_); }

  // Peak resident memory of the server so far, from /proc.
  std::int64_t peak_rss_bytes() const {
    std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
    }
    return -1;
  }

  HttpResponse request(const std::string& method, const std::string& path, std::string body = {},
                       std::vector<std::pair<std::string, std::string>> headers = {}) const {
    HttpRequest req;
    req.method = method;
    req.url = url(path);
    req.body = std::move(body);
    req.headers = std::move(headers);
    auto r = HttpClient().send(req);
    if (!r.ok()) throw std::runtime_error(r.error().message);
    return std::move(r).value();
  }

  HttpResponse upload_file(const fs::path& file, const std::string& content_type, const std::string& query = "") const {
    HttpRequest req;
    req.method = "POST";
    req.url = url("/api/v1/jobs" + query);
    req.upload_file = file.string();
    req.headers = {{"Content-Type", content_type}};
    req.total_timeout = std::chrono::seconds(120);
    auto r = HttpClient().send(req);
    if (!r.ok()) throw std::runtime_error(r.error().message);
    return std::move(r).value();
  }

  // Polls the job until it is finished; returns its JSON.
  std::string wait_for_job(const std::string& id, std::chrono::seconds deadline = std::chrono::seconds(60)) const {
    std::string last;
    wait_until(
        [&] {
          auto r = request("GET", "/api/v1/jobs/" + id);
          last = r.body;
          auto doc = json::Document::parse(r.body);
          auto status = doc.ok() ? doc->root().get_string("status").value_or("") : "";
          return status == "succeeded" || status == "failed" || status == "cancelled";
        },
        deadline);
    return last;
  }

 private:
  bool read_port() {
    auto text = read_file(log_path_);
    auto at = text.find("listening on http://127.0.0.1:");
    if (at == std::string::npos) return false;
    port_ = std::stoi(text.substr(at + std::string("listening on http://127.0.0.1:").size()));
    return true;
  }

  fs::path data_dir_;
  fs::path cwd_;  // empty: inherit the test's working directory
  std::vector<std::string> env_;
  fs::path log_path_;
  pid_t pid_ = -1;
  int port_ = 0;
  int starts_ = 0;
};

inline std::string json_string(const std::string& json, const std::string& key) {
  auto doc = json::Document::parse(json);
  if (!doc.ok()) return {};
  return doc->root().get_string(key).value_or("");
}

}  // namespace fti::e2e
