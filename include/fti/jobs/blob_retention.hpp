#pragma once
// What happens to blobs as they age (the server's maintenance thread runs this hourly):
// - an upload whose job never made it into the store (a crash between the two) is deleted
//   after `orphan_after_ms`;
// - a succeeded job's upload is deleted `upload_after_ms` after the job finished (failed
//   and cancelled jobs keep theirs: they may be retried);
// - with a cold store, results, reports and diffs older than `cold_after_ms` move there.
// Everything else (the job and all its blobs) goes when the job itself is pruned.
#include <optional>
#include <string>
#include <vector>

#include "fti/core/clock.hpp"
#include "fti/core/result.hpp"
#include "fti/jobs/job_store.hpp"
#include "fti/storage/blob_store.hpp"

namespace fti::jobs {

struct BlobRetentionOptions {
  std::string upload_prefix = "uploads/";  // followed by the job id
  TimeMs orphan_after_ms = 3600 * 1000;
  TimeMs upload_after_ms = 24 * 3600 * 1000;
  std::vector<std::string> cold_prefixes = {"results/", "reports/", "diffs/"};
  TimeMs cold_after_ms = 72 * 3600 * 1000;
};

struct BlobRetentionSweep {
  int orphans_removed = 0;
  int uploads_removed = 0;
  int moved_to_cold = 0;
  int failures = 0;  // blobs that could not be handled this time (tried again next sweep)
};

// `hot` is where blobs are written (the replicated store when replicas are on, so removals
// reach the replicas); `cold` may be null.
BlobRetentionSweep sweep_blobs(JobStore& jobs, storage::BlobStore& hot, storage::BlobStore* cold,
                               const BlobRetentionOptions& options, TimeMs now);

}  // namespace fti::jobs
