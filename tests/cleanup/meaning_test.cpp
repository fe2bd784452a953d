// "Meaning preserved": normalising must not change what a compiler or interpreter sees. The
// strongest check is to ask them: compile C and C++ before and after and compare the object
// files; compare Python's AST dump; run a shell script and compare its output.
#include <catch2/catch.hpp>

#include "cleanup_test_util.hpp"
#include "fti/cleanup/normalize.hpp"

namespace fti::cleanup {
namespace {

using testing::read_file;
using testing::run_command;
using testing::TempDir;
using testing::write_file;

// Writes `source` as before/<name> and its normalised form as after/<name>, and checks that
// normalisation actually changed something (otherwise the test proves nothing).
void write_pair(const TempDir& dir, const std::string& name, const std::string& source) {
  NormalizeOutcome out = normalize_text(name, source);
  REQUIRE(out.changed);
  REQUIRE(out.skipped_reason.empty());
  write_file(dir / ("before/" + name), source);
  write_file(dir / ("after/" + name), out.text);
}

// Runs `command` in before/ and in after/ (same relative names, so file names embedded in the
// output match) and returns what each wrote to `output`.
std::pair<std::string, std::string> run_both(const TempDir& dir, const std::string& command,
                                             const std::string& output) {
  std::string results[2];
  const char* sides[2] = {"before", "after"};
  for (int k = 0; k < 2; ++k) {
    std::string cmd = "cd '" + (dir / sides[k]).string() + "' && " + command;
    INFO(cmd);
    REQUIRE(run_command(cmd) == 0);
    results[k] = read_file(dir / (std::string(sides[k]) + "/" + output));
  }
  REQUIRE_FALSE(results[0].empty());
  return {results[0], results[1]};
}

const char* const kCSource =
    "/* a comment with a quote: it's   \r\n"
    " * and trailing spaces */  \r\n"
    "#include <stddef.h>   \r\n"
    "#define JOIN(a, b) \\   \r\n"
    "  a##b\t\r\n"
    "const char *s1 = \"tail  \";   \r\n"
    "const char *s2 = \"continued \\\r\n"
    "line\";\r\n"
    "const char c = '\"';  \r\n"
    "int JOIN(va, lue) = 42;\t\t\r\n"
    "size_t len(void) { return sizeof(\"x  \"); }   \r\n"
    "\r\n\r\n\r\n";

TEST_CASE("a C file compiles to the same object after normalising", "[cleanup][meaning]") {
  TempDir dir;
  write_pair(dir, "t.c", kCSource);
  auto [before, after] = run_both(dir, "gcc -w -g0 -O0 -c t.c -o t.o", "t.o");
  CHECK(before == after);
}

const char* const kCppSource =
    "#include <string>\n"
    "// don't be fooled by this quote   \n"
    "std::string raw = R\"delim(line one   \n"
    "line two\t\n"
    ")\" not the end   \n"
    ")delim\";   \n"
    "int n = 1'000'000;   \n"
    "const char* plain = \"x  \";  \n"
    "std::string other = u8R\"(  \n"
    "  )\";\n";

TEST_CASE("a C++ file with raw strings compiles to the same object", "[cleanup][meaning]") {
  TempDir dir;
  write_pair(dir, "t.cpp", kCppSource);
  auto [before, after] = run_both(dir, "g++ -std=c++17 -g0 -O0 -c t.cpp -o t.o", "t.o");
  CHECK(before == after);
}

const char* const kPythonSource =
    "# it's a comment with a \"quote   \n"
    "a = '''first   \n"
    "second\t\n"
    "'''   \n"
    "b = \"\"\"x\"\"\"  \n"
    "c = r'''raw \\'''   \n"
    "still raw   \n"
    "'''\n"
    "d = f\"\"\"{a!r}   \n"
    "\"\"\"\n"
    "e = rb\"\"\"bytes   \n"
    "\"\"\"\n"
    "f = 'one line'   \n"
    "g = \"with \\\"escaped\\\" quotes\"  \n"
    "def h():   \n"
    "    '''Docstring   \n"
    "    with trailing spaces.   \n"
    "    '''\n"
    "    return [a, b, c, d, e, f, g]\t\n"
    "\n\n\n";

TEST_CASE("a Python file has the same AST after normalising", "[cleanup][meaning]") {
  TempDir dir;
  write_pair(dir, "t.py", kPythonSource);
  auto [before, after] = run_both(
      dir, "python3 -c \"import ast; print(ast.dump(ast.parse(open('t.py').read())))\" > ast.txt",
      "ast.txt");
  CHECK(before == after);
}

const char* const kShellSource =
    "#!/bin/sh\n"
    "# it's a comment   \n"
    "cat <<EOF   \n"
    "heredoc line   \n"
    "EOF\n"
    "cat <<-'END'\n"
    "\tquoted heredoc\t\n"
    "\tEND\n"
    "echo 'single   \n"
    "quoted'   \n"
    "echo \"double  \n"
    "quoted\"\n"
    "echo done   \n";

TEST_CASE("a shell script prints the same after normalising", "[cleanup][meaning]") {
  TempDir dir;
  write_pair(dir, "t.sh", kShellSource);
  auto [before, after] = run_both(dir, "sh t.sh > out.txt", "out.txt");
  CHECK(before == after);
}

}  // namespace
}  // namespace fti::cleanup

namespace fti::cleanup {
namespace {

// CRLF inside a raw string: compilers read it as LF (translation phase 1), so turning it into
// LF keeps the object the same, while the trailing spaces inside must stay.
TEST_CASE("a C++ raw string with CRLF and trailing spaces inside compiles the same",
          "[cleanup][meaning]") {
  const std::string source =
      "#include <string>\r\n"
      "std::string raw = R\"(spaces   \r\n"
      "tab\t\r\n"
      "   \r\n"
      ")\";   \r\n"
      "std::size_t n() { return raw.size(); }\r\n";
  TempDir dir;
  write_pair(dir, "t.cpp", source);
  CHECK(read_file(dir / "after/t.cpp").find("R\"(spaces   \ntab\t\n   \n)\";\n") != std::string::npos);
  auto [before, after] = run_both(dir, "g++ -std=c++17 -g0 -O0 -c t.cpp -o t.o", "t.o");
  CHECK(before == after);
}

TEST_CASE("Markdown hard line breaks survive, other trailing spaces go", "[cleanup][meaning]") {
  NormalizeOutcome out = normalize_text("README.md",
                                        "first line  \r\nsecond line \nthird   \n\tcode\t\n");
  CHECK(out.text == "first line  \nsecond line\nthird   \n\tcode\n");
}

}  // namespace
}  // namespace fti::cleanup
