#pragma once
// FakeS3Server: an HTTP server on 127.0.0.1 that speaks the part of the S3 REST protocol the
// S3 blob store uses, path-style: PUT/GET (Range, If-Match)/HEAD/DELETE object, ListObjectsV2
// with continuation tokens, multipart upload (create, part, complete, abort) and HEAD bucket.
// It checks requests as S3 does: SigV4 signatures (header or presigned query), the payload
// hash, the clock skew, a presigned URL's expiry, S3's 5 MiB floor on all parts but the last;
// a request without credentials is refused.
//
// Unlike s3rver it fails on demand: a scripted fault answers the next matching requests with
// an S3 error (503 SlowDown, 500 InternalError...) or never answers at all.
//
// Runs on the project's own HttpServer; every public method is thread-safe.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fti/core/clock.hpp"

namespace fti::fakes {

enum class S3Op {
  any,
  head_bucket,
  list_objects,
  put_object,
  get_object,
  head_object,
  delete_object,
  create_multipart,
  upload_part,
  complete_multipart,
  abort_multipart,
  unknown,
};

struct S3Fault {
  S3Op op = S3Op::any;
  int status = 503;
  std::string code = "SlowDown";
  std::string message = "Please reduce your request rate.";
  bool hang = false;  // read the request, never answer (until the server is destroyed)
  bool in_success_body = false;  // 200 with the <Error> document (CompleteMultipartUpload does this)
  int skip = 0;       // matching requests let through before it starts
  int times = 1;      // how many matching requests it answers
};

struct S3Record {
  S3Op op = S3Op::unknown;
  std::string method;
  std::string target;  // as sent, with the query
  int status = 0;      // what the fake answered (0 for a hang)
  std::map<std::string, std::string> headers;  // lower-cased names
};

class FakeS3Server {
 public:
  struct Options {
    std::string access_key_id = "AKIDFAKES3";
    std::string secret_access_key = "fake/secret+key";
    std::string region = "us-east-1";
    std::vector<std::string> buckets = {"fake-bucket"};
    const Clock* clock = nullptr;  // for skew and expiry; nullptr: the system clock
    std::size_t min_part_size = 5u << 20;
  };

  explicit FakeS3Server(Options options);  // listens at once; throws std::runtime_error
  ~FakeS3Server();                         // releases hanging requests, then stops
  FakeS3Server(const FakeS3Server&) = delete;
  FakeS3Server& operator=(const FakeS3Server&) = delete;

  std::string endpoint() const;  // "http://127.0.0.1:PORT"

  // Appends a fault; faults are matched in order, each against the request's operation.
  void fail_next(S3Fault fault);

  std::optional<std::string> object(const std::string& bucket, const std::string& key) const;
  void put_object(const std::string& bucket, const std::string& key, std::string data);
  std::size_t object_count(const std::string& bucket) const;
  std::size_t open_uploads() const;  // multipart uploads neither completed nor aborted
  std::vector<S3Record> requests() const;
  int count(S3Op op) const;  // requests of that operation, whatever the answer

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace fti::fakes
