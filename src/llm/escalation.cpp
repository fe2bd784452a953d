#include "fti/llm/escalation.hpp"

namespace fti::llm {

namespace {

// One call and its verdict, as the report will describe it.
Attempt attempt_tier(LlmClient& client, Ask ask, Tier tier, const std::function<Verdict(const Answer&)>& verify) {
  ask.tier = tier;
  Attempt attempt;
  attempt.tier = tier;
  auto answer = client.complete(ask);
  if (!answer) {
    attempt.error_code = answer.error().code;
    attempt.error_message = answer.error().message;
    attempt.reason = answer.error().message;
    return attempt;
  }
  Verdict verdict = verify(*answer);
  attempt.confidence = verdict.confidence;
  attempt.reason = verdict.reason;
  attempt.answer = std::move(*answer);
  return attempt;
}

}  // namespace

EscalationResult ask_with_escalation(LlmClient& client, Ask ask, double complexity, double threshold,
                                     const std::function<Verdict(const Answer&)>& verify) {
  EscalationResult result;
  for (Tier tier : {Tier::local, cloud_tier_for(complexity)}) {
    result.attempts.push_back(attempt_tier(client, ask, tier, verify));
    const Attempt& last = result.attempts.back();
    if (last.answer && last.confidence >= threshold) {
      result.accepted = last.answer;
      return result;
    }
    // The per-job cap will not be different on the next tier's call.
    if (last.error_code == "llm_budget") break;
  }
  const Attempt& last = result.attempts.back();
  result.reason = last.answer ? "below confidence: " + last.reason : last.error_message;
  return result;
}

}  // namespace fti::llm
