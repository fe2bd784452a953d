#pragma once
// S3BlobStore: blobs as objects in one S3 bucket (AWS, or anything that speaks the protocol:
// MinIO, Ceph, s3rver), signed with SigV4 over libcurl.
//
// Addressing: with an endpoint, path-style (ENDPOINT/BUCKET/KEY); without one, AWS's
// virtual-hosted style (https://BUCKET.s3.REGION.amazonaws.com/KEY).
// Writes: a blob that fits in one part is one PUT; a larger one is a multipart upload, one
// part buffered at a time, so a writer holds at most part_size bytes whatever the blob's
// size. Nothing is visible under the key until commit; abort or destruction aborts the upload.
// Reads: ranged GETs of read_chunk bytes, pinned to the object's ETag, so a reader holds at
// most read_chunk bytes and never mixes two versions of a blob.
// Every request has timeouts and is retried with exponential backoff and jitter on network
// errors, timeouts and 500/502/503/504 (SlowDown); never on other 4xx.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "fti/core/clock.hpp"
#include "fti/storage/blob_store.hpp"

namespace fti::storage {

// Where the bucket is, from "s3://BUCKET?endpoint=...&region=...".
struct S3Location {
  std::string bucket;
  std::string endpoint;  // "http://127.0.0.1:9000" (scheme, host, port); empty: AWS itself
  std::string region = "us-east-1";
};

// bad_config, with a message saying what to write, for anything else.
Result<S3Location> parse_s3_url(std::string_view url);

// What the store has done, for tests and diagnostics. Updated atomically by every thread.
struct S3Stats {
  std::atomic<std::int64_t> requests{0};  // HTTP requests sent, retries included
  std::atomic<std::int64_t> retries{0};
  std::atomic<std::int64_t> peak_writer_buffer_bytes{0};  // largest part buffer any writer held
  std::atomic<std::int64_t> peak_reader_buffer_bytes{0};  // largest chunk any reader held
};

struct S3Options {
  S3Location location;
  S3Credentials credentials;
  const Clock* clock = nullptr;  // signing time; nullptr: the system clock

  // S3 requires parts of at least 5 MiB (the last may be smaller) and at most 10,000 parts,
  // so 8 MiB parts carry blobs up to 78 GiB.
  std::size_t part_size = 8u << 20;
  std::size_t read_chunk = 4u << 20;

  int max_attempts = 5;  // tries per request, the first included
  std::chrono::milliseconds backoff_base{100};  // doubles per retry, with jitter
  std::chrono::milliseconds backoff_max{5000};
  // How a retry waits; tests record the delays instead of sleeping.
  std::function<void(std::chrono::milliseconds)> sleep;

  std::chrono::milliseconds connect_timeout{5000};
  // Until the status line of a request without a body (HEAD, GET, DELETE, LIST...).
  std::chrono::milliseconds first_byte_timeout{15000};
  std::chrono::milliseconds request_timeout{30000};    // whole small requests
  std::chrono::milliseconds transfer_timeout{300000};  // a part or chunk up or down

  S3Stats* stats = nullptr;  // optional
};

Result<std::unique_ptr<BlobStore>> make_s3_blob_store(S3Options options);

}  // namespace fti::storage
