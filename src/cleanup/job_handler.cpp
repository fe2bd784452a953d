#include "fti/cleanup/job_handler.hpp"

#include <algorithm>
#include <csignal>
#include <fmt/format.h>

#include "fti/core/clock.hpp"
#include "fti/core/ids.hpp"
#include "fti/core/log.hpp"
#include "fti/core/process.hpp"
#include "fti/llm/pipe_client.hpp"
#include "fti/ops/flags.hpp"
#include "fti/storage/blob_store.hpp"

namespace fti::cleanup {
namespace fs = std::filesystem;

std::string upload_key(const std::string& job_id) { return "uploads/" + job_id; }
std::string result_key(const std::string& job_id) { return "results/" + job_id + ".zip"; }
std::string report_key(const std::string& job_id) { return "reports/" + job_id + ".json"; }
std::string report_md_key(const std::string& job_id) { return "reports/" + job_id + ".md"; }
std::string diff_key(const std::string& job_id) { return "diffs/" + job_id + ".patch"; }

namespace {

// What the child says on stdout in `--progress lines` mode, one message per line:
//   progress <percent> <stage> | result <json> | error <code> <message>
struct ChildMessages {
  std::string result_json;
  std::optional<Error> error;
  int last_progress = 0;
};

// The child escapes what it prints, but it parses hostile input, so its words are checked
// here too: progress only moves forward, stages are short words, the first error counts and
// only with a known code.
void parse_child_line(const std::string& line, jobs::JobContext& ctx, ChildMessages& out) {
  if (line.rfind("progress ", 0) == 0) {
    int pct = 0;
    char stage[32] = {0};
    if (std::sscanf(line.c_str() + 9, "%d %31[a-z_-]", &pct, stage) >= 1 && pct > out.last_progress && pct <= 100) {
      out.last_progress = pct;
      ctx.report_progress(pct, stage);
    }
  } else if (line.rfind("result ", 0) == 0 && out.result_json.empty()) {
    out.result_json = line.substr(7);
  } else if (line.rfind("error ", 0) == 0 && !out.error) {
    auto rest = line.substr(6);
    auto sp = rest.find(' ');
    std::string code = rest.substr(0, sp);
    if (!is_stable_error_code(code)) code = std::string(errc::internal);
    out.error = Error(code, sp == std::string::npos ? "" : rest.substr(sp + 1, 500));
  }
}

// A scratch folder removed however the attempt ends.
struct ScratchDir {
  fs::path path;
  explicit ScratchDir(fs::path p) : path(std::move(p)) {
    std::error_code ec;
    fs::remove_all(path, ec);
    fs::create_directories(path);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

class CleanupHandler final : public jobs::JobHandler {
 public:
  CleanupHandler(storage::BlobStore& blobs, CleanupHandlerOptions options)
      : blobs_(blobs), options_(std::move(options)) {
    // The child runs in its scratch folder, so every path handed to it must be absolute.
    options_.work_dir = fs::absolute(options_.work_dir);
  }

  Result<std::string> run(const jobs::Job& job, jobs::JobContext& ctx) override {
    // A random part: a stale attempt of the same job may still be using its own folder.
    ScratchDir scratch(options_.work_dir / fmt::format("{}-{}-{}", job.id, job.attempt, new_request_id()));
    auto input = scratch.path / "input";
    FTI_TRY(storage::get_file(blobs_, job.input.key, input.string()));
    ctx.report_progress(5, "fetch");

    ChildMessages messages;
    FTI_ASSIGN_OR_RETURN(auto proc, run_child(job, scratch.path, ctx, messages));
    ctx.record_usage(proc.peak_rss_bytes, proc.cpu_seconds);
    FTI_TRY(outcome(job, proc, messages));
    // A lost lease or a cancel: a newer attempt owns the job's blobs now.
    if (ctx.cancel_requested()) return Error(errc::cancelled, "the job was cancelled or taken over while it ran");

    FTI_TRY(storage::put_file(blobs_, result_key(job.id), (scratch.path / "clean.zip").string()));
    FTI_TRY(storage::put_file(blobs_, report_key(job.id), (scratch.path / "report.json").string()));
    FTI_TRY(storage::put_file(blobs_, report_md_key(job.id), (scratch.path / "report.md").string()));
    FTI_TRY(storage::put_file(blobs_, diff_key(job.id), (scratch.path / "changes.patch").string()));
    log::get("cleanup")->info("job {} cleaned in a child: peak RSS {} MiB, CPU {:.2f} s", job.id,
                              proc.peak_rss_bytes >> 20, proc.cpu_seconds);
    return messages.result_json.empty() ? std::string("{}") : messages.result_json;
  }

 private:
  Result<ProcessResult> run_child(const jobs::Job& job, const fs::path& dir, jobs::JobContext& ctx,
                                  ChildMessages& messages) {
    ProcessSpec spec;
    spec.argv = {options_.executable, "clean", (dir / "input").string(),
                 "-o", (dir / "clean.zip").string(),
                 "--report", (dir / "report.json").string(),
                 "--report-md", (dir / "report.md").string(),
                 "--diff", (dir / "changes.patch").string(),
                 "--progress", "lines",
                 "--work-dir", dir.string()};
    if (!job.profile.empty()) {
      spec.argv.push_back("--profile");
      spec.argv.push_back(job.profile);
    }
    // The child reads limits from these flags rather than the environment or a file.
    spec.argv.push_back(fmt::format("--max-files={}", options_.limits.max_files));
    spec.argv.push_back(fmt::format("--max-unpacked-bytes={}", options_.limits.max_unpacked_bytes));
    spec.argv.push_back(fmt::format("--max-ratio={}", options_.limits.max_ratio));
    spec.argv.push_back(fmt::format("--max-file-bytes={}", options_.limits.max_file_bytes));
    spec.argv.push_back(fmt::format("--max-diff-bytes={}", options_.limits.max_diff_bytes));
    spec.argv.push_back(fmt::format("--format-timeout={}", options_.format.timeout_seconds));
    if (!options_.format.tools_dir.empty()) spec.argv.push_back("--tools-dir=" + options_.format.tools_dir);
    add_llm_flags(spec.argv);
    spec.inherit_environment = false;  // no credentials reach the process that parses uploads
    spec.working_dir = dir.string();
#if !defined(__SANITIZE_ADDRESS__)
    // AddressSanitizer reserves terabytes of address space; an AS limit would kill it at once.
    spec.limits.memory_bytes = options_.limits.job_memory_bytes;
#endif
    spec.limits.cpu_seconds = options_.limits.job_timeout_seconds;
    spec.limits.file_bytes = std::max(options_.limits.max_unpacked_bytes, options_.limits.max_diff_bytes) + (64LL << 20);
    spec.limits.open_files = 256;
    spec.timeout = std::chrono::seconds(options_.limits.job_timeout_seconds);
    spec.on_stdout_line = [&](const std::string& line) { parse_child_line(line, ctx, messages); };
    spec.should_stop = [&] { return ctx.cancel_requested(); };
    if (llm_enabled()) {
      // The router's calls, waits and retries end when the child's time does.
      TimeMs deadline = SystemClock().now_ms() + options_.limits.job_timeout_seconds * 1000;
      spec.answer_stdout_line = [this, &job, deadline](const std::string& line) {
        return llm::answer_pipe_request(*options_.llm, line, job.id, deadline);
      };
    }
    return run_process(spec);
  }

  // The router's mode can change while the server runs (surge mode), so it is read per job.
  bool llm_enabled() const { return options_.llm && options_.llm->enabled(); }

  void add_llm_flags(std::vector<std::string>& argv) const {
    if (!llm_enabled()) {
      argv.push_back("--no-llm");
      return;
    }
    argv.push_back("--llm=pipe");
    argv.push_back(fmt::format("--llm-threshold={}", options_.llm_confidence_threshold));
    argv.push_back(fmt::format("--llm-max-files={}", options_.llm_max_files));
    if (options_.flags && !options_.flags->enabled(ops::kFlagLlmReadme)) argv.push_back("--no-llm-readme");
    if (options_.flags && !options_.flags->enabled(ops::kFlagReportExtras)) argv.push_back("--no-report-extras");
  }

  static Status outcome(const jobs::Job& job, const ProcessResult& proc, const ChildMessages& messages) {
    if (proc.stopped) return Error(errc::cancelled, "the job was cancelled while it ran");
    if (proc.timed_out) {
      return Error(errc::timeout, "cleanup took longer than limits.job_timeout_seconds");
    }
    if (proc.signaled) {
      // SIGKILL from RLIMIT_CPU's hard limit, SIGXCPU, SIGXFSZ, or an allocation failure.
      log::get("cleanup")->warn("job {}: cleanup child died of signal {}: {}", job.id, proc.term_signal,
                                proc.stderr_data.substr(0, 500));
      return Error(errc::resource_limit,
                   fmt::format("cleanup stopped by signal {} (memory, CPU or file size limit)", proc.term_signal));
    }
    if (proc.exit_code != 0) {
      if (messages.error) return *messages.error;
      // The loader could not map a library, or an allocation failed: the memory limit.
      if (proc.stderr_data.find("bad_alloc") != std::string::npos ||
          proc.stderr_data.find("failed to map segment") != std::string::npos ||
          proc.stderr_data.find("annot allocate memory") != std::string::npos) {
        return Error(errc::resource_limit, "cleanup ran out of memory (limits.job_memory_bytes)");
      }
      return Error(errc::internal, fmt::format("cleanup exited with status {}: {}", proc.exit_code,
                                               proc.stderr_data.substr(0, 300)));
    }
    return {};
  }

  storage::BlobStore& blobs_;
  CleanupHandlerOptions options_;
};

}  // namespace

std::unique_ptr<jobs::JobHandler> make_cleanup_handler(storage::BlobStore& blobs, CleanupHandlerOptions options) {
  return std::make_unique<CleanupHandler>(blobs, std::move(options));
}

}  // namespace fti::cleanup
