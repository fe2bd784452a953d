#pragma once
// `storage.cold_url`: results and reports older than `storage.cold_after_hours` move to a
// second, cheaper store (the maintenance thread moves them). The tiered store reads the
// hot store first and the cold one when the hot one has no such blob; writes go hot;
// removals go to both. Listing and stat look at both (hot wins).
#include <memory>
#include <string_view>

#include "fti/storage/blob_store.hpp"

namespace fti::storage {

// Copies to `to`, then removes from `from`: a crash between the two leaves two copies,
// never none.
Status move_blob(BlobStore& from, BlobStore& to, std::string_view key);

// Both stores are borrowed and must outlive the tiered one.
std::unique_ptr<BlobStore> make_tiered_blob_store(BlobStore& hot, BlobStore& cold);

}  // namespace fti::storage
