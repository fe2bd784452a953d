#include "safe_tree.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fti/cleanup/archive.hpp"

namespace fti::cleanup::detail {
namespace {

Error unsafe(const std::string& what, const Components& path) {
  return Error(errc::unsafe_archive, what + ": " + printable_name(join(path)) +
                                         " - re-create the archive from the project folder itself");
}

Error conflict(const Components& path) {
  return Error(errc::bad_archive, "a file and a folder have the same name: " + printable_name(join(path)) +
                                      " - rename one of them and upload again");
}

Error io_failure(const std::string& what, const Components& path, int err) {
  return Error(errc::io_error, what + " " + join(path) + ": " + std::strerror(err));
}

bool is_separator(char c) { return c == '/' || c == '\\'; }

bool is_link_at(int dir, const char* name) {
  struct stat st {};
  return ::fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
}

}  // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

std::optional<Components> split_relative(std::string_view name) {
  if (name.empty() || is_separator(name.front())) return std::nullopt;
  // "C:..." would be absolute for the Windows user who unpacks our output.
  if (name.size() >= 2 && name[1] == ':') return std::nullopt;
  Components parts;
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t end = start;
    while (end < name.size() && !is_separator(name[end])) ++end;
    std::string_view part = name.substr(start, end - start);
    if (part == "..") return std::nullopt;
    // Backslash counts as a separator for the check only: on Linux it is a name byte.
    if (!part.empty() && part != ".") {
      parts.emplace_back(part);
    }
    start = end + 1;
  }
  // Re-split on '/' only so names keep their backslashes as written.
  Components real;
  start = 0;
  while (start <= name.size()) {
    std::size_t end = name.find('/', start);
    if (end == std::string_view::npos) end = name.size();
    std::string_view part = name.substr(start, end - start);
    if (!part.empty() && part != ".") real.emplace_back(part);
    start = end + 1;
  }
  return real;
}

bool link_target_inside(const Components& link, std::string_view target) {
  if (target.empty() || target.front() == '/') return false;
  // Depth of the directory holding the link.
  std::int64_t depth = static_cast<std::int64_t>(link.size()) - 1;
  bool descending = false;
  std::size_t start = 0;
  while (start <= target.size()) {
    std::size_t end = target.find('/', start);
    if (end == std::string_view::npos) end = target.size();
    std::string_view part = target.substr(start, end - start);
    start = end + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      // After a name, ".." would climb out of whatever that name resolves to (maybe a link).
      if (descending || --depth < 0) return false;
      continue;
    }
    descending = true;
  }
  return true;
}

std::string join(const Components& parts) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += '/';
    out += p;
  }
  return out;
}

Status write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error(errc::io_error, std::string("write failed: ") + std::strerror(errno));
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return ok_status();
}

Result<TreeWriter> TreeWriter::open(const std::string& root) {
  int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return Error(errc::io_error, "cannot open " + root + ": " + std::strerror(errno));
  }
  return TreeWriter(UniqueFd(fd));
}

Result<UniqueFd> TreeWriter::open_parent(const Components& path, bool create) {
  if (path.empty()) return Error(errc::unsafe_archive, "entry with an empty name");
  UniqueFd dir(::dup(root_.get()));
  if (!dir.valid()) return io_failure("dup", path, errno);
  for (std::size_t i = 0; i + 1 < path.size(); ++i) {
    const char* name = path[i].c_str();
    int fd = ::openat(dir.get(), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
      if (::mkdirat(dir.get(), name, 0755) != 0 && errno != EEXIST) {
        return io_failure("mkdir", path, errno);
      }
      fd = ::openat(dir.get(), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) {
      // ELOOP: the component is a symlink, and the entry would land wherever it points.
      // ENOTDIR: it is a file (or a link, as O_NOFOLLOW with O_DIRECTORY may say).
      if (errno == ELOOP) return unsafe("entry goes through a link", path);
      if (errno == ENOTDIR) {
        if (is_link_at(dir.get(), name)) return unsafe("entry goes through a link", path);
        return conflict(Components(path.begin(), path.begin() + static_cast<std::ptrdiff_t>(i) + 1));
      }
      return io_failure("open", path, errno);
    }
    dir = UniqueFd(fd);
  }
  return dir;
}

Status TreeWriter::make_dir(const Components& path) {
  if (path.empty()) return ok_status();  // the root itself
  FTI_ASSIGN_OR_RETURN(UniqueFd parent, open_parent(path, true));
  const char* name = path.back().c_str();
  if (::mkdirat(parent.get(), name, 0755) == 0) return ok_status();
  if (errno != EEXIST) return io_failure("mkdir", path, errno);
  struct stat st {};
  if (::fstatat(parent.get(), name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return io_failure("stat", path, errno);
  }
  if (S_ISREG(st.st_mode)) return conflict(path);
  if (!S_ISDIR(st.st_mode)) return unsafe("directory entry over a link", path);
  return ok_status();
}

Result<UniqueFd> TreeWriter::create_file(const Components& path, unsigned mode) {
  FTI_ASSIGN_OR_RETURN(UniqueFd parent, open_parent(path, true));
  const char* name = path.back().c_str();
  const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  int fd = ::openat(parent.get(), name, flags, mode);
  if (fd < 0 && errno == EEXIST) {
    struct stat st {};
    if (::fstatat(parent.get(), name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return io_failure("stat", path, errno);
    }
    if (S_ISDIR(st.st_mode)) return conflict(path);
    if (!S_ISREG(st.st_mode)) return unsafe("file entry over a link", path);
    if (::unlinkat(parent.get(), name, 0) != 0) return io_failure("unlink", path, errno);
    ++replaced_files_;
    fd = ::openat(parent.get(), name, flags, mode);
  }
  if (fd < 0) return io_failure("create", path, errno);
  // The umask may have narrowed the mode; set it exactly (owner keeps read and write).
  ::fchmod(fd, mode);
  return UniqueFd(fd);
}

Status TreeWriter::make_symlink(const Components& path, const std::string& target) {
  FTI_ASSIGN_OR_RETURN(UniqueFd parent, open_parent(path, true));
  if (::symlinkat(target.c_str(), parent.get(), path.back().c_str()) == 0) return ok_status();
  if (errno == EEXIST) return unsafe("link entry over an existing entry", path);
  return io_failure("symlink", path, errno);
}

Result<std::int64_t> TreeWriter::copy_file(const Components& from, const Components& to,
                                           std::int64_t max_bytes) {
  Result<UniqueFd> from_parent = open_parent(from, false);
  // A folder on the way that does not exist (or is not one): the target is no earlier file.
  if (!from_parent.ok() && from_parent.error().code == errc::io_error) {
    return unsafe("hard link to a missing entry", to);
  }
  FTI_ASSIGN_OR_RETURN(UniqueFd from_dir, std::move(from_parent));
  int in_fd = ::openat(from_dir.get(), from.back().c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (in_fd < 0) return unsafe("hard link to a missing entry", to);
  UniqueFd in(in_fd);
  struct stat st {};
  if (::fstat(in.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return unsafe("hard link to something other than a file", to);
  }
  if (st.st_size > max_bytes) {
    return Error(errc::archive_limits, "entry too large: " + join(to));
  }
  FTI_ASSIGN_OR_RETURN(UniqueFd out, create_file(to, st.st_mode & 07777));
  std::vector<char> buffer(64 * 1024);
  std::int64_t total = 0;
  for (;;) {
    ssize_t n = ::read(in.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_failure("read", from, errno);
    if (n == 0) break;
    FTI_TRY(write_all(out.get(), buffer.data(), static_cast<std::size_t>(n)));
    total += n;
  }
  return total;
}

}  // namespace fti::cleanup::detail
