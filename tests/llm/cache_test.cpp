#include <catch2/catch.hpp>

#include <thread>

#include "support/test_database.hpp"
#include "fti/db/database.hpp"
#include "fti/db/migrations.hpp"
#include "fti/llm/cache.hpp"
#include "fti/llm/cost.hpp"

namespace {

std::unique_ptr<fti::db::Database> migrated_db(const fti::testing::TestDatabase& test_db) { return test_db.open(); }

fti::llm::Answer answer(std::string text) {
  fti::llm::Answer a;
  a.text = std::move(text);
  a.provider = "openai";
  a.model = "gpt-4o-mini";
  a.tokens_in = 10;
  a.tokens_out = 5;
  a.cost_usd = 0.00001;
  return a;
}

}  // namespace

TEST_CASE("cache key: any field of the request changes it; the job does not", "[llm][cache]") {
  fti::llm::Ask base;
  base.task = "rewrite";
  base.prompt = "code";
  base.job_id = "a";
  auto key = fti::llm::cache_key(base, fti::llm::Tier::local, "m");
  auto same_other_job = base;
  same_other_job.job_id = "b";
  CHECK(fti::llm::cache_key(same_other_job, fti::llm::Tier::local, "m") == key);
  CHECK(fti::llm::cache_key(base, fti::llm::Tier::simple, "m") != key);
  CHECK(fti::llm::cache_key(base, fti::llm::Tier::local, "another-model") != key);
  auto t = base;
  t.task = "readme";
  CHECK(fti::llm::cache_key(t, fti::llm::Tier::local, "m") != key);
  auto s = base;
  s.system = "x";
  CHECK(fti::llm::cache_key(s, fti::llm::Tier::local, "m") != key);
  auto m = base;
  m.max_tokens = 7;
  CHECK(fti::llm::cache_key(m, fti::llm::Tier::local, "m") != key);
  // Moving bytes between fields must not collide.
  auto a = base, b = base;
  a.system = "ab";
  a.prompt = "c";
  b.system = "a";
  b.prompt = "bc";
  CHECK(fti::llm::cache_key(a, fti::llm::Tier::local, "m") != fti::llm::cache_key(b, fti::llm::Tier::local, "m"));
}

TEST_CASE("sql cache: answers survive a reopen and expire at their TTL", "[llm][cache]") {
  fti::testing::TestDatabase dir;
  {
    auto db = migrated_db(dir);
    fti::llm::SqlLlmCache cache(*db);
    REQUIRE(cache.put("k1", answer("first"), 1000, 2000).ok());
    REQUIRE(cache.put("k1", answer("replaced"), 1000, 5000).ok());
    REQUIRE(cache.put("k2", answer("short"), 1000, 1500).ok());
  }
  auto db = migrated_db(dir);
  fti::llm::SqlLlmCache cache(*db);
  auto hit = cache.get("k1", 1999);
  REQUIRE(hit.ok());
  REQUIRE(hit->has_value());
  CHECK((*hit)->text == "replaced");
  CHECK((*hit)->model == "gpt-4o-mini");
  CHECK((*hit)->tokens_in == 10);
  auto expired = cache.get("k2", 1500);
  REQUIRE(expired.ok());
  CHECK_FALSE(expired->has_value());
  auto pruned = cache.prune(1600);
  REQUIRE(pruned.ok());
  CHECK(*pruned == 1);
  CHECK(cache.get("k1", 1600)->has_value());
}

TEST_CASE("sql cost ledger: spending adds up per job, exactly", "[llm][cache]") {
  fti::testing::TestDatabase dir;
  auto db = migrated_db(dir);
  auto ledger = fti::llm::make_sql_cost_ledger(*db);
  for (int i = 0; i < 1000; ++i) {
    REQUIRE(ledger->record({"job-a", "openai", "gpt-4o-mini", 100, 50, 0.000045, 1}).ok());
  }
  REQUIRE(ledger->record({"job-b", "anthropic", "claude", 1, 1, 0.5, 1}).ok());
  CHECK(*ledger->spent_by_job("job-a") == Approx(0.045).epsilon(1e-9));
  CHECK(*ledger->spent_by_job("job-b") == Approx(0.5));
  CHECK(*ledger->spent_by_job("nobody") == 0);
}

TEST_CASE("sql cost ledger: a job's sum is exact while rows are written in the background", "[llm][cache]") {
  fti::testing::TestDatabase dir;
  auto db = migrated_db(dir);
  {
    auto ledger = fti::llm::make_sql_cost_ledger(*db);
    for (int i = 0; i < 500; ++i) REQUIRE(ledger->record({"job-x", "openai", "m", 1, 1, 0.001, 1}).ok());
    // The first read of the job seeds its sum (table + queue) while the rest is recorded.
    std::thread recorder([&] {
      for (int i = 0; i < 500; ++i) REQUIRE(ledger->record({"job-x", "openai", "m", 1, 1, 0.001, 1}).ok());
    });
    auto midway = ledger->spent_by_job("job-x");
    recorder.join();
    REQUIRE(midway.ok());
    CHECK(*midway >= 0.5 - 1e-9);
    CHECK(*ledger->spent_by_job("job-x") == Approx(1.0).epsilon(1e-9));
  }
  // Another worker's ledger (a retry elsewhere) starts from what was written.
  auto other = fti::llm::make_sql_cost_ledger(*db);
  CHECK(*other->spent_by_job("job-x") == Approx(1.0).epsilon(1e-9));
}

TEST_CASE("sql cache: a put is visible at once, before its batch is written", "[llm][cache]") {
  fti::testing::TestDatabase dir;
  auto db = migrated_db(dir);
  fti::llm::SqlLlmCache cache(*db);
  REQUIRE(cache.put("k", answer("fresh"), 1000, 2000).ok());
  auto hit = cache.get("k", 1500);
  REQUIRE(hit.ok());
  REQUIRE(hit->has_value());
  CHECK((*hit)->text == "fresh");
  CHECK_FALSE(cache.get("k", 2000)->has_value());  // expired, even while only queued
  cache.flush();
  fti::llm::SqlLlmCache reader(*db);
  CHECK(reader.get("k", 1500)->has_value());
}
