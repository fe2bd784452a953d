#pragma once
// The router: the one LlmClient of the server. It serves the `local` tier from a pool of
// Ollama instances (round-robin over the healthy ones; a failed instance rests for
// llm.cooldown_seconds and is probed before it is used again) and the cloud tiers from
// OpenAI (simple, medium) and Anthropic (complex), falling back to the other cloud provider
// when the preferred one is unavailable. Around every call: the mode (off, auto, fast),
// the cache, a circuit breaker per provider and instance, retries with backoff and jitter
// that honour retry-after up to a minute, the per-job cost cap, the ledger and metrics.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "fti/core/clock.hpp"
#include "fti/core/config.hpp"
#include "fti/llm/cache.hpp"
#include "fti/core/circuit_breaker.hpp"
#include "fti/llm/cost.hpp"
#include "fti/llm/llm.hpp"
#include "fti/llm/provider.hpp"

namespace fti::ops {
class Metrics;
}

namespace fti::llm {

struct RouterOptions {
  Mode mode = Mode::off;
  std::string ollama_model = "codellama";
  std::vector<std::string> openai_models = {"gpt-4o-mini", "gpt-4o"};  // simple, medium
  std::string anthropic_model = "claude-3-5-sonnet-latest";
  bool allow_cloud = true;
  int max_retries = 2;
  std::chrono::milliseconds backoff_base{500};
  std::chrono::milliseconds backoff_cap{8000};
  std::chrono::milliseconds max_retry_after{60000};  // a longer retry-after is not waited for
  std::chrono::milliseconds cooldown{30000};
  int cloud_breaker_failures = 5;  // consecutive failures that open a cloud provider's breaker
  std::chrono::seconds cache_ttl{86400};
  double max_cost_per_job_usd = 1.0;
  PriceTable prices;
};

// What the router is handed; all borrowed except the providers.
struct RouterParts {
  std::vector<std::unique_ptr<Provider>> ollama;  // one per instance
  std::unique_ptr<Provider> openai;               // null: not configured
  std::unique_ptr<Provider> anthropic;            // null: not configured
  const Clock* clock = nullptr;
  LlmCache* cache = nullptr;        // null: no cache
  CostLedger* ledger = nullptr;     // null: no cap can be enforced, so cloud calls are refused
  ops::Metrics* metrics = nullptr;  // null: no metrics
  // Waits between retries; tests pass one that records instead of sleeping.
  std::function<void(std::chrono::milliseconds)> sleep;
  // Uniform in [0, 1), for jitter; tests pass a fixed one.
  std::function<double()> random;
};

// A snapshot for logs, the admin API and tests.
struct RouteTarget {
  std::string provider;
  std::string base_url;
  std::string breaker;  // closed | open | half_open
  bool disabled = false;  // refused our key (401/403): tried again every 15 minutes until a call passes
};

class Router final : public LlmClient {
 public:
  Router(RouterOptions options, RouterParts parts);
  ~Router() override;

  Result<Answer> complete(const Ask& ask) override;
  bool enabled() const override { return mode() != Mode::off; }

  Mode mode() const { return mode_.load(); }
  void set_mode(Mode mode) { mode_.store(mode); }  // surge mode switches to fast and back
  // How long new cache entries live; surge mode raises it (fewer calls for the same asks).
  void set_cache_ttl(std::chrono::seconds ttl) { cache_ttl_s_.store(ttl.count()); }
  std::chrono::seconds cache_ttl() const { return std::chrono::seconds(cache_ttl_s_.load()); }
  std::vector<RouteTarget> targets() const;

 private:
  struct Target;
  Tier served_tier(Tier asked) const;
  std::string model_for(Tier tier) const;  // the preferred model of a tier (the cache key's)
  // 0 ms: no deadline; nullopt: the deadline has passed.
  std::optional<std::chrono::milliseconds> time_left(const Ask& ask) const;
  Result<Answer> serve_local(const Ask& ask);
  Result<Answer> serve_cloud(const Ask& ask, Tier tier);
  Result<Answer> call_cloud_target(Target& target, const std::string& model, const Ask& ask);
  Status check_budget(const Ask& ask, const std::string& provider, const std::string& model);
  Answer finish(const Ask& ask, const Target& target, const std::string& model, ProviderReply reply);
  bool take_ollama_slot(Target& target, bool& probe_first);
  bool admit_cloud(Target& target, std::string& refusal);
  void record_success(Target& target);
  void record_failure(Target& target, const ProviderFailure& failure, const std::string& model);
  std::chrono::milliseconds backoff(int retry, const ProviderFailure& failure) const;
  void count_request(const std::string& provider, const std::string& model, std::string_view outcome);

  RouterOptions options_;
  RouterParts parts_;
  std::atomic<Mode> mode_;
  std::atomic<std::int64_t> cache_ttl_s_;
  mutable std::mutex mutex_;  // breakers and disabled flags
  std::vector<std::unique_ptr<Target>> ollama_;
  std::unique_ptr<Target> openai_;
  std::unique_ptr<Target> anthropic_;
  std::atomic<std::size_t> next_ollama_{0};  // round-robin position
};

// The server's router from configuration: providers over libcurl, real sleeps and jitter.
Result<std::unique_ptr<Router>> make_router(const LlmConfig& config, const Clock& clock, LlmCache* cache,
                                            CostLedger* ledger, ops::Metrics* metrics);

}  // namespace fti::llm
