// `finishthisidea keys` and `migrate` as an operator runs them: the real binary, its output
// and exit codes, and a created key used against a real `serve` until it is revoked.
#include <catch2/catch.hpp>

#include <sstream>

#include "fixtures.hpp"
#include "fti/core/ids.hpp"

using namespace fti::e2e;

namespace {

fti::ProcessResult run_fti(std::vector<std::string> args) {
  fti::ProcessSpec spec;
  spec.argv = {FTI_BINARY};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.timeout = std::chrono::seconds(60);
  auto r = fti::run_process(spec);
  REQUIRE(r.ok());
  return std::move(r).value();
}

// The value after `name` on the line that starts with it ("key     fti_...").
std::string labelled(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string first, value;
    if (words >> first >> value && first == name) return value;
  }
  return {};
}

int lines_of(const std::string& text) {
  int n = 0;
  for (char c : text) n += c == '\n' ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE("keys create prints a key once; it works against serve until keys revoke", "[e2e][cli][keys]") {
  const TempDir temp("e2e-keys");
  const fs::path& dir = temp.path();
  const std::string data = (dir / "data").string();

  auto empty = run_fti({"keys", "list", "--data-dir", data});
  INFO(empty.stderr_data);
  REQUIRE(empty.exit_code == 0);
  CHECK(empty.stdout_data.find("ID") == 0);
  CHECK(lines_of(empty.stdout_data) == 1);
  CHECK(empty.stderr_data.find("keys create --tenant") != std::string::npos);

  auto created = run_fti({"keys", "create", "--tenant", "acme", "--data-dir", data});
  INFO(created.stdout_data << created.stderr_data);
  REQUIRE(created.exit_code == 0);
  const std::string key = labelled(created.stdout_data, "key");
  const std::string id = labelled(created.stdout_data, "id");
  CHECK(key.rfind("fti_", 0) == 0);
  CHECK(key.size() == 56);
  CHECK_FALSE(id.empty());
  CHECK(labelled(created.stdout_data, "tenant") == "acme");
  CHECK(labelled(created.stdout_data, "admin") == "no");
  CHECK(created.stdout_data.find("cannot be shown again") != std::string::npos);
  CHECK(created.stderr_data.find("auth.mode") != std::string::npos);  // open by default: a note

  auto admin = run_fti({"keys", "create", "--tenant", "ops", "--admin", "--data-dir", data});
  REQUIRE(admin.exit_code == 0);
  CHECK(labelled(admin.stdout_data, "admin") == "yes");

  auto listed = run_fti({"keys", "list", "--data-dir", data});
  REQUIRE(listed.exit_code == 0);
  INFO(listed.stdout_data);
  CHECK(lines_of(listed.stdout_data) == 3);
  CHECK(listed.stdout_data.find(id + "  acme    no     ") != std::string::npos);
  CHECK(listed.stdout_data.find(key) == std::string::npos);
  CHECK(listed.stdout_data.find(key.substr(4)) == std::string::npos);
  CHECK(listed.stdout_data.find(fti::sha256_hex(key)) == std::string::npos);

  Server server(dir / "data", {"FTI_AUTH_MODE=api_key"});
  const std::vector<std::pair<std::string, std::string>> bearer = {{"Authorization", "Bearer " + key}};
  CHECK(server.request("GET", "/api/v1/jobs", {}, bearer).status == 200);
  CHECK(server.request("GET", "/api/v1/jobs").status == 401);
  CHECK(server.request("GET", "/healthz").status == 200);

  auto revoked = run_fti({"keys", "revoke", id, "--data-dir", data});
  INFO(revoked.stderr_data);
  REQUIRE(revoked.exit_code == 0);
  CHECK(revoked.stdout_data.find("revoked key " + id + " (tenant acme)") == 0);
  // The running server checks every request against the database: refused at once.
  auto refused = server.request("GET", "/api/v1/jobs", {}, bearer);
  CHECK(refused.status == 401);
  CHECK(refused.body.find("revoked") != std::string::npos);

  auto after = run_fti({"keys", "list", "--data-dir", data});
  REQUIRE(after.exit_code == 0);
  CHECK(after.stdout_data.find(id + "  acme    no     ") != std::string::npos);
  CHECK(after.stdout_data.find("Z  -\n") != std::string::npos);  // ops is still live
  CHECK(after.stdout_data.find("Z  20") != std::string::npos);   // acme's revoked time
}

TEST_CASE("keys: bad usage exits 2 and an unknown id exits 1, each with one line", "[e2e][cli][keys]") {
  const TempDir temp("e2e-keys-bad");
  const fs::path& dir = temp.path();
  const std::string data = (dir / "data").string();
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{"keys"}, 2, "subcommand"},
      {{"keys", "create", "--data-dir", data}, 2, "--tenant"},
      {{"keys", "create", "--tenant", "acme corp", "--data-dir", data}, 2, "bad tenant name 'acme corp'"},
      {{"keys", "create", "--tenant", std::string(65, 'x'), "--data-dir", data}, 2, "1 to 64 characters"},
      {{"keys", "create", "--tenant", "system", "--data-dir", data}, 2, "reserved"},
      {{"keys", "revoke", "--data-dir", data}, 2, "ID"},
      {{"keys", "revoke", "01NOSUCHKEY", "--data-dir", data}, 1, "error: not_found: no API key has the id '01NOSUCHKEY'"},
      {{"keys", "list", "--config", (dir / "missing.toml").string()}, 2, "missing.toml"},
  };
  for (const auto& c : cases) {
    auto r = run_fti(c.args);
    INFO(c.args.size() << " args, stderr: " << r.stderr_data);
    CHECK(r.exit_code == c.exit_code);
    CHECK(r.stderr_data.find(c.says) != std::string::npos);
    CHECK(lines_of(r.stderr_data) == 1);
    CHECK(r.stdout_data.empty());
  }
  // Nothing was stored by the refused creates.
  auto listed = run_fti({"keys", "list", "--data-dir", data});
  CHECK(lines_of(listed.stdout_data) == 1);
}

TEST_CASE("migrate applies the migrations once and keys follow --config", "[e2e][cli][keys]") {
  const TempDir temp("e2e-migrate");
  const fs::path& dir = temp.path();
  const std::string db = (dir / "elsewhere.db").string();
  write_file(dir / "fti.toml", "[database]\nurl = \"sqlite:" + db + "\"\n");
  const std::string config = (dir / "fti.toml").string();

  auto first = run_fti({"migrate", "--config", config});
  INFO(first.stderr_data);
  REQUIRE(first.exit_code == 0);
  CHECK(first.stdout_data.find("sqlite:" + db + ": applied ") == 0);
  CHECK(first.stdout_data.find("applied 0 ") == std::string::npos);
  CHECK(fs::exists(db));
  auto second = run_fti({"migrate", "--config", config});
  REQUIRE(second.exit_code == 0);
  CHECK(second.stdout_data.find("applied 0 migrations") != std::string::npos);

  auto created = run_fti({"keys", "create", "--tenant", "acme", "--config", config});
  REQUIRE(created.exit_code == 0);
  auto listed = run_fti({"keys", "list", "--config", config});
  CHECK(listed.stdout_data.find(labelled(created.stdout_data, "id")) != std::string::npos);

  CHECK(run_fti({"migrate", "--config", (dir / "nope.toml").string()}).exit_code == 2);
}
