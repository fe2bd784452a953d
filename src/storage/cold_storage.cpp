// The tiered store: hot first, cold when the hot store has no such blob.
#include "fti/storage/cold_storage.hpp"

#include <map>

#include "fti/storage/replication.hpp"

namespace fti::storage {

namespace {

class TieredBlobStore final : public BlobStore {
 public:
  TieredBlobStore(BlobStore& hot, BlobStore& cold) : hot_(hot), cold_(cold) {}

  Result<std::unique_ptr<BlobWriter>> open_writer(std::string_view key) override { return hot_.open_writer(key); }

  Result<std::unique_ptr<BlobReader>> open_reader(std::string_view key) override {
    auto reader = hot_.open_reader(key);
    if (reader.ok() || reader.error().code != errc::not_found) return reader;
    return cold_.open_reader(key);
  }

  Result<BlobInfo> stat(std::string_view key) override {
    auto info = hot_.stat(key);
    if (info.ok() || info.error().code != errc::not_found) return info;
    return cold_.stat(key);
  }

  Status remove(std::string_view key) override {
    FTI_TRY(hot_.remove(key));
    return cold_.remove(key);
  }

  Result<std::vector<BlobInfo>> list(std::string_view prefix) override {
    std::map<std::string, BlobInfo> by_key;
    FTI_ASSIGN_OR_RETURN(auto cold, cold_.list(prefix));
    for (auto& b : cold) by_key[b.key] = b;
    FTI_ASSIGN_OR_RETURN(auto hot, hot_.list(prefix));
    for (auto& b : hot) by_key[b.key] = b;  // a blob in both (a move cut short): the hot copy
    std::vector<BlobInfo> out;
    out.reserve(by_key.size());
    for (auto& [key, info] : by_key) out.push_back(std::move(info));
    return out;
  }

  // From the store that holds the blob: a URL into the hot store for a blob moved cold
  // would fetch nothing.
  Result<std::optional<std::string>> presigned_get_url(std::string_view key, const PresignRequest& request) override {
    auto hot = hot_.stat(key);
    if (hot.ok() || hot.error().code != errc::not_found) return hot_.presigned_get_url(key, request);
    return cold_.presigned_get_url(key, request);
  }

  Status check() override {
    FTI_TRY(hot_.check());
    return cold_.check();
  }
  std::string url() const override { return hot_.url(); }

 private:
  BlobStore& hot_;
  BlobStore& cold_;
};

}  // namespace

Status move_blob(BlobStore& from, BlobStore& to, std::string_view key) {
  FTI_TRY(copy_blob(from, to, key));
  return from.remove(key);
}

std::unique_ptr<BlobStore> make_tiered_blob_store(BlobStore& hot, BlobStore& cold) {
  return std::make_unique<TieredBlobStore>(hot, cold);
}

}  // namespace fti::storage
