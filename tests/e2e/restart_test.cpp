#include <catch2/catch.hpp>

#include "fixtures.hpp"

using namespace fti::e2e;

namespace {
std::vector<std::string> submit(const Server& server, const fs::path& zip, int n) {
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) {
    auto r = server.upload_file(zip, "application/zip");
    REQUIRE(r.status == 201);
    ids.push_back(json_string(r.body, "id"));
  }
  return ids;
}
}  // namespace

TEST_CASE("a crash while jobs are queued or running loses none of them", "[e2e]") {
  const TempDir temp("e2e-crash");
  const fs::path& dir = temp.path();
  auto zip = make_messy_zip(dir);
  // One worker and short leases: most jobs are still queued, one is running, at the kill.
  Server server(dir / "data", {"FTI_WORKERS_MIN=1", "FTI_JOBS_LEASE_MS=1500"});
  auto ids = submit(server, zip, 6);
  server.stop(SIGKILL);

  server.start();
  for (const auto& id : ids) {
    INFO(id << "\n" << server.log());
    CHECK(json_string(server.wait_for_job(id), "status") == "succeeded");
  }
}

TEST_CASE("a graceful restart (SIGTERM) loses no job either", "[e2e]") {
  const TempDir temp("e2e-term");
  const fs::path& dir = temp.path();
  auto zip = make_messy_zip(dir);
  Server server(dir / "data", {"FTI_WORKERS_MIN=1", "FTI_JOBS_LEASE_MS=1500"});
  auto ids = submit(server, zip, 4);
  int status = server.stop(SIGTERM);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);

  server.start();
  for (const auto& id : ids) {
    INFO(id);
    CHECK(json_string(server.wait_for_job(id), "status") == "succeeded");
  }
}
