#pragma once
// Pipeline: input (archive or folder) -> workspace -> passes -> output zip + report.
// Reports progress (percent, stage) as it goes. Used in-process by `clean` and inside the
// child process that a server worker starts for each job.
#include <filesystem>
#include <functional>
#include <string>

#include "fti/cleanup/archive.hpp"
#include "fti/cleanup/formatters.hpp"
#include "fti/cleanup/llm_pass.hpp"
#include "fti/cleanup/report.hpp"
#include "fti/core/result.hpp"

namespace fti::cleanup {

struct PipelineOptions {
  ExtractLimits limits;
  std::string profile;  // style profile name; empty for the default
  // Run the language formatters (clang-format, black, ...). Off: only the built-in passes,
  // as `clean --no-format` and the cleanup benchmark do.
  bool formatters = true;
  // The formatters' timeout and tool folder; the pipeline fills in profile and cancelled.
  FormatPassOptions format;
  std::filesystem::path work_dir;  // scratch space; a fresh sub-folder is made and removed
  std::function<void(int percent, const std::string& stage)> on_progress;
  std::function<bool()> cancelled;
  // The LLM passes: llm.client is borrowed; null means the passes only note "llm off". The
  // pipeline fills in scratch_dir, cancelled and on_progress.
  LlmPassOptions llm;
  // Where to write the unified diff of the whole change (`clean --diff`); empty: none. Past
  // max_diff_bytes (limits.max_diff_bytes) it ends with a line saying it was cut.
  std::filesystem::path diff_path;
  std::int64_t max_diff_bytes = 64LL << 20;
};

struct PipelineOutput {
  Report report;
};

// Writes `out_zip` only when everything succeeded (temp file + rename).
Result<PipelineOutput> run_pipeline(const std::filesystem::path& input,
                                    const std::filesystem::path& out_zip,
                                    const PipelineOptions& options);

}  // namespace fti::cleanup
