#include "fti/llm/router.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <random>
#include <thread>

#include "fti/core/log.hpp"
#include "fti/ops/metrics.hpp"

namespace fti::llm {

namespace {

bool is_retryable(FailureKind kind) {
  return kind == FailureKind::transport || kind == FailureKind::rate_limited ||
         kind == FailureKind::overloaded || kind == FailureKind::protocol;
}

// A 404 from Ollama means this instance lacks the model; the next one may have it. Other
// client errors (400, 413, 422) would fail the same way everywhere.
bool is_instance_fault(const ProviderFailure& f) {
  return f.kind != FailureKind::bad_request || f.http_status == 404;
}

// Prompt tokens before the call: about four bytes a token for code and English.
std::int64_t estimate_tokens(const Ask& ask) {
  return static_cast<std::int64_t>((ask.system.size() + ask.prompt.size()) / 4 + 1);
}

ProviderRequest to_provider_request(const Ask& ask, const std::string& model, std::chrono::milliseconds time_left) {
  return ProviderRequest{model, ask.system, ask.prompt, ask.max_tokens, ask.temperature, time_left};
}

}  // namespace

// A provider that refused our key (401/403) rests this long, and then one call tries the key
// again: a key fixed at the provider, or a refusal that was the provider's own passing fault,
// needs no restart, and a bad key costs one refused call per rest.
constexpr std::chrono::minutes kRefusedKeyRest{15};

struct Router::Target {
  std::unique_ptr<Provider> provider;
  CircuitBreaker breaker;
  bool disabled = false;  // the provider refused our key (401/403), and no call since passed
  // Not disabled and the breaker closed with no failure counted: calls go through and a
  // success changes nothing, so the usual call takes no lock. Written under the router's
  // lock whenever the breaker or `disabled` changes; read without it.
  std::atomic<bool> healthy{true};

  void update_health() { healthy.store(!disabled && breaker.is_pristine(), std::memory_order_release); }

  Target(std::unique_ptr<Provider> p, int failures, std::chrono::milliseconds cooldown)
      : provider(std::move(p)), breaker(failures, cooldown) {}
};

Router::Router(RouterOptions options, RouterParts parts)
    : options_(std::move(options)), parts_(std::move(parts)), mode_(options_.mode),
      cache_ttl_s_(options_.cache_ttl.count()) {
  if (!parts_.clock) throw std::invalid_argument("Router needs a clock");
  if (!parts_.sleep) parts_.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  if (!parts_.random) {
    parts_.random = [] {
      thread_local std::mt19937_64 gen{std::random_device{}()};
      return std::uniform_real_distribution<double>(0.0, 1.0)(gen);
    };
  }
  // One failure rests an Ollama instance: the pool has others, and the cloud tiers after it.
  for (auto& p : parts_.ollama) ollama_.push_back(std::make_unique<Target>(std::move(p), 1, options_.cooldown));
  if (parts_.openai) {
    openai_ = std::make_unique<Target>(std::move(parts_.openai), options_.cloud_breaker_failures, options_.cooldown);
  }
  if (parts_.anthropic) {
    anthropic_ = std::make_unique<Target>(std::move(parts_.anthropic), options_.cloud_breaker_failures,
                                          options_.cooldown);
  }
}

Router::~Router() = default;

std::string Router::model_for(Tier tier) const {
  const auto& models = options_.openai_models;
  switch (tier) {
    case Tier::local:
      return options_.ollama_model;
    case Tier::simple:
      return models.empty() ? "" : models.front();
    case Tier::medium:
      return models.size() > 1 ? models[1] : (models.empty() ? "" : models.front());
    case Tier::complex:
      return options_.anthropic_model;
  }
  return {};
}

std::optional<std::chrono::milliseconds> Router::time_left(const Ask& ask) const {
  if (ask.deadline_ms <= 0) return std::chrono::milliseconds(0);
  TimeMs left = ask.deadline_ms - parts_.clock->now_ms();
  if (left <= 0) return std::nullopt;
  return std::chrono::milliseconds(left);
}

Tier Router::served_tier(Tier asked) const {
  if (mode_.load() == Mode::fast && (asked == Tier::medium || asked == Tier::complex)) return Tier::simple;
  return asked;
}

Result<Answer> Router::complete(const Ask& ask) {
  if (mode_.load() == Mode::off) return Error(errc::llm_disabled, "language models are off (llm.mode = off)");
  Tier tier = served_tier(ask.tier);
  if (tier != Tier::local && !options_.allow_cloud) {
    return Error(errc::llm_disabled, "cloud models are not allowed here (llm.allow_cloud = false)");
  }
  const TimeMs now = parts_.clock->now_ms();
  std::string key;
  if (parts_.cache) {
    key = cache_key(ask, tier, model_for(tier));
    auto hit = parts_.cache->get(key, now);
    bool found = hit.ok() && hit->has_value();
    if (parts_.metrics) {
      parts_.metrics->inc("fti_cache_requests_total", {{"cache", "llm"}, {"result", found ? "hit" : "miss"}});
    }
    if (found) {
      Answer answer = std::move(**hit);
      answer.cached = true;  // already paid for once
      answer.cost_usd = 0;
      answer.tokens_in = answer.tokens_out = 0;
      return answer;
    }
  }
  auto answer = tier == Tier::local ? serve_local(ask) : serve_cloud(ask, tier);
  if (answer && parts_.cache) {
    auto expires = now + std::chrono::duration_cast<std::chrono::milliseconds>(cache_ttl()).count();
    if (auto st = parts_.cache->put(key, *answer, now, expires); !st.ok()) {
      log::get("llm")->warn("could not cache an answer: {}", st.error().message);
    }
  }
  return answer;
}

bool Router::take_ollama_slot(Target& target, bool& probe_first) {
  probe_first = false;
  if (target.healthy.load(std::memory_order_acquire)) return true;
  std::lock_guard lock(mutex_);
  const TimeMs now = parts_.clock->now_ms();
  probe_first = target.breaker.needs_trial(now);
  return target.breaker.allow(now);
}

Result<Answer> Router::serve_local(const Ask& ask) {
  if (ollama_.empty()) return Error(errc::llm_unavailable, "no Ollama instance is configured (llm.ollama_urls)");
  const std::size_t start = next_ollama_.fetch_add(1, std::memory_order_relaxed);
  std::string last_error = "every Ollama instance is resting after a failure";
  for (std::size_t i = 0; i < ollama_.size(); ++i) {
    auto left = time_left(ask);
    if (!left) return Error(errc::llm_unavailable, "the job's time ran out before a model could answer");
    Target& target = *ollama_[(start + i) % ollama_.size()];
    bool probe_first = false;
    if (!take_ollama_slot(target, probe_first)) continue;
    if (probe_first) {
      auto probe = target.provider->probe(options_.ollama_model);
      if (!probe.ok()) {
        record_failure(target, probe.failure, options_.ollama_model);
        last_error = probe.failure.message;
        continue;
      }
    }
    auto call = target.provider->call(to_provider_request(ask, options_.ollama_model, *left));
    if (call.ok()) {
      record_success(target);
      return finish(ask, target, options_.ollama_model, std::move(*call.reply));
    }
    last_error = fmt::format("{}: {}", target.provider->base_url(), call.failure.message);
    count_request("ollama", options_.ollama_model, failure_kind_name(call.failure.kind));
    if (!is_instance_fault(call.failure)) {
      record_success(target);  // the instance answered; the request was the problem
      return Error(errc::bad_request, "Ollama refused the request: " + call.failure.message);
    }
    record_failure(target, call.failure, options_.ollama_model);
  }
  return Error(errc::llm_unavailable, "no Ollama instance could answer: " + last_error);
}

Result<Answer> Router::serve_cloud(const Ask& ask, Tier tier) {
  const auto& models = options_.openai_models;
  std::string simple = models.empty() ? "" : models.front();
  std::string medium = models.size() > 1 ? models[1] : simple;
  // The preferred provider for the tier first, then the other one as a fallback.
  std::vector<std::pair<Target*, std::string>> order;
  if (tier == Tier::complex) {
    order = {{anthropic_.get(), options_.anthropic_model}, {openai_.get(), medium}};
  } else {
    order = {{openai_.get(), tier == Tier::simple ? simple : medium}, {anthropic_.get(), options_.anthropic_model}};
  }
  std::optional<Error> last;
  for (auto& [target, model] : order) {
    if (!target || model.empty()) continue;
    auto answer = call_cloud_target(*target, model, ask);
    if (answer) return answer;
    if (answer.error().code == errc::llm_budget) return answer;
    last = answer.error();
  }
  if (!last) return Error(errc::llm_unavailable, "no cloud model is configured (llm.openai_* or llm.anthropic_*)");
  return Error(errc::llm_unavailable, "no cloud model could answer: " + last->message);
}

Result<Answer> Router::call_cloud_target(Target& target, const std::string& model, const Ask& ask) {
  const std::string name = target.provider->name();
  ProviderFailure failure;
  for (int attempt = 0; attempt <= options_.max_retries; ++attempt) {
    auto left = time_left(ask);
    if (!left) return Error(errc::llm_unavailable, "the job's time ran out before a model could answer");
    // Before the breaker: a refused budget must not take (and strand) a half-open trial.
    FTI_TRY(check_budget(ask, name, model));
    if (std::string refusal; !admit_cloud(target, refusal)) return Error(errc::llm_unavailable, refusal);
    auto call = target.provider->call(to_provider_request(ask, model, *left));
    if (call.ok()) {
      record_success(target);
      return finish(ask, target, model, std::move(*call.reply));
    }
    failure = call.failure;
    count_request(name, model, failure_kind_name(failure.kind));
    record_failure(target, failure, model);
    if (!is_retryable(failure.kind) || attempt == options_.max_retries) break;
    if (failure.retry_after && *failure.retry_after > options_.max_retry_after) break;  // not worth the wait
    auto wait = backoff(attempt, failure);
    if (auto after = time_left(ask); !after || (ask.deadline_ms > 0 && wait >= *after)) break;
    parts_.sleep(wait);
  }
  return Error(errc::llm_unavailable, fmt::format("{} {}: {}", name, model, failure.message));
}

bool Router::admit_cloud(Target& target, std::string& refusal) {
  if (target.healthy.load(std::memory_order_acquire)) return true;
  std::lock_guard lock(mutex_);
  if (target.breaker.allow(parts_.clock->now_ms())) return true;
  refusal = target.disabled ? fmt::format("{} refused the API key; it is tried again every {} minutes",
                                          target.provider->name(), kRefusedKeyRest.count())
                            : target.provider->name() + " is resting after repeated failures (circuit open)";
  return false;
}

void Router::record_success(Target& target) {
  if (target.healthy.load(std::memory_order_acquire)) return;  // nothing to reset
  std::lock_guard lock(mutex_);
  target.breaker.record_success();
  if (target.disabled) log::get("llm")->info("{} accepts the API key again", target.provider->name());
  target.disabled = false;
  target.update_health();
}

void Router::record_failure(Target& target, const ProviderFailure& failure, const std::string& model) {
  std::lock_guard lock(mutex_);
  // Every way out below changes the breaker or `disabled`.
  struct HealthOnExit {
    Target& t;
    ~HealthOnExit() { t.update_health(); }
  } health_on_exit{target};
  const TimeMs now = parts_.clock->now_ms();
  switch (failure.kind) {
    case FailureKind::auth:
      target.disabled = true;
      target.breaker.trip(now, kRefusedKeyRest);
      log::get("llm")->error("{} at {} refused the API key ({}): not used for {} minutes, then one call tries it "
                             "again; check the key",
                             target.provider->name(), target.provider->base_url(), failure.message,
                             kRefusedKeyRest.count());
      return;
    case FailureKind::spend_limit:
      // Paying more will not come from retrying: rest the provider for the longest while.
      target.breaker.trip(now, options_.max_retry_after * 10);
      log::get("llm")->warn("{} reports its spend limit is reached: {}", target.provider->name(), failure.message);
      return;
    case FailureKind::bad_request:
      // A cloud provider that rejects a request is up, and took our key: the request was the
      // problem. For an Ollama instance this only comes from a missing model (404 or a
      // probe), its own fault.
      if (target.provider->name() != "ollama") {
        target.breaker.record_success();
        target.disabled = false;
        return;
      }
      break;
    default:
      break;
  }
  // A retry-after lengthens the rest, but never past what we would wait for (a minute).
  auto rest = std::min(failure.retry_after.value_or(std::chrono::milliseconds(0)), options_.max_retry_after);
  target.breaker.record_failure(now, rest);
  log::get("llm")->info("{} at {} ({}) failed: {} ({})", target.provider->name(), target.provider->base_url(), model,
                        failure_kind_name(failure.kind), failure.message);
}

std::chrono::milliseconds Router::backoff(int retry, const ProviderFailure& failure) const {
  if (failure.retry_after) return *failure.retry_after;
  // Exponential with "equal jitter": half the step fixed, half random, so many clients that
  // failed together do not come back together.
  double step = static_cast<double>(options_.backoff_base.count()) * std::pow(2.0, retry);
  step = std::min(step, static_cast<double>(options_.backoff_cap.count()));
  return std::chrono::milliseconds(static_cast<std::int64_t>(step / 2 + parts_.random() * step / 2));
}

// Asks without a job id share one budget scope, so nothing escapes the cap.
Status Router::check_budget(const Ask& ask, const std::string& provider, const std::string& model) {
  if (!parts_.ledger) return Error(errc::llm_budget, "no cost ledger: cloud calls cannot be capped, so none are made");
  FTI_ASSIGN_OR_RETURN(double spent, parts_.ledger->spent_by_job(ask.job_id));
  double worst = options_.prices.cost(provider, model, estimate_tokens(ask), ask.max_tokens);
  if (spent + worst > options_.max_cost_per_job_usd) {
    count_request(provider, model, "budget");
    return Error(errc::llm_budget,
                 fmt::format("the job has spent ${:.4f} of its ${:.2f} LLM budget and the next call could cost "
                             "${:.4f} (raise llm.max_cost_per_job_usd to allow more)",
                             spent, options_.max_cost_per_job_usd, worst));
  }
  return ok_status();
}

// Prices and metric labels use the model we asked for: providers answer with dated names
// ("gpt-4o-mini-2024-07-18") that no price list has and that would multiply label values.
Answer Router::finish(const Ask& ask, const Target& target, const std::string& model, ProviderReply reply) {
  const std::string provider = target.provider->name();
  Answer answer;
  answer.text = std::move(reply.text);
  answer.provider = provider;
  answer.model = model;
  answer.finish_reason = reply.finish_reason.empty() ? "stop" : reply.finish_reason;
  answer.tokens_in = reply.tokens_in;
  answer.tokens_out = reply.tokens_out;
  // A gateway that drops usage must not make a cloud answer free (and the cap blind).
  if (provider != "ollama" && answer.tokens_in == 0) answer.tokens_in = estimate_tokens(ask);
  if (provider != "ollama" && answer.tokens_out == 0) {
    answer.tokens_out = static_cast<std::int64_t>(answer.text.size() / 4 + 1);
  }
  answer.cost_usd = options_.prices.cost(provider, model, answer.tokens_in, answer.tokens_out);
  count_request(provider, model, "ok");
  if (parts_.metrics && answer.cost_usd > 0) {
    parts_.metrics->inc("fti_llm_cost_usd_total", {{"provider", provider}}, answer.cost_usd);
  }
  if (parts_.ledger) {
    LedgerEntry entry{ask.job_id, provider, model, answer.tokens_in, answer.tokens_out, answer.cost_usd,
                      parts_.clock->now_ms()};
    if (auto st = parts_.ledger->record(entry); !st.ok()) {
      log::get("llm")->warn("could not record LLM cost: {}", st.error().message);
    }
  }
  return answer;
}

void Router::count_request(const std::string& provider, const std::string& model, std::string_view outcome) {
  if (!parts_.metrics) return;
  // Labels in name order: the metrics find the series without sorting a copy.
  parts_.metrics->inc("fti_llm_requests_total", {{"model", model}, {"outcome", std::string(outcome)}, {"provider", provider}});
}

std::vector<RouteTarget> Router::targets() const {
  std::lock_guard lock(mutex_);
  const TimeMs now = parts_.clock->now_ms();
  std::vector<RouteTarget> out;
  auto add = [&](const Target* t) {
    if (!t) return;
    out.push_back({t->provider->name(), t->provider->base_url(), std::string(breaker_state_name(t->breaker.state(now))),
                   t->disabled});
  };
  for (const auto& t : ollama_) add(t.get());
  add(openai_.get());
  add(anthropic_.get());
  return out;
}

Result<std::unique_ptr<Router>> make_router(const LlmConfig& config, const Clock& clock, LlmCache* cache,
                                            CostLedger* ledger, ops::Metrics* metrics) {
  RouterOptions options;
  options.mode = parse_mode(config.mode).value_or(Mode::off);
  options.ollama_model = config.ollama_model;
  options.openai_models = config.openai_models;
  options.anthropic_model = config.anthropic_model;
  options.allow_cloud = config.allow_cloud;
  options.max_retries = config.max_retries;
  options.cooldown = std::chrono::seconds(config.cooldown_seconds);
  options.cache_ttl = std::chrono::seconds(config.cache_ttl_seconds);
  options.max_cost_per_job_usd = config.max_cost_per_job_usd;
  FTI_ASSIGN_OR_RETURN(options.prices, PriceTable::with_overrides(config.prices));

  ProviderTimeouts timeouts;
  timeouts.connect = std::chrono::milliseconds(config.connect_timeout_ms);
  timeouts.first_byte = std::chrono::milliseconds(config.first_byte_timeout_ms);
  timeouts.total = std::chrono::seconds(config.request_timeout_seconds);
  RouterParts parts;
  for (const auto& url : config.ollama_urls) parts.ollama.push_back(make_ollama_provider(url, timeouts));
  if (!config.openai_base_url.empty()) {
    parts.openai = make_openai_provider(config.openai_base_url, config.openai_api_key, timeouts);
  }
  if (!config.anthropic_base_url.empty()) {
    parts.anthropic = make_anthropic_provider(config.anthropic_base_url, config.anthropic_api_key, timeouts);
  }
  parts.clock = &clock;
  parts.cache = cache;
  parts.ledger = ledger;
  parts.metrics = metrics;
  return std::make_unique<Router>(std::move(options), std::move(parts));
}

}  // namespace fti::llm
