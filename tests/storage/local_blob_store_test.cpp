#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "fti/storage/local_blob_store.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace fti::storage;

using fti::testing::TempDir;

TEST_CASE("a blob written in pieces reads back whole", "[storage]") {
  TempDir dir;
  auto store = make_local_blob_store(dir.path());
  REQUIRE(store.ok());
  auto w = (*store)->open_writer("uploads/job1");
  REQUIRE(w.ok());
  std::string expected;
  for (int i = 0; i < 100; ++i) {
    std::string piece(10000, static_cast<char>('a' + i % 26));
    REQUIRE((*w)->write(piece).ok());
    expected += piece;
  }
  // Not visible before commit.
  CHECK((*store)->stat("uploads/job1").error().code == "not_found");
  auto info = (*w)->commit();
  REQUIRE(info.ok());
  CHECK(info->size == 1000000);
  auto back = get_bytes(**store, "uploads/job1", 1 << 30);
  REQUIRE(back.ok());
  CHECK(*back == expected);
}

TEST_CASE("an aborted or abandoned write leaves no blob and no temp file", "[storage]") {
  TempDir dir;
  auto store = make_local_blob_store(dir.path());
  REQUIRE(store.ok());
  {
    auto w = (*store)->open_writer("a/b");
    REQUIRE((*w)->write("partial").ok());
    (*w)->abort();
  }
  {
    auto w = (*store)->open_writer("a/c");
    REQUIRE((*w)->write("partial").ok());
  }  // destroyed without commit
  CHECK((*store)->stat("a/b").error().code == "not_found");
  CHECK((*store)->stat("a/c").error().code == "not_found");
  CHECK(fs::is_empty(dir.path() / ".tmp"));
  CHECK((*store)->list("").value().empty());
}

TEST_CASE("keys that could escape the store are refused", "[storage]") {
  TempDir dir;
  auto store = make_local_blob_store(dir.path());
  REQUIRE(store.ok());
  for (std::string key : {"../x", "/etc/passwd", "a/../../b", "", "a//b", "a/./b", "sp ace", "a\\b"}) {
    INFO(key);
    auto w = (*store)->open_writer(key);
    REQUIRE_FALSE(w.ok());
    CHECK(w.error().code == "bad_request");
  }
  CHECK(is_valid_key("results/01HX.zip"));
}

TEST_CASE("missing blobs answer not_found; remove is idempotent; list filters by prefix", "[storage]") {
  TempDir dir;
  auto store = make_local_blob_store(dir.path());
  REQUIRE(store.ok());
  CHECK((*store)->open_reader("nope").error().code == "not_found");
  REQUIRE(put_bytes(**store, "results/1.zip", "zip").ok());
  REQUIRE(put_bytes(**store, "reports/1.json", "{}").ok());
  auto results = (*store)->list("results/");
  REQUIRE(results.ok());
  REQUIRE(results->size() == 1);
  CHECK(results->front().key == "results/1.zip");
  CHECK((*store)->remove("results/1.zip").ok());
  CHECK((*store)->remove("results/1.zip").ok());
  CHECK((*store)->stat("results/1.zip").error().code == "not_found");
  CHECK((*store)->check().ok());
}

TEST_CASE("temp files left by a crash are swept when the store opens", "[storage]") {
  TempDir dir;
  fs::create_directories(dir.path() / ".tmp");
  { std::ofstream(dir.path() / ".tmp" / "stale.part") << "half a blob"; }
  auto store = make_local_blob_store(dir.path());
  REQUIRE(store.ok());
  CHECK(fs::is_empty(dir.path() / ".tmp"));
}
