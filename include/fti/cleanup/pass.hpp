#pragma once
// A cleanup pass works on the extracted tree in a workspace and writes what it did into the
// report. Passes run in order; a pass must never change what a file means.
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fti/cleanup/report.hpp"
#include "fti/core/result.hpp"

namespace fti::cleanup {

struct PassContext {
  std::filesystem::path root;  // the extracted tree
  Report& report;
  // Paths relative to root that later passes must leave alone (e.g. ".git/").
  std::function<bool(const std::string& rel_path)> is_protected;
};

class Pass {
 public:
  virtual ~Pass() = default;
  virtual std::string name() const = 0;   // "junk", "normalize", "secrets"
  virtual std::string stage() const = 0;  // progress stage shown to users
  virtual Status run(PassContext& ctx) = 0;
};

std::unique_ptr<Pass> make_junk_pass();
std::unique_ptr<Pass> make_normalize_pass();
std::unique_ptr<Pass> make_secrets_pass();
std::unique_ptr<Pass> make_inventory_pass();  // languages, large files, TODO counts
std::unique_ptr<Pass> make_checks_pass();     // conflicts, data syntax, modes, debug, duplicates

struct LlmPassOptions;     // llm_pass.hpp
struct FormatPassOptions;  // formatters.hpp

// The default pass list, in order. The LLM passes are always in it: without a client they
// only note that they were skipped. The format pass is in it when `format` is given.
std::vector<std::unique_ptr<Pass>> default_passes(const LlmPassOptions& llm,
                                                  const FormatPassOptions* format);
std::vector<std::unique_ptr<Pass>> default_passes(const LlmPassOptions& llm);
std::vector<std::unique_ptr<Pass>> default_passes();  // no LLM client

}  // namespace fti::cleanup
