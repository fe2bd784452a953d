#pragma once
// Child processes with resource limits and a wall-clock timeout. Uses fork followed at once
// by setrlimit and exec (only async-signal-safe calls in between), so it is safe from a
// threaded server. Output is captured up to a bound; the rest is drained and dropped.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "fti/core/result.hpp"

namespace fti {

struct ProcessLimits {
  std::optional<std::int64_t> memory_bytes;    // RLIMIT_AS
  std::optional<std::int64_t> cpu_seconds;     // RLIMIT_CPU
  std::optional<std::int64_t> file_bytes;      // RLIMIT_FSIZE
  std::optional<std::int64_t> open_files;      // RLIMIT_NOFILE
};

struct ProcessSpec {
  std::vector<std::string> argv;  // argv[0] is the program path (searched in PATH if bare)
  std::optional<std::string> working_dir;
  std::vector<std::string> extra_env;  // "NAME=value", added to the environment
  // false: the child gets only PATH, HOME, LANG, LC_*, TMPDIR and TZ (no credentials).
  bool inherit_environment = true;
  std::string stdin_data;
  ProcessLimits limits;
  std::chrono::milliseconds timeout{60000};
  std::size_t max_output_bytes = 1 << 20;  // per stream
  // Called with each complete stdout line as it arrives (progress reporting).
  std::function<void(const std::string&)> on_stdout_line;
  // When set, stdin stays open after stdin_data and each stdout line this answers with a
  // value gets that value written back to the child's stdin, followed by a newline: a
  // request-reply channel (the cleanup child asks the server's LLM router this way). It is
  // called on the waiting thread; the timeout is checked again as soon as it returns.
  std::function<std::optional<std::string>(const std::string&)> answer_stdout_line;
  // Polled while waiting; returning true kills the child (cancellation).
  std::function<bool()> should_stop;
};

struct ProcessResult {
  int exit_code = -1;           // valid when !signaled
  int term_signal = 0;          // the signal that ended it, when signaled
  bool signaled = false;
  bool timed_out = false;
  bool stopped = false;         // killed because should_stop() returned true
  std::string stdout_data;
  std::string stderr_data;
  std::int64_t peak_rss_bytes = 0;
  double cpu_seconds = 0;
};

// Fails only when the process cannot be started; a non-zero exit is a value.
Result<ProcessResult> run_process(const ProcessSpec& spec);

// Path of the running executable (/proc/self/exe), for re-invoking ourselves as a worker.
std::string self_executable_path();

}  // namespace fti
