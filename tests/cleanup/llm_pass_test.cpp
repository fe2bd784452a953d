#include "fti/cleanup/llm_pass.hpp"

#include <catch2/catch.hpp>
#include <numeric>

#include "cleanup_test_util.hpp"
#include "fakes/fake_llm_client.hpp"
#include "fti/core/json.hpp"

namespace fti::cleanup {
namespace {

using fakes::FakeLlmClient;
using Reply = FakeLlmClient::Reply;
using llm::Tier;
using testing::TempDir;
using testing::write_file;
namespace fs = std::filesystem;

const std::string kMessy =
    "import os\n"
    "import sys\n"
    "\n"
    "\n"
    "def total(items):\n"
    "    # old = 0\n"
    "    # for i in items:\n"
    "    #     old += i\n"
    "    t = 0\n"
    "    for i in items:\n"
    "        t += i\n"
    "    return t\n"
    "\n"
    "\n"
    "def main():\n"
    "    print(total([1, 2, 3]))\n";

const std::string kClean =
    "def total(items):\n"
    "    running_sum = 0\n"
    "    for item in items:\n"
    "        running_sum += item\n"
    "    return running_sum\n"
    "\n"
    "\n"
    "def main():\n"
    "    print(total([1, 2, 3]))\n";

std::string broken(std::string code) {
  return code.replace(code.find("def main():"), 11, "def main(:");
}

// A tree, a fake model and a report; runs the LLM passes the way the pipeline does.
struct Project {
  TempDir dir;
  fs::path root = dir / "root";
  FakeLlmClient client;
  Report report;
  std::function<bool(const std::string&)> protect;

  Project() { fs::create_directories(root); }

  LlmPassOptions options() {
    LlmPassOptions o;
    o.client = &client;
    o.scratch_dir = dir / "scratch";
    o.suggest_structure = false;
    return o;
  }
  Status run(std::unique_ptr<Pass> pass) {
    PassContext ctx{root, report, protect};
    return pass->run(ctx);
  }
  Status rewrite() { return run(make_llm_rewrite_pass(options())); }
  std::string read(const std::string& rel) const { return testing::read_file(root / rel); }

  const LlmSkip* skip(const std::string& reason) const {
    for (const auto& s : report.llm.skipped) {
      if (s.reason == reason) return &s;
    }
    return nullptr;
  }
  std::vector<std::string> skipped_paths(const std::string& reason) const {
    const LlmSkip* s = skip(reason);
    return s ? s->paths : std::vector<std::string>{"<no such reason: " + reason + ">"};
  }
};

TEST_CASE("an accepted local rewrite is written and reported", "[cleanup][llm]") {
  Project p;
  write_file(p.root / "app/calc.py", kMessy);
  p.client.script(Tier::local, Reply::answer(kClean));
  REQUIRE(p.rewrite().ok());

  CHECK(p.read("app/calc.py") == kClean);
  REQUIRE(p.report.changed.size() == 1);
  CHECK(p.report.changed[0].path == "app/calc.py");
  CHECK(p.report.changed[0].passes == std::vector<std::string>{"llm-rewrite"});
  CHECK(p.report.changed[0].lines_removed > 0);
  CHECK(p.report.changed[0].lines_added > 0);
  auto asks = p.client.asks();
  REQUIRE(asks.size() == 1);
  CHECK(asks[0].tier == Tier::local);
  CHECK(asks[0].task == "rewrite");
  CHECK(asks[0].system.find("top-level") != std::string::npos);
  CHECK(asks[0].prompt.find("app/calc.py") != std::string::npos);
  CHECK(asks[0].prompt.find("Python") != std::string::npos);
  CHECK(FakeLlmClient::first_fenced_block(asks[0].prompt) == kMessy);
  CHECK(p.report.llm.calls == 1);
  CHECK(p.report.llm.by_provider["ollama"].calls == 1);
  CHECK(p.report.llm.escalations == 0);
  CHECK(p.report.llm.skipped.empty());
}

TEST_CASE("an answer identical to the file changes nothing", "[cleanup][llm]") {
  Project p;
  write_file(p.root / "calc.py", kMessy);  // the fake echoes the file back
  REQUIRE(p.rewrite().ok());
  CHECK(p.read("calc.py") == kMessy);
  CHECK(p.report.changed.empty());
  CHECK(p.report.llm.calls == 1);
}

TEST_CASE("a local answer that does not parse escalates to the cloud tier", "[cleanup][llm]") {
  Project p;
  write_file(p.root / "calc.py", kMessy);
  p.client.script(Tier::local, Reply::answer(broken(kClean)));
  p.client.script(Tier::simple, Reply::answer(kClean));  // a 16-line script is simple
  REQUIRE(p.rewrite().ok());

  CHECK(p.read("calc.py") == kClean);
  auto asks = p.client.asks();
  REQUIRE(asks.size() == 2);
  CHECK(asks[0].tier == Tier::local);
  CHECK(asks[1].tier == Tier::simple);
  CHECK(asks[1].prompt == asks[0].prompt);
  CHECK(p.report.llm.escalations == 1);
  CHECK(p.report.llm.by_provider["ollama"].calls == 1);
  CHECK(p.report.llm.by_provider["openai"].calls == 1);
  CHECK(p.report.llm.cost_usd > 0);
}

std::string deep_python(int functions, int depth) {
  std::string out;
  for (int f = 0; f < functions; ++f) {
    out += "def f" + std::to_string(f) + "(x):\n";
    for (int d = 1; d <= depth; ++d) {
      out +=
          std::string(4 * static_cast<std::size_t>(d), ' ') + "if x > " + std::to_string(d) + ":\n";
    }
    out += std::string(4 * static_cast<std::size_t>(depth + 1), ' ') + "return x\n    return 0\n\n";
  }
  return out;
}

TEST_CASE("a complex file escalates to the complex tier", "[cleanup][llm]") {
  Project p;
  std::string code = deep_python(60, 7);
  code.pop_back();  // one final newline, as the normalize pass leaves it
  write_file(p.root / "engine.py", code);
  p.client.script(Tier::local, Reply::answer("def f0(:\n" + code.substr(9)));
  REQUIRE(p.rewrite().ok());  // the complex tier echoes the file: accepted, nothing to change
  auto asks = p.client.asks();
  REQUIRE(asks.size() == 2);
  CHECK(asks[1].tier == Tier::complex);
  CHECK(p.report.llm.by_provider["anthropic"].calls == 1);
  CHECK(p.read("engine.py") == code);
}

TEST_CASE("when every tier fails the file stays byte for byte", "[cleanup][llm]") {
  Project p;
  std::string original = kMessy + "\n\n# trailing note   \n";
  write_file(p.root / "calc.py", original);
  p.client.script(Tier::local,
                  Reply::failure(errc::llm_unavailable, "no Ollama instance is healthy"));
  p.client.script(Tier::simple, Reply::failure(errc::llm_unavailable, "openai: 503"));
  REQUIRE(p.rewrite().ok());

  CHECK(p.read("calc.py") == original);
  CHECK(p.report.changed.empty());
  CHECK(p.skipped_paths("no model could answer (llm_unavailable)") ==
        std::vector<std::string>{"calc.py"});
  CHECK(p.report.llm.failed_calls == 2);
  CHECK(p.report.llm.escalations == 1);  // the cloud tier was tried
  CHECK(p.report.llm.calls == 0);
}

TEST_CASE("answers that do not verify are rejected on every tier", "[cleanup][llm]") {
  std::string without_main = kClean.substr(0, kClean.find("\n\ndef main"));
  struct Case {
    Reply reply;
    std::string reason;
  };
  const Case cases[] = {
      {Reply::answer(without_main), "answer rejected: drops a top-level name"},
      {Reply::answer("Here is the cleaned code:\n```python\n" + kClean + "```\n"),
       "answer rejected: not code: prose around a Markdown fence"},
      {Reply::answer("This file sums a list of numbers and prints the total.\n"),
       "answer rejected: not code: reads like prose"},
      {Reply::answer(kClean + "\n\n# " + std::string(400, 'x') + "\n"),
       "answer rejected: size out of range"},
      {Reply::truncated(kClean), "answer rejected: truncated at max_tokens"},
      {Reply::answer(broken(kClean)), "answer rejected: does not parse"},
  };
  for (const Case& c : cases) {
    INFO(c.reason);
    Project p;
    write_file(p.root / "calc.py", kMessy);
    p.client.set_default(Tier::local, c.reply);
    p.client.set_default(Tier::simple, c.reply);
    REQUIRE(p.rewrite().ok());
    CHECK(p.read("calc.py") == kMessy);
    CHECK(p.report.changed.empty());
    CHECK(p.skipped_paths(c.reason) == std::vector<std::string>{"calc.py"});
    CHECK(p.client.asks().size() == 2);
    CHECK(p.report.llm.calls == 2);  // rejected answers are paid for and counted too
  }
}

TEST_CASE("an answer fenced as one Markdown block is unwrapped", "[cleanup][llm]") {
  Project p;
  write_file(p.root / "calc.py", kMessy);
  p.client.script(Tier::local, Reply::answer("```python\n" + kClean + "```"));
  REQUIRE(p.rewrite().ok());
  CHECK(p.read("calc.py") == kClean);
}

TEST_CASE("secrets never reach a prompt and are restored in the output", "[cleanup][llm]") {
  const std::string key = "AKIA" + std::string("Z7QWERTYUIOPASDF");
  const std::string token = "ghp_" + std::string(36, 'a');
  Project p;
  std::string original = "API_KEY = '" + key + "'\nTOKEN = \"" + token + "\"\n\n\n" + kMessy;
  write_file(p.root / "calc.py", original);
  write_file(p.root / ("keys/" + key + ".py"), "VALUE = 1\n");
  std::string cleaned = "API_KEY = '__FTI_SECRET_0__'\nTOKEN = \"__FTI_SECRET_1__\"\n\n\n" + kClean;
  p.client.script(Tier::local, Reply::answer(cleaned));
  REQUIRE(p.rewrite().ok());

  auto asks = p.client.asks();
  REQUIRE(asks.size() == 2);  // calc.py and the file whose name holds the key
  for (const auto& ask : asks) {
    CHECK(ask.prompt.find(key) == std::string::npos);
    CHECK(ask.prompt.find(token) == std::string::npos);
    CHECK(ask.system.find(key) == std::string::npos);
  }
  CHECK(asks[0].prompt.find("__FTI_SECRET_0__") != std::string::npos);
  CHECK(p.read("calc.py") == "API_KEY = '" + key + "'\nTOKEN = \"" + token + "\"\n\n\n" + kClean);
}

TEST_CASE("an answer that drops a redacted secret is rejected", "[cleanup][llm]") {
  const std::string key = "AKIA" + std::string("Z7QWERTYUIOPASDF");
  Project p;
  std::string original = "API_KEY = '" + key + "'\n\n\n" + kMessy;
  write_file(p.root / "calc.py", original);
  p.client.set_default(Tier::local, Reply::answer("API_KEY = ''\n\n\n" + kClean));
  p.client.set_default(Tier::simple, Reply::answer("API_KEY = ''\n\n\n" + kClean));
  REQUIRE(p.rewrite().ok());
  CHECK(p.read("calc.py") == original);
  CHECK(p.skipped_paths("answer rejected: would drop a redacted secret") ==
        std::vector<std::string>{"calc.py"});
}

TEST_CASE("the rewrite pass leaves alone what it should not touch", "[cleanup][llm]") {
  Project p;
  write_file(p.root / "a.py", kMessy);
  write_file(p.root / "b.py", kMessy);
  write_file(p.root / "big.py", kMessy + "# " + std::string(2000, 'x') + "\n");
  write_file(p.root / "vendor/lib.py", kMessy);
  write_file(p.root / "gen_pb2.py", kMessy);
  write_file(p.root / "schema.py", "# Code generated by schema-gen. DO NOT EDIT.\n" + kMessy);
  write_file(p.root / "web/app.min.js", "var a=1;" + std::string(1200, ';') + "\n");
  write_file(p.root / "web/types.ts", "export type Id = string;\n");
  write_file(p.root / "native/w.c",
             "#include \"widget.h\"\nint twice(widget_t w) { return w.n * 2; }\n");
  write_file(p.root / "keep/x.py", kMessy);
  write_file(p.root / "notes.txt", "not code\n");
  p.protect = [](const std::string& rel) { return rel.rfind("keep", 0) == 0; };
  LlmPassOptions o = p.options();
  o.max_files = 1;
  o.max_file_bytes = 1500;
  REQUIRE(p.run(make_llm_rewrite_pass(o)).ok());

  auto asks = p.client.asks();
  REQUIRE(asks.size() == 1);
  CHECK(asks[0].prompt.find("a.py") != std::string::npos);
  CHECK(p.skipped_paths("over the per-job rewrite limit") ==
        std::vector<std::string>{"b.py", "native/w.c", "web/types.ts"});
  CHECK(p.skipped_paths("too large for the model") == std::vector<std::string>{"big.py"});
  CHECK(p.skipped_paths("vendored code") == std::vector<std::string>{"vendor/lib.py"});
  CHECK(p.skipped_paths("generated file") == std::vector<std::string>{"gen_pb2.py", "schema.py"});
  CHECK(p.skipped_paths("minified file") == std::vector<std::string>{"web/app.min.js"});

  // With room for every file, the ones no answer could be verified for are not asked about.
  Project q;
  write_file(q.root / "web/types.ts", "export type Id = string;\n");
  write_file(q.root / "native/w.c",
             "#include \"widget.h\"\nint twice(widget_t w) { return w.n * 2; }\n");
  REQUIRE(q.rewrite().ok());
  CHECK(q.client.asks().empty());
  CHECK(q.skipped_paths("cannot be verified: no syntax checker for TypeScript") ==
        std::vector<std::string>{"web/types.ts"});
  CHECK(q.skipped_paths("cannot be verified: the original does not pass gcc on its own") ==
        std::vector<std::string>{"native/w.c"});
}

TEST_CASE("structural-only answers pass a lower threshold; at the default one none is asked",
          "[cleanup][llm]") {
  const std::string ts =
      "export function area(w: number, h: number) {\n  const r = w * h;\n  return r;\n}\n";
  const std::string ts_clean = "export function area(w: number, h: number) {\n  return w * h;\n}\n";
  Project p;
  write_file(p.root / "geo.ts", ts);
  p.client.set_default(Tier::local, Reply::answer(ts_clean));
  p.client.set_default(Tier::simple, Reply::answer(ts_clean));
  LlmPassOptions o = p.options();
  o.confidence_threshold = 0.6;
  REQUIRE(p.run(make_llm_rewrite_pass(o)).ok());
  CHECK(p.client.asks().size() == 1);  // 0.7 >= 0.6: the local answer is enough
  CHECK(p.read("geo.ts") == ts_clean);

  Project strict;  // at the default threshold no answer could pass: nothing is asked
  write_file(strict.root / "geo.ts", ts);
  REQUIRE(strict.rewrite().ok());
  CHECK(strict.client.asks().empty());
  CHECK(strict.read("geo.ts") == ts);
}

TEST_CASE("JavaScript and C answers are checked with node and gcc", "[cleanup][llm]") {
  Project p;
  const std::string js =
      "function add(a, b) {\n  var r = a + b;\n  return r;\n}\nmodule.exports = { add };\n";
  const std::string js_clean =
      "function add(a, b) {\n  return a + b;\n}\nmodule.exports = { add };\n";
  const std::string c =
      "#include <stdio.h>\n\nint add(int a, int b) {\n  int r = a + b;\n  return r;\n}\n";
  const std::string c_clean = "#include <stdio.h>\n\nint add(int a, int b) {\n  return a + b;\n}\n";
  write_file(p.root / "add.js", js);
  write_file(p.root / "add.c", c);
  // Sorted: add.c first, then add.js. Each gets a broken local answer and a good cloud one.
  p.client.script(
      Tier::local,
      Reply::answer("int add(int a, int b) {\n  return a + b\n}\n#include <stdio.h>\n"));
  p.client.script(Tier::simple, Reply::answer(c_clean));
  p.client.script(
      Tier::local,
      Reply::answer("function add(a, b) {\n  return a + ;\n}\nmodule.exports = { add };\n"));
  p.client.script(Tier::simple, Reply::answer(js_clean));
  REQUIRE(p.rewrite().ok());

  CHECK(p.client.asks().size() == 4);
  CHECK(p.read("add.c") == c_clean);
  CHECK(p.read("add.js") == js_clean);
  CHECK(p.report.changed.size() == 2);
  CHECK(p.report.llm.escalations == 2);
}

TEST_CASE("a spent budget stops further asks", "[cleanup][llm]") {
  Project p;
  write_file(p.root / "a.py", kMessy);
  write_file(p.root / "b.py", kMessy);
  p.client.script(Tier::local, Reply::failure(errc::llm_budget, "the job's LLM budget is spent"));
  REQUIRE(p.rewrite().ok());
  CHECK(p.client.asks().size() == 1);
  CHECK(p.skipped_paths("no model could answer (llm_budget)") == std::vector<std::string>{"a.py"});
  CHECK(p.skipped_paths("per-job LLM budget reached") == std::vector<std::string>{"b.py"});
  CHECK(p.report.llm.refused_calls == 1);  // the cap refuses before any call is made
  CHECK(p.report.llm.failed_calls == 0);
}

TEST_CASE("the rewrite pass reports progress and stops when cancelled", "[cleanup][llm]") {
  Project p;
  write_file(p.root / "a.py", kMessy);
  write_file(p.root / "b.py", kMessy);
  LlmPassOptions o = p.options();
  std::vector<std::pair<std::int64_t, std::int64_t>> progress;
  o.on_progress = [&](std::int64_t done, std::int64_t total) {
    progress.emplace_back(done, total);
  };
  REQUIRE(p.run(make_llm_rewrite_pass(o)).ok());
  CHECK(progress == std::vector<std::pair<std::int64_t, std::int64_t>>{{1, 2}, {2, 2}});

  o.cancelled = [] { return true; };
  auto cancelled = p.run(make_llm_rewrite_pass(o));
  REQUIRE_FALSE(cancelled.ok());
  CHECK(cancelled.error().code == "cancelled");
}

const std::string kReadme =
    "# Calc\n\nA small calculator that sums lists of numbers.\n\n## Layout\n\n- `calc.py`\n";

TEST_CASE("a README is written when the project has none", "[cleanup][llm]") {
  Project p;
  write_file(p.root / "calc.py", kMessy);
  write_file(p.root / "main.py", "from calc import main\nKEY = 'AKIAZ7QWERTYUIOPASDF'\nmain()\n");
  p.client.script(Tier::local, Reply::answer("```markdown\n" + kReadme + "```\n"), "readme");
  p.client.script(Tier::local,
                  Reply::answer("- Move calc.py into src/calc/\n- Add a tests/ folder\n"),
                  "structure");
  LlmPassOptions o = p.options();
  o.suggest_structure = true;
  REQUIRE(p.run(make_llm_readme_pass(o)).ok());

  CHECK(p.read("README.md") == kReadme);
  REQUIRE(p.report.changed.size() == 1);
  CHECK(p.report.changed[0].path == "README.md");
  CHECK(p.report.changed[0].created);
  CHECK(p.report.changed[0].passes == std::vector<std::string>{"llm-readme"});
  CHECK(p.report.changed[0].lines_added == 7);
  auto asks = p.client.asks();
  REQUIRE(asks.size() == 2);
  CHECK(asks[0].task == "readme");
  CHECK(asks[1].task == "structure");
  CHECK(asks[0].prompt.find("calc.py (Python)") != std::string::npos);
  CHECK(asks[0].prompt.find("from calc import main") !=
        std::string::npos);  // the entry file's excerpt
  for (const auto& ask : asks) CHECK(ask.prompt.find("AKIAZ7QWERTYUIOPASDF") == std::string::npos);
  int suggestions = 0;
  for (const auto& f : p.report.findings) {
    if (f.kind != "structure") continue;
    ++suggestions;
    CHECK(f.severity == "info");
  }
  CHECK(suggestions == 2);
  CHECK(p.report.llm.calls == 2);
}

TEST_CASE("no README is asked for when one exists", "[cleanup][llm]") {
  for (const char* name : {"README", "readme.txt", "Readme.rst"}) {
    Project p;
    write_file(p.root / "calc.py", kMessy);
    write_file(p.root / name, "about\n");
    REQUIRE(p.run(make_llm_readme_pass(p.options())).ok());
    CHECK(p.client.asks().empty());
    CHECK_FALSE(fs::exists(p.root / "README.md"));
    CHECK(p.report.changed.empty());
  }
}

TEST_CASE("a README answer that is not a Markdown document is not written", "[cleanup][llm]") {
  Project p;
  write_file(p.root / "calc.py", kMessy);
  p.client.set_default(Tier::local, Reply::answer("Sure, here is a README for you."));
  p.client.set_default(Tier::simple, Reply::answer("Sure, here is a README for you."));
  REQUIRE(p.run(make_llm_readme_pass(p.options())).ok());
  CHECK_FALSE(fs::exists(p.root / "README.md"));
  CHECK(p.skipped_paths("answer rejected: not a Markdown document with a # heading") ==
        std::vector<std::string>{"README.md"});

  Project off;
  write_file(off.root / "calc.py", kMessy);
  LlmPassOptions o = off.options();
  o.write_readme = false;
  REQUIRE(off.run(make_llm_readme_pass(o)).ok());
  CHECK(off.client.asks().empty());
  CHECK(off.skip("README generation off") != nullptr);
}

TEST_CASE("README excerpts are masked whole and then cut at a line end", "[cleanup][llm]") {
  Project p;
  // The token straddles the 2 KiB excerpt bound: cut first, its prefix would escape masking.
  const std::string token = "ghp_" + std::string("Zq7Xw3Vt9Rs5Pq1No8Ml4Kj6Hg2Fd0Sa3Yb5Uc");
  const std::string first = "# " + std::string(2030, 'x') + "\n";
  write_file(p.root / "main.py", first + "TOKEN = '" + token + "'\nprint(TOKEN)\n");
  REQUIRE(p.run(make_llm_readme_pass(p.options())).ok());
  auto asks = p.client.asks();
  REQUIRE(asks.size() == 1);
  CHECK(asks[0].prompt.find("ghp_") == std::string::npos);
  CHECK(asks[0].prompt.find("TOKEN") == std::string::npos);  // no line is cut in two
  CHECK(asks[0].prompt.find(first) != std::string::npos);

  Project keyfile;  // a key block that begins in the excerpt and ends after it
  std::string pem = "-----BEGIN OPENSSH PRIVATE KEY-----\n";
  for (int k = 0; k < 40; ++k) pem += "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAAB" + std::to_string(k) + "\n";
  pem += "-----END OPENSSH PRIVATE KEY-----\n";
  write_file(keyfile.root / "main.py", "KEY = '''\n" + pem + "'''\n");
  REQUIRE(keyfile.run(make_llm_readme_pass(keyfile.options())).ok());
  REQUIRE_FALSE(keyfile.client.asks().empty());
  for (const auto& ask : keyfile.client.asks()) {
    CHECK(ask.prompt.find("b3BlbnNz") == std::string::npos);
  }
}

TEST_CASE("asks refused without a call are neither failures nor escalations", "[cleanup][llm]") {
  Project p;
  write_file(p.root / "calc.py", kMessy);
  p.client.script(Tier::local, Reply::answer(broken(kClean)));  // rejected locally
  p.client.script(Tier::simple, Reply::failure(errc::llm_disabled, "cloud tiers are off"));
  REQUIRE(p.rewrite().ok());
  CHECK(p.report.llm.calls == 1);
  CHECK(p.report.llm.escalations == 0);
  CHECK(p.report.llm.failed_calls == 0);
  CHECK(p.report.llm.refused_calls == 1);
  std::string md = p.report.to_markdown();
  CHECK(md.find("1 answer (0 from the cache)") != std::string::npos);
  CHECK(md.find("1 ask refused before any call") != std::string::npos);
  CHECK(md.find("escalated") == std::string::npos);
  CHECK(md.find("failed") == std::string::npos);

  Project tried;  // a cloud call that was made and failed is an escalation and a failure
  write_file(tried.root / "calc.py", kMessy);
  tried.client.script(Tier::local, Reply::answer(broken(kClean)));
  tried.client.script(Tier::simple, Reply::failure(errc::llm_unavailable, "openai: 503"));
  REQUIRE(tried.rewrite().ok());
  CHECK(tried.report.llm.escalations == 1);
  CHECK(tried.report.llm.failed_calls == 1);
  CHECK(tried.report.llm.refused_calls == 0);
  CHECK(tried.report.to_markdown().find("1 ask sent on to a cloud model") != std::string::npos);
}

TEST_CASE("write_readme off: no README is asked for and the report says so", "[cleanup][llm]") {
  Project p;
  write_file(p.root / "calc.py", kMessy);
  LlmPassOptions o = p.options();
  o.write_readme = false;
  o.suggest_structure = true;
  p.client.script(Tier::local, Reply::answer("- Add a tests/ folder\n"), "structure");
  REQUIRE(p.run(make_llm_readme_pass(o)).ok());
  auto asks = p.client.asks();
  REQUIRE(asks.size() == 1);
  CHECK(asks[0].task == "structure");
  CHECK_FALSE(fs::exists(p.root / "README.md"));
  CHECK(p.skipped_paths("README generation off") == std::vector<std::string>{"README.md"});

  Project has;  // a project with a README has nothing to skip
  write_file(has.root / "calc.py", kMessy);
  write_file(has.root / "README.md", "# Calc\n");
  o = has.options();
  o.write_readme = false;
  REQUIRE(has.run(make_llm_readme_pass(o)).ok());
  CHECK(has.report.llm.skipped.empty());
  CHECK(has.client.asks().empty());
}

TEST_CASE("without a client both passes only note that the LLM is off", "[cleanup][llm]") {
  Project p;
  write_file(p.root / "calc.py", kMessy);
  write_file(p.root / "web/app.js", "export const a = 1;\n");
  LlmPassOptions o;  // no client
  REQUIRE(p.run(make_llm_rewrite_pass(o)).ok());
  REQUIRE(p.run(make_llm_readme_pass(o)).ok());
  REQUIRE(p.report.llm.skipped.size() == 1);
  CHECK(p.report.llm.skipped[0].reason == "llm off");
  CHECK(p.report.llm.skipped[0].paths == std::vector<std::string>{"calc.py", "web/app.js"});
  CHECK(p.read("calc.py") == kMessy);
  CHECK_FALSE(fs::exists(p.root / "README.md"));
  CHECK(p.report.changed.empty());
  CHECK(p.report.llm.calls == 0);
}

TEST_CASE("the report's llm section sums every answer by provider", "[cleanup][llm]") {
  Project p;
  write_file(p.root / "a.py", kMessy);
  write_file(p.root / "b.py", kMessy);
  p.client.script(Tier::local, Reply::answer(broken(kClean)));  // a.py: rejected locally
  p.client.script(Tier::simple, Reply::answer(kClean));         // accepted in the cloud
  p.client.script(Tier::local, Reply::from_cache(kClean));      // b.py: a cache hit
  REQUIRE(p.rewrite().ok());

  auto doc = json::Document::parse(p.report.to_json());
  REQUIRE(doc.ok());
  json::Value llm = *doc->root().get("llm");
  auto answers = p.client.answers();
  REQUIRE(answers.size() == 3);
  auto sum = [&](auto field) {
    return std::accumulate(answers.begin(), answers.end(), std::int64_t{0},
                           [&](std::int64_t n, const llm::Answer& a) { return n + field(a); });
  };
  CHECK(llm.get_int("calls") == 3);
  CHECK(llm.get_int("cached") == 1);
  CHECK(llm.get_int("escalations") == 1);
  CHECK(llm.get_int("tokens_in") == sum([](const llm::Answer& a) { return a.tokens_in; }));
  CHECK(llm.get_int("tokens_out") == sum([](const llm::Answer& a) { return a.tokens_out; }));
  CHECK(*llm.get_double("cost_usd") == Approx(answers[1].cost_usd));
  json::Value by = *llm.get("by_provider");
  CHECK(by.get("ollama")->get_int("calls") == 2);
  CHECK(by.get("ollama")->get_double("cost_usd") == 0.0);
  CHECK(by.get("openai")->get_int("calls") == 1);
  CHECK(by.get("openai")->get_int("tokens_in") == answers[1].tokens_in);
  CHECK(*by.get("openai")->get_double("cost_usd") == Approx(answers[1].cost_usd));
  CHECK(by.get("anthropic")->get_int("calls") == 0);
  CHECK(llm.get("skipped")->items().empty());
  CHECK(p.report.to_markdown().find("## LLM") != std::string::npos);
}

}  // namespace
}  // namespace fti::cleanup
