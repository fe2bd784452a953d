#pragma once
// FakeBlobStore: blobs in memory, with the real store's visibility rules (nothing until
// commit) and injectable failures: fail the Nth write, commit or read call.
#include <algorithm>
#include <map>
#include <mutex>
#include <string>

#include "fti/core/clock.hpp"
#include "fti/storage/blob_store.hpp"

namespace fti::fakes {

class FakeBlobStore final : public storage::BlobStore {
 public:
  // Calls counted across all writers/readers; 0 disables.
  int fail_write_call = 0;
  int fail_commit_call = 0;
  int fail_read_call = 0;
  bool down = false;  // check() fails and every call answers storage_error
  TimeMs now_ms = 0;   // the modification time a commit gives its blob (tests move it)

  Result<std::unique_ptr<storage::BlobWriter>> open_writer(std::string_view key) override;
  Result<std::unique_ptr<storage::BlobReader>> open_reader(std::string_view key) override;
  Result<storage::BlobInfo> stat(std::string_view key) override;
  Status remove(std::string_view key) override;
  Result<std::vector<storage::BlobInfo>> list(std::string_view prefix) override;
  // Bytes in memory have no URL: nullopt, as the local store answers.
  Result<std::optional<std::string>> presigned_get_url(std::string_view key, const storage::PresignRequest& request) override;
  Status check() override;
  std::string url() const override { return "fake:"; }

  std::size_t blob_count() const;
  std::string contents(const std::string& key) const;

 private:
  friend class FakeWriter;
  friend class FakeReader;
  bool should_fail(int& counter, int target);
  mutable std::mutex mutex_;
  struct Blob {
    std::string data;
    TimeMs modified_ms = 0;
  };
  std::map<std::string, Blob> blobs_;
  int writes_ = 0, commits_ = 0, reads_ = 0;
};

}  // namespace fti::fakes
