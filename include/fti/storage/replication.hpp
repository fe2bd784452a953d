#pragma once
// `storage.replicas`: every blob is also kept in other stores, copied asynchronously.
// Writes and removals go to the primary; once one is committed, `on_change(key)` is told,
// and the server turns that into a durable `replicate` job of the engine, retried until
// sync_replicas() succeeds. Reads go to the primary and fall back to the replicas only
// when the primary fails (a not_found is an answer, not a failure: the blob was removed).
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fti/storage/blob_store.hpp"

namespace fti::storage {

// Copies one blob, streaming (memory: one chunk, whatever its size).
Status copy_blob(BlobStore& from, BlobStore& to, std::string_view key);

// Makes every replica match the primary for `key`: a copy where the primary has it, a
// removal where it does not. Safe to repeat.
Status sync_replicas(BlobStore& primary, const std::vector<BlobStore*>& replicas, std::string_view key);

using OnBlobChange = std::function<void(const std::string& key)>;

// The stores are borrowed and must outlive the replicated one.
std::unique_ptr<BlobStore> make_replicated_blob_store(BlobStore& primary, std::vector<BlobStore*> replicas,
                                                      OnBlobChange on_change);

}  // namespace fti::storage
