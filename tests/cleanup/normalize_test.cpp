#include "fti/cleanup/normalize.hpp"

#include <catch2/catch.hpp>

namespace fti::cleanup {
namespace {

using namespace std::string_literals;

struct Case {
  const char* name;
  const char* path;
  std::string input;
  std::string expected;
};

// One row per rule: what goes in, what must come out.
const std::vector<Case>& cases() {
  static const std::vector<Case> table = {
      // Line endings.
      {"CRLF becomes LF", "a.c", "int a;\r\nint b;\r\n", "int a;\nint b;\n"},
      {"CRLF kept in .bat", "run.bat", "@echo off\r\necho hi\r\n", "@echo off\r\necho hi\r\n"},
      {"lone LF becomes CRLF in .cmd", "run.cmd", "echo a\necho b\r\n", "echo a\r\necho b\r\n"},
      {"trailing spaces stripped in .bat too", "x.bat", "echo a  \r\n", "echo a\r\n"},
      // Trailing white space, plain.
      {"spaces and tabs stripped", "a.txt", "one  \ntwo\t\nthree \t \n", "one\ntwo\nthree\n"},
      {"blank lines with spaces emptied", "a.txt", "a\n   \nb\n", "a\n\nb\n"},
      {"backslash keeps what follows", "a.txt", "a \\  \nb\n", "a \\  \nb\n"},
      {"backslash in C keeps it", "m.h", "#define X 1 \\  \n  + 2\n", "#define X 1 \\  \n  + 2\n"},
      // Final newline.
      {"missing final newline added", "a.txt", "abc", "abc\n"},
      {"extra blank lines at the end removed", "a.py", "x = 1\n\n\n\n", "x = 1\n"},
      {"empty stays empty", "a.txt", "", ""},
      {"only newlines become empty", "a.txt", "\n\n\n", ""},
      {"BOM removed", "a.txt", "\xEF\xBB\xBFhello\n", "hello\n"},
      // Python.
      {"python triple double quotes", "a.py", "s = \"\"\"a  \nb\t\n\"\"\"  \n",
       "s = \"\"\"a  \nb\t\n\"\"\"\n"},
      {"python triple single quotes with prefix", "a.py", "s = rb'''x  \n\\'''  \ny'''\nz = 1  \n",
       "s = rb'''x  \n\\'''  \ny'''\nz = 1\n"},
      {"python f-string triple", "a.py", "s = f\"\"\"{x}  \n\"\"\"\n", "s = f\"\"\"{x}  \n\"\"\"\n"},
      {"python comment quote does not open a string", "a.py",
       "# it's here  \nx = '''a  \n'''\ny = 2  \n", "# it's here\nx = '''a  \n'''\ny = 2\n"},
      {"python one-line strings end at the line", "a.py", "a = 'x'  \nb = \"y\"  \n", "a = 'x'\nb = \"y\"\n"},
      // C and C++.
      {"C++ raw string", "a.cpp", "auto s = R\"xy(a  \n)\" b  \n)xy\";  \nint c;  \n",
       "auto s = R\"xy(a  \n)\" b  \n)xy\";\nint c;\n"},
      {"C++ raw string with u8 prefix", "a.hpp", "auto s = u8R\"(a  \n)\";\n", "auto s = u8R\"(a  \n)\";\n"},
      {"C comment quote is not a string", "a.c", "// don't  \nauto s = R\"(a  \n)\";\n",
       "// don't\nauto s = R\"(a  \n)\";\n"},
      {"block comment quote is not a string", "a.c", "/* it's  \n */ int x;  \n", "/* it's\n */ int x;\n"},
      {"digit separators are not quotes", "a.cpp", "int n = 1'000;  \nauto s = R\"(a  \n)\";\n",
       "int n = 1'000;\nauto s = R\"(a  \n)\";\n"},
      // JavaScript / TypeScript.
      {"JS template literal", "a.js", "const s = `a  \nb\t\n`;  \n", "const s = `a  \nb\t\n`;\n"},
      {"JS nested template in ${}", "a.ts", "const s = `a ${f(`in  \n`)}  \nb  \n`;  \nx;  \n",
       "const s = `a ${f(`in  \n`)}  \nb  \n`;\nx;\n"},
      {"JS regex with a backtick", "a.js", "const r = /`/;  \nconst t = `a  \n`;\n",
       "const r = /`/;\nconst t = `a  \n`;\n"},
      {"JS comment with a backtick", "a.jsx", "// use `x`  \nlet a = 1;  \n", "// use `x`\nlet a = 1;\n"},
      // Go.
      {"Go raw string", "a.go", "s := `a  \nb  \n`  \n", "s := `a  \nb  \n`\n"},
      // Rust.
      {"Rust string spanning lines", "a.rs", "let s = \"a  \nb\";  \n", "let s = \"a  \nb\";\n"},
      {"Rust raw string", "a.rs", "let s = r#\"a \"  \n\"#;  \n", "let s = r#\"a \"  \n\"#;\n"},
      {"Rust lifetime is not a char", "a.rs", "fn f<'a>(x: &'a str) {  \n let s = \"x  \ny\";\n}\n",
       "fn f<'a>(x: &'a str) {\n let s = \"x  \ny\";\n}\n"},
      {"Rust char with a quote", "a.rs", "let c = '\"';  \nlet d = 1;  \n", "let c = '\"';\nlet d = 1;\n"},
      // Shell.
      {"shell heredoc", "a.sh", "cat <<EOF  \na  \nEOF\necho b  \n", "cat <<EOF\na  \nEOF\necho b\n"},
      {"shell heredoc <<- with tabs", "a.sh", "cat <<-END\n\tx  \n\tEND\necho  \n", "cat <<-END\n\tx  \n\tEND\necho\n"},
      {"shell quoted heredoc", "a.bash", "cat <<'EOF' > f\n$x  \nEOF\n", "cat <<'EOF' > f\n$x  \nEOF\n"},
      {"shell single quotes across lines", "a.sh", "echo 'a  \nb'  \n", "echo 'a  \nb'\n"},
      {"shell double quotes across lines", "a.sh", "echo \"a  \nb\"  \n", "echo \"a  \nb\"\n"},
      {"shell comment quote", "a.sh", "# it's  \necho x  \n", "# it's\necho x\n"},
      {"shell arithmetic shift is not a heredoc", "a.sh", "x=$((1 << 2))  \necho  \n", "x=$((1 << 2))\necho\n"},
      {"shebang script without extension", "bin/tool", "#!/bin/bash\ncat <<EOF\na  \nEOF\n",
       "#!/bin/bash\ncat <<EOF\na  \nEOF\n"},
      // YAML.
      {"YAML literal block", "a.yml", "key: |\n  a  \n  b\t\nnext: x  \n", "key: |\n  a  \n  b\t\nnext: x\n"},
      {"YAML folded block with chomping", "a.yaml", "k: >-\n  a  \n\n  b  \nz: 1  \n",
       "k: >-\n  a  \n\n  b  \nz: 1\n"},
      {"YAML block in a sequence", "a.yml", "- |\n  x  \n- y  \n", "- |\n  x  \n- y\n"},
      {"YAML keep-chomped block at the end keeps its blank lines", "a.yml", "k: |+\n  x\n\n\n",
       "k: |+\n  x\n\n\n"},
      // Markdown.
      {"markdown hard break kept", "README.md", "line one  \nline two \n   \n", "line one  \nline two\n"},
      {"two spaces are not special in .txt", "a.txt", "line one  \n", "line one\n"},
      // Other string forms.
      {"Kotlin raw string", "a.kt", "val s = \"\"\"a  \n\"\"\"  \n", "val s = \"\"\"a  \n\"\"\"\n"},
      {"C# verbatim string", "a.cs", "var s = @\"a \"\" \n\";  \n", "var s = @\"a \"\" \n\";\n"},
      {"SQL string spanning lines", "a.sql", "select 'a  \nb' -- it's  \n", "select 'a  \nb' -- it's\n"},
      {"TOML multi-line string", "a.toml", "s = \"\"\"a  \n\"\"\"\nt = 1  \n", "s = \"\"\"a  \n\"\"\"\nt = 1\n"},
      // Left alone on purpose.
      {"Makefile values keep their spaces", "Makefile", "X = a  \n", "X = a  \n"},
      {"CSV fields keep their spaces", "data.csv", "a,b \n", "a,b \n"},
      {"patch files untouched", "fix.patch", "@@ -1 +1 @@\n \n-a\r\n", "@@ -1 +1 @@\n \n-a\r\n"},
      {"unterminated python string: trailing kept", "a.py", "x = 1  \ns = '''a  \n", "x = 1  \ns = '''a  \n"},
  };
  return table;
}

TEST_CASE("normalize_text rules", "[cleanup][normalize]") {
  for (const Case& c : cases()) {
    SECTION(c.name) {
      NormalizeOutcome out = normalize_text(c.path, c.input);
      CHECK(out.text == c.expected);
      CHECK(out.changed == (c.input != c.expected));
    }
  }
}

TEST_CASE("normalize_text reports its fixes and skips", "[cleanup][normalize]") {
  auto has = [](const NormalizeOutcome& o, const std::string& fix) {
    return std::find(o.fixes.begin(), o.fixes.end(), fix) != o.fixes.end();
  };
  NormalizeOutcome all = normalize_text("a.txt", "\xEF\xBB\xBF" "a  \r\nb\n\n");
  CHECK(has(all, "bom"));
  CHECK(has(all, "crlf"));
  CHECK(has(all, "trailing-whitespace"));
  CHECK(has(all, "final-newline"));
  CHECK(all.skipped_reason.empty());

  NormalizeOutcome clean = normalize_text("a.txt", "fine\n");
  CHECK_FALSE(clean.changed);
  CHECK(clean.fixes.empty());

  NormalizeOutcome broken = normalize_text("a.py", "s = '''open  \n");
  CHECK_FALSE(broken.skipped_reason.empty());
}

TEST_CASE("binary and non-UTF-8 files are untouched byte for byte", "[cleanup][normalize]") {
  std::string binary = "GIF89a\0\0  \r\n\xff\xfe trailing  \n"s;
  NormalizeOutcome b = normalize_text("image.gif.txt", binary);
  CHECK(b.text == binary);
  CHECK_FALSE(b.changed);
  CHECK(b.skipped_reason == "binary");
  CHECK(classify_bytes(binary) == TextKind::binary);

  std::string latin1 = "caf\xe9  \r\n"s;
  NormalizeOutcome l = normalize_text("a.txt", latin1);
  CHECK(l.text == latin1);
  CHECK(l.skipped_reason == "not UTF-8");
  CHECK(classify_bytes(latin1) == TextKind::binary);

  CHECK(classify_bytes("h\xc3\xa9llo \xe2\x82\xac\n") == TextKind::text);
  CHECK(classify_bytes("\xc0\xaf") == TextKind::binary);       // overlong '/'
  CHECK(classify_bytes("\xed\xa0\x80") == TextKind::binary);   // a surrogate
  CHECK(classify_bytes("\xf4\x90\x80\x80") == TextKind::binary);  // past U+10FFFF
}

TEST_CASE("normalize_text is idempotent", "[cleanup][normalize]") {
  for (const Case& c : cases()) {
    NormalizeOutcome once = normalize_text(c.path, c.input);
    NormalizeOutcome twice = normalize_text(c.path, once.text);
    INFO(c.name);
    CHECK(twice.text == once.text);
  }
}

}  // namespace
}  // namespace fti::cleanup
