#pragma once
// Private to the cleanup room: checks on untrusted relative paths and a writer that creates a
// tree below one root without ever following a symlink. Archive extraction and the folder
// copy in the pipeline share it, so both apply the same rules.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fti/core/result.hpp"

namespace fti::cleanup::detail {

// Owns a file descriptor; closes it once.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  bool valid() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

using Components = std::vector<std::string>;

// Splits an entry name into path components. Empty and "." components are dropped; an
// absolute path, a drive letter or any ".." (with '/' or '\\' as separator) gives nullopt.
// An empty result means the root itself ("./").
std::optional<Components> split_relative(std::string_view name);

// True when a symlink placed at `link` (its components) with `target` stays inside the tree.
// ".." is accepted only as a prefix: it then climbs real directories we created, and every
// other link is checked the same way, so following any chain of links cannot leave the root.
bool link_target_inside(const Components& link, std::string_view target);

std::string join(const Components& parts);

// Creates entries under `root` (which must exist). Every path component is opened with
// O_NOFOLLOW, so an entry can never be written through a symlink: that is unsafe_archive.
// A file and a folder of the same name (either order) is bad_archive: a broken archive, not
// an attack, and no order of extraction could keep both.
class TreeWriter {
 public:
  static Result<TreeWriter> open(const std::string& root);

  Status make_dir(const Components& path);
  // A fresh regular file; an existing regular file of the same name is replaced (tar may
  // hold an entry twice), anything else there is unsafe_archive.
  Result<UniqueFd> create_file(const Components& path, unsigned mode);
  Status make_symlink(const Components& path, const std::string& target);
  // Copies an existing regular file (how hard links are materialised). Returns the bytes.
  Result<std::int64_t> copy_file(const Components& from, const Components& to,
                                 std::int64_t max_bytes);
  // How many times create_file replaced an existing file (an entry given twice: last wins).
  std::int64_t replaced_files() const { return replaced_files_; }

 private:
  explicit TreeWriter(UniqueFd root) : root_(std::move(root)) {}
  // Opens (creating when missing) the directory holding the last component.
  Result<UniqueFd> open_parent(const Components& path, bool create);
  UniqueFd root_;
  std::int64_t replaced_files_ = 0;
};

// Writes all of `data` to fd, retrying short writes. io_error on failure.
Status write_all(int fd, const char* data, std::size_t size);

}  // namespace fti::cleanup::detail
