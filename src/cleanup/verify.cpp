// Verification of a model's answer for one file: syntax checks with the language's own tools
// (run as child processes in a scratch folder, never in the project tree), the structural
// fallback, the "is it code" check and the confidence that the LLM passes compare with
// llm.confidence_threshold.
#include "fti/cleanup/verify.hpp"

#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>

#include "code_scan.hpp"
#include "fti/core/process.hpp"

namespace fti::cleanup {
namespace {

namespace fs = std::filesystem;

constexpr std::chrono::seconds kCheckTimeout{10};
constexpr double kStructuralOnly = 0.7;  // below the default threshold: such answers escalate
constexpr double kSizeFactorAtBound = 0.7;

// ast.parse compiles without importing or running anything and writes no .pyc; -I keeps the
// scratch folder off sys.path, so a candidate named ast.py cannot stand in for the module.
constexpr const char* kPythonCheck =
    "import ast,sys; ast.parse(open(sys.argv[1],'rb').read(), sys.argv[1])";

// A checker reads what the file names: `#include "/dev/zero"` makes cc1 read until memory
// runs out, a huge include chain burns CPU. Limits end such a check in about a second, as a
// failure, long before the timeout and before the machine feels it.
constexpr std::int64_t kCheckMemory = 512LL << 20;  // address space: enough for <bits/stdc++.h>
// V8 reserves about 700 MiB of address space for its code range at start-up, whatever it
// runs; node --check only parses the file (no includes, nothing read), so it gets more room.
constexpr std::int64_t kNodeMemory = 1LL << 30;
constexpr std::int64_t kCheckCpuSeconds = 10;
constexpr std::int64_t kCheckFileBytes = 16LL << 20;  // checkers write nothing big
constexpr std::int64_t kCheckOpenFiles = 64;

struct Checker {
  std::string tool;
  std::vector<std::string> argv;  // the file path is appended
  std::int64_t memory_bytes = kCheckMemory;
};

std::optional<Checker> checker_for(CodeLanguage language) {
  switch (language) {
    case CodeLanguage::python:
      return Checker{"python3", {"python3", "-I", "-B", "-c", kPythonCheck}};
    case CodeLanguage::c: return Checker{"gcc", {"gcc", "-fsyntax-only", "-x", "c"}};
    case CodeLanguage::cpp:
      return Checker{"g++", {"g++", "-fsyntax-only", "-x", "c++", "-std=c++20"}};
    case CodeLanguage::javascript: return Checker{"node", {"node", "--check"}, kNodeMemory};
    case CodeLanguage::typescript:
    case CodeLanguage::other: break;
  }
  return std::nullopt;
}

// A fresh folder for one check, removed with its contents afterwards.
class ScratchFolder {
 public:
  explicit ScratchFolder(const fs::path& base) {
    fs::path parent = base.empty() ? fs::temp_directory_path() : base;
    std::error_code ec;
    fs::create_directories(parent, ec);
    std::string tmpl = (parent / "fti-verify-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~ScratchFolder() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  ScratchFolder(const ScratchFolder&) = delete;
  ScratchFolder& operator=(const ScratchFolder&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// The checker's first complaint, with the scratch path replaced by the file's own name.
std::string first_complaint(std::string text, const std::string& full_path, std::string_view name) {
  for (std::size_t pos = text.find(full_path); pos != std::string::npos;
       pos = text.find(full_path, pos + name.size())) {
    text.replace(pos, full_path.size(), name);
  }
  for (std::string_view line : detail::split_lines(text)) {
    if (line.find("rror") != std::string_view::npos) return std::string(line.substr(0, 300));
  }
  std::vector<std::string_view> lines = detail::split_lines(text);
  return lines.empty() ? std::string("no message") : std::string(lines.back().substr(0, 300));
}

std::string base_name(std::string_view path) {
  std::size_t slash = path.find_last_of('/');
  std::string name(slash == std::string_view::npos ? path : path.substr(slash + 1));
  return name.empty() ? std::string("file") : name;
}

// What node says of `import`/`export` in a file it reads as CommonJS.
bool is_es_module_complaint(std::string_view detail) {
  return detail.find("outside a module") != std::string_view::npos ||
         detail.find("Unexpected token 'export'") != std::string_view::npos;
}

SyntaxResult run_checker(const Checker& checker, const fs::path& file, const fs::path& folder,
                         std::string_view file_name) {
  ProcessSpec spec;
  spec.argv = checker.argv;
  spec.argv.push_back(file.string());
  spec.working_dir = folder.string();
  spec.inherit_environment = false;  // a checker needs no credentials
  spec.timeout = kCheckTimeout;
  spec.max_output_bytes = 64 * 1024;
  spec.limits.memory_bytes = checker.memory_bytes;
  spec.limits.cpu_seconds = kCheckCpuSeconds;
  spec.limits.file_bytes = kCheckFileBytes;
  spec.limits.open_files = kCheckOpenFiles;
  auto run = run_process(spec);
  if (!run) return {SyntaxStatus::unavailable, checker.tool, run.error().message};
  if (run->timed_out) return {SyntaxStatus::unavailable, checker.tool, checker.tool + " timed out"};
  if (run->signaled) return {SyntaxStatus::unavailable, checker.tool, checker.tool + " crashed"};
  if (run->exit_code == 0) return {SyntaxStatus::passed, checker.tool, ""};
  return {SyntaxStatus::failed, checker.tool,
          first_complaint(run->stderr_data + run->stdout_data, file.string(), base_name(file_name))};
}

}  // namespace

SyntaxResult check_syntax(CodeLanguage language, std::string_view file_name, std::string_view text,
                          const fs::path& scratch_dir) {
  std::optional<Checker> checker = checker_for(language);
  if (!checker) {
    return {SyntaxStatus::unavailable, "",
            "no syntax checker for " + std::string(code_language_name(language))};
  }
  ScratchFolder folder(scratch_dir);
  if (folder.path().empty()) return {SyntaxStatus::unavailable, checker->tool, "no scratch folder"};
  fs::path file = folder.path() / "src" / base_name(file_name);
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  std::ofstream(file, std::ios::binary) << text;

  SyntaxResult result = run_checker(*checker, file, folder.path(), file_name);
  const bool esm = language == CodeLanguage::javascript && result.status == SyntaxStatus::failed &&
                   is_es_module_complaint(result.detail);
  if (esm) {
    // Node before 20.19 reads a .js file as CommonJS; an ES module is checked as .mjs.
    fs::path as_module = file;
    as_module.replace_extension(".mjs");
    fs::rename(file, as_module, ec);
    if (!ec) result = run_checker(*checker, as_module, folder.path(), file_name);
  }
  return result;
}

// --- is it code --------------------------------------------------------------------------------

namespace {

// How a chatty model opens or closes an answer; code does not start a line this way.
constexpr std::string_view kChatter[] = {
    "Here is",       "Here's",       "Here are",     "Sure",      "Certainly",     "Of course",
    "Below is",      "Below are",    "I have",       "I've",      "I cleaned",     "I removed",
    "I made",        "I hope",       "Let me know",  "Hope this", "The following", "The cleaned",
    "The rewritten", "This is the",  "This version", "Okay",      "OK,",           "As requested",
    "Explanation",   "Changes made", "Note:"};

bool starts_with_chatter(std::string_view line) {
  for (std::string_view phrase : kChatter) {
    if (line.substr(0, phrase.size()) != phrase) continue;
    char next = line.size() > phrase.size() ? line[phrase.size()] : ' ';
    bool word_ends = !((next >= 'a' && next <= 'z') || (next >= 'A' && next <= 'Z') || next == '_');
    if (word_ends) return true;
  }
  return false;
}

std::string_view trim(std::string_view s) {
  std::size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

// "This function adds the numbers." outside comments and strings: four or more words of
// letters, a capital first and a full stop last; no statement in these languages looks so.
bool sentence_like(std::string_view line) {
  line = trim(line);
  if (line.size() < 12 || !(line[0] >= 'A' && line[0] <= 'Z')) return false;
  char last = line.back();
  if (last != '.' && last != '!') return false;
  int words = 1;
  for (char c : line.substr(0, line.size() - 1)) {
    bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (c == ' ') {
      ++words;
    } else if (!letter && c != ',' && c != '\'' && c != '-') {
      return false;
    }
  }
  return words >= 4;
}

bool reads_like_prose(std::string_view code, CodeLanguage language) {
  std::vector<std::string_view> lines = detail::split_lines(code);
  auto first = std::find_if(lines.begin(), lines.end(), [](auto l) { return !trim(l).empty(); });
  auto last = std::find_if(lines.rbegin(), lines.rend(), [](auto l) { return !trim(l).empty(); });
  if (first == lines.end()) return false;
  if (starts_with_chatter(trim(*first)) || starts_with_chatter(trim(*last))) return true;
  std::string skeleton = detail::blanked_code(language, code, nullptr);
  for (std::string_view line : detail::split_lines(skeleton)) {
    if (sentence_like(line)) return true;
  }
  return false;
}

// The number of backticks opening a fence on this line (up to three spaces of indent), or 0.
std::size_t fence_length(std::string_view line) {
  std::size_t indent = line.find_first_not_of(' ');
  if (indent == std::string_view::npos || indent > 3) return 0;
  std::size_t n = 0;
  while (indent + n < line.size() && line[indent + n] == '`') ++n;
  return n >= 3 ? n : 0;
}

// A closing fence: only backticks, at least as many as the opening.
bool closes_fence(std::string_view line, std::size_t opening) {
  std::string_view t = trim(line);
  return fence_length(t) >= opening && t.find_first_not_of('`') == std::string_view::npos;
}

std::string join_lines(std::vector<std::string_view>::const_iterator begin,
                       std::vector<std::string_view>::const_iterator end) {
  std::string out;
  for (auto it = begin; it != end; ++it) {
    out.append(*it);
    out += '\n';
  }
  return out;
}

// The answer without surrounding blank lines, keeping the first line's indentation.
std::string_view strip_blank_edges(std::string_view answer) {
  std::size_t first = answer.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  std::size_t line_start = answer.rfind('\n', first);
  line_start = line_start == std::string_view::npos ? 0 : line_start + 1;
  std::size_t last = answer.find_last_not_of(" \t\r\n");
  return answer.substr(line_start, last + 1 - line_start);
}

}  // namespace

ExtractedCode extract_code(std::string_view answer, CodeLanguage language) {
  std::string_view text = strip_blank_edges(answer);
  if (text.empty()) return {std::nullopt, "empty answer"};
  std::vector<std::string_view> lines = detail::split_lines(text);
  std::string code;
  std::size_t opening = fence_length(lines.front());
  if (opening > 0) {
    auto close = std::find_if(lines.begin() + 1, lines.end(),
                              [&](std::string_view l) { return closes_fence(l, opening); });
    if (close == lines.end()) return {std::nullopt, "not code: an unclosed Markdown fence"};
    if (close + 1 != lines.end()) {
      bool more_fences = std::any_of(close + 1, lines.end(),
                                     [](std::string_view l) { return fence_length(l) > 0; });
      return {std::nullopt, more_fences ? "not code: several Markdown blocks"
                                        : "not code: prose around a Markdown fence"};
    }
    code = join_lines(lines.begin() + 1, close);
  } else {
    for (std::string_view line : lines) {
      if (fence_length(line) > 0) return {std::nullopt, "not code: prose around a Markdown fence"};
    }
    code = join_lines(lines.begin(), lines.end());
  }
  if (reads_like_prose(code, language)) return {std::nullopt, "not code: reads like prose"};
  return {std::move(code), ""};
}

// --- the verifier --------------------------------------------------------------------------------

CodeVerifier::CodeVerifier(std::string path, std::string original, VerifyLimits limits)
    : path_(std::move(path)),
      file_name_(base_name(path_)),
      original_(std::move(original)),
      limits_(std::move(limits)),
      language_(code_language_of(path_)) {}

const CodeVerifier::OriginalFacts& CodeVerifier::original_facts() {
  if (facts_) return *facts_;
  OriginalFacts facts;
  facts.definitions = names_to_keep(path_, language_, original_);
  facts.brackets_balanced = !unbalanced_brackets(language_, original_).has_value();
  // A .h file may be C or C++: whichever checker accepts the original is the one to use.
  std::vector<CodeLanguage> tries = {language_};
  if (language_ == CodeLanguage::c && detail::lower_extension(path_) == "h")
    tries.push_back(CodeLanguage::cpp);
  for (CodeLanguage as : tries) {
    SyntaxResult r = check_syntax(as, file_name_, original_, limits_.scratch_dir);
    if (r.status == SyntaxStatus::passed) {
      facts.checked_as = as;
      break;
    }
    facts.structural_why = r.status == SyntaxStatus::failed
                               ? "the original does not pass " + r.tool + " on its own"
                               : r.detail;
  }
  facts_ = std::move(facts);
  return *facts_;
}

double CodeVerifier::best_possible_confidence() {
  const OriginalFacts& facts = original_facts();
  if (facts.checked_as) return 1;
  return facts.brackets_balanced ? kStructuralOnly : 0;
}

std::string CodeVerifier::limitation() {
  const OriginalFacts& facts = original_facts();
  if (facts.checked_as) return {};
  if (!facts.brackets_balanced) return "the original's brackets do not balance";
  return facts.structural_why;
}

double CodeVerifier::size_factor(double ratio) const {
  double bound = ratio >= 1 ? limits_.max_size_ratio : 1 / limits_.min_size_ratio;
  if (bound <= 1 || ratio <= 0) return 1;
  double t = std::abs(std::log(ratio)) / std::log(bound);
  if (t <= 0.5) return 1;
  return 1 - (1 - kSizeFactorAtBound) * std::min(1.0, (t - 0.5) / 0.5);
}

CodeVerdict CodeVerifier::verify(std::string_view answer_text, std::string_view finish_reason) {
  if (finish_reason == "length") return {0, "truncated at max_tokens", "", ""};
  ExtractedCode extracted = extract_code(answer_text, language_);
  if (!extracted.code) return {0, extracted.reason, "", ""};
  std::string code = std::move(*extracted.code);
  // The file's own convention for the last line wins over the answer's.
  if (!original_.empty() && original_.back() != '\n' && !code.empty() && code.back() == '\n') {
    code.pop_back();
  }
  return check_code(std::move(code));
}

CodeVerdict CodeVerifier::check_code(std::string code) {
  CodeVerdict v{0, "", "", std::move(code)};
  double ratio = static_cast<double>(v.code.size()) /
                 static_cast<double>(std::max<std::size_t>(1, original_.size()));
  if (ratio < limits_.min_size_ratio || ratio > limits_.max_size_ratio) {
    v.reason = "size out of range";
    v.detail = "candidate/original bytes = " + std::to_string(ratio);
    return v;
  }
  const OriginalFacts& facts = original_facts();
  std::vector<std::string> kept = top_level_definitions(language_, v.code);
  std::vector<std::string> missing;
  std::set_difference(facts.definitions.begin(), facts.definitions.end(), kept.begin(), kept.end(),
                      std::back_inserter(missing));
  if (!missing.empty()) {
    v.reason = "drops a top-level name";
    for (const auto& name : missing) v.detail += (v.detail.empty() ? "drops " : ", ") + name;
    return v;
  }
  double base = 1;
  if (facts.checked_as) {
    SyntaxResult r = check_syntax(*facts.checked_as, file_name_, v.code, limits_.scratch_dir);
    if (r.status != SyntaxStatus::passed) {
      v.reason =
          r.status == SyntaxStatus::failed ? "does not parse" : "syntax check did not finish";
      v.detail = r.detail;
      return v;
    }
  } else {
    if (!facts.brackets_balanced) {
      v.reason = "cannot be verified: the original fails every check";
      return v;
    }
    if (auto why = unbalanced_brackets(language_, v.code)) {
      v.reason = "brackets do not balance";
      v.detail = *why;
      return v;
    }
    base = kStructuralOnly;
    v.reason = "only a structural check";
    v.detail = facts.structural_why;
  }
  double factor = size_factor(ratio);
  v.confidence = base * factor;
  if (factor < 1 && v.reason.empty()) v.reason = "size far from the original's";
  return v;
}

}  // namespace fti::cleanup
