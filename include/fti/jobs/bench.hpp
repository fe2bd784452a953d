#pragma once
// `finishthisidea bench jobs`: the engine measured with no-op jobs (ARCHITECTURE.md section 4).
#include <cstdint>
#include <optional>
#include <string>

#include "fti/core/clock.hpp"
#include "fti/core/result.hpp"

namespace fti::jobs {

struct BenchOptions {
  std::string db_url;
  std::int64_t jobs = 100000;
  int workers = 16;
  bool enqueue_only = false;
  bool work_only = false;       // drain what is in the database (a killed run resumes)
  int latency_samples = 500;    // pickup latency on the idle engine after the drain
  std::string executions_file;  // when set, every handler run appends its job id (crash tests)
  TimeMs lease_ms = 30000;
  // Finished jobs put in the table first (of another tenant), to show the engine's speed does
  // not depend on how much history the table holds.
  std::int64_t prefill_finished = 0;
};

struct BenchResult {
  std::int64_t jobs = 0;
  int workers = 0;
  // Empty when the mode does not measure it (--enqueue-only, --work-only, no latency
  // samples): null in the JSON, as the peers print it.
  std::optional<double> enqueue_per_sec;
  std::optional<double> process_per_sec;
  std::optional<double> end_to_end_per_sec;
  std::optional<double> pickup_p50_ms;
  std::optional<double> pickup_p99_ms;
  std::int64_t succeeded = 0;   // jobs of the run in state succeeded at the end
  std::uint64_t executions = 0; // handler runs in this process
  std::string to_json() const;
  std::string to_text() const;
};

Result<BenchResult> run_jobs_bench(const BenchOptions& options);

}  // namespace fti::jobs
