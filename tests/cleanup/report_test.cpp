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
  CHECK(changed[0].get_bool("created") == false);
  auto llm = *root.get("llm");
  // Unused: all zeros, every provider present, nothing skipped.
  for (const char* key : {"calls", "cached", "tokens_in", "tokens_out", "failed_calls", "refused_calls",
                          "escalations"}) {
    INFO(key);
    CHECK(llm.get_int(key) == 0);
  }
  CHECK(llm.get_double("cost_usd") == 0.0);
  for (const char* provider : {"ollama", "openai", "anthropic"}) {
    INFO(provider);
    auto p = llm.get("by_provider")->get(provider);
    REQUIRE(p);
    CHECK(p->get_int("calls") == 0);
    CHECK(p->get_double("cost_usd") == 0.0);
  }
  CHECK(llm.get("skipped")->items().empty());
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

TEST_CASE("the llm section counts answers by provider and groups skips by reason", "[cleanup][report]") {
  Report r = sample();
  r.llm.record_answer("ollama", 100, 50, 0, false);
  r.llm.record_answer("openai", 200, 80, 0.002, false);
  r.llm.record_answer("openai", 200, 80, 0, true);
  r.llm.skip("too large for the model", "big.py");
  r.llm.skip("llm off", "");
  r.llm.skip("too large for the model", "huge.c");
  r.record_created("README.md", "llm-readme", 12);

  auto doc = json::Document::parse(r.to_json());
  REQUIRE(doc.ok());
  auto llm = *doc->root().get("llm");
  CHECK(llm.get_int("calls") == 3);
  CHECK(llm.get_int("cached") == 1);
  CHECK(llm.get_int("tokens_in") == 500);
  CHECK(llm.get_int("tokens_out") == 210);
  CHECK(*llm.get_double("cost_usd") == Approx(0.002));
  auto openai = *llm.get("by_provider")->get("openai");
  CHECK(openai.get_int("calls") == 2);
  CHECK(openai.get_int("tokens_in") == 400);
  CHECK(llm.get("by_provider")->get("anthropic")->get_int("calls") == 0);
  auto skipped = llm.get("skipped")->items();
  REQUIRE(skipped.size() == 2);
  CHECK(skipped[0].get_string("reason") == "too large for the model");
  CHECK(skipped[0].get_int("files") == 2);
  REQUIRE(skipped[0].get("paths")->items().size() == 2);
  CHECK(skipped[0].get("paths")->items()[1].as_string() == "huge.c");
  CHECK(skipped[1].get_string("reason") == "llm off");
  CHECK(skipped[1].get_int("files") == 0);
  auto created = doc->root().get("changed")->items().back();
  CHECK(created.get_string("path") == "README.md");
  CHECK(created.get_bool("created") == true);

  std::string md = r.to_markdown();
  CHECK(md.find("## LLM") != std::string::npos);
  CHECK(md.find("| openai | 2 | 400 | 160 | 0.0020 |") != std::string::npos);
  CHECK(md.find("| too large for the model | 2 | `big.py`, `huge.c` |") != std::string::npos);
  CHECK(md.find("`README.md` (new)") != std::string::npos);
  CHECK(sample().to_markdown().find("## LLM") == std::string::npos);  // nothing to say
}

}  // namespace
}  // namespace fti::cleanup
