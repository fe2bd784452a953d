// The junk pass: removes what no one should ship (dependency folders, caches, editor and OS
// droppings, compiled objects), recording each removal with a reason.
#include <sys/stat.h>

#include <algorithm>
#include <set>
#include <string>

#include "fti/cleanup/pass.hpp"
#include "tree_files.hpp"

namespace fti::cleanup {
namespace {

namespace fs = std::filesystem;

std::string lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Why a folder is junk, or empty when it is not. `siblings` are the names next to it.
std::string junk_dir_reason(const std::string& name, const fs::path& full,
                            const std::set<std::string>& siblings) {
  if (name == "node_modules" || name == "bower_components") {
    return "installed dependencies (restore them with the package manager)";
  }
  if (name == "__pycache__") return "Python bytecode cache";
  std::error_code ec;
  if (fs::is_regular_file(full / "pyvenv.cfg", ec)) return "Python virtual environment";
  if (name == ".tox" || name == ".mypy_cache" || name == ".pytest_cache" || name == ".ruff_cache") {
    return "Python tool cache";
  }
  if (name == ".idea") return "IDE settings";
  if (name == ".gradle") return "Gradle cache";
  if (name == ".next" || name == ".nuxt") return "framework build output";
  if (name == ".parcel-cache" || name == ".sass-cache") return "build cache";
  if (name == "__MACOSX") return "macOS archive metadata";
  // target/ is only build output when a Cargo or Maven project sits next to it.
  if (name == "target" && (siblings.count("Cargo.toml") || siblings.count("pom.xml"))) {
    return "build output (Cargo or Maven target folder)";
  }
  return {};
}

std::string junk_file_reason(const std::string& name) {
  std::string low = lower(name);
  if (name == ".DS_Store") return "macOS folder metadata";
  if (low == "thumbs.db" || low == "desktop.ini") return "Windows folder metadata";
  if (starts_with(name, "._") && name.size() > 2) return "macOS resource fork (AppleDouble)";
  if (ends_with(low, ".pyc") || ends_with(low, ".pyo")) return "Python bytecode";
  if (ends_with(low, ".o") || ends_with(low, ".obj")) return "compiled object file";
  if (ends_with(low, ".class")) return "compiled Java class";
  if (ends_with(low, ".swp") || ends_with(low, ".swo")) return "editor swap file";
  if (ends_with(name, "~") || starts_with(name, ".#")) return "editor backup or lock file";
  if (starts_with(name, "npm-debug.log") || name == "yarn-error.log") return "package manager log";
  return {};
}

std::int64_t count_files_under(const fs::path& dir) {
  std::int64_t n = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_directory(ec) || it->is_symlink(ec)) ++n;
  }
  return n;
}

class JunkPass final : public Pass {
 public:
  std::string name() const override { return "junk"; }
  std::string stage() const override { return "junk"; }
  Status run(PassContext& ctx) override { return walk(ctx, ctx.root, ""); }

 private:
  Status walk(PassContext& ctx, const fs::path& dir, const std::string& dir_rel);
  Status visit(PassContext& ctx, const fs::path& full, const std::string& rel,
               const std::set<std::string>& siblings);
};

Status JunkPass::walk(PassContext& ctx, const fs::path& dir, const std::string& dir_rel) {
  std::set<std::string> names;  // sorted: the report lists removals in path order
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    names.insert(it->path().filename().string());
  }
  if (ec) return Error(errc::io_error, "cannot list " + dir.string() + ": " + ec.message());
  for (const std::string& name : names) {
    std::string rel = dir_rel.empty() ? name : dir_rel + "/" + name;
    if (detail::is_protected(ctx, rel)) continue;
    FTI_TRY(visit(ctx, dir / name, rel, names));
  }
  return ok_status();
}

Status JunkPass::visit(PassContext& ctx, const fs::path& full, const std::string& rel,
                       const std::set<std::string>& siblings) {
  struct stat st {};
  if (::lstat(full.c_str(), &st) != 0) return Error(errc::io_error, "cannot stat " + full.string());
  std::string name = full.filename().string();
  std::error_code ec;
  if (S_ISDIR(st.st_mode)) {
    std::string reason = junk_dir_reason(name, full, siblings);
    if (reason.empty()) return walk(ctx, full, rel);
    std::int64_t files = count_files_under(full);
    fs::remove_all(full, ec);
    if (ec) return Error(errc::io_error, "cannot remove " + rel + ": " + ec.message());
    ctx.report.removed.push_back(RemovedEntry{rel + "/", reason, files});
    return ok_status();
  }
  std::string reason = junk_file_reason(name);
  if (reason.empty()) return ok_status();
  fs::remove(full, ec);
  if (ec) return Error(errc::io_error, "cannot remove " + rel + ": " + ec.message());
  ctx.report.removed.push_back(RemovedEntry{rel, reason, 1});
  return ok_status();
}

}  // namespace

std::unique_ptr<Pass> make_junk_pass() { return std::make_unique<JunkPass>(); }

}  // namespace fti::cleanup
