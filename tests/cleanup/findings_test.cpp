// The findings a user reads in the report: each rule fires on a real case and stays quiet on
// the near miss next to it.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "../../src/cleanup/line_counts.hpp"
#include "../../src/cleanup/redaction.hpp"
#include "../../src/cleanup/secret_scan.hpp"
#include "../../src/cleanup/syntax_check.hpp"
#include "cleanup_test_util.hpp"
#include "fti/cleanup/pass.hpp"
#include "fti/cleanup/pipeline.hpp"

namespace fti::cleanup {
namespace {

using testing::TempDir;
using testing::write_file;
namespace fs = std::filesystem;

Report run_on(const fs::path& root, std::unique_ptr<Pass> pass) {
  Report report;
  PassContext ctx{root, report, {}};
  REQUIRE(pass->run(ctx).ok());
  return report;
}

Report run_checks(const fs::path& root) { return run_on(root, make_checks_pass()); }

std::vector<Finding> with_rule(const Report& r, const std::string& rule) {
  std::vector<Finding> out;
  for (const auto& f : r.findings) {
    if (f.rule == rule) out.push_back(f);
  }
  return out;
}

bool has_note(const Report& r, const std::string& text) {
  for (const auto& n : r.notes) {
    if (n.find(text) != std::string::npos) return true;
  }
  return false;
}

std::string all_rules(const Report& r) {
  std::string out;
  for (const auto& f : r.findings) out += f.path + ":" + std::to_string(f.line) + " " + f.rule + "; ";
  return out;
}

// ---- generic secrets --------------------------------------------------------------------

TEST_CASE("generic secrets: random values assigned to secret names, masked and redacted",
          "[cleanup][findings]") {
  struct Case {
    std::string before, secret, after;
  };
  const Case cases[] = {
      {"DB_PASSWORD=", "hT9#qL2mZx7!vR4k", ""},
      {"    \"api_key\": \"", "a8f5f167f44f4964e6c998dee827110c", "\","},
      {"client_secret: '", "Zq3xV8nR2tY6wP1sK5mJ9hL4", "'"},
      {"const authToken = `", "Xk29Bf83Lq0Zr7Wm4Ts1Yp6Nd5", "`;"},
      {"SECRET_KEY = \"", "django-insecure-k2#9x!v@4m7$8wq^z0p3+lfd", "\""},
      {"access_key := \"", "Qm7Tz2Lx9Rv4Kp8Wn3Hs", "\""},
  };
  for (const Case& c : cases) {
    std::string line = c.before + c.secret + c.after;
    INFO(line);
    auto spans = detail::secret_spans(line);
    REQUIRE(spans.size() == 1);
    CHECK(spans[0].rule == "generic-secret");
    CHECK(line.substr(spans[0].begin, spans[0].end - spans[0].begin) == c.secret);
    std::string masked = detail::mask_secrets(line);
    CHECK(masked.find(c.secret) == std::string::npos);
    CHECK(masked.find("[redacted]") != std::string::npos);
  }

  TempDir dir;
  write_file(dir / "root/.env", "# local\nDB_PASSWORD=hT9#qL2mZx7!vR4k\n");
  Report report = run_on(dir / "root", make_secrets_pass());
  REQUIRE(report.findings.size() == 1);
  const Finding& f = report.findings[0];
  CHECK(f.rule == "generic-secret");
  CHECK(f.kind == "secret");
  CHECK(f.severity == "medium");
  CHECK(f.line == 2);
  CHECK(f.message.find("hT9#qL2mZx7!vR4k") == std::string::npos);
  CHECK(f.message.find("hT9#************") != std::string::npos);
}

TEST_CASE("generic secrets: placeholders, lookups and word-like values are not secrets",
          "[cleanup][findings]") {
  for (const char* line : {
           "password = \"changeme\"",
           "DB_PASSWORD=${DB_PASSWORD}",
           "api_key: \"<your-api-key-goes-here>\"",
           "token = \"xxxxxxxxxxxxxxxxxxxxxxxx\"",
           "SECRET_KEY = os.environ[\"SECRET_KEY_2024_PROD\"]",
           "const token = process.env.GITHUB_TOKEN_V2;",
           "password = settings.database_password_v2",
           "test_password = \"password1234567890\"",
           "TOKEN = \"test-token-1234567890\"",
           "secret = \"my-secret-token-value-123\"",
           "auth_url = \"https://auth.example.com/o/oauth2/token\"",
           "token_type = \"Bearer_JWT_RS256_v2024x\"",
           "password_hash = \"5f4dcc3b5aa765d61d8327deb882cf99\"",
           "if password == \"Zq3xV8nR2tY6wP1sK5mJ9hL4\":",
           "author = \"Zq3xV8nR2tY6wP1sK5mJ9hL4\"",
           "api_key = \"YOUR_API_KEY_1234567890abcDEF\"",
           "password: \"example-Zq3xV8nR2tY6wP1sK\"",
           "The token is Zq3xV8nR2tY6wP1sK5mJ9hL4 in prose",
           "    \"NextToken\": \"eyJOZXh0VG9rZW4iOiBudWxsLCAiYm90b190cnVuY2F0ZV9hbW91bnQiOiAyfQ==\"",
           "--client-token 4752a8b1-9c3e-4f7d-b2a6-0e5d8c1f9a37",
           "ClientToken: 4752a8b1-9c3e-4f7d-b2a6-0e5d8c1f9a37",
           "\"ChangeToken\": \"abcd12f2-46da-4fdb-b8d5-fbd4c466928f\"",
           "\"secret\": \"ExclusiveStartTableName\"",
           "password = \"Config.Database.PasswordV2\"",
           "{\"output_token\": \"DistributionList.NextMarker\"}",
       }) {
    INFO(line);
    CHECK_FALSE(detail::line_has_secret(line));
  }
}

TEST_CASE("AWS's documentation example keys are reported low, and still redacted",
          "[cleanup][findings]") {
  TempDir dir;
  write_file(dir / "root/docs.md", "id: AKIAIOSFODNN7EXAMPLE\nreal: AKIAZ2K7Q4ZTXJ5W3NRM\n");
  Report report = run_on(dir / "root", make_secrets_pass());
  REQUIRE(report.findings.size() == 2);
  CHECK(report.findings[0].severity == "low");
  CHECK(report.findings[0].message.find("documentation example") != std::string::npos);
  CHECK(report.findings[1].severity == "high");
  CHECK(detail::mask_secrets("id: AKIAIOSFODNN7EXAMPLE") == "id: [redacted]");
}

// ---- gitleaks formats the older rules missed ----------------------------------------------

TEST_CASE("secrets: more AWS prefixes, Slack app tokens and webhooks, Stripe prod keys",
          "[cleanup][findings]") {
  struct Case {
    std::string line, secret, rule;
  };
  const std::string webhook_path = "T0ABCDEFG/B0ABCDEFGHI/" + std::string("aBcDeFgHiJkLmNoPqRsTuVwX");
  const Case cases[] = {
      {"id = ABIAZ2K7Q4ZTXJ5W3NRM", "ABIAZ2K7Q4ZTXJ5W3NRM", "aws-access-key-id"},
      {"id = ACCAZ2K7Q4ZTXJ5W3NRM", "ACCAZ2K7Q4ZTXJ5W3NRM", "aws-access-key-id"},
      {"SLACK_APP=xapp-1-A0123456789-1234567890123-0a1b2c3d4e5f", "xapp-1-A0123456789-1234567890123-0a1b2c3d4e5f",
       "slack-token"},
      {"url: https://hooks.slack.com/services/" + webhook_path, webhook_path, "slack-webhook"},
      {"key = 'sk_prod_51H8abcDEF123ghiJKL456'", "sk_prod_51H8abcDEF123ghiJKL456", "stripe-key"},
  };
  for (const Case& c : cases) {
    INFO(c.line);
    auto spans = detail::secret_spans(c.line);
    REQUIRE(spans.size() == 1);
    CHECK(spans[0].rule == c.rule);
    CHECK(c.line.substr(spans[0].begin, spans[0].end - spans[0].begin) == c.secret);
  }
  for (const char* line : {"ABIA1234", "see https://hooks.slack.com/services/ for setup",
                           "xapp-short", "sk_test_51H8abcDEF123ghiJKL456"}) {
    INFO(line);
    CHECK_FALSE(detail::line_has_secret(line));
  }
}

// ---- merge conflicts ----------------------------------------------------------------------

TEST_CASE("merge-conflict: one finding per conflict, underlines are not markers",
          "[cleanup][findings]") {
  TempDir dir;
  auto root = dir / "root";
  write_file(root / "app.py",
             "x = 1\n"
             "<<<<<<< HEAD\n"
             "y = 2\n"
             "=======\n"
             "y = 3\n"
             ">>>>>>> feature\n"
             "z = 4\n"
             "<<<<<<< HEAD\n"
             "a = 1\n"
             "||||||| base\n"
             "a = 0\n"
             "=======\n"
             "a = 2\n"
             ">>>>>>> other\n");
  write_file(root / "README.rst",
             "Title\n=======\n\nSection\n=======\ntext\n>>>>>>> quoted in a mail\n");
  write_file(root / "notes.md", "<<<<<<< only a start marker\ntext\n=======\n");
  write_file(root / "arrows.txt", "<<<<<<< left\n>>>>>>> right: no ======= line between\n");
  Report report = run_checks(root);
  auto found = with_rule(report, "merge-conflict");
  REQUIRE(found.size() == 2);
  CHECK(found[0].path == "app.py");
  CHECK(found[0].line == 2);
  CHECK(found[0].severity == "high");
  CHECK(found[0].kind == "merge_conflict");
  CHECK(found[1].line == 8);
}

// ---- case conflicts -----------------------------------------------------------------------

TEST_CASE("case-conflict: paths equal but for case, folders included", "[cleanup][findings]") {
  TempDir dir;
  auto root = dir / "root";
  write_file(root / "README.md", "a\n");
  write_file(root / "readme.md", "b\n");
  write_file(root / "Docs/a.md", "c\n");
  write_file(root / "docs/b.md", "d\n");
  write_file(root / "Docs/same.md", "e\n");  // conflicts too, but inside folders already named
  write_file(root / "docs/same.md", "f\n");
  write_file(root / "src/Main.java", "class Main {}\n");
  write_file(root / "test/Main.java", "class Main {}\n");  // same name, other folder: fine
  Report report = run_checks(root);
  auto found = with_rule(report, "case-conflict");
  INFO(all_rules(report));
  REQUIRE(found.size() == 2);
  CHECK(found[0].path == "Docs");
  CHECK(found[0].message.find("docs") != std::string::npos);
  CHECK(found[1].path == "README.md");
  CHECK(found[1].message.find("readme.md") != std::string::npos);
}

// ---- data files -------------------------------------------------------------------------

TEST_CASE("invalid JSON, TOML and XML with the line of the error", "[cleanup][findings]") {
  TempDir dir;
  auto root = dir / "root";
  write_file(root / "bad.json", "{\n  \"a\": 1,\n  \"b\": [1, 2,],\n  \"c\": 3\n}\n");
  write_file(root / "good.json", "{\"a\": [1, 2, {\"b\": null}], \"s\": \"// not a comment\"}\n");
  write_file(root / "tsconfig.json", "{\n  // comments are allowed here\n  \"compilerOptions\": {},\n}\n");
  write_file(root / ".vscode/settings.json", "{ /* jsonc */ }\n");
  write_file(root / "bad.toml", "[a]\nx = 1\ny = \n");
  write_file(root / "good.toml", "[a]\nx = 1\ny = \"two\"\n[[b]]\nz = [1, 2]\n");
  write_file(root / "bad.xml", "<?xml version=\"1.0\"?>\n<root>\n  <a>text</b>\n</root>\n");
  write_file(root / "good.xml",
             "<?xml version=\"1.0\"?>\n<!DOCTYPE r [<!ENTITY e \"x\">]>\n<!-- c -->\n"
             "<r a='1' b=\"&amp;&e;&#x41;\"><![CDATA[<not a tag>]]><x/>t &lt; u</r>\n");
  write_file(root / "icon.svg", "<svg xmlns=\"http://www.w3.org/2000/svg\"><path d=\"M0 0\"/></svg>\n");
  Report report = run_checks(root);
  INFO(all_rules(report));
  auto json = with_rule(report, "invalid-json");
  REQUIRE(json.size() == 1);
  CHECK(json[0].path == "bad.json");
  CHECK(json[0].line == 3);
  CHECK(json[0].message.find("trailing comma") != std::string::npos);
  auto toml = with_rule(report, "invalid-toml");
  REQUIRE(toml.size() == 1);
  CHECK(toml[0].path == "bad.toml");
  CHECK(toml[0].line == 3);
  auto xml = with_rule(report, "invalid-xml");
  REQUIRE(xml.size() == 1);
  CHECK(xml[0].path == "bad.xml");
  CHECK(xml[0].line == 3);
  CHECK(xml[0].message.find("</b>") != std::string::npos);
}

TEST_CASE("the JSON locator names the usual mistakes and their lines", "[cleanup][findings]") {
  struct Case {
    std::string text;
    std::int64_t line;
    std::string says;
  };
  const Case cases[] = {
      {"{\n\"a\": 1\n\"b\": 2\n}", 3, "expected ','"},
      {"{\n  // c\n  \"a\": 1\n}", 2, "comments"},
      {"{\n  a: 1\n}", 2, "quoted key"},
      {"[1,\n 2\n", 3, "end of file"},
      {"{\"a\": 'x'}", 1, "double quotes"},
      {"{\"a\": 1}\n}", 2, "after the end"},
      {"{\"a\": \"open\n}", 1, "unterminated"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    auto e = detail::check_json(c.text);
    REQUIRE(e.has_value());
    CHECK(e->line == c.line);
    CHECK(e->message.find(c.says) != std::string::npos);
  }
  CHECK_FALSE(detail::check_json("\xEF\xBB\xBF{\"a\": [true, false, null, -1.5e3, \"\\\"\"]}"));
}

TEST_CASE("the XML checker accepts well-formed documents and names the first error",
          "[cleanup][findings]") {
  for (const char* good : {"<a/>", "<a><b c=\"1\" d='2'/></a>\n<!-- after -->\n",
                           "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ns:a xmlns:ns=\"u\">x&#10;y</ns:a>",
                           "<!DOCTYPE html><html><body>&nbsp;</body></html>"}) {
    INFO(good);
    auto e = detail::check_xml(good);
    CHECK_FALSE(e.has_value());
  }
  struct Case {
    const char* text;
    std::int64_t line;
  };
  for (const Case& c : {Case{"<a>\n<b>\n</a>", 3}, Case{"<a x=1/>", 1}, Case{"<a>\n & </a>", 2},
                        Case{"<a/><b/>", 1}, Case{"<a>\n<b x=\"1\" x=\"2\"/></a>", 2},
                        Case{"<a>\n\n", 3}, Case{"text", 1}, Case{"<a><!-- open </a>", 1}}) {
    INFO(c.text);
    auto e = detail::check_xml(c.text);
    REQUIRE(e.has_value());
    CHECK(e->line == c.line);
  }
}

// A file cut short (an upload truncated, a half-saved edit) is never well-formed; every cut
// must be caught, and none may crash the checkers.
TEST_CASE("every truncation of a JSON or XML document is reported", "[cleanup][findings]") {
  const std::string json = "{\"a\": [1, -2.5e3, \"x\\\"y\", true, null], \"b\": {}}";
  const std::string xml =
      "<?xml version=\"1.0\"?><r a='1'><b>t &amp; u</b><![CDATA[x]]><!-- c --><e/></r>";
  REQUIRE_FALSE(detail::check_json(json).has_value());
  REQUIRE_FALSE(detail::check_xml(xml).has_value());
  for (std::size_t n = 0; n < json.size(); ++n) {
    INFO(json.substr(0, n));
    CHECK(detail::check_json(json.substr(0, n)).has_value());
  }
  for (std::size_t n = 0; n < xml.size(); ++n) {
    INFO(xml.substr(0, n));
    CHECK(detail::check_xml(xml.substr(0, n)).has_value());
  }
}

TEST_CASE("invalid YAML is found by PyYAML in one child process", "[cleanup][findings]") {
  if (detail::python_with_yaml().empty()) {
    WARN("no python3 with PyYAML on PATH: only the note is checked");
  }
  TempDir dir;
  auto root = dir / "root";
  write_file(root / "ok.yml", "a: 1\nlist:\n  - x\n  - y\ntext: |\n  block\n");
  write_file(root / "cfn.yaml", "Resources:\n  B:\n    Value: !Ref Other\n---\nsecond: doc\n");
  write_file(root / "bad.yaml", "a: 1\nb: [1, 2\nc: 3\n");
  write_file(root / "tabs.yml", "a:\n\tb: 1\n");
  write_file(root / "chart/templates/d.yaml", "name: {{ .Values.name }}\n  bad: [\n");
  Report report = run_checks(root);
  INFO(all_rules(report));
  auto yaml = with_rule(report, "invalid-yaml");
  if (detail::python_with_yaml().empty()) {
    CHECK(yaml.empty());
    CHECK(has_note(report, "YAML files were not checked"));
    return;
  }
  REQUIRE(yaml.size() == 2);
  CHECK(yaml[0].path == "bad.yaml");
  CHECK(yaml[0].line >= 2);
  CHECK(yaml[1].path == "tabs.yml");
  CHECK(yaml[1].line == 2);
  CHECK(has_note(report, "template tags"));
}

// ---- shebang and run bit ------------------------------------------------------------------

TEST_CASE("shebang without the run bit and the run bit without a shebang", "[cleanup][findings]") {
  TempDir dir;
  auto root = dir / "root";
  write_file(root / "run.sh", "#!/bin/sh\necho hi\n");                 // not executable: finding
  write_file(root / "ok.sh", "#!/bin/sh\necho ok\n");                  // executable: fine
  write_file(root / "lib.py", "x = 1\n");                              // executable: finding
  write_file(root / "plain.txt", "text\n");                            // neither: fine
  write_file(root / "tool.bin", std::string("\x7f" "ELF\0\0\0", 7));   // binary: never
  write_file(root / "setup.bat", "@echo off\n");                       // Windows: no shebang needed
  fs::permissions(root / "ok.sh", fs::perms(0755));
  fs::permissions(root / "lib.py", fs::perms(0755));
  fs::permissions(root / "tool.bin", fs::perms(0755));
  fs::permissions(root / "setup.bat", fs::perms(0755));
  Report report = run_checks(root);
  INFO(all_rules(report));
  auto no_bit = with_rule(report, "shebang-not-executable");
  REQUIRE(no_bit.size() == 1);
  CHECK(no_bit[0].path == "run.sh");
  CHECK(no_bit[0].line == 1);
  auto no_shebang = with_rule(report, "executable-without-shebang");
  REQUIRE(no_shebang.size() == 1);
  CHECK(no_shebang[0].path == "lib.py");
}

TEST_CASE("run bits come through zip and tar extraction to the mode findings", "[cleanup][findings]") {
  using testing::Spec;
  for (testing::Format format : {testing::Format::zip, testing::Format::tar_gz}) {
    TempDir dir;
    testing::build_archive(dir / "in.archive", format,
                           {{"bin/run.sh", Spec::file, "#!/bin/sh\necho run\n", "", 0755},
                            {"tools/gen.py", Spec::file, "#!/usr/bin/env python3\nprint(1)\n", "", 0644},
                            {"lib/helper.sh", Spec::file, "echo helper\n", "", 0755},
                            {"README.txt", Spec::file, "read me\n", "", 0644}});
    fs::rename(dir / "in.archive", dir / (format == testing::Format::zip ? "in.zip" : "in.tar.gz"));
    PipelineOptions options;
    options.work_dir = dir.path();
    options.formatters = false;
    auto out = run_pipeline(dir / (format == testing::Format::zip ? "in.zip" : "in.tar.gz"),
                            dir / "out.zip", options);
    REQUIRE(out.ok());
    const Report& report = out->report;
    INFO(all_rules(report));
    auto no_bit = with_rule(report, "shebang-not-executable");
    REQUIRE(no_bit.size() == 1);
    CHECK(no_bit[0].path == "tools/gen.py");
    auto no_shebang = with_rule(report, "executable-without-shebang");
    REQUIRE(no_shebang.size() == 1);
    CHECK(no_shebang[0].path == "lib/helper.sh");
  }
}

TEST_CASE("a tree where every file is executable gets a note, not a finding per file",
          "[cleanup][findings]") {
  TempDir dir;
  auto root = dir / "root";
  for (const char* name : {"a.py", "b.py", "c.txt"}) {
    write_file(root / name, "x\n");
    fs::permissions(root / name, fs::perms(0777));
  }
  Report report = run_checks(root);
  CHECK(with_rule(report, "executable-without-shebang").empty());
  CHECK(has_note(report, "every file is marked executable"));
}

// ---- symlinks -----------------------------------------------------------------------------

TEST_CASE("broken-symlink: links to nothing, not links to files or folders", "[cleanup][findings]") {
  TempDir dir;
  auto root = dir / "root";
  write_file(root / "src/real.txt", "x\n");
  fs::create_symlink("real.txt", root / "src/good");
  fs::create_symlink("src", root / "docs-link");
  fs::create_symlink("missing.txt", root / "src/dangling");
  fs::create_symlink("../../outside", root / "src/escape");
  Report report = run_checks(root);
  auto found = with_rule(report, "broken-symlink");
  INFO(all_rules(report));
  REQUIRE(found.size() == 2);
  CHECK(found[0].path == "src/dangling");
  CHECK(found[0].message.find("missing.txt") != std::string::npos);
  CHECK(found[1].path == "src/escape");
  CHECK(found[1].message.find("outside the tree") != std::string::npos);
}

// ---- debug statements -------------------------------------------------------------------

TEST_CASE("debug statements in Python: in code only", "[cleanup][findings]") {
  TempDir dir;
  auto root = dir / "root";
  write_file(root / "app.py",
             "import os\n"
             "def f():\n"
             "    breakpoint()\n"
             "import pdb; pdb.set_trace()\n"
             "from ipdb import set_trace\n"
             "import sys, pudb\n"
             "# breakpoint() in a comment\n"
             "s = 'import pdb'\n"
             "doc = \"\"\"\n"
             "pdb.set_trace()\n"
             "\"\"\"\n"
             "self.breakpoint()\n"
             "def breakpoint(x):\n"
             "    pass\n"
             "import pdbx\n");
  Report report = run_checks(root);
  INFO(all_rules(report));
  std::vector<std::int64_t> lines;
  for (const auto& f : report.findings) {
    if (f.kind == "debug") lines.push_back(f.line);
  }
  CHECK(lines == std::vector<std::int64_t>{3, 4, 5, 6});
  CHECK(with_rule(report, "python-breakpoint").size() == 1);
  CHECK(with_rule(report, "python-breakpoint")[0].severity == "medium");
}

TEST_CASE("debug statements in JavaScript: debugger and stray console.log", "[cleanup][findings]") {
  TempDir dir;
  auto root = dir / "root";
  const std::string source =
      "function f(x) {\n"
      "  debugger;\n"
      "  console.log('x', x);\n"
      "  // console.log('commented');\n"
      "  const s = \"console.log(1); debugger;\";\n"
      "  const t = `debugger ${x}`;\n"
      "  const o = { debugger: 1 };\n"
      "  console.error('kept');\n"
      "  logger.console.log('member');\n"
      "}\n";
  write_file(root / "src/app.js", source);
  write_file(root / "src/view.tsx", "export const V = () => {\n  console.log(1);\n  return null;\n};\n");
  write_file(root / "src/app.test.js", source);
  write_file(root / "scripts/build.js", "console.log('building');\n");
  write_file(root / "bin/tool.js", "#!/usr/bin/env node\nconsole.log('usage');\n");
  write_file(root / "dist/app.min.js", "console.log(1);\n");
  Report report = run_checks(root);
  INFO(all_rules(report));
  auto debugger = with_rule(report, "js-debugger");
  REQUIRE(debugger.size() == 2);  // app.js and app.test.js: a debugger is never meant to stay
  CHECK(debugger[0].path == "src/app.js");
  CHECK(debugger[0].line == 2);
  auto console = with_rule(report, "js-console-log");
  REQUIRE(console.size() == 2);
  CHECK(console[0].path == "src/app.js");
  CHECK(console[0].line == 3);
  CHECK(console[0].severity == "low");
  CHECK(console[1].path == "src/view.tsx");
}

// ---- duplicates and caps ------------------------------------------------------------------

TEST_CASE("duplicate-file: one finding per group naming the others; empty files never",
          "[cleanup][findings]") {
  TempDir dir;
  auto root = dir / "root";
  write_file(root / "a/logo.txt", "same content\n");
  write_file(root / "b/logo.txt", "same content\n");
  write_file(root / "c/copy.txt", "same content\n");
  write_file(root / "d/other.txt", "same length!\n");  // same size, other bytes
  write_file(root / "e/__init__.py", "");
  write_file(root / "f/__init__.py", "");
  Report report = run_checks(root);
  auto found = with_rule(report, "duplicate-file");
  INFO(all_rules(report));
  REQUIRE(found.size() == 1);
  CHECK(found[0].path == "a/logo.txt");
  CHECK(found[0].severity == "info");
  CHECK(found[0].message.find("b/logo.txt") != std::string::npos);
  CHECK(found[0].message.find("c/copy.txt") != std::string::npos);
  CHECK(found[0].message.find("other.txt") == std::string::npos);
}

TEST_CASE("findings are capped per rule with a note saying how many more", "[cleanup][findings]") {
  TempDir dir;
  auto root = dir / "root";
  std::string conflicts;
  for (int k = 0; k < 250; ++k) conflicts += "<<<<<<< a\nx\n=======\ny\n>>>>>>> b\n";
  write_file(root / "big.txt", conflicts);
  write_file(root / "run.sh", "#!/bin/sh\n");
  Report report = run_checks(root);
  CHECK(with_rule(report, "merge-conflict").size() == 200);
  CHECK(with_rule(report, "shebang-not-executable").size() == 1);  // other rules unaffected
  CHECK(has_note(report, "50 more merge-conflict findings"));
}

// ---- languages ----------------------------------------------------------------------------

TEST_CASE("line counts: code, comment and blank as tokei counts them", "[cleanup][findings]") {
  struct Case {
    const char* language;
    const char* text;
    std::int64_t code, comment, blank;
  };
  const Case cases[] = {
      // 1 comment, 2 code (include, int main), 1 blank, 3 comment (block), 1 code with a
      // trailing comment, 1 code holding "//" and "/*" in a string, 1 code.
      {"C",
       "// header\n#include <stdio.h>\n\n/*\n * block\n */\nint main(void) { /* x */\n"
       "  puts(\"// not a comment /*\");\n}\n",
       4, 4, 1},
      // docstring lines are comments; a string assigned is code; # in a string is code.
      {"Python",
       "\"\"\"Module doc.\n\nMore.\n\"\"\"\nimport os  # why\n\n# comment\nx = '''\n# data\n'''\n"
       "s = \"# not\"\n",
       5, 4, 2},
      {"JavaScript", "const a = `\n// in template\n`;\n/* one */ b();\n// c\n", 4, 1, 0},
      {"Shell", "#!/bin/sh\necho $# # count\n\n  # indented\n", 1, 2, 1},
      {"Lua", "--[[ block\nstill ]]\nlocal x = 1 -- note\n", 1, 2, 0},
      {"HTML", "<!-- a\nb -->\n<p>x</p>\n\n", 1, 2, 1},
      {"JSON", "{\n\n  \"a\": 1\n}\n", 3, 0, 1},
      {"Rust", "/* outer /* inner */ still */\nlet c = 'a'; // x\n", 1, 1, 0},
  };
  for (const Case& c : cases) {
    INFO(c.language << ": " << c.text);
    detail::LineCounts n = detail::count_lines(c.language, c.text);
    CHECK(n.code == c.code);
    CHECK(n.comment == c.comment);
    CHECK(n.blank == c.blank);
  }
}

TEST_CASE("the inventory reports code, comment and blank lines per language", "[cleanup][findings]") {
  TempDir dir;
  auto root = dir / "root";
  write_file(root / "a.py", "# c\nx = 1\n\n");
  write_file(root / "b.py", "\"\"\"doc\"\"\"\ny = 2\n");
  Report report = run_on(root, make_inventory_pass());
  const LanguageStats& py = report.languages.at("Python");
  CHECK(py.files == 2);
  CHECK(py.lines == 5);
  CHECK(py.code == 2);
  CHECK(py.comment == 2);
  CHECK(py.blank == 1);
  CHECK(report.to_json().find("\"Python\":{\"files\":2,\"lines\":5,\"code\":2,\"comment\":2,\"blank\":1}") !=
        std::string::npos);
  CHECK(report.to_markdown().find("| Python | 2 | 5 | 2 | 2 | 1 |") != std::string::npos);
}

}  // namespace
}  // namespace fti::cleanup
