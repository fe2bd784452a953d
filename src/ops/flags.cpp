#include "fti/ops/flags.hpp"

#include <fmt/format.h>

namespace fti::ops {

FeatureFlags::FeatureFlags(const FlagsConfig& config) {
  flags_[std::string(kFlagLlmReadme)] = {"ask a language model for a README.md when a project has none",
                                         config.llm_readme, std::nullopt};
  flags_[std::string(kFlagReportExtras)] = {"ask a language model for structure suggestions in the report",
                                            config.report_extras, std::nullopt};
}

// Every flag here is non-essential: the cleanup is complete without it, so surge mode may
// turn any of them off.
FlagState FeatureFlags::state_of(const std::string& name, const Flag& flag) const {
  FlagState s;
  s.name = name;
  s.description = flag.description;
  s.configured = flag.configured;
  s.override_value = flag.override_value;
  s.off_for_surge = !flag.override_value && surge_ && flag.configured;
  s.enabled = flag.override_value.value_or(flag.configured && !surge_);
  return s;
}

bool FeatureFlags::enabled(std::string_view name) const {
  std::lock_guard lock(mutex_);
  auto it = flags_.find(name);
  return it != flags_.end() && state_of(it->first, it->second).enabled;
}

std::vector<FlagState> FeatureFlags::states() const {
  std::lock_guard lock(mutex_);
  std::vector<FlagState> out;
  for (const auto& [name, flag] : flags_) out.push_back(state_of(name, flag));
  return out;
}

Status FeatureFlags::set_override(std::string_view name, std::optional<bool> value) {
  std::lock_guard lock(mutex_);
  auto it = flags_.find(name);
  if (it == flags_.end()) {
    std::string known;
    for (const auto& [n, f] : flags_) known += (known.empty() ? "" : ", ") + n;
    return Error(errc::bad_request, fmt::format("there is no flag \"{}\"; the flags are: {}", name, known));
  }
  it->second.override_value = value;
  return ok_status();
}

void FeatureFlags::set_surge(bool active) {
  std::lock_guard lock(mutex_);
  surge_ = active;
}

}  // namespace fti::ops
