// Replicated and copied blobs: a write or removal on the primary is announced once it is
// committed; reads fall back to a replica when the primary fails.
#include "fti/storage/replication.hpp"

#include <fmt/format.h>

#include "fti/core/log.hpp"

namespace fti::storage {

namespace {

constexpr std::size_t kCopyChunk = 1 << 20;

// A primary failure a replica may answer instead; not_found and bad keys are answers.
bool primary_failed(const Error& e) { return e.code != errc::not_found && e.code != errc::bad_request; }

// Announces the key once the primary's commit succeeded.
class AnnouncingWriter final : public BlobWriter {
 public:
  AnnouncingWriter(std::unique_ptr<BlobWriter> inner, std::string key, const OnBlobChange& on_change)
      : inner_(std::move(inner)), key_(std::move(key)), on_change_(on_change) {}
  Status write(std::string_view bytes) override { return inner_->write(bytes); }
  Result<BlobInfo> commit() override {
    auto info = inner_->commit();
    if (info.ok() && on_change_) on_change_(key_);
    return info;
  }
  void abort() override { inner_->abort(); }

 private:
  std::unique_ptr<BlobWriter> inner_;
  std::string key_;
  const OnBlobChange& on_change_;
};

class ReplicatedBlobStore final : public BlobStore {
 public:
  ReplicatedBlobStore(BlobStore& primary, std::vector<BlobStore*> replicas, OnBlobChange on_change)
      : primary_(primary), replicas_(std::move(replicas)), on_change_(std::move(on_change)) {}

  Result<std::unique_ptr<BlobWriter>> open_writer(std::string_view key) override {
    FTI_ASSIGN_OR_RETURN(auto inner, primary_.open_writer(key));
    return std::unique_ptr<BlobWriter>(std::make_unique<AnnouncingWriter>(std::move(inner), std::string(key), on_change_));
  }

  Result<std::unique_ptr<BlobReader>> open_reader(std::string_view key) override {
    auto reader = primary_.open_reader(key);
    if (reader.ok() || !primary_failed(reader.error())) return reader;
    for (BlobStore* replica : replicas_) {
      auto fallback = replica->open_reader(key);
      if (fallback.ok()) {
        log::get("storage")->warn("read {} from the replica {}: the primary failed ({})", key, replica->url(),
                                  reader.error().message);
        return fallback;
      }
    }
    return reader;
  }

  Result<BlobInfo> stat(std::string_view key) override {
    auto info = primary_.stat(key);
    if (info.ok() || !primary_failed(info.error())) return info;
    for (BlobStore* replica : replicas_) {
      if (auto fallback = replica->stat(key); fallback.ok()) return fallback;
    }
    return info;
  }

  Status remove(std::string_view key) override {
    FTI_TRY(primary_.remove(key));
    if (on_change_) on_change_(std::string(key));
    return ok_status();
  }

  Result<std::vector<BlobInfo>> list(std::string_view prefix) override { return primary_.list(prefix); }
  Result<std::optional<std::string>> presigned_get_url(std::string_view key, const PresignRequest& request) override {
    return primary_.presigned_get_url(key, request);
  }
  Status check() override { return primary_.check(); }
  std::string url() const override { return primary_.url(); }

 private:
  BlobStore& primary_;
  std::vector<BlobStore*> replicas_;
  OnBlobChange on_change_;
};

}  // namespace

Status copy_blob(BlobStore& from, BlobStore& to, std::string_view key) {
  FTI_ASSIGN_OR_RETURN(auto reader, from.open_reader(key));
  FTI_ASSIGN_OR_RETURN(auto writer, to.open_writer(key));
  std::string buffer(kCopyChunk, '\0');
  for (;;) {
    auto n = reader->read(buffer.data(), buffer.size());
    if (!n.ok()) {
      writer->abort();
      return n.error();
    }
    if (*n == 0) break;
    if (auto st = writer->write(std::string_view(buffer.data(), *n)); !st.ok()) {
      writer->abort();
      return st;
    }
  }
  auto committed = writer->commit();
  if (!committed.ok()) return committed.error();
  return ok_status();
}

Status sync_replicas(BlobStore& primary, const std::vector<BlobStore*>& replicas, std::string_view key) {
  auto present = primary.stat(key);
  if (!present.ok() && present.error().code != errc::not_found) return present.error();
  for (BlobStore* replica : replicas) {
    if (present.ok()) {
      // A retry after a partial success need not copy again what already arrived.
      auto there = replica->stat(key);
      if (there.ok() && there->size == present->size) continue;
    }
    Status st = present.ok() ? copy_blob(primary, *replica, key) : replica->remove(key);
    if (!st.ok()) {
      return Error(st.error().code, fmt::format("replicating {} to {}: {}", key, replica->url(), st.error().message));
    }
  }
  return ok_status();
}

std::unique_ptr<BlobStore> make_replicated_blob_store(BlobStore& primary, std::vector<BlobStore*> replicas,
                                                      OnBlobChange on_change) {
  return std::make_unique<ReplicatedBlobStore>(primary, std::move(replicas), std::move(on_change));
}

}  // namespace fti::storage
