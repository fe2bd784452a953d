#include "fti/cleanup/archive.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <system_error>

#include "fti/core/json.hpp"
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
constexpr std::size_t kSniffBytes = 512;  // enough for every magic looks_like_archive_bytes knows

// What the user can do about each kind of refusal; every message ends with one of these.
constexpr const char* kFixBad = " - upload a zip or tar(.gz) made by a standard tool from the project folder";
constexpr const char* kFixUnsafe =
    " - re-create the archive from the project folder itself, without absolute paths, '..' or "
    "links that leave it";
constexpr const char* kFixLimits =
    " - leave out generated folders (node_modules, build output, data files) or split the project";

Error bad_archive(const std::string& what) { return Error(errc::bad_archive, what + kFixBad); }
Error unsafe_archive(const std::string& what) { return Error(errc::unsafe_archive, what + kFixUnsafe); }
Error archive_limits(const std::string& what) { return Error(errc::archive_limits, what + kFixLimits); }

std::string fmt_ratio(double ratio) { return fmt::format("{:g}", ratio); }

std::uint64_t little_endian(const unsigned char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// The entry count a zip's end-of-central-directory record declares (the zip64 one when the
// classic field is full), or nullopt when there is none. libarchive reads the whole central
// directory into memory before the first entry, so a zip with too many entries is refused
// from this count first; a count that lies is still caught entry by entry.
std::optional<std::uint64_t> zip_declared_entries(int fd, std::int64_t file_bytes) {
  constexpr std::int64_t kEocd = 22;
  constexpr std::int64_t kMaxComment = 0xFFFF;
  std::int64_t tail = std::min(file_bytes, kEocd + kMaxComment + 20);
  std::vector<unsigned char> buf(static_cast<std::size_t>(tail));
  if (::pread(fd, buf.data(), buf.size(), file_bytes - tail) != static_cast<ssize_t>(buf.size())) return std::nullopt;
  for (std::int64_t at = tail - kEocd; at >= 0; --at) {
    const unsigned char* p = buf.data() + at;
    if (!(p[0] == 'P' && p[1] == 'K' && p[2] == 5 && p[3] == 6)) continue;
    std::uint64_t entries = little_endian(p + 10, 2);
    if (entries != 0xFFFF || at < 20) return entries;
    const unsigned char* locator = p - 20;  // the zip64 locator sits right before the record
    if (!(locator[0] == 'P' && locator[1] == 'K' && locator[2] == 6 && locator[3] == 7)) return entries;
    unsigned char record[56];
    auto offset = static_cast<off_t>(little_endian(locator + 8, 8));
    if (::pread(fd, record, sizeof record, offset) != static_cast<ssize_t>(sizeof record)) return entries;
    if (!(record[0] == 'P' && record[1] == 'K' && record[2] == 6 && record[3] == 6)) return entries;
    return little_endian(record + 32, 8);
  }
  return std::nullopt;
}

Status check_zip_entry_count(const fs::path& file, std::int64_t file_bytes, const ExtractLimits& limits) {
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ok_status();  // the reader reports it
  char magic[4] = {};
  if (::pread(fd.get(), magic, 4, 0) != 4 || !(magic[0] == 'P' && magic[1] == 'K')) return ok_status();
  std::optional<std::uint64_t> entries = zip_declared_entries(fd.get(), file_bytes);
  if (entries && *entries > static_cast<std::uint64_t>(limits.max_files)) {
    return archive_limits("the zip declares " + std::to_string(*entries) + " entries, over the " +
                          std::to_string(limits.max_files) + " allowed (limits.max_files)");
  }
  return ok_status();
}

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

const char* entry_name(archive_entry* entry) {
  const char* name = archive_entry_pathname(entry);
  return name ? name : archive_entry_pathname_utf8(entry);
}

// The limits on one entry's size and on the running total, for sizes a header declares and
// for bytes as they are written alike.
Status check_sizes(const ExtractLimits& limits, std::int64_t archive_bytes, std::int64_t entry_bytes,
                   std::int64_t total_bytes, const std::string& path) {
  if (entry_bytes > limits.max_file_bytes) {
    return archive_limits("an entry holds " + std::to_string(entry_bytes) + " bytes, over the " +
                          std::to_string(limits.max_file_bytes) + " allowed for one file (limits.max_file_bytes): " +
                          printable_name(path));
  }
  if (total_bytes > limits.max_unpacked_bytes) {
    return archive_limits("the archive unpacks to more than " + std::to_string(limits.max_unpacked_bytes) +
                          " bytes (limits.max_unpacked_bytes)");
  }
  if (total_bytes > kRatioFloor &&
      static_cast<double>(total_bytes) > limits.max_ratio * static_cast<double>(archive_bytes)) {
    return archive_limits("the archive expands more than " + fmt_ratio(limits.max_ratio) +
                          " times its size, like a zip bomb (limits.max_ratio)");
  }
  return ok_status();
}

Error too_many_entries(const ExtractLimits& limits) {
  return archive_limits("the archive has more than " + std::to_string(limits.max_files) +
                        " entries (limits.max_files)");
}

// A first pass over the headers alone, skipping the data: too many entries, or sizes that
// add up past a limit (a zip bomb that declares its size honestly), are refused before a
// single file is written and without creating 100,000 files first. Costs one more
// decompression of the archive; headers that lie are caught while extracting.
Status survey_headers(const fs::path& file, std::int64_t archive_bytes, const ExtractLimits& limits) {
  ReadArchive a = open_reader(file);
  if (!a) return bad_archive("not a readable archive: " + file.filename().string());
  std::int64_t entries = 0;
  std::int64_t declared_total = 0;
  for (;;) {
    archive_entry* entry = nullptr;
    int rc = archive_read_next_header(a.get(), &entry);
    if (rc == ARCHIVE_EOF) return ok_status();
    if (rc < ARCHIVE_WARN) return bad_archive("cannot read the archive: " + archive_message(a.get()));
    if (++entries > limits.max_files) return too_many_entries(limits);
    bool regular = archive_entry_filetype(entry) == AE_IFREG && archive_entry_hardlink(entry) == nullptr;
    if (!regular || !archive_entry_size_is_set(entry)) continue;
    std::int64_t declared = archive_entry_size(entry);
    if (declared < 0) return bad_archive("an entry declares a negative size");
    declared_total += declared;
    const char* name = entry_name(entry);
    FTI_TRY(check_sizes(limits, archive_bytes, declared, declared_total, name ? name : "?"));
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
  void note_name(const char* raw_name);
  void note_if_archive(const Components& path, std::string_view head);

  archive* a_;
  TreeWriter writer_;
  const ExtractLimits& limits_;
  std::int64_t archive_bytes_;
  ExtractStats stats_;
  std::int64_t entries_ = 0;
};

Status Extractor::run() {
  for (;;) {
    archive_entry* entry = nullptr;
    int rc = archive_read_next_header(a_, &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) return bad_archive("cannot read the archive: " + archive_message(a_));
    if (stats_.format.empty()) stats_.format = format_name(a_);
    if (++entries_ > limits_.max_files) return too_many_entries(limits_);
    FTI_TRY(extract_entry(entry));
  }
  if (stats_.format.empty()) stats_.format = format_name(a_);
  stats_.replaced_duplicates = writer_.replaced_files();
  return ok_status();
}

Status Extractor::extract_entry(archive_entry* entry) {
  const char* raw_name = entry_name(entry);
  if (raw_name == nullptr) return bad_archive("an entry has no readable name");
  // Checked before splitting: a 100 MB name must not become a 100 MB vector of parts.
  if (std::strlen(raw_name) > kMaxPathBytes) {
    return Error(errc::archive_limits, "an entry's path is over " + std::to_string(kMaxPathBytes) +
                                           " bytes - shorten it and upload again");
  }
  std::optional<Components> path = detail::split_relative(raw_name);
  if (!path) {
    return unsafe_archive("entry path is absolute or contains '..': " + printable_name(raw_name));
  }
  // Deep paths extract one component at a time but break every tool after us.
  if (path->size() > kMaxPathDepth) {
    return Error(errc::archive_limits, "an entry's path is over " + std::to_string(kMaxPathDepth) +
                                           " folders deep - flatten it and upload again");
  }
  note_name(raw_name);
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
      return unsafe_archive("device, fifo or socket entries are not accepted: " + printable_name(raw_name));
  }
}

void Extractor::note_name(const char* raw_name) {
  if (is_valid_utf8(raw_name)) return;
  if (stats_.non_utf8_examples.size() < 5) stats_.non_utf8_examples.push_back(printable_name(raw_name));
  ++stats_.non_utf8_names;
}

void Extractor::note_if_archive(const Components& path, std::string_view head) {
  if (!looks_like_archive_bytes(head)) return;
  if (stats_.nested_archive_paths.size() < kMaxListedNames) {
    stats_.nested_archive_paths.push_back(detail::join(path));
  }
  ++stats_.nested_archives;
}

Status Extractor::count_bytes(std::int64_t n, std::int64_t entry_bytes, const Components& path) {
  stats_.bytes += n;
  return check_sizes(limits_, archive_bytes_, entry_bytes, stats_.bytes, detail::join(path));
}

Status Extractor::extract_file(const Components& path, archive_entry* entry) {
  if (path.empty()) return unsafe_archive("a file entry names the root");
  // Owner keeps read/write so later passes can rewrite; set-id and sticky bits are dropped.
  unsigned mode = (archive_entry_perm(entry) & 0777) | 0600;
  FTI_ASSIGN_OR_RETURN(UniqueFd out, writer_.create_file(path, mode));
  ++stats_.files;
  std::int64_t written = 0;  // file position, holes included
  std::string head;          // the first bytes, to spot an archive inside the archive
  for (;;) {
    const void* block = nullptr;
    std::size_t size = 0;
    la_int64_t offset = 0;
    int rc = archive_read_data_block(a_, &block, &size, &offset);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) {
      return bad_archive("corrupt entry " + printable_name(detail::join(path)) + ": " + archive_message(a_));
    }
    if (head.size() < kSniffBytes && offset == written) {
      head.append(static_cast<const char*>(block), std::min(size, kSniffBytes - head.size()));
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
  note_if_archive(path, head);
  return ok_status();
}

Status Extractor::extract_hardlink(const Components& path, const char* target) {
  std::optional<Components> from = detail::split_relative(target);
  if (!from || from->empty()) {
    return unsafe_archive("hard link leaves the archive: " + printable_name(detail::join(path)) + " -> " +
                          printable_name(target));
  }
  // Materialised as a copy: later passes rewrite files by rename, which would split a link.
  // The writer refuses a target that is not a regular file already extracted (looked up in
  // the tree itself, so no list of every entry is kept in memory).
  FTI_ASSIGN_OR_RETURN(std::int64_t n, writer_.copy_file(*from, path, limits_.max_file_bytes));
  ++stats_.files;
  return count_bytes(n, n, path);
}

Status Extractor::extract_symlink(const Components& path, archive_entry* entry) {
  const char* target = archive_entry_symlink(entry);
  if (target == nullptr) target = archive_entry_symlink_utf8(entry);
  if (path.empty() || target == nullptr || !detail::link_target_inside(path, target)) {
    return unsafe_archive("symlink points outside the archive: " + printable_name(detail::join(path)));
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

// Deflating what is already compressed (images, archives, media, blobs) is most of the cost
// of packing and gains nothing, so such files are stored. Judged by the order-0 entropy of
// their first block: compressed bytes carry close to 8 bits a byte, text far fewer.
constexpr std::size_t kEntropySample = 16 * 1024;  // smaller files are cheap to deflate anyway
constexpr double kStoreAboveBits = 7.9;

bool looks_incompressible(const char* data, std::size_t n) {
  if (n < kEntropySample) return false;
  std::array<std::size_t, 256> counts{};
  for (std::size_t i = 0; i < n; ++i) ++counts[static_cast<unsigned char>(data[i])];
  double bits = 0;
  for (std::size_t c : counts) {
    if (c == 0) continue;
    double p = static_cast<double>(c) / static_cast<double>(n);
    bits -= p * std::log2(p);
  }
  return bits > kStoreAboveBits;
}

Result<std::size_t> read_some(int fd, std::vector<char>& buffer, const fs::path& file) {
  for (;;) {
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error(errc::io_error, "cannot read " + file.string());
    return static_cast<std::size_t>(n);
  }
}

// Writes the entry's header (stored or deflated, by its first block) and its bytes.
Status pack_regular(archive* a, archive_entry* entry, const fs::path& file, const std::string& name) {
  UniqueFd in(::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!in.valid()) {
    return Error(errc::io_error, "cannot read " + file.string() + ": " + std::strerror(errno));
  }
  std::vector<char> buffer(kBlock);
  FTI_ASSIGN_OR_RETURN(std::size_t n, read_some(in.get(), buffer, file));
  if (looks_incompressible(buffer.data(), n)) {
    archive_write_zip_set_compression_store(a);
  } else {
    archive_write_zip_set_compression_deflate(a);
  }
  // ARCHIVE_WARN: a name that is not valid in the locale is stored as its raw bytes.
  if (archive_write_header(a, entry) < ARCHIVE_WARN) {
    return Error(errc::io_error, "cannot add " + name + " to the zip: " + archive_message(a));
  }
  while (n > 0) {
    if (archive_write_data(a, buffer.data(), n) < 0) {
      return Error(errc::io_error, "cannot write zip: " + archive_message(a));
    }
    FTI_ASSIGN_OR_RETURN(n, read_some(in.get(), buffer, file));
  }
  return ok_status();
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
    return pack_regular(a, entry.get(), full, name);
  } else {
    return ok_status();  // the workspace never holds special files; nothing to pack
  }
  // ARCHIVE_WARN: a name that is not valid in the locale is stored as its raw bytes.
  if (archive_write_header(a, entry.get()) < ARCHIVE_WARN) {
    return Error(errc::io_error, "cannot add " + name + " to the zip: " + archive_message(a));
  }
  return ok_status();
}

}  // namespace

Result<ExtractStats> extract_archive(const fs::path& archive_path, const fs::path& dest,
                                     const ExtractLimits& limits) {
  std::error_code ec;
  auto archive_bytes = static_cast<std::int64_t>(fs::file_size(archive_path, ec));
  if (ec) return bad_archive("cannot read " + archive_path.string() + ": " + ec.message());
  if (archive_bytes == 0) return bad_archive("the upload is empty, not an archive");
  FTI_TRY(check_zip_entry_count(archive_path, archive_bytes, limits));
  FTI_TRY(survey_headers(archive_path, archive_bytes, limits));
  ReadArchive reader = open_reader(archive_path);
  if (!reader) return bad_archive("not a readable archive: " + archive_path.filename().string());
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

bool is_valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    std::size_t n = json::utf8_sequence_length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string printable_name(std::string_view name) {
  std::string out;
  for (std::size_t i = 0; i < name.size();) {
    std::size_t n = json::utf8_sequence_length(name, i);
    auto c = static_cast<unsigned char>(name[i]);
    if (n == 0 || c < 0x20 || c == 0x7F) {
      out += fmt::format("\\x{:02X}", c);
      ++i;
      continue;
    }
    out.append(name.substr(i, n));
    i += n;
  }
  return out;
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
