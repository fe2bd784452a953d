// The replicate job: a no-tenant system job whose input key names the blob.
#include "fti/jobs/blob_replication.hpp"

#include "fti/ops/metrics.hpp"
#include "fti/storage/replication.hpp"

namespace fti::jobs {

namespace {

// Retried for days at the backoff's cap (15 minutes): a replica store that is down for a
// while catches up when it is back, rather than the change being given up.
constexpr int kReplicateAttempts = 1000;

class ReplicatingHandler final : public JobHandler {
 public:
  ReplicatingHandler(JobHandler& cleanup, storage::BlobStore& primary, std::vector<storage::BlobStore*> replicas,
                     const Clock& clock, ops::Metrics* metrics)
      : cleanup_(cleanup), primary_(primary), replicas_(std::move(replicas)), clock_(clock), metrics_(metrics) {}

  Result<std::string> run(const Job& job, JobContext& context) override {
    if (job.type != kReplicateJobType) return cleanup_.run(job, context);
    FTI_TRY(storage::sync_replicas(primary_, replicas_, job.input.key));
    const double lag_seconds = static_cast<double>(clock_.now_ms() - job.created_at) / 1000.0;
    if (metrics_) metrics_->set("fti_storage_replication_lag_seconds", {}, lag_seconds);
    return std::string(R"({"replicated":true})");
  }

 private:
  JobHandler& cleanup_;
  storage::BlobStore& primary_;
  std::vector<storage::BlobStore*> replicas_;
  const Clock& clock_;
  ops::Metrics* metrics_;
};

}  // namespace

NewJob replicate_job(const std::string& key) {
  NewJob job;
  job.tenant = "system";
  job.type = std::string(kReplicateJobType);
  job.priority = Priority::low;  // users' cleanups first; aging keeps replication moving
  job.input.key = key;
  job.input.filename = key;
  job.max_attempts = kReplicateAttempts;
  return job;
}

std::unique_ptr<JobHandler> make_replicating_handler(JobHandler& cleanup, storage::BlobStore& primary,
                                                     std::vector<storage::BlobStore*> replicas, const Clock& clock,
                                                     ops::Metrics* metrics) {
  return std::make_unique<ReplicatingHandler>(cleanup, primary, std::move(replicas), clock, metrics);
}

}  // namespace fti::jobs
