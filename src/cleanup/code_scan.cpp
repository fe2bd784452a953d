// The tokenizer and the C/C++ top-level scanner behind the verifier. They read code whose
// comments and literals are blanked, and only need to find names, not to parse: when they
// misread an odd construct they misread the original and the candidate the same way.
#include "code_scan.hpp"

#include <algorithm>

#include "lexers.hpp"

namespace fti::cleanup::detail {
namespace {

bool ident_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '$' || static_cast<unsigned char>(c) >= 0x80;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

Lexer lexer_for(CodeLanguage language) {
  switch (language) {
    case CodeLanguage::python: return Lexer::python;
    case CodeLanguage::c:
    case CodeLanguage::cpp: return Lexer::c_like;
    case CodeLanguage::javascript:
    case CodeLanguage::typescript: return Lexer::javascript;
    case CodeLanguage::other: break;
  }
  return Lexer::none;
}

// Blanks preprocessor lines (and their backslash continuations), noting #define names.
void blank_directives(std::string& code, std::vector<std::string>* defines) {
  bool continued = false;
  std::size_t start = 0;
  while (start < code.size()) {
    std::size_t end = code.find('\n', start);
    if (end == std::string::npos) end = code.size();
    std::string_view line(code.data() + start, end - start);
    std::size_t first = line.find_first_not_of(" \t");
    bool directive = continued || (first != std::string_view::npos && line[first] == '#');
    if (directive) {
      if (!continued && defines) {
        std::vector<Token> t = tokenize(line.substr(first + 1));
        if (t.size() >= 2 && t[0].text == "define" && t[1].ident) defines->emplace_back(t[1].text);
      }
      std::size_t last = line.find_last_not_of(" \t\r");
      continued = last != std::string_view::npos && line[last] == '\\';
      std::fill(code.begin() + static_cast<std::ptrdiff_t>(start),
                code.begin() + static_cast<std::ptrdiff_t>(end), ' ');
    }
    start = end + 1;
  }
}

bool one_of(std::string_view s, std::initializer_list<std::string_view> set) {
  return std::find(set.begin(), set.end(), s) != set.end();
}

bool is_type_keyword(std::string_view s) { return one_of(s, {"struct", "class", "union", "enum"}); }

// Words that are never a declared name: calls to them at file scope are not functions.
bool is_control_word(std::string_view s) {
  return one_of(s, {"if", "while", "for", "switch", "return", "sizeof", "decltype", "static_assert",
                    "_Static_assert", "alignof", "typeof", "__typeof__", "noexcept", "throw",
                    "defined", "asm", "__asm__"});
}

// A declaration with what carries no name removed: template<...> heads, attributes and
// storage words.
struct Head {
  std::vector<Token> t;
  bool is_typedef = false;
  bool is_extern = false;
  bool is_static = false;  // internal linkage for a function or variable
};

// Index just past the group opened at `k` (`open` ... `close`, nested).
std::size_t skip_group(const std::vector<Token>& t, std::size_t k, std::string_view open,
                       std::string_view close) {
  int depth = 0;
  for (; k < t.size(); ++k) {
    if (t[k].text == open) ++depth;
    if (t[k].text == close && --depth == 0) return k + 1;
  }
  return t.size();
}

Head strip_head(const std::vector<Token>& s) {
  Head h;
  for (std::size_t k = 0; k < s.size();) {
    std::string_view w = s[k].text;
    std::string_view next = k + 1 < s.size() ? s[k + 1].text : "";
    if (w == "template" && next == "<") {
      k = skip_group(s, k + 1, "<", ">");
    } else if (w == "[" && next == "[") {
      k = skip_group(s, k, "[", "]");
    } else if (one_of(w, {"__attribute__", "__declspec", "alignas"}) && next == "(") {
      k = skip_group(s, k + 1, "(", ")");
    } else if (one_of(w, {"static", "inline", "extern", "constexpr", "consteval", "constinit",
                          "virtual", "explicit", "friend", "thread_local", "register", "typedef",
                          "export", "__inline", "__forceinline", "_Noreturn", "__extension__"})) {
      h.is_typedef = h.is_typedef || w == "typedef";
      h.is_extern = h.is_extern || w == "extern";
      h.is_static = h.is_static || w == "static";
      ++k;
    } else {
      h.t.push_back(s[k++]);
    }
  }
  return h;
}

// `a::b::~c` ending at index k.
std::string qualified_name(const std::vector<Token>& t, std::size_t k) {
  std::string name(t[k].text);
  std::size_t j = k;
  if (j >= 1 && t[j - 1].text == "~") {
    name = "~" + name;
    --j;
  }
  while (j >= 2 && t[j - 1].text == "::" && t[j - 2].ident) {
    name = std::string(t[j - 2].text) + "::" + name;
    j -= 2;
  }
  return name;
}

// Index of the first top-level '=' (not inside (), [], <>), or t.size().
std::size_t initializer_start(const std::vector<Token>& t) {
  int depth = 0;
  for (std::size_t k = 0; k < t.size(); ++k) {
    std::string_view w = t[k].text;
    if (w == "(" || w == "[" || w == "<") ++depth;
    if ((w == ")" || w == "]" || w == ">") && depth > 0) --depth;
    if (w == "=" && depth == 0) return k;
  }
  return t.size();
}

std::string operator_name(const std::vector<Token>& t, std::size_t k, std::size_t end) {
  std::string sym;
  std::size_t j = k + 1;
  if (j + 1 < end && t[j].text == "(" && t[j + 1].text == ")") {
    sym = "()";
  } else {
    for (; j < end && t[j].text != "("; ++j) sym += t[j].text;
  }
  std::string name = "operator" + sym;
  return k >= 2 && t[k - 1].text == "::" ? qualified_name(t, k - 2) + "::" + name : name;
}

// The function a declaration declares or defines: the name before its first top-level '('.
// Empty when it is not a function (a variable, a call to a control word).
std::string function_name(const std::vector<Token>& t) {
  std::size_t end = initializer_start(t);
  int angle = 0;
  for (std::size_t k = 0; k < end; ++k) {
    std::string_view w = t[k].text;
    if (w == "operator") return operator_name(t, k, end);
    if (w == "<") ++angle;
    if (w == ">" && angle > 0) --angle;
    if (w != "(" || angle > 0) continue;
    // (*name)(...) declares a pointer to a function called name.
    if (k + 3 < t.size() && one_of(t[k + 1].text, {"*", "&", "^"}) && t[k + 2].ident &&
        t[k + 3].text == ")") {
      return std::string(t[k + 2].text);
    }
    if (k == 0 || !t[k - 1].ident || is_control_word(t[k - 1].text)) return {};
    return qualified_name(t, k - 1);
  }
  return {};
}

// The declarators of `int a, *b[4], c = 1`: the last identifier of each comma part before
// its initializer, outside brackets.
std::vector<std::string> variable_names(const std::vector<Token>& t) {
  std::vector<std::string> names;
  int depth = 0;
  bool in_initializer = false;
  std::string last;
  auto flush = [&] {
    if (!last.empty()) names.push_back(last);
    last.clear();
    in_initializer = false;
  };
  for (std::size_t k = 0; k < t.size(); ++k) {
    std::string_view w = t[k].text;
    if (w == "(" || w == "[" || w == "<" || w == "{") ++depth;
    if ((w == ")" || w == "]" || w == ">" || w == "}") && depth > 0) --depth;
    if (depth > 0) continue;
    if (w == ",") {
      flush();
    } else if (w == "=") {
      in_initializer = true;
    } else if (!in_initializer && t[k].ident && !is_type_keyword(w)) {
      last = qualified_name(t, k);
    }
  }
  flush();
  return names;
}

// typedef int (*handler)(int); typedef unsigned long size; typedef int row[4];
std::string typedef_name(const std::vector<Token>& t) {
  for (std::size_t k = 0; k + 2 < t.size(); ++k) {
    if (t[k].text == "(" && one_of(t[k + 1].text, {"*", "^", "&"}) && t[k + 2].ident) {
      return std::string(t[k + 2].text);
    }
  }
  std::vector<std::string> names = variable_names(t);
  return names.empty() ? std::string() : names.back();
}

// Where the name starts after struct, class, union, enum, enum class.
std::size_t type_name_start(const std::vector<Token>& t) {
  return t[0].text == "enum" && t.size() > 1 && one_of(t[1].text, {"class", "struct"}) ? 2 : 1;
}

// The type a body defines: struct S, class FTI_EXPORT Widget final : Base, enum class Color
// : int, struct hash<T> (the last name before the base list or template arguments).
std::string defined_type_name(const std::vector<Token>& t) {
  std::string name;
  for (std::size_t k = type_name_start(t); k < t.size(); ++k) {
    std::string_view w = t[k].text;
    if (one_of(w, {":", "<", "final", "("}) || !(t[k].ident || w == "::")) break;
    if (t[k].ident) name = qualified_name(t, k);
  }
  return name;
}

// Index just past the elaborated type in `struct a::S *make(void);`.
std::size_t after_elaborated_type(const std::vector<Token>& t) {
  std::size_t k = type_name_start(t);
  if (k < t.size() && t[k].ident) ++k;
  while (k + 1 < t.size() && t[k].text == "::" && t[k + 1].ident) k += 2;
  return k;
}

// Names are qualified by the namespaces around them (app::Box) and a namespace is a name
// itself, so moving a declaration into or out of one is a change. Internal linkage is part
// of the name ("static:helper"): a function that becomes static, or moves into an
// anonymous namespace, can no longer be called from other files.
class CDefinitions {
 public:
  CDefinitions(const std::vector<Token>& tokens, std::set<std::string>& names)
      : tokens_(tokens), names_(names) {}

  void run() {
    for (const Token& tok : tokens_) step(tok);
  }

 private:
  enum class Body { expression, type, other };

  void step(const Token& tok) {
    std::string_view s = tok.text;
    if (inner_ > 0) {  // inside a body or a braced initializer: only its end matters here
      if (s == "{") ++inner_;
      if (s == "}" && --inner_ == 0) body_closed();
      return;
    }
    if (s == "{") return open_brace();
    if (s == "}") {
      if (!scopes_.empty()) scopes_.pop_back();
      return reset();
    }
    if (s == ";" && parens_ == 0) {
      declaration();
      return reset();
    }
    if (s == "(" || s == "[") ++parens_;
    if ((s == ")" || s == "]") && parens_ > 0) --parens_;
    if (s == "=" && parens_ == 0) assigned_ = true;
    stmt_.push_back(tok);
  }

  void reset() {
    stmt_.clear();
    parens_ = 0;
    assigned_ = false;
    type_tail_ = false;
  }

  // A namespace scope, or extern "C" (which adds nothing to names).
  struct Scope {
    std::string prefix;     // "a::b::"
    bool internal = false;  // inside an anonymous namespace
  };

  void add(const std::string& name, bool is_static = false) {
    if (name.empty()) return;
    bool internal = is_static || (!scopes_.empty() && scopes_.back().internal);
    names_.insert((internal ? "static:" : "") + prefix() + name);
  }

  std::string prefix() const { return scopes_.empty() ? std::string() : scopes_.back().prefix; }

  // After `namespace a::b {`, `namespace {` or `extern "C" {`.
  void enter_scope(const Head& head) {
    Scope scope{prefix(), !scopes_.empty() && scopes_.back().internal};
    std::string name;
    for (std::size_t k = 1; k < head.t.size(); ++k) name += head.t[k].text;
    if (!head.t.empty() && name.empty()) scope.internal = true;
    if (!name.empty()) {
      add(name);
      scope.prefix += name + "::";
    }
    scopes_.push_back(std::move(scope));
  }

  void open_brace() {
    inner_ = 1;
    if (parens_ > 0 || assigned_ || stmt_.empty() || type_tail_) {
      body_ = Body::expression;  // an initializer or a lambda: the statement goes on
      return;
    }
    Head head = strip_head(stmt_);
    // namespace x { and extern "C" { hold file-scope declarations.
    if ((head.t.empty() && head.is_extern) || (!head.t.empty() && head.t[0].text == "namespace")) {
      inner_ = 0;
      enter_scope(head);
      return reset();
    }
    body_ = Body::other;
    if (head.t.empty()) return;
    if (is_type_keyword(head.t[0].text)) {
      std::size_t after = after_elaborated_type(head.t);
      // struct S {, struct S : Base {, struct hash<T> { define S; struct S *make() { does not.
      if (after >= head.t.size() || one_of(head.t[after].text, {":", "final", "<"})) {
        add(defined_type_name(head.t));
        body_ = Body::type;
        tail_static_ = head.is_static;  // static struct {...} s; makes s internal
        return;
      }
      head.t.erase(head.t.begin(), head.t.begin() + static_cast<std::ptrdiff_t>(after));
    }
    std::string function = function_name(head.t);
    if (!function.empty()) return add(function, head.is_static);
    for (const std::string& v : variable_names(head.t)) add(v, head.is_static);  // int x{5};
  }

  void body_closed() {
    if (body_ == Body::expression) return;  // `int a[] = {1, 2};` goes on to its ';'
    reset();
    // struct S {...} s; and typedef struct {...} name; declare more names before the ';'.
    type_tail_ = body_ == Body::type;
  }

  void declaration() {
    if (type_tail_) {
      for (const std::string& v : variable_names(stmt_)) add(v, tail_static_);
      return;
    }
    Head head = strip_head(stmt_);
    std::vector<Token>& t = head.t;
    if (t.empty() || t[0].text == "namespace") return;
    if (t[0].text == "using") {
      if (t.size() >= 3 && t[1].ident && t[1].text != "namespace" && t[2].text == "=")
        add(std::string(t[1].text));
      return;
    }
    if (is_type_keyword(t[0].text)) {
      std::size_t after = after_elaborated_type(t);
      if (after >= t.size()) return;  // struct S; only announces the type
      if (!head.is_typedef) t.erase(t.begin(), t.begin() + static_cast<std::ptrdiff_t>(after));
    }
    if (head.is_typedef) return add(typedef_name(t));
    std::string function = function_name(t);
    if (!function.empty()) return add(function, head.is_static);
    for (const std::string& v : variable_names(t)) add(v, head.is_static);
  }

  const std::vector<Token>& tokens_;
  std::set<std::string>& names_;
  std::vector<Token> stmt_;  // the declaration being read, at file or namespace scope
  int parens_ = 0;           // open ( and [ in stmt_
  bool assigned_ = false;    // stmt_ has a top-level '=': a '{' starts an initializer
  bool type_tail_ = false;   // reading the declarators after a struct body
  bool tail_static_ = false;  // and that struct's declaration was static
  int inner_ = 0;            // brace depth inside a body being skipped
  Body body_ = Body::other;
  std::vector<Scope> scopes_;  // open namespace and extern "C" blocks
};

}  // namespace

std::vector<Token> tokenize(std::string_view code) {
  std::vector<Token> tokens;
  bool line_start = true;
  std::size_t i = 0;
  while (i < code.size()) {
    char c = code[i];
    if (c == '\n') {
      line_start = true;
      ++i;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
      ++i;
      continue;
    }
    std::size_t begin = i;
    if (ident_char(c)) {
      while (i < code.size() && ident_char(code[i])) ++i;
    } else if (c == ':' && i + 1 < code.size() && code[i + 1] == ':') {
      i += 2;
    } else {
      ++i;
    }
    tokens.push_back(
        Token{code.substr(begin, i - begin), ident_char(c) && !is_digit(c), line_start});
    line_start = false;
  }
  return tokens;
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    std::size_t end = nl == std::string_view::npos ? text.size() : nl;
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

std::string lower_extension(std::string_view path) {
  std::size_t slash = path.find_last_of('/');
  std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  std::size_t dot = name.find_last_of('.');
  if (dot == std::string_view::npos || dot == 0) return {};
  std::string ext(name.substr(dot + 1));
  for (char& c : ext) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return ext;
}

std::string blanked_code(CodeLanguage language, std::string_view text,
                         std::vector<std::string>* defines) {
  std::string code = code_only(lexer_for(language), text);
  if (language == CodeLanguage::c || language == CodeLanguage::cpp) blank_directives(code, defines);
  return code;
}

void c_definitions(const std::vector<Token>& tokens, std::set<std::string>& names) {
  CDefinitions(tokens, names).run();
}

}  // namespace fti::cleanup::detail
