// The blob sweep: one listing per prefix, one job read per upload old enough to matter.
#include "fti/jobs/blob_retention.hpp"

#include "fti/core/log.hpp"
#include "fti/storage/cold_storage.hpp"

namespace fti::jobs {

namespace {

void sweep_uploads(JobStore& jobs, storage::BlobStore& hot, const BlobRetentionOptions& o, TimeMs now,
                   BlobRetentionSweep& sweep) {
  auto uploads = hot.list(o.upload_prefix);
  if (!uploads.ok()) {
    log::get("storage")->warn("cannot list {} for retention: {}", o.upload_prefix, uploads.error().message);
    ++sweep.failures;
    return;
  }
  for (const auto& blob : *uploads) {
    if (blob.modified_ms > now - o.orphan_after_ms) continue;  // may still be arriving
    const std::string id = blob.key.substr(o.upload_prefix.size());
    auto job = jobs.get(id, std::nullopt);
    bool remove = false;
    int* counter = nullptr;
    if (!job.ok() && job.error().code == errc::not_found) {
      remove = true;
      counter = &sweep.orphans_removed;
    } else if (job.ok() && job->status == JobStatus::succeeded && job->finished_at &&
               *job->finished_at <= now - o.upload_after_ms) {
      remove = true;
      counter = &sweep.uploads_removed;
    }
    if (!remove) continue;
    if (hot.remove(blob.key).ok()) {
      ++*counter;
    } else {
      ++sweep.failures;
    }
  }
}

void move_old_to_cold(storage::BlobStore& hot, storage::BlobStore& cold, const BlobRetentionOptions& o, TimeMs now,
                      BlobRetentionSweep& sweep) {
  for (const auto& prefix : o.cold_prefixes) {
    auto blobs = hot.list(prefix);
    if (!blobs.ok()) {
      ++sweep.failures;
      continue;
    }
    for (const auto& blob : *blobs) {
      if (blob.modified_ms > now - o.cold_after_ms) continue;
      if (auto st = storage::move_blob(hot, cold, blob.key); st.ok()) {
        ++sweep.moved_to_cold;
      } else {
        log::get("storage")->warn("cannot move {} to the cold store: {}", blob.key, st.error().message);
        ++sweep.failures;
      }
    }
  }
}

}  // namespace

BlobRetentionSweep sweep_blobs(JobStore& jobs, storage::BlobStore& hot, storage::BlobStore* cold,
                               const BlobRetentionOptions& options, TimeMs now) {
  BlobRetentionSweep sweep;
  sweep_uploads(jobs, hot, options, now, sweep);
  if (cold) move_old_to_cold(hot, *cold, options, now, sweep);
  return sweep;
}

}  // namespace fti::jobs
