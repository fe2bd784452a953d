#include "tree_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "safe_tree.hpp"

namespace fti::cleanup::detail {

namespace fs = std::filesystem;

Result<std::vector<TreeFile>> list_files(const fs::path& root,
                                         const std::function<bool(const std::string&)>& skip_dir) {
  std::vector<TreeFile> files;
  std::error_code ec;
  fs::recursive_directory_iterator it(root, fs::directory_options::none, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::string rel = it->path().lexically_relative(root).generic_string();
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0) {
      return Error(errc::io_error, "cannot stat " + it->path().string() + ": " + std::strerror(errno));
    }
    if (S_ISDIR(st.st_mode)) {
      if (skip_dir && skip_dir(rel)) it.disable_recursion_pending();
      continue;
    }
    files.push_back(TreeFile{rel, it->path(), static_cast<std::int64_t>(st.st_size),
                             S_ISLNK(st.st_mode), st.st_mode});
  }
  if (ec) return Error(errc::io_error, "cannot list " + root.string() + ": " + ec.message());
  std::sort(files.begin(), files.end(),
            [](const TreeFile& a, const TreeFile& b) { return a.rel < b.rel; });
  return files;
}

Result<std::string> read_file(const fs::path& file) {
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) {
    return Error(errc::io_error, "cannot open " + file.string() + ": " + std::strerror(errno));
  }
  std::string data;
  struct stat st {};
  // Sized once: growing by doubling would hold up to twice the file for a moment.
  if (::fstat(fd.get(), &st) == 0 && st.st_size > 0) data.reserve(static_cast<std::size_t>(st.st_size));
  char buffer[64 * 1024];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error(errc::io_error, "cannot read " + file.string() + ": " + std::strerror(errno));
    if (n == 0) return data;
    data.append(buffer, static_cast<std::size_t>(n));
  }
}

Status write_file_atomic(const fs::path& file, std::string_view data, mode_t mode) {
  std::string tmp = (file.parent_path() / ".fti-tmp-XXXXXX").string();
  UniqueFd fd(::mkstemp(tmp.data()));
  if (!fd.valid()) {
    return Error(errc::io_error, "cannot create a temporary file next to " + file.string());
  }
  Status written = write_all(fd.get(), data.data(), data.size());
  if (written.ok() && ::fchmod(fd.get(), mode & 07777) != 0) {
    written = Error(errc::io_error, "cannot set the mode of " + file.string());
  }
  fd = UniqueFd();
  if (written.ok() && ::rename(tmp.c_str(), file.c_str()) != 0) {
    written = Error(errc::io_error, "cannot replace " + file.string() + ": " + std::strerror(errno));
  }
  if (!written.ok()) ::unlink(tmp.c_str());
  return written;
}

bool in_git_dir(const std::string& rel) {
  std::size_t start = 0;
  while (start <= rel.size()) {
    std::size_t end = rel.find('/', start);
    if (end == std::string::npos) end = rel.size();
    if (rel.compare(start, end - start, ".git") == 0) return true;
    start = end + 1;
  }
  return false;
}

}  // namespace fti::cleanup::detail
