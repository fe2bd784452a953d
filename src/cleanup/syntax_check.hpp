#pragma once
// Private to the cleanup room: does a data file parse? JSON (simdjson decides, a small scanner
// finds the line), TOML (toml++), XML (a small well-formedness checker) and YAML (PyYAML in
// one child process for all of a job's files: there is no C++ YAML library among the
// dependencies).
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fti/core/result.hpp"

namespace fti::cleanup::detail {

struct SyntaxError {
  std::int64_t line = 0;  // 1-based; 0 when the parser does not say
  std::string message;
};

std::optional<SyntaxError> check_json(std::string_view text);
std::optional<SyntaxError> check_toml(std::string_view text);
// Well-formedness only (tags balanced and nested, attributes quoted, entities written as
// references, one root element); no DTD or schema. Gives up (nullopt) past a nesting depth.
std::optional<SyntaxError> check_xml(std::string_view text);

// A python3 that can `import yaml`: the first on PATH that can, found once per process;
// empty when there is none.
const std::string& python_with_yaml();

struct YamlError {
  std::string path;  // as given
  SyntaxError error;
};

// Parses every file with PyYAML (compose only: custom tags such as !Ref are fine) in one
// child process. Fails when no interpreter has PyYAML or the child does not finish in time.
Result<std::vector<YamlError>> check_yaml_files(const std::vector<std::string>& paths,
                                                std::chrono::milliseconds timeout);

}  // namespace fti::cleanup::detail
