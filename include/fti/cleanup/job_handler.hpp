#pragma once
// The server-side handler for cleanup jobs: fetches the upload from the BlobStore, runs the
// pipeline in a child process of this same binary (`finishthisidea clean ... --progress
// lines`) under rlimits and a timeout, and stores the result zip and report. The child asks
// for language-model help through its own stdout (llm/pipe_client.hpp); the answers come
// from the server's router, so the child needs no network and holds no API key.
#include <filesystem>
#include <memory>

#include "fti/core/config.hpp"
#include "fti/jobs/worker_pool.hpp"

namespace fti::storage {
class BlobStore;
}
namespace fti::llm {
class LlmClient;
}
namespace fti::ops {
class FeatureFlags;
}

namespace fti::cleanup {

struct CleanupHandlerOptions {
  std::string executable;            // this binary
  std::filesystem::path work_dir;    // scratch space for jobs
  LimitsConfig limits;
  // The server's router, which the child reaches through its stdout and stdin; null or in
  // mode off: the child runs without language models.
  llm::LlmClient* llm = nullptr;
  double llm_confidence_threshold = 0.8;
  std::int64_t llm_max_files = 50;
  // Read per job: surge mode or an operator may switch non-essential LLM work off.
  const ops::FeatureFlags* flags = nullptr;
  FormatConfig format;  // handed to the child as flags (it reads no configuration)
};

std::unique_ptr<jobs::JobHandler> make_cleanup_handler(storage::BlobStore& blobs,
                                                       CleanupHandlerOptions options);

// Blob keys, one place so the API and the handler agree.
std::string upload_key(const std::string& job_id);
std::string result_key(const std::string& job_id);
std::string report_key(const std::string& job_id);
std::string report_md_key(const std::string& job_id);
std::string diff_key(const std::string& job_id);  // the unified diff (jobs from before diffs: none)

}  // namespace fti::cleanup
