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
  std::int64_t lines = 0;
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

  // Records that `pass` changed `path`; merges with earlier passes on the same file.
  void record_change(const std::string& path, const std::string& pass, std::int64_t added,
                     std::int64_t removed);
  std::int64_t files_removed() const;
  std::string summary() const;
  std::string to_json() const;
  std::string to_markdown() const;
  // The job API's `result` object: files_in, files_out, files_changed, files_removed, bytes_out.
  std::string result_json() const;
};

}  // namespace fti::cleanup
