// The inventory pass: languages by file type, files too large for a source tree, and the
// TODO/FIXME lines that say what is unfinished.
#include <map>
#include <string>
#include <vector>

#include "fti/cleanup/normalize.hpp"
#include "fti/cleanup/pass.hpp"
#include "finding_cap.hpp"
#include "languages.hpp"
#include "line_counts.hpp"
#include "secret_scan.hpp"
#include "tree_files.hpp"

namespace fti::cleanup {
namespace {

constexpr std::int64_t kLargeFile = 10LL << 20;
constexpr std::size_t kMaxTodoFindings = 500;  // more would drown the report
constexpr std::size_t kTodoExcerpt = 120;

const std::map<std::string, std::string, std::less<>>& languages_by_extension() {
  static const std::map<std::string, std::string, std::less<>> table = {
      {"c", "C"}, {"h", "C"}, {"cc", "C++"}, {"cpp", "C++"}, {"cxx", "C++"}, {"hpp", "C++"},
      {"hh", "C++"}, {"hxx", "C++"}, {"cs", "C#"}, {"java", "Java"}, {"kt", "Kotlin"},
      {"kts", "Kotlin"}, {"scala", "Scala"}, {"groovy", "Groovy"}, {"swift", "Swift"},
      {"dart", "Dart"}, {"go", "Go"}, {"rs", "Rust"}, {"py", "Python"}, {"pyi", "Python"},
      {"rb", "Ruby"}, {"php", "PHP"}, {"pl", "Perl"}, {"pm", "Perl"}, {"lua", "Lua"},
      {"r", "R"}, {"jl", "Julia"}, {"ex", "Elixir"}, {"exs", "Elixir"}, {"erl", "Erlang"},
      {"hs", "Haskell"}, {"clj", "Clojure"}, {"js", "JavaScript"}, {"mjs", "JavaScript"},
      {"cjs", "JavaScript"}, {"jsx", "JavaScript"}, {"ts", "TypeScript"}, {"tsx", "TypeScript"},
      {"vue", "Vue"}, {"svelte", "Svelte"}, {"html", "HTML"}, {"htm", "HTML"}, {"css", "CSS"},
      {"scss", "SCSS"}, {"sass", "Sass"}, {"less", "Less"}, {"sh", "Shell"}, {"bash", "Shell"},
      {"zsh", "Shell"}, {"ps1", "PowerShell"}, {"bat", "Batch"}, {"cmd", "Batch"},
      {"sql", "SQL"}, {"json", "JSON"}, {"yml", "YAML"}, {"yaml", "YAML"}, {"toml", "TOML"},
      {"xml", "XML"}, {"md", "Markdown"}, {"markdown", "Markdown"}, {"rst", "reStructuredText"},
      {"tex", "TeX"}, {"proto", "Protocol Buffers"}, {"tf", "Terraform"}, {"m", "Objective-C"},
      {"mm", "Objective-C++"}, {"cmake", "CMake"}, {"txt", "Text"}};
  return table;
}

}  // namespace

std::string detail::language_of(const std::string& rel) {
  std::string name = rel.substr(rel.find_last_of('/') + 1);
  if (name == "Makefile" || name == "GNUmakefile" || name == "makefile") return "Makefile";
  if (name == "Dockerfile") return "Dockerfile";
  if (name == "CMakeLists.txt") return "CMake";
  std::size_t dot = name.find_last_of('.');
  if (dot == std::string::npos || dot == 0) return {};
  std::string ext = name.substr(dot + 1);
  for (char& c : ext) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  const auto& table = languages_by_extension();
  auto it = table.find(ext);
  return it == table.end() ? std::string() : it->second;
}

namespace {

bool word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// "TODO" or "FIXME" as a whole word; returns the marker found or empty.
std::string_view todo_marker(std::string_view line) {
  for (std::string_view marker : {"TODO", "FIXME"}) {
    for (std::size_t pos = line.find(marker); pos != std::string_view::npos;
         pos = line.find(marker, pos + 1)) {
      bool before = pos == 0 || !word_char(line[pos - 1]);
      std::size_t after = pos + marker.size();
      if (before && (after == line.size() || !word_char(line[after]))) return marker;
    }
  }
  return {};
}

std::string excerpt(std::string_view line) {
  std::size_t b = line.find_first_not_of(" \t");
  std::size_t e = line.find_last_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  line = line.substr(b, e - b + 1);
  if (line.size() <= kTodoExcerpt) return std::string(line);
  // Cut on a UTF-8 character boundary.
  std::size_t cut = kTodoExcerpt;
  while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
  return std::string(line.substr(0, cut)) + "...";
}

class InventoryPass final : public Pass {
 public:
  std::string name() const override { return "inventory"; }
  std::string stage() const override { return "inventory"; }

  Status run(PassContext& ctx) override {
    FTI_ASSIGN_OR_RETURN(std::vector<detail::TreeFile> files, detail::pass_files(ctx));
    detail::FindingCap large_files(ctx.report);
    for (const auto& f : files) {
      if (f.symlink) continue;
      FTI_TRY(inventory_one(ctx.report, large_files, f));
    }
    large_files.finish();
    if (todos_dropped_ > 0) {
      ctx.report.notes.push_back("inventory: " + std::to_string(todos_dropped_) +
                                 " more TODO/FIXME lines not listed");
    }
    return ok_status();
  }

 private:
  Status inventory_one(Report& report, detail::FindingCap& large_files, const detail::TreeFile& f) {
    std::string language = detail::language_of(f.rel);
    if (f.size > kLargeFile) {
      large_files.add(Finding{
          f.rel, 0, "large_file", "large-file", "medium",
          std::to_string(f.size >> 20) + " MiB: keep large files out of the source tree (Git LFS)"});
      if (!language.empty()) ++report.languages[language].files;
      return ok_status();
    }
    FTI_ASSIGN_OR_RETURN(std::string text, detail::read_file(f.full));
    if (classify_bytes(text) == TextKind::binary) return ok_status();
    std::int64_t lines = scan_lines(report, f.rel, text);
    if (!language.empty()) {
      LanguageStats& stats = report.languages[language];
      ++stats.files;
      stats.lines += lines;
      detail::LineCounts counts = detail::count_lines(language, text);
      stats.code += counts.code;
      stats.comment += counts.comment;
      stats.blank += counts.blank;
    }
    return ok_status();
  }

  std::int64_t scan_lines(Report& report, const std::string& path, std::string_view text) {
    std::int64_t line_no = 0;
    std::size_t start = 0;
    while (start < text.size()) {
      std::size_t nl = text.find('\n', start);
      std::size_t end = nl == std::string_view::npos ? text.size() : nl;
      ++line_no;
      std::string_view line = text.substr(start, end - start);
      std::string_view marker = todo_marker(line);
      if (!marker.empty()) add_todo(report, path, line_no, marker, line);
      start = end + 1;
    }
    return line_no;
  }

  void add_todo(Report& report, const std::string& path, std::int64_t line_no,
                std::string_view marker, std::string_view line) {
    if (todos_ >= kMaxTodoFindings) {
      ++todos_dropped_;
      return;
    }
    ++todos_;
    std::string rule = marker == "TODO" ? "todo" : "fixme";
    // Never quote a line that holds a credential: the secrets pass reports it masked.
    std::string message = detail::line_has_secret(line)
                              ? std::string(marker) + " (line not quoted: it holds a secret)"
                              : excerpt(line);
    report.findings.push_back(Finding{path, line_no, "todo", rule, "info", std::move(message)});
  }

  std::size_t todos_ = 0;
  std::int64_t todos_dropped_ = 0;
};

}  // namespace

std::unique_ptr<Pass> make_inventory_pass() { return std::make_unique<InventoryPass>(); }

}  // namespace fti::cleanup
