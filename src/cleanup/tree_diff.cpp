#include "tree_diff.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

#include "line_diff.hpp"
#include "safe_tree.hpp"

namespace fti::cleanup::detail {

namespace fs = std::filesystem;

namespace {

std::int64_t mtime_ns(const struct stat& st) {
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

Status io_failure(const std::string& what, const fs::path& path) {
  return Error(errc::io_error, fmt::format("cannot {} {}: {}", what, path.string(), std::strerror(errno)));
}

Status copy_file_bytes(const fs::path& from, const fs::path& to, mode_t mode) {
  FTI_ASSIGN_OR_RETURN(std::string data, read_file(from));
  UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0777));
  if (!out.valid()) return io_failure("create", to);
  return write_all(out.get(), data.data(), data.size());
}

// Keeps the original of one file under `dir`: a hard link, or a copy (or a symlink's twin).
Status keep_original(const TreeFile& f, const fs::path& dir, OriginalTree::Entry& entry) {
  const fs::path kept = dir / f.rel;
  if (f.symlink) {
    std::error_code ec;
    fs::create_symlink(fs::read_symlink(f.full, ec), kept, ec);
    if (ec) return Error(errc::io_error, "cannot keep the link " + f.rel + ": " + ec.message());
  } else if (::link(f.full.c_str(), kept.c_str()) != 0) {
    FTI_TRY(copy_file_bytes(f.full, kept, f.mode));
  }
  struct stat st {};
  if (::lstat(kept.c_str(), &st) != 0) return io_failure("stat", kept);
  entry = OriginalTree::Entry{f.rel, st.st_dev, st.st_ino, mtime_ns(st), st.st_size, st.st_mode, f.symlink};
  return ok_status();
}

// --- git's spelling of paths, modes and object ids ---

bool needs_quotes(std::string_view path) {
  return std::any_of(path.begin(), path.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u >= 0x7f || c == '"' || c == '\\';
  });
}

// "a/" + path, C-quoted as git does when the path holds control, quote or non-ASCII bytes.
std::string git_path(std::string_view prefix, std::string_view path) {
  std::string plain = std::string(prefix) + std::string(path);
  if (!needs_quotes(path)) return plain;
  std::string out = "\"";
  for (char c : plain) {
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      default:
        if (u < 0x20 || u >= 0x7f) {
          out += fmt::format("\\{:03o}", u);
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

// The name on a ---/+++ line: git ends it with a tab when it holds a space, so that what
// follows cannot be read as part of it.
std::string label(std::string_view prefix, std::string_view path) {
  return git_path(prefix, path) + (path.find(' ') != std::string_view::npos ? "\t" : "");
}

std::string git_header(std::string_view rel) {
  return fmt::format("diff --git {} {}\n", git_path("a/", rel), git_path("b/", rel));
}

std::string git_mode(mode_t mode, bool symlink) {
  if (symlink) return "120000";
  return (mode & 0111) ? "100755" : "100644";
}

constexpr std::string_view kNullId = "0000000000000000000000000000000000000000";

// git's object id of a blob: SHA-1 over "blob <size>\0" and the bytes, read in chunks.
Result<std::string> git_blob_id(const fs::path& file, std::int64_t size) {
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return io_failure("read", file).error();
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha1(), nullptr) != 1) {
    return Error(errc::internal, "SHA-1 is not available");
  }
  std::string header = fmt::format("blob {}", size);
  EVP_DigestUpdate(ctx.get(), header.data(), header.size() + 1);  // with its NUL
  std::vector<char> buffer(64 * 1024);
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_failure("read", file).error();
    if (n == 0) break;
    EVP_DigestUpdate(ctx.get(), buffer.data(), static_cast<std::size_t>(n));
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &len);
  std::string hex;
  for (unsigned int k = 0; k < len; ++k) hex += fmt::format("{:02x}", digest[k]);
  return hex;
}

// git's test: a NUL byte in the first 8000 bytes makes a file binary.
bool looks_binary(std::string_view data) {
  return data.substr(0, 8000).find('\0') != std::string_view::npos;
}

std::string human_size(std::int64_t n) {
  if (n < 1024) return fmt::format("{} B", n);
  if (n < (1 << 20)) return fmt::format("{:.1f} KiB", static_cast<double>(n) / 1024);
  return fmt::format("{:.1f} MiB", static_cast<double>(n) / (1 << 20));
}

// --- hunks ---

struct LineCount {
  std::int64_t added = 0;
  std::int64_t removed = 0;
};

// "@@ -3,4 +3,5 @@": a range of one line drops its count, an empty one names the line before.
std::string range(std::int64_t start, std::int64_t count) {
  if (count == 1) return std::to_string(start + 1);
  return fmt::format("{},{}", count == 0 ? start : start + 1, count);
}

void add_line(std::string& out, char sign, std::string_view line) {
  out += sign;
  out += line;
  if (line.empty() || line.back() != '\n') out += "\n\\ No newline at end of file\n";
}

// Appends the hunks of `ops` (a over b) with `context` unchanged lines around each change.
LineCount render_hunks(const std::vector<std::string_view>& a, const std::vector<std::string_view>& b,
                       const std::vector<LineOp>& ops, std::int64_t context, std::string& out) {
  LineCount count;
  const auto n = static_cast<std::int64_t>(ops.size());
  auto changed = [&ops](std::int64_t k) { return ops[static_cast<std::size_t>(k)] != LineOp::keep; };
  std::int64_t op = 0;  // ops before this one are rendered or skipped
  std::int64_t ai = 0;  // lines of a and b before `op`
  std::int64_t bi = 0;
  for (;;) {
    std::int64_t first = op;
    while (first < n && !changed(first)) ++first;
    if (first == n) return count;
    // The hunk grows while the next change is close enough for the contexts to touch.
    std::int64_t last = first;
    for (std::int64_t k = first + 1; k < n && k - last <= 2 * context + 1; ++k) {
      if (changed(k)) last = k;
    }
    const std::int64_t begin = std::max(op, first - context);
    const std::int64_t end = std::min(n, last + 1 + context);
    ai += begin - op;  // what lies before the hunk is unchanged
    bi += begin - op;
    op = begin;
    std::string body;
    std::int64_t a_count = 0;
    std::int64_t b_count = 0;
    const std::int64_t a_start = ai;
    const std::int64_t b_start = bi;
    for (; op < end; ++op) {
      switch (ops[static_cast<std::size_t>(op)]) {
        case LineOp::keep:
          add_line(body, ' ', a[static_cast<std::size_t>(ai++)]);
          ++bi;
          ++a_count;
          ++b_count;
          break;
        case LineOp::remove:
          add_line(body, '-', a[static_cast<std::size_t>(ai++)]);
          ++a_count;
          ++count.removed;
          break;
        case LineOp::add:
          add_line(body, '+', b[static_cast<std::size_t>(bi++)]);
          ++b_count;
          ++count.added;
          break;
      }
    }
    out += fmt::format("@@ -{} +{} @@\n", range(a_start, a_count), range(b_start, b_count));
    out += body;
  }
}

LineCount text_hunks(std::string_view before, std::string_view after, std::int64_t context, std::string& out) {
  std::vector<std::string_view> a = split_lines_with_endings(before);
  std::vector<std::string_view> b = split_lines_with_endings(after);
  return render_hunks(a, b, line_edit_script(a, b), context, out);
}

std::int64_t crlf_lines(std::string_view text) {
  std::int64_t n = 0;
  for (std::size_t at = text.find("\r\n"); at != std::string_view::npos; at = text.find("\r\n", at + 2)) ++n;
  return n;
}

// A note for a change no one sees in a terminal: the carriage returns.
std::string line_ending_note(std::string_view before, std::string_view after) {
  std::int64_t was = crlf_lines(before);
  std::int64_t now = crlf_lines(after);
  if (was > 0 && now == 0) return "line endings: CRLF -> LF";
  if (was == 0 && now > 0) return "line endings: LF -> CRLF";
  if (was != now) return fmt::format("line endings: {} CRLF line(s) -> {}", was, now);
  return {};
}

// One side of a file for the diff: its bytes when small enough to show, else only its size.
struct Side {
  fs::path full;
  mode_t mode = 0;
  bool symlink = false;
  std::int64_t size = 0;
  std::string text;  // file bytes, or a symlink's target
  bool shown = false;  // text holds the bytes
};

class TreeDiffWriter {
 public:
  TreeDiffWriter(const OriginalTree& original, const Report& report, const TreeDiffOptions& options,
                 DiffSummary& summary, int fd)
      : original_(original), report_(report), options_(options), summary_(summary), fd_(fd) {
    for (const auto& c : report.changed) changed_by_[c.path] = &c;
    for (const auto& r : report.removed) {
      if (!r.path.empty() && r.path.back() == '/') {
        removed_folders_.insert(r.path);
      } else {
        removed_files_[r.path] = &r;
      }
    }
  }

  Status write(const std::vector<TreeFile>& cleaned);

 private:
  Status preamble();
  Status compare(const OriginalTree::Entry& was, const TreeFile& now);
  Status removed(const OriginalTree::Entry& was);
  Status created(const TreeFile& now);
  Status one_sided(const std::string& rel, const Side& file, const std::string& note, bool removal);
  Result<Side> side(const fs::path& full, mode_t mode, bool symlink, std::int64_t size) const;
  Status binary_or_large(const std::string& rel, const Side* was, const Side* now, const std::string& note);
  Status emit(std::string section, const std::string& rel, LineCount lines);
  Status put(std::string_view text);
  bool under_removed_folder(const std::string& rel) const;
  std::string passes_of(const std::string& rel) const;

  const OriginalTree& original_;
  const Report& report_;
  const TreeDiffOptions& options_;
  DiffSummary& summary_;
  int fd_;
  std::unordered_map<std::string, const ChangedEntry*> changed_by_;
  std::unordered_map<std::string, const RemovedEntry*> removed_files_;
  std::set<std::string> removed_folders_;
};

// Room kept under the cap for the line that says the diff was cut.
constexpr std::int64_t kCutLineReserve = 512;

Status TreeDiffWriter::put(std::string_view text) {
  FTI_TRY(write_all(fd_, text.data(), text.size()));
  summary_.bytes += static_cast<std::int64_t>(text.size());
  return ok_status();
}

// Whole files only: past the cap nothing more is written, but every file is still counted.
Status TreeDiffWriter::emit(std::string section, const std::string& rel, LineCount lines) {
  ++summary_.files;
  summary_.lines_added += lines.added;
  summary_.lines_removed += lines.removed;
  if (lines.added + lines.removed > 0) {
    auto& top = summary_.top;
    top.push_back(DiffFileStat{rel, lines.added, lines.removed});
    std::stable_sort(top.begin(), top.end(), [](const DiffFileStat& x, const DiffFileStat& y) {
      return x.lines_added + x.lines_removed > y.lines_added + y.lines_removed;
    });
    if (top.size() > options_.top_files) top.pop_back();
  }
  if (!summary_.truncated &&
      summary_.bytes + static_cast<std::int64_t>(section.size()) + kCutLineReserve > options_.max_bytes) {
    summary_.truncated = true;
  }
  if (summary_.truncated) {
    ++summary_.files_not_shown;
    return ok_status();
  }
  return put(section);
}

bool TreeDiffWriter::under_removed_folder(const std::string& rel) const {
  for (std::size_t slash = rel.find('/'); slash != std::string::npos; slash = rel.find('/', slash + 1)) {
    if (removed_folders_.count(rel.substr(0, slash + 1))) return true;
  }
  return false;
}

std::string TreeDiffWriter::passes_of(const std::string& rel) const {
  auto it = changed_by_.find(rel);
  if (it == changed_by_.end()) return {};
  std::string out;
  for (const auto& p : it->second->passes) out += (out.empty() ? "" : ", ") + p;
  return out;
}

// Removed folders first, one line each, and removals of what never reached the tree (a
// symlink leaving the project, a device file).
Status TreeDiffWriter::preamble() {
  std::string lines;
  for (const auto& r : report_.removed) {
    bool folder = !r.path.empty() && r.path.back() == '/';
    if (folder) {
      ++summary_.folders;
      lines += fmt::format("# removed folder {} ({} {}): {}\n", git_path("", r.path), r.files,
                           r.files == 1 ? "file" : "files", r.reason);
    } else if (!original_.has(r.path)) {
      ++summary_.files;
      lines += fmt::format("# removed {}: {}\n", git_path("", r.path), r.reason);
    }
  }
  if (static_cast<std::int64_t>(lines.size()) + kCutLineReserve > options_.max_bytes) {
    summary_.truncated = true;
    return ok_status();
  }
  return put(lines);
}

Result<Side> TreeDiffWriter::side(const fs::path& full, mode_t mode, bool symlink, std::int64_t size) const {
  Side s{full, mode, symlink, size, {}, false};
  if (symlink) {
    std::error_code ec;
    s.text = fs::read_symlink(full, ec).string();
    if (ec) return Error(errc::io_error, "cannot read the link " + full.string() + ": " + ec.message());
    s.shown = true;
    return s;
  }
  if (size > options_.max_inline_bytes) return s;
  FTI_ASSIGN_OR_RETURN(s.text, read_file(full));
  s.shown = !looks_binary(s.text);
  return s;
}

// A file shown by name only: binary (as git prints it, with full ids so `git apply` can
// delete it), or too large to print here.
Status TreeDiffWriter::binary_or_large(const std::string& rel, const Side* was, const Side* now,
                                       const std::string& note) {
  std::string section = note.empty() ? "" : "# " + note + "\n";
  const Side* either = was ? was : now;
  bool large = either->size > options_.max_inline_bytes || (now && now->size > options_.max_inline_bytes);
  if (large && was && now) {
    // Only the size: reading a 40 MiB file twice to hash it tells a reader nothing more.
    section += fmt::format("# {}: changed, {} -> {}, too large to show\n", git_path("", rel), human_size(was->size),
                           human_size(now->size));
    auto it = changed_by_.find(rel);
    LineCount lines;
    if (it != changed_by_.end()) lines = {it->second->lines_added, it->second->lines_removed};
    return emit(std::move(section), rel, lines);
  }
  std::string old_id = std::string(kNullId);
  std::string new_id = std::string(kNullId);
  if (was) {
    FTI_ASSIGN_OR_RETURN(old_id, git_blob_id(was->full, was->size));
  }
  if (now) {
    FTI_ASSIGN_OR_RETURN(new_id, git_blob_id(now->full, now->size));
  }
  if (large) section += fmt::format("# {}: {}, too large to show\n", git_path("", rel), human_size(either->size));
  section += git_header(rel);
  if (!was) section += "new file mode " + git_mode(now->mode, now->symlink) + "\n";
  if (!now) section += "deleted file mode " + git_mode(was->mode, was->symlink) + "\n";
  section += fmt::format("index {}..{}{}\n", old_id, new_id,
                         was && now ? " " + git_mode(now->mode, now->symlink) : "");
  section += fmt::format("Binary files {} and {} differ\n", was ? git_path("a/", rel) : "/dev/null",
                         now ? git_path("b/", rel) : "/dev/null");
  return emit(std::move(section), rel, {});
}

Status TreeDiffWriter::compare(const OriginalTree::Entry& was_entry, const TreeFile& now_file) {
  struct stat st {};
  if (::lstat(now_file.full.c_str(), &st) != 0) return io_failure("stat", now_file.full);
  if (st.st_dev == was_entry.dev && st.st_ino == was_entry.ino) {
    if (mtime_ns(st) == was_entry.mtime_ns) return ok_status();  // no pass replaced it
    // A pass wrote into the shared inode: the original is gone, so say so rather than lie.
    std::string passes = passes_of(was_entry.rel);
    return emit(fmt::format("# {}: changed in place by a pass{}; the original was not kept, no diff\n",
                            git_path("", was_entry.rel), passes.empty() ? "" : " (" + passes + ")"),
                was_entry.rel, {});
  }
  if (was_entry.symlink != now_file.symlink) {  // a type change is a removal and a creation
    FTI_TRY(removed(was_entry));
    return created(now_file);
  }
  FTI_ASSIGN_OR_RETURN(Side was, side(original_.root() / was_entry.rel, was_entry.mode, was_entry.symlink,
                                      was_entry.size));
  FTI_ASSIGN_OR_RETURN(Side now, side(now_file.full, now_file.mode, now_file.symlink, now_file.size));
  bool same_mode = git_mode(was.mode, was.symlink) == git_mode(now.mode, now.symlink);
  if (was.size <= options_.max_inline_bytes && now.size <= options_.max_inline_bytes && was.text == now.text &&
      same_mode) {
    return ok_status();
  }
  std::string passes = passes_of(now_file.rel);
  if (!was.shown || !now.shown) return binary_or_large(now_file.rel, &was, &now, passes);
  std::string note = passes;
  std::string endings = line_ending_note(was.text, now.text);
  if (!endings.empty()) note += (note.empty() ? "" : "; ") + endings;
  std::string section = note.empty() ? "" : "# " + note + "\n";
  section += git_header(now_file.rel);
  if (!same_mode) {
    section += "old mode " + git_mode(was.mode, was.symlink) + "\nnew mode " + git_mode(now.mode, now.symlink) + "\n";
  }
  LineCount lines;
  if (was.text != now.text) {
    section += "--- " + label("a/", now_file.rel) + "\n+++ " + label("b/", now_file.rel) + "\n";
    lines = text_hunks(was.text, now.text, options_.context_lines, section);
  }
  return emit(std::move(section), now_file.rel, lines);
}

Status TreeDiffWriter::removed(const OriginalTree::Entry& was_entry) {
  FTI_ASSIGN_OR_RETURN(Side was, side(original_.root() / was_entry.rel, was_entry.mode, was_entry.symlink,
                                      was_entry.size));
  auto why = removed_files_.find(was_entry.rel);
  return one_sided(was_entry.rel, was, why == removed_files_.end() ? "removed" : "removed: " + why->second->reason,
                   true);
}

Status TreeDiffWriter::created(const TreeFile& now_file) {
  FTI_ASSIGN_OR_RETURN(Side now, side(now_file.full, now_file.mode, now_file.symlink, now_file.size));
  std::string passes = passes_of(now_file.rel);
  return one_sided(now_file.rel, now, passes.empty() ? "created" : "created by " + passes, false);
}

// A file on one side only: its whole text as removed lines, or as added ones.
Status TreeDiffWriter::one_sided(const std::string& rel, const Side& file, const std::string& note, bool removal) {
  if (!file.shown) return binary_or_large(rel, removal ? &file : nullptr, removal ? nullptr : &file, note);
  std::string section = "# " + note + "\n" + git_header(rel);
  section += (removal ? "deleted file mode " : "new file mode ") + git_mode(file.mode, file.symlink) + "\n";
  LineCount lines;
  if (!file.text.empty()) {
    section += removal ? "--- " + label("a/", rel) + "\n+++ /dev/null\n" : "--- /dev/null\n+++ " + label("b/", rel) + "\n";
    lines = removal ? text_hunks(file.text, "", options_.context_lines, section)
                    : text_hunks("", file.text, options_.context_lines, section);
  }
  return emit(std::move(section), rel, lines);
}

// Both lists are sorted by path, so one merge pairs each original with its cleaned file.
Status TreeDiffWriter::write(const std::vector<TreeFile>& cleaned) {
  FTI_TRY(preamble());
  const auto& was = original_.entries();
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < was.size() || j < cleaned.size()) {
    if (j == cleaned.size() || (i < was.size() && was[i].rel < cleaned[j].rel)) {
      if (!under_removed_folder(was[i].rel)) FTI_TRY(removed(was[i]));
      ++i;
    } else if (i == was.size() || cleaned[j].rel < was[i].rel) {
      FTI_TRY(created(cleaned[j++]));
    } else {
      FTI_TRY(compare(was[i++], cleaned[j++]));
    }
  }
  if (summary_.truncated) {
    FTI_TRY(put(fmt::format("# diff truncated at limits.max_diff_bytes ({} bytes): {} of {} changed file(s) "
                            "not shown; the cleaned archive has them all\n",
                            options_.max_bytes, summary_.files_not_shown, summary_.files)));
  }
  return ok_status();
}

}  // namespace

Result<OriginalTree> OriginalTree::take(const std::vector<TreeFile>& files, const fs::path& dir) {
  OriginalTree original;
  original.root_ = dir;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error(errc::io_error, "cannot create " + dir.string() + ": " + ec.message());
  original.entries_.reserve(files.size());
  fs::path made;  // the last folder created: files come sorted, so most share it
  for (const auto& f : files) {
    fs::path parent = (dir / f.rel).parent_path();
    if (parent != made) {
      fs::create_directories(parent, ec);
      if (ec) return Error(errc::io_error, "cannot create " + parent.string() + ": " + ec.message());
      made = parent;
    }
    Entry entry;
    FTI_TRY(keep_original(f, dir, entry));
    original.entries_.push_back(std::move(entry));
  }
  return original;
}

bool OriginalTree::has(const std::string& rel) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), rel,
                             [](const Entry& e, const std::string& r) { return e.rel < r; });
  return it != entries_.end() && it->rel == rel;
}

Status write_tree_diff(const OriginalTree& original, const std::vector<TreeFile>& cleaned, const Report& report,
                       const fs::path& out, const TreeDiffOptions& options, DiffSummary& summary) {
  summary = DiffSummary{};
  summary.made = true;
  fs::path dir = out.parent_path().empty() ? fs::path(".") : out.parent_path();
  std::string tmp = (dir / ("." + out.filename().string() + ".tmp-XXXXXX")).string();
  UniqueFd fd(::mkstemp(tmp.data()));
  if (!fd.valid()) return io_failure("write next to", out);
  ::fchmod(fd.get(), 0644);
  TreeDiffWriter writer(original, report, options, summary, fd.get());
  Status written = writer.write(cleaned);
  fd = UniqueFd();
  if (written.ok() && ::rename(tmp.c_str(), out.c_str()) != 0) written = io_failure("write", out);
  if (!written.ok()) ::unlink(tmp.c_str());
  return written;
}

}  // namespace fti::cleanup::detail
