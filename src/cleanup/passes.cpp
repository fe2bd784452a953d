#include "fti/cleanup/llm_pass.hpp"
#include "fti/cleanup/pass.hpp"

namespace fti::cleanup {

// Junk first so later passes do not waste time on node_modules. The LLM passes come after the
// deterministic cleanup (they see normalised text, and secrets are already reported) and
// before the checks and the inventory, so their line numbers and counts describe the tree
// that is shipped.
std::vector<std::unique_ptr<Pass>> default_passes(const LlmPassOptions& llm) {
  std::vector<std::unique_ptr<Pass>> passes;
  passes.push_back(make_junk_pass());
  passes.push_back(make_normalize_pass());
  passes.push_back(make_secrets_pass());
  passes.push_back(make_llm_rewrite_pass(llm));
  passes.push_back(make_llm_readme_pass(llm));
  passes.push_back(make_checks_pass());
  passes.push_back(make_inventory_pass());
  return passes;
}

std::vector<std::unique_ptr<Pass>> default_passes() { return default_passes(LlmPassOptions{}); }

}  // namespace fti::cleanup
