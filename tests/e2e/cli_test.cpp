#include <catch2/catch.hpp>

#include "fixtures.hpp"

using namespace fti::e2e;

namespace {
fti::ProcessResult run_cli(std::vector<std::string> args) {
  fti::ProcessSpec spec;
  spec.argv = {FTI_BINARY};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.timeout = std::chrono::seconds(120);
  auto r = fti::run_process(spec);
  REQUIRE(r.ok());
  return std::move(r).value();
}
}  // namespace

TEST_CASE("clean works offline on an archive and on a folder", "[e2e][cli]") {
  const TempDir temp("e2e-cli");
  const fs::path& dir = temp.path();
  auto zip = make_messy_zip(dir);
  auto out = dir / "clean.zip";
  auto report = dir / "r.json";
  auto r = run_cli({"clean", zip.string(), "-o", out.string(), "--report", report.string()});
  INFO(r.stderr_data);
  REQUIRE(r.exit_code == 0);
  CHECK(fs::file_size(out) > 0);
  auto json = read_file(report);
  CHECK(fti::json::Document::parse(json).ok());
  CHECK(json.find("node_modules/") != std::string::npos);

  auto from_folder = run_cli({"clean", (dir / "messy").string(), "-o", (dir / "f.zip").string(), "--progress", "plain"});
  CHECK(from_folder.exit_code == 0);
  CHECK(from_folder.stderr_data.find("100%") != std::string::npos);
}

TEST_CASE("clean exits 1 on a bad archive and 2 on bad usage, with one-line errors", "[e2e][cli]") {
  const TempDir temp("e2e-cli-bad");
  const fs::path& dir = temp.path();
  write_file(dir / "notes.txt", "not an archive\n");
  auto bad = run_cli({"clean", (dir / "notes.txt").string(), "-o", (dir / "x.zip").string()});
  CHECK(bad.exit_code == 1);
  CHECK(bad.stderr_data.find("error: bad_archive") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "x.zip"));

  CHECK(run_cli({"clean"}).exit_code == 2);
  CHECK(run_cli({"frobnicate"}).exit_code == 2);
  auto missing = run_cli({"clean", (dir / "nope.zip").string()});
  CHECK(missing.exit_code == 2);
  CHECK(missing.stderr_data.find("does not exist") != std::string::npos);
  CHECK(run_cli({"version"}).stdout_data.find("finishthisidea ") == 0);
}

TEST_CASE("serve refuses open auth on a non-loopback address", "[e2e][cli]") {
  const TempDir temp("e2e-cli-open");
  const fs::path& dir = temp.path();
  auto r = run_cli({"serve", "--listen", "0.0.0.0:0", "--data-dir", (dir / "data").string()});
  CHECK(r.exit_code == 2);
  CHECK(r.stderr_data.find("auth.mode") != std::string::npos);
}
