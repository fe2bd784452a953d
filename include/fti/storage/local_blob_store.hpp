#pragma once
// LocalBlobStore: blobs as files under a root folder. A write goes to a temp file in
// <root>/.tmp, is fsynced, then renamed into place, so a reader never sees half a blob and a
// crash leaves at most a stray temp file (swept at start-up).
#include <filesystem>
#include <memory>

#include "fti/storage/blob_store.hpp"

namespace fti::storage {

Result<std::unique_ptr<BlobStore>> make_local_blob_store(const std::filesystem::path& root);

}  // namespace fti::storage
