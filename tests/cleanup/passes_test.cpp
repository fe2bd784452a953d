#include <catch2/catch.hpp>

#include "../../src/cleanup/redaction.hpp"
#include "../../src/cleanup/secret_scan.hpp"
#include "cleanup_test_util.hpp"
#include "fti/cleanup/pass.hpp"

namespace fti::cleanup {
namespace {

using testing::TempDir;
using testing::write_file;
namespace fs = std::filesystem;

Status run_pass(Pass& pass, const fs::path& root, Report& report) {
  PassContext ctx{root, report, [](const std::string& rel) {
                    return rel == ".git" || rel.rfind(".git/", 0) == 0;
                  }};
  return pass.run(ctx);
}

const RemovedEntry* find_removed(const Report& r, const std::string& path) {
  for (const auto& e : r.removed) {
    if (e.path == path) return &e;
  }
  return nullptr;
}

TEST_CASE("junk pass removes junk and says why", "[cleanup][passes]") {
  TempDir dir;
  auto root = dir / "root";
  write_file(root / "node_modules/left-pad/index.js", "x");
  write_file(root / "node_modules/left-pad/package.json", "{}");
  write_file(root / "web/node_modules/a.js", "x");
  write_file(root / "src/__pycache__/m.cpython-311.pyc", "x");
  write_file(root / ".venv/pyvenv.cfg", "home = /usr");
  write_file(root / ".venv/lib/site.py", "x");
  write_file(root / "venv/notes.txt", "not a virtualenv");
  write_file(root / "rust/Cargo.toml", "[package]");
  write_file(root / "rust/target/debug/app", "bin");
  write_file(root / "docs/target/keep.md", "# kept: no Cargo.toml or pom.xml next to it");
  write_file(root / ".idea/workspace.xml", "x");
  write_file(root / "__MACOSX/._a", "x");
  write_file(root / ".DS_Store", "x");
  write_file(root / "img/Thumbs.db", "x");
  write_file(root / "._resource", "x");
  write_file(root / "old.pyc", "x");
  write_file(root / "build/main.o", "x");
  write_file(root / "Main.class", "x");
  write_file(root / ".main.c.swp", "x");
  write_file(root / "main.c~", "x");
  write_file(root / ".#main.c", "x");
  write_file(root / "npm-debug.log.1234", "x");
  write_file(root / "yarn-error.log", "x");
  write_file(root / ".git/objects/ab/cdef.o", "git object, kept");
  write_file(root / ".git/node_modules/x", "kept: inside .git");
  write_file(root / "src/main.c", "int main(void) { return 0; }\n");

  Report report;
  auto pass = make_junk_pass();
  REQUIRE(run_pass(*pass, root, report).ok());

  const RemovedEntry* nm = find_removed(report, "node_modules/");
  REQUIRE(nm != nullptr);
  CHECK(nm->files == 2);
  CHECK_FALSE(nm->reason.empty());
  for (const char* path : {"web/node_modules/", "src/__pycache__/", ".venv/", "rust/target/", ".idea/",
                           "__MACOSX/", ".DS_Store", "img/Thumbs.db", "._resource", "old.pyc",
                           "build/main.o", "Main.class", ".main.c.swp", "main.c~", ".#main.c",
                           "npm-debug.log.1234", "yarn-error.log"}) {
    INFO(path);
    const RemovedEntry* e = find_removed(report, path);
    REQUIRE(e != nullptr);
    CHECK_FALSE(e->reason.empty());
    CHECK_FALSE(fs::exists(root / path));
  }
  CHECK(find_removed(report, ".venv/")->files == 2);
  CHECK(report.files_removed() == 2 + 1 + 1 + 2 + 1 + 1 + 1 + 11);
  CHECK(fs::exists(root / "venv/notes.txt"));
  CHECK(fs::exists(root / "docs/target/keep.md"));
  CHECK(fs::exists(root / ".git/objects/ab/cdef.o"));
  CHECK(fs::exists(root / ".git/node_modules/x"));
  CHECK(fs::exists(root / "src/main.c"));
  CHECK(fs::exists(root / "rust/Cargo.toml"));
}

TEST_CASE("normalize pass rewrites text files and records line counts", "[cleanup][passes]") {
  TempDir dir;
  auto root = dir / "root";
  write_file(root / "a.py", "x = 1   \ny = 2\n\n\n");
  write_file(root / "ok.txt", "clean\n");
  write_file(root / "blob.bin", std::string("\0\1\2  \n", 6));
  write_file(root / ".git/config", "[core]   \n");
  fs::permissions(root / "a.py", fs::perms(0750));
  fs::create_symlink("a.py", root / "link.py");

  Report report;
  auto pass = make_normalize_pass();
  REQUIRE(run_pass(*pass, root, report).ok());
  CHECK(testing::read_file(root / "a.py") == "x = 1\ny = 2\n");
  CHECK(fs::status(root / "a.py").permissions() == fs::perms(0750));
  CHECK(fs::is_symlink(root / "link.py"));
  CHECK(testing::read_file(root / ".git/config") == "[core]   \n");
  CHECK(testing::read_file(root / "blob.bin") == std::string("\0\1\2  \n", 6));
  REQUIRE(report.changed.size() == 1);
  CHECK(report.changed[0].path == "a.py");
  CHECK(report.changed[0].passes == std::vector<std::string>{"normalize"});
  CHECK(report.changed[0].lines_added == 1);
  CHECK(report.changed[0].lines_removed == 3);
  for (const auto& p : testing::list_tree(root)) CHECK(p.find(".fti-tmp") == std::string::npos);
  bool noted_binary = false;
  for (const auto& n : report.notes) noted_binary |= n.find("blob.bin") != std::string::npos;
  CHECK(noted_binary);
}

// Normalising holds a record per line; a file of millions of lines is data, and leaving it
// alone keeps memory bounded. It is said in the notes, not silently skipped.
TEST_CASE("normalize pass leaves files of more than a million lines alone", "[cleanup][passes]") {
  TempDir dir;
  auto root = dir / "root";
  std::string many;
  for (int k = 0; k < (1 << 20) + 1; ++k) many += "x \n";
  write_file(root / "many.txt", many);
  write_file(root / "few.txt", "x \n");
  Report report;
  auto pass = make_normalize_pass();
  REQUIRE(run_pass(*pass, root, report).ok());
  CHECK(testing::read_file(root / "many.txt") == many);
  CHECK(testing::read_file(root / "few.txt") == "x\n");
  bool noted = false;
  for (const auto& n : report.notes) noted |= n.find("lines, e.g. many.txt") != std::string::npos;
  CHECK(noted);
}

TEST_CASE("secrets pass finds credentials, masked, on the right line", "[cleanup][passes]") {
  TempDir dir;
  auto root = dir / "root";
  const std::string aws_id = "AKIAZ2K7Q4ZTXJ5W3NRM";  // not AWS's EXAMPLE keys: those are reported low
  const std::string aws_secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq9Xk2Lm3N";
  const std::string gh = "ghp_" + std::string("abcdefghijklmnopqrstuvwxyz0123456789");
  const std::string slack = "xoxb-1234567890-abcdefghij";
  write_file(root / "config.py",
             "# settings\n"
             "\n"
             "KEY = '" + aws_id + "'\n"
             "aws_secret_access_key = " + aws_secret + "\n"
             "TOKEN = \"" + gh + "\"\n"
             "SLACK = '" + slack + "'\n"
             "NOT_A_KEY = 'AKIA1234'\n");
  write_file(root / "keys/id_rsa", "-----BEGIN RSA PRIVATE KEY-----\nMIIE...\n-----END RSA PRIVATE KEY-----\n");
  write_file(root / ".git/config", "token = " + gh + "\n");

  Report report;
  auto pass = make_secrets_pass();
  REQUIRE(run_pass(*pass, root, report).ok());
  REQUIRE(report.findings.size() == 5);
  std::map<std::string, Finding> by_rule;
  for (const auto& f : report.findings) {
    CHECK(f.kind == "secret");
    CHECK(f.severity == "high");
    for (const auto& secret : {aws_id, aws_secret, gh, slack}) {
      CHECK(f.message.find(secret) == std::string::npos);
    }
    by_rule[f.rule] = f;
  }
  CHECK(by_rule["aws-access-key-id"].line == 3);
  CHECK(by_rule["aws-access-key-id"].message.find("AKIA****************") != std::string::npos);
  CHECK(by_rule["aws-secret-access-key"].line == 4);
  CHECK(by_rule["github-token"].line == 5);
  CHECK(by_rule["github-token"].message.find("ghp_****") != std::string::npos);
  CHECK(by_rule["slack-token"].line == 6);
  CHECK(by_rule["private-key"].path == "keys/id_rsa");
  CHECK(by_rule["private-key"].line == 1);
}

// Each newer rule: found, masked in the finding, and covered by redaction.
TEST_CASE("secrets pass knows model and cloud and web credentials", "[cleanup][passes]") {
  struct Case {
    std::string before;  // the line is before + secret + after
    std::string secret;
    std::string after;
    std::string rule;
  };
  const std::string google = "AIza" + std::string("SyB1c2D3e4F5g6H7i8J9k0L_m-NoPqRsTuV");
  REQUIRE(google.size() == 39);
  const std::string jwt =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0."
      "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
  const Case cases[] = {
      {"OPENAI_API_KEY=", "sk-" + std::string("4fQ9xZ2kLm8NpR7sT1uV6wY3bC5dE0gH2jK4lM6nP8qR9sTa"), "",
       "openai-api-key"},
      {"key = \"", "sk-proj-" + std::string("Xy7_Ab3-Cd9Ef1Gh2Ij4Kl5Mn6Op7Qr8St9Uv0Wx"), "\"",
       "openai-api-key"},
      {"ANTHROPIC_API_KEY: ", "sk-ant-api03-" + std::string("Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0Uv1Wx2Yz3_-AbCdEf"),
       "", "anthropic-api-key"},
      {"token: ", "github_pat_" + std::string("11ABCDEFG0123456789abc_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN"),
       "", "github-token"},
      {"maps_key = '", google, "'", "google-api-key"},
      {"STRIPE = '", "sk_live_" + std::string("51H8abcDEF123ghiJKL456mno"), "'", "stripe-key"},
      {"STRIPE_RESTRICTED = '", "rk_live_" + std::string("51H8abcDEF123ghiJKL456mno"), "'", "stripe-key"},
      {"Authorization: Bearer ", jwt, "", "jwt"},
      {"DATABASE_URL=postgres://app:", "S3cr3t-Pa55", "@db.internal:5432/app", "url-password"},
  };
  for (const Case& c : cases) {
    INFO(c.rule);
    std::string line = c.before + c.secret + c.after;
    TempDir dir;
    write_file(dir / "root/settings.env", "# settings\n" + line + "\n");
    Report report;
    REQUIRE(run_pass(*make_secrets_pass(), dir / "root", report).ok());
    REQUIRE(report.findings.size() == 1);
    CHECK(report.findings[0].rule == c.rule);
    CHECK(report.findings[0].line == 2);
    CHECK(report.findings[0].message.find(c.secret) == std::string::npos);
    std::string masked = detail::mask_secrets("# settings\n" + line + "\n");
    CHECK(masked.find(c.secret) == std::string::npos);
    CHECK(masked.find("[redacted]") != std::string::npos);
    auto spans = detail::secret_spans(line);
    REQUIRE(spans.size() == 1);
    CHECK(line.substr(spans[0].begin, spans[0].end - spans[0].begin) == c.secret);
  }
}

TEST_CASE("secrets pass finds PGP private key blocks", "[cleanup][passes]") {
  TempDir dir;
  const std::string block =
      "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBGNSecretMaterialAAAB\n=abcd\n"
      "-----END PGP PRIVATE KEY BLOCK-----\n";
  write_file(dir / "root/key.asc", block);
  Report report;
  REQUIRE(run_pass(*make_secrets_pass(), dir / "root", report).ok());
  REQUIRE(report.findings.size() == 1);
  CHECK(report.findings[0].rule == "private-key");
  CHECK(report.findings[0].message.find("PGP PRIVATE KEY BLOCK") != std::string::npos);
  std::string masked = detail::mask_secrets("KEY = \"\"\"\n" + block + "\"\"\"\n");
  CHECK(masked == "KEY = \"\"\"\n[redacted]\n\"\"\"\n");
}

TEST_CASE("secrets pass leaves look-alikes alone", "[cleanup][passes]") {
  TempDir dir;
  write_file(dir / "root/notes.md",
             "Keys start with the sk- prefix; see the task-management-overview-document.\n"
             "The spinner uses sk-folding-cube-animation-delayed-start classes.\n"
             "Docs: https://user@example.com/path and https://example.com:8443/a:b@c\n"
             "DB = 'postgres://${DB_USER}:${DB_PASSWORD}@localhost/db'\n"
             "TEST_KEY = 'sk_test_51H8abcDEF123ghiJKL456mno'\n"
             "Short: AIzaShort eyJhbGciOi.eyJzdWIi github_pat_short\n");
  Report report;
  REQUIRE(run_pass(*make_secrets_pass(), dir / "root", report).ok());
  for (const auto& f : report.findings) FAIL_CHECK(f.rule << ": " << f.message);
  CHECK(report.findings.empty());
}

TEST_CASE("inventory pass counts languages, large files and TODOs", "[cleanup][passes]") {
  TempDir dir;
  auto root = dir / "root";
  write_file(root / "a.py", "x = 1\n# TODO: fix this\ny = 2\n");
  write_file(root / "b.py", "z = 3");
  write_file(root / "main.c", "int main(void) {\n  return 0;  /* FIXME later */\n}\n");
  write_file(root / "notes.txt", "TODOS are not TODO markers? this one is.\n");
  write_file(root / "huge.dat", std::string((10 << 20) + 1, 'x'));

  Report report;
  auto pass = make_inventory_pass();
  REQUIRE(run_pass(*pass, root, report).ok());
  CHECK(report.languages["Python"].files == 2);
  CHECK(report.languages["Python"].lines == 4);
  CHECK(report.languages["C"].files == 1);
  CHECK(report.languages["C"].lines == 3);
  int todos = 0;
  bool large = false;
  for (const auto& f : report.findings) {
    if (f.kind == "todo") {
      ++todos;
      CHECK(f.severity == "info");
      if (f.path == "a.py") CHECK(f.line == 2);
      if (f.path == "main.c") CHECK(f.rule == "fixme");
    }
    if (f.kind == "large_file") large = f.path == "huge.dat";
  }
  CHECK(todos == 3);
  CHECK(large);
}

TEST_CASE("default passes run in order", "[cleanup][passes]") {
  auto passes = default_passes();
  std::vector<std::string> names;
  for (const auto& p : passes) names.push_back(p->name());
  CHECK(names == std::vector<std::string>{"junk", "normalize", "secrets", "llm-rewrite", "llm-readme",
                                          "checks", "inventory"});
}

}  // namespace
}  // namespace fti::cleanup
