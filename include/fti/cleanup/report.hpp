#pragma once
// The cleanup report (ARCHITECTURE.md section 5): what was removed and why, what changed,
// what was found, per-language counts and timings. Rendered as JSON and Markdown.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace fti::cleanup {

struct RemovedEntry {
  std::string path;    // a folder ends with '/' and covers everything under it
  std::string reason;
  std::int64_t files = 1;
};

struct ChangedEntry {
  std::string path;
  std::vector<std::string> passes;
  std::int64_t lines_added = 0;
  std::int64_t lines_removed = 0;
  bool created = false;  // a file the cleanup added (a generated README.md)
};

struct Finding {
  std::string path;
  std::int64_t line = 0;   // 1-based; 0 when not tied to a line
  std::string kind;        // "secret", "large_file", "todo", ...
  std::string rule;        // "aws-access-key-id", ...
  std::string severity;    // "high", "medium", "low", "info"
  std::string message;     // never contains the secret itself: masked
};

struct LanguageStats {
  std::int64_t files = 0;
  std::int64_t lines = 0;    // all lines: code + comment + blank
  std::int64_t code = 0;     // lines with code (a line with code and a comment is code)
  std::int64_t comment = 0;  // lines with only comments
  std::int64_t blank = 0;    // lines with only white space
};

// What one provider's answers cost.
struct LlmProviderUsage {
  std::int64_t calls = 0;
  std::int64_t tokens_in = 0;
  std::int64_t tokens_out = 0;
  double cost_usd = 0;
};

// Files the LLM passes left alone for one reason.
struct LlmSkip {
  std::string reason;
  std::vector<std::string> paths;  // empty when the reason concerns no particular file
};

// The `llm` section: every answer the passes received, accepted or not, and what they skipped.
struct LlmUsage {
  std::int64_t calls = 0;   // answers received, cache hits included
  std::int64_t cached = 0;  // of which from the cache
  std::int64_t tokens_in = 0;
  std::int64_t tokens_out = 0;
  double cost_usd = 0;
  std::int64_t failed_calls = 0;   // calls made that no model answered
  std::int64_t refused_calls = 0;  // asks refused before any call: tier off, budget spent
  std::int64_t escalations = 0;    // asks a cloud tier was tried for after the Ollama tier
  std::map<std::string, LlmProviderUsage> by_provider;
  std::vector<LlmSkip> skipped;  // one entry per reason, in the order first seen

  void record_answer(const std::string& provider, std::int64_t tokens_in, std::int64_t tokens_out,
                     double cost_usd, bool cached);
  // Adds `path` under `reason`; an empty path only makes sure the reason is listed.
  void skip(const std::string& reason, const std::string& path);
  bool used() const {
    return calls > 0 || failed_calls > 0 || refused_calls > 0 || !skipped.empty();
  }
};

// Lines one pass changed, over all the files it touched.
struct PassChanges {
  std::int64_t files = 0;
  std::int64_t lines_added = 0;
  std::int64_t lines_removed = 0;
};

// One file's share of the diff.
struct DiffFileStat {
  std::string path;
  std::int64_t lines_added = 0;
  std::int64_t lines_removed = 0;
};

// The unified diff of the whole change (PipelineOptions::diff_path), in numbers.
struct DiffSummary {
  bool made = false;              // false: no diff was asked for
  std::int64_t files = 0;         // files it explains: changed, created, removed one by one
  std::int64_t folders = 0;       // removed folders, one line each whatever they held
  std::int64_t lines_added = 0;
  std::int64_t lines_removed = 0;
  std::int64_t bytes = 0;         // of the diff as written
  bool truncated = false;         // limits.max_diff_bytes reached
  std::int64_t files_not_shown = 0;  // after the cut (still counted above)
  std::vector<DiffFileStat> top;  // the most changed files, most first
};

struct Report {
  std::int64_t files_in = 0;
  std::int64_t files_out = 0;
  std::int64_t bytes_in = 0;
  std::int64_t bytes_out = 0;
  std::vector<RemovedEntry> removed;
  std::vector<ChangedEntry> changed;
  std::vector<Finding> findings;
  std::map<std::string, LanguageStats> languages;
  std::vector<std::string> notes;  // things the user should know (skipped files and why)
  std::map<std::string, std::int64_t> timings_ms;  // by stage
  LlmUsage llm;
  std::map<std::string, PassChanges> by_pass;  // kept by record_change and record_created
  DiffSummary diff;
  std::map<std::string, std::string> tools;  // formatters that ran: name -> version

  // Records that `pass` changed `path`; merges with earlier passes on the same file.
  void record_change(const std::string& path, const std::string& pass, std::int64_t added,
                     std::int64_t removed);
  // Records a file that `pass` added to the tree (it was not in the input).
  void record_created(const std::string& path, const std::string& pass, std::int64_t lines);
  std::int64_t files_removed() const;
  std::string summary() const;
  std::string to_json() const;
  std::string to_markdown() const;
  // The job API's `result` object: files_in, files_out, files_changed, files_removed, bytes_out.
  std::string result_json() const;
};

}  // namespace fti::cleanup
