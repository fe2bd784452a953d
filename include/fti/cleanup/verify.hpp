#pragma once
// Verification of code a language model proposes for a file: does it still parse, does it
// keep every top-level name, is its size plausible, is it code at all. The LLM passes keep
// an answer only when the confidence computed here reaches llm.confidence_threshold; the
// same checks are usable on their own (tests, tools).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fti::cleanup {

// The languages the verified rewrite understands; everything else is `other`.
enum class CodeLanguage { python, c, cpp, javascript, typescript, other };

// By file extension (.py, .c/.h, .cc/.cpp/.hpp..., .js/.mjs/.cjs/.jsx, .ts/.tsx...).
CodeLanguage code_language_of(std::string_view path);
std::string_view code_language_name(CodeLanguage language);  // "Python", "C++", ...

// --- syntax ---------------------------------------------------------------------------------

enum class SyntaxStatus { passed, failed, unavailable };

struct SyntaxResult {
  SyntaxStatus status = SyntaxStatus::unavailable;
  std::string tool;    // "python3", "gcc", "g++", "node"; empty when none applies
  std::string detail;  // the checker's first complaint, or why no check ran
};

// Runs the language's checker (python3 ast.parse, gcc/g++ -fsyntax-only, node --check) on
// `text` saved under `file_name` in a fresh folder below `scratch_dir` (never the project
// tree), with a 10 s timeout. `unavailable` when the language has no checker, the tool is not
// installed, or it timed out.
SyntaxResult check_syntax(CodeLanguage language, std::string_view file_name, std::string_view text,
                          const std::filesystem::path& scratch_dir);

// Why (), [] and {} outside comments and strings do not balance; nullopt when they do.
std::optional<std::string> unbalanced_brackets(CodeLanguage language, std::string_view text);

// --- structure --------------------------------------------------------------------------------

// Names defined at the top level, sorted and unique: what a rewrite must keep. Some entries
// are facts rather than bare names, so that changing them counts as dropping a name:
// Python: def, class and assignments at column 0 (a, b = ...; x: int), every import binding
//   ("import:os", "import:a.b" for import a.b, "import:c" for ... as c, "import:from m import
//   *"), the entries of __all__ ("__all__:run") and an `if __name__ == "__main__":` guard
//   ("guard:__main__").
// C/C++: functions (definitions and declarations), variables, struct/class/union/enum,
//   typedef and using aliases at file or namespace scope, #define; qualified by the enclosing
//   namespaces ("app::Box"), namespaces themselves ("app"), and internal linkage marked:
//   "static:helper" for a static function or variable or anything in an anonymous namespace.
// JavaScript/TypeScript: function, class, const/let/var, interface/type/enum at the top
//   level; and what the module exports, apart: "export:f" (export function f, export { g as
//   f }, exports.f = ..., module.exports = { f }), "export:default", "export:* from ./util",
//   "module.exports" for an assignment to it.
// Comments and strings are skipped with the cleanup lexers, so names there never count.
std::vector<std::string> top_level_definitions(CodeLanguage language, std::string_view text);

// The names a rewrite of the file at `path` must keep: top_level_definitions, less the Python
// imports a cleanup may drop. An import may go only when the name it binds is used nowhere
// else in the file (code only, not comments or strings), it is not a __future__ or * import,
// it carries no noqa comment, and the file is neither a package's __init__.py nor declares
// __all__ (there imports are the package's exports).
std::vector<std::string> names_to_keep(std::string_view path, CodeLanguage language,
                                       std::string_view text);

// How hard the file is to rewrite, 0..1 (picks the cloud tier: below 0.3 simple, below 0.7
// medium, else complex):
//   0.45 * min(1, code_lines / 400)        code lines: not blank, not only comment
// + 0.35 * min(1, max_nesting / 6)         brace depth (C-like) or indentation levels (Python)
// + 0.20 * min(1, branch_density / 0.4)    branch points (if, for, while, case, catch, &&, ||,
//                                          ?, and/or/elif/except) per code line
double estimate_complexity(CodeLanguage language, std::string_view text);

// --- answers ----------------------------------------------------------------------------------

// The code inside a model's answer. One ``` fence pair around the whole answer is removed
// (models do that); an answer that still holds a fence, or that reads like prose (a chatty
// opener such as "Here is", or sentence lines outside comments and strings), is rejected.
struct ExtractedCode {
  std::optional<std::string> code;  // ends with a newline
  std::string reason;               // why there is no code
};
ExtractedCode extract_code(std::string_view answer, CodeLanguage language);

struct VerifyLimits {
  double min_size_ratio = 0.5;  // candidate bytes / original bytes
  double max_size_ratio = 1.5;
  std::filesystem::path scratch_dir;  // where syntax checks run; empty: the system temp folder
};

struct CodeVerdict {
  double confidence = 0;  // 0..1, see CodeVerifier
  std::string reason;     // a short, stable reason when below 1 (the report groups by it)
  std::string detail;     // the specifics (which names, the checker's message), for logs
  std::string code;       // the candidate as it would be written (fence removed)
};

// Checks candidates for one original file; what it learns about the original (its syntax
// check, its definitions) is computed once.
//
// Confidence:
//   0    truncated answer (finish_reason "length"), not code, size ratio outside
//        [min, max], a top-level name of the original missing, the syntax check fails
//   base 1.0 when the language's checker passes the original and the candidate;
//        0.7 when only the structural check (balanced brackets) can run: no checker, or the
//        original itself fails it (C/C++ without the project's headers)
//   times a size factor: 1 while |ln r| <= half of ln(bound) (r = candidate/original bytes,
//        bound = max ratio above 1, 1/min ratio below), falling linearly to 0.7 at the bound.
// A parsing answer of normal size scores >= 0.8; a structural-only one at most 0.7, so with
// the default threshold (0.8) it escalates.
class CodeVerifier {
 public:
  CodeVerifier(std::string path, std::string original, VerifyLimits limits);

  // `answer_text` is the model's raw text (a fence around it allowed).
  CodeVerdict verify(std::string_view answer_text, std::string_view finish_reason);

  CodeLanguage language() const { return language_; }

  // The most any answer can score for this file: 1 when a checker passes the original, 0.7
  // when only the structural check applies, 0 when the original fails even that. Lets a pass
  // skip a file whose answers could never reach its threshold without paying for them.
  double best_possible_confidence();
  // Why that is below 1; empty at 1.
  std::string limitation();

 private:
  struct OriginalFacts {
    std::optional<CodeLanguage> checked_as;  // the checker that passes the original, if any
    std::string structural_why;              // why only the structural check applies
    std::vector<std::string> definitions;
    bool brackets_balanced = true;
  };
  const OriginalFacts& original_facts();
  double size_factor(double ratio) const;
  CodeVerdict check_code(std::string code);

  std::string path_;
  std::string file_name_;
  std::string original_;
  VerifyLimits limits_;
  CodeLanguage language_;
  std::optional<OriginalFacts> facts_;
};

}  // namespace fti::cleanup
