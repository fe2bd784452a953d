#pragma once
// The escalation policy: ask the Ollama tier first; accept its answer when the caller's
// verification gives it a confidence of at least the threshold; otherwise ask the cloud
// tier that fits the task's estimated complexity, and accept that answer only if it
// verifies too. Every attempt is kept so the report can say what happened.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "fti/llm/llm.hpp"

namespace fti::llm {

struct Verdict {
  double confidence = 0;  // 0..1; see docs/llm.md for how the cleanup passes compute it
  std::string reason;     // why it is below 1 ("does not parse", "drops def main", ...)
};

struct Attempt {
  Tier tier = Tier::local;
  std::optional<Answer> answer;  // absent when the call failed
  std::string error_code;        // the call's error code when it failed
  std::string error_message;
  double confidence = 0;
  std::string reason;
};

struct EscalationResult {
  std::optional<Answer> accepted;
  std::vector<Attempt> attempts;
  // Why nothing was accepted, for the report's skipped list: the last failure or verdict.
  std::string reason;
};

// `complexity` in 0..1 picks the cloud tier (cloud_tier_for). `ask.tier` is ignored.
EscalationResult ask_with_escalation(LlmClient& client, Ask ask, double complexity, double threshold,
                                     const std::function<Verdict(const Answer&)>& verify);

}  // namespace fti::llm
