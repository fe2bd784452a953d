#include "llm_support.hpp"

#include <algorithm>

#include "fti/core/error.hpp"

namespace fti::cleanup::detail {

namespace {

// The router refuses these before any call is made: the tier is off (llm.mode, surge mode,
// llm.allow_cloud = false) or the per-job cap would be passed. No model was tried.
bool refused_without_call(const llm::Attempt& attempt) {
  return !attempt.answer &&
         (attempt.error_code == errc::llm_disabled || attempt.error_code == errc::llm_budget);
}

}  // namespace

void record_attempts(LlmUsage& usage, const llm::EscalationResult& result) {
  bool escalated = false;
  for (const llm::Attempt& attempt : result.attempts) {
    if (refused_without_call(attempt)) {
      ++usage.refused_calls;
      continue;
    }
    escalated = escalated || attempt.tier != llm::Tier::local;
    if (!attempt.answer) {
      ++usage.failed_calls;
      continue;
    }
    const llm::Answer& a = *attempt.answer;
    usage.record_answer(a.provider, a.tokens_in, a.tokens_out, a.cost_usd, a.cached);
  }
  if (escalated) ++usage.escalations;
}

// What each attempt came to. When the tiers disagree, each says its own ("local: answer
// rejected: does not parse; medium: no model could answer (llm_unavailable)"), so a user
// sees why escalating did not help; reasons stay free of file names so they group.
std::string rejection_reason(const llm::EscalationResult& result) {
  if (result.attempts.empty()) return "not asked";
  auto describe = [](const llm::Attempt& a) {
    if (a.answer) return "answer rejected: " + a.reason;
    return "no model could answer (" + (a.error_code.empty() ? std::string("error") : a.error_code) + ")";
  };
  bool all_same = true;
  for (const llm::Attempt& a : result.attempts) all_same = all_same && describe(a) == describe(result.attempts[0]);
  if (all_same) return describe(result.attempts[0]);
  std::string out;
  for (const llm::Attempt& a : result.attempts) {
    if (!out.empty()) out += "; ";
    out += std::string(llm::tier_name(a.tier)) + ": " + describe(a);
  }
  return out;
}

std::string stop_reason(const llm::EscalationResult& result) {
  for (const llm::Attempt& attempt : result.attempts) {
    if (attempt.error_code == errc::llm_budget) return "per-job LLM budget reached";
    // A forbidden cloud tier (fast mode) leaves other asks possible; a forbidden local tier
    // means the mode is off.
    if (attempt.error_code == errc::llm_disabled && attempt.tier == llm::Tier::local) {
      return "LLM disabled for this job";
    }
  }
  return {};
}

std::string fence_for(std::string_view text) {
  std::size_t longest = 0;
  std::size_t run = 0;
  for (char c : text) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  return std::string(std::max<std::size_t>(3, longest + 1), '`');
}

}  // namespace fti::cleanup::detail
