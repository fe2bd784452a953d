#pragma once
// nginx for end-to-end tests: config/nginx.conf as shipped, with only what ties it to a
// machine rewritten (the instances' ports, the listen port, pid, access log and temp
// folders), run in the foreground in a prefix folder of its own.
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "harness.hpp"

namespace fti::e2e {

// Replaces `from`, which must occur exactly `count` times: when config/nginx.conf changes
// shape, the test says so instead of running something else than the shipped file.
inline void replace_exactly(std::string& text, const std::string& from, const std::string& to, int count = 1) {
  std::vector<std::size_t> hits;
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + from.size())) hits.push_back(at);
  if (static_cast<int>(hits.size()) != count) {
    throw std::runtime_error("config/nginx.conf: expected \"" + from + "\" " + std::to_string(count) +
                             " time(s), found it " + std::to_string(hits.size()) + "; update tests/e2e/nginx.hpp");
  }
  for (auto it = hits.rbegin(); it != hits.rend(); ++it) text.replace(*it, from.size(), to);
}

// A loopback port free right now (nginx cannot listen on port 0 and report it).
inline int free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  bool ok = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  if (fd >= 0) ::close(fd);
  if (!ok) throw std::runtime_error("no free loopback port");
  return ntohs(addr.sin_port);
}

// The shipped config with its three example instances (127.0.0.1:8081..8083) replaced by
// `instance_ports`, listening on 127.0.0.1:`port`, everything it writes under `prefix`.
inline std::string nginx_config_for(std::string text, const std::vector<int>& instance_ports, int port,
                                    const fs::path& prefix) {
  if (instance_ports.size() != 3) throw std::runtime_error("config/nginx.conf lists three instances");
  for (std::size_t i = 0; i < instance_ports.size(); ++i) {
    replace_exactly(text, "server 127.0.0.1:808" + std::to_string(i + 1) + " ",
                    "server 127.0.0.1:" + std::to_string(instance_ports[i]) + " ");
  }
  replace_exactly(text, "listen 80;", "listen 127.0.0.1:" + std::to_string(port) + ";");
  replace_exactly(text, "pid /run/finishthisidea-nginx.pid;", "pid " + (prefix / "nginx.pid").string() + ";");
  replace_exactly(text, "access_log /var/log/nginx/finishthisidea.access.log fti;",
                  "access_log " + (prefix / "access.log").string() + " fti;");
  // The package's temp folders are under /var/lib/nginx, which only root may write: use the
  // prefix's. nginx creates them at start (owned by its worker user when run as root).
  std::string temp;
  for (const char* kind : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"}) {
    temp += "    " + std::string(kind) + "_temp_path " + (prefix / (std::string(kind) + "_temp")).string() + ";\n";
  }
  replace_exactly(text, "http {\n", "http {\n" + temp);
  return text;
}

class Nginx {
 public:
  // Starts nginx in front of the instances and waits until it answers /healthz.
  Nginx(const std::string& binary, fs::path prefix, const std::vector<int>& instance_ports) : prefix_(std::move(prefix)) {
    fs::create_directories(prefix_);
    // As root, nginx's workers run as the config's `user` (www-data): they must reach the
    // prefix to use the temp folders in it.
    fs::permissions(prefix_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                 fs::perms::others_read | fs::perms::others_exec);
    port_ = free_loopback_port();
    auto conf = prefix_ / "nginx.conf";
    write_file(conf, nginx_config_for(read_file(fs::path(FTI_SOURCE_DIR) / "config/nginx.conf"), instance_ports, port_,
                                      prefix_));
    start(binary, conf);
    bool up = wait_until([&] { return exited() || healthy(); }, std::chrono::seconds(30));
    if (!up || pid_ <= 0) {
      stop();
      throw std::runtime_error("nginx did not start: " + error_log());
    }
  }
  ~Nginx() { stop(); }
  Nginx(const Nginx&) = delete;
  Nginx& operator=(const Nginx&) = delete;

  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  int port() const { return port_; }
  std::string error_log() const { return read_file(prefix_ / "stderr.log") + read_file(prefix_ / "error.log"); }
  std::string access_log() const { return read_file(prefix_ / "access.log"); }

  // SIGTERM is nginx's fast shutdown (SIGQUIT would wait for open WebSockets); bounded.
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    if (!wait_until([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, std::chrono::seconds(20))) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
    pid_ = -1;
  }

 private:
  void start(const std::string& binary, const fs::path& conf) {
    std::string prefix = prefix_.string() + "/";
    std::string error_log = (prefix_ / "error.log").string();
    std::string conf_path = conf.string();
    const char* argv[] = {binary.c_str(), "-p", prefix.c_str(),   "-e", error_log.c_str(),
                          "-c",           conf_path.c_str(),      "-g", "daemon off;", nullptr};
    // What nginx prints before its error log is open goes to a file beside it.
    FILE* out = std::fopen((prefix_ / "stderr.log").c_str(), "w");
    if (!out) throw std::runtime_error("cannot create " + (prefix_ / "stderr.log").string());
    pid_ = ::fork();
    if (pid_ == 0) {
      // The master goes with the test if the test dies without stopping it.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      ::dup2(::fileno(out), 1);
      ::dup2(::fileno(out), 2);
      ::execv(binary.c_str(), const_cast<char* const*>(argv));
      ::_exit(127);
    }
    std::fclose(out);
    if (pid_ < 0) throw std::runtime_error("fork failed");
  }

  bool exited() { return reap_if_exited(pid_); }

  bool healthy() const {
    HttpRequest req;
    req.url = url("/healthz");
    req.total_timeout = std::chrono::seconds(5);
    auto r = HttpClient().send(req);
    return r.ok() && r->status == 200;
  }

  fs::path prefix_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace fti::e2e
