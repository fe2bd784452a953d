#pragma once
// Feature flags: named switches for work the service can do without. Each flag has the
// value configured in `flags.*`, an operator's override (PUT /api/v1/admin/flags; null
// returns to the configured value), and surge mode, which turns the non-essential ones off
// unless an operator has overridden them. Read per job, so a change applies to the next one.
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fti/core/config.hpp"
#include "fti/core/result.hpp"

namespace fti::ops {

inline constexpr std::string_view kFlagLlmReadme = "llm_readme";        // LLM README for projects without one
inline constexpr std::string_view kFlagReportExtras = "report_extras";  // LLM structure suggestions in the report

struct FlagState {
  std::string name;
  std::string description;
  bool enabled = false;                 // what the service does now
  bool configured = false;              // flags.<name>
  std::optional<bool> override_value;   // set by an operator
  bool off_for_surge = false;           // enabled as configured, off because of surge mode
};

class FeatureFlags {
 public:
  explicit FeatureFlags(const FlagsConfig& config);

  bool enabled(std::string_view name) const;
  std::vector<FlagState> states() const;  // in name order
  // `value` nullopt clears the override. An unknown name is bad_request and changes nothing.
  Status set_override(std::string_view name, std::optional<bool> value);
  void set_surge(bool active);

 private:
  struct Flag {
    std::string description;
    bool configured = true;
    std::optional<bool> override_value;
  };
  FlagState state_of(const std::string& name, const Flag& flag) const;  // under mutex_

  mutable std::mutex mutex_;
  std::map<std::string, Flag, std::less<>> flags_;
  bool surge_ = false;
};

}  // namespace fti::ops
