#include "fti/cleanup/formatters.hpp"
#include "fti/cleanup/llm_pass.hpp"
#include "fti/cleanup/pass.hpp"

namespace fti::cleanup {

// Junk first so later passes do not waste time on node_modules. The LLM passes come after the
// deterministic cleanup (they see normalised text, and secrets are already reported) and
// before the checks and the inventory, so their line numbers and counts describe the tree
// that is shipped. Formatting follows normalisation (formatters get clean line endings) and
// precedes the secret scan and the LLM passes, so their line numbers and prompts see the
// shipped layout.
std::vector<std::unique_ptr<Pass>> default_passes(const LlmPassOptions& llm, const FormatPassOptions* format) {
  std::vector<std::unique_ptr<Pass>> passes;
  passes.push_back(make_junk_pass());
  passes.push_back(make_normalize_pass());
  if (format) passes.push_back(make_format_pass(*format));
  passes.push_back(make_secrets_pass());
  passes.push_back(make_llm_rewrite_pass(llm));
  passes.push_back(make_llm_readme_pass(llm));
  passes.push_back(make_checks_pass());
  passes.push_back(make_inventory_pass());
  return passes;
}

std::vector<std::unique_ptr<Pass>> default_passes(const LlmPassOptions& llm) { return default_passes(llm, nullptr); }

std::vector<std::unique_ptr<Pass>> default_passes() { return default_passes(LlmPassOptions{}); }

}  // namespace fti::cleanup
