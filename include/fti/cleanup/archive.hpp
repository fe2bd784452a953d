#pragma once
// Archives in and out. Extraction treats every upload as hostile: entries are checked before
// anything is written (absolute paths, "..", links that leave the tree, device files), and
// entry count, unpacked bytes, one entry's size and the compression ratio are bounded.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "fti/core/result.hpp"

namespace fti::cleanup {

struct ExtractLimits {
  std::int64_t max_files = 100000;
  std::int64_t max_unpacked_bytes = 2LL << 30;
  std::int64_t max_file_bytes = 256LL << 20;
  double max_ratio = 200.0;  // unpacked / archive bytes, checked once past 1 MiB unpacked
};

struct ExtractStats {
  std::int64_t files = 0;
  std::int64_t dirs = 0;
  std::int64_t symlinks = 0;  // links kept (they point inside the tree)
  std::int64_t bytes = 0;
  std::string format;         // "zip", "tar", "tar.gz"...
  // Things kept as they are that the user should hear about (the pipeline reports them).
  std::int64_t nested_archives = 0;        // files that are archives: kept, not opened
  std::vector<std::string> nested_archive_paths;  // the first kMaxListedNames of them
  std::int64_t non_utf8_names = 0;         // entries whose name is not UTF-8: kept byte for byte
  std::vector<std::string> non_utf8_examples;  // the first few, invalid bytes shown as \xNN
  std::int64_t replaced_duplicates = 0;    // file entries that replaced an earlier one (last wins)
};

// How many nested archives and odd names ExtractStats lists by name; the counts stay exact.
inline constexpr std::size_t kMaxListedNames = 100;

// Errors: bad_archive (not an archive, corrupt, truncated, a file and a folder of one name),
// unsafe_archive (traversal, absolute path, escaping symlink or hard link, device, fifo),
// archive_limits (any limit above, a path over 1024 bytes or 64 folders deep). A zip whose
// directory declares more than max_files entries, or an entry that declares more than
// max_file_bytes, is refused before anything is written. Every message ends with what to do.
// `dest` must be an empty directory; on error it may hold a partial tree that the caller
// discards (nothing is ever written outside it).
Result<ExtractStats> extract_archive(const std::filesystem::path& archive,
                                     const std::filesystem::path& dest,
                                     const ExtractLimits& limits);

// True when the file starts like a zip, tar, gzip, bzip2 or xz stream.
bool looks_like_archive(const std::filesystem::path& file);
// Same, from the first bytes of an upload (at least 512 bytes for tar detection).
bool looks_like_archive_bytes(std::string_view head);

// `name` with every byte that is not part of valid UTF-8 (and every control byte) written as
// \xNN: how a name that is not UTF-8 is shown in messages and reports.
std::string printable_name(std::string_view name);
bool is_valid_utf8(std::string_view s);

// Writes a zip of everything under `root` (paths relative to it, sorted, symlinks stored as
// links, modes kept). Streams file by file: memory does not grow with the tree.
Status pack_zip(const std::filesystem::path& root, const std::filesystem::path& out_zip);

}  // namespace fti::cleanup
