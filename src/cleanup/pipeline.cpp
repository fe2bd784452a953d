#include "fti/cleanup/pipeline.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <set>

#include "fti/cleanup/pass.hpp"
#include "fti/core/clock.hpp"
#include "safe_tree.hpp"
#include "tree_diff.hpp"
#include "tree_files.hpp"

namespace fti::cleanup {
namespace {

namespace fs = std::filesystem;
using detail::Components;
using detail::TreeWriter;
using detail::UniqueFd;

// A fresh folder under the work dir, removed with everything in it when the run ends.
class Scratch {
 public:
  static Result<std::unique_ptr<Scratch>> create(const fs::path& work_dir) {
    fs::path base = work_dir.empty() ? fs::temp_directory_path() : work_dir;
    std::error_code ec;
    fs::create_directories(base, ec);
    std::string tmpl = (base / "fti-job-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      return Error(errc::io_error, "cannot create a work folder in " + base.string() + ": " +
                                       std::strerror(errno));
    }
    return std::unique_ptr<Scratch>(new Scratch(tmpl));
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  const fs::path& path() const { return path_; }

 private:
  explicit Scratch(fs::path p) : path_(std::move(p)) {}
  fs::path path_;
};

// Copies a folder into the workspace under the archive rules: no symlink leaves the tree,
// no special files, the same limits. What cannot be copied is listed as removed, not lost.
class FolderCopier {
 public:
  FolderCopier(TreeWriter writer, const ExtractLimits& limits, Report& report, fs::path skip)
      : writer_(std::move(writer)), limits_(limits), report_(report), skip_(std::move(skip)) {}

  Status copy_dir(const fs::path& dir, const Components& rel);

 private:
  Status copy_entry(const fs::path& full, const Components& rel);
  Status copy_regular(const fs::path& full, const Components& rel, mode_t mode);
  Status count_entry();

  TreeWriter writer_;
  const ExtractLimits& limits_;
  Report& report_;
  fs::path skip_;  // the workspace, in case it lies inside the input folder
  std::int64_t entries_ = 0;
  std::int64_t bytes_ = 0;
};

Status FolderCopier::count_entry() {
  if (++entries_ > limits_.max_files) {
    return Error(errc::archive_limits,
                 "the folder has more than " + std::to_string(limits_.max_files) + " entries");
  }
  return ok_status();
}

Status FolderCopier::copy_dir(const fs::path& dir, const Components& rel) {
  std::set<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    names.insert(it->path().filename().string());
  }
  if (ec) return Error(errc::io_error, "cannot list " + dir.string() + ": " + ec.message());
  for (const std::string& name : names) {
    Components child = rel;
    child.push_back(name);
    FTI_TRY(copy_entry(dir / name, child));
  }
  return ok_status();
}

Status FolderCopier::copy_entry(const fs::path& full, const Components& rel) {
  struct stat st {};
  if (::lstat(full.c_str(), &st) != 0) {
    return Error(errc::io_error, "cannot stat " + full.string() + ": " + std::strerror(errno));
  }
  FTI_TRY(count_entry());
  std::string rel_str = detail::join(rel);
  if (S_ISDIR(st.st_mode)) {
    std::error_code ec;
    if (fs::equivalent(full, skip_, ec)) return ok_status();
    FTI_TRY(writer_.make_dir(rel));
    return copy_dir(full, rel);
  }
  if (S_ISREG(st.st_mode)) return copy_regular(full, rel, st.st_mode);
  if (S_ISLNK(st.st_mode)) {
    std::error_code ec;
    std::string target = fs::read_symlink(full, ec).string();
    if (!ec && detail::link_target_inside(rel, target)) return writer_.make_symlink(rel, target);
    report_.removed.push_back({rel_str, "symlink points outside the project", 1});
    return ok_status();
  }
  report_.removed.push_back({rel_str, "special file (device, fifo or socket)", 1});
  return ok_status();
}

Status FolderCopier::copy_regular(const fs::path& full, const Components& rel, mode_t mode) {
  UniqueFd in(::open(full.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!in.valid()) {
    return Error(errc::io_error, "cannot read " + full.string() + ": " + std::strerror(errno));
  }
  FTI_ASSIGN_OR_RETURN(UniqueFd out, writer_.create_file(rel, (mode & 0777) | 0600));
  std::vector<char> buffer(64 * 1024);
  std::int64_t file_bytes = 0;
  for (;;) {
    ssize_t n = ::read(in.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error(errc::io_error, "cannot read " + full.string());
    if (n == 0) return ok_status();
    file_bytes += n;
    bytes_ += n;
    if (file_bytes > limits_.max_file_bytes) {
      return Error(errc::archive_limits, "a file is larger than " +
                                             std::to_string(limits_.max_file_bytes) +
                                             " bytes: " + detail::join(rel));
    }
    if (bytes_ > limits_.max_unpacked_bytes) {
      return Error(errc::archive_limits, "the folder holds more than " +
                                             std::to_string(limits_.max_unpacked_bytes) + " bytes");
    }
    FTI_TRY(detail::write_all(out.get(), buffer.data(), static_cast<std::size_t>(n)));
  }
}

// What extraction kept as it was, told to the user: an archive inside the upload is not
// cleaned inside; a name that is not UTF-8 may not open on every system; a duplicate entry
// means an earlier copy was dropped.
void report_extraction(const ExtractStats& stats, Report& report) {
  for (const auto& path : stats.nested_archive_paths) {
    report.findings.push_back(Finding{path, 0, "nested_archive", "archive-not-opened", "info",
                                      "an archive inside the upload: kept as it is, not unpacked or cleaned inside"});
  }
  if (stats.nested_archives > static_cast<std::int64_t>(stats.nested_archive_paths.size())) {
    report.notes.push_back(std::to_string(stats.nested_archives) +
                           " archives inside the upload were kept unopened; the first " +
                           std::to_string(stats.nested_archive_paths.size()) + " are listed as findings");
  }
  if (stats.non_utf8_names > 0) {
    std::string examples;
    for (const auto& name : stats.non_utf8_examples) examples += (examples.empty() ? "" : ", ") + name;
    report.notes.push_back(std::to_string(stats.non_utf8_names) +
                           " file name(s) are not valid UTF-8 and were kept byte for byte (shown here with "
                           "\\xNN for the odd bytes, elsewhere in this report as U+FFFD); rename them if "
                           "Windows or other tools must open them: " + examples);
  }
  if (stats.replaced_duplicates > 0) {
    report.notes.push_back(std::to_string(stats.replaced_duplicates) +
                           " archive entries named a file that an earlier entry had already written; the "
                           "last copy was kept, as tar does");
  }
}

Status load_input(const fs::path& input, const fs::path& tree, const PipelineOptions& options,
                  const fs::path& scratch, Report& report) {
  std::error_code ec;
  fs::file_status status = fs::status(input, ec);
  if (ec || !fs::exists(status)) {
    return Error(errc::not_found, "input not found: " + input.string());
  }
  if (fs::is_directory(status)) {
    FTI_ASSIGN_OR_RETURN(TreeWriter writer, TreeWriter::open(tree.string()));
    FolderCopier copier(std::move(writer), options.limits, report, scratch);
    return copier.copy_dir(input, {});
  }
  FTI_ASSIGN_OR_RETURN(ExtractStats stats, extract_archive(input, tree, options.limits));
  report_extraction(stats, report);
  return ok_status();
}

// Every input file must be in the output or covered by a removal; a file that vanished
// means a pass has a bug, and shipping the result would lose the user's work.
Status check_accounting(const std::vector<std::string>& inputs,
                        const std::vector<detail::TreeFile>& outputs, const Report& report) {
  std::set<std::string> out_set;
  for (const auto& f : outputs) out_set.insert(f.rel);
  std::set<std::string> removed;
  for (const auto& r : report.removed) removed.insert(r.path);
  std::set<std::string> created;  // files a pass added on purpose (a generated README.md)
  for (const auto& c : report.changed) {
    if (c.created) created.insert(c.path);
  }
  std::vector<std::string> vanished;
  std::set<std::string> in_set(inputs.begin(), inputs.end());
  for (const auto& path : inputs) {
    if (out_set.count(path) || removed.count(path)) continue;
    bool covered = false;
    for (std::size_t slash = path.find('/'); slash != std::string::npos && !covered;
         slash = path.find('/', slash + 1)) {
      covered = removed.count(path.substr(0, slash + 1)) > 0;
    }
    if (!covered) vanished.push_back(path);
  }
  for (const auto& path : out_set) {
    if (!in_set.count(path) && !created.count(path)) vanished.push_back("(new) " + path);
  }
  if (vanished.empty()) return ok_status();
  std::string list;
  for (std::size_t k = 0; k < vanished.size() && k < 5; ++k) list += (k ? ", " : "") + vanished[k];
  return Error(errc::internal, std::to_string(vanished.size()) +
                                   " file(s) not accounted for after cleanup (a bug): " + list);
}

std::int64_t total_bytes(const std::vector<detail::TreeFile>& files) {
  std::int64_t n = 0;
  for (const auto& f : files) n += f.symlink ? 0 : f.size;
  return n;
}

Status pack_atomically(const fs::path& tree, const fs::path& out_zip) {
  fs::path dir = out_zip.parent_path().empty() ? fs::path(".") : out_zip.parent_path();
  std::string tmp = (dir / ("." + out_zip.filename().string() + ".tmp-XXXXXX")).string();
  UniqueFd fd(::mkstemp(tmp.data()));
  if (!fd.valid()) {
    return Error(errc::io_error, "cannot write next to " + out_zip.string() + ": " + std::strerror(errno));
  }
  // mkstemp makes the file 0600; the result is the user's, so give it the usual mode.
  ::fchmod(fd.get(), 0644);
  fd = UniqueFd();
  Status packed = pack_zip(tree, tmp);
  if (packed.ok() && ::rename(tmp.c_str(), out_zip.c_str()) != 0) {
    packed = Error(errc::io_error, "cannot move the result to " + out_zip.string() + ": " +
                                       std::strerror(errno));
  }
  if (!packed.ok()) ::unlink(tmp.c_str());
  return packed;
}

// The share of the progress bar the running pass owns, for passes that report within it.
struct PassPercent {
  int from = 0;
  int to = 0;
};

LlmPassOptions llm_options_for(const PipelineOptions& options, const fs::path& scratch,
                               const PassPercent& pass_percent) {
  LlmPassOptions llm = options.llm;
  llm.scratch_dir = scratch / "verify";  // syntax checks run outside the tree
  llm.cancelled = options.cancelled;
  if (options.on_progress) {
    llm.on_progress = [&options, &pass_percent](std::int64_t done, std::int64_t total) {
      if (total <= 0) return;
      int span = pass_percent.to - pass_percent.from;
      options.on_progress(pass_percent.from + static_cast<int>(span * done / total), "llm");
    };
  }
  return llm;
}

class Run {
 public:
  explicit Run(const PipelineOptions& options) : options_(options) {}

  Status stage(int percent, const std::string& name) {
    if (options_.cancelled && options_.cancelled()) {
      return Error(errc::cancelled, "the job was cancelled during " + name);
    }
    if (options_.on_progress) options_.on_progress(percent, name);
    return ok_status();
  }

 private:
  const PipelineOptions& options_;
};

// The originals the diff is made against, kept only when a diff is asked for.
Result<std::optional<detail::OriginalTree>> keep_originals(const PipelineOptions& options,
                                                           const std::vector<detail::TreeFile>& in_files,
                                                           const Scratch& scratch, Report& report) {
  if (options.diff_path.empty()) return std::optional<detail::OriginalTree>();
  Stopwatch sw;
  FTI_ASSIGN_OR_RETURN(detail::OriginalTree original, detail::OriginalTree::take(in_files, scratch.path() / "original"));
  report.timings_ms["snapshot"] = sw.millis();
  return std::optional<detail::OriginalTree>(std::move(original));
}

Status write_diff(Run& run, const PipelineOptions& options, const detail::OriginalTree& original,
                  const std::vector<detail::TreeFile>& out_files, Report& report) {
  FTI_TRY(run.stage(88, "diff"));
  Stopwatch sw;
  detail::TreeDiffOptions diff_options;
  diff_options.max_bytes = options.max_diff_bytes;
  FTI_TRY(detail::write_tree_diff(original, out_files, report, options.diff_path, diff_options, report.diff));
  report.timings_ms["diff"] = sw.millis();
  if (report.diff.truncated) {
    report.notes.push_back("the diff was cut at limits.max_diff_bytes; " + std::to_string(report.diff.files_not_shown) +
                           " changed file(s) are not shown in it");
  }
  return ok_status();
}

}  // namespace

Result<PipelineOutput> run_pipeline(const fs::path& input, const fs::path& out_zip,
                                    const PipelineOptions& options) {
  Stopwatch total;
  FTI_TRY(find_style_profile(options.profile));  // an unknown profile fails before any work
  Run run(options);
  PipelineOutput out;
  Report& report = out.report;
  FTI_ASSIGN_OR_RETURN(std::unique_ptr<Scratch> scratch, Scratch::create(options.work_dir));
  fs::path tree = scratch->path() / "tree";
  fs::create_directory(tree);

  FTI_TRY(run.stage(0, "extract"));
  Stopwatch sw;
  FTI_TRY(load_input(input, tree, options, scratch->path(), report));
  report.timings_ms["extract"] = sw.millis();
  FTI_ASSIGN_OR_RETURN(std::vector<detail::TreeFile> in_files, detail::list_files(tree));
  std::vector<std::string> inputs;
  for (const auto& f : in_files) inputs.push_back(f.rel);
  for (const auto& r : report.removed) inputs.push_back(r.path);  // skipped while copying
  report.files_in = static_cast<std::int64_t>(inputs.size());
  report.bytes_in = total_bytes(in_files);
  FTI_TRY(run.stage(10, "extract"));
  FTI_ASSIGN_OR_RETURN(std::optional<detail::OriginalTree> original, keep_originals(options, in_files, *scratch, report));
  if (!options.profile.empty()) {
    report.notes.push_back("style profile '" + options.profile + "' requested");
  }

  PassContext ctx{tree, report, [](const std::string& rel) { return detail::in_git_dir(rel); }};
  PassPercent pass_percent;
  FormatPassOptions format = options.format;
  format.profile = options.profile;
  format.cancelled = options.cancelled;
  format.scratch_parent = scratch->path();
  std::vector<std::unique_ptr<Pass>> passes = default_passes(
      llm_options_for(options, scratch->path(), pass_percent), options.formatters ? &format : nullptr);
  for (std::size_t k = 0; k < passes.size(); ++k) {
    int percent = 10 + static_cast<int>(80 * k / passes.size());
    pass_percent = {percent, 10 + static_cast<int>(80 * (k + 1) / passes.size())};
    FTI_TRY(run.stage(percent, passes[k]->stage()));
    Stopwatch pass_sw;
    FTI_TRY(passes[k]->run(ctx));
    report.timings_ms[passes[k]->name()] = pass_sw.millis();
  }

  FTI_ASSIGN_OR_RETURN(std::vector<detail::TreeFile> out_files, detail::list_files(tree));
  FTI_TRY(check_accounting(inputs, out_files, report));
  report.files_out = static_cast<std::int64_t>(out_files.size());
  report.bytes_out = total_bytes(out_files);
  if (original) FTI_TRY(write_diff(run, options, *original, out_files, report));
  FTI_TRY(run.stage(90, "pack"));
  sw = Stopwatch();
  FTI_TRY(pack_atomically(tree, out_zip));
  report.timings_ms["pack"] = sw.millis();
  report.timings_ms["total"] = total.millis();
  if (options.on_progress) options.on_progress(100, "done");
  return out;
}

}  // namespace fti::cleanup
