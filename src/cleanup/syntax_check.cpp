#include "syntax_check.hpp"

#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <set>
#include <toml++/toml.h>

#include "fti/core/json.hpp"
#include "fti/core/process.hpp"

namespace fti::cleanup::detail {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string shown(char c) {
  if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
    return "a control or non-ASCII byte";
  }
  return std::string("'") + c + "'";
}

// Finds where a JSON text first goes wrong, with its line. Only asked after simdjson has
// rejected the text, so it need not be a complete validator: it knows the structure, strings
// and literals, which is where hand-edited JSON breaks (trailing and missing commas, comments,
// unquoted keys, unclosed strings).
class JsonLocator {
 public:
  explicit JsonLocator(std::string_view s) : s_(s) {}

  std::optional<SyntaxError> run() {
    enum class Want { value, key, colon, after_value };
    std::vector<char> stack;  // '{' or '['
    Want want = Want::value;
    bool after_comma = false;
    for (;;) {
      skip_space();
      if (i_ >= s_.size()) {
        if (stack.empty() && want == Want::after_value) return std::nullopt;
        return fail("unexpected end of file");
      }
      char c = s_[i_];
      if (c == '/' && i_ + 1 < s_.size() && (s_[i_ + 1] == '/' || s_[i_ + 1] == '*')) {
        return fail("comments are not allowed in JSON");
      }
      switch (want) {
        case Want::value:
          if (c == ']' && !stack.empty() && stack.back() == '[' && !after_comma) {
            ++i_;
            stack.pop_back();
            want = Want::after_value;
          } else if (c == ']' && after_comma) {
            return fail("trailing comma before ']'");
          } else if (c == '{' || c == '[') {
            stack.push_back(c);
            ++i_;
            want = c == '{' ? Want::key : Want::value;
            after_comma = false;
            continue;
          } else {
            if (auto e = scalar()) return e;
            want = Want::after_value;
          }
          break;
        case Want::key:
          if (c == '}' && !after_comma) {
            ++i_;
            stack.pop_back();
            want = Want::after_value;
          } else if (c == '}') {
            return fail("trailing comma before '}'");
          } else if (c != '"') {
            return fail("expected a quoted key, found " + shown(c));
          } else {
            if (auto e = string()) return e;
            want = Want::colon;
          }
          break;
        case Want::colon:
          if (c != ':') return fail("expected ':' after the key, found " + shown(c));
          ++i_;
          want = Want::value;
          break;
        case Want::after_value:
          if (stack.empty()) return fail("unexpected " + shown(c) + " after the end of the document");
          if (c == ',') {
            ++i_;
            want = stack.back() == '{' ? Want::key : Want::value;
            after_comma = true;
            continue;
          }
          if ((c == '}' && stack.back() == '{') || (c == ']' && stack.back() == '[')) {
            ++i_;
            stack.pop_back();
            break;
          }
          return fail("expected ',' or '" + std::string(1, stack.back() == '{' ? '}' : ']') +
                      "', found " + shown(c));
      }
      after_comma = false;
    }
  }

 private:
  void skip_space() {
    while (i_ < s_.size() && is_space(s_[i_])) {
      if (s_[i_] == '\n') ++line_;
      ++i_;
    }
  }

  std::optional<SyntaxError> fail(std::string message) const {
    return SyntaxError{line_, std::move(message)};
  }

  std::optional<SyntaxError> string() {
    ++i_;
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (c == '"') {
        ++i_;
        return std::nullopt;
      }
      if (c == '\n') return fail("unterminated string");
      if (static_cast<unsigned char>(c) < 0x20) return fail("control character in a string");
      i_ += c == '\\' ? 2 : 1;
    }
    return fail("unterminated string");
  }

  std::optional<SyntaxError> scalar() {
    char c = s_[i_];
    if (c == '"') return string();
    for (std::string_view word : {"true", "false", "null"}) {
      if (s_.substr(i_, word.size()) == word) {
        i_ += word.size();
        return std::nullopt;
      }
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      while (i_ < s_.size() && std::string_view("+-.eE0123456789").find(s_[i_]) != std::string_view::npos) ++i_;
      return std::nullopt;
    }
    if (c == '\'') return fail("strings must use double quotes");
    return fail("unexpected " + shown(c));
  }

  std::string_view s_;
  std::size_t i_ = 0;
  std::int64_t line_ = 1;
};

bool name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
         static_cast<unsigned char>(c) >= 0x80;
}
bool name_char(char c) {
  return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

constexpr std::size_t kMaxXmlDepth = 4096;

// An XML well-formedness checker: one pass, an explicit stack of open element names (no
// recursion), the line counted as it goes.
class XmlChecker {
 public:
  explicit XmlChecker(std::string_view s) : s_(s) {}

  std::optional<SyntaxError> run() {
    if (s_.substr(0, 3) == "\xEF\xBB\xBF") i_ = 3;
    while (i_ < s_.size()) {
      if (s_[i_] != '<') {
        if (auto e = text()) return e;
        continue;
      }
      std::optional<SyntaxError> e;
      if (starts("<?")) {
        e = skip_past("?>", "unterminated processing instruction");
      } else if (starts("<!--")) {
        e = skip_past("-->", "unterminated comment");
      } else if (starts("<![CDATA[")) {
        if (open_.empty()) return fail("CDATA outside the root element");
        e = skip_past("]]>", "unterminated CDATA section");
      } else if (starts("<!DOCTYPE")) {
        e = doctype();
      } else if (starts("</")) {
        e = end_tag();
      } else {
        e = start_tag();
      }
      if (e) return e;
      if (open_.size() > kMaxXmlDepth) return std::nullopt;  // too deep to be worth checking
    }
    if (!open_.empty()) {
      return SyntaxError{line_, "element <" + std::string(open_.back()) + "> is never closed"};
    }
    if (!seen_root_) return fail("no root element");
    return std::nullopt;
  }

 private:
  bool starts(std::string_view w) const { return s_.substr(i_, w.size()) == w; }
  std::optional<SyntaxError> fail(std::string message) const {
    return SyntaxError{line_, std::move(message)};
  }
  void advance(std::size_t to) {
    for (; i_ < to && i_ < s_.size(); ++i_) line_ += s_[i_] == '\n';
  }
  void skip_space() {
    while (i_ < s_.size() && is_space(s_[i_])) advance(i_ + 1);
  }

  std::optional<SyntaxError> skip_past(std::string_view close, const char* unterminated) {
    std::size_t end = s_.find(close, i_ + 2);
    if (end == std::string_view::npos) return fail(unterminated);
    advance(end + close.size());
    return std::nullopt;
  }

  // Character data: only white space outside the root; '&' must start a reference.
  std::optional<SyntaxError> text() {
    char c = s_[i_];
    if (open_.empty() && !is_space(c)) return fail("text outside the root element");
    if (c == '&') return reference();
    advance(i_ + 1);
    return std::nullopt;
  }

  // &name; &#123; &#x1F;
  std::optional<SyntaxError> reference() {
    std::size_t k = i_ + 1;
    if (k < s_.size() && s_[k] == '#') {
      ++k;
      bool hex = k < s_.size() && s_[k] == 'x';
      if (hex) ++k;
      std::size_t digits = k;
      while (k < s_.size() && std::isxdigit(static_cast<unsigned char>(s_[k])) &&
             (hex || (s_[k] >= '0' && s_[k] <= '9'))) {
        ++k;
      }
      if (k == digits) return fail("'&' must start an entity reference (write &amp;)");
    } else {
      if (k >= s_.size() || !name_start(s_[k])) return fail("'&' must start an entity reference (write &amp;)");
      while (k < s_.size() && name_char(s_[k])) ++k;
    }
    if (k >= s_.size() || s_[k] != ';') return fail("entity reference without ';'");
    advance(k + 1);
    return std::nullopt;
  }

  std::string_view name() {
    std::size_t begin = i_;
    if (i_ >= s_.size() || !name_start(s_[i_])) return {};
    while (i_ < s_.size() && name_char(s_[i_])) ++i_;
    return s_.substr(begin, i_ - begin);
  }

  // <!DOCTYPE root [ internal subset ]>: skipped, quotes and brackets respected.
  std::optional<SyntaxError> doctype() {
    if (seen_root_ || !open_.empty()) return fail("DOCTYPE after the root element");
    int brackets = 0;
    char quote = 0;
    for (std::size_t k = i_ + 9; k < s_.size(); ++k) {
      char c = s_[k];
      if (quote) {
        if (c == quote) quote = 0;
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '[') {
        ++brackets;
      } else if (c == ']') {
        --brackets;
      } else if (c == '>' && brackets <= 0) {
        advance(k + 1);
        return std::nullopt;
      }
    }
    return fail("unterminated DOCTYPE");
  }

  std::optional<SyntaxError> start_tag() {
    advance(i_ + 1);
    std::string_view tag = name();
    if (tag.empty()) return fail("'<' must start a tag (write &lt;)");
    if (open_.empty() && seen_root_) return fail("more than one root element");
    std::vector<std::string_view> attributes;
    for (;;) {
      bool spaced = i_ < s_.size() && is_space(s_[i_]);
      skip_space();
      if (i_ >= s_.size()) return fail("unterminated tag <" + std::string(tag) + ">");
      if (starts("/>")) {
        advance(i_ + 2);
        seen_root_ = true;
        return std::nullopt;
      }
      if (s_[i_] == '>') {
        advance(i_ + 1);
        open_.push_back(tag);
        seen_root_ = true;
        return std::nullopt;
      }
      if (!spaced) return fail("expected white space, '>' or '/>' in <" + std::string(tag) + ">");
      if (auto e = attribute(tag, attributes)) return e;
    }
  }

  std::optional<SyntaxError> attribute(std::string_view tag, std::vector<std::string_view>& seen) {
    std::string_view attr = name();
    if (attr.empty()) return fail("bad attribute name in <" + std::string(tag) + ">");
    for (std::string_view other : seen) {
      if (other == attr) return fail("attribute " + std::string(attr) + " given twice");
    }
    seen.push_back(attr);
    skip_space();
    if (i_ >= s_.size() || s_[i_] != '=') {
      return fail("attribute " + std::string(attr) + " has no value (write " + std::string(attr) + "=\"...\")");
    }
    advance(i_ + 1);
    skip_space();
    if (i_ >= s_.size() || (s_[i_] != '"' && s_[i_] != '\'')) {
      return fail("the value of attribute " + std::string(attr) + " must be quoted");
    }
    char quote = s_[i_];
    advance(i_ + 1);
    while (i_ < s_.size() && s_[i_] != quote) {
      if (s_[i_] == '<') return fail("'<' in an attribute value (write &lt;)");
      if (s_[i_] == '&') {
        if (auto e = reference()) return e;
        continue;
      }
      advance(i_ + 1);
    }
    if (i_ >= s_.size()) return fail("unterminated attribute value");
    advance(i_ + 1);
    return std::nullopt;
  }

  std::optional<SyntaxError> end_tag() {
    advance(i_ + 2);
    std::string_view tag = name();
    skip_space();
    if (tag.empty() || i_ >= s_.size() || s_[i_] != '>') return fail("malformed end tag");
    if (open_.empty()) return fail("end tag </" + std::string(tag) + "> without a start tag");
    if (open_.back() != tag) {
      return fail("end tag </" + std::string(tag) + "> does not match <" + std::string(open_.back()) + ">");
    }
    open_.pop_back();
    advance(i_ + 1);
    return std::nullopt;
  }

  std::string_view s_;
  std::size_t i_ = 0;
  std::int64_t line_ = 1;
  std::vector<std::string_view> open_;
  bool seen_root_ = false;
};

// Reads JSON-encoded paths, one a line, and prints one JSON object a line for each file
// PyYAML rejects (the first 1000: the output stays bounded), then {"done": true}. compose_all
// builds nodes without constructing Python objects: no code runs, unknown tags are fine, and
// aliases are not expanded.
constexpr const char* kYamlScript = R"PY(
import json, sys, yaml
Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
errors = 0
def report(entry):
    global errors
    errors += 1
    if errors <= 1000:
        print(json.dumps(entry))
for raw in sys.stdin:
    path = json.loads(raw)
    try:
        with open(path, "rb") as f:
            for _ in yaml.compose_all(f, Loader=Loader):
                pass
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        report({"path": path, "line": mark.line + 1 if mark else 0,
                "error": str(e.problem or e.context or "invalid YAML")[:200]})
    except (yaml.YAMLError, ValueError) as e:
        report({"path": path, "line": 0, "error": str(e)[:200]})
    except (OSError, RecursionError, MemoryError):
        pass  # unreadable, or nested too deep to check: no verdict
print(json.dumps({"done": True}))
)PY";

constexpr std::chrono::seconds kProbeTimeout{10};

bool can_import_yaml(const std::string& python) {
  ProcessSpec spec;
  spec.argv = {python, "-I", "-c", "import yaml"};
  spec.inherit_environment = false;
  spec.timeout = kProbeTimeout;
  auto result = run_process(spec);
  return result.ok() && !result.value().signaled && !result.value().timed_out &&
         result.value().exit_code == 0;
}

std::string find_python_with_yaml() {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "";
  std::set<std::string> tried;
  std::size_t start = 0;
  while (start <= dirs.size()) {
    std::size_t colon = std::min(dirs.find(':', start), dirs.size());
    std::string dir = dirs.substr(start, colon - start);
    start = colon + 1;
    if (dir.empty()) continue;
    std::string candidate = dir + "/python3";
    if (::access(candidate.c_str(), X_OK) != 0) continue;
    std::error_code ec;
    std::string real = std::filesystem::canonical(candidate, ec).string();
    if (ec || !tried.insert(real).second) continue;
    if (can_import_yaml(candidate)) return candidate;
  }
  return {};
}

}  // namespace

std::optional<SyntaxError> check_json(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  auto parsed = json::Document::parse(text);
  if (parsed.ok()) return std::nullopt;
  if (auto located = JsonLocator(text).run()) return located;
  return SyntaxError{0, parsed.error().message};
}

std::optional<SyntaxError> check_toml(std::string_view text) {
  try {
    (void)toml::parse(text);
  } catch (const toml::parse_error& err) {
    return SyntaxError{static_cast<std::int64_t>(err.source().begin.line),
                       std::string(err.description())};
  }
  return std::nullopt;
}

std::optional<SyntaxError> check_xml(std::string_view text) { return XmlChecker(text).run(); }

const std::string& python_with_yaml() {
  static const std::string python = find_python_with_yaml();
  return python;
}

Result<std::vector<YamlError>> check_yaml_files(const std::vector<std::string>& paths,
                                                std::chrono::milliseconds timeout) {
  const std::string& python = python_with_yaml();
  if (python.empty()) return Error(errc::internal, "no python3 with PyYAML (python3-yaml) found");
  ProcessSpec spec;
  spec.argv = {python, "-I", "-c", kYamlScript};
  spec.inherit_environment = false;
  spec.timeout = timeout;
  spec.limits.memory_bytes = 1LL << 30;
  spec.max_output_bytes = 4 << 20;
  for (const std::string& p : paths) spec.stdin_data += json::quote(p) + "\n";
  FTI_ASSIGN_OR_RETURN(ProcessResult run, run_process(spec));
  if (run.timed_out) return Error(errc::timeout, "the YAML check did not finish in time");
  std::vector<YamlError> errors;
  bool done = false;
  std::size_t start = 0;
  while (start < run.stdout_data.size()) {
    std::size_t nl = std::min(run.stdout_data.find('\n', start), run.stdout_data.size());
    auto doc = json::Document::parse(std::string_view(run.stdout_data).substr(start, nl - start));
    start = nl + 1;
    if (!doc.ok()) continue;
    json::Value v = doc.value().root();
    if (v.get_bool("done").value_or(false)) done = true;
    auto path = v.get_string("path");
    if (!path) continue;
    errors.push_back({*path, {v.get_int("line").value_or(0), v.get_string("error").value_or("")}});
  }
  if (!done) {
    return Error(errc::internal, "the YAML check stopped early (exit " +
                                     std::to_string(run.exit_code) + ")");
  }
  return errors;
}

}  // namespace fti::cleanup::detail
