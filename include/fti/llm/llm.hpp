#pragma once
// The one way the rest of the program asks a language model something: an Ask goes to an
// LlmClient (the Router in-process, or a pipe to the server's Router from a cleanup child)
// and comes back as an Answer with who answered and what it cost.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fti/core/clock.hpp"
#include "fti/core/result.hpp"

namespace fti::llm {

// How capable a model the task needs. `local` is the Ollama pool; the others are the cloud
// tiers chosen by estimated complexity (simple and medium: OpenAI; complex: Anthropic).
enum class Tier { local, simple, medium, complex };
std::string_view tier_name(Tier tier);
std::optional<Tier> parse_tier(std::string_view name);

// The cloud tier for a task of this estimated complexity (0..1): below 0.3 simple, below
// 0.7 medium, else complex.
Tier cloud_tier_for(double complexity);

// llm.mode: off (never call a model), auto (all tiers), fast (surge: Ollama and the simple
// tier only).
enum class Mode { off, auto_, fast };
std::string_view mode_name(Mode mode);
std::optional<Mode> parse_mode(std::string_view name);

struct Ask {
  std::string task;        // "rewrite", "readme": part of the cache key, logs and the report
  Tier tier = Tier::local;
  std::string system;
  std::string prompt;      // must already be redacted: it may leave the machine
  int max_tokens = 2048;
  double temperature = 0;
  std::string job_id;      // the cost ledger's scope and the per-job cap
  TimeMs deadline_ms = 0;  // on the router's clock; 0: none. No retry, wait or call outlives it.
};

struct Answer {
  std::string text;
  std::string provider;       // "ollama" | "openai" | "anthropic"
  std::string model;
  std::string finish_reason;  // "stop" or "length" (cut at max_tokens)
  std::int64_t tokens_in = 0;
  std::int64_t tokens_out = 0;
  double cost_usd = 0;        // 0 for Ollama and for cache hits
  bool cached = false;
};

class LlmClient {
 public:
  virtual ~LlmClient() = default;
  // Errors: llm_unavailable (nothing could answer), llm_budget (the per-job cap would be
  // passed), llm_disabled (mode off or the tier forbidden), bad_request.
  virtual Result<Answer> complete(const Ask& ask) = 0;
  // False when no ask can succeed (llm.mode = off), so callers can skip preparing one.
  virtual bool enabled() const { return true; }
};

// Wire form of Ask and Answer (the cleanup child's pipe and the cache).
std::string ask_to_json(const Ask& ask);
Result<Ask> ask_from_json(std::string_view json);
std::string answer_to_json(const Answer& answer);
Result<Answer> answer_from_json(std::string_view json);

}  // namespace fti::llm
