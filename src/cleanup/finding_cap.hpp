#pragma once
// Private to the cleanup room: keeps a report readable. A big repository could otherwise
// produce tens of thousands of findings of one rule (and a 50 MB report); past the cap a
// rule's findings are counted, and one note says how many were left out.
#include <cstddef>
#include <map>
#include <string>

#include "fti/cleanup/report.hpp"

namespace fti::cleanup::detail {

inline constexpr std::size_t kMaxFindingsPerRule = 200;

class FindingCap {
 public:
  explicit FindingCap(Report& report, std::size_t per_rule = kMaxFindingsPerRule)
      : report_(report), per_rule_(per_rule) {}

  void add(Finding finding) {
    std::size_t& n = listed_[finding.rule];
    if (n >= per_rule_) {
      ++dropped_[finding.rule];
      return;
    }
    ++n;
    report_.findings.push_back(std::move(finding));
  }

  // Notes the findings left out, one note per rule; call once at the end of the pass.
  void finish() {
    for (const auto& [rule, count] : dropped_) {
      report_.notes.push_back(std::to_string(count) + " more " + rule + " findings not listed (" +
                              std::to_string(per_rule_) + " shown)");
    }
    dropped_.clear();
  }

 private:
  Report& report_;
  std::size_t per_rule_;
  std::map<std::string, std::size_t> listed_;
  std::map<std::string, std::size_t> dropped_;
};

}  // namespace fti::cleanup::detail
