#include "fakes/fake_blob_store.hpp"

namespace fti::fakes {

using storage::BlobInfo;

class FakeWriter final : public storage::BlobWriter {
 public:
  FakeWriter(FakeBlobStore& store, std::string key) : store_(store), key_(std::move(key)) {}
  Status write(std::string_view bytes) override {
    std::lock_guard lock(store_.mutex_);
    if (store_.down || store_.should_fail(store_.writes_, store_.fail_write_call)) {
      return Error(errc::storage_error, "injected write failure");
    }
    data_.append(bytes);
    return {};
  }
  Result<BlobInfo> commit() override {
    std::lock_guard lock(store_.mutex_);
    if (store_.down || store_.should_fail(store_.commits_, store_.fail_commit_call)) {
      return Error(errc::storage_error, "injected commit failure");
    }
    auto size = static_cast<std::int64_t>(data_.size());
    store_.blobs_[key_] = FakeBlobStore::Blob{std::move(data_), store_.now_ms};
    return BlobInfo{key_, size, store_.now_ms};
  }
  void abort() override { data_.clear(); }

 private:
  FakeBlobStore& store_;
  std::string key_;
  std::string data_;
};

class FakeReader final : public storage::BlobReader {
 public:
  FakeReader(FakeBlobStore& store, std::string data) : store_(store), data_(std::move(data)) {}
  Result<std::size_t> read(char* buffer, std::size_t capacity) override {
    std::lock_guard lock(store_.mutex_);
    if (store_.down || store_.should_fail(store_.reads_, store_.fail_read_call)) {
      return Error(errc::storage_error, "injected read failure");
    }
    std::size_t n = std::min(capacity, data_.size() - offset_);
    std::copy_n(data_.data() + offset_, n, buffer);
    offset_ += n;
    return n;
  }
  std::int64_t size() const override { return static_cast<std::int64_t>(data_.size()); }

 private:
  FakeBlobStore& store_;
  std::string data_;
  std::size_t offset_ = 0;
};

bool FakeBlobStore::should_fail(int& counter, int target) { return ++counter == target; }

Result<std::unique_ptr<storage::BlobWriter>> FakeBlobStore::open_writer(std::string_view key) {
  if (!storage::is_valid_key(key)) return Error(errc::bad_request, "invalid key");
  if (down) return Error(errc::storage_error, "store is down");
  return std::unique_ptr<storage::BlobWriter>(new FakeWriter(*this, std::string(key)));
}

Result<std::unique_ptr<storage::BlobReader>> FakeBlobStore::open_reader(std::string_view key) {
  std::lock_guard lock(mutex_);
  if (down) return Error(errc::storage_error, "store is down");
  auto it = blobs_.find(std::string(key));
  if (it == blobs_.end()) return Error(errc::not_found, "no such blob");
  return std::unique_ptr<storage::BlobReader>(new FakeReader(*this, it->second.data));
}

Result<BlobInfo> FakeBlobStore::stat(std::string_view key) {
  std::lock_guard lock(mutex_);
  if (down) return Error(errc::storage_error, "store is down");
  auto it = blobs_.find(std::string(key));
  if (it == blobs_.end()) return Error(errc::not_found, "no such blob");
  return BlobInfo{it->first, static_cast<std::int64_t>(it->second.data.size()), it->second.modified_ms};
}

Status FakeBlobStore::remove(std::string_view key) {
  std::lock_guard lock(mutex_);
  if (down) return Error(errc::storage_error, "store is down");
  blobs_.erase(std::string(key));
  return {};
}

Result<std::vector<BlobInfo>> FakeBlobStore::list(std::string_view prefix) {
  std::lock_guard lock(mutex_);
  if (down) return Error(errc::storage_error, "store is down");
  std::vector<BlobInfo> out;
  for (const auto& [k, v] : blobs_) {
    if (k.rfind(prefix, 0) == 0) out.push_back({k, static_cast<std::int64_t>(v.data.size()), v.modified_ms});
  }
  return out;
}

Result<std::optional<std::string>> FakeBlobStore::presigned_get_url(std::string_view, const storage::PresignRequest&) {
  if (down) return Error(errc::storage_error, "store is down");
  return std::optional<std::string>();
}

Status FakeBlobStore::check() {
  if (down) return Error(errc::storage_error, "store is down");
  return {};
}

std::size_t FakeBlobStore::blob_count() const {
  std::lock_guard lock(mutex_);
  return blobs_.size();
}

std::string FakeBlobStore::contents(const std::string& key) const {
  std::lock_guard lock(mutex_);
  auto it = blobs_.find(key);
  return it == blobs_.end() ? std::string() : it->second.data;
}

}  // namespace fti::fakes
