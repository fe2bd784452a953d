#pragma once
// Private to the cleanup room: what the LLM passes share: accounting of every answer in the
// report, the reasons they give for files left alone, and prompt fences.
#include <string>
#include <string_view>

#include "fti/cleanup/report.hpp"
#include "fti/llm/escalation.hpp"

namespace fti::cleanup::detail {

// Every attempt counts in the report, accepted or not: answers by provider, calls that failed,
// asks refused without a call (tier off, budget spent), and whether a cloud tier was
// actually tried after the Ollama tier (a refused cloud attempt is no escalation).
void record_attempts(LlmUsage& usage, const llm::EscalationResult& result);

// Why nothing was accepted, short and stable so the report can group files by it.
std::string rejection_reason(const llm::EscalationResult& result);

// Non-empty when no further ask in this job can succeed (the per-job budget is spent, the
// mode forbids the tiers): the reason given for the files not asked about.
std::string stop_reason(const llm::EscalationResult& result);

// A run of backticks longer than any inside `text`, so the text cannot close the fence.
std::string fence_for(std::string_view text);

}  // namespace fti::cleanup::detail
