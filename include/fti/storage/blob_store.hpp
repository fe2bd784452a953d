#pragma once
// BlobStore: where uploads, results and reports live. Streaming in both directions so that
// memory never grows with a blob's size (and so S3 multipart upload fits behind put).
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fti/core/clock.hpp"
#include "fti/core/result.hpp"

namespace fti::storage {

struct BlobInfo {
  std::string key;
  std::int64_t size = 0;
  std::int64_t modified_ms = 0;
};

// A blob being written. Nothing is visible under the key until commit() succeeds; a writer
// destroyed without commit leaves no trace.
class BlobWriter {
 public:
  virtual ~BlobWriter() = default;
  virtual Status write(std::string_view bytes) = 0;
  virtual Result<BlobInfo> commit() = 0;
  virtual void abort() = 0;
};

class BlobReader {
 public:
  virtual ~BlobReader() = default;
  // Reads up to `capacity` bytes; 0 means end of blob.
  virtual Result<std::size_t> read(char* buffer, std::size_t capacity) = 0;
  virtual std::int64_t size() const = 0;
};

// How a client may fetch a blob without us: a presigned URL's lifetime and the headers the
// download should carry (so a browser saves it under the right name).
struct PresignRequest {
  std::chrono::seconds ttl{900};
  std::string content_type;         // empty: as stored
  std::string content_disposition;  // empty: none
};

class BlobStore {
 public:
  virtual ~BlobStore() = default;
  // Keys are relative paths of [A-Za-z0-9._-] segments separated by '/'; anything else
  // (.., absolute, empty segments) is refused with bad_request.
  virtual Result<std::unique_ptr<BlobWriter>> open_writer(std::string_view key) = 0;
  virtual Result<std::unique_ptr<BlobReader>> open_reader(std::string_view key) = 0;  // not_found
  virtual Result<BlobInfo> stat(std::string_view key) = 0;                            // not_found
  virtual Status remove(std::string_view key) = 0;  // removing a missing key is ok
  virtual Result<std::vector<BlobInfo>> list(std::string_view prefix) = 0;
  // A URL that fetches the blob with a plain GET, no credentials, until `ttl` has passed;
  // nullopt when the store cannot make one (the local store), so the caller streams instead.
  // Made without a request, so it says nothing about whether the blob exists.
  virtual Result<std::optional<std::string>> presigned_get_url(std::string_view key, const PresignRequest& request) = 0;
  // Cheap liveness probe for /readyz.
  virtual Status check() = 0;
  virtual std::string url() const = 0;
};

bool is_valid_key(std::string_view key);

// Helpers built on the streaming interface.
Result<BlobInfo> put_file(BlobStore& store, std::string_view key, const std::string& path);
Status get_file(BlobStore& store, std::string_view key, const std::string& path);
Result<BlobInfo> put_bytes(BlobStore& store, std::string_view key, std::string_view bytes);
Result<std::string> get_bytes(BlobStore& store, std::string_view key, std::int64_t max_bytes);

// S3 credentials, as every AWS SDK and the AWS CLI take them.
struct S3Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // temporary credentials only
};

// Reads AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN. Called once, by the
// start-up wiring; stores are handed what it returns and never read the environment.
S3Credentials s3_credentials_from_environment();

struct OpenBlobStoreOptions {
  S3Credentials s3_credentials;  // for s3:// URLs
  const Clock* clock = nullptr;  // signing time for s3:// URLs; nullptr: the system clock
};

// Opens a store from a URL: "file:PATH" (a local folder) or
// "s3://BUCKET?endpoint=http://HOST:PORT&region=REGION" (see s3_blob_store.hpp).
Result<std::unique_ptr<BlobStore>> open_blob_store(std::string_view url, const OpenBlobStoreOptions& options = {});

}  // namespace fti::storage
