// The Python top-level scanner behind the verifier: what a module defines and binds at its
// top level (def, class, assignments, imports, __all__, the __main__ guard), read from
// statements at column 0 with comments and strings blanked. Like the C scanner it finds
// names, not meaning: a construct it misreads is misread in the original and the candidate
// alike.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "code_scan.hpp"

namespace fti::cleanup::detail {
namespace {

struct Range {
  std::size_t begin = 0;  // offsets into the text (the blanked code has the same offsets)
  std::size_t end = 0;
};

bool is_keyword(std::string_view w) {
  static const std::set<std::string_view> keywords = {
      "False", "None",     "True",  "and",    "as",   "assert", "async",  "await",    "break",
      "class", "continue", "def",   "del",    "elif", "else",   "except", "finally",  "for",
      "from",  "global",   "if",    "import", "in",   "is",     "lambda", "nonlocal", "not",
      "or",    "pass",     "raise", "return", "try",  "while",  "with",   "yield"};
  return keywords.count(w) > 0;
}

// Statements that start at column 0, each with the lines that continue it (inside an open
// bracket, after a trailing backslash). Indented statements are not top level.
std::vector<Range> top_level_statements(std::string_view code) {
  std::vector<Range> out;
  int depth = 0;
  bool continued = false;
  bool in_top = false;  // the statement being continued started at column 0
  for (std::string_view line : split_lines(code)) {
    auto begin = static_cast<std::size_t>(line.data() - code.data());
    if (depth > 0 || continued) {
      if (in_top) out.back().end = begin + line.size();
    } else {
      in_top = !line.empty() && line[0] != ' ' && line[0] != '\t' && line[0] != '\r';
      if (in_top) out.push_back({begin, begin + line.size()});
    }
    for (char c : line) {
      if (c == '(' || c == '[' || c == '{') ++depth;
      if ((c == ')' || c == ']' || c == '}') && depth > 0) --depth;
    }
    std::size_t last = line.find_last_not_of(" \t\r");
    continued = last != std::string_view::npos && line[last] == '\\';
  }
  return out;
}

// The statement's tokens split at ';', line-continuation backslashes dropped.
std::vector<std::vector<Token>> simple_statements(const std::vector<Token>& tokens) {
  std::vector<std::vector<Token>> out(1);
  for (const Token& t : tokens) {
    if (t.text == ";") {
      out.emplace_back();
    } else if (t.text != "\\") {
      out.back().push_back(t);
    }
  }
  return out;
}

// The contents of the string literals in text[r): where the blanked code has a space and the
// text a quote. Escapes are not decoded: names in __all__ have none.
std::vector<std::string_view> literals_in(std::string_view text, std::string_view code, Range r) {
  std::vector<std::string_view> out;
  for (std::size_t k = r.begin; k < r.end; ++k) {
    char c = text[k];
    if (code[k] != ' ' || (c != '\'' && c != '"' && c != '#')) continue;
    if (c == '#') {  // a comment: its quotes are not literals
      k = std::min(r.end, text.find('\n', k));
      continue;
    }
    std::size_t q = text.substr(k, 3) == std::string(3, c) ? 3 : 1;
    std::size_t close = text.find(text.substr(k, q), k + q);
    if (close == std::string_view::npos || close >= r.end) break;
    out.push_back(text.substr(k + q, close - k - q));
    k = close + q - 1;
  }
  return out;
}

// Parts of t[from, to) between commas, parentheses dropped: the names of an import.
std::vector<std::vector<Token>> comma_parts(const std::vector<Token>& t, std::size_t from) {
  std::vector<std::vector<Token>> parts(1);
  for (std::size_t k = from; k < t.size(); ++k) {
    if (t[k].text == ",") {
      parts.emplace_back();
    } else if (t[k].text != "(" && t[k].text != ")") {
      parts.back().push_back(t[k]);
    }
  }
  return parts;
}

class PythonScan {
 public:
  PythonScan(std::string_view text, std::string_view code, PythonFacts& out)
      : text_(text), code_(code), out_(out) {}

  void run() {
    for (Range statement : top_level_statements(code_)) {
      std::vector<Token> tokens =
          tokenize(code_.substr(statement.begin, statement.end - statement.begin));
      for (const std::vector<Token>& t : simple_statements(tokens)) {
        if (!t.empty()) simple_statement(t, statement);
      }
    }
    mark_used_imports();
  }

 private:
  std::size_t offset(const Token& t) const {
    return static_cast<std::size_t>(t.text.data() - code_.data());
  }

  void simple_statement(const std::vector<Token>& t, Range statement) {
    std::size_t i = t[0].text == "async" ? 1 : 0;
    if (i + 1 < t.size() && (t[i].text == "def" || t[i].text == "class") && t[i + 1].ident) {
      out_.names.emplace(t[i + 1].text);
    } else if (t[0].text == "import" || t[0].text == "from") {
      import_statement(t, statement);
    } else if (t[0].text == "if") {
      main_guard(t, statement);
    } else {
      if (t[0].text == "__all__") all_entries(statement);
      assignment(t);
    }
  }

  // NAME = ..., a, b = ..., NAME: type [= ...]; not a == b, a += 1, a.b = 1 or a call.
  void assignment(const std::vector<Token>& t) {
    if (t.size() < 2 || !t[0].ident || is_keyword(t[0].text)) return;
    if (t[1].text == ":") {
      out_.names.emplace(t[0].text);
      return;
    }
    for (std::size_t k = 0; k + 1 < t.size(); k += 2) {
      if (!t[k].ident || is_keyword(t[k].text)) return;
      if (t[k + 1].text == ",") continue;
      if (t[k + 1].text != "=" || (k + 2 < t.size() && t[k + 2].text == "=")) return;
      for (std::size_t j = 0; j <= k; j += 2) out_.names.emplace(t[j].text);
      return;
    }
  }

  // if __name__ == "__main__": the script's entry point; a rewrite must not make it run on
  // import.
  void main_guard(const std::vector<Token>& t, Range statement) {
    bool name =
        std::any_of(t.begin(), t.end(), [](const Token& k) { return k.text == "__name__"; });
    if (!name) return;
    for (std::string_view literal : literals_in(text_, code_, statement)) {
      if (literal == "__main__") out_.names.emplace("guard:__main__");
    }
  }

  // __all__ = [...], __all__ += [...], __all__.extend([...]): every listed name.
  void all_entries(Range statement) {
    out_.has_all = true;
    for (std::string_view literal : literals_in(text_, code_, statement)) {
      out_.names.emplace("__all__:" + std::string(literal));
    }
  }

  void import_statement(const std::vector<Token>& t, Range statement) {
    Range range{offset(t.front()), offset(t.back()) + t.back().text.size()};
    // An import marked noqa (flake8's "unused on purpose") is kept whatever uses it.
    bool noqa = text_.substr(statement.begin, statement.end - statement.begin).find("noqa") !=
                std::string_view::npos;
    import_ranges_.push_back(range);
    if (t[0].text == "import") return plain_import(t, noqa);
    auto import_at =
        std::find_if(t.begin(), t.end(), [](const Token& k) { return k.text == "import"; });
    if (import_at == t.end()) return;
    std::string module;
    for (auto it = t.begin() + 1; it != import_at; ++it) module += it->text;
    auto from = static_cast<std::size_t>(import_at - t.begin()) + 1;
    if (from < t.size() && t[from].text == "*") {
      return add_import("from " + module + " import *", "", true);
    }
    for (const std::vector<Token>& part : comma_parts(t, from)) {
      std::string_view bound = bound_name(part);
      if (!bound.empty()) add_import(std::string(bound), bound, noqa || module == "__future__");
    }
  }

  // import a.b.c binds a (the fact names the whole module); import a.b as c binds c.
  void plain_import(const std::vector<Token>& t, bool noqa) {
    for (const std::vector<Token>& part : comma_parts(t, 1)) {
      if (part.empty() || !part[0].ident) continue;
      auto as =
          std::find_if(part.begin(), part.end(), [](const Token& k) { return k.text == "as"; });
      if (as != part.end()) {
        std::string_view alias = bound_name(part);
        if (!alias.empty()) add_import(std::string(alias), alias, noqa);
        continue;
      }
      std::string dotted;
      for (const Token& k : part) dotted += k.text;
      add_import(dotted, part[0].text, noqa);
    }
  }

  // `name` or `name as alias`: the name the statement binds.
  static std::string_view bound_name(const std::vector<Token>& part) {
    if (part.size() >= 3 && part[part.size() - 2].text == "as" && part.back().ident) {
      return part.back().text;
    }
    return !part.empty() && part[0].ident ? part[0].text : std::string_view();
  }

  void add_import(const std::string& fact, std::string_view bound, bool keep) {
    out_.names.insert("import:" + fact);
    out_.imports.push_back({"import:" + fact, std::string(bound), keep});
  }

  // An import whose bound name appears anywhere outside the top-level imports is used.
  void mark_used_imports() {
    std::set<std::string_view> used;
    for (const Token& t : tokenize(code_)) {
      std::size_t at = offset(t);
      bool in_import = std::any_of(import_ranges_.begin(), import_ranges_.end(),
                                   [&](Range r) { return at >= r.begin && at < r.end; });
      if (t.ident && !in_import) used.insert(t.text);
    }
    for (PythonImport& import : out_.imports) {
      import.keep = import.keep || import.bound.empty() || used.count(import.bound) > 0;
    }
  }

  std::string_view text_;
  std::string_view code_;
  PythonFacts& out_;
  std::vector<Range> import_ranges_;
};

}  // namespace

PythonFacts python_facts(std::string_view text) {
  PythonFacts facts;
  std::string code = blanked_code(CodeLanguage::python, text, nullptr);
  PythonScan(text, code, facts).run();
  return facts;
}

}  // namespace fti::cleanup::detail
