// S3BlobStore against the fake S3 server: the protocol as S3 speaks it (signatures checked,
// 5 MiB part floor, ETags, continuation tokens) and every failure the store must survive,
// on demand. Time is a manual clock for signing; retries record their delays, never sleep.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <fmt/format.h>

#include "../../src/storage/sigv4.hpp"
#include "fakes/fake_s3_server.hpp"
#include "fakes/manual_clock.hpp"
#include "fti/core/http_client.hpp"
#include "fti/storage/s3_blob_store.hpp"

using namespace fti;
using namespace fti::storage;
using fakes::S3Fault;
using fakes::S3Op;
using std::chrono::milliseconds;

namespace {

constexpr std::size_t kMiB = 1u << 20;

// Bytes that differ from part to part, so a misplaced part cannot go unnoticed.
std::string pattern_bytes(std::size_t n, unsigned seed = 1) {
  std::string out(n, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& c : out) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  return out;
}

struct FakeS3 {
  fakes::ManualClock clock;
  fakes::FakeS3Server server{fakes::FakeS3Server::Options{.clock = &clock}};
  S3Stats stats;
  std::vector<milliseconds> sleeps;

  S3Options options() {
    fakes::FakeS3Server::Options defaults;
    S3Options o;
    o.location = {"fake-bucket", server.endpoint(), "us-east-1"};
    o.credentials = {defaults.access_key_id, defaults.secret_access_key, ""};
    o.clock = &clock;
    o.part_size = 5 * kMiB;
    o.read_chunk = kMiB;
    o.sleep = [this](milliseconds d) { sleeps.push_back(d); };
    o.stats = &stats;
    return o;
  }

  std::unique_ptr<BlobStore> store(S3Options o) {
    auto s = make_s3_blob_store(std::move(o));
    REQUIRE(s.ok());
    return std::move(s).value();
  }
  std::unique_ptr<BlobStore> store() { return store(options()); }

  std::optional<std::string> object(const std::string& key) const { return server.object("fake-bucket", key); }
};

// Writes `data` in pieces of `piece` bytes, the way uploads arrive.
Status write_in_pieces(BlobWriter& writer, std::string_view data, std::size_t piece) {
  for (std::size_t at = 0; at < data.size(); at += piece) FTI_TRY(writer.write(data.substr(at, piece)));
  return {};
}

std::string read_all(BlobReader& reader, std::size_t buffer_size = 100000) {
  std::string out;
  std::string buffer(buffer_size, '\0');
  for (;;) {
    auto n = reader.read(buffer.data(), buffer.size());
    REQUIRE(n.ok());
    if (*n == 0) return out;
    out.append(buffer.data(), *n);
  }
}

}  // namespace

TEST_CASE("S3: put, get, stat, list and remove round trip", "[storage][s3]") {
  FakeS3 s3;
  auto store = s3.store();
  auto info = put_bytes(*store, "results/1.zip", "zip bytes");
  REQUIRE(info.ok());
  CHECK(info->size == 9);
  CHECK(s3.object("results/1.zip") == "zip bytes");
  CHECK(s3.server.count(S3Op::put_object) == 1);
  CHECK(s3.server.count(S3Op::create_multipart) == 0);

  CHECK(get_bytes(*store, "results/1.zip", 100).value() == "zip bytes");
  auto st = store->stat("results/1.zip");
  REQUIRE(st.ok());
  CHECK(st->size == 9);
  CHECK(st->modified_ms / 1000 == s3.clock.now_ms() / 1000);

  REQUIRE(put_bytes(*store, "reports/1.json", "{}").ok());
  auto listed = store->list("results/");
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 1);
  CHECK(listed->front().key == "results/1.zip");
  CHECK(listed->front().size == 9);
  CHECK(store->list("").value().size() == 2);

  CHECK(store->remove("results/1.zip").ok());
  CHECK(store->remove("results/1.zip").ok());  // a missing key is fine
  CHECK(store->stat("results/1.zip").error().code == "not_found");
  CHECK(store->open_reader("results/1.zip").error().code == "not_found");
  CHECK(store->check().ok());
  CHECK(store->url() == "s3://fake-bucket?region=us-east-1&endpoint=" + s3.server.endpoint());
}

TEST_CASE("S3: an empty blob and a blob of exactly one part are plain PUTs", "[storage][s3]") {
  FakeS3 s3;
  auto store = s3.store();
  REQUIRE(put_bytes(*store, "empty", "").ok());
  CHECK(get_bytes(*store, "empty", 10).value().empty());
  std::string part = pattern_bytes(5 * kMiB);
  REQUIRE(put_bytes(*store, "one-part", part).ok());
  CHECK(s3.object("one-part") == part);
  CHECK(s3.server.count(S3Op::put_object) == 2);
  CHECK(s3.server.count(S3Op::create_multipart) == 0);
}

TEST_CASE("S3: a large blob goes up in parts, one part in memory, visible only on commit", "[storage][s3]") {
  FakeS3 s3;
  auto store = s3.store();
  std::string data = pattern_bytes(12 * kMiB + 123);
  auto writer = store->open_writer("uploads/big");
  REQUIRE(writer.ok());
  REQUIRE(write_in_pieces(**writer, data, 64 * 1024).ok());
  CHECK_FALSE(s3.object("uploads/big"));  // two parts are up, but nothing is under the key
  CHECK(s3.server.open_uploads() == 1);
  auto info = (*writer)->commit();
  REQUIRE(info.ok());
  CHECK(info->size == static_cast<std::int64_t>(data.size()));
  CHECK(s3.object("uploads/big") == data);
  CHECK(s3.server.count(S3Op::upload_part) == 3);
  CHECK(s3.server.count(S3Op::complete_multipart) == 1);
  CHECK(s3.server.open_uploads() == 0);
  CHECK(s3.stats.peak_writer_buffer_bytes.load() > 0);
  CHECK(s3.stats.peak_writer_buffer_bytes.load() <= static_cast<std::int64_t>(5 * kMiB));

  // Read back in ranged GETs of one chunk each.
  auto reader = store->open_reader("uploads/big");
  REQUIRE(reader.ok());
  CHECK((*reader)->size() == static_cast<std::int64_t>(data.size()));
  CHECK(read_all(**reader) == data);
  CHECK(s3.server.count(S3Op::get_object) == 13);
  CHECK(s3.stats.peak_reader_buffer_bytes.load() <= static_cast<std::int64_t>(kMiB));
  for (const auto& r : s3.server.requests()) {
    if (r.op == S3Op::get_object) CHECK(r.headers.count("if-match") == 1);
  }
}

TEST_CASE("S3: 503 SlowDown is retried with growing, jittered backoff, then succeeds", "[storage][s3]") {
  FakeS3 s3;
  auto store = s3.store();
  s3.server.fail_next(S3Fault{.op = S3Op::put_object, .times = 2});
  REQUIRE(put_bytes(*store, "k", "v").ok());
  CHECK(s3.object("k") == "v");
  CHECK(s3.server.count(S3Op::put_object) == 3);
  REQUIRE(s3.sleeps.size() == 2);
  // Base 100 ms, doubled per retry; half of each delay fixed, half random.
  CHECK(s3.sleeps[0] >= milliseconds(50));
  CHECK(s3.sleeps[0] <= milliseconds(100));
  CHECK(s3.sleeps[1] >= milliseconds(100));
  CHECK(s3.sleeps[1] <= milliseconds(200));
  CHECK(s3.stats.retries.load() == 2);
}

TEST_CASE("S3: retries stop after max_attempts; 503 then says unavailable", "[storage][s3]") {
  FakeS3 s3;
  auto options = s3.options();
  options.max_attempts = 3;
  auto store = s3.store(options);
  s3.server.fail_next(S3Fault{.op = S3Op::list_objects, .times = 10});
  auto listed = store->list("");
  REQUIRE_FALSE(listed.ok());
  CHECK(listed.error().code == "unavailable");
  CHECK_THAT(listed.error().message, Catch::Contains("503 SlowDown") && Catch::Contains("tried 3 times"));
  CHECK(s3.server.count(S3Op::list_objects) == 3);
  CHECK(s3.sleeps.size() == 2);
}

TEST_CASE("S3: a 500 in the middle of a multipart upload aborts it; nothing is visible", "[storage][s3]") {
  FakeS3 s3;
  auto store = s3.store();
  // The first part goes through; the second fails every try.
  s3.server.fail_next(S3Fault{.op = S3Op::upload_part, .status = 500, .code = "InternalError",
                              .message = "We encountered an internal error. Please try again.", .skip = 1, .times = 100});
  auto writer = store->open_writer("uploads/doomed");
  REQUIRE(writer.ok());
  auto st = write_in_pieces(**writer, pattern_bytes(16 * kMiB), kMiB);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().code == "storage_error");
  CHECK_THAT(st.error().message, Catch::Contains("part 2") && Catch::Contains("500 InternalError"));
  CHECK(s3.server.count(S3Op::upload_part) == 1 + 5);  // part 1, then part 2 five times
  CHECK(s3.server.count(S3Op::abort_multipart) == 1);
  CHECK(s3.server.open_uploads() == 0);
  CHECK_FALSE(s3.object("uploads/doomed"));
  CHECK_FALSE((*writer)->commit().ok());  // the writer is done
  CHECK_FALSE((*writer)->write("more").ok());
}

TEST_CASE("S3: a writer dropped without commit aborts its multipart upload", "[storage][s3]") {
  FakeS3 s3;
  auto store = s3.store();
  {
    auto writer = store->open_writer("uploads/abandoned");
    REQUIRE(writer.ok());
    REQUIRE(write_in_pieces(**writer, pattern_bytes(11 * kMiB), kMiB).ok());
    CHECK(s3.server.open_uploads() == 1);
  }
  CHECK(s3.server.count(S3Op::abort_multipart) == 1);
  CHECK(s3.server.open_uploads() == 0);
  CHECK_FALSE(s3.object("uploads/abandoned"));
  {
    auto writer = store->open_writer("small/abandoned");
    REQUIRE((*writer)->write("never sent").ok());
  }
  CHECK(s3.server.count(S3Op::put_object) == 0);  // a small blob is sent only on commit
}

TEST_CASE("S3: CompleteMultipartUpload answering 200 with an <Error> is retried", "[storage][s3]") {
  FakeS3 s3;
  auto store = s3.store();
  s3.server.fail_next(S3Fault{.op = S3Op::complete_multipart, .code = "InternalError", .in_success_body = true});
  std::string data = pattern_bytes(6 * kMiB);
  REQUIRE(put_bytes(*store, "uploads/retried", data).ok());
  CHECK(s3.server.count(S3Op::complete_multipart) == 2);
  CHECK(s3.object("uploads/retried") == data);
}

TEST_CASE("S3: a wrong secret is refused once, not retried, and the error says what to check", "[storage][s3]") {
  FakeS3 s3;
  auto options = s3.options();
  options.credentials.secret_access_key = "wrong-secret-DO-NOT-PRINT";
  auto store = s3.store(options);
  auto put = put_bytes(*store, "k", "v");
  REQUIRE_FALSE(put.ok());
  CHECK(put.error().code == "storage_error");
  CHECK_THAT(put.error().message, Catch::Contains("403 SignatureDoesNotMatch") &&
                                      Catch::Contains("check AWS_SECRET_ACCESS_KEY"));
  CHECK_THAT(put.error().message, !Catch::Contains("DO-NOT-PRINT"));
  CHECK(s3.server.count(S3Op::put_object) == 1);
  CHECK(s3.sleeps.empty());

  options.credentials = {"AKIDUNKNOWN", "whatever", ""};
  auto unknown = s3.store(options)->check();
  REQUIRE_FALSE(unknown.ok());
  CHECK_THAT(unknown.error().message, Catch::Contains("check AWS_ACCESS_KEY_ID"));
}

TEST_CASE("S3: requests are signed with the injected clock; a skewed clock is named", "[storage][s3]") {
  FakeS3 s3;
  REQUIRE(s3.store()->check().ok());
  auto recorded = s3.server.requests();
  REQUIRE(recorded.size() == 1);
  CHECK(recorded[0].headers["x-amz-date"] == sigv4::amz_date(s3.clock.now_ms()));

  fakes::ManualClock late(s3.clock.now_ms() + 20 * 60 * 1000);
  auto options = s3.options();
  options.clock = &late;
  auto skewed = s3.store(options)->check();
  REQUIRE_FALSE(skewed.ok());
  CHECK_THAT(skewed.error().message, Catch::Contains("RequestTimeTooSkewed") && Catch::Contains("clock"));
}

TEST_CASE("S3: a server that never answers times out, on every kind of call", "[storage][s3]") {
  FakeS3 s3;
  auto options = s3.options();
  options.first_byte_timeout = milliseconds(200);
  options.transfer_timeout = milliseconds(500);
  options.max_attempts = 2;
  auto store = s3.store(options);

  s3.server.fail_next(S3Fault{.op = S3Op::head_object, .hang = true, .times = 2});
  auto st = store->stat("k");
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().code == "timeout");
  CHECK_THAT(st.error().message, Catch::Contains("no response within 200 ms") && Catch::Contains("tried 2 times"));
  CHECK(s3.server.count(S3Op::head_object) == 2);
  CHECK(s3.sleeps.size() == 1);

  // An upload has no first-byte limit (its answer follows its body); the transfer limit holds.
  s3.server.fail_next(S3Fault{.op = S3Op::put_object, .hang = true, .times = 2});
  auto put = put_bytes(*store, "k", "v");
  REQUIRE_FALSE(put.ok());
  CHECK(put.error().code == "timeout");
}

TEST_CASE("S3: connection refused is a network error, retried", "[storage][s3]") {
  FakeS3 s3;
  auto options = s3.options();
  {
    fakes::FakeS3Server gone{{}};
    options.location.endpoint = gone.endpoint();
  }  // nothing listens there any more
  options.max_attempts = 3;
  auto st = s3.store(options)->stat("k");
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().code == "network_error");
  CHECK_THAT(st.error().message, Catch::Contains("connection refused") && Catch::Contains("tried 3 times"));
  CHECK(s3.sleeps.size() == 2);
}

TEST_CASE("S3: a listing follows continuation tokens, whatever characters they hold", "[storage][s3]") {
  FakeS3 s3;
  for (int i = 0; i < 2345; ++i) s3.server.put_object("fake-bucket", fmt::format("p/{:05}", i), "x");
  s3.server.put_object("fake-bucket", "q/other", "y");
  auto listed = s3.store()->list("p/");
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 2345);
  CHECK(listed->front().key == "p/00000");
  CHECK(listed->back().key == "p/02344");
  CHECK(std::is_sorted(listed->begin(), listed->end(), [](auto& a, auto& b) { return a.key < b.key; }));
  CHECK(s3.server.count(S3Op::list_objects) == 3);
}

TEST_CASE("S3: a blob replaced while being read is an error, never a mix of two", "[storage][s3]") {
  FakeS3 s3;
  auto store = s3.store();
  REQUIRE(put_bytes(*store, "k", pattern_bytes(3 * kMiB, 1)).ok());
  auto reader = store->open_reader("k");
  REQUIRE(reader.ok());
  std::string buffer(kMiB, '\0');
  REQUIRE((*reader)->read(buffer.data(), buffer.size()).ok());
  s3.server.put_object("fake-bucket", "k", pattern_bytes(3 * kMiB, 2));
  auto more = (*reader)->read(buffer.data(), buffer.size());
  REQUIRE_FALSE(more.ok());
  CHECK_THAT(more.error().message, Catch::Contains("replaced while being read"));
}

TEST_CASE("S3: a presigned URL works with a plain GET until it expires", "[storage][s3]") {
  FakeS3 s3;
  auto store = s3.store();
  REQUIRE(put_bytes(*store, "results/9.zip", "PK zip").ok());
  auto url = store->presigned_get_url(
      "results/9.zip", {std::chrono::seconds(60), "application/zip", "attachment; filename=\"clean.zip\""});
  REQUIRE(url.ok());
  REQUIRE(url->has_value());
  CHECK(url->value().rfind(s3.server.endpoint() + "/fake-bucket/results/9.zip?", 0) == 0);

  HttpClient http;
  auto fetch = [&](const std::string& u) {
    HttpRequest req;
    req.url = u;  // no credentials, no headers of ours
    auto r = http.send(req);
    REQUIRE(r.ok());
    return std::move(r).value();
  };
  auto ok = fetch(**url);
  CHECK(ok.status == 200);
  CHECK(ok.body == "PK zip");
  CHECK(ok.header("content-type") == "application/zip");
  CHECK(ok.header("content-disposition") == "attachment; filename=\"clean.zip\"");

  // Without the signature, or with another one, the bucket is private.
  CHECK(fetch(s3.server.endpoint() + "/fake-bucket/results/9.zip").status == 403);
  std::string tampered = **url;
  tampered.back() = tampered.back() == '0' ? '1' : '0';
  auto refused = fetch(tampered);
  CHECK(refused.status == 403);
  CHECK_THAT(refused.body, Catch::Contains("SignatureDoesNotMatch"));

  s3.clock.advance(61 * 1000);
  auto expired = fetch(**url);
  CHECK(expired.status == 403);
  CHECK_THAT(expired.body, Catch::Contains("Request has expired"));

  CHECK(store->presigned_get_url("k", {std::chrono::seconds(0), "", ""}).error().code == "bad_request");
  CHECK(store->presigned_get_url("k", {std::chrono::hours(24 * 8), "", ""}).error().code == "bad_request");
  CHECK(store->presigned_get_url("../k", {}).error().code == "bad_request");
}

TEST_CASE("S3: a missing bucket fails the readiness check with what to do", "[storage][s3]") {
  FakeS3 s3;
  auto options = s3.options();
  options.location.bucket = "no-such-bucket";
  auto st = s3.store(options)->check();
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().code == "storage_error");
  CHECK_THAT(st.error().message, Catch::Contains("bucket \"no-such-bucket\" does not exist"));
}

TEST_CASE("S3: a bucket in another region says to set region=", "[storage][s3]") {
  FakeS3 s3;
  s3.server.fail_next(S3Fault{.op = S3Op::list_objects, .status = 301, .code = "PermanentRedirect",
                              .message = "The bucket you are attempting to access must be addressed using the specified endpoint."});
  auto st = s3.store()->check();
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().code == "storage_error");
  CHECK_THAT(st.error().message, Catch::Contains("set region= in storage.url"));
  CHECK(s3.sleeps.empty());
}

TEST_CASE("S3: invalid keys are refused before any request", "[storage][s3]") {
  FakeS3 s3;
  auto store = s3.store();
  for (std::string key : {"../x", "/etc/passwd", "a//b", ""}) {
    INFO(key);
    CHECK(store->open_writer(key).error().code == "bad_request");
    CHECK(store->stat(key).error().code == "bad_request");
    CHECK(store->remove(key).error().code == "bad_request");
  }
  CHECK(s3.server.requests().empty());
}

TEST_CASE("s3:// URLs: bucket, endpoint and region, or a message saying what to write", "[storage][s3]") {
  auto full = parse_s3_url("s3://fti-blobs?endpoint=http://127.0.0.1:9000&region=eu-west-1");
  REQUIRE(full.ok());
  CHECK(full->bucket == "fti-blobs");
  CHECK(full->endpoint == "http://127.0.0.1:9000");
  CHECK(full->region == "eu-west-1");
  auto bare = parse_s3_url("s3://fti-blobs");
  REQUIRE(bare.ok());
  CHECK(bare->endpoint.empty());
  CHECK(bare->region == "us-east-1");

  for (std::string bad : {"s3://", "s3://Bad_Bucket", "s3://bucket/prefix", "s3://bucket?endpoint=ftp://x",
                          "s3://bucket?endpoint=http://h:9000/path", "s3://bucket?regoin=x", "s3://bucket?region="}) {
    INFO(bad);
    auto r = parse_s3_url(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "bad_config");
    CHECK_THAT(r.error().message, Catch::StartsWith("storage.url"));
  }
  CHECK_THAT(parse_s3_url("s3://bucket?regoin=x").error().message, Catch::Contains("s3://BUCKET?endpoint="));
}

TEST_CASE("open_blob_store: s3:// needs credentials, handed in, never read from the store", "[storage][s3]") {
  auto none = open_blob_store("s3://fti-blobs?endpoint=http://127.0.0.1:1");
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().code == "bad_config");
  CHECK_THAT(none.error().message, Catch::Contains("AWS_ACCESS_KEY_ID") && Catch::Contains("AWS_SECRET_ACCESS_KEY"));

  OpenBlobStoreOptions options;
  options.s3_credentials = {"AKID", "SECRET", ""};
  auto store = open_blob_store("s3://fti-blobs?endpoint=http://127.0.0.1:1", options);
  REQUIRE(store.ok());
  CHECK((*store)->url() == "s3://fti-blobs?region=us-east-1&endpoint=http://127.0.0.1:1");
  CHECK(open_blob_store("gs://bucket").error().code == "bad_config");

  S3Options direct;  // options built by hand get the same checks as a URL
  direct.location = {"fti-blobs", "minio:9000", "us-east-1"};
  direct.credentials = {"AKID", "SECRET", ""};
  CHECK(make_s3_blob_store(direct).error().code == "bad_config");
  direct.location.endpoint = "http://minio:9000";
  direct.part_size = 1 << 20;
  CHECK_THAT(make_s3_blob_store(direct).error().message, Catch::Contains("5 MiB"));
}
