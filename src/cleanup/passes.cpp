#include "fti/cleanup/pass.hpp"

namespace fti::cleanup {

// Junk first so later passes do not waste time on node_modules; inventory last so its counts
// describe the tree that is shipped.
std::vector<std::unique_ptr<Pass>> default_passes() {
  std::vector<std::unique_ptr<Pass>> passes;
  passes.push_back(make_junk_pass());
  passes.push_back(make_normalize_pass());
  passes.push_back(make_secrets_pass());
  passes.push_back(make_inventory_pass());
  return passes;
}

}  // namespace fti::cleanup
