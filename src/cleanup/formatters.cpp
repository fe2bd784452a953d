// Which formatter a file needs, and finding each formatter and its version on this machine.
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>

#include "fti/cleanup/formatters.hpp"
#include "fti/core/process.hpp"

namespace fti::cleanup {
namespace {

namespace fs = std::filesystem;

struct ExtensionRule {
  std::string_view tool;
  std::array<std::string_view, 20> extensions;
};

// Lower-case extensions without the dot. JSON and YAML go to prettier, not clang-format.
constexpr std::array<ExtensionRule, 6> kRules{{
    {"clang-format", {"c", "h", "cc", "cpp", "cxx", "c++", "hpp", "hh", "hxx", "h++", "ipp", "m", "mm", "java", "proto"}},
    {"black", {"py", "pyi"}},
    {"gofmt", {"go"}},
    {"rustfmt", {"rs"}},
    {"shfmt", {"sh", "bash"}},
    {"prettier", {"js", "jsx", "mjs", "cjs", "ts", "tsx", "mts", "cts", "css", "scss", "less", "html", "htm", "json",
                  "yaml", "yml", "md", "markdown"}},
}};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The interpreter a "#!" line names: "/usr/bin/env bash" -> "bash", "/bin/sh -e" -> "sh".
std::string shebang_interpreter(std::string_view head) {
  if (head.substr(0, 2) != "#!") return "";
  std::string_view line = head.substr(2, head.find('\n') == std::string_view::npos ? head.size() : head.find('\n') - 2);
  std::vector<std::string_view> words;
  for (std::size_t pos = 0; pos < line.size();) {
    std::size_t start = line.find_first_not_of(" \t\r", pos);
    if (start == std::string_view::npos) break;
    std::size_t end = line.find_first_of(" \t\r", start);
    words.push_back(line.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    pos = end == std::string_view::npos ? line.size() : end;
  }
  if (words.empty()) return "";
  std::string_view program = words[0].substr(words[0].rfind('/') + 1);
  if (program == "env" && words.size() > 1) program = words[1] == "-S" && words.size() > 2 ? words[2] : words[1];
  return std::string(program);
}

bool looks_like_objective_c(std::string_view head) {
  for (std::string_view mark : {"#import", "#include", "@interface", "@implementation", "@protocol"}) {
    if (head.find(mark) != std::string_view::npos) return true;
  }
  return false;
}

// "Debian clang-format version 14.0.6" -> "14.0.6", "black, 23.1.0 (compiled: no)" ->
// "23.1.0", "go version go1.19.8 linux/amd64" -> "go1.19.8": the first word holding a digit
// and a dot; else the whole first line.
std::string version_of(const std::string& output) {
  std::string line = output.substr(0, output.find('\n'));
  std::size_t pos = 0;
  while (pos < line.size()) {
    std::size_t start = line.find_first_not_of(" \t,", pos);
    if (start == std::string::npos) break;
    std::size_t end = line.find_first_of(" \t,", start);
    std::string word = line.substr(start, end == std::string::npos ? std::string::npos : end - start);
    bool digit = std::any_of(word.begin(), word.end(), [](unsigned char c) { return std::isdigit(c); });
    if (digit && word.find('.') != std::string::npos) return word.rfind('v', 0) == 0 ? word.substr(1) : word;
    pos = end == std::string::npos ? line.size() : end;
  }
  return line;
}

// Every executable of that name on PATH, in PATH order (a broken first one, such as a
// rustup proxy without a toolchain, must not hide a working one after it).
std::vector<std::string> on_path(const std::string& name) {
  std::vector<std::string> out;
  const char* path = std::getenv("PATH");
  std::string_view dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!dirs.empty()) {
    std::size_t colon = dirs.find(':');
    std::string dir(dirs.substr(0, colon));
    std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0 && std::find(out.begin(), out.end(), candidate) == out.end()) {
      out.push_back(candidate);
    }
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  return out;
}

Result<std::string> ask_version(const std::vector<std::string>& command, const std::string& flag,
                                std::chrono::milliseconds timeout) {
  ProcessSpec spec;
  spec.argv = command;
  if (!flag.empty()) spec.argv.push_back(flag);
  spec.inherit_environment = false;
  spec.timeout = timeout;
  spec.max_output_bytes = 64 * 1024;
  FTI_ASSIGN_OR_RETURN(ProcessResult r, run_process(spec));
  if (r.timed_out) return Error(errc::timeout, fmt::format("{} {} did not answer in time", command.back(), flag));
  if (r.signaled || r.exit_code != 0) {
    std::string said = r.stderr_data.substr(0, r.stderr_data.find('\n'));
    return Error(errc::process_error, fmt::format("{} {} failed: {}", command.back(), flag, said.substr(0, 200)));
  }
  return version_of(r.stdout_data.empty() ? r.stderr_data : r.stdout_data);
}

// gofmt has no --version: it ships with go, whose version is the one that matters.
std::string gofmt_version(const std::string& gofmt, std::chrono::milliseconds timeout) {
  std::error_code ec;
  fs::path beside = fs::canonical(gofmt, ec).parent_path() / "go";
  std::vector<std::string> go = on_path("go");
  std::string program = !ec && ::access(beside.c_str(), X_OK) == 0 ? beside.string() : go.empty() ? "" : go[0];
  if (program.empty()) return "unknown";
  return ask_version({program}, "version", timeout).value_or(std::string("unknown"));
}

}  // namespace

const std::vector<std::string>& formatter_names() {
  static const std::vector<std::string> names{"clang-format", "black", "gofmt", "rustfmt", "shfmt", "prettier"};
  return names;
}

std::string formatter_for(std::string_view rel_path, std::string_view head) {
  std::string_view name = rel_path.substr(rel_path.rfind('/') + 1);
  std::size_t dot = name.rfind('.');
  std::string ext = dot == std::string_view::npos || dot == 0 ? "" : lower(name.substr(dot + 1));
  std::string interpreter = shebang_interpreter(head);
  bool shell = interpreter == "sh" || interpreter == "bash";
  // Minified bundles and lock files are generated: formatting them only bloats the result.
  if (name.find(".min.") != std::string_view::npos || name == "package-lock.json") return "";
  for (const auto& rule : kRules) {
    if (ext.empty() || std::find(rule.extensions.begin(), rule.extensions.end(), ext) == rule.extensions.end()) continue;
    // .m is also MATLAB, Octave and Mercury, where spaces inside brackets separate values:
    // only a file that shows it is Objective-C goes to clang-format.
    if (ext == "m" && !looks_like_objective_c(head)) return "";
    // A .sh file written for zsh or fish is not shfmt's to touch.
    if (rule.tool == "shfmt" && !interpreter.empty() && !shell && interpreter != "dash") return "";
    return std::string(rule.tool);
  }
  return ext.empty() && shell ? "shfmt" : "";
}

fs::path default_tools_dir() {
  std::error_code ec;
  fs::path dir = fs::path(self_executable_path()).parent_path();
  for (int up = 0; up < 4 && !dir.empty(); ++up) {
    if (fs::is_directory(dir / "tools" / "node_modules", ec)) return dir / "tools";
    if (dir == dir.parent_path()) break;
    dir = dir.parent_path();
  }
  return {};
}

FormatterRegistry::FormatterRegistry(fs::path tools_dir, std::chrono::milliseconds timeout)
    : tools_dir_(tools_dir.empty() ? default_tools_dir() : std::move(tools_dir)), timeout_(timeout) {}

Result<FormatterTool> FormatterRegistry::find(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto it = found_.find(name);
  if (it == found_.end()) it = found_.emplace(name, discover(name)).first;
  return it->second;
}

namespace {

// The commands that might run `name`, best first: prettier's pinned copy under tools_dir
// (scripts/install-tools), then every executable of that name on PATH.
std::vector<std::vector<std::string>> candidates_for(const std::string& name, const fs::path& tools_dir) {
  std::vector<std::vector<std::string>> candidates;
  if (name == "prettier") {
    fs::path script = tools_dir / "node_modules" / "prettier" / "bin" / "prettier.cjs";
    std::vector<std::string> node = on_path("node");
    std::error_code ec;
    if (!tools_dir.empty() && fs::is_regular_file(script, ec) && !node.empty()) {
      candidates.push_back({node[0], script.string()});
    }
  }
  for (const auto& program : on_path(name)) candidates.push_back({program});
  return candidates;
}

}  // namespace

std::string describe_formatters(const fs::path& tools_dir) {
  fs::path dir = tools_dir.empty() ? default_tools_dir() : tools_dir;
  std::vector<std::string> found, missing;
  for (const auto& name : formatter_names()) (candidates_for(name, dir).empty() ? missing : found).push_back(name);
  return fmt::format("{} found; missing: {}", found.empty() ? "none" : fmt::format("{}", fmt::join(found, ", ")),
                     missing.empty() ? "none" : fmt::format("{}", fmt::join(missing, ", ")));
}

Result<FormatterTool> FormatterRegistry::discover(const std::string& name) const {
  std::vector<std::vector<std::string>> candidates = candidates_for(name, tools_dir_);
  if (candidates.empty()) {
    return Error(errc::not_found, name == "prettier" ? "not installed (scripts/install-tools puts it in tools/; "
                                                       "format.tools_dir says where)"
                                                     : "not installed (not on PATH)");
  }
  Error last(errc::not_found, "not installed");
  for (const auto& command : candidates) {
    if (name == "gofmt") return FormatterTool{name, command, gofmt_version(command[0], timeout_)};
    auto version = ask_version(command, "--version", timeout_);
    if (version) return FormatterTool{name, command, *version};
    last = version.error();
  }
  return last;
}

}  // namespace fti::cleanup
