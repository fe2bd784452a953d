#pragma once
// The LLM cleanup passes. Each asks a model through an llm::LlmClient and keeps an answer
// only when it is verified (verify.hpp); otherwise the file stays as it was and the report
// says why. With no client (llm.mode off, `clean --no-llm`) they record that they were
// skipped and change nothing.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "fti/cleanup/pass.hpp"
#include "fti/llm/llm.hpp"

namespace fti::cleanup {

struct LlmPassOptions {
  llm::LlmClient* client = nullptr;     // borrowed; null: the passes are skipped
  double confidence_threshold = 0.8;    // llm.confidence_threshold
  std::int64_t max_files = 50;          // rewrites per job
  std::int64_t max_file_bytes = 48 * 1024;  // larger files are skipped (context window)
  double min_size_ratio = 0.5;          // answer bytes / original bytes must stay inside
  double max_size_ratio = 1.5;
  bool write_readme = true;             // flags: README generation (off in surge mode)
  bool suggest_structure = true;        // ask for layout suggestions (report findings only)
  std::string job_id;                   // Ask::job_id: the cost ledger's scope and the cap
  // Where syntax checks copy candidates: outside the extracted tree. Empty: the system temp.
  std::filesystem::path scratch_dir;
  // Polled between files; true stops the pass with errc::cancelled.
  std::function<bool()> cancelled;
  // After each file the rewrite pass has dealt with: (done, total candidates).
  std::function<void(std::int64_t done, std::int64_t total)> on_progress;
};

// The reason both passes record when they have no client.
inline constexpr const char* kLlmOffReason = "llm off";

// Per file: a cleaner version that keeps behaviour, verified; escalates from the Ollama
// tier to a cloud tier by complexity when the local answer's confidence is too low.
std::unique_ptr<Pass> make_llm_rewrite_pass(LlmPassOptions options);
// A README.md for a project without one, plus structure suggestions in the report only.
std::unique_ptr<Pass> make_llm_readme_pass(LlmPassOptions options);

}  // namespace fti::cleanup
