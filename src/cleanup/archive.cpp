#include "fti/cleanup/archive.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>
#include <system_error>

#include "safe_tree.hpp"

namespace fti::cleanup {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxPathBytes = 1024;
constexpr std::size_t kMaxPathDepth = 64;
using detail::Components;
using detail::TreeWriter;
using detail::UniqueFd;

constexpr std::int64_t kRatioFloor = 1 << 20;  // ratios mean nothing for small trees
constexpr std::size_t kBlock = 64 * 1024;

struct ReadDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct WriteDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
using ReadArchive = std::unique_ptr<archive, ReadDeleter>;
using WriteArchive = std::unique_ptr<archive, WriteDeleter>;
using Entry = std::unique_ptr<archive_entry, EntryDeleter>;

std::string archive_message(archive* a) {
  const char* msg = archive_error_string(a);
  return msg ? msg : "unknown error";
}

// Only real archive formats: "raw" and "mtree" would accept any text file, "empty" any
// zero-byte file.
ReadArchive open_reader(const fs::path& file) {
  ReadArchive a(archive_read_new());
  archive_read_support_format_zip(a.get());
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  archive_read_support_format_7zip(a.get());
  archive_read_support_format_cpio(a.get());
  archive_read_support_filter_gzip(a.get());
  archive_read_support_filter_bzip2(a.get());
  archive_read_support_filter_xz(a.get());
  archive_read_support_filter_lzma(a.get());
  archive_read_support_filter_zstd(a.get());
  if (archive_read_open_filename(a.get(), file.c_str(), 64 * 1024) != ARCHIVE_OK) {
    return nullptr;
  }
  return a;
}

std::string format_name(archive* a) {
  std::string base;
  switch (archive_format(a) & ARCHIVE_FORMAT_BASE_MASK) {
    case ARCHIVE_FORMAT_ZIP: base = "zip"; break;
    case ARCHIVE_FORMAT_TAR: base = "tar"; break;
    case ARCHIVE_FORMAT_7ZIP: base = "7z"; break;
    case ARCHIVE_FORMAT_CPIO: base = "cpio"; break;
    default: base = "archive"; break;
  }
  switch (archive_filter_code(a, 0)) {
    case ARCHIVE_FILTER_GZIP: return base + ".gz";
    case ARCHIVE_FILTER_BZIP2: return base + ".bz2";
    case ARCHIVE_FILTER_XZ: return base + ".xz";
    case ARCHIVE_FILTER_LZMA: return base + ".lzma";
    case ARCHIVE_FILTER_ZSTD: return base + ".zst";
    default: return base;
  }
}

// One extraction in progress: the reader, the writer, the limits and the running totals.
class Extractor {
 public:
  Extractor(archive* a, TreeWriter writer, const ExtractLimits& limits, std::int64_t archive_bytes)
      : a_(a), writer_(std::move(writer)), limits_(limits), archive_bytes_(archive_bytes) {}

  Status run();
  ExtractStats stats() const { return stats_; }

 private:
  Status extract_entry(archive_entry* entry);
  Status extract_file(const Components& path, archive_entry* entry);
  Status extract_hardlink(const Components& path, const char* target);
  Status extract_symlink(const Components& path, archive_entry* entry);
  Status count_bytes(std::int64_t n, std::int64_t entry_bytes, const Components& path);

  archive* a_;
  TreeWriter writer_;
  const ExtractLimits& limits_;
  std::int64_t archive_bytes_;
  ExtractStats stats_;
  std::int64_t entries_ = 0;
  std::set<std::string> regular_files_;  // hard links may only point at these
};

const char* entry_name(archive_entry* entry) {
  const char* name = archive_entry_pathname(entry);
  return name ? name : archive_entry_pathname_utf8(entry);
}

Status Extractor::run() {
  for (;;) {
    archive_entry* entry = nullptr;
    int rc = archive_read_next_header(a_, &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) {
      return Error(errc::bad_archive, "cannot read the archive: " + archive_message(a_));
    }
    if (stats_.format.empty()) stats_.format = format_name(a_);
    if (++entries_ > limits_.max_files) {
      return Error(errc::archive_limits,
                   "the archive has more than " + std::to_string(limits_.max_files) + " entries");
    }
    FTI_TRY(extract_entry(entry));
  }
  if (stats_.format.empty()) stats_.format = format_name(a_);
  return ok_status();
}

Status Extractor::extract_entry(archive_entry* entry) {
  const char* raw_name = entry_name(entry);
  if (raw_name == nullptr) return Error(errc::bad_archive, "an entry has no readable name");
  std::optional<Components> path = detail::split_relative(raw_name);
  if (!path) {
    return Error(errc::unsafe_archive,
                 std::string("entry path is absolute or contains '..': ") + raw_name);
  }
  // Deep or long paths extract one component at a time but break every tool after us.
  if (std::strlen(raw_name) > kMaxPathBytes || path->size() > kMaxPathDepth) {
    return Error(errc::archive_limits, "an entry's path is over " + std::to_string(kMaxPathBytes) +
                                           " bytes or " + std::to_string(kMaxPathDepth) + " folders deep");
  }
  if (const char* target = archive_entry_hardlink(entry)) {
    return extract_hardlink(*path, target);
  }
  switch (archive_entry_filetype(entry)) {
    case AE_IFDIR:
      ++stats_.dirs;
      return writer_.make_dir(*path);
    case AE_IFREG:
      return extract_file(*path, entry);
    case AE_IFLNK:
      return extract_symlink(*path, entry);
    default:
      return Error(errc::unsafe_archive,
                   std::string("device, fifo or socket entries are not accepted: ") + raw_name);
  }
}

Status Extractor::count_bytes(std::int64_t n, std::int64_t entry_bytes, const Components& path) {
  stats_.bytes += n;
  if (entry_bytes > limits_.max_file_bytes) {
    return Error(errc::archive_limits, "an entry is larger than " +
                                           std::to_string(limits_.max_file_bytes) +
                                           " bytes: " + detail::join(path));
  }
  if (stats_.bytes > limits_.max_unpacked_bytes) {
    return Error(errc::archive_limits, "the archive unpacks to more than " +
                                           std::to_string(limits_.max_unpacked_bytes) + " bytes");
  }
  if (stats_.bytes > kRatioFloor &&
      static_cast<double>(stats_.bytes) > limits_.max_ratio * static_cast<double>(archive_bytes_)) {
    return Error(errc::archive_limits,
                 "the archive expands more than " + std::to_string(limits_.max_ratio) +
                     " times its size (possible zip bomb)");
  }
  return ok_status();
}

Status Extractor::extract_file(const Components& path, archive_entry* entry) {
  if (path.empty()) return Error(errc::unsafe_archive, "a file entry names the root");
  // Owner keeps read/write so later passes can rewrite; set-id and sticky bits are dropped.
  unsigned mode = (archive_entry_perm(entry) & 0777) | 0600;
  FTI_ASSIGN_OR_RETURN(UniqueFd out, writer_.create_file(path, mode));
  regular_files_.insert(detail::join(path));
  ++stats_.files;
  std::int64_t written = 0;  // file position, holes included
  for (;;) {
    const void* block = nullptr;
    std::size_t size = 0;
    la_int64_t offset = 0;
    int rc = archive_read_data_block(a_, &block, &size, &offset);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) {
      return Error(errc::bad_archive, "corrupt entry " + detail::join(path) + ": " +
                                          archive_message(a_));
    }
    if (offset > written) {
      // A sparse hole: counted like written bytes so it cannot dodge the limits.
      FTI_TRY(count_bytes(offset - written, offset, path));
      if (::lseek(out.get(), offset, SEEK_SET) < 0) {
        return Error(errc::io_error, "seek failed: " + detail::join(path));
      }
      written = offset;
    }
    auto n = static_cast<std::int64_t>(size);
    FTI_TRY(count_bytes(n, written + n, path));
    FTI_TRY(detail::write_all(out.get(), static_cast<const char*>(block), size));
    written += n;
  }
  if (::ftruncate(out.get(), written) != 0) {
    return Error(errc::io_error, "cannot size " + detail::join(path));
  }
  return ok_status();
}

Status Extractor::extract_hardlink(const Components& path, const char* target) {
  std::optional<Components> from = detail::split_relative(target);
  if (!from || from->empty()) {
    return Error(errc::unsafe_archive, "hard link leaves the archive: " + detail::join(path));
  }
  if (!regular_files_.count(detail::join(*from))) {
    return Error(errc::unsafe_archive,
                 "hard link to an entry that is not an earlier file: " + detail::join(path));
  }
  // Materialised as a copy: later passes rewrite files by rename, which would split a link.
  FTI_ASSIGN_OR_RETURN(std::int64_t n, writer_.copy_file(*from, path, limits_.max_file_bytes));
  regular_files_.insert(detail::join(path));
  ++stats_.files;
  return count_bytes(n, n, path);
}

Status Extractor::extract_symlink(const Components& path, archive_entry* entry) {
  const char* target = archive_entry_symlink(entry);
  if (target == nullptr) target = archive_entry_symlink_utf8(entry);
  if (path.empty() || target == nullptr || !detail::link_target_inside(path, target)) {
    return Error(errc::unsafe_archive,
                 "symlink points outside the archive: " + detail::join(path));
  }
  ++stats_.symlinks;
  return writer_.make_symlink(path, target);
}

bool starts_with_bytes(std::string_view head, std::string_view magic) {
  return head.substr(0, magic.size()) == magic;
}

// Everything under root that is not a directory's contents, as sorted relative paths.
Result<std::vector<fs::path>> list_tree(const fs::path& root) {
  std::vector<fs::path> paths;
  std::error_code ec;
  fs::recursive_directory_iterator it(root, fs::directory_options::none, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    paths.push_back(it->path().lexically_relative(root));
  }
  if (ec) return Error(errc::io_error, "cannot list " + root.string() + ": " + ec.message());
  std::sort(paths.begin(), paths.end(),
            [](const fs::path& a, const fs::path& b) { return a.native() < b.native(); });
  return paths;
}

// 1980-01-01, the earliest time a zip can hold: the same tree always packs to the same bytes.
constexpr time_t kZipEpoch = 315532800;

Status write_entry_data(archive* a, const fs::path& file) {
  UniqueFd in(::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!in.valid()) {
    return Error(errc::io_error, "cannot read " + file.string() + ": " + std::strerror(errno));
  }
  std::vector<char> buffer(kBlock);
  for (;;) {
    ssize_t n = ::read(in.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error(errc::io_error, "cannot read " + file.string());
    if (n == 0) return ok_status();
    if (archive_write_data(a, buffer.data(), static_cast<std::size_t>(n)) < 0) {
      return Error(errc::io_error, "cannot write zip: " + archive_message(a));
    }
  }
}

Status pack_one(archive* a, const fs::path& root, const fs::path& rel) {
  fs::path full = root / rel;
  struct stat st {};
  if (::lstat(full.c_str(), &st) != 0) {
    return Error(errc::io_error, "cannot stat " + full.string() + ": " + std::strerror(errno));
  }
  Entry entry(archive_entry_new());
  std::string name = rel.generic_string();
  archive_entry_set_mtime(entry.get(), kZipEpoch, 0);
  archive_entry_set_perm(entry.get(), st.st_mode & 0777);
  if (S_ISDIR(st.st_mode)) {
    archive_entry_set_pathname(entry.get(), (name + "/").c_str());
    archive_entry_set_filetype(entry.get(), AE_IFDIR);
  } else if (S_ISLNK(st.st_mode)) {
    std::error_code ec;
    fs::path target = fs::read_symlink(full, ec);
    if (ec) return Error(errc::io_error, "cannot read link " + full.string());
    archive_entry_set_pathname(entry.get(), name.c_str());
    archive_entry_set_filetype(entry.get(), AE_IFLNK);
    archive_entry_set_symlink(entry.get(), target.c_str());
  } else if (S_ISREG(st.st_mode)) {
    archive_entry_set_pathname(entry.get(), name.c_str());
    archive_entry_set_filetype(entry.get(), AE_IFREG);
    archive_entry_set_size(entry.get(), st.st_size);
  } else {
    return ok_status();  // the workspace never holds special files; nothing to pack
  }
  // ARCHIVE_WARN: a name that is not valid in the locale is stored as its raw bytes.
  if (archive_write_header(a, entry.get()) < ARCHIVE_WARN) {
    return Error(errc::io_error, "cannot add " + name + " to the zip: " + archive_message(a));
  }
  if (S_ISREG(st.st_mode)) FTI_TRY(write_entry_data(a, full));
  return ok_status();
}

}  // namespace

Result<ExtractStats> extract_archive(const fs::path& archive_path, const fs::path& dest,
                                     const ExtractLimits& limits) {
  std::error_code ec;
  auto archive_bytes = static_cast<std::int64_t>(fs::file_size(archive_path, ec));
  if (ec) return Error(errc::bad_archive, "cannot read " + archive_path.string() + ": " + ec.message());
  if (archive_bytes == 0) return Error(errc::bad_archive, "the upload is empty, not an archive");
  ReadArchive reader = open_reader(archive_path);
  if (!reader) return Error(errc::bad_archive, "not a readable archive: " + archive_path.string());
  FTI_ASSIGN_OR_RETURN(TreeWriter writer, TreeWriter::open(dest.string()));
  Extractor extractor(reader.get(), std::move(writer), limits, archive_bytes);
  FTI_TRY(extractor.run());
  return extractor.stats();
}

bool looks_like_archive_bytes(std::string_view head) {
  using namespace std::string_view_literals;
  if (starts_with_bytes(head, "PK\x03\x04"sv) || starts_with_bytes(head, "PK\x05\x06"sv)) return true;
  if (starts_with_bytes(head, "\x1f\x8b"sv)) return true;
  if (starts_with_bytes(head, "BZh"sv)) return true;
  if (starts_with_bytes(head, "\xfd" "7zXZ\x00"sv)) return true;
  // The rest of what the extractor reads: 7-Zip, zstd, and cpio (ASCII and binary).
  if (starts_with_bytes(head, "7z\xbc\xaf\x27\x1c"sv)) return true;
  if (starts_with_bytes(head, "\x28\xb5\x2f\xfd"sv)) return true;
  if (starts_with_bytes(head, "07070"sv) || starts_with_bytes(head, "\xc7\x71"sv) ||
      starts_with_bytes(head, "\x71\xc7"sv)) {
    return true;
  }
  return head.size() >= 262 && head.substr(257, 5) == "ustar";
}

bool looks_like_archive(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return false;
  std::string head(512, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  return looks_like_archive_bytes(head);
}

Status pack_zip(const fs::path& root, const fs::path& out_zip) {
  FTI_ASSIGN_OR_RETURN(std::vector<fs::path> paths, list_tree(root));
  WriteArchive a(archive_write_new());
  archive_write_set_format_zip(a.get());
  if (archive_write_open_filename(a.get(), out_zip.c_str()) != ARCHIVE_OK) {
    return Error(errc::io_error, "cannot create " + out_zip.string() + ": " + archive_message(a.get()));
  }
  for (const auto& rel : paths) FTI_TRY(pack_one(a.get(), root, rel));
  if (archive_write_close(a.get()) != ARCHIVE_OK) {
    return Error(errc::io_error, "cannot finish " + out_zip.string() + ": " + archive_message(a.get()));
  }
  return ok_status();
}

}  // namespace fti::cleanup
