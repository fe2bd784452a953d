// Load shedding on the real binary: a burst of concurrent uploads from one client, over
// small limits, gets 429s and 503s with Retry-After, and every upload that was accepted
// (201) is cleaned: nothing accepted is dropped.
#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <thread>

#include "fixtures.hpp"

using namespace fti::e2e;

namespace {

// GET that honours 429 as a polite client does: waits Retry-After and asks again.
fti::HttpResponse polite_get(const Server& server, const std::string& path) {
  for (;;) {
    auto r = server.request("GET", path);
    if (r.status != 429) return r;
    std::this_thread::sleep_for(std::chrono::seconds(std::max(1, std::atoi(r.header("retry-after").c_str()))));
  }
}

}  // namespace

TEST_CASE("shedding: a burst gets 429 and 503 with Retry-After, and every accepted upload is cleaned", "[e2e][shedding]") {
  const TempDir temp("e2e-shedding");
  const fs::path& dir = temp.path();
  auto zip = make_messy_zip(dir);
  // Per address: in "open" mode the one (anonymous) tenant is the admin, whom the tenant
  // bucket lets through.
  Server server(dir / "data", {"FTI_WORKERS_MIN=1", "FTI_WORKERS_MAX=1", "FTI_SHEDDING_CLIENT_RATE=2",
                               "FTI_SHEDDING_CLIENT_BURST=6", "FTI_SHEDDING_MAX_QUEUE_DEPTH=3"});

  std::mutex mutex;
  std::vector<std::string> accepted;
  std::vector<std::string> bad;
  int limited = 0, overloaded = 0;
  std::vector<std::thread> clients;
  for (int c = 0; c < 8; ++c) {
    clients.emplace_back([&] {
      for (int i = 0; i < 3; ++i) {
        auto r = server.upload_file(zip, "application/zip", "?filename=messy.zip");
        std::lock_guard lock(mutex);
        if (r.status == 201) {
          accepted.push_back(json_string(r.body, "id"));
        } else if ((r.status == 429 || r.status == 503) && std::atoi(r.header("retry-after").c_str()) >= 1 &&
                   r.header("content-type") == "application/problem+json") {
          const auto code = json_string(r.body, "code");
          (code == "rate_limited" ? limited : overloaded) += 1;
          if (code != "rate_limited" && code != "overloaded") bad.push_back(r.body);
        } else {
          bad.push_back(std::to_string(r.status) + " " + r.body);
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  INFO(server.log());
  CHECK(bad.empty());
  CHECK(accepted.size() + static_cast<std::size_t>(limited + overloaded) == 24);
  CHECK(limited > 0);                     // 24 uploads at once against a burst of 6
  CHECK(accepted.size() >= 3);            // the burst's first uploads got in
  CHECK(accepted.size() <= 6 + 3);        // at most the burst and what refilled meanwhile

  // Health and readiness answer throughout: probes are never shed.
  CHECK(server.request("GET", "/readyz").status == 200);

  for (const auto& id : accepted) {
    std::string status;
    REQUIRE(wait_until(
        [&] {
          status = json_string(polite_get(server, "/api/v1/jobs/" + id).body, "status");
          return status == "succeeded" || status == "failed" || status == "cancelled";
        },
        std::chrono::seconds(120)));
    CHECK(status == "succeeded");
  }
  // The store holds exactly the accepted jobs: none lost, none made from a refused upload.
  auto list = polite_get(server, "/api/v1/jobs?limit=100");
  auto doc = fti::json::Document::parse(list.body);
  REQUIRE(doc.ok());
  CHECK(doc->root().get("jobs")->items().size() == accepted.size());
}
