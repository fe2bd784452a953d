#pragma once
// Private to the cleanup room: listing, reading and atomically rewriting the workspace files
// that passes work on.
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "fti/cleanup/pass.hpp"
#include "fti/core/result.hpp"

namespace fti::cleanup::detail {

struct TreeFile {
  std::string rel;             // relative to the root, '/'-separated
  std::filesystem::path full;
  std::int64_t size = 0;
  bool symlink = false;
  mode_t mode = 0;
};

// Every non-directory entry under root (regular files and symlinks, never followed), sorted
// by path. Directories for which skip_dir(rel) is true are not entered.
Result<std::vector<TreeFile>> list_files(
    const std::filesystem::path& root,
    const std::function<bool(const std::string& rel)>& skip_dir = {});

Result<std::string> read_file(const std::filesystem::path& file);

// Writes through a temporary file in the same folder and renames it over `file`, so a
// crash never leaves half a file; `mode` keeps the original permission bits.
Status write_file_atomic(const std::filesystem::path& file, std::string_view data, mode_t mode);

// True when any component of rel is ".git": repositories are kept as they are.
bool in_git_dir(const std::string& rel);

// What passes must not touch: ".git" always, plus whatever the pipeline protects.
inline bool is_protected(const PassContext& ctx, const std::string& rel) {
  return in_git_dir(rel) || (ctx.is_protected && ctx.is_protected(rel));
}

// Lists the files a pass may look at: protected folders are not entered.
inline Result<std::vector<TreeFile>> pass_files(const PassContext& ctx) {
  auto skip = [&ctx](const std::string& rel) { return is_protected(ctx, rel); };
  FTI_ASSIGN_OR_RETURN(std::vector<TreeFile> files, list_files(ctx.root, skip));
  std::erase_if(files, [&](const TreeFile& f) { return skip(f.rel); });
  return files;
}

}  // namespace fti::cleanup::detail
