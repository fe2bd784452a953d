#pragma once
// Archives in and out. Extraction treats every upload as hostile: entries are checked before
// anything is written (absolute paths, "..", links that leave the tree, device files), and
// entry count, unpacked bytes, one entry's size and the compression ratio are bounded.
#include <cstdint>
#include <filesystem>
#include <string>
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
};

// Errors: bad_archive (not an archive, corrupt), unsafe_archive (traversal, absolute path,
// escaping link, device or fifo), archive_limits (any limit above).
// `dest` must be an empty directory; on error it may hold a partial tree that the caller
// discards (nothing is ever written outside it).
Result<ExtractStats> extract_archive(const std::filesystem::path& archive,
                                     const std::filesystem::path& dest,
                                     const ExtractLimits& limits);

// True when the file starts like a zip, tar, gzip, bzip2 or xz stream.
bool looks_like_archive(const std::filesystem::path& file);
// Same, from the first bytes of an upload (at least 512 bytes for tar detection).
bool looks_like_archive_bytes(std::string_view head);

// Writes a zip of everything under `root` (paths relative to it, sorted, symlinks stored as
// links, modes kept). Streams file by file: memory does not grow with the tree.
Status pack_zip(const std::filesystem::path& root, const std::filesystem::path& out_zip);

}  // namespace fti::cleanup
