// Line counts by language, table-driven like tokei's languages.json: each language lists its
// line comment markers, its block comment pairs, the quotes whose strings may span lines and
// the quotes of one-line strings (so a "//" inside a string is code, not a comment).
#include "line_counts.hpp"

#include <map>
#include <string>
#include <vector>

#include "code_scan.hpp"

namespace fti::cleanup::detail {
namespace {

using Pair = std::pair<std::string_view, std::string_view>;

struct Syntax {
  std::vector<std::string_view> line_comments;
  std::vector<Pair> block_comments;  // tried before line comments: Lua's --[[ starts with --
  bool nested = false;               // block comments nest (Rust, Swift, Haskell...)
  std::vector<Pair> multi_strings;   // strings that may span lines: """, `
  bool doc_strings = false;          // a """ string that starts a line is a comment (Python)
  std::string_view quotes = "\"'";   // one-line strings, backslash escapes
  bool comment_at_word_start = false;  // shell: # only after white space ($# is code)
  bool comment_at_line_start = false;  // batch: REM and :: only first on the line
};

Syntax c_style(std::vector<Pair> multi = {}, bool nested = false) {
  return Syntax{{"//"}, {{"/*", "*/"}}, nested, std::move(multi), false, "\"'", false, false};
}

Syntax hash_style(std::vector<Pair> blocks = {}) {
  return Syntax{{"#"}, std::move(blocks), false, {}, false, "\"'", false, false};
}

Syntax markup() { return Syntax{{}, {{"<!--", "-->"}}, false, {}, false, "", false, false}; }

const std::map<std::string, Syntax, std::less<>>& syntaxes() {
  static const std::map<std::string, Syntax, std::less<>> table = [] {
    std::map<std::string, Syntax, std::less<>> t;
    const Pair triple{"\"\"\"", "\"\"\""};
    const Pair backtick{"`", "`"};
    for (const char* name : {"C", "C++", "C#", "Java", "Objective-C", "Objective-C++", "Protocol Buffers"}) {
      t[name] = c_style();
    }
    for (const char* name : {"Kotlin", "Groovy", "Scala", "Dart"}) t[name] = c_style({triple});
    t["Swift"] = c_style({triple}, true);
    t["Go"] = c_style({backtick});
    t["JavaScript"] = c_style({backtick});
    t["TypeScript"] = c_style({backtick});
    t["Rust"] = c_style({}, true);
    t["Rust"].quotes = "\"";  // 'a is a lifetime
    t["SCSS"] = c_style();
    t["Less"] = c_style();
    t["Sass"] = c_style();
    t["CSS"] = Syntax{{}, {{"/*", "*/"}}, false, {}, false, "\"'", false, false};
    t["PHP"] = Syntax{{"//", "#"}, {{"/*", "*/"}}, false, {}, false, "\"'", false, false};
    t["Terraform"] = Syntax{{"#", "//"}, {{"/*", "*/"}}, false, {}, false, "\"", false, false};
    t["Python"] = Syntax{{"#"}, {}, false, {triple, {"'''", "'''"}}, true, "\"'", false, false};
    for (const char* name : {"Perl", "R", "YAML", "TOML", "Makefile", "Dockerfile", "Elixir"}) {
      t[name] = hash_style();
    }
    t["Ruby"] = hash_style({{"=begin", "=end"}});
    t["Julia"] = hash_style({{"#=", "=#"}});
    t["CMake"] = hash_style({{"#[[", "]]"}});
    t["PowerShell"] = hash_style({{"<#", "#>"}});
    t["Shell"] = hash_style();
    t["Shell"].comment_at_word_start = true;
    t["SQL"] = Syntax{{"--"}, {{"/*", "*/"}}, false, {}, false, "'\"", false, false};
    t["Lua"] = Syntax{{"--"}, {{"--[[", "]]"}}, false, {}, false, "\"'", false, false};
    t["Haskell"] = Syntax{{"--"}, {{"{-", "-}"}}, true, {}, false, "\"", false, false};
    t["Erlang"] = Syntax{{"%"}, {}, false, {}, false, "\"", false, false};
    t["TeX"] = Syntax{{"%"}, {}, false, {}, false, "", false, false};
    t["Clojure"] = Syntax{{";"}, {}, false, {}, false, "\"", false, false};
    t["Batch"] = Syntax{{"REM", "rem", "@REM", "@rem", "::"}, {}, false, {}, false, "", false, true};
    for (const char* name : {"HTML", "XML", "Vue", "Svelte"}) t[name] = markup();
    return t;
  }();
  return table;
}

bool is_blank(std::string_view line) {
  return line.find_first_not_of(" \t\r\f\v") == std::string_view::npos;
}

class Counter {
 public:
  explicit Counter(const Syntax& syntax) : x_(syntax) {}

  void line(std::string_view s) {
    if (is_blank(s)) {
      ++counts_.blank;
      return;
    }
    code_ = false;
    comment_ = false;
    s_ = s;
    i_ = 0;
    while (i_ < s_.size()) step();
    if (code_) {
      ++counts_.code;
    } else if (comment_) {
      ++counts_.comment;
    } else {
      ++counts_.blank;
    }
  }

  LineCounts counts() const { return counts_; }

 private:
  bool starts(std::string_view w) const { return !w.empty() && s_.substr(i_, w.size()) == w; }
  bool space_at(std::size_t k) const {
    char c = s_[k];
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
  }

  void step() {
    if (!block_close_.empty()) return in_block();
    if (!string_close_.empty()) return in_string();
    if (space_at(i_)) {
      ++i_;
      return;
    }
    if (open_block() || line_comment() || open_string()) return;
    code_ = true;
    if (x_.quotes.find(s_[i_]) != std::string_view::npos) return one_line_string(s_[i_]);
    ++i_;
  }

  void in_block() {
    if (!space_at(i_)) comment_ = true;
    if (x_.nested && starts(block_open_)) {
      ++depth_;
      i_ += block_open_.size();
    } else if (starts(block_close_)) {
      i_ += block_close_.size();
      if (--depth_ == 0) block_close_ = {};
    } else {
      ++i_;
    }
  }

  void in_string() {
    if (!space_at(i_)) (doc_ ? comment_ : code_) = true;
    if (s_[i_] == '\\') {
      i_ += 2;
    } else if (starts(string_close_)) {
      i_ += string_close_.size();
      string_close_ = {};
    } else {
      ++i_;
    }
  }

  bool open_block() {
    for (const auto& [open, close] : x_.block_comments) {
      if (!starts(open)) continue;
      comment_ = true;
      block_open_ = open;
      block_close_ = close;
      depth_ = 1;
      i_ += open.size();
      return true;
    }
    return false;
  }

  bool line_comment() {
    if (x_.comment_at_line_start && (code_ || comment_)) return false;
    if (x_.comment_at_word_start && i_ > 0 && !space_at(i_ - 1) && s_[i_ - 1] != ';') return false;
    for (std::string_view marker : x_.line_comments) {
      if (!starts(marker)) continue;
      comment_ = true;
      i_ = s_.size();
      return true;
    }
    return false;
  }

  bool open_string() {
    for (const auto& [open, close] : x_.multi_strings) {
      if (!starts(open)) continue;
      doc_ = x_.doc_strings && !code_ && !comment_;
      (doc_ ? comment_ : code_) = true;
      string_close_ = close;
      i_ += open.size();
      return true;
    }
    return false;
  }

  void one_line_string(char quote) {
    ++i_;
    while (i_ < s_.size() && s_[i_] != quote) i_ += s_[i_] == '\\' ? 2 : 1;
    ++i_;
  }

  const Syntax& x_;
  LineCounts counts_;
  std::string_view s_;
  std::size_t i_ = 0;
  bool code_ = false;
  bool comment_ = false;
  std::string_view block_open_, block_close_;  // inside a block comment when close is set
  int depth_ = 0;
  std::string_view string_close_;  // inside a multi-line string when set
  bool doc_ = false;
};

}  // namespace

LineCounts count_lines(std::string_view language, std::string_view text) {
  static const Syntax kPlain{};
  auto it = syntaxes().find(language);
  Counter counter(it == syntaxes().end() ? kPlain : it->second);
  for (std::string_view line : split_lines(text)) counter.line(line);
  return counter.counts();
}

}  // namespace fti::cleanup::detail
