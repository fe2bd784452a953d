#pragma once
// The format pass: every source file goes through the formatter its language's community uses
// (clang-format, black, gofmt, rustfmt, shfmt, prettier), run as child processes with a
// timeout. A project's own formatter config wins; without one, a style profile
// (config/profiles/*.toml, built into the binary) decides. A file a formatter cannot handle is
// left exactly as it was and reported.
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fti/cleanup/pass.hpp"
#include "fti/core/result.hpp"

namespace fti::cleanup {

// How one formatter lays code out when the project does not say.
struct LanguageStyle {
  int indent = 4;
  int line_length = 100;
  bool single_quotes = false;
  bool tabs = false;
};

// A named style profile. `c` is clang-format's (C, C++, Objective-C, Java, protobuf), `web`
// prettier's; black always indents 4 and gofmt has no options.
struct StyleProfile {
  std::string name;
  std::string clang_based_on = "LLVM";  // clang-format's BasedOnStyle
  LanguageStyle c, python, web, shell, rust;
};

// The profile of that name ("" is "default"); an unknown name is `bad_request` listing the
// known ones, so an upload and `clean --profile` refuse it before any work.
Result<StyleProfile> find_style_profile(const std::string& name);
std::vector<std::string> style_profile_names();
// Parses a profile's TOML text (exposed for tests).
Result<StyleProfile> parse_style_profile(const std::string& name, std::string_view toml_text);

// One formatter as found on this machine.
struct FormatterTool {
  std::string name;                  // "clang-format", "black", "gofmt", "rustfmt", "shfmt", "prettier"
  std::vector<std::string> command;  // what to run: a program path, or node and prettier's script
  std::string version;               // as the tool reports it
};

// Looks each formatter up once per process (PATH, and prettier under tools_dir) and remembers
// what it found; only the tools some file needs are ever looked up. Thread-safe.
class FormatterRegistry {
 public:
  FormatterRegistry(std::filesystem::path tools_dir, std::chrono::milliseconds timeout);
  // The tool, or why it is not usable ("not installed", "--version failed: ...").
  Result<FormatterTool> find(const std::string& name);

 private:
  Result<FormatterTool> discover(const std::string& name) const;

  std::filesystem::path tools_dir_;
  std::chrono::milliseconds timeout_;
  std::mutex mutex_;
  std::map<std::string, Result<FormatterTool>> found_;
};

// Which formatters this machine has, without running any (for the server's start-up log):
// "clang-format, black, ... found; missing: prettier". Jobs still look each one up themselves.
std::string describe_formatters(const std::filesystem::path& tools_dir);

// Every formatter name the pass knows, in the order the pass runs them.
const std::vector<std::string>& formatter_names();

// The formatter for a file, from its name and its first bytes (a sh or bash shebang picks
// shfmt); empty when none applies.
std::string formatter_for(std::string_view rel_path, std::string_view head);

// The folder whose node_modules holds prettier when format.tools_dir is empty: the nearest
// `tools` folder beside or above this executable's folder (build/<x>/finishthisidea ->
// <repo>/tools), else the empty path.
std::filesystem::path default_tools_dir();

struct FormatPassOptions {
  std::string profile;                         // "" is "default"
  std::chrono::milliseconds timeout{60000};    // per formatter run
  std::filesystem::path tools_dir;             // empty: default_tools_dir()
  // Shared by the runs of one process; null: the pass makes its own.
  std::shared_ptr<FormatterRegistry> registry;
  std::function<bool()> cancelled;  // polled while a formatter runs; true kills it
  // Where the pass makes its own folder (configs, caches); empty: the system temp folder.
  // The pipeline passes its run's folder, so a run killed mid-format leaves nothing elsewhere.
  std::filesystem::path scratch_parent;
};

std::unique_ptr<Pass> make_format_pass(FormatPassOptions options);

}  // namespace fti::cleanup
