#include "fti/core/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>

extern char** environ;

namespace fti {
namespace {

struct Pipe {
  int fds[2] = {-1, -1};
  ~Pipe() { close_both(); }
  bool open() { return ::pipe2(fds, O_CLOEXEC) == 0; }
  void close_read() { close_fd(fds[0]); }
  void close_write() { close_fd(fds[1]); }
  void close_both() { close_read(); close_write(); }
  static void close_fd(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

std::string resolve_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::string_view dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!dirs.empty()) {
    auto colon = dirs.find(':');
    auto dir = dirs.substr(0, colon);
    std::string candidate = fmt::format("{}/{}", dir.empty() ? "." : dir, name);
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  return name;
}

// The variables a child gets when it does not inherit the environment: enough to run
// programs, nothing that could carry a credential.
bool is_safe_to_pass(std::string_view entry) {
  for (std::string_view prefix : {"PATH=", "HOME=", "LANG=", "LC_", "TMPDIR=", "TZ="}) {
    if (entry.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

void set_limit(int resource, const std::optional<std::int64_t>& value) {
  if (!value) return;
  rlimit lim{static_cast<rlim_t>(*value), static_cast<rlim_t>(*value)};
  ::setrlimit(resource, &lim);
}

// Runs in the child between fork and exec: async-signal-safe calls only.
[[noreturn]] void exec_child(const ProcessSpec& spec, const std::string& program, char* const* argv,
                             char* const* envp, Pipe& in, Pipe& out, Pipe& err, pid_t parent) {
  ::setpgid(0, 0);  // own process group, so a timeout kills grandchildren too
  // A child never outlives the thread that waits for it: when a cleanup child is killed, its
  // syntax checkers (in groups of their own) die with it instead of lingering.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);  // the parent died before the line above
  ::dup2(in.fds[0], 0);
  ::dup2(out.fds[1], 1);
  ::dup2(err.fds[1], 2);
  // Nothing of the server reaches the child: no listening socket, client connection or
  // open file (Asio does not mark its sockets close-on-exec), no blocked signals.
  ::close_range(3, ~0U, 0);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGINT, SIG_DFL);
  ::signal(SIGTERM, SIG_DFL);
  if (spec.working_dir && ::chdir(spec.working_dir->c_str()) != 0) ::_exit(126);
  set_limit(RLIMIT_AS, spec.limits.memory_bytes);
  set_limit(RLIMIT_CPU, spec.limits.cpu_seconds);
  set_limit(RLIMIT_FSIZE, spec.limits.file_bytes);
  set_limit(RLIMIT_NOFILE, spec.limits.open_files);
  ::signal(SIGPIPE, SIG_DFL);
  ::execve(program.c_str(), argv, envp);
  ::_exit(127);
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// Appends what is readable, at most 1 MiB per call so a child that never stops writing
// cannot keep the caller from its deadline checks; returns false at end of stream. Lines
// are collected in `line_buffer` for the caller to take one at a time.
bool drain(int fd, std::string& into, std::size_t cap, std::string* line_buffer) {
  char buf[65536];
  for (std::size_t taken = 0; taken < (1u << 20);) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      taken += static_cast<std::size_t>(n);
      std::size_t room = into.size() < cap ? cap - into.size() : 0;
      into.append(buf, std::min<std::size_t>(room, static_cast<std::size_t>(n)));
      if (line_buffer) {
        line_buffer->append(buf, static_cast<std::size_t>(n));
        // A runaway line is not a line.
        if (line_buffer->size() > cap && line_buffer->find('\n') == std::string::npos) line_buffer->clear();
      }
      continue;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    return true;  // EAGAIN: nothing more now
  }
  return true;
}

}  // namespace

Result<ProcessResult> run_process(const ProcessSpec& spec) {
  if (spec.argv.empty()) return Error(errc::internal, "run_process: empty argv");
  std::string program = resolve_program(spec.argv[0]);
  if (::access(program.c_str(), X_OK) != 0) {
    return Error(errc::process_error, fmt::format("{} is not installed or not executable", spec.argv[0]));
  }

  // Everything the child needs is built before fork: no allocation after it.
  std::vector<char*> argv;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (char** e = environ; e && *e; ++e) {
    if (spec.inherit_environment || is_safe_to_pass(*e)) envp.push_back(*e);
  }
  for (const auto& e : spec.extra_env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  Pipe in, out, err;
  if (!in.open() || !out.open() || !err.open()) {
    return Error(errc::process_error, fmt::format("pipe: {}", std::strerror(errno)));
  }
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return Error(errc::process_error, fmt::format("fork: {}", std::strerror(errno)));
  if (pid == 0) exec_child(spec, program, argv.data(), envp.data(), in, out, err, parent);
  ::setpgid(pid, pid);  // also here: a kill right after fork must reach the group

  in.close_read();
  out.close_write();
  err.close_write();
  set_nonblocking(in.fds[1]);
  set_nonblocking(out.fds[0]);
  set_nonblocking(err.fds[0]);

  ProcessResult result;
  std::string line_buffer;
  // What is still to be written to the child's stdin: stdin_data, then any replies.
  std::string to_stdin = spec.stdin_data;
  std::size_t stdin_written = 0;
  const bool duplex = static_cast<bool>(spec.answer_stdout_line);
  auto on_line = [&](const std::string& line) {
    if (spec.on_stdout_line) spec.on_stdout_line(line);
    if (!duplex) return;
    if (auto reply = spec.answer_stdout_line(line)) {
      to_stdin += *reply;
      to_stdin += '\n';
    }
  };
  const bool want_lines = spec.on_stdout_line || duplex;
  if (to_stdin.empty() && !duplex) in.close_write();
  // Duplex: one question at a time. While a reply waits to be written, no further line is
  // taken and stdout is not read, so a child that asks without reading its answers only
  // blocks itself (until the timeout) and holds at most one reply in our memory.
  auto reply_pending = [&] { return duplex && in.fds[1] >= 0 && stdin_written < to_stdin.size(); };
  auto take_lines = [&] {
    std::size_t pos;
    while (!reply_pending() && (pos = line_buffer.find('\n')) != std::string::npos) {
      std::string line = line_buffer.substr(0, pos);
      line_buffer.erase(0, pos + 1);
      on_line(line);
    }
  };
  auto deadline = std::chrono::steady_clock::now() + spec.timeout;
  bool out_open = true, err_open = true;

  for (;;) {
    take_lines();
    const bool lines_waiting = line_buffer.find('\n') != std::string::npos;
    if (!out_open && !err_open && !lines_waiting) break;
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      result.timed_out = true;
      break;
    }
    if (spec.should_stop && spec.should_stop()) {
      result.stopped = true;
      break;
    }
    pollfd fds[3];
    int n = 0;
    if (out_open && !lines_waiting && !reply_pending()) fds[n++] = {out.fds[0], POLLIN, 0};
    if (err_open) fds[n++] = {err.fds[0], POLLIN, 0};
    if (in.fds[1] >= 0 && stdin_written < to_stdin.size()) fds[n++] = {in.fds[1], POLLOUT, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
    int wait_ms = static_cast<int>(std::min<long long>(left, 100));  // 100 ms: cancel checks
    if (::poll(fds, static_cast<nfds_t>(n), wait_ms) < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      if (!fds[i].revents) continue;
      if (fds[i].fd == out.fds[0]) {
        out_open = drain(out.fds[0], result.stdout_data, spec.max_output_bytes, want_lines ? &line_buffer : nullptr);
      } else if (fds[i].fd == err.fds[0]) {
        err_open = drain(err.fds[0], result.stderr_data, spec.max_output_bytes, nullptr);
      } else {
        ssize_t w = ::write(in.fds[1], to_stdin.data() + stdin_written, to_stdin.size() - stdin_written);
        if (w > 0) stdin_written += static_cast<std::size_t>(w);
        bool broken = w < 0 && errno != EAGAIN && errno != EINTR;
        if (broken || (stdin_written >= to_stdin.size() && !duplex)) in.close_write();
        if (broken || stdin_written >= to_stdin.size()) {  // a long-lived duplex channel must not grow
          to_stdin.clear();
          stdin_written = 0;
        }
      }
    }
  }
  if (result.timed_out || result.stopped) {
    if (::kill(-pid, SIGKILL) != 0) ::kill(pid, SIGKILL);
  }
  in.close_write();

  int status = 0;
  rusage usage{};
  while (::wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) {
    result.signaled = true;
    result.term_signal = WTERMSIG(status);
  } else if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  }
  result.peak_rss_bytes = static_cast<std::int64_t>(usage.ru_maxrss) * 1024;
  result.cpu_seconds = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                       static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  return result;
}

std::string self_executable_path() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("/proc/self/exe") : p.string();
}

}  // namespace fti
