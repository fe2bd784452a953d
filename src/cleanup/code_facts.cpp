// Facts about source code that the verifier compares between an original file and a model's
// candidate: its language, whether its brackets balance, its top-level names and how complex
// it is. Every scan reads the code with comments and literals blanked out (lexers.hpp), so a
// name in a comment or a string never counts.
#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "code_scan.hpp"
#include "fti/cleanup/verify.hpp"

namespace fti::cleanup {
namespace {

using detail::Token;

// --- JavaScript / TypeScript --------------------------------------------------------------------

// The text of the string literal starting at text[pos] (after blanks); empty when none.
std::string_view quoted_at(std::string_view text, std::size_t pos) {
  pos = text.find_first_not_of(" \t", pos);
  if (pos == std::string_view::npos) return {};
  char q = text[pos];
  if (q != '\'' && q != '"' && q != '`') return {};
  std::size_t close = text.find(q, pos + 1);
  if (close == std::string_view::npos) return {};
  return text.substr(pos + 1, close - pos - 1);
}

// Top-level declarations are plain names ("f"); what the module exports is a fact of its own
// ("export:f", "export:default", "export:* from ./util"), so an answer that keeps `function f`
// but drops its `export` is caught.
class JsDefinitions {
 public:
  JsDefinitions(std::string_view text, std::string_view code, const std::vector<Token>& tokens,
                std::set<std::string>& names)
      : text_(text), code_(code), t_(tokens), names_(names) {}

  void run() {
    for (i_ = 0; i_ < t_.size(); ++i_) {
      std::string_view tok = t_[i_].text;
      if (tok == "(" || tok == "[" || tok == "{") {
        ++depth_;
      } else if (tok == ")" || tok == "]" || tok == "}") {
        depth_ = std::max(0, depth_ - 1);
      } else if (depth_ == 0) {
        top_level_token();
      }
      prev_ = tok;
    }
  }

 private:
  std::string_view at(std::size_t k) const { return k < t_.size() ? t_[k].text : ""; }
  bool ident_at(std::size_t k) const { return k < t_.size() && t_[k].ident; }
  void export_name(std::string_view name) { names_.emplace("export:" + std::string(name)); }

  // A keyword only declares at the start of a statement (`x.class` or `a = function` do not).
  bool statement_start() const {
    static const std::set<std::string_view> openers = {"",        ";",     "}",       "export",
                                                       "default", "async", "declare", "abstract"};
    return t_[i_].line_start || openers.count(prev_) > 0;
  }

  void top_level_token() {
    std::string_view tok = t_[i_].text;
    if (tok == "export") return exported();
    if (!statement_start()) return;
    if (tok == "function") {
      std::size_t k = at(i_ + 1) == "*" ? i_ + 2 : i_ + 1;
      if (ident_at(k)) names_.emplace(at(k));
    } else if (tok == "class" || tok == "interface" || tok == "enum") {
      if (ident_at(i_ + 1) && at(i_ + 1) != "extends") names_.emplace(at(i_ + 1));
    } else if (tok == "const" || tok == "let" || tok == "var") {
      std::size_t k = at(i_ + 1) == "enum" ? i_ + 2 : i_ + 1;  // TypeScript's const enum E
      if (ident_at(k)) names_.emplace(at(k));
    } else if (tok == "type") {
      if (ident_at(i_ + 1) && (at(i_ + 2) == "=" || at(i_ + 2) == "<")) names_.emplace(at(i_ + 1));
    } else if (tok == "exports" && at(i_ + 1) == "." && ident_at(i_ + 2)) {
      export_name(at(i_ + 2));
    } else if (tok == "module" && at(i_ + 1) == "." && at(i_ + 2) == "exports") {
      common_js_exports();
    }
  }

  // module.exports = X, module.exports = { a, b: c }, module.exports.x = ...
  void common_js_exports() {
    if (at(i_ + 3) == "." && ident_at(i_ + 4)) return export_name(at(i_ + 4));
    if (at(i_ + 3) != "=") return;
    names_.emplace("module.exports");
    if (at(i_ + 4) == "{") object_keys(i_ + 4);
  }

  void exported() {
    std::string_view next = at(i_ + 1);
    if (next == "default" || next == "=") {  // export default ...; TypeScript's export = x
      export_name(next == "=" ? "=" : "default");
    } else if (next == "*") {
      export_star();
    } else if (next == "{" || (next == "type" && at(i_ + 2) == "{")) {
      export_list(next == "{" ? i_ + 2 : i_ + 3);
    } else {
      std::string_view name = declared_name(i_ + 1);
      if (!name.empty()) export_name(name);
    }
  }

  // export * as ns from '...' exports ns; export * from '...' everything the source does.
  void export_star() {
    if (at(i_ + 2) == "as" && ident_at(i_ + 3)) return export_name(at(i_ + 3));
    if (at(i_ + 2) != "from") return;
    auto after_from = static_cast<std::size_t>(t_[i_ + 2].text.data() - code_.data()) + 4;
    names_.emplace("export:* from " + std::string(quoted_at(text_, after_from)));
  }

  // The name after `export`: function f, async function* g, abstract class C, const enum E,
  // declare const x, interface I, type T, namespace N.
  std::string_view declared_name(std::size_t k) const {
    while (at(k) == "async" || at(k) == "declare" || at(k) == "abstract") ++k;
    if (at(k) == "const" && at(k + 1) == "enum") ++k;
    std::string_view keyword = at(k);
    if (keyword == "function") k = at(k + 1) == "*" ? k + 1 : k;
    static const std::set<std::string_view> declares = {"function", "class", "interface",
                                                        "enum",     "const", "let",
                                                        "var",      "type",  "namespace",
                                                        "module"};
    if (!declares.count(keyword) || !ident_at(k + 1)) return {};
    return at(k + 1);
  }

  // export { a, b as c } exports a and c; the tokens are read here, the braces by run().
  void export_list(std::size_t k) {
    std::string_view name;
    for (; k < t_.size() && at(k) != "}"; ++k) {
      if (at(k) == ",") {
        if (!name.empty()) export_name(name);
        name = {};
      } else if (t_[k].ident && at(k) != "as" && at(k) != "type") {
        name = at(k);
      }
    }
    if (!name.empty()) export_name(name);
  }

  // The keys of `{ a, b: c, async d() {}, ...rest }` at `{`: an entry's last name before its
  // value (':'), parameters ('(') or end; spreads and [computed] keys name nothing.
  void object_keys(std::size_t k) {
    int depth = 0;
    std::string_view key;
    bool past_key = false;
    for (++k; k < t_.size(); ++k) {
      std::string_view w = at(k);
      if (depth == 0 && (w == "," || w == "}")) {
        if (!key.empty()) export_name(key);
        if (w == "}") return;
        key = {};
        past_key = false;
        continue;
      }
      if (depth == 0 && (w == ":" || w == "(" || w == "." || w == "[" || w == "=")) past_key = true;
      if (depth == 0 && !past_key && t_[k].ident) key = w;
      if (w == "(" || w == "[" || w == "{") ++depth;
      if ((w == ")" || w == "]" || w == "}") && depth > 0) --depth;
    }
  }

  std::string_view text_;
  std::string_view code_;
  const std::vector<Token>& t_;
  std::set<std::string>& names_;
  std::size_t i_ = 0;
  int depth_ = 0;
  std::string_view prev_;
};

}  // namespace

CodeLanguage code_language_of(std::string_view path) {
  std::string ext = detail::lower_extension(path);
  if (ext == "py" || ext == "pyw") return CodeLanguage::python;
  if (ext == "c" || ext == "h") return CodeLanguage::c;
  for (std::string_view e : {"cc", "cpp", "cxx", "c++", "hh", "hpp", "hxx", "h++", "ipp", "inl"}) {
    if (ext == e) return CodeLanguage::cpp;
  }
  for (std::string_view e : {"js", "mjs", "cjs", "jsx"}) {
    if (ext == e) return CodeLanguage::javascript;
  }
  for (std::string_view e : {"ts", "tsx", "mts", "cts"}) {
    if (ext == e) return CodeLanguage::typescript;
  }
  return CodeLanguage::other;
}

std::string_view code_language_name(CodeLanguage language) {
  switch (language) {
    case CodeLanguage::python: return "Python";
    case CodeLanguage::c: return "C";
    case CodeLanguage::cpp: return "C++";
    case CodeLanguage::javascript: return "JavaScript";
    case CodeLanguage::typescript: return "TypeScript";
    case CodeLanguage::other: break;
  }
  return "other";
}

std::optional<std::string> unbalanced_brackets(CodeLanguage language, std::string_view text) {
  std::string code = detail::blanked_code(language, text, nullptr);
  struct Open {
    char bracket;
    std::size_t line;
  };
  std::vector<Open> open;
  std::size_t line = 1;
  for (char c : code) {
    if (c == '\n') ++line;
    if (c == '(' || c == '[' || c == '{') open.push_back({c, line});
    if (c != ')' && c != ']' && c != '}') continue;
    char wanted = c == ')' ? '(' : c == ']' ? '[' : '{';
    if (open.empty()) return fmt::format("'{}' on line {} closes nothing", c, line);
    if (open.back().bracket != wanted) {
      return fmt::format("'{}' on line {} does not match '{}' from line {}", c, line,
                         open.back().bracket, open.back().line);
    }
    open.pop_back();
  }
  if (!open.empty()) {
    return fmt::format("'{}' from line {} is never closed", open.back().bracket, open.back().line);
  }
  return std::nullopt;
}

std::vector<std::string> top_level_definitions(CodeLanguage language, std::string_view text) {
  if (language == CodeLanguage::python) {
    std::set<std::string> names = detail::python_facts(text).names;
    return {names.begin(), names.end()};
  }
  std::set<std::string> names;
  std::vector<std::string> defines;
  std::string code = detail::blanked_code(language, text, &defines);
  switch (language) {
    case CodeLanguage::c:
    case CodeLanguage::cpp: detail::c_definitions(detail::tokenize(code), names); break;
    case CodeLanguage::javascript:
    case CodeLanguage::typescript: {
      std::vector<Token> tokens = detail::tokenize(code);
      JsDefinitions(text, code, tokens, names).run();
      break;
    }
    case CodeLanguage::python:
    case CodeLanguage::other: break;
  }
  names.insert(defines.begin(), defines.end());
  return {names.begin(), names.end()};
}

// "Tidy the imports" may remove a Python import nothing uses. Not in a package's __init__.py
// or a module with __all__: there imports are what the package exports, used or not.
std::vector<std::string> names_to_keep(std::string_view path, CodeLanguage language,
                                       std::string_view text) {
  if (language != CodeLanguage::python) return top_level_definitions(language, text);
  detail::PythonFacts facts = detail::python_facts(text);
  std::size_t slash = path.find_last_of('/');
  bool init = path.substr(slash == std::string_view::npos ? 0 : slash + 1) == "__init__.py";
  if (!init && !facts.has_all) {
    std::set<std::string> kept;
    for (const detail::PythonImport& import : facts.imports) {
      if (import.keep) kept.insert(import.fact);
    }
    for (const detail::PythonImport& import : facts.imports) {
      if (!kept.count(import.fact)) facts.names.erase(import.fact);
    }
  }
  return {facts.names.begin(), facts.names.end()};
}

namespace {

// Brace depth for C-like code; indentation levels (in units of the smallest indent) for Python.
int max_nesting(CodeLanguage language, std::string_view code) {
  int best = 0;
  if (language != CodeLanguage::python) {
    int depth = 0;
    for (char c : code) {
      if (c == '{') best = std::max(best, ++depth);
      if (c == '}' && depth > 0) --depth;
    }
    return best;
  }
  std::vector<std::size_t> indents;
  for (std::string_view line : detail::split_lines(code)) {
    std::size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos) continue;
    std::size_t width = 0;
    for (std::size_t k = 0; k < first; ++k) width += line[k] == '\t' ? 8 : 1;
    indents.push_back(width);
  }
  std::size_t unit = 0;
  for (std::size_t w : indents) {
    if (w > 0 && (unit == 0 || w < unit)) unit = w;
  }
  if (unit == 0) return 0;
  for (std::size_t w : indents) best = std::max(best, static_cast<int>(w / unit));
  return best;
}

std::size_t branch_points(const std::vector<Token>& tokens) {
  static const std::set<std::string_view> keywords = {"if",   "for",    "while", "case", "catch",
                                                      "elif", "except", "and",   "or"};
  std::size_t n = 0;
  for (std::size_t k = 0; k < tokens.size(); ++k) {
    std::string_view t = tokens[k].text;
    std::string_view next = k + 1 < tokens.size() ? tokens[k + 1].text : "";
    if (tokens[k].ident && keywords.count(t)) ++n;
    if ((t == "&" && next == "&") || (t == "|" && next == "|")) ++n;
    if (t == "?" && next != "." && next != "?" && (k == 0 || tokens[k - 1].text != "?")) ++n;
  }
  return n;
}

}  // namespace

double estimate_complexity(CodeLanguage language, std::string_view text) {
  std::string code = detail::blanked_code(language, text, nullptr);
  std::size_t code_lines = 0;
  for (std::string_view line : detail::split_lines(code)) {
    if (line.find_first_not_of(" \t\r") != std::string_view::npos) ++code_lines;
  }
  if (code_lines == 0) return 0;
  double lines_score = std::min(1.0, static_cast<double>(code_lines) / 400.0);
  double nesting_score = std::min(1.0, max_nesting(language, code) / 6.0);
  double density =
      static_cast<double>(branch_points(detail::tokenize(code))) / static_cast<double>(code_lines);
  double branch_score = std::min(1.0, density / 0.4);
  return 0.45 * lines_score + 0.35 * nesting_score + 0.2 * branch_score;
}

}  // namespace fti::cleanup
