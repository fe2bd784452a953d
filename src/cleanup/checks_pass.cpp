// The checks pass: what pre-commit-hooks would stop at a commit, reported instead of fixed.
// Per file: leftover merge-conflict markers, data files that do not parse (JSON, TOML, XML,
// YAML), a shebang without the run bit and the reverse, debug statements left in Python and
// JavaScript. Over the tree: paths that differ only by case, symlinks to nothing, and files
// with the same content. docs/findings.md lists every rule.
#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "code_scan.hpp"
#include "finding_cap.hpp"
#include "fti/cleanup/normalize.hpp"
#include "fti/cleanup/pass.hpp"
#include "fti/core/ids.hpp"
#include "lexers.hpp"
#include "syntax_check.hpp"
#include "tree_files.hpp"

namespace fti::cleanup {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kMaxCheckBytes = 16LL << 20;  // not read past this (over 10 MiB is a large-file finding)
constexpr std::chrono::seconds kYamlTimeout{120};
constexpr std::size_t kMaxNamedDuplicates = 10;

std::string lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

std::string file_name(const std::string& rel) { return rel.substr(rel.find_last_of('/') + 1); }

bool has_extension(const std::string& rel, std::initializer_list<std::string_view> extensions) {
  std::string ext = detail::lower_extension(rel);
  for (std::string_view e : extensions) {
    if (ext == e) return true;
  }
  return false;
}

// Lines of a text with their 1-based numbers, '\r' dropped.
template <class F>
void for_each_line(std::string_view text, F&& f) {
  std::int64_t line_no = 0;
  for (std::string_view line : detail::split_lines(text)) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    f(++line_no, line);
  }
}

// ---- merge-conflict markers -------------------------------------------------------------

// Seven of `c` alone or followed by a space ("<<<<<<< HEAD").
bool marker_line(std::string_view line, char c) {
  if (line.size() < 7 || line.find_first_not_of(c) < 7) return false;
  return line.size() == 7 || line[7] == ' ';
}

// One finding per conflict: "<<<<<<< ", then "=======" alone on its line, then ">>>>>>> ".
// "=======" elsewhere is a Markdown or reStructuredText underline and means nothing.
void merge_conflicts(detail::FindingCap& out, const std::string& path, std::string_view text) {
  std::int64_t start = 0;
  bool separated = false;
  for_each_line(text, [&](std::int64_t n, std::string_view line) {
    if (marker_line(line, '<')) {
      start = n;
      separated = false;
    } else if (start > 0 && line == "=======") {
      separated = true;
    } else if (start > 0 && separated && marker_line(line, '>')) {
      out.add(Finding{path, start, "merge_conflict", "merge-conflict", "high",
                      "unresolved merge conflict (lines " + std::to_string(start) + "-" +
                          std::to_string(n) + "): keep one side and delete the markers"});
      start = 0;
      separated = false;
    }
  });
}

// ---- shebang and run bit ----------------------------------------------------------------

bool windows_executable(const std::string& rel) {
  return has_extension(rel, {"exe", "bat", "cmd", "com", "dll", "ps1", "msi", "vbs"});
}

struct ModeCheck {
  std::vector<Finding> findings;
  std::size_t text_files = 0;
  std::size_t executable_text_files = 0;
};

void shebang_and_mode(ModeCheck& check, const detail::TreeFile& f, std::string_view text) {
  if (text.empty()) return;
  ++check.text_files;
  bool executable = (f.mode & 0111) != 0;
  bool shebang = text.substr(0, 2) == "#!";
  if (executable) ++check.executable_text_files;
  if (shebang && !executable) {
    check.findings.push_back(Finding{f.rel, 1, "file_mode", "shebang-not-executable", "low",
                                     "starts with #! but is not executable: chmod +x it (a zip "
                                     "made on Windows carries no run bits), or drop the #! line "
                                     "if it is not meant to be run"});
  } else if (executable && !shebang && !windows_executable(f.rel)) {
    check.findings.push_back(Finding{f.rel, 0, "file_mode", "executable-without-shebang", "low",
                                     "executable but has no #! line: add one (#!/usr/bin/env "
                                     "...) or chmod -x it"});
  }
}

// ---- debug statements -------------------------------------------------------------------

struct LineToken {
  std::string_view text;
  std::int64_t line = 0;
};

// Tokens of the code (comments and literals blanked) with their line numbers.
std::vector<LineToken> code_tokens(detail::Lexer lexer, std::string_view text, std::string& code) {
  code = detail::code_only(lexer, text);
  std::vector<LineToken> out;
  std::int64_t line = 1;
  std::size_t counted = 0;
  for (const detail::Token& t : detail::tokenize(code)) {
    auto offset = static_cast<std::size_t>(t.text.data() - code.data());
    for (; counted < offset; ++counted) line += code[counted] == '\n';
    out.push_back({t.text, line});
  }
  return out;
}

bool python_debugger_module(std::string_view name) {
  return name == "pdb" || name == "ipdb" || name == "pudb" || name == "rpdb" || name == "pdbpp";
}

void add_debug(detail::FindingCap& out, std::set<std::int64_t>& lines, const std::string& path,
               std::int64_t line, const std::string& rule, const std::string& severity,
               const std::string& message) {
  if (lines.insert(line).second) out.add(Finding{path, line, "debug", rule, severity, message});
}

// breakpoint(), import pdb / ipdb / pudb, pdb.set_trace(): stops a program that runs
// unattended. Only in code: comments and strings are blanked before the scan.
void python_debug(detail::FindingCap& out, const std::string& path, std::string_view text) {
  std::string code;
  std::vector<LineToken> t = code_tokens(detail::Lexer::python, text, code);
  std::set<std::int64_t> lines;
  auto at = [&](std::size_t k) { return k < t.size() ? t[k].text : std::string_view(); };
  for (std::size_t k = 0; k < t.size(); ++k) {
    std::string_view prev = k > 0 ? t[k - 1].text : std::string_view();
    bool member = prev == "." || prev == "def";
    if (t[k].text == "breakpoint" && at(k + 1) == "(" && !member) {
      add_debug(out, lines, path, t[k].line, "python-breakpoint", "medium",
                "breakpoint() stops the program here: remove it");
    } else if ((t[k].text == "import" || t[k].text == "from") && !member) {
      for (std::size_t j = k + 1; j < t.size() && t[j].line == t[k].line; ++j) {
        if (t[j].text == "import" && t[k].text == "from") break;
        if (python_debugger_module(t[j].text) && at(j + 1) != "." && (j == k + 1 || at(j - 1) == ",")) {
          add_debug(out, lines, path, t[k].line, "python-debugger-import", "medium",
                    "imports the debugger " + std::string(t[j].text) + ": remove it");
        }
      }
    } else if (python_debugger_module(t[k].text) && at(k + 1) == "." && at(k + 2) == "set_trace" &&
               !member) {
      add_debug(out, lines, path, t[k].line, "python-debugger-import", "medium",
                std::string(t[k].text) + ".set_trace() stops the program here: remove it");
    }
  }
}

// Where console.log is how the program talks (tests, scripts, command-line tools, examples,
// build configuration) or is not the project's own code (bundles, vendored files).
bool console_is_output(const std::string& rel, std::string_view text) {
  if (text.substr(0, 2) == "#!") return true;
  static const std::set<std::string, std::less<>> kDirs = {
      "test", "tests", "__tests__", "__mocks__", "spec", "specs", "e2e", "cypress", "scripts",
      "script", "bin", "cli", "tools", "tool", "examples", "example", "demo", "demos", "docs",
      "bench", "benchmark", "benchmarks", "fixtures", "stories", "playground", "dist", "build",
      "vendor"};
  std::string lowered = lower(rel);
  std::size_t start = 0;
  for (std::size_t slash = lowered.find('/'); slash != std::string::npos;
       start = slash + 1, slash = lowered.find('/', start)) {
    if (kDirs.count(std::string_view(lowered).substr(start, slash - start))) return true;
  }
  std::string name = lowered.substr(start);
  for (std::string_view part : {".test.", ".spec.", ".config.", ".stories.", "cli.", "-cli", "_cli",
                                 ".min.", ".bundle."}) {
    if (name.find(part) != std::string::npos) return true;
  }
  return name.rfind("test", 0) == 0 || name.rfind("gulpfile", 0) == 0 ||
         name.rfind("gruntfile", 0) == 0 || name.rfind("webpack", 0) == 0;
}

void javascript_debug(detail::FindingCap& out, const std::string& path, std::string_view text) {
  std::string code;
  std::vector<LineToken> t = code_tokens(detail::Lexer::javascript, text, code);
  std::set<std::int64_t> lines;
  bool console_allowed = console_is_output(path, text);
  auto at = [&](std::size_t k) { return k < t.size() ? t[k].text : std::string_view(); };
  for (std::size_t k = 0; k < t.size(); ++k) {
    std::string_view prev = k > 0 ? t[k - 1].text : std::string_view();
    if (prev == "." || prev == "?") continue;  // obj.debugger, a?.console
    std::string_view next = at(k + 1);
    if (t[k].text == "debugger" && next != ":" && next != "(" && next != "=" && next != ".") {
      add_debug(out, lines, path, t[k].line, "js-debugger", "medium",
                "debugger statement pauses the program in an open devtools: remove it");
    } else if (t[k].text == "console" && !console_allowed && next == "." && at(k + 2) == "log" &&
               at(k + 3) == "(") {
      add_debug(out, lines, path, t[k].line, "js-console-log", "low",
                "console.log left in application code: remove it or use the project's logger");
    }
  }
}

// ---- data files -------------------------------------------------------------------------

enum class DataFormat { none, json, toml, xml, yaml };

// JSON with comments (jsonc) is the norm for these: TypeScript, VS Code and dev containers
// read comments and trailing commas, so they are not checked as strict JSON.
bool json_with_comments(const std::string& rel) {
  std::string name = lower(file_name(rel));
  if (rel.rfind(".vscode/", 0) == 0 || rel.find("/.vscode/") != std::string::npos) return true;
  if (rel.rfind(".devcontainer/", 0) == 0 || rel.find("/.devcontainer/") != std::string::npos) return true;
  for (std::string_view prefix : {"tsconfig", "jsconfig", ".eslintrc", "devcontainer", ".devcontainer",
                                  "api-extractor", "typedoc", ".swcrc", ".babelrc", "tslint"}) {
    if (name.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

DataFormat data_format(const std::string& rel) {
  if (has_extension(rel, {"json", "geojson", "webmanifest", "har"})) {
    return json_with_comments(rel) ? DataFormat::none : DataFormat::json;
  }
  if (has_extension(rel, {"toml"})) return DataFormat::toml;
  if (has_extension(rel, {"xml", "xsd", "xsl", "xslt", "svg", "csproj", "vbproj", "fsproj",
                          "vcxproj", "props", "targets", "nuspec", "resx", "xaml", "wsdl", "plist"})) {
    return DataFormat::xml;
  }
  if (has_extension(rel, {"yml", "yaml"})) return DataFormat::yaml;
  return DataFormat::none;
}

struct FormatName {
  const char* rule;  // "invalid-json"
  const char* name;  // "JSON"
};

FormatName format_name(DataFormat format) {
  switch (format) {
    case DataFormat::json: return {"invalid-json", "JSON"};
    case DataFormat::toml: return {"invalid-toml", "TOML"};
    case DataFormat::xml: return {"invalid-xml", "XML"};
    default: return {"invalid-yaml", "YAML"};
  }
}

void syntax_finding(detail::FindingCap& out, const std::string& path, DataFormat format,
                    const detail::SyntaxError& e) {
  FormatName f = format_name(format);
  out.add(Finding{path, e.line, "syntax", f.rule, "medium",
                  std::string("not valid ") + f.name + ": " + e.message +
                      "; fix it (or rename the file if it is a template)"});
}

// ---- the pass ---------------------------------------------------------------------------

class ChecksPass final : public Pass {
 public:
  std::string name() const override { return "checks"; }
  std::string stage() const override { return "checks"; }

  Status run(PassContext& ctx) override {
    FTI_ASSIGN_OR_RETURN(std::vector<detail::TreeFile> files, detail::pass_files(ctx));
    detail::FindingCap out(ctx.report);
    ModeCheck modes;
    std::vector<std::string> yaml_files;  // relative paths
    std::size_t yaml_templates = 0;
    for (const auto& f : files) {
      if (f.symlink) {
        broken_symlink(out, ctx.root, f);
        continue;
      }
      if (f.size > kMaxCheckBytes || f.size == 0) continue;
      FTI_ASSIGN_OR_RETURN(std::string text, detail::read_file(f.full));
      if (classify_bytes(text) == TextKind::binary) continue;
      merge_conflicts(out, f.rel, text);
      shebang_and_mode(modes, f, text);
      check_data(out, f.rel, text, yaml_files, yaml_templates);
      CodeLanguage language = code_language_of(f.rel);
      if (language == CodeLanguage::python) python_debug(out, f.rel, text);
      if (language == CodeLanguage::javascript || language == CodeLanguage::typescript) {
        javascript_debug(out, f.rel, text);
      }
    }
    report_modes(out, ctx.report, modes);
    check_yaml(out, ctx, yaml_files, yaml_templates);
    case_conflicts(out, files);
    FTI_TRY(duplicates(out, files));
    out.finish();
    return ok_status();
  }

 private:
  static void check_data(detail::FindingCap& out, const std::string& rel, std::string_view text,
                         std::vector<std::string>& yaml_files, std::size_t& yaml_templates) {
    DataFormat format = data_format(rel);
    std::optional<detail::SyntaxError> error;
    switch (format) {
      case DataFormat::none: return;
      case DataFormat::json: error = detail::check_json(text); break;
      case DataFormat::toml: error = detail::check_toml(text); break;
      case DataFormat::xml: error = detail::check_xml(text); break;
      case DataFormat::yaml:
        // Helm and Jinja templates are YAML only after rendering.
        if (text.find("{{") != std::string_view::npos || text.find("{%") != std::string_view::npos) {
          ++yaml_templates;
        } else {
          yaml_files.push_back(rel);
        }
        return;
    }
    if (error) syntax_finding(out, rel, format, *error);
  }

  static void check_yaml(detail::FindingCap& out, PassContext& ctx,
                         const std::vector<std::string>& rels, std::size_t templates) {
    if (templates > 0) {
      ctx.report.notes.push_back("checks: " + std::to_string(templates) +
                                 " YAML files with {{ }} or {% %} template tags were not checked");
    }
    if (rels.empty()) return;
    std::vector<std::string> full;
    for (const std::string& rel : rels) full.push_back((ctx.root / rel).string());
    auto errors = detail::check_yaml_files(full, kYamlTimeout);
    if (!errors.ok()) {
      ctx.report.notes.push_back("checks: " + std::to_string(rels.size()) +
                                 " YAML files were not checked: " + errors.error().message);
      return;
    }
    std::map<std::string, std::string> rel_of;
    for (std::size_t k = 0; k < rels.size(); ++k) rel_of[full[k]] = rels[k];
    for (const detail::YamlError& e : errors.value()) {
      auto it = rel_of.find(e.path);
      if (it != rel_of.end()) syntax_finding(out, it->second, DataFormat::yaml, e.error);
    }
  }

  // An archive made without Unix modes (or copied through a FAT drive) marks every file
  // executable: then the bit says nothing, and one note replaces a finding per file.
  static void report_modes(detail::FindingCap& out, Report& report, ModeCheck& modes) {
    bool all_executable = modes.text_files >= 3 && modes.executable_text_files == modes.text_files;
    for (Finding& f : modes.findings) {
      if (all_executable && f.rule == "executable-without-shebang") continue;
      out.add(std::move(f));
    }
    if (all_executable) {
      report.notes.push_back("checks: every file is marked executable (an archive without Unix "
                             "modes?): executable-without-shebang was not checked");
    }
  }

  static void broken_symlink(detail::FindingCap& out, const fs::path& root, const detail::TreeFile& f) {
    std::error_code ec;
    fs::path target = fs::read_symlink(f.full, ec);
    if (ec) return;
    fs::path resolved = (fs::path(f.rel).parent_path() / target).lexically_normal();
    bool inside = !target.is_absolute() && !resolved.empty() && *resolved.begin() != "..";
    if (inside && fs::exists(root / resolved, ec)) return;
    out.add(Finding{f.rel, 0, "symlink", "broken-symlink", "medium",
                    "symlink to " + target.generic_string() +
                        (inside ? ", which does not exist" : ", outside the tree") +
                        ": point it at a file in the tree or remove it"});
  }

  // Paths that differ only by case (directories included) collide on macOS and Windows.
  static void case_conflicts(detail::FindingCap& out, const std::vector<detail::TreeFile>& files) {
    std::set<std::string> paths;
    for (const auto& f : files) {
      paths.insert(f.rel);
      for (std::size_t slash = f.rel.find('/'); slash != std::string::npos;
           slash = f.rel.find('/', slash + 1)) {
        paths.insert(f.rel.substr(0, slash));
      }
    }
    std::map<std::string, std::vector<std::string>> by_lower;
    for (const std::string& p : paths) by_lower[lower(p)].push_back(p);
    for (const auto& [low, group] : by_lower) {
      if (group.size() < 2) continue;
      // Inside folders that already conflict every child would repeat the same news.
      std::size_t slash = low.find_last_of('/');
      if (slash != std::string::npos) {
        auto parent = by_lower.find(low.substr(0, slash));
        if (parent != by_lower.end() && parent->second.size() > 1) continue;
      }
      std::string others;
      for (std::size_t k = 1; k < group.size(); ++k) others += (k > 1 ? ", " : "") + group[k];
      out.add(Finding{group[0], 0, "case_conflict", "case-conflict", "medium",
                      "differs only by case from " + others +
                          ": the two collide on macOS and Windows; rename one"});
    }
  }

  // Same size first, then SHA-256 of those that share a size; empty files are all alike and
  // say nothing.
  static Status duplicates(detail::FindingCap& out, const std::vector<detail::TreeFile>& files) {
    std::map<std::int64_t, std::vector<const detail::TreeFile*>> by_size;
    for (const auto& f : files) {
      if (!f.symlink && f.size > 0) by_size[f.size].push_back(&f);
    }
    std::map<std::string, std::vector<const detail::TreeFile*>> by_hash;
    for (const auto& [size, group] : by_size) {
      if (group.size() < 2) continue;
      for (const detail::TreeFile* f : group) {
        FTI_ASSIGN_OR_RETURN(std::string hash, hash_file(f->full));
        by_hash[std::to_string(size) + ":" + hash].push_back(f);
      }
    }
    std::vector<std::vector<const detail::TreeFile*>> groups;
    for (auto& [key, group] : by_hash) {
      if (group.size() > 1) groups.push_back(std::move(group));
    }
    std::sort(groups.begin(), groups.end(), [](const auto& a, const auto& b) { return a[0]->rel < b[0]->rel; });
    for (const auto& group : groups) {
      std::string others;
      for (std::size_t k = 1; k < group.size() && k <= kMaxNamedDuplicates; ++k) {
        others += (k > 1 ? ", " : "") + group[k]->rel;
      }
      if (group.size() - 1 > kMaxNamedDuplicates) {
        others += " and " + std::to_string(group.size() - 1 - kMaxNamedDuplicates) + " more";
      }
      out.add(Finding{group[0]->rel, 0, "duplicate", "duplicate-file", "info",
                      "same content as " + others + ": keep one copy if they are not meant to differ"});
    }
    return ok_status();
  }

  // Streamed: a large file costs a buffer, not its size.
  static Result<std::string> hash_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error(errc::io_error, "cannot open " + path.string());
    Sha256 sha;
    std::vector<char> buffer(64 * 1024);
    while (in) {
      in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      sha.update(std::string_view(buffer.data(), static_cast<std::size_t>(in.gcount())));
    }
    if (in.bad()) return Error(errc::io_error, "cannot read " + path.string());
    return sha.hex_digest();
  }
};

}  // namespace

std::unique_ptr<Pass> make_checks_pass() { return std::make_unique<ChecksPass>(); }

}  // namespace fti::cleanup
