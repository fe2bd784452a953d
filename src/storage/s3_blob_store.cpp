#include "fti/storage/s3_blob_store.hpp"

#include <algorithm>
#include <ctime>
#include <fmt/format.h>

#include "fti/core/log.hpp"
#include "s3_client.hpp"
#include "s3_xml.hpp"

namespace fti::storage {
namespace {

constexpr std::size_t kMinPartSize = 5u << 20;   // S3's floor for every part but the last
constexpr std::size_t kMaxPartSize = 5ull << 30;  // and its ceiling
constexpr std::int64_t kMaxParts = 10000;
constexpr std::int64_t kMaxPresignSeconds = 7 * 24 * 3600;  // SigV4 presigned URLs live at most a week

void raise_peak(S3Stats* stats, std::atomic<std::int64_t> S3Stats::*field, std::size_t value) {
  if (!stats) return;
  auto& peak = stats->*field;
  auto v = static_cast<std::int64_t>(value);
  auto seen = peak.load();
  while (v > seen && !peak.compare_exchange_weak(seen, v)) {
  }
}

Status check_key(std::string_view key) {
  if (!is_valid_key(key)) return Error(errc::bad_request, fmt::format("invalid blob key \"{}\"", key));
  return {};
}

std::int64_t parse_length(const std::string& text) {
  try {
    return text.empty() ? 0 : std::stoll(text);
  } catch (const std::exception&) {
    return -1;
  }
}

// "Wed, 12 Oct 2009 17:50:00 GMT" -> ms; 0 when unreadable (the time is informative only).
TimeMs parse_http_date(const std::string& text) {
  std::tm tm{};
  if (!strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm)) return 0;
  return static_cast<TimeMs>(timegm(&tm)) * 1000;
}

// ---------------------------------------------------------------------------------------------
// Writing: one part in memory at a time.

class S3Writer final : public BlobWriter {
 public:
  S3Writer(std::shared_ptr<const S3Client> client, std::string key) : client_(std::move(client)), key_(std::move(key)) {}
  ~S3Writer() override { abort(); }

  Status write(std::string_view bytes) override {
    if (state_ != State::open) return Error(errc::internal, "write after commit, abort or a failed write");
    while (!bytes.empty()) {
      // A full buffer is sent only once more bytes come, so a blob of exactly one part is a
      // plain PUT rather than a multipart upload of one part.
      if (buffer_.size() == part_size()) FTI_TRY(fail_on_error(upload_buffered_part()));
      std::size_t take = std::min(part_size() - buffer_.size(), bytes.size());
      reserve_part();
      buffer_.append(bytes.substr(0, take));
      bytes.remove_prefix(take);
      size_ += static_cast<std::int64_t>(take);
    }
    return {};
  }

  Result<BlobInfo> commit() override {
    if (state_ != State::open) return Error(errc::internal, "commit after commit, abort or a failed write");
    if (upload_id_.empty()) {
      FTI_TRY(fail_on_error(put_whole()));
    } else {
      if (!buffer_.empty()) FTI_TRY(fail_on_error(upload_buffered_part()));
      FTI_TRY(fail_on_error(complete()));
    }
    state_ = State::done;
    release_buffer();
    return BlobInfo{key_, size_, client_->now_ms()};
  }

  void abort() override {
    if (state_ == State::done) return;
    state_ = State::done;
    release_buffer();
    if (upload_id_.empty()) return;  // a plain PUT not sent yet left nothing behind
    S3Call call{.what = fmt::format("abort the multipart upload of {}", key_), .method = "DELETE", .key = key_};
    call.query = {{"uploadId", upload_id_}};
    call.max_attempts = 2;  // runs in destructors: best effort, bounded
    if (auto r = client_->send(call); !r.ok()) {
      // Not visible under the key either way; a bucket lifecycle rule removes the parts.
      log::get("storage")->warn("{} (the parts stay until the bucket's lifecycle rule removes them)", r.error().message);
    }
    upload_id_.clear();
  }

 private:
  enum class State { open, done, failed };

  std::size_t part_size() const { return client_->options().part_size; }

  // One part's room, taken once: growing step by step would let std::string double past
  // the part size. A small blob never writes to most of it.
  void reserve_part() {
    if (buffer_.capacity() >= part_size()) return;
    buffer_.reserve(part_size());
    raise_peak(client_->options().stats, &S3Stats::peak_writer_buffer_bytes, buffer_.capacity());
  }

  void release_buffer() { std::string().swap(buffer_); }

  // A failed upload cannot be resumed: the multipart upload is aborted, the writer is done.
  Status fail_on_error(Status status) {
    if (!status.ok()) {
      abort();
      state_ = State::failed;
    }
    return status;
  }

  Status put_whole() {
    S3Call call{.what = fmt::format("PUT {}", key_), .method = "PUT", .key = key_};
    call.headers = {{"content-type", "application/octet-stream"}};
    call.body = std::move(buffer_);
    call.transfer = true;
    auto r = client_->send(call);
    buffer_ = std::move(call.body);
    return r.ok() ? Status() : Status(r.error());
  }

  Status start_multipart() {
    S3Call call{.what = fmt::format("start a multipart upload of {}", key_), .method = "POST", .key = key_};
    call.query = {{"uploads", ""}};
    call.headers = {{"content-type", "application/octet-stream"}};
    FTI_ASSIGN_OR_RETURN(auto response, client_->send(call));
    FTI_ASSIGN_OR_RETURN(upload_id_, s3xml::parse_upload_id(response.body));
    return {};
  }

  Status upload_buffered_part() {
    if (upload_id_.empty()) FTI_TRY(start_multipart());
    const auto number = etags_.size() + 1;
    if (static_cast<std::int64_t>(number) > kMaxParts) {
      return Error(errc::too_large, fmt::format("{} is over {} parts of {} bytes", key_, kMaxParts, part_size()));
    }
    S3Call call{.what = fmt::format("PUT {} (part {})", key_, number), .method = "PUT", .key = key_};
    call.query = {{"partNumber", std::to_string(number)}, {"uploadId", upload_id_}};
    call.body = std::move(buffer_);
    call.transfer = true;
    auto r = client_->send(call);
    buffer_ = std::move(call.body);  // its capacity serves the next part
    buffer_.clear();
    if (!r.ok()) return r.error();
    auto etag = r->header("etag");
    if (etag.empty()) return Error(errc::storage_error, fmt::format("S3 {}: the answer has no ETag", call.what));
    etags_.push_back(std::move(etag));
    return {};
  }

  Status complete() {
    S3Call call{.what = fmt::format("complete the multipart upload of {}", key_), .method = "POST", .key = key_};
    call.query = {{"uploadId", upload_id_}};
    call.headers = {{"content-type", "application/xml"}};
    call.body = s3xml::complete_multipart_body(etags_);
    call.error_in_success_body = true;
    auto r = client_->send(call);
    if (!r.ok() && !(call.last_s3_code == "NoSuchUpload" && call.attempts > 1 && completed_earlier())) {
      return r.error();
    }
    upload_id_.clear();  // complete: nothing to abort any more
    return {};
  }

  // A retried complete that finds the upload gone: an earlier try may have completed it and
  // only its answer was lost. The object being there at the right size says so.
  bool completed_earlier() const {
    S3Call head{.what = fmt::format("HEAD {}", key_), .method = "HEAD", .key = key_};
    auto r = client_->send(head);
    return r.ok() && parse_length(r->header("content-length")) == size_;
  }

  std::shared_ptr<const S3Client> client_;
  std::string key_;
  std::string buffer_;  // at most one part
  std::string upload_id_;
  std::vector<std::string> etags_;
  std::int64_t size_ = 0;
  State state_ = State::open;
};

// ---------------------------------------------------------------------------------------------
// Reading: ranged GETs of one chunk, pinned to the ETag seen when the reader opened.

class S3Reader final : public BlobReader {
 public:
  S3Reader(std::shared_ptr<const S3Client> client, std::string key, std::int64_t size, std::string etag)
      : client_(std::move(client)), key_(std::move(key)), size_(size), etag_(std::move(etag)) {}

  Result<std::size_t> read(char* out, std::size_t capacity) override {
    if (pos_ == buffer_.size()) {
      if (offset_ >= size_) return std::size_t{0};
      FTI_TRY(refill());
    }
    std::size_t n = std::min(capacity, buffer_.size() - pos_);
    std::copy_n(buffer_.data() + pos_, n, out);
    pos_ += n;
    return n;
  }

  std::int64_t size() const override { return size_; }

 private:
  Status refill() {
    const auto want = static_cast<std::size_t>(
        std::min<std::int64_t>(static_cast<std::int64_t>(client_->options().read_chunk), size_ - offset_));
    if (buffer_.capacity() < want) {
      buffer_.reserve(want);
      raise_peak(client_->options().stats, &S3Stats::peak_reader_buffer_bytes, buffer_.capacity());
    }
    const auto last = offset_ + static_cast<std::int64_t>(want) - 1;
    S3Call call{.what = fmt::format("GET {} bytes {}-{}", key_, offset_, last), .method = "GET", .key = key_};
    call.headers = {{"range", fmt::format("bytes={}-{}", offset_, last)}};
    if (!etag_.empty()) call.headers.emplace_back("if-match", etag_);
    call.transfer = true;
    call.before_attempt = [this] { buffer_.clear(); };
    call.on_body = [this, want](std::string_view bytes) {
      if (buffer_.size() + bytes.size() > want) return false;  // not the range we asked for
      buffer_.append(bytes);
      return true;
    };
    auto r = client_->send(call);
    if (!r.ok()) {
      buffer_.clear();
      if (call.last_s3_code == "PreconditionFailed") {
        return Error(errc::storage_error, fmt::format("blob {} was replaced while being read; read it again", key_));
      }
      return r.error();
    }
    if (buffer_.size() != want) {
      auto got = buffer_.size();
      buffer_.clear();
      return Error(errc::storage_error, fmt::format("S3 {}: got {} bytes instead of {}", call.what, got, want));
    }
    offset_ += static_cast<std::int64_t>(want);
    pos_ = 0;
    return {};
  }

  std::shared_ptr<const S3Client> client_;
  std::string key_;
  std::int64_t size_;
  std::string etag_;
  std::int64_t offset_ = 0;  // of the next byte to fetch
  std::string buffer_;       // at most one chunk
  std::size_t pos_ = 0;      // next byte of buffer_ to hand out
};

// ---------------------------------------------------------------------------------------------

class S3BlobStore final : public BlobStore {
 public:
  explicit S3BlobStore(S3Options options) : client_(std::make_shared<const S3Client>(std::move(options))) {}

  Result<std::unique_ptr<BlobWriter>> open_writer(std::string_view key) override {
    FTI_TRY(check_key(key));
    return std::unique_ptr<BlobWriter>(new S3Writer(client_, std::string(key)));
  }

  Result<std::unique_ptr<BlobReader>> open_reader(std::string_view key) override {
    FTI_ASSIGN_OR_RETURN(auto head, head_object(key));
    auto size = parse_length(head.header("content-length"));
    if (size < 0) return Error(errc::storage_error, fmt::format("S3 HEAD {}: unreadable Content-Length", key));
    return std::unique_ptr<BlobReader>(new S3Reader(client_, std::string(key), size, head.header("etag")));
  }

  Result<BlobInfo> stat(std::string_view key) override {
    FTI_ASSIGN_OR_RETURN(auto head, head_object(key));
    return BlobInfo{std::string(key), parse_length(head.header("content-length")),
                    parse_http_date(head.header("last-modified"))};
  }

  Status remove(std::string_view key) override {
    FTI_TRY(check_key(key));
    S3Call call{.what = fmt::format("DELETE {}", key), .method = "DELETE", .key = std::string(key)};
    auto r = client_->send(call);
    if (!r.ok() && r.error().code != errc::not_found) return r.error();
    return {};
  }

  Result<std::vector<BlobInfo>> list(std::string_view prefix) override {
    std::vector<BlobInfo> out;
    std::string token;
    for (;;) {
      S3Call call{.what = fmt::format("list {}", prefix.empty() ? "the bucket" : prefix), .method = "GET"};
      call.query = {{"list-type", "2"}, {"prefix", std::string(prefix)}, {"max-keys", "1000"}};
      if (!token.empty()) call.query.emplace_back("continuation-token", token);
      call.max_response_bytes = 16 << 20;  // a page of 1,000 keys is far below this
      FTI_ASSIGN_OR_RETURN(auto response, client_->send(call));
      FTI_ASSIGN_OR_RETURN(auto page, s3xml::parse_list_objects_v2(response.body));
      std::move(page.objects.begin(), page.objects.end(), std::back_inserter(out));
      if (!page.truncated) break;
      if (page.next_token == token) {
        return Error(errc::storage_error, "S3 listed the same page twice (the continuation token did not move)");
      }
      token = std::move(page.next_token);
    }
    return out;
  }

  Result<std::optional<std::string>> presigned_get_url(std::string_view key, const PresignRequest& request) override {
    FTI_TRY(check_key(key));
    if (request.ttl.count() < 1 || request.ttl.count() > kMaxPresignSeconds) {
      return Error(errc::bad_request, fmt::format("a presigned URL lives from 1 second to 7 days, not {} s",
                                                  request.ttl.count()));
    }
    return std::optional<std::string>(client_->presigned_get_url(key, request));
  }

  // A one-key listing rather than HEAD: as cheap, and a refusal comes with S3's reason.
  Status check() override {
    S3Call call{.what = "check the bucket", .method = "GET"};
    call.query = {{"list-type", "2"}, {"max-keys", "1"}};
    call.max_attempts = 1;  // a probe: /readyz asks again soon enough
    auto r = client_->send(call);
    return r.ok() ? Status() : Status(r.error());
  }

  std::string url() const override { return client_->url(); }

 private:
  Result<HttpResponse> head_object(std::string_view key) {
    FTI_TRY(check_key(key));
    S3Call call{.what = fmt::format("HEAD {}", key), .method = "HEAD", .key = std::string(key)};
    return client_->send(call);
  }

  std::shared_ptr<const S3Client> client_;
};

bool is_bucket_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'; }

Status check_bucket(std::string_view bucket) {
  bool ok = bucket.size() >= 3 && bucket.size() <= 63 && std::all_of(bucket.begin(), bucket.end(), is_bucket_char) &&
            bucket.front() != '.' && bucket.front() != '-' && bucket.back() != '.' && bucket.back() != '-';
  if (ok) return {};
  return Error(errc::bad_config, fmt::format("storage.url: \"{}\" is not a bucket name: 3 to 63 lower-case letters, "
                                             "digits, dots and hyphens", bucket));
}

// Splits "a=1&b=2" into decoded pairs.
std::vector<std::pair<std::string, std::string>> split_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!query.empty()) {
    auto amp = query.find('&');
    auto item = query.substr(0, amp);
    auto eq = item.find('=');
    out.emplace_back(std::string(item.substr(0, eq)), eq == std::string_view::npos ? "" : std::string(item.substr(eq + 1)));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

}  // namespace

Result<S3Location> parse_s3_url(std::string_view url) {
  constexpr std::string_view kForm = "s3://BUCKET?endpoint=http://HOST:PORT&region=REGION (both optional)";
  if (url.rfind("s3://", 0) != 0) {
    return Error(errc::bad_config, fmt::format("storage.url: \"{}\" is not an S3 URL; write {}", url, kForm));
  }
  auto rest = url.substr(5);
  auto q = rest.find('?');
  S3Location location;
  location.bucket = std::string(rest.substr(0, q));
  if (!location.bucket.empty() && location.bucket.back() == '/') location.bucket.pop_back();
  if (location.bucket.find('/') != std::string::npos) {
    return Error(errc::bad_config, fmt::format("storage.url: \"{}\" has a path after the bucket; keys go at the "
                                               "bucket's top level, write {}", url, kForm));
  }
  FTI_TRY(check_bucket(location.bucket));
  for (const auto& [name, value] : split_query(q == std::string_view::npos ? "" : rest.substr(q + 1))) {
    if (name == "endpoint") {
      FTI_TRY(parse_endpoint(value));
      location.endpoint = value;
    } else if (name == "region") {
      if (value.empty()) return Error(errc::bad_config, "storage.url: region= is empty; write e.g. region=eu-west-1");
      location.region = value;
    } else {
      return Error(errc::bad_config, fmt::format("storage.url: unknown parameter \"{}\"; write {}", name, kForm));
    }
  }
  return location;
}

Result<std::unique_ptr<BlobStore>> make_s3_blob_store(S3Options options) {
  const auto& c = options.credentials;
  if (c.access_key_id.empty() || c.secret_access_key.empty()) {
    return Error(errc::bad_config,
                 fmt::format("storage.url is {} but no S3 credentials are set: export AWS_ACCESS_KEY_ID and "
                             "AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials), as for the AWS CLI",
                             options.location.bucket.empty() ? "an s3:// URL" : "s3://" + options.location.bucket));
  }
  FTI_TRY(check_bucket(options.location.bucket));
  if (!options.location.endpoint.empty()) FTI_TRY(parse_endpoint(options.location.endpoint));
  if (options.part_size < kMinPartSize || options.part_size > kMaxPartSize) {
    return Error(errc::bad_config, fmt::format("S3 part size {} is outside S3's 5 MiB to 5 GiB", options.part_size));
  }
  if (options.read_chunk < 1 || options.max_attempts < 1) {
    return Error(errc::bad_config, "S3 read chunk and attempts must be at least 1");
  }
  return std::unique_ptr<BlobStore>(new S3BlobStore(std::move(options)));
}

}  // namespace fti::storage
