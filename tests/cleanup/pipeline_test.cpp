#include "fti/cleanup/pipeline.hpp"

#include <catch2/catch.hpp>

#include "cleanup_test_util.hpp"
#include "fakes/fake_llm_client.hpp"
#include "fti/core/json.hpp"

namespace fti::cleanup {
namespace {

using testing::TempDir;
using testing::write_file;
namespace fs = std::filesystem;

// A small messy project: junk, trailing spaces, a secret, a link, a git folder.
void make_messy_project(const fs::path& root) {
  write_file(root / "src/app.py", "import os   \r\nKEY = 'AKIAIOSFODNN7EXAMPLE'\r\n# TODO: tidy\r\nX = 1  # TODO AKIAIOSFODNN7EXAMPLE\r\n");
  write_file(root / "src/util.js", "export const s = `keep  \n`;  \n");
  write_file(root / "README.md", "Hello  \nworld\n\n\n");
  write_file(root / "node_modules/dep/index.js", "module.exports = 1;\n");
  write_file(root / "node_modules/dep/package.json", "{}\n");
  write_file(root / ".DS_Store", "junk");
  write_file(root / ".git/HEAD", "ref: refs/heads/main   \n");
  write_file(root / "logo.png", std::string("\x89PNG\r\n\x1a\n\0\0\0", 11));
  fs::create_symlink("src/app.py", root / "app-link.py");
}

std::set<std::string> files_only(const fs::path& root) {
  std::set<std::string> out;
  for (const auto& p : testing::list_tree(root)) {
    if (fs::is_symlink(root / p) || !fs::is_directory(root / p)) out.insert(p);
  }
  return out;
}

// Every input file is in the output or under a removed entry, as the report says.
void check_accounted(const std::set<std::string>& inputs, const std::set<std::string>& outputs,
                     const std::string& report_json) {
  auto doc = json::Document::parse(report_json);
  REQUIRE(doc.ok());
  std::vector<std::string> removed;
  for (const auto& r : doc->root().get("removed")->items()) removed.push_back(*r.get_string("path"));
  for (const auto& in : inputs) {
    bool covered = outputs.count(in) > 0;
    for (const auto& r : removed) {
      covered = covered || in == r || (r.back() == '/' && in.rfind(r, 0) == 0);
    }
    INFO(in);
    CHECK(covered);
  }
  CHECK(doc->root().get_int("files_in") == static_cast<std::int64_t>(inputs.size()));
  CHECK(doc->root().get_int("files_out") == static_cast<std::int64_t>(outputs.size()));
}

struct Run {
  std::vector<std::pair<int, std::string>> progress;
  PipelineOptions options;
  explicit Run(const fs::path& work) {
    options.work_dir = work;
    options.on_progress = [this](int p, const std::string& s) { progress.emplace_back(p, s); };
  }
};

void check_output(const TempDir& dir, const fs::path& input_root, const Report& report) {
  fs::create_directory(dir / "out");
  REQUIRE(extract_archive(dir / "out.zip", dir / "out", {}).ok());
  auto out = dir / "out";
  // black ran (a blank line after the imports, double quotes); the secret scan came after it.
  CHECK(testing::read_file(out / "src/app.py") ==
        "import os\n\nKEY = \"AKIAIOSFODNN7EXAMPLE\"\n# TODO: tidy\nX = 1  # TODO AKIAIOSFODNN7EXAMPLE\n");
  CHECK(testing::read_file(out / "src/util.js") == "export const s = `keep  \n`;\n");
  CHECK(testing::read_file(out / "README.md") == "Hello  \nworld\n");
  CHECK(testing::read_file(out / ".git/HEAD") == "ref: refs/heads/main   \n");
  CHECK(testing::read_file(out / "logo.png") == testing::read_file(input_root / "logo.png"));
  CHECK(fs::is_symlink(out / "app-link.py"));
  CHECK_FALSE(fs::exists(out / "node_modules"));
  CHECK_FALSE(fs::exists(out / ".DS_Store"));
  check_accounted(files_only(input_root), files_only(out), report.to_json());
  CHECK(report.files_removed() == 3);
  bool secret = false;
  for (const auto& f : report.findings) secret |= f.kind == "secret" && f.path == "src/app.py" && f.line == 3;
  CHECK(secret);
  CHECK(report.languages.count("Python") == 1);
  // No message anywhere quotes the key, TODO excerpts included.
  CHECK(report.to_json().find("AKIAIOSFODNN7EXAMPLE") == std::string::npos);
  CHECK(report.timings_ms.count("normalize") == 1);
}

TEST_CASE("pipeline end to end on a folder", "[cleanup][pipeline]") {
  TempDir dir;
  make_messy_project(dir / "project");
  Run run(dir / "work");
  auto result = run_pipeline(dir / "project", dir / "out.zip", run.options);
  REQUIRE(result.ok());
  check_output(dir, dir / "project", result->report);
  REQUIRE(run.progress.size() >= 3);
  CHECK(run.progress.front().first == 0);
  CHECK(run.progress.back() == std::make_pair(100, std::string("done")));
  CHECK(std::is_sorted(run.progress.begin(), run.progress.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; }));
  // The scratch space is gone and the input is untouched.
  CHECK(fs::is_empty(dir / "work"));
  CHECK(fs::exists(dir / "project/node_modules/dep/index.js"));
}

TEST_CASE("pipeline end to end on a zip", "[cleanup][pipeline]") {
  TempDir dir;
  make_messy_project(dir / "project");
  REQUIRE(pack_zip(dir / "project", dir / "in.zip").ok());
  Run run(dir / "work");
  auto result = run_pipeline(dir / "in.zip", dir / "out.zip", run.options);
  REQUIRE(result.ok());
  check_output(dir, dir / "project", result->report);
}

TEST_CASE("pipeline refuses hostile input and writes no output", "[cleanup][pipeline]") {
  TempDir dir;
  testing::build_archive(dir / "evil.tar", testing::Format::tar,
                         {{"../escape.txt", testing::Spec::file, "x"}});
  Run run(dir / "work");
  auto result = run_pipeline(dir / "evil.tar", dir / "out.zip", run.options);
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().code == "unsafe_archive");
  CHECK_FALSE(fs::exists(dir / "out.zip"));
  CHECK_FALSE(fs::exists(dir / "escape.txt"));
}

TEST_CASE("pipeline skips symlinks leaving an input folder, and says so", "[cleanup][pipeline]") {
  TempDir dir;
  write_file(dir / "secret.txt", "outside");
  write_file(dir / "project/a.txt", "a\n");
  fs::create_symlink("../secret.txt", dir / "project/escape");
  Run run(dir / "work");
  auto result = run_pipeline(dir / "project", dir / "out.zip", run.options);
  REQUIRE(result.ok());
  REQUIRE(result->report.removed.size() == 1);
  CHECK(result->report.removed[0].path == "escape");
  CHECK(result->report.files_in == 2);
  CHECK(result->report.files_out == 1);
}

TEST_CASE("pipeline stops when cancelled", "[cleanup][pipeline]") {
  TempDir dir;
  make_messy_project(dir / "project");
  Run run(dir / "work");
  int checks = 0;
  run.options.cancelled = [&checks] { return ++checks > 2; };
  auto result = run_pipeline(dir / "project", dir / "out.zip", run.options);
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().code == "cancelled");
  CHECK_FALSE(fs::exists(dir / "out.zip"));
  CHECK(fs::is_empty(dir / "work"));
}

TEST_CASE("pipeline reports a missing input and a non-archive", "[cleanup][pipeline]") {
  TempDir dir;
  Run run(dir / "work");
  auto missing = run_pipeline(dir / "nope.zip", dir / "out.zip", run.options);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == "not_found");
  write_file(dir / "notes.txt", "hello\n");
  auto text = run_pipeline(dir / "notes.txt", dir / "out.zip", run.options);
  REQUIRE_FALSE(text.ok());
  CHECK(text.error().code == "bad_archive");
}

TEST_CASE("pipeline without a model notes once that the LLM is off", "[cleanup][pipeline][llm]") {
  TempDir dir;
  make_messy_project(dir / "project");
  Run run(dir / "work");
  auto result = run_pipeline(dir / "project", dir / "out.zip", run.options);
  REQUIRE(result.ok());
  const LlmUsage& llm = result->report.llm;
  REQUIRE(llm.skipped.size() == 1);
  CHECK(llm.skipped[0].reason == "llm off");
  // app-link.py is a symlink: not a file a model would rewrite.
  CHECK(llm.skipped[0].paths == std::vector<std::string>{"src/app.py", "src/util.js"});
  CHECK(llm.calls == 0);
}

TEST_CASE("pipeline with a model rewrites files and ships a generated README", "[cleanup][pipeline][llm]") {
  TempDir dir;
  write_file(dir / "project/calc.py", "import os\n\n\ndef total(items):\n    t = 0\n    for i in items:\n        t += i\n    return t   \n");
  const std::string clean = "def total(items):\n    return sum(items)\n";
  const std::string readme = "# Calc\n\nSums numbers. Run `python3 calc.py`.\n";
  fakes::FakeLlmClient client;
  client.script(llm::Tier::local, fakes::FakeLlmClient::Reply::answer(clean + "\n"), "rewrite");
  client.script(llm::Tier::local, fakes::FakeLlmClient::Reply::answer(readme), "readme");
  client.script(llm::Tier::local, fakes::FakeLlmClient::Reply::answer("- Add a tests/ folder\n"), "structure");
  Run run(dir / "work");
  run.options.llm.client = &client;
  run.options.llm.min_size_ratio = 0.2;
  auto result = run_pipeline(dir / "project", dir / "out.zip", run.options);
  REQUIRE(result.ok());

  fs::create_directory(dir / "out");
  REQUIRE(extract_archive(dir / "out.zip", dir / "out", {}).ok());
  CHECK(testing::read_file(dir / "out/README.md") == readme);
  CHECK(testing::read_file(dir / "out/calc.py") == clean);
  check_accounted(files_only(dir / "project"), files_only(dir / "out"), result->report.to_json());
  const Report& report = result->report;
  CHECK(report.files_out == 2);
  REQUIRE(report.changed.size() == 2);
  CHECK(report.changed[0].passes == std::vector<std::string>{"normalize", "llm-rewrite"});
  CHECK(report.changed[1].path == "README.md");
  CHECK(report.changed[1].created);
  CHECK(report.languages.at("Markdown").files == 1);  // the inventory sees the shipped tree
  CHECK(report.llm.calls == 3);
  CHECK(report.llm.skipped.empty());
  bool llm_progress = false;
  for (const auto& [percent, stage] : run.progress) llm_progress |= stage == "llm";
  CHECK(llm_progress);
  CHECK(std::is_sorted(run.progress.begin(), run.progress.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; }));
  CHECK(fs::is_empty(dir / "work"));  // the verifier's scratch copies went with the job
}

}  // namespace
}  // namespace fti::cleanup

namespace fti::cleanup {
namespace {

TEST_CASE("what extraction kept as it was is in the report", "[cleanup][pipeline]") {
  TempDir dir;
  testing::build_archive(dir / "inner.zip", testing::Format::zip, {{"x.txt", testing::Spec::file, "x\n"}});
  testing::build_archive(dir / "in.tar", testing::Format::tar,
                         {{"vendor/inner.zip", testing::Spec::file, testing::read_file(dir / "inner.zip")},
                          {"r\xe9sum\xe9.txt", testing::Spec::file, "cv\n"},
                          {"a.txt", testing::Spec::file, "first\n"},
                          {"a.txt", testing::Spec::file, "second\n"}});
  Run run(dir / "work");
  auto result = run_pipeline(dir / "in.tar", dir / "out.zip", run.options);
  REQUIRE(result.ok());
  const Report& report = result->report;
  bool nested = false;
  for (const auto& f : report.findings) nested |= f.kind == "nested_archive" && f.path == "vendor/inner.zip";
  CHECK(nested);
  auto note_with = [&report](const std::string& words) {
    return std::any_of(report.notes.begin(), report.notes.end(),
                       [&words](const std::string& n) { return n.find(words) != std::string::npos; });
  };
  CHECK(note_with("not valid UTF-8"));
  CHECK(note_with("r\\xE9sum\\xE9.txt"));
  CHECK(note_with("last copy was kept"));
  // The odd name is shipped byte for byte, the nested archive unopened.
  fs::create_directory(dir / "out");
  REQUIRE(extract_archive(dir / "out.zip", dir / "out", {}).ok());
  CHECK(testing::read_file(dir / "out/r\xe9sum\xe9.txt") == "cv\n");
  CHECK(testing::read_file(dir / "out/vendor/inner.zip") == testing::read_file(dir / "inner.zip"));
  CHECK(testing::read_file(dir / "out/a.txt") == "second\n");
}

}  // namespace
}  // namespace fti::cleanup
