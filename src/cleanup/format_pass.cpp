// The format pass: groups the files by formatter and by the options that apply to them (the
// project's own config or the style profile), runs each group in batches, and restores any
// file of a batch that failed before narrowing the batch down to the file at fault.
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "fti/cleanup/formatters.hpp"
#include "fti/core/process.hpp"
#include "languages.hpp"
#include "line_diff.hpp"
#include "tree_files.hpp"

namespace fti::cleanup {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kMaxFormatBytes = 1LL << 20;  // bigger sources are generated, not written
constexpr std::size_t kBatchFiles = 200;
constexpr std::int64_t kBatchBytes = 8LL << 20;       // the originals of one batch are held in memory
constexpr int kMaxTimeoutsPerTool = 2;                // then the tool's other files are left alone
constexpr std::size_t kExamples = 3;
constexpr std::size_t kHeadBytes = 8192;

// Prints the index of every (before, after) pair of Python files whose syntax trees differ or
// that no longer parse. ast.parse runs nothing; -I keeps the folders off sys.path.
constexpr const char* kSameSyntaxTree =
    "import ast,sys\n"
    "a=sys.argv[1:]\n"
    "for i in range(0,len(a),2):\n"
    "  try: same=ast.dump(ast.parse(open(a[i],'rb').read()))==ast.dump(ast.parse(open(a[i+1],'rb').read()))\n"
    "  except Exception: same=False\n"
    "  if not same: print(i//2)\n";

// The interpreter a Python tool runs on (its #! line), so the trees are compared by the same
// Python that black parsed with; python3 on PATH when the line names none.
std::string interpreter_of(const std::string& program) {
  std::ifstream in(program);
  std::string line;
  std::getline(in, line);
  if (line.rfind("#!/", 0) != 0 || line.find("python") == std::string::npos) return "python3";
  std::string interpreter = line.substr(2, line.find_first_of(" \t\r", 2) - 2);
  return interpreter.find("/env") == std::string::npos ? interpreter : "python3";
}

// The options a group of files is formatted with, and where the formatter runs.
struct Invocation {
  Invocation(std::vector<std::string> a, bool stdin = false, std::string dir = {})  // NOLINT: {{...}} reads well
      : args(std::move(a)), stdin_mode(stdin), cwd(std::move(dir)) {}
  std::vector<std::string> args;
  bool stdin_mode = false;  // one file per run, text in on stdin and out on stdout (rustfmt)
  std::string cwd;          // empty: the tree's root
  bool operator<(const Invocation& o) const {
    return std::tie(args, stdin_mode, cwd) < std::tie(o.args, o.stdin_mode, o.cwd);
  }
};

struct Original {
  const detail::TreeFile* file;
  std::string bytes;
};

std::string examples(const std::vector<std::string>& paths) {
  std::string out;
  for (std::size_t k = 0; k < paths.size() && k < kExamples; ++k) out += (k ? ", " : "") + paths[k];
  if (paths.size() > kExamples) out += ", ...";
  return out;
}

// The first line of what a formatter said, with the workspace path cut out.
std::string first_words(const std::string& said, const std::string& root) {
  std::string text = said;
  for (std::size_t pos; (pos = text.find(root + "/")) != std::string::npos;) text.erase(pos, root.size() + 1);
  std::size_t start = text.find_first_not_of(" \t\r\n");
  if (start == std::string::npos) return "no message";
  std::string line = text.substr(start, text.find('\n', start) - start);
  for (char& c : line) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return line.size() > 200 ? line.substr(0, 200) + "..." : line;
}

bool is_binary(std::string_view head) { return head.find('\0') != std::string_view::npos; }

// Finds the project's own formatter config: the nearest folder, from a file's own up to the
// tree's root, holding one of `names` that `accept` takes. Never leaves the tree, never
// follows a link. Answers are remembered per folder.
class ConfigFinder {
 public:
  using Accept = std::function<bool(const fs::path& file)>;
  ConfigFinder(fs::path root, std::vector<std::string> names, Accept accept = {})
      : root_(std::move(root)), names_(std::move(names)), accept_(std::move(accept)) {}

  // The config file (relative to the root) for the file at `rel`, or "".
  std::string for_file(const std::string& rel) {
    std::size_t slash = rel.rfind('/');
    return for_dir(slash == std::string::npos ? "" : rel.substr(0, slash));
  }

 private:
  std::string for_dir(const std::string& dir) {
    auto it = cache_.find(dir);
    if (it != cache_.end()) return it->second;
    std::string found;
    for (const auto& name : names_) {
      std::string rel = dir.empty() ? name : dir + "/" + name;
      std::error_code ec;
      if (fs::is_regular_file(fs::symlink_status(root_ / rel, ec)) && (!accept_ || accept_(root_ / rel))) {
        found = rel;
        break;
      }
    }
    if (found.empty() && !dir.empty()) {
      std::size_t slash = dir.rfind('/');
      found = for_dir(slash == std::string::npos ? "" : dir.substr(0, slash));
    }
    cache_[dir] = found;
    return found;
  }

  fs::path root_;
  std::vector<std::string> names_;
  Accept accept_;
  std::map<std::string, std::string> cache_;
};

bool file_mentions(const fs::path& file, std::string_view word) {
  auto text = detail::read_file(file);
  return text && text->size() < kMaxFormatBytes && text->find(word) != std::string::npos;
}

// Any prettier config prettier itself would stop at: a package.json counts only with a
// "prettier" key.
bool is_prettier_config(const fs::path& file) {
  return file.filename() != "package.json" || file_mentions(file, "\"prettier\"");
}

// Prettier configs that are code (.js, .ts) or load code (plugins, a shared config named by
// a string) would run the upload's JavaScript inside the job: they are never used.
bool prettier_config_is_safe(const fs::path& file) {
  std::string name = file.filename().string();
  for (std::string_view code : {".js", ".cjs", ".mjs", ".ts", ".cts", ".mts"}) {
    if (name.ends_with(code)) return false;
  }
  auto text = detail::read_file(file);
  if (!text || text->size() > kMaxFormatBytes || text->find("plugins") != std::string::npos) return false;
  if (file.filename() == "package.json") {
    std::size_t key = text->find("\"prettier\"");
    std::size_t value = text->find_first_not_of(" \t\r\n:", key + 10);
    return value != std::string::npos && (*text)[value] == '{';
  }
  return text->find(':') != std::string::npos || text->find('=') != std::string::npos;  // a table, not a name
}

class FormatPass final : public Pass {
 public:
  explicit FormatPass(FormatPassOptions options) : options_(std::move(options)) {
    if (!options_.registry) {
      options_.registry = std::make_shared<FormatterRegistry>(options_.tools_dir, options_.timeout);
    }
  }
  std::string name() const override { return "format"; }
  std::string stage() const override { return "format"; }

  Status run(PassContext& ctx) override {
    FTI_ASSIGN_OR_RETURN(profile_, find_style_profile(options_.profile));
    FTI_ASSIGN_OR_RETURN(std::vector<detail::TreeFile> files, detail::pass_files(ctx));
    root_ = ctx.root.string();
    FTI_TRY(make_scratch());
    std::map<std::string, std::vector<const detail::TreeFile*>> by_tool;
    for (const auto& f : files) {
      if (f.symlink) continue;
      std::string tool = tool_for(f);
      if (!tool.empty()) by_tool[tool].push_back(&f);
    }
    // Two tools at a time: most are single-threaded (prettier, clang-format), and a job
    // shares the machine with others. Each file belongs to one tool, so the threads never
    // touch the same file; shared state (the report, the tallies) is under mutex_.
    std::vector<std::string> tools;
    for (const auto& tool : formatter_names()) {
      if (by_tool.count(tool)) tools.push_back(tool);
    }
    std::atomic<std::size_t> next{0};
    Status status = ok_status();
    auto worker = [&] {
      for (std::size_t k; (k = next.fetch_add(1)) < tools.size();) {
        Status st = format_with(ctx, tools[k], by_tool.at(tools[k]));
        std::lock_guard lock(mutex_);
        if (!st.ok() && status.ok()) status = st;
      }
    };
    std::thread helper(worker);
    worker();
    helper.join();
    write_notes(ctx.report);
    remove_scratch();
    return status;
  }

 private:
  // The tool for a file, or "" (with the reason noted) when it is skipped.
  std::string tool_for(const detail::TreeFile& f) {
    auto head = read_head(f.full);
    std::string tool = formatter_for(f.rel, head);
    if (tool.empty()) return "";
    if (is_binary(head)) {
      skipped_["binary"].push_back(f.rel);
      return "";
    }
    if (f.size > kMaxFormatBytes) {
      skipped_["larger than 1 MiB"].push_back(f.rel);
      return "";
    }
    return tool;
  }

  static std::string read_head(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::string head(kHeadBytes, '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<std::size_t>(std::max<std::streamsize>(in.gcount(), 0)));
    return head;
  }

  Status make_scratch() {
    const fs::path parent = options_.scratch_parent.empty() ? fs::temp_directory_path() : options_.scratch_parent;
    std::string tmpl = (parent / "fti-format-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) return Error(errc::io_error, "cannot create a folder for the formatters");
    scratch_ = tmpl;
    std::error_code ec;
    fs::create_directories(scratch_ / "config", ec);
    fs::create_directories(scratch_ / "cache", ec);
    return detail::write_file_atomic(scratch_ / "black.toml", "", 0600);
  }

  void remove_scratch() {
    std::error_code ec;
    if (!scratch_.empty()) fs::remove_all(scratch_, ec);
  }

  // User-level configs and caches (~/.config/black, rustfmt's) stay out of the job: the
  // formatters see only this pass's empty folders.
  std::vector<std::string> environment() const {
    return {"XDG_CONFIG_HOME=" + (scratch_ / "config").string(), "XDG_CACHE_HOME=" + (scratch_ / "cache").string(),
            "BLACK_CACHE_DIR=" + (scratch_ / "cache" / "black").string()};
  }

  Status format_with(PassContext& ctx, const std::string& tool_name, const std::vector<const detail::TreeFile*>& files) {
    auto tool = options_.registry->find(tool_name);
    if (!tool) {
      std::set<std::string> languages;
      std::vector<std::string> paths;
      for (const auto* f : files) {
        paths.push_back(f->rel);
        if (std::string language = detail::language_of(f->rel); !language.empty()) languages.insert(language);
      }
      std::lock_guard lock(mutex_);
      missing_.push_back(fmt::format("format: {} file(s) ({}) left unformatted because {} is {}: {}", files.size(),
                                     fmt::join(languages, ", "), tool_name, tool.error().message, examples(paths)));
      return ok_status();
    }
    {
      std::lock_guard lock(mutex_);
      ctx.report.tools[tool->name] = tool->version;
    }
    std::map<Invocation, std::vector<const detail::TreeFile*>> groups;
    for (const auto* f : files) groups[invocation_for(tool_name, *f)].push_back(f);
    for (const auto& [invocation, members] : groups) {
      for (std::size_t start = 0; start < members.size();) {
        std::vector<const detail::TreeFile*> batch;
        std::int64_t bytes = 0;
        while (start < members.size() && batch.size() < kBatchFiles &&
               (batch.empty() || bytes + members[start]->size <= kBatchBytes)) {
          bytes += members[start]->size;
          batch.push_back(members[start++]);
        }
        FTI_TRY(run_batch(ctx, *tool, invocation, batch));
      }
    }
    return ok_status();
  }

  Invocation invocation_for(const std::string& tool, const detail::TreeFile& f) {
    if (tool == "clang-format") return clang_format_invocation(f);
    if (tool == "black") return black_invocation(f);
    if (tool == "gofmt") return {{"-w"}};
    if (tool == "rustfmt") return rustfmt_invocation(f);
    if (tool == "shfmt") return shfmt_invocation(f);
    return prettier_invocation(f);
  }

  // SortIncludes stays off unless the project's own config turns it on: reordering includes
  // can change what a C file means.
  Invocation clang_format_invocation(const detail::TreeFile& f) {
    static const std::vector<std::string> kNames{".clang-format", "_clang-format"};
    if (!clang_configs_) clang_configs_.emplace(root_, kNames);
    std::string config = clang_configs_->for_file(f.rel);
    if (!config.empty()) {
      Invocation inv{{"-i", "--style=file"}};
      if (!file_mentions(fs::path(root_) / config, "SortIncludes")) inv.args.push_back("--sort-includes=false");
      return inv;
    }
    const LanguageStyle& s = profile_.c;
    return {{"-i", fmt::format("--style={{BasedOnStyle: {}, IndentWidth: {}, ColumnLimit: {}, UseTab: {}, "
                               "SortIncludes: Never, SortUsingDeclarations: false}}",
                               profile_.clang_based_on, s.indent, s.line_length, s.tabs ? "ForIndentation" : "Never")}};
  }

  // black finds its project root from all the files it is given, so each group names its
  // pyproject.toml outright; without one, an empty config keeps anything above the tree out.
  Invocation black_invocation(const detail::TreeFile& f) {
    if (!black_configs_) {
      black_configs_.emplace(root_, std::vector<std::string>{"pyproject.toml"},
                             [](const fs::path& p) { return file_mentions(p, "[tool.black]"); });
    }
    std::string config = black_configs_->for_file(f.rel);
    if (!config.empty()) return {{"-q", "--config", (fs::path(root_) / config).string()}};
    Invocation inv{{"-q", "--config", (scratch_ / "black.toml").string(), "--line-length",
                    std::to_string(profile_.python.line_length)}};
    // black only writes double quotes; a single-quote profile keeps strings as written.
    if (profile_.python.single_quotes) inv.args.push_back("--skip-string-normalization");
    return inv;
  }

  // rustfmt follows `mod x;` (and #[path]) to other files and rewrites them too, so it only
  // ever gets one file on stdin; it looks for rustfmt.toml from its working folder.
  Invocation rustfmt_invocation(const detail::TreeFile& f) {
    if (!rust_configs_) rust_configs_.emplace(root_, std::vector<std::string>{"rustfmt.toml", ".rustfmt.toml"});
    std::string config = rust_configs_->for_file(f.rel);
    Invocation inv{{"--emit", "stdout"}, true, f.full.parent_path().string()};
    if (config.empty() || !file_mentions(fs::path(root_) / config, "edition")) {
      inv.args.insert(inv.args.end(), {"--edition", "2021"});
    }
    if (config.empty()) {
      const LanguageStyle& s = profile_.rust;
      inv.args.push_back("--config");
      inv.args.push_back(fmt::format("max_width={},tab_spaces={},hard_tabs={}", s.line_length, s.indent, s.tabs));
    }
    return inv;
  }

  // shfmt reads .editorconfig only when given no style flags.
  Invocation shfmt_invocation(const detail::TreeFile& f) {
    if (!editorconfigs_) editorconfigs_.emplace(root_, std::vector<std::string>{".editorconfig"});
    if (!editorconfigs_->for_file(f.rel).empty()) return {{"-w"}};
    return {{"-w", "-i", std::to_string(profile_.shell.tabs ? 0 : profile_.shell.indent)}};
  }

  Invocation prettier_invocation(const detail::TreeFile& f) {
    static const std::vector<std::string> kNames{
        "package.json",         ".prettierrc",         ".prettierrc.json",    ".prettierrc.yaml",  ".prettierrc.yml",
        ".prettierrc.json5",    ".prettierrc.toml",    ".prettierrc.js",      ".prettierrc.cjs",   ".prettierrc.mjs",
        ".prettierrc.ts",       ".prettierrc.cts",     ".prettierrc.mts",     "prettier.config.js", "prettier.config.cjs",
        "prettier.config.mjs", "prettier.config.ts", "prettier.config.cts", "prettier.config.mts"};
    if (!prettier_configs_) prettier_configs_.emplace(root_, kNames, is_prettier_config);
    std::string config = prettier_configs_->for_file(f.rel);
    Invocation inv{{"--write", "--log-level", "warn", "--no-error-on-unmatched-pattern"}};
    if (!config.empty() && prettier_config_is_safe(fs::path(root_) / config)) return inv;
    if (!config.empty()) refused_configs_.insert(config);
    const LanguageStyle& s = profile_.web;
    inv.args.insert(inv.args.end(), {"--no-config", "--no-editorconfig", "--tab-width", std::to_string(s.indent),
                                     "--print-width", std::to_string(s.line_length)});
    if (s.single_quotes) inv.args.push_back("--single-quote");
    if (s.tabs) inv.args.push_back("--use-tabs");
    return inv;
  }

  // Runs one batch. On failure every file is put back as it was and the batch is halved until
  // the files at fault stand alone; those are reported.
  Status run_batch(PassContext& ctx, const FormatterTool& tool, const Invocation& inv,
                   const std::vector<const detail::TreeFile*>& batch) {
    if (batch.empty()) return ok_status();
    if (given_up(tool.name)) {
      std::lock_guard lock(mutex_);
      for (const auto* f : batch) gave_up_[tool.name].push_back(f->rel);
      return ok_status();
    }
    std::vector<Original> originals;
    for (const auto* f : batch) {
      FTI_ASSIGN_OR_RETURN(std::string bytes, detail::read_file(f->full));
      originals.push_back({f, std::move(bytes)});
    }
    auto outcome = inv.stdin_mode ? run_stdin(tool, inv, originals[0]) : run_in_place(tool, inv, originals);
    if (!outcome) {  // cancelled: put the batch back and stop
      (void)restore(originals);
      return outcome.error();
    }
    const std::string& failure = *outcome;
    if (failure.empty()) {
      if (tool.name == "black") FTI_TRY(keep_python_meaning(tool, originals));
      return record_changes(ctx, originals);
    }
    FTI_TRY(restore(originals));
    if (batch.size() == 1) {
      std::lock_guard lock(mutex_);
      failed_[tool.name].push_back(batch[0]->rel);
      ctx.report.findings.push_back(Finding{batch[0]->rel, 0, "format", tool.name, "low",
                                            tool.name + " could not format this file, which is left as it was: " +
                                                failure});
      return ok_status();
    }
    std::size_t half = batch.size() / 2;
    FTI_TRY(run_batch(ctx, tool, inv, {batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(half)}));
    return run_batch(ctx, tool, inv, {batch.begin() + static_cast<std::ptrdiff_t>(half), batch.end()});
  }

  bool given_up(const std::string& tool) {
    std::lock_guard lock(mutex_);
    return timeouts_[tool] >= kMaxTimeoutsPerTool;
  }

  ProcessSpec spec_for(const FormatterTool& tool, const Invocation& inv) const {
    ProcessSpec spec;
    spec.argv = tool.command;
    spec.argv.insert(spec.argv.end(), inv.args.begin(), inv.args.end());
    spec.working_dir = inv.cwd.empty() ? root_ : inv.cwd;
    spec.inherit_environment = false;
    spec.extra_env = environment();
    spec.timeout = options_.timeout;
    spec.max_output_bytes = 2 * kMaxFormatBytes + 4096;
    spec.should_stop = options_.cancelled;
    return spec;
  }

  // "" when the run succeeded, else why not; an error only when the job must stop.
  Result<std::string> judge(const FormatterTool& tool, const ProcessResult& r) {
    if (r.stopped) return Error(errc::cancelled, "the job was cancelled while " + tool.name + " ran");
    if (r.timed_out) {
      std::lock_guard lock(mutex_);
      ++timeouts_[tool.name];
      return fmt::format("{} did not finish within format.timeout_seconds ({} s)", tool.name,
                         options_.timeout.count() / 1000);
    }
    if (r.signaled) return fmt::format("{} was stopped by signal {}", tool.name, r.term_signal);
    if (r.exit_code != 0) return first_words(r.stderr_data.empty() ? r.stdout_data : r.stderr_data, root_);
    return std::string();
  }

  Result<std::string> run_in_place(const FormatterTool& tool, const Invocation& inv, const std::vector<Original>& files) {
    for (const auto& o : files) FTI_TRY(detach_from_snapshot(o));
    ProcessSpec spec = spec_for(tool, inv);
    for (const auto& o : files) spec.argv.push_back(o.file->full.string());  // absolute: never read as an option
    auto r = run_process(spec);
    if (!r) return r.error().message;
    return judge(tool, *r);
  }

  Result<std::string> run_stdin(const FormatterTool& tool, const Invocation& inv, const Original& file) {
    ProcessSpec spec = spec_for(tool, inv);
    spec.stdin_data = file.bytes;
    auto r = run_process(spec);
    if (!r) return r.error().message;
    FTI_ASSIGN_OR_RETURN(std::string failure, judge(tool, *r));
    if (!failure.empty()) return failure;
    if (r->stdout_data.empty() && !file.bytes.empty()) return std::string("no output");
    if (r->stdout_data != file.bytes) FTI_TRY(detail::write_file_atomic(file.file->full, r->stdout_data, file.file->mode));
    return std::string();
  }

  // The pipeline keeps the input as hard links for the diff (tree_diff.hpp), and formatters
  // given files rewrite them in place: a file still sharing its inode with the kept original
  // gets an inode of its own first, or the original would be overwritten too.
  static Status detach_from_snapshot(const Original& o) {
    struct stat st {};
    if (::lstat(o.file->full.c_str(), &st) != 0 || st.st_nlink <= 1) return ok_status();
    return detail::write_file_atomic(o.file->full, o.bytes, o.file->mode);
  }

  // black re-indents docstrings and strips white space inside them, which changes what a
  // program reads from __doc__; its own safety check ignores docstrings, ours must not. Each
  // file black changed is parsed before and after; where the trees differ it is put back.
  Status keep_python_meaning(const FormatterTool& tool, const std::vector<Original>& originals) {
    std::vector<const Original*> changed;
    ProcessSpec spec;
    spec.argv = {interpreter_of(tool.command.front()), "-I", "-B", "-c", kSameSyntaxTree};
    for (const auto& o : originals) {
      FTI_ASSIGN_OR_RETURN(std::string now, detail::read_file(o.file->full));
      if (now == o.bytes) continue;
      fs::path before = scratch_ / fmt::format("before-{}.py", changed.size());
      FTI_TRY(detail::write_file_atomic(before, o.bytes, 0600));
      spec.argv.push_back(before.string());
      spec.argv.push_back(o.file->full.string());
      changed.push_back(&o);
    }
    if (changed.empty()) return ok_status();
    spec.working_dir = scratch_;
    spec.inherit_environment = false;
    spec.timeout = options_.timeout;
    spec.max_output_bytes = 16 * changed.size() + 4096;
    spec.should_stop = options_.cancelled;
    auto r = run_process(spec);
    std::vector<const Original*> undo;
    if (!r || r->timed_out || r->signaled || r->exit_code != 0) {
      undo = changed;  // not proven safe: not kept
    } else {
      std::istringstream lines(r->stdout_data);
      for (std::size_t k; lines >> k;) {
        if (k < changed.size()) undo.push_back(changed[k]);
      }
    }
    for (const Original* o : undo) {
      FTI_TRY(detail::write_file_atomic(o->file->full, o->bytes, o->file->mode));
      std::lock_guard lock(mutex_);
      skipped_["black would change white space inside a docstring or string, which the program can read"]
          .push_back(o->file->rel);
    }
    return ok_status();
  }

  Status restore(const std::vector<Original>& originals) {
    for (const auto& o : originals) {
      auto now = detail::read_file(o.file->full);
      if (now && *now == o.bytes) continue;
      FTI_TRY(detail::write_file_atomic(o.file->full, o.bytes, o.file->mode));
    }
    return ok_status();
  }

  Status record_changes(PassContext& ctx, const std::vector<Original>& originals) {
    for (const auto& o : originals) {
      FTI_ASSIGN_OR_RETURN(std::string after, detail::read_file(o.file->full));
      if (after == o.bytes) continue;
      detail::LineChanges d = detail::count_line_changes(o.bytes, after);
      std::lock_guard lock(mutex_);
      ctx.report.record_change(o.file->rel, name(), d.added, d.removed);
    }
    return ok_status();
  }

  void write_notes(Report& report) const {
    for (const auto& note : missing_) report.notes.push_back(note);
    for (const auto& [reason, paths] : skipped_) {
      report.notes.push_back(fmt::format("format: {} file(s) not formatted ({}): {}", paths.size(), reason,
                                         examples(paths)));
    }
    for (const auto& [tool, paths] : failed_) {
      report.notes.push_back(fmt::format("format: {} could not format {} file(s), left as they were (see findings): {}",
                                         tool, paths.size(), examples(paths)));
    }
    for (const auto& [tool, paths] : gave_up_) {
      report.notes.push_back(fmt::format("format: {} timed out {} times; {} more file(s) left unformatted: {}", tool,
                                         kMaxTimeoutsPerTool, paths.size(), examples(paths)));
    }
    for (const auto& config : refused_configs_) {
      report.notes.push_back("format: prettier config " + config +
                             " runs code (a script config or plugins) and was not used; the style profile applied");
    }
  }

  FormatPassOptions options_;
  StyleProfile profile_;
  std::string root_;
  fs::path scratch_;
  std::optional<ConfigFinder> clang_configs_, black_configs_, rust_configs_, editorconfigs_, prettier_configs_;
  std::map<std::string, std::vector<std::string>> skipped_, failed_, gave_up_;
  std::vector<std::string> missing_;
  std::set<std::string> refused_configs_;
  std::map<std::string, int> timeouts_;
  std::mutex mutex_;  // guards the report and the tallies above while tools run in parallel
};

}  // namespace

std::unique_ptr<Pass> make_format_pass(FormatPassOptions options) {
  return std::make_unique<FormatPass>(std::move(options));
}

}  // namespace fti::cleanup
