// The format pass with the real formatters. scripts/test installs every one of them
// (scripts/install-deps: clang-format black shfmt golang-go rustfmt; scripts/install-tools:
// prettier), so in CI none of these tests is skipped; on a machine without one, the tests that
// need it warn and return.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdlib>

#include "cleanup_test_util.hpp"
#include "fti/cleanup/formatters.hpp"
#include "fti/cleanup/pipeline.hpp"

namespace fti::cleanup {
namespace {

using testing::read_file;
using testing::TempDir;
using testing::write_file;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

fs::path tools_dir() { return fs::path(FTI_SOURCE_DIR) / "tools"; }

bool have(const std::string& tool) {
  FormatterRegistry registry(tools_dir(), 20s);
  auto found = registry.find(tool);
  if (!found) WARN(tool << " is not usable here (" << found.error().message << "): test skipped; CI installs it");
  return found.ok();
}

struct Formatted {
  Status status;
  Report report;
};

Formatted format_tree(const fs::path& root, const std::string& profile = "", std::chrono::milliseconds timeout = 60s) {
  FormatPassOptions options;
  options.profile = profile;
  options.timeout = timeout;
  options.tools_dir = tools_dir();
  auto pass = make_format_pass(options);
  Formatted out;
  PassContext ctx{root, out.report, [](const std::string& rel) { return rel == "vendor" || rel.rfind("vendor/", 0) == 0; }};
  out.status = pass->run(ctx);
  return out;
}

const Finding* finding_for(const Report& r, const std::string& path) {
  for (const auto& f : r.findings) {
    if (f.path == path && f.kind == "format") return &f;
  }
  return nullptr;
}

bool changed_by_format(const Report& r, const std::string& path) {
  for (const auto& c : r.changed) {
    if (c.path == path) return std::find(c.passes.begin(), c.passes.end(), "format") != c.passes.end();
  }
  return false;
}

bool notes_mention(const Report& r, const std::string& a, const std::string& b = "") {
  for (const auto& n : r.notes) {
    if (n.find(a) != std::string::npos && n.find(b) != std::string::npos) return true;
  }
  return false;
}

// Puts PATH back when the test ends, so fake tools never outlive their test.
class PathOverride {
 public:
  explicit PathOverride(const std::string& path) : old_(std::getenv("PATH") ? std::getenv("PATH") : "") {
    ::setenv("PATH", path.c_str(), 1);
  }
  ~PathOverride() { ::setenv("PATH", old_.c_str(), 1); }

 private:
  std::string old_;
};

void write_script(const fs::path& p, const std::string& text) {
  write_file(p, text);
  ::chmod(p.c_str(), 0755);
}

struct Case {
  std::string tool, path, messy, expected;
};

TEST_CASE("each formatter reformats a messy file of its language", "[cleanup][format]") {
  const std::vector<Case> cases{
      {"clang-format", "src/main.c",
       "#include <stdio.h>\n#include <assert.h>\nint main(){int x=1;if(x){return 0;}return 1;}\n",
       "#include <stdio.h>\n#include <assert.h>\nint main() {\n  int x = 1;\n  if (x) {\n    return 0;\n  }\n  return 1;\n}\n"},
      {"black", "app/util.py", "x = {'a':1,  'b':2}\ndef f( a ):\n  return a\n",
       "x = {\"a\": 1, \"b\": 2}\n\n\ndef f(a):\n    return a\n"},
      {"gofmt", "cmd/main.go", "package main\nfunc main(){\nx:=1\n_ = x\n}\n",
       "package main\n\nfunc main() {\n\tx := 1\n\t_ = x\n}\n"},
      {"rustfmt", "src/lib.rs", "fn main(){let x=1;}\n", "fn main() {\n    let x = 1;\n}\n"},
      {"shfmt", "scripts/build.sh", "if true; then\necho hi\nfi\n", "if true; then\n  echo hi\nfi\n"},
      {"shfmt", "bin/deploy", "#!/usr/bin/env bash\nif true; then\necho hi\nfi\n",
       "#!/usr/bin/env bash\nif true; then\n  echo hi\nfi\n"},
      {"prettier", "web/app.js", "const a = {b:1,  c:'x'}\n", "const a = { b: 1, c: \"x\" };\n"},
      {"prettier", "web/site.css", "a{color:red}\n", "a {\n  color: red;\n}\n"},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.tool << " on " << c.path) {
      if (!have(c.tool)) continue;
      TempDir dir;
      write_file(dir / c.path, c.messy);
      auto out = format_tree(dir.path());
      REQUIRE(out.status.ok());
      CHECK(read_file(dir / c.path) == c.expected);
      CHECK(changed_by_format(out.report, c.path));
      CHECK_FALSE(out.report.tools[c.tool].empty());
      CHECK(out.report.findings.empty());
    }
  }
}

TEST_CASE("a project's own .clang-format wins over the profile, includes stay in order", "[cleanup][format]") {
  if (!have("clang-format")) return;
  TempDir dir;
  write_file(dir / "proj/.clang-format", "BasedOnStyle: LLVM\nIndentWidth: 8\n");
  write_file(dir / "proj/src/a.c", "#include <stdio.h>\n#include <assert.h>\nint f(){return 1;}\nint g(int x){if(x){return 2;}return 3;}\n");
  write_file(dir / "other/b.c", "int g(int x){if(x){return 2;}return 3;}\n");
  auto out = format_tree(dir.path(), "google");
  REQUIRE(out.status.ok());
  std::string a = read_file(dir / "proj/src/a.c");
  CHECK(a.find("#include <stdio.h>\n#include <assert.h>\n") == 0);  // its config did not ask for sorting
  CHECK(a.find("\n        if (x) {\n                return 2;") != std::string::npos);
  CHECK(read_file(dir / "other/b.c").find("\n  if (x) {\n    return 2;") != std::string::npos);  // google: 2
}

TEST_CASE("without a project config the style profile decides", "[cleanup][format]") {
  if (!have("prettier") || !have("clang-format")) return;
  const std::string js = "const greeting = {text:\"hello\", to:'world'}\n";
  const std::string c = "int f(int alpha, int beta, int gamma, int delta, int epsilon, int zeta, int eta, int theta);\n";
  std::map<std::string, std::pair<std::string, std::string>> got;
  for (std::string profile : {"default", "google", "compact"}) {
    TempDir dir;
    write_file(dir / "a.js", js);
    write_file(dir / "f.h", c);
    REQUIRE(format_tree(dir.path(), profile).status.ok());
    got[profile] = {read_file(dir / "a.js"), read_file(dir / "f.h")};
  }
  CHECK(got["default"].first == "const greeting = { text: \"hello\", to: \"world\" };\n");
  CHECK(got["google"].first == "const greeting = { text: 'hello', to: 'world' };\n");
  CHECK(got["google"].second.find('\n') < got["google"].second.size() - 1);  // 80 columns: wrapped
  CHECK(got["compact"].second == c);                                         // 120 columns: one line
}

TEST_CASE("a file a formatter cannot parse is left byte for byte and reported; its batch mates are formatted",
          "[cleanup][format]") {
  for (std::string tool : {"black", "gofmt"}) {
    DYNAMIC_SECTION(tool) {
      if (!have(tool)) continue;
      TempDir dir;
      bool py = tool == "black";
      std::string broken = py ? "def f(:\n    return  1\n" : "package main\nfunc main( {\n  x:=1\n";
      std::string messy = py ? "x=( 1 )\n" : "package main\nfunc main(){\nx:=1\n_ = x\n}\n";
      std::string ext = py ? ".py" : ".go";
      write_file(dir / ("a" + ext), messy);
      write_file(dir / ("b_broken" + ext), broken);
      write_file(dir / ("c" + ext), messy);
      auto out = format_tree(dir.path());
      REQUIRE(out.status.ok());
      CHECK(read_file(dir / ("b_broken" + ext)) == broken);
      const Finding* f = finding_for(out.report, "b_broken" + ext);
      REQUIRE(f != nullptr);
      CHECK(f->rule == tool);
      CHECK(f->message.find("left as it was") != std::string::npos);
      CHECK(notes_mention(out.report, tool + " could not format 1 file"));
      CHECK(read_file(dir / ("a" + ext)) != messy);
      CHECK(read_file(dir / ("c" + ext)) != messy);
      CHECK_FALSE(changed_by_format(out.report, "b_broken" + ext));
    }
  }
}

TEST_CASE("a formatter that hangs is killed at the timeout and its files are left as they were",
          "[cleanup][format]") {
  TempDir dir;
  // A real process that answers --version and then never finishes.
  write_script(dir / "bin/black", "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'black, 99.1.0'; exit 0; fi\nexec sleep 60\n");
  PathOverride path((dir / "bin").string() + ":" + std::getenv("PATH"));
  for (std::string name : {"a.py", "b.py", "c.py"}) write_file(dir / "tree" / name, "x=( 1 )\n");
  auto started = std::chrono::steady_clock::now();
  auto out = format_tree(dir / "tree", "", 1s);
  auto took = std::chrono::steady_clock::now() - started;
  REQUIRE(out.status.ok());
  CHECK(took < 10s);  // two timeouts, then the tool is given up on
  for (std::string name : {"a.py", "b.py", "c.py"}) CHECK(read_file(dir / "tree" / name) == "x=( 1 )\n");
  CHECK(out.report.tools["black"] == "99.1.0");
  REQUIRE(finding_for(out.report, "a.py") != nullptr);
  CHECK(finding_for(out.report, "a.py")->message.find("format.timeout_seconds") != std::string::npos);
  CHECK(notes_mention(out.report, "black timed out 2 times", "left unformatted"));
}

TEST_CASE("a missing formatter is reported once with the files it would have formatted", "[cleanup][format]") {
  TempDir dir;
  fs::create_directories(dir / "empty-bin");
  write_file(dir / "tree/main.go", "package main\nfunc main(){}\n");
  write_file(dir / "tree/util.go", "package main\nfunc util(){}\n");
  Formatted out;
  {
    PathOverride path((dir / "empty-bin").string());
    out = format_tree(dir / "tree");
  }
  REQUIRE(out.status.ok());
  CHECK(read_file(dir / "tree/main.go") == "package main\nfunc main(){}\n");
  CHECK(out.report.tools.empty());
  int mentions = 0;
  for (const auto& n : out.report.notes) {
    if (n.find("gofmt") != std::string::npos) {
      ++mentions;
      CHECK(n.find("2 file(s) (Go) left unformatted because gofmt is not installed") != std::string::npos);
    }
  }
  CHECK(mentions == 1);
}

TEST_CASE("protected folders, symlinks, binaries and huge files are not formatted", "[cleanup][format]") {
  if (!have("black")) return;
  TempDir dir;
  write_file(dir / "vendor/lib.py", "x=( 1 )\n");
  write_file(dir / "real.py", "y = 2\n");
  fs::create_symlink("real.py", dir / "link.py");
  write_file(dir / "blob.py", std::string("x=( 1 )\0\n", 9));
  write_file(dir / "huge.py", "x=( 1 )\n" + std::string(2 << 20, '#') + "\n");
  auto out = format_tree(dir.path());
  REQUIRE(out.status.ok());
  CHECK(read_file(dir / "vendor/lib.py") == "x=( 1 )\n");
  CHECK(fs::is_symlink(dir / "link.py"));
  CHECK(read_file(dir / "blob.py") == std::string("x=( 1 )\0\n", 9));
  CHECK(read_file(dir / "huge.py").rfind("x=( 1 )\n", 0) == 0);
  CHECK(notes_mention(out.report, "(binary)", "blob.py"));
  CHECK(notes_mention(out.report, "larger than 1 MiB", "huge.py"));
}

TEST_CASE("a prettier config that is code is never run; a data config is honoured", "[cleanup][format]") {
  if (!have("prettier")) return;
  TempDir dir;
  // Loading this config would run it: it would leave a marker file behind.
  write_file(dir / "tree/evil/.prettierrc.cjs",
             "require('fs').writeFileSync(__dirname + '/../../pwned', 'x'); module.exports = {semi: false};\n");
  write_file(dir / "tree/evil/a.js", "const a = 1\n");
  write_file(dir / "tree/good/.prettierrc.json", "{\"semi\": false, \"singleQuote\": true}\n");
  write_file(dir / "tree/good/b.js", "const b = \"x\";\n");
  auto out = format_tree(dir / "tree");
  REQUIRE(out.status.ok());
  CHECK_FALSE(fs::exists(dir / "pwned"));
  CHECK(read_file(dir / "tree/evil/a.js") == "const a = 1;\n");  // the profile, not the script
  CHECK(read_file(dir / "tree/good/b.js") == "const b = 'x'\n");
  CHECK(notes_mention(out.report, "evil/.prettierrc.cjs", "not used"));
}

TEST_CASE("a project's pyproject.toml [tool.black] wins over the profile", "[cleanup][format]") {
  if (!have("black")) return;
  TempDir dir;
  std::string call = "result = some_function(argument_one, argument_two, argument_three)\n";  // 67 columns
  write_file(dir / "narrow/pyproject.toml", "[tool.black]\nline-length = 40\n");
  write_file(dir / "narrow/a.py", call);
  write_file(dir / "wide/a.py", call);
  REQUIRE(format_tree(dir.path()).status.ok());
  CHECK(read_file(dir / "narrow/a.py") != call);
  CHECK(read_file(dir / "wide/a.py") == call);
}

TEST_CASE("style profiles: every file in config/profiles is built in, and unknown names are refused",
          "[cleanup][format]") {
  std::set<std::string> on_disk;
  for (const auto& e : fs::directory_iterator(fs::path(FTI_SOURCE_DIR) / "config/profiles")) {
    on_disk.insert(e.path().stem().string());
  }
  auto names = style_profile_names();
  CHECK(std::set<std::string>(names.begin(), names.end()) == on_disk);
  for (const auto& name : names) {
    auto p = find_style_profile(name);
    INFO(name);
    REQUIRE(p.ok());
    auto text = read_file(fs::path(FTI_SOURCE_DIR) / "config/profiles" / (name + ".toml"));
    CHECK(parse_style_profile(name, text).ok());
  }
  CHECK(find_style_profile("")->name == "default");
  auto unknown = find_style_profile("fancy");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().code == errc::bad_request);
  CHECK(unknown.error().message.find("default, google, compact") != std::string::npos);
  CHECK_FALSE(parse_style_profile("x", "indent = 0\n").ok());
  CHECK_FALSE(parse_style_profile("x", "quotes = \"backtick\"\n").ok());
  CHECK_FALSE(parse_style_profile("x", "colour = true\n").ok());
}

TEST_CASE("the pipeline formats and lists the tools unless formatters are off", "[cleanup][format]") {
  if (!have("black")) return;
  TempDir dir;
  write_file(dir / "in/app.py", "x=( 1 )\n");
  PipelineOptions options;
  options.work_dir = dir / "work";
  options.format.tools_dir = tools_dir();
  SECTION("on") {
    auto out = run_pipeline(dir / "in", dir / "out.zip", options);
    REQUIRE(out.ok());
    CHECK(out->report.tools.count("black") == 1);
    CHECK(out->report.to_json().find("\"tools\":{\"black\":\"") != std::string::npos);
    CHECK(out->report.to_markdown().find("Formatters: black ") != std::string::npos);
    CHECK(changed_by_format(out->report, "app.py"));
    CHECK(out->report.timings_ms.count("format") == 1);
  }
  SECTION("off (clean --no-format)") {
    options.formatters = false;
    auto out = run_pipeline(dir / "in", dir / "out.zip", options);
    REQUIRE(out.ok());
    CHECK(out->report.tools.empty());
    CHECK_FALSE(changed_by_format(out->report, "app.py"));
    CHECK(out->report.timings_ms.count("format") == 0);
  }
  SECTION("an unknown profile fails before any work") {
    options.profile = "nope";
    auto out = run_pipeline(dir / "in", dir / "out.zip", options);
    REQUIRE_FALSE(out.ok());
    CHECK(out.error().code == errc::bad_request);
    CHECK_FALSE(fs::exists(dir / "out.zip"));
  }
}

TEST_CASE("formatter_for maps names and shebangs", "[cleanup][format]") {
  CHECK(formatter_for("a/b.CPP", "") == "clang-format");
  CHECK(formatter_for("x.proto", "") == "clang-format");
  CHECK(formatter_for("x.pyi", "") == "black");
  CHECK(formatter_for("x.tsx", "") == "prettier");
  CHECK(formatter_for("x.yml", "") == "prettier");
  CHECK(formatter_for("x.min.js", "") == "");
  CHECK(formatter_for("package-lock.json", "") == "");
  CHECK(formatter_for("bin/run", "#!/bin/sh -e\necho\n") == "shfmt");
  CHECK(formatter_for("bin/run", "#!/usr/bin/env python3\n") == "");
  CHECK(formatter_for("z.sh", "#!/bin/zsh\n") == "");
  CHECK(formatter_for("Makefile", "") == "");
  CHECK(formatter_for("View.m", "#import <UIKit/UIKit.h>\n@implementation View\n@end\n") == "clang-format");
  CHECK(formatter_for("stats.m", "% MATLAB\nx = [1 -2 3];\n") == "");  // spaces separate values there
}

}  // namespace
}  // namespace fti::cleanup
