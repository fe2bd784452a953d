#pragma once
// Config: parsed once at start-up from a TOML file, FTI_* environment variables and CLI flags
// (each over the one before), validated, then shared read-only as shared_ptr<const Config>.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fti/core/result.hpp"

namespace fti {

struct ServerConfig {
  std::string listen = "127.0.0.1:8080";
  std::string data_dir = "./data";
  std::int64_t max_upload_bytes = 512LL * 1024 * 1024;
  int threads = 2;                   // I/O threads running the Beast server
  int blocking_threads = 8;          // threads for uploads, WebSocket upgrades, streamed bodies
  int request_threads = 2;           // threads for every other request (short handlers)
  int request_timeout_seconds = 30;  // per read/write on a connection
  int drain_seconds = 20;            // grace period for in-flight work on SIGTERM
  int status_cache_ms = 1000;        // job status answers kept in memory at most this long; 0: off
};

struct AuthConfig {
  std::string mode = "open";  // "open" (loopback only) or "api_key"
};

struct DatabaseConfig {
  std::string url;  // empty: sqlite:<data_dir>/fti.db
  std::vector<std::string> replica_urls;
  std::vector<std::string> shards;
  int pool_size = 8;
  int busy_timeout_ms = 5000;
  int statement_timeout_ms = 30000;  // PostgreSQL; 0: the server's own setting
};

struct StorageConfig {
  std::string url;  // empty: file:<data_dir>/blobs
  std::vector<std::string> replicas;  // more stores, written asynchronously by replicate jobs
  std::string cold_url;               // empty: no cold store
  int cold_after_hours = 72;          // results and reports older than this move to cold_url
  int upload_retention_hours = 24;    // a succeeded job's upload is deleted this long after
};

struct JobsConfig {
  int max_attempts = 3;
  std::int64_t backoff_base_ms = 2000;
  std::int64_t lease_ms = 30000;
  int retention_hours = 168;         // succeeded jobs (and their blobs) are pruned after this
  int failed_retention_hours = 168;  // failed and cancelled ones after this (a dead-letter view)
  std::int64_t aging_ms = 60000;     // a priority rank is worth this much waiting time
};

struct WorkersConfig {
  int min = 2;
  int max = 8;
  int target_queue_seconds = 60;
};

struct LimitsConfig {
  std::int64_t job_memory_bytes = 1LL << 30;
  int job_timeout_seconds = 600;
  std::int64_t max_files = 100000;
  std::int64_t max_unpacked_bytes = 2LL << 30;
  double max_ratio = 200.0;           // unpacked bytes / archive bytes (zip-bomb guard)
  std::int64_t max_file_bytes = 256LL << 20;  // one entry
  std::int64_t max_diff_bytes = 64LL << 20;   // a job's unified diff; cut past this
};

struct LlmConfig {
  std::string mode = "off";  // off | auto | fast
  std::vector<std::string> ollama_urls;
  std::string ollama_model = "codellama";
  double confidence_threshold = 0.8;
  std::string openai_base_url;
  std::string openai_api_key;
  std::vector<std::string> openai_models = {"gpt-4o-mini", "gpt-4o"};
  std::string anthropic_base_url;
  std::string anthropic_api_key;
  std::string anthropic_model = "claude-3-5-sonnet-latest";
  int cache_ttl_seconds = 86400;
  double max_cost_per_job_usd = 1.0;
  bool allow_cloud = true;            // false: no prompt ever goes to OpenAI or Anthropic
  // "model=IN/OUT" in USD per million tokens, over the built-in list prices (llm/cost.hpp).
  std::vector<std::string> prices;
  int connect_timeout_ms = 2000;
  int first_byte_timeout_ms = 30000;  // until the response headers arrive
  int request_timeout_seconds = 120;  // one whole call, streaming included
  int max_retries = 2;                // per cloud provider and call, for retryable failures
  int cooldown_seconds = 30;          // an Ollama instance or an open breaker rests this long
  int max_files_per_job = 50;         // LLM rewrites per job
};

// Load shedding (api/shedding.cpp): token buckets per client address and per tenant (429
// with Retry-After), a bound on requests being handled and on waiting jobs (503). Health,
// readiness and metrics are never shed. A rate of 0 or a bound of 0 turns that check off.
struct SheddingConfig {
  int max_in_flight = 256;            // requests handled at once, this instance
  double client_rate = 200;           // requests/s per client address
  int client_burst = 400;
  double tenant_rate = 100;           // requests/s per tenant
  int tenant_burst = 200;
  std::int64_t max_queue_depth = 10000;  // waiting jobs; uploads beyond it are refused
  int retry_after_seconds = 5;        // what a 503 asks clients to wait
  // Proxies (addresses or ranges) whose X-Forwarded-For names the client: an ingress or a
  // load balancer in front. The client is the rightmost address that is not one of them.
  std::vector<std::string> trusted_proxies = {"127.0.0.1", "::1"};
};

// Surge mode (ops/surge.hpp): the last minute's request rate against a slow baseline.
struct SurgeConfig {
  double factor = 2.0;
  double exit_factor = 1.5;
  double min_rate = 5.0;              // requests/s
  int min_seconds = 60;
  int baseline_minutes = 10;
  double cache_ttl_factor = 4.0;      // LLM cache entries live this much longer in surge mode
  std::string webhook_url;            // POSTed a JSON object on every change; empty: none
};

// Feature flags (ops/flags.hpp): non-essential work, turned off in surge mode.
struct FlagsConfig {
  bool llm_readme = true;
  bool report_extras = true;
};

// SLA targets (ops/sla.hpp), judged over a sliding window. Percentages are 0..100; a
// latency target of 0 is not checked.
struct SlaConfig {
  int window_seconds = 300;
  double api_availability = 99.95;     // % of requests not answered 5xx (503 included, 429 not)
  double api_p50_ms = 50;
  double api_p95_ms = 200;
  double api_p99_ms = 500;
  double api_sustained_rps = 1000;     // the load the targets are promised at (reported, not judged)
  double api_peak_rps = 5000;
  double api_error_rate = 0.1;         // % of requests answered 5xx other than 503
  double cleanup_availability = 99.9;  // % of finished jobs not failed by the service itself
  double cleanup_p50_seconds = 60;     // submission to finish
  double cleanup_p95_seconds = 180;
  double cleanup_p99_seconds = 300;
  double cleanup_error_rate = 1.0;     // % of finished jobs failed, whatever the reason
  double websocket_p50_ms = 10;        // an event queued for a socket to its write done
  double websocket_p95_ms = 50;
  double websocket_p99_ms = 100;
};

struct LogConfig {
  std::string level = "info";
  std::string format = "text";  // text | json
};

// The format pass (clang-format, black, gofmt, rustfmt, shfmt, prettier).
struct FormatConfig {
  int timeout_seconds = 60;  // one formatter run; past it the files are left as they were
  std::string tools_dir;     // holds node_modules/prettier; empty: tools/ beside or above the binary
};

struct Config {
  ServerConfig server;
  AuthConfig auth;
  DatabaseConfig database;
  StorageConfig storage;
  JobsConfig jobs;
  WorkersConfig workers;
  LimitsConfig limits;
  LlmConfig llm;
  SheddingConfig shedding;
  SurgeConfig surge;
  FlagsConfig flags;
  SlaConfig sla;
  LogConfig log;
  FormatConfig format;

  // Derived defaults, resolved after all sources are applied.
  std::string database_url() const;
  std::string storage_url() const;
};

// Where the configuration comes from, in increasing precedence.
struct ConfigSources {
  std::optional<std::string> file;                  // TOML file path
  std::map<std::string, std::string> environment;   // usually the process environment
  std::map<std::string, std::string> overrides;     // dotted key -> value, from CLI flags
};

// Every FTI_* variable of the process environment.
std::map<std::string, std::string> fti_environment();

// Parses and validates. Errors name the offending key ("server.listen: ...") and use
// code bad_config.
Result<std::shared_ptr<const Config>> load_config(const ConfigSources& sources);

// Every key the loader knows, in file order (for docs and `--help`).
std::vector<std::string> config_keys();

// "host:port" split; port 0 asks the OS for a free port.
struct HostPort {
  std::string host;
  std::uint16_t port = 0;
};
Result<HostPort> parse_host_port(std::string_view s);
bool is_loopback_host(std::string_view host);

}  // namespace fti
