// The LLM README pass: a project without a README gets a README.md written from its file list,
// languages and the opening lines of its entry files; and a model's suggestions for the
// folder layout go into the report as findings (files are never moved). Prompts carry no
// secrets: they are masked before anything is built into a prompt.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "fti/cleanup/llm_pass.hpp"
#include "fti/llm/escalation.hpp"
#include "languages.hpp"
#include "llm_support.hpp"
#include "redaction.hpp"
#include "tree_files.hpp"

namespace fti::cleanup {
namespace {

constexpr const char* kPassName = "llm-readme";
constexpr const char* kReadmeOffReason = "README generation off";
constexpr std::size_t kMaxListedFiles = 300;
constexpr std::size_t kMaxListBytes = 12 * 1024;
constexpr std::size_t kMaxExcerptFiles = 3;
constexpr std::size_t kExcerptLines = 30;
constexpr std::size_t kMaxExcerptBytes = 2 * 1024;
constexpr std::size_t kMinReadmeBytes = 40;
constexpr std::size_t kMaxReadmeBytes = 16 * 1024;
constexpr std::size_t kMaxSuggestions = 8;
constexpr std::size_t kMaxSuggestionBytes = 300;

constexpr const char* kReadmeSystem =
    "You write README files for software projects. From the project's file list, languages "
    "and excerpts, write a README.md in Markdown: a '# ' title, one paragraph on what the "
    "project appears to do, then sections on its layout, how to build or run it and how to "
    "test it, saying 'probably' where you infer. Answer with the Markdown document only.";

constexpr const char* kStructureSystem =
    "You review how a software project is laid out. Suggest at most 8 concrete improvements "
    "to its folders and file names (what to move where, what to rename, what is missing such "
    "as tests or a licence). One suggestion per line, each starting with '- '. No other text.";

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// README, readme.md, Readme.rst... at the project root.
bool has_readme(const std::vector<detail::TreeFile>& files) {
  return std::any_of(files.begin(), files.end(), [](const detail::TreeFile& f) {
    return f.rel.find('/') == std::string::npos && lowercase(f.rel).rfind("readme", 0) == 0;
  });
}

// Files whose first lines usually say what a project is.
bool entry_file(const std::string& rel) {
  static const char* const names[] = {
      "main.py",    "app.py",   "__main__.py",    "setup.py", "pyproject.toml", "package.json",
      "main.c",     "main.cpp", "main.go",        "index.js", "app.js",         "main.js",
      "Cargo.toml", "go.mod",   "CMakeLists.txt", "Makefile"};
  std::string name = rel.substr(rel.find_last_of('/') + 1);
  return rel.find('/') == std::string::npos &&
         std::find(std::begin(names), std::end(names), name) != std::end(names);
}

// The opening lines of an entry file as a prompt may show them. Secrets are masked in the
// whole file first: a token cut at the excerpt's end would no longer match its rule and its
// prefix would go out. Then only complete lines are kept, up to the line and byte bounds.
std::string excerpt_of(std::string_view text) {
  std::string masked = detail::mask_secrets(text);
  std::size_t end = 0;
  for (std::size_t line = 0; line < kExcerptLines && end < masked.size(); ++line) {
    std::size_t nl = masked.find('\n', end);
    std::size_t next = nl == std::string::npos ? masked.size() : nl + 1;
    if (next > kMaxExcerptBytes) break;
    end = next;
  }
  return masked.substr(0, end);
}

// What the model sees of the project: bounded; excerpts masked per file, and the whole
// masked again at the end (file names may hold a secret too).
class ProjectSummary {
 public:
  static Result<std::string> build(const std::vector<detail::TreeFile>& files) {
    std::map<std::string, int> languages;
    std::string list;
    std::size_t listed = 0;
    for (const auto& f : files) {
      std::string language = detail::language_of(f.rel);
      if (!language.empty()) ++languages[language];
      if (listed < kMaxListedFiles && list.size() < kMaxListBytes) {
        list += "- " + f.rel + (language.empty() ? "" : " (" + language + ")") + "\n";
        ++listed;
      }
    }
    if (listed < files.size())
      list += "- ... and " + std::to_string(files.size() - listed) + " more\n";
    std::string text = "Languages:";
    for (const auto& [name, count] : languages)
      text += " " + name + " (" + std::to_string(count) + ")";
    text += "\n\nFiles:\n" + list;
    FTI_ASSIGN_OR_RETURN(std::string excerpts, excerpts_of(files));
    return detail::mask_secrets(text + excerpts);
  }

 private:
  static Result<std::string> excerpts_of(const std::vector<detail::TreeFile>& files) {
    std::string out;
    std::size_t shown = 0;
    for (const auto& f : files) {
      if (shown == kMaxExcerptFiles || f.symlink || !entry_file(f.rel)) continue;
      FTI_ASSIGN_OR_RETURN(std::string text, detail::read_file(f.full));
      if (text.find('\0') != std::string::npos) continue;
      std::string excerpt = excerpt_of(text);
      if (excerpt.empty()) continue;  // a first line longer than the bound says little
      std::string fence = detail::fence_for(excerpt);
      out += "\n" + f.rel + " begins:\n" + fence + "\n" + excerpt +
             (excerpt.empty() || excerpt.back() == '\n' ? "" : "\n") + fence + "\n";
      ++shown;
    }
    return out;
  }
};

std::string_view trim(std::string_view s) {
  std::size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// A README answer wrapped as one ```markdown block loses the wrapper; fences inside stay.
std::string unwrap_markdown(std::string_view answer) {
  std::string_view text = trim(answer);
  std::size_t first_nl = text.find('\n');
  if (text.substr(0, 3) != "```" || first_nl == std::string_view::npos) return std::string(text);
  std::string info = lowercase(trim(text.substr(3, first_nl - 3)));
  std::size_t last_nl = text.find_last_of('\n');
  bool wrapped = (info.empty() || info == "markdown" || info == "md") &&
                 trim(text.substr(last_nl + 1)) == "```";
  if (!wrapped || last_nl <= first_nl) return std::string(text);
  return std::string(trim(text.substr(first_nl + 1, last_nl - first_nl - 1)));
}

llm::Verdict check_readme(const llm::Answer& answer) {
  if (answer.finish_reason == "length") return {0, "truncated at max_tokens"};
  std::string text = unwrap_markdown(answer.text);
  if (text.empty()) return {0, "empty answer"};
  if (text.rfind("# ", 0) != 0) return {0, "not a Markdown document with a # heading"};
  if (text.size() < kMinReadmeBytes) return {0, "too short"};
  if (text.size() > kMaxReadmeBytes) return {0, "too long"};
  return {1, ""};
}

std::vector<std::string> suggestions_in(std::string_view answer) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < answer.size() && out.size() < kMaxSuggestions) {
    std::size_t nl = answer.find('\n', start);
    std::size_t end = nl == std::string_view::npos ? answer.size() : nl;
    std::string_view line = trim(answer.substr(start, end - start));
    if (line.size() > 2 && (line.substr(0, 2) == "- " || line.substr(0, 2) == "* ")) {
      std::string_view text = trim(line.substr(2));
      out.emplace_back(text.substr(0, kMaxSuggestionBytes));
    }
    start = end + 1;
  }
  return out;
}

llm::Verdict check_structure(const llm::Answer& answer) {
  if (answer.finish_reason == "length") return {0, "truncated at max_tokens"};
  if (answer.text.find("```") != std::string::npos) return {0, "not a list of suggestions"};
  if (suggestions_in(answer.text).empty()) return {0, "no suggestions in the answer"};
  return {1, ""};
}

class LlmReadmePass final : public Pass {
 public:
  explicit LlmReadmePass(LlmPassOptions options) : options_(std::move(options)) {}
  std::string name() const override { return kPassName; }
  std::string stage() const override { return "llm"; }

  Status run(PassContext& ctx) override {
    FTI_ASSIGN_OR_RETURN(std::vector<detail::TreeFile> files, detail::pass_files(ctx));
    std::error_code ec;  // a folder or a link named README.md counts too: never overwrite
    bool wants_readme =
        !has_readme(files) &&
        !std::filesystem::exists(std::filesystem::symlink_status(ctx.root / "README.md", ec));
    if (!options_.client || !options_.client->enabled()) {
      ctx.report.llm.skip(kLlmOffReason, "");
      return ok_status();
    }
    if (files.empty()) return ok_status();
    // write_readme is off in surge mode: the README a project lacks is noted, not asked for.
    if (wants_readme && !options_.write_readme) ctx.report.llm.skip(kReadmeOffReason, "README.md");
    bool readme = wants_readme && options_.write_readme;
    if (!readme && !options_.suggest_structure) return ok_status();
    FTI_ASSIGN_OR_RETURN(std::string summary, ProjectSummary::build(files));
    // A bigger project needs a more capable model to summarise it.
    double complexity = std::min(0.69, static_cast<double>(files.size()) / 200.0);
    if (readme) FTI_TRY(write_readme(ctx, summary, complexity));
    if (options_.suggest_structure) suggest_structure(ctx, summary, complexity);
    return ok_status();
  }

 private:
  llm::Ask make_ask(std::string task, const char* system, std::string prompt,
                    int max_tokens) const {
    llm::Ask ask;
    ask.task = std::move(task);
    ask.system = system;
    ask.prompt = std::move(prompt);
    ask.max_tokens = max_tokens;
    ask.job_id = options_.job_id;
    return ask;
  }

  llm::EscalationResult ask(PassContext& ctx, llm::Ask ask, double complexity,
                            const std::function<llm::Verdict(const llm::Answer&)>& verify) {
    llm::EscalationResult result = llm::ask_with_escalation(
        *options_.client, std::move(ask), complexity, options_.confidence_threshold, verify);
    detail::record_attempts(ctx.report.llm, result);
    return result;
  }

  Status write_readme(PassContext& ctx, const std::string& summary, double complexity) {
    llm::EscalationResult result =
        ask(ctx,
            make_ask("readme", kReadmeSystem, "Write a README.md for this project.\n\n" + summary,
                     2048),
            complexity, check_readme);
    if (!result.accepted) {
      ctx.report.llm.skip(detail::rejection_reason(result), "README.md");
      return ok_status();
    }
    // The model never saw a secret; a placeholder-looking string is shown as redacted.
    std::string readme = detail::Redaction::scrub(unwrap_markdown(result.accepted->text)) + "\n";
    FTI_TRY(detail::write_file_atomic(ctx.root / "README.md", readme, 0644));
    auto lines = static_cast<std::int64_t>(std::count(readme.begin(), readme.end(), '\n'));
    ctx.report.record_created("README.md", kPassName, lines);
    return ok_status();
  }

  void suggest_structure(PassContext& ctx, const std::string& summary, double complexity) {
    llm::EscalationResult result =
        ask(ctx,
            make_ask("structure", kStructureSystem,
                     "Suggest layout improvements for this project.\n\n" + summary, 1024),
            complexity, check_structure);
    if (!result.accepted) {
      ctx.report.llm.skip("structure suggestions: " + detail::rejection_reason(result), "");
      return;
    }
    for (std::string& text : suggestions_in(result.accepted->text)) {
      ctx.report.findings.push_back(
          Finding{".", 0, "structure", "llm-structure", "info", detail::Redaction::scrub(text)});
    }
  }

  LlmPassOptions options_;
};

}  // namespace

std::unique_ptr<Pass> make_llm_readme_pass(LlmPassOptions options) {
  return std::make_unique<LlmReadmePass>(std::move(options));
}

}  // namespace fti::cleanup
