// Replicated and tiered stores over in-memory fakes that fail on demand.
#include <catch2/catch.hpp>

#include <vector>

#include "fakes/fake_blob_store.hpp"
#include "fti/storage/cold_storage.hpp"
#include "fti/storage/replication.hpp"

using namespace fti;
using namespace fti::storage;
using fti::fakes::FakeBlobStore;

namespace {

std::string read_all(BlobStore& store, const std::string& key) {
  auto bytes = get_bytes(store, key, 64 << 20);
  INFO((bytes.ok() ? std::string() : bytes.error().message));
  REQUIRE(bytes.ok());
  return *bytes;
}

struct Replicated {
  Replicated() : store(make_replicated_blob_store(primary, {&r1, &r2}, [this](const std::string& k) { changed.push_back(k); })) {}
  FakeBlobStore primary, r1, r2;
  std::vector<std::string> changed;
  std::unique_ptr<BlobStore> store;
};

}  // namespace

TEST_CASE("replication: a committed write is announced once, then copied to every replica", "[storage]") {
  Replicated s;
  REQUIRE(put_bytes(*s.store, "results/a.zip", "zip bytes").ok());
  CHECK(s.changed == std::vector<std::string>{"results/a.zip"});
  CHECK(s.r1.blob_count() == 0);  // asynchronous: nothing copied yet

  REQUIRE(sync_replicas(s.primary, {&s.r1, &s.r2}, "results/a.zip").ok());
  CHECK(s.r1.contents("results/a.zip") == "zip bytes");
  CHECK(s.r2.contents("results/a.zip") == "zip bytes");

  SECTION("an aborted write is never announced and leaves nothing") {
    auto writer = s.store->open_writer("results/b.zip");
    REQUIRE(writer.ok());
    REQUIRE((*writer)->write("half").ok());
    (*writer)->abort();
    CHECK(s.changed.size() == 1);
    CHECK_FALSE(s.primary.stat("results/b.zip").ok());
  }
  SECTION("a repeated sync copies nothing already there") {
    s.r1.fail_write_call = 1;  // any new write to r1 would fail
    s.r2.fail_write_call = 1;
    CHECK(sync_replicas(s.primary, {&s.r1, &s.r2}, "results/a.zip").ok());
  }
  SECTION("a removal is announced and removes the replicas' copies") {
    REQUIRE(s.store->remove("results/a.zip").ok());
    CHECK(s.changed.back() == "results/a.zip");
    REQUIRE(sync_replicas(s.primary, {&s.r1, &s.r2}, "results/a.zip").ok());
    CHECK(s.r1.blob_count() == 0);
    CHECK(s.r2.blob_count() == 0);
  }
}

TEST_CASE("replication: a failing replica fails the sync with its name, and a retry completes it", "[storage]") {
  Replicated s;
  REQUIRE(put_bytes(s.primary, "uploads/x", std::string(3 << 20, 'z')).ok());  // 3 MiB: several chunks
  s.r2.down = true;
  auto first = sync_replicas(s.primary, {&s.r1, &s.r2}, "uploads/x");
  REQUIRE_FALSE(first.ok());
  CHECK_THAT(first.error().message, Catch::Contains("uploads/x") && Catch::Contains(s.r2.url()));
  s.r2.down = false;
  REQUIRE(sync_replicas(s.primary, {&s.r1, &s.r2}, "uploads/x").ok());
  CHECK(s.r2.contents("uploads/x") == std::string(3 << 20, 'z'));
}

TEST_CASE("replication: reads fall back to a replica only when the primary fails", "[storage]") {
  Replicated s;
  REQUIRE(put_bytes(*s.store, "results/a.zip", "zip bytes").ok());
  REQUIRE(sync_replicas(s.primary, {&s.r1, &s.r2}, "results/a.zip").ok());
  s.primary.down = true;
  CHECK(read_all(*s.store, "results/a.zip") == "zip bytes");
  CHECK(s.store->stat("results/a.zip")->size == 9);
  s.primary.down = false;
  // Removed from the primary: that is the answer, even while a replica still has a copy.
  REQUIRE(s.primary.remove("results/a.zip").ok());
  auto gone = s.store->open_reader("results/a.zip");
  REQUIRE_FALSE(gone.ok());
  CHECK(gone.error().code == errc::not_found);
}

TEST_CASE("cold storage: a moved blob is still read, listed once and removed everywhere", "[storage]") {
  FakeBlobStore hot, cold;
  auto tiered = make_tiered_blob_store(hot, cold);
  REQUIRE(put_bytes(*tiered, "results/old.zip", "old").ok());
  REQUIRE(put_bytes(*tiered, "results/new.zip", "new").ok());
  REQUIRE(move_blob(hot, cold, "results/old.zip").ok());
  CHECK_FALSE(hot.stat("results/old.zip").ok());  // moved, not copied
  CHECK(cold.contents("results/old.zip") == "old");
  CHECK(read_all(*tiered, "results/old.zip") == "old");
  CHECK(tiered->stat("results/old.zip")->size == 3);
  auto listed = tiered->list("results/");
  REQUIRE(listed.ok());
  CHECK(listed->size() == 2);
  REQUIRE(tiered->remove("results/old.zip").ok());
  CHECK_FALSE(cold.stat("results/old.zip").ok());
  CHECK(tiered->open_reader("results/old.zip").error().code == errc::not_found);

  SECTION("a move cut short by a failing cold store leaves the hot copy") {
    cold.down = true;
    CHECK_FALSE(move_blob(hot, cold, "results/new.zip").ok());
    CHECK(hot.contents("results/new.zip") == "new");
  }
}
