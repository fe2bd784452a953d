// The blob sweep over a real job store and an in-memory blob store with controlled times.
#include <catch2/catch.hpp>

#include "fakes/fake_blob_store.hpp"
#include "fti/jobs/blob_retention.hpp"
#include "jobs/job_test_support.hpp"

using namespace fti;
using namespace fti::jobs;
using fti::fakes::FakeBlobStore;

namespace {

constexpr TimeMs kHour = 3600 * 1000;

Job enqueue_with_upload(testing::JobStoreFixture& f, FakeBlobStore& blobs) {
  f.clock.advance(1);  // claims go oldest first: one millisecond apart keeps the order certain
  Job job = f.enqueue();
  blobs.now_ms = f.clock.now_ms();
  REQUIRE(storage::put_bytes(blobs, "uploads/" + job.id, "zip").ok());
  return job;
}

}  // namespace

TEST_CASE("retention: uploads go once their job succeeded long enough ago, or when no job owns them", "[jobs]") {
  testing::JobStoreFixture f;
  FakeBlobStore hot;
  BlobRetentionOptions options;  // orphans after 1 h, uploads 24 h after success
  Job done = enqueue_with_upload(f, hot);
  Job failed = enqueue_with_upload(f, hot);
  Job waiting = enqueue_with_upload(f, hot);
  hot.now_ms = f.clock.now_ms();
  REQUIRE(storage::put_bytes(hot, "uploads/01ORPHANOFACRASH", "zip").ok());

  Job claimed = f.claim_one();
  REQUIRE(claimed.id == done.id);
  REQUIRE(*f.store->complete(done.id, claimed.attempt, "{}", f.clock.now_ms()));
  Job second = f.claim_one();
  REQUIRE(second.id == failed.id);
  REQUIRE(*f.store->fail(failed.id, second.attempt, Failure{{"bad_archive", "no"}, false}, f.clock.now_ms(), 0));

  SECTION("nothing young is touched: an upload may still be arriving") {
    auto sweep = sweep_blobs(*f.store, hot, nullptr, options, f.clock.now_ms() + kHour / 2);
    CHECK(sweep.orphans_removed == 0);
    CHECK(hot.blob_count() == 4);
  }
  SECTION("after an hour the orphan goes; after a day the succeeded job's upload") {
    auto hour = sweep_blobs(*f.store, hot, nullptr, options, f.clock.now_ms() + kHour + 1);
    CHECK(hour.orphans_removed == 1);
    CHECK(hour.uploads_removed == 0);
    auto day = sweep_blobs(*f.store, hot, nullptr, options, f.clock.now_ms() + 24 * kHour + 1);
    CHECK(day.uploads_removed == 1);
    CHECK_FALSE(hot.stat("uploads/" + done.id).ok());
    // The failed job may be retried and the waiting one has not run: both keep theirs.
    CHECK(hot.stat("uploads/" + failed.id).ok());
    CHECK(hot.stat("uploads/" + waiting.id).ok());
  }
}

TEST_CASE("retention: old results, reports and diffs move to the cold store, new ones stay", "[jobs]") {
  testing::JobStoreFixture f;
  FakeBlobStore hot, cold;
  BlobRetentionOptions options;
  options.cold_after_ms = 72 * kHour;
  hot.now_ms = 0;
  REQUIRE(storage::put_bytes(hot, "results/old.zip", "old result").ok());
  REQUIRE(storage::put_bytes(hot, "reports/old.json", "{}").ok());
  REQUIRE(storage::put_bytes(hot, "diffs/old.patch", "diff --git a/x b/x\n").ok());
  hot.now_ms = 71 * kHour;
  REQUIRE(storage::put_bytes(hot, "results/new.zip", "new result").ok());
  auto sweep = sweep_blobs(*f.store, hot, &cold, options, 72 * kHour + 1);
  CHECK(sweep.moved_to_cold == 3);
  CHECK(cold.contents("results/old.zip") == "old result");
  CHECK(cold.stat("reports/old.json").ok());
  CHECK(cold.contents("diffs/old.patch") == "diff --git a/x b/x\n");
  CHECK_FALSE(hot.stat("diffs/old.patch").ok());
  CHECK_FALSE(hot.stat("results/old.zip").ok());
  CHECK(hot.stat("results/new.zip").ok());
  CHECK_FALSE(cold.stat("results/new.zip").ok());

  SECTION("a cold store that is down leaves everything where it was, to try again") {
    hot.now_ms = 0;
    REQUIRE(storage::put_bytes(hot, "results/another.zip", "x").ok());
    cold.down = true;
    auto failed = sweep_blobs(*f.store, hot, &cold, options, 72 * kHour + 1);
    CHECK(failed.moved_to_cold == 0);
    CHECK(failed.failures == 1);
    CHECK(hot.stat("results/another.zip").ok());
  }
}
