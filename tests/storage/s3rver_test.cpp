// S3BlobStore against s3rver, a real implementation of the S3 protocol (scripts/test starts it
// with tests/tools/start-s3rver and exports FTITEST_S3_ENDPOINT, FTITEST_S3_BUCKET and the
// AWS_* credentials). Without FTITEST_S3_ENDPOINT these tests skip with a warning, unless
// FTITEST_REQUIRE_SERVICES=1, when a missing s3rver is a failure.
//
// s3rver checks who signs (the access key, the clock skew, a presigned URL's expiry) but not
// the SigV4 signature itself: tests/storage/s3_blob_store_test.cpp covers signatures against
// the fake S3 server, which does check them.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fmt/format.h>

#include "fti/core/clock.hpp"
#include "fti/core/http_client.hpp"
#include "fti/core/ids.hpp"
#include "fti/storage/s3_blob_store.hpp"

using namespace fti;
using namespace fti::storage;

namespace {

constexpr std::size_t kMiB = 1u << 20;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

struct S3rver {
  S3Options options;
  std::string prefix;  // every test writes under its own, so runs never collide
};

// The s3rver to use, or nullopt after recording why the test is skipped.
std::optional<S3rver> s3rver() {
  if (env("FTITEST_S3_ENDPOINT").empty()) {
    if (env("FTITEST_REQUIRE_SERVICES") == "1") {
      FAIL("FTITEST_S3_ENDPOINT is not set but FTITEST_REQUIRE_SERVICES=1: start s3rver with tests/tools/start-s3rver");
    }
    WARN("FTITEST_S3_ENDPOINT is not set: s3rver tests skipped (scripts/test starts s3rver)");
    SUCCEED("skipped");
    return std::nullopt;
  }
  S3rver s;
  s.options.location = {env("FTITEST_S3_BUCKET"), env("FTITEST_S3_ENDPOINT"), "us-east-1"};
  s.options.credentials = s3_credentials_from_environment();
  s.prefix = "t-" + new_request_id() + "/";
  return s;
}

std::unique_ptr<BlobStore> open(const S3Options& options) {
  auto store = make_s3_blob_store(options);
  REQUIRE(store.ok());
  return std::move(store).value();
}

// Deterministic bytes, made a piece at a time so a 200 MB blob never sits in memory.
class PatternSource {
 public:
  std::string next(std::size_t n) {
    std::string out(n, '\0');
    for (auto& c : out) {
      x_ ^= x_ << 13;
      x_ ^= x_ >> 17;
      x_ ^= x_ << 5;
      c = static_cast<char>(x_);
    }
    return out;
  }

 private:
  std::uint32_t x_ = 2463534242u;
};

// The system clock, some time ago: signs URLs that are already stale.
class PastClock final : public Clock {
 public:
  explicit PastClock(TimeMs behind) : behind_(behind) {}
  TimeMs now_ms() const override { return SystemClock().now_ms() - behind_; }

 private:
  TimeMs behind_;
};

}  // namespace

TEST_CASE("s3rver: put, get, stat, list and remove round trip, a key of many parts", "[storage][s3rver]") {
  auto s3 = s3rver();
  if (!s3) return;
  auto store = open(s3->options);
  REQUIRE(store->check().ok());
  const std::string deep = s3->prefix + "a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t/u/v/w/x/y/z.tar.gz";
  const std::string flat = s3->prefix + "report_1.json";
  REQUIRE(put_bytes(*store, deep, "deep bytes").ok());
  REQUIRE(put_bytes(*store, flat, "{}").ok());

  CHECK(get_bytes(*store, deep, 100).value() == "deep bytes");
  auto st = store->stat(deep);
  REQUIRE(st.ok());
  CHECK(st->size == 10);
  CHECK(std::llabs(st->modified_ms - SystemClock().now_ms()) < 60'000);

  auto listed = store->list(s3->prefix);
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 2);
  CHECK(listed->at(0).key == deep);
  CHECK(listed->at(1).key == flat);
  CHECK(listed->at(1).size == 2);
  CHECK(store->list(s3->prefix + "a/b/").value().size() == 1);

  CHECK(store->remove(deep).ok());
  CHECK(store->remove(deep).ok());
  CHECK(store->stat(deep).error().code == "not_found");
  CHECK(store->open_reader(deep).error().code == "not_found");
  CHECK(store->list(s3->prefix).value().size() == 1);
}

TEST_CASE("s3rver: 200 MB go up in parts and stream back with the same SHA-256, one part in memory",
          "[storage][s3rver][slow]") {
  auto s3 = s3rver();
  if (!s3) return;
  S3Stats stats;
  s3->options.stats = &stats;
  auto store = open(s3->options);
  const std::string key = s3->prefix + "uploads/200mb";
  constexpr std::size_t kTotal = 200 * 1000 * 1000;  // 200 MB, not a multiple of the part size

  Stopwatch up;
  auto writer = store->open_writer(key);
  REQUIRE(writer.ok());
  PatternSource source;
  Sha256 sent;
  for (std::size_t done = 0; done < kTotal;) {
    auto piece = source.next(std::min<std::size_t>(kMiB, kTotal - done));
    sent.update(piece);
    REQUIRE((*writer)->write(piece).ok());
    done += piece.size();
    // The writer never holds more than one part, however much has gone through it.
    REQUIRE(stats.peak_writer_buffer_bytes.load() <= static_cast<std::int64_t>(s3->options.part_size));
  }
  CHECK(store->stat(key).error().code == "not_found");  // not before commit
  auto info = (*writer)->commit();
  REQUIRE(info.ok());
  const double up_seconds = up.seconds();
  const auto requests_up = stats.requests.load() - 1;  // all but the stat above
  CHECK(requests_up == 1 + 24 + 1);  // create, 24 parts of 8 MiB (the last shorter), complete
  CHECK(info->size == static_cast<std::int64_t>(kTotal));
  CHECK(store->stat(key).value().size == static_cast<std::int64_t>(kTotal));
  CHECK(stats.peak_writer_buffer_bytes.load() == static_cast<std::int64_t>(s3->options.part_size));

  const auto requests_before_read = stats.requests.load();
  Stopwatch down;
  auto reader = store->open_reader(key);
  REQUIRE(reader.ok());
  Sha256 received;
  std::string buffer(256 * 1024, '\0');
  std::int64_t total = 0;
  for (;;) {
    auto n = (*reader)->read(buffer.data(), buffer.size());
    REQUIRE(n.ok());
    if (*n == 0) break;
    received.update(std::string_view(buffer.data(), *n));
    total += static_cast<std::int64_t>(*n);
  }
  const double down_seconds = down.seconds();
  CHECK(total == static_cast<std::int64_t>(kTotal));
  CHECK(received.hex_digest() == sent.hex_digest());
  CHECK(stats.peak_reader_buffer_bytes.load() <= static_cast<std::int64_t>(s3->options.read_chunk));
  const auto ranged_gets = stats.requests.load() - requests_before_read - 1;  // after the HEAD
  CHECK(ranged_gets == 48);  // 4 MiB each
  WARN(fmt::format("200 MB through s3rver: up {:.1f} s in {} requests, down {:.1f} s in {} ranged GETs", up_seconds,
                   requests_up, down_seconds, ranged_gets));
  CHECK(store->remove(key).ok());
}

TEST_CASE("s3rver: a presigned URL serves the bytes to plain libcurl; an expired one is refused", "[storage][s3rver]") {
  auto s3 = s3rver();
  if (!s3) return;
  auto store = open(s3->options);
  const std::string key = s3->prefix + "results/1.zip";
  REQUIRE(put_bytes(*store, key, "PK presigned").ok());

  auto get = [](const std::string& url) {
    HttpRequest req;
    req.url = url;  // no Authorization, no headers of ours
    auto r = HttpClient().send(req);
    REQUIRE(r.ok());
    return std::move(r).value();
  };
  auto url = store->presigned_get_url(key, {std::chrono::seconds(60), "application/zip", "attachment; filename=\"x.zip\""});
  REQUIRE(url.ok());
  REQUIRE(url->has_value());
  auto ok = get(**url);
  CHECK(ok.status == 200);
  CHECK(ok.body == "PK presigned");
  CHECK(ok.header("content-disposition") == "attachment; filename=\"x.zip\"");

  // Signed two hours ago for one minute.
  PastClock past(2 * 3600 * 1000);
  auto stale_options = s3->options;
  stale_options.clock = &past;
  auto stale = open(stale_options)->presigned_get_url(key, {std::chrono::seconds(60), "", ""});
  REQUIRE(stale.ok());
  auto refused = get(**stale);
  CHECK(refused.status == 403);
  CHECK_THAT(refused.body, Catch::Contains("Request has expired"));
}

TEST_CASE("s3rver: an abandoned multipart upload leaves nothing under the key", "[storage][s3rver]") {
  auto s3 = s3rver();
  if (!s3) return;
  auto store = open(s3->options);
  const std::string key = s3->prefix + "uploads/abandoned";
  {
    auto writer = store->open_writer(key);
    REQUIRE(writer.ok());
    PatternSource source;
    for (int i = 0; i < 20; ++i) REQUIRE((*writer)->write(source.next(kMiB)).ok());  // two parts sent
  }
  CHECK(store->stat(key).error().code == "not_found");
  CHECK(store->list(s3->prefix).value().empty());
}

TEST_CASE("s3rver: the readiness check names a missing bucket", "[storage][s3rver]") {
  auto s3 = s3rver();
  if (!s3) return;
  s3->options.location.bucket = "no-such-bucket-" + new_request_id();
  auto st = open(s3->options)->check();
  REQUIRE_FALSE(st.ok());
  CHECK_THAT(st.error().message, Catch::Contains("does not exist"));
}

TEST_CASE("s3rver: the readiness check passes on a bucket of many objects", "[storage][s3rver]") {
  auto s3 = s3rver();
  if (!s3) return;
  auto store = open(s3->options);
  // Two objects at least, so the one-key listing of the check stops short of the end (and
  // s3rver must make a continuation token).
  REQUIRE(put_bytes(*store, s3->prefix + "a", "a").ok());
  REQUIRE(put_bytes(*store, s3->prefix + "b", "b").ok());
  auto st = store->check();
  INFO((st.ok() ? std::string() : st.error().message));
  CHECK(st.ok());
  CHECK(store->remove(s3->prefix + "a").ok());
  CHECK(store->remove(s3->prefix + "b").ok());
}
