#include "fti/cleanup/normalize.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <string>

#include "lexers.hpp"

namespace fti::cleanup {
namespace {

using detail::Lexer;

constexpr std::string_view kBom = "\xEF\xBB\xBF";

enum class ByteClass { text, nul, bad_utf8 };

// One pass over the bytes: a NUL means binary; anything that is not well-formed UTF-8
// (overlong forms, surrogates, beyond U+10FFFF included) means some other encoding.
ByteClass scan_bytes(std::string_view s) {
  std::size_t i = 0;
  const std::size_t n = s.size();
  bool bad = false;
  while (i < n) {
    auto b = static_cast<unsigned char>(s[i]);
    if (b == 0) return ByteClass::nul;
    if (b < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    unsigned lo = 0x80;
    unsigned hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) {
      len = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
      len = 3;
      if (b == 0xE0) lo = 0xA0;
      if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      len = 4;
      if (b == 0xF0) lo = 0x90;
      if (b == 0xF4) hi = 0x8F;
    }
    bool ok = len != 0 && i + len <= n;
    for (std::size_t k = 1; ok && k < len; ++k) {
      auto c = static_cast<unsigned char>(s[i + k]);
      ok = k == 1 ? (c >= lo && c <= hi) : (c >= 0x80 && c <= 0xBF);
    }
    if (!ok) {
      bad = true;  // keep going: a later NUL still means binary
      ++i;
      continue;
    }
    i += len;
  }
  return bad ? ByteClass::bad_utf8 : ByteClass::text;
}

// How one kind of file is treated.
struct FileRules {
  Lexer lexer = Lexer::none;
  bool crlf = false;           // CRLF is the convention (.bat, .cmd)
  bool markdown = false;       // two trailing spaces are a hard line break
  bool keep_trailing = false;  // trailing white space may be data; keep it
  bool untouched = false;      // every byte matters; leave the file alone
  std::string reason;          // why keep_trailing or untouched
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool one_of(std::string_view x, std::initializer_list<std::string_view> set) {
  return std::find(set.begin(), set.end(), x) != set.end();
}

std::optional<Lexer> lexer_for_extension(std::string_view ext) {
  if (one_of(ext, {"c", "h", "cc", "cpp", "cxx", "c++", "hh", "hpp", "hxx", "h++", "ipp", "inl",
                   "tpp", "tcc", "cu", "cuh", "m", "mm", "ino", "proto"})) {
    return Lexer::c_like;
  }
  if (one_of(ext, {"java", "kt", "kts", "scala", "sc", "groovy", "gradle", "swift", "dart"})) {
    return Lexer::jvm;
  }
  if (ext == "cs") return Lexer::csharp;
  if (one_of(ext, {"js", "mjs", "cjs", "jsx", "ts", "tsx", "mts", "cts"})) return Lexer::javascript;
  if (ext == "go") return Lexer::go;
  if (ext == "rs") return Lexer::rust;
  if (one_of(ext, {"py", "pyw", "pyi", "pyx", "graphql", "gql"})) return Lexer::python;
  if (ext == "toml") return Lexer::toml;
  if (ext == "sql") return Lexer::sql;
  if (one_of(ext, {"sh", "bash", "zsh", "ksh", "bats", "dockerfile"})) return Lexer::shell;
  if (one_of(ext, {"yml", "yaml"})) return Lexer::yaml;
  return std::nullopt;
}

// File types where generic stripping is safe: nothing in them can span lines as a value.
bool plain_extension(std::string_view ext) {
  return one_of(ext, {"txt", "text", "rst", "adoc", "asciidoc", "org", "tex", "bib", "json",
                      "jsonc", "json5", "geojson", "xml", "xsd", "xsl", "xslt", "html", "htm",
                      "xhtml", "css", "scss", "sass", "less", "styl", "svg", "ini", "cfg",
                      "conf", "properties", "cmake", "gitignore", "gitattributes", "gitmodules",
                      "dockerignore", "editorconfig", "npmignore", "prettierrc", "eslintrc",
                      "babelrc", "sln", "csproj", "vcxproj", "plist", "log"});
}

std::string_view file_name(std::string_view path) {
  std::size_t slash = path.find_last_of('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::optional<Lexer> lexer_for_shebang(std::string_view text) {
  if (text.substr(0, 2) != "#!") return std::nullopt;
  std::string_view first = text.substr(0, text.find('\n'));
  if (first.find("python") != std::string_view::npos) return Lexer::python;
  for (std::string_view sh : {"/sh", "bash", "zsh", "ksh", "dash", "env sh"}) {
    if (first.find(sh) != std::string_view::npos) return Lexer::shell;
  }
  return std::nullopt;
}

FileRules keep(std::string reason) {
  FileRules r;
  r.keep_trailing = true;
  r.reason = std::move(reason);
  return r;
}

FileRules rules_for_name(std::string_view name, std::string_view ext, std::string_view text) {
  FileRules r;
  if (one_of(name, {"makefile", "gnumakefile"}) || one_of(ext, {"mk", "mak"})) {
    return keep("trailing white space kept: Makefile values can end in spaces");
  }
  if (one_of(name, {"dockerfile", "containerfile", ".bashrc", ".bash_profile", ".bash_aliases",
                    ".profile", ".zshrc", ".zprofile", ".kshrc"})) {
    r.lexer = Lexer::shell;
    return r;
  }
  if (std::optional<Lexer> lx = lexer_for_extension(ext)) {
    r.lexer = *lx;
    return r;
  }
  if (one_of(ext, {"bat", "cmd"})) {
    r.crlf = true;
    return r;
  }
  if (one_of(ext, {"md", "markdown"})) {
    r.markdown = true;
    return r;
  }
  if (one_of(ext, {"diff", "patch"})) {
    r.untouched = true;
    r.reason = "patch file: every byte is meaningful";
    return r;
  }
  if (one_of(ext, {"csv", "tsv", "tab", "psv"})) {
    return keep("trailing white space kept: it may be field data");
  }
  if (std::optional<Lexer> lx = lexer_for_shebang(text)) {
    r.lexer = *lx;
    return r;
  }
  if (text.substr(0, 2) == "#!") {
    return keep("trailing white space kept: no string rules for this script language");
  }
  if (ext.empty() || plain_extension(ext)) return r;
  return keep("trailing white space kept: no string rules for ." + std::string(ext) + " files");
}

FileRules rules_for(std::string_view path, std::string_view text) {
  std::string name = lower(file_name(path));
  std::size_t dot = name.find_last_of('.');
  // ".bashrc" has no extension in this sense; "a.tar.gz" has "gz".
  std::string ext = (dot == std::string::npos || dot == 0) ? "" : name.substr(dot + 1);
  return rules_for_name(name, ext, text);
}

struct Line {
  std::string_view body;   // without the line ending
  bool crlf = false;       // ended in \r\n
  bool terminated = false;
  std::size_t newline_at = 0;  // offset of its '\n' in the LF text (end of text if none)
};

struct Split {
  std::vector<Line> lines;
  bool has_cr = false;
  std::string lf_copy;  // built only when the text has a CR: most files are LF already

  // The text with every line ending as a single '\n'.
  std::string_view lf(std::string_view text) const { return has_cr ? std::string_view(lf_copy) : text; }
};

Split split_lines(std::string_view text) {
  Split out;
  out.has_cr = text.find('\r') != std::string_view::npos;
  if (out.has_cr) out.lf_copy.reserve(text.size());
  std::size_t lf_size = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    Line line;
    line.terminated = nl != std::string_view::npos;
    std::size_t end = line.terminated ? nl : text.size();
    line.body = text.substr(start, end - start);
    if (line.terminated && !line.body.empty() && line.body.back() == '\r') {
      line.body.remove_suffix(1);
      line.crlf = true;
    }
    if (out.has_cr) out.lf_copy.append(line.body);
    lf_size += line.body.size();
    line.newline_at = lf_size;
    if (line.terminated) {
      if (out.has_cr) out.lf_copy.push_back('\n');
      ++lf_size;
    }
    out.lines.push_back(line);
    start = end + 1;
  }
  return out;
}

// Marks lines whose newline lies inside a span (spans may nest or overlap: sort first).
std::vector<bool> protected_lines(const Split& split, std::vector<detail::Span> spans) {
  std::sort(spans.begin(), spans.end(),
            [](const detail::Span& a, const detail::Span& b) { return a.begin < b.begin; });
  std::vector<bool> out(split.lines.size(), false);
  std::size_t s = 0;
  std::size_t reach = 0;  // furthest end among spans that began at or before this newline
  for (std::size_t k = 0; k < split.lines.size(); ++k) {
    std::size_t at = split.lines[k].newline_at;
    while (s < spans.size() && spans[s].begin <= at) reach = std::max(reach, spans[s++].end);
    out[k] = at < reach;
  }
  return out;
}

// Trailing spaces and tabs, unless they carry meaning on this line.
std::string_view strip_trailing(std::string_view body, bool markdown) {
  std::size_t end = body.find_last_not_of(" \t");
  std::size_t keep_to = end == std::string_view::npos ? 0 : end + 1;
  if (keep_to == body.size()) return body;
  // Removing them would turn the backslash into a line continuation.
  if (keep_to > 0 && body[keep_to - 1] == '\\') return body;
  if (markdown && keep_to > 0 && body.size() - keep_to >= 2 &&
      body.substr(body.size() - 2) == "  ") {
    return body;  // a hard line break
  }
  return body.substr(0, keep_to);
}

void add_fix(NormalizeOutcome& out, const char* fix) {
  if (std::find(out.fixes.begin(), out.fixes.end(), fix) == out.fixes.end()) out.fixes.push_back(fix);
}

}  // namespace

TextKind classify_bytes(std::string_view bytes) {
  return scan_bytes(bytes) == ByteClass::text ? TextKind::text : TextKind::binary;
}

NormalizeOutcome normalize_text(std::string_view path, std::string_view bytes) {
  NormalizeOutcome out;
  switch (scan_bytes(bytes)) {
    case ByteClass::nul: out.text = std::string(bytes); out.skipped_reason = "binary"; return out;
    case ByteClass::bad_utf8: out.text = std::string(bytes); out.skipped_reason = "not UTF-8"; return out;
    case ByteClass::text: break;
  }
  std::string_view text = bytes;
  if (text.substr(0, kBom.size()) == kBom) {
    text.remove_prefix(kBom.size());
    add_fix(out, "bom");
  }
  FileRules rules = rules_for(path, text);
  if (rules.untouched) {
    out.text = std::string(bytes);
    out.skipped_reason = rules.reason;
    out.fixes.clear();
    return out;
  }
  Split split = split_lines(text);
  detail::LexResult lexed = detail::lex(rules.lexer, split.lf(text));
  std::vector<bool> kept = protected_lines(split, std::move(lexed.spans));
  if (lexed.unterminated) {
    out.skipped_reason = "unterminated string, heredoc or comment: trailing white space kept";
  } else if (rules.keep_trailing) {
    out.skipped_reason = rules.reason;
  }
  const bool strip = !rules.keep_trailing && !lexed.unterminated;

  // Each line's new body, computed when needed rather than kept: a large file has millions
  // of lines, and memory must not grow with the input.
  auto body_of = [&](std::size_t k) {
    std::string_view body = split.lines[k].body;
    return strip && !kept[k] ? strip_trailing(body, rules.markdown) : body;
  };
  for (std::size_t k = 0; k < split.lines.size(); ++k) {
    if (body_of(k).size() != split.lines[k].body.size()) {
      add_fix(out, "trailing-whitespace");
      break;
    }
  }

  // The end of the file: a last line inside a value (YAML block scalar, broken literal) must
  // keep its exact ending; otherwise trailing blank lines go and one newline ends the file.
  const bool last_kept = lexed.unterminated || (!kept.empty() && kept.back());
  std::size_t count = split.lines.size();
  if (!last_kept) {
    while (count > 0 && body_of(count - 1).empty()) --count;
    if (count != split.lines.size() || (!split.lines.empty() && !split.lines.back().terminated)) {
      add_fix(out, "final-newline");
    }
  }

  const char* eol = rules.crlf ? "\r\n" : "\n";
  out.text.reserve(text.size() + 2);
  for (std::size_t k = 0; k < count; ++k) {
    out.text.append(body_of(k));
    const Line& line = split.lines[k];
    if (last_kept && !line.terminated) break;  // keep the file's unterminated last line
    out.text.append(eol);
    if (line.terminated && line.crlf != rules.crlf) add_fix(out, "crlf");
  }
  out.changed = out.text != bytes;
  return out;
}

}  // namespace fti::cleanup
