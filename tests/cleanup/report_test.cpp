#include "fti/cleanup/report.hpp"

#include <catch2/catch.hpp>

#include "fti/core/json.hpp"

namespace fti::cleanup {
namespace {

Report sample() {
  Report r;
  r.files_in = 5;
  r.files_out = 2;
  r.bytes_in = 1000;
  r.bytes_out = 400;
  r.removed.push_back({"node_modules/", "installed dependencies", 3});
  r.record_change("a.py", "normalize", 1, 2);
  r.record_change("a.py", "format", 3, 0);
  r.record_change("b \"quoted\".md", "normalize", 0, 1);
  r.findings.push_back({"a.py", 3, "secret", "aws-access-key-id", "high", "AKIA****"});
  r.languages["Python"] = {1, 10};
  r.notes.push_back("a note | with a pipe");
  r.timings_ms["extract"] = 12;
  return r;
}

TEST_CASE("record_change merges passes on the same file", "[cleanup][report]") {
  Report r = sample();
  REQUIRE(r.changed.size() == 2);
  CHECK(r.changed[0].passes == std::vector<std::string>{"normalize", "format"});
  CHECK(r.changed[0].lines_added == 4);
  CHECK(r.changed[0].lines_removed == 2);
  CHECK(r.files_removed() == 3);
}

TEST_CASE("report JSON has every key of the contract", "[cleanup][report]") {
  Report r = sample();
  auto doc = json::Document::parse(r.to_json());
  REQUIRE(doc.ok());
  json::Value root = doc->root();
  for (const char* key : {"summary", "files_in", "files_out", "bytes_in", "bytes_out", "languages",
                          "removed", "changed", "findings", "llm", "notes", "timings_ms"}) {
    INFO(key);
    CHECK(root.get(key).has_value());
  }
  CHECK(root.get_int("files_in") == 5);
  auto removed = root.get("removed")->items();
  REQUIRE(removed.size() == 1);
  CHECK(removed[0].get_string("path") == "node_modules/");
  CHECK(removed[0].get_int("files") == 3);
  auto changed = root.get("changed")->items();
  REQUIRE(changed.size() == 2);
  CHECK(changed[1].get_string("path") == "b \"quoted\".md");
  CHECK(changed[0].get("passes")->items().size() == 2);
  auto finding = root.get("findings")->items().at(0);
  for (const char* key : {"path", "line", "kind", "rule", "severity", "message"}) {
    CHECK(finding.get(key).has_value());
  }
  CHECK(root.get("languages")->get("Python")->get_int("lines") == 10);
  auto llm = *root.get("llm");
  CHECK(llm.get_int("calls") == 0);
  CHECK(llm.get("by_provider")->is_object());
  auto skipped = llm.get("skipped")->items();
  REQUIRE(skipped.size() == 1);
  CHECK(skipped[0].get_string("reason") == "llm.mode is off");
  CHECK(skipped[0].get_int("files") == 2);
  CHECK(root.get("timings_ms")->get_int("extract") == 12);
}

TEST_CASE("result JSON and Markdown", "[cleanup][report]") {
  Report r = sample();
  auto doc = json::Document::parse(r.result_json());
  REQUIRE(doc.ok());
  CHECK(doc->root().get_int("files_in") == 5);
  CHECK(doc->root().get_int("files_out") == 2);
  CHECK(doc->root().get_int("files_changed") == 2);
  CHECK(doc->root().get_int("files_removed") == 3);
  CHECK(doc->root().get_int("bytes_out") == 400);

  std::string md = r.to_markdown();
  CHECK(md.find("# Cleanup report") != std::string::npos);
  CHECK(md.find("| `node_modules/` | installed dependencies | 3 |") != std::string::npos);
  CHECK(md.find("a note \\| with a pipe") != std::string::npos);
  CHECK(md.find("## Findings") != std::string::npos);
}

}  // namespace
}  // namespace fti::cleanup
