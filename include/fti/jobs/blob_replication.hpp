#pragma once
// Blob replication as durable engine jobs (`storage.replicas`): each committed write or
// removal on the primary store becomes a `replicate` job naming the blob's key; a worker
// runs storage::sync_replicas for it, and the engine retries it with backoff until it
// succeeds, across restarts. Replication lag is visible in metrics:
// fti_storage_replication_lag_seconds (how long the last replicated change waited) and
// fti_jobs_queue_depth{queue="replicate"}.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fti/jobs/job.hpp"
#include "fti/jobs/worker_pool.hpp"
#include "fti/storage/blob_store.hpp"

namespace fti::ops {
class Metrics;
}

namespace fti::jobs {

inline constexpr std::string_view kReplicateJobType = "replicate";

// The job that makes the replicas match the primary for `key`.
NewJob replicate_job(const std::string& key);

// Runs `replicate` jobs itself and hands every other job to `cleanup`. The stores are
// borrowed and must outlive the handler.
std::unique_ptr<JobHandler> make_replicating_handler(JobHandler& cleanup, storage::BlobStore& primary,
                                                     std::vector<storage::BlobStore*> replicas, const Clock& clock,
                                                     ops::Metrics* metrics);

}  // namespace fti::jobs
