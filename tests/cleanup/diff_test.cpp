// The unified diff of a job (`clean --diff`, GET /api/v1/jobs/{id}/diff): what it shows for
// each kind of change, that it is cut cleanly at its cap, and that `git apply` turns the
// input into the output with it.
#include <fcntl.h>
#include <sys/wait.h>

#include <algorithm>
#include <catch2/catch.hpp>

#include "../../src/cleanup/line_diff.hpp"
#include "../../src/cleanup/tree_diff.hpp"
#include "cleanup_test_util.hpp"
#include "fakes/fake_llm_client.hpp"
#include "fti/cleanup/pipeline.hpp"

namespace fti::cleanup {
namespace {

using testing::TempDir;
using testing::read_file;
using testing::write_file;
namespace fs = std::filesystem;

struct DiffRun {
  PipelineOptions options;
  std::vector<std::pair<int, std::string>> progress;
  explicit DiffRun(const TempDir& dir) {
    options.work_dir = dir / "work";
    options.diff_path = dir / "changes.patch";
    options.on_progress = [this](int p, const std::string& s) { progress.emplace_back(p, s); };
  }
};

int run_shell(const std::string& command) {
  int status = std::system(("timeout 60 " + command + " >/dev/null 2>&1").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Applies the diff with git to a copy of the input; `git apply` must accept every part.
fs::path apply_to_copy(const TempDir& dir, const fs::path& input) {
  fs::path copy = dir / "applied";
  fs::copy(input, copy, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  std::string patch = (dir / "changes.patch").string();
  REQUIRE(run_shell("git -C " + copy.string() + " apply --check " + patch) == 0);
  REQUIRE(run_shell("git -C " + copy.string() + " apply " + patch) == 0);
  return copy;
}

// Every file of the output is in the patched copy, byte for byte; what the copy has beyond
// that lies in a removed folder (a one-line note in the diff, not a deletion).
void check_applied_matches_output(const TempDir& dir, const fs::path& applied, const std::string& removed_folder) {
  fs::create_directory(dir / "out");
  REQUIRE(extract_archive(dir / "out.zip", dir / "out", {}).ok());
  std::set<std::string> out_files;
  for (const auto& rel : testing::list_tree(dir / "out")) {
    if (fs::is_directory(dir / "out" / rel)) continue;
    out_files.insert(rel);
    INFO(rel);
    CHECK(read_file(applied / rel) == read_file(dir / "out" / rel));
  }
  for (const auto& rel : testing::list_tree(applied)) {
    if (fs::is_directory(applied / rel) || out_files.count(rel)) continue;
    INFO(rel);
    CHECK(rel.rfind(removed_folder, 0) == 0);
  }
}

std::size_t count_of(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

TEST_CASE("the diff shows line endings, whitespace, a removed folder in one line and a removed file",
          "[cleanup][diff]") {
  TempDir dir;
  const fs::path in = dir / "project";
  write_file(in / "win.txt", "alpha\r\nbeta\r\n");
  write_file(in / "ws.py", "a = 1\nb = 2\nc = 3\nd = 4\ne = 5   \nf = 6\ng = 7\nh = 8\ni = 9\n");
  write_file(in / "node_modules/dep/index.js", "module.exports = 1;\n");
  write_file(in / "node_modules/dep/package.json", "{}\n");
  write_file(in / ".DS_Store", "junk");
  write_file(in / "logo.png", std::string("\x89PNG\r\n\x1a\n\0\0\0", 11));
  write_file(in / "same.txt", "untouched\n");
  DiffRun run(dir);
  auto result = run_pipeline(in, dir / "out.zip", run.options);
  REQUIRE(result.ok());
  const std::string diff = read_file(dir / "changes.patch");
  INFO(diff);

  // CRLF -> LF: said in words, and the hunk holds the carriage returns as git would.
  CHECK(diff.find("# normalize; line endings: CRLF -> LF\ndiff --git a/win.txt b/win.txt\n--- a/win.txt\n"
                  "+++ b/win.txt\n@@ -1,2 +1,2 @@\n-alpha\r\n-beta\r\n+alpha\n+beta\n") != std::string::npos);
  // One line changed in the middle: three lines of context each side.
  CHECK(diff.find("diff --git a/ws.py b/ws.py\n--- a/ws.py\n+++ b/ws.py\n@@ -2,7 +2,7 @@\n b = 2\n c = 3\n d = 4\n"
                  "-e = 5   \n+e = 5\n f = 6\n g = 7\n h = 8\n") != std::string::npos);
  // The dependency folder is one line, none of its files.
  CHECK(count_of(diff, "node_modules") == 1);
  CHECK(diff.find("# removed folder node_modules/ (2 files): installed dependencies") != std::string::npos);
  CHECK(diff.find("# removed: macOS folder metadata\ndiff --git a/.DS_Store b/.DS_Store\ndeleted file mode 100644\n"
                  "--- a/.DS_Store\n+++ /dev/null\n@@ -1 +0,0 @@\n-junk\n\\ No newline at end of file\n") !=
        std::string::npos);
  CHECK(diff.find("logo.png") == std::string::npos);
  CHECK(diff.find("same.txt") == std::string::npos);

  const DiffSummary& summary = result->report.diff;
  CHECK(summary.made);
  CHECK(summary.files == 3);  // win.txt, ws.py, .DS_Store
  CHECK(summary.folders == 1);
  CHECK(summary.lines_added == 3);
  CHECK(summary.lines_removed == 4);
  CHECK(summary.bytes == static_cast<std::int64_t>(diff.size()));
  CHECK_FALSE(summary.truncated);
  CHECK(result->report.to_json().find(R"("diff":{"files":3,"folders":1,"lines_added":3,"lines_removed":4,)") !=
        std::string::npos);
  std::string md = result->report.to_markdown();
  CHECK(md.find("## Diff\n\n3 files changed, 3 lines added, 4 removed; 1 folder removed, one line each.") !=
        std::string::npos);
  CHECK(md.find("GET /api/v1/jobs/<id>/diff") != std::string::npos);
  CHECK(md.find("| normalize | 2 | 3 | 3 |") != std::string::npos);
  CHECK(md.find("| `win.txt` | 2 | 2 |") != std::string::npos);

  check_applied_matches_output(dir, apply_to_copy(dir, in), "node_modules/");
  // The diff has its own stage, before the archive is packed; progress only moves forward.
  auto diff_stage = std::find(run.progress.begin(), run.progress.end(), std::make_pair(88, std::string("diff")));
  auto pack_stage = std::find(run.progress.begin(), run.progress.end(), std::make_pair(90, std::string("pack")));
  CHECK(diff_stage < pack_stage);
  CHECK(pack_stage != run.progress.end());
  CHECK(std::is_sorted(run.progress.begin(), run.progress.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; }));
}

TEST_CASE("the diff shows a rewritten file and a created README that git apply reproduces", "[cleanup][diff][llm]") {
  TempDir dir;
  const fs::path in = dir / "project";
  write_file(in / "calc.py",
             "import os\n\n\ndef total(items):\n    t = 0\n    for i in items:\n        t += i\n    return t   \n");
  const std::string readme = "# Calc\n\nSums numbers. Run `python3 calc.py`.\n";
  fakes::FakeLlmClient client;
  client.script(llm::Tier::local, fakes::FakeLlmClient::Reply::answer("def total(items):\n    return sum(items)\n"),
                "rewrite");
  client.script(llm::Tier::local, fakes::FakeLlmClient::Reply::answer(readme), "readme");
  client.script(llm::Tier::local, fakes::FakeLlmClient::Reply::answer("- Add tests\n"), "structure");
  DiffRun run(dir);
  run.options.llm.client = &client;
  run.options.llm.min_size_ratio = 0.2;
  auto result = run_pipeline(in, dir / "out.zip", run.options);
  REQUIRE(result.ok());
  const std::string diff = read_file(dir / "changes.patch");
  INFO(diff);
  CHECK(diff.find("# created by llm-readme\ndiff --git a/README.md b/README.md\nnew file mode 100644\n--- /dev/null\n"
                  "+++ b/README.md\n@@ -0,0 +1,3 @@\n+# Calc\n+\n+Sums numbers. Run `python3 calc.py`.\n") == 0);
  CHECK(diff.find("# normalize, llm-rewrite\ndiff --git a/calc.py b/calc.py\n") != std::string::npos);
  CHECK(diff.find("-    return t   \n") != std::string::npos);
  CHECK(diff.find("+    return sum(items)\n") != std::string::npos);
  check_applied_matches_output(dir, apply_to_copy(dir, in), "-");
}

// clang-format and black rewrite the files they are given in place; the diff must still show
// what they did, not lose the original the diff compares with.
TEST_CASE("files a formatter rewrote in place are shown as hunks that git apply reproduces", "[cleanup][diff][format]") {
  TempDir dir;
  const fs::path in = dir / "project";
  write_file(in / "main.c", "int main(void){return 0;}\n");
  write_file(in / "tool.py", "x = {'a':1}\n");
  DiffRun run(dir);
  auto result = run_pipeline(in, dir / "out.zip", run.options);
  REQUIRE(result.ok());
  const auto& tools = result->report.tools;
  if (!tools.count("clang-format") || !tools.count("black")) {
    WARN("clang-format or black is not installed (scripts/test installs both): nothing to check");
    return;
  }
  const std::string diff = read_file(dir / "changes.patch");
  INFO(diff);
  CHECK(diff.find("changed in place") == std::string::npos);
  CHECK(diff.find("-int main(void){return 0;}\n") != std::string::npos);
  CHECK(diff.find("-x = {'a':1}\n+x = {\"a\": 1}\n") != std::string::npos);
  CHECK(read_file(in / "main.c") == "int main(void){return 0;}\n");  // the input is never touched
  check_applied_matches_output(dir, apply_to_copy(dir, in), "-");
}

TEST_CASE("a diff past limits.max_diff_bytes ends with a line saying so, whole files only", "[cleanup][diff]") {
  TempDir dir;
  const fs::path in = dir / "project";
  for (int k = 0; k < 40; ++k) {
    write_file(in / ("f" + std::to_string(100 + k) + ".txt"), std::string(200, 'x') + "   \r\nend\r\n");
  }
  DiffRun run(dir);
  run.options.max_diff_bytes = 4096;
  auto result = run_pipeline(in, dir / "out.zip", run.options);
  REQUIRE(result.ok());
  const std::string diff = read_file(dir / "changes.patch");
  const DiffSummary& summary = result->report.diff;
  CHECK(summary.truncated);
  CHECK(summary.files == 40);
  CHECK(summary.files_not_shown > 0);
  CHECK(summary.files_not_shown < 40);
  CHECK(static_cast<std::int64_t>(diff.size()) <= 4096);
  CHECK(static_cast<std::int64_t>(count_of(diff, "diff --git ")) == 40 - summary.files_not_shown);
  std::string last_line = diff.substr(diff.rfind('\n', diff.size() - 2) + 1);
  CHECK(last_line == "# diff truncated at limits.max_diff_bytes (4096 bytes): " +
                         std::to_string(summary.files_not_shown) +
                         " of 40 changed file(s) not shown; the cleaned archive has them all\n");
  CHECK(result->report.to_markdown().find("The diff was cut at limits.max_diff_bytes") != std::string::npos);
  // What is there is still a patch git takes.
  fs::copy(in, dir / "applied", fs::copy_options::recursive);
  CHECK(run_shell("git -C " + (dir / "applied").string() + " apply --check " + (dir / "changes.patch").string()) == 0);
}

TEST_CASE("without --diff no originals are kept and the report has no diff", "[cleanup][diff]") {
  TempDir dir;
  write_file(dir / "project/a.txt", "a  \n");
  PipelineOptions options;
  options.work_dir = dir / "work";
  auto result = run_pipeline(dir / "project", dir / "out.zip", options);
  REQUIRE(result.ok());
  CHECK_FALSE(result->report.diff.made);
  CHECK(result->report.timings_ms.count("snapshot") == 0);
  CHECK(result->report.to_json().find("\"diff\"") == std::string::npos);
  CHECK(result->report.to_markdown().find("## Diff") == std::string::npos);
}

TEST_CASE("a file written in place, not replaced, is named in the diff rather than shown wrong", "[cleanup][diff]") {
  TempDir dir;
  write_file(dir / "tree/a.txt", "before\n");
  write_file(dir / "tree/b.txt", "same\n");
  auto files = detail::list_files(dir / "tree");
  REQUIRE(files.ok());
  auto original = detail::OriginalTree::take(*files, dir / "original");
  REQUIRE(original.ok());
  // Replaced through a new inode, as the passes do: the original survives.
  REQUIRE(detail::write_file_atomic(dir / "tree/b.txt", "changed\n", 0644).ok());
  // Written through the shared inode, as an in-place formatter would: the original is lost.
  timespec later[2] = {{0, UTIME_OMIT}, {2'000'000'000, 0}};
  write_file(dir / "tree/a.txt", "after\n");
  ::utimensat(AT_FDCWD, (dir / "tree/a.txt").c_str(), later, 0);
  auto after = detail::list_files(dir / "tree");
  REQUIRE(after.ok());
  Report report;
  DiffSummary summary;
  REQUIRE(detail::write_tree_diff(*original, *after, report, dir / "d.patch", {}, summary).ok());
  const std::string diff = read_file(dir / "d.patch");
  CHECK(diff.find("# a.txt: changed in place by a pass") != std::string::npos);
  CHECK(diff.find("-before") == std::string::npos);
  CHECK(diff.find("-same\n+changed\n") != std::string::npos);
  CHECK(summary.files == 2);
}

// Applies an edit script to `a`, to check it really turns a into b.
std::vector<std::string_view> apply_script(const std::vector<std::string_view>& a,
                                           const std::vector<std::string_view>& b,
                                           const std::vector<detail::LineOp>& ops) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  std::size_t j = 0;
  for (auto op : ops) {
    if (op == detail::LineOp::keep) {
      REQUIRE(a.at(i) == b.at(j));
      out.push_back(a.at(i++));
      ++j;
    } else if (op == detail::LineOp::remove) {
      ++i;
    } else {
      out.push_back(b.at(j++));
    }
  }
  CHECK(i == a.size());
  return out;
}

TEST_CASE("edit scripts turn one text into the other, shortest when cheap enough", "[cleanup][diff]") {
  struct Case {
    std::string before, after;
  };
  const std::vector<Case> cases = {
      {"", "x\ny\n"},
      {"x\ny\n", ""},
      {"a\nb\nc\nd\n", "a\nc\nd\ne\n"},
      {"a\r\nb\r\n", "a\nb\n"},
      {"1\n2\n3\n4\n5\n6\n", "6\n5\n4\n3\n2\n1\n"},
      {"keep\nold\nkeep\n", "keep\nnew\nkeep\nmore"},
  };
  for (const auto& c : cases) {
    INFO(c.before << " -> " << c.after);
    auto a = detail::split_lines_with_endings(c.before);
    auto b = detail::split_lines_with_endings(c.after);
    auto shortest = detail::line_edit_script(a, b);
    CHECK(apply_script(a, b, shortest) == b);
    auto counts = detail::count_line_changes(c.before, c.after);
    std::int64_t edits = std::count_if(shortest.begin(), shortest.end(),
                                       [](detail::LineOp op) { return op != detail::LineOp::keep; });
    // count_line_changes ignores line endings, so it can only find fewer edits.
    CHECK(edits >= counts.added + counts.removed);
    if (c.before.find('\r') == std::string::npos) CHECK(edits == counts.added + counts.removed);
    // Past the cost limit the pairing by position is still exact.
    CHECK(apply_script(a, b, detail::line_edit_script(a, b, 0)) == b);
  }
}

}  // namespace
}  // namespace fti::cleanup
