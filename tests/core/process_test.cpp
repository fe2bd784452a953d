#include <catch2/catch.hpp>

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>

#include "fti/core/process.hpp"

using fti::ProcessSpec;
using fti::run_process;

TEST_CASE("a child's output and exit code come back", "[core][process]") {
  ProcessSpec spec;
  spec.argv = {"sh", "-c", "echo out; echo err >&2; exit 3"};
  auto r = run_process(spec);
  REQUIRE(r.ok());
  CHECK(r->exit_code == 3);
  CHECK(r->stdout_data == "out\n");
  CHECK(r->stderr_data == "err\n");
  CHECK_FALSE(r->timed_out);
}

TEST_CASE("stdin is fed and stdout lines are reported as they come", "[core][process]") {
  ProcessSpec spec;
  spec.argv = {"cat"};
  spec.stdin_data = "one\ntwo\nthree\n";
  std::vector<std::string> lines;
  spec.on_stdout_line = [&](const std::string& l) { lines.push_back(l); };
  auto r = run_process(spec);
  REQUIRE(r.ok());
  CHECK(lines == std::vector<std::string>{"one", "two", "three"});
}

TEST_CASE("a child can ask questions on stdout and read the answers on stdin", "[core][process]") {
  ProcessSpec spec;
  // Two requests, each waiting for its reply before going on; then plain output.
  spec.argv = {"sh", "-c", "echo 'ask 2+2'; read a; echo 'ask 3*3'; read b; echo \"got $a and $b\""};
  spec.timeout = std::chrono::seconds(10);
  std::vector<std::string> asked;
  spec.answer_stdout_line = [&](const std::string& line) -> std::optional<std::string> {
    if (line.rfind("ask ", 0) != 0) return std::nullopt;
    asked.push_back(line.substr(4));
    return line == "ask 2+2" ? "4" : "9";
  };
  auto r = run_process(spec);
  REQUIRE(r.ok());
  CHECK(r->exit_code == 0);
  CHECK_FALSE(r->timed_out);
  CHECK(asked == std::vector<std::string>{"2+2", "3*3"});
  CHECK(r->stdout_data.find("got 4 and 9") != std::string::npos);
}

TEST_CASE("a child that asks without reading the answers only blocks itself until its timeout", "[core][process]") {
  ProcessSpec spec;
  spec.argv = {"sh", "-c", "while true; do echo 'ask flood'; done"};
  spec.timeout = std::chrono::milliseconds(800);
  int answered = 0;
  spec.answer_stdout_line = [&](const std::string&) -> std::optional<std::string> {
    ++answered;
    return std::string(100'000, 'r');  // bigger than a pipe buffer: the child never reads it
  };
  auto r = run_process(spec);
  REQUIRE(r.ok());
  CHECK(r->timed_out);
  // One question at a time: the first reply is never consumed, so no second is made.
  CHECK(answered == 1);
}

TEST_CASE("a child past its wall-clock timeout is killed with its children", "[core][process]") {
  ProcessSpec spec;
  spec.argv = {"sh", "-c", "sleep 30 & sleep 30; echo never"};
  spec.timeout = std::chrono::milliseconds(300);
  auto r = run_process(spec);
  REQUIRE(r.ok());
  CHECK(r->timed_out);
  CHECK(r->signaled);
  CHECK(r->stdout_data.empty());
}

TEST_CASE("the memory limit stops a child that allocates too much", "[core][process]") {
  ProcessSpec spec;
  // python3 tries to allocate 512 MiB under a 128 MiB address-space limit.
  spec.argv = {"python3", "-c", "x = bytearray(512 * 1024 * 1024); print('allocated')"};
  spec.limits.memory_bytes = 128LL << 20;
  auto r = run_process(spec);
  REQUIRE(r.ok());
  CHECK(r->exit_code != 0);
  CHECK(r->stdout_data.find("allocated") == std::string::npos);
  CHECK(r->stderr_data.find("MemoryError") != std::string::npos);
}

TEST_CASE("peak RSS of the child is measured", "[core][process]") {
  ProcessSpec spec;
  spec.argv = {"python3", "-c", "x = bytearray(64 * 1024 * 1024); x[::4096] = b'1' * len(x[::4096])"};
  auto r = run_process(spec);
  REQUIRE(r.ok());
  REQUIRE(r->exit_code == 0);
  CHECK(r->peak_rss_bytes >= 64LL << 20);
}

TEST_CASE("should_stop ends the child early", "[core][process]") {
  ProcessSpec spec;
  spec.argv = {"sleep", "30"};
  std::atomic<int> polls{0};
  spec.should_stop = [&] { return ++polls > 2; };
  auto r = run_process(spec);
  REQUIRE(r.ok());
  CHECK(r->stopped);
  CHECK(r->signaled);
}

TEST_CASE("a missing program is an error, not a crash", "[core][process]") {
  ProcessSpec spec;
  spec.argv = {"no-such-program-fti"};
  auto r = run_process(spec);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == "process_error");
}

TEST_CASE("a child inherits no open descriptors, blocked signals or credentials", "[core][process]") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);  // not close-on-exec, like an Asio socket
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, &old);
  ::setenv("FTI_LLM_OPENAI_API_KEY", "sk-secret", 1);

  ProcessSpec spec;
  spec.argv = {"sh", "-c", "ls /proc/self/fd | wc -l; grep SigBlk /proc/self/status; env | grep -c FTI_ || true"};
  spec.inherit_environment = false;
  auto r = run_process(spec);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ::unsetenv("FTI_LLM_OPENAI_API_KEY");
  ::close(fds[0]);
  ::close(fds[1]);
  REQUIRE(r.ok());
  // stdin, stdout, stderr and the descriptor ls opens to read the folder.
  CHECK(r->stdout_data.find("4\n") == 0);
  CHECK(r->stdout_data.find("SigBlk:\t0000000000000000") != std::string::npos);
  CHECK(r->stdout_data.find("\n0\n") != std::string::npos);
}
