#pragma once
// Private to the cleanup room: the unified diff of a job, the input tree against the cleaned
// one, in git's format (so `git apply` takes its text parts).
//
// The original bytes come from a snapshot of hard links taken before the passes run. Passes
// replace a file through temp + rename (write_file_atomic) and the junk pass only unlinks, so
// a link keeps the original inode, for one directory entry per file and no copied byte.
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "fti/cleanup/report.hpp"
#include "fti/core/result.hpp"
#include "tree_files.hpp"

namespace fti::cleanup::detail {

class OriginalTree {
 public:
  struct Entry {
    std::string rel;
    dev_t dev = 0;  // the linked inode: a file no pass replaced is still this inode
    ino_t ino = 0;
    std::int64_t mtime_ns = 0;  // changed on that inode: a pass wrote in place
    std::int64_t size = 0;
    mode_t mode = 0;
    bool symlink = false;
  };

  // Links every file of `files` (list_files of the tree, sorted) under `dir`, copying where
  // the file system refuses a link.
  static Result<OriginalTree> take(const std::vector<TreeFile>& files, const std::filesystem::path& dir);

  const std::filesystem::path& root() const { return root_; }
  const std::vector<Entry>& entries() const { return entries_; }  // sorted by rel
  bool has(const std::string& rel) const;

 private:
  std::filesystem::path root_;
  std::vector<Entry> entries_;
};

struct TreeDiffOptions {
  std::int64_t max_bytes = 64LL << 20;  // limits.max_diff_bytes: whole files only, then a cut line
  std::int64_t context_lines = 3;
  std::int64_t max_inline_bytes = 8LL << 20;  // bigger files get one summary line
  std::size_t top_files = 10;
};

// Writes the diff of `original` against `cleaned` (list_files of the cleaned tree) to `out`
// through a temp file + rename, one file at a time, and fills `summary`. `report` says why
// files were removed and which passes changed them.
Status write_tree_diff(const OriginalTree& original, const std::vector<TreeFile>& cleaned, const Report& report,
                       const std::filesystem::path& out, const TreeDiffOptions& options, DiffSummary& summary);

}  // namespace fti::cleanup::detail
