#pragma once
// Private to the cleanup room: the small tokenizer and scanners behind verify.hpp's facts.
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fti/cleanup/verify.hpp"

namespace fti::cleanup::detail {

struct Token {
  std::string_view text;    // an identifier or number, "::", or one punctuation character
  bool ident = false;       // identifier or keyword (not a number)
  bool line_start = false;  // first token on its line
};

// Tokens of code whose comments and literals are already blanked; views into `code`.
std::vector<Token> tokenize(std::string_view code);

// Lines without their '\n'.
std::vector<std::string_view> split_lines(std::string_view text);

// "py" for "a/b.PY"; empty without an extension.
std::string lower_extension(std::string_view path);

// The text with comments and literals blanked (offsets kept). For C and C++ preprocessor
// directives are blanked too, and the names of #define lines go to `defines` when given.
std::string blanked_code(CodeLanguage language, std::string_view text,
                         std::vector<std::string>* defines);

// Top-level names of C or C++ tokens (see top_level_definitions).
void c_definitions(const std::vector<Token>& tokens, std::set<std::string>& names);

// One name a top-level Python import binds.
struct PythonImport {
  std::string fact;   // as in the names: "import:os", "import:a.b", "import:from m import *"
  std::string bound;  // the name it binds ("a" for import a.b); empty for a * import
  // Dropping it could change behaviour: the name is used outside the imports, it is a
  // __future__ or * import, or it is marked noqa (unused on purpose: a side effect).
  bool keep = false;
};

// What a Python module defines and binds at its top level (see top_level_definitions).
struct PythonFacts {
  std::set<std::string> names;
  std::vector<PythonImport> imports;
  bool has_all = false;  // __all__ is assigned: the module declares what it exports
};
PythonFacts python_facts(std::string_view text);

}  // namespace fti::cleanup::detail
