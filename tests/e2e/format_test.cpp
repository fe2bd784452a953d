// The formatters inside a real server job: the cleanup child runs under an address-space
// limit (limits.job_memory_bytes), and node (prettier) and the Go tools reserve a lot of
// virtual memory, so this proves they still run there. scripts/test installs every formatter.
#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace fti::e2e;

TEST_CASE("a server job formats Python, C, Go and JavaScript and lists the tools", "[e2e][format]") {
  const TempDir temp("e2e-format");
  const fs::path& dir = temp.path();
  auto tree = dir / "messy";
  write_file(tree / "app.py", "def f( a ):\n  return {'k':a}\n");
  write_file(tree / "main.c", "int main(){int x=1;if(x){return 0;}return 1;}\n");
  write_file(tree / "main.go", "package main\nfunc main(){\nx:=1\n_ = x\n}\n");
  write_file(tree / "web/app.js", "const a = {b:1,  c:'x'}\n");
  auto zip = dir / "messy.zip";
  REQUIRE(sh("cd '" + tree.string() + "' && zip -qr '" + zip.string() + "' .") == 0);

  Server server(dir / "data");
  auto created = server.upload_file(zip, "application/zip", "?filename=messy.zip");
  REQUIRE(created.status == 201);
  auto id = json_string(created.body, "id");
  auto done = server.wait_for_job(id, std::chrono::seconds(120));
  INFO(done << "\n" << server.log());
  REQUIRE(json_string(done, "status") == "succeeded");

  auto result = server.request("GET", "/api/v1/jobs/" + id + "/result");
  REQUIRE(result.status == 200);
  auto clean = dir / "clean.zip";
  write_file(clean, result.body);
  CHECK(unzip_member(clean, "app.py") == "def f(a):\n    return {\"k\": a}\n");
  CHECK(unzip_member(clean, "main.c") ==
        "int main() {\n  int x = 1;\n  if (x) {\n    return 0;\n  }\n  return 1;\n}\n");
  CHECK(unzip_member(clean, "main.go") == "package main\n\nfunc main() {\n\tx := 1\n\t_ = x\n}\n");
  CHECK(unzip_member(clean, "web/app.js") == "const a = { b: 1, c: \"x\" };\n");

  auto report = server.request("GET", "/api/v1/jobs/" + id + "/report");
  REQUIRE(report.status == 200);
  auto doc = fti::json::Document::parse(report.body);
  REQUIRE(doc.ok());
  auto tools = doc->root().get("tools");
  REQUIRE(tools);
  for (const char* tool : {"black", "clang-format", "gofmt", "prettier"}) {
    INFO(tool << " in " << report.body);
    CHECK_FALSE(tools->get_string(tool).value_or("").empty());
  }
}

TEST_CASE("an unknown style profile is refused at upload", "[e2e][format]") {
  const TempDir temp("e2e-profile");
  const fs::path& dir = temp.path();
  write_file(dir / "t/a.py", "x = 1\n");
  auto zip = dir / "t.zip";
  REQUIRE(sh("cd '" + (dir / "t").string() + "' && zip -qr '" + zip.string() + "' .") == 0);
  Server server(dir / "data");
  auto refused = server.upload_file(zip, "application/zip", "?type=template&profile=fancy");
  CHECK(refused.status == 400);
  CHECK(refused.body.find("unknown style profile") != std::string::npos);
  auto taken = server.upload_file(zip, "application/zip", "?type=template&profile=google");
  CHECK(taken.status == 201);
  CHECK(json_string(server.wait_for_job(json_string(taken.body, "id")), "status") == "succeeded");
}

TEST_CASE("clean: --no-format leaves sources as normalised, an unknown --profile is bad usage", "[e2e][format]") {
  const TempDir temp("e2e-clean-format");
  const fs::path& dir = temp.path();
  write_file(dir / "in/app.py", "x=( 1 )\n");
  auto clean = [&](std::vector<std::string> extra) {
    fti::ProcessSpec spec;
    spec.argv = {FTI_BINARY, "clean", (dir / "in").string(), "-o", (dir / "out.zip").string(), "--progress", "none"};
    spec.argv.insert(spec.argv.end(), extra.begin(), extra.end());
    spec.timeout = std::chrono::seconds(120);
    auto r = fti::run_process(spec);
    REQUIRE(r.ok());
    return *r;
  };
  auto formatted = clean({"--profile", "compact"});
  CHECK(formatted.exit_code == 0);
  CHECK(unzip_member(dir / "out.zip", "app.py") == "x = 1\n");
  auto plain = clean({"--no-format"});
  CHECK(plain.exit_code == 0);
  CHECK(unzip_member(dir / "out.zip", "app.py") == "x=( 1 )\n");
  auto unknown = clean({"--profile", "fancy"});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.stderr_data.find("unknown style profile \"fancy\"; use one of: default, google, compact") !=
        std::string::npos);
}
