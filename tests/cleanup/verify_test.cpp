#include "fti/cleanup/verify.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>

#include "../../src/cleanup/line_diff.hpp"
#include "../../src/cleanup/redaction.hpp"
#include "cleanup_test_util.hpp"

namespace fti::cleanup {
namespace {

using testing::TempDir;
namespace fs = std::filesystem;
using Names = std::vector<std::string>;

const char* const kPython =
    "import os\n"
    "\n"
    "LIMIT = 10\n"
    "\n"
    "\n"
    "def total(items):\n"
    "    return sum(items)\n"
    "\n"
    "\n"
    "class Cart:\n"
    "    def add(self, item):\n"
    "        self.items.append(item)\n";

TEST_CASE("languages by extension", "[cleanup][verify]") {
  CHECK(code_language_of("a/b.py") == CodeLanguage::python);
  CHECK(code_language_of("x.h") == CodeLanguage::c);
  CHECK(code_language_of("x.HPP") == CodeLanguage::cpp);
  CHECK(code_language_of("web/app.mjs") == CodeLanguage::javascript);
  CHECK(code_language_of("web/app.tsx") == CodeLanguage::typescript);
  CHECK(code_language_of("notes.txt") == CodeLanguage::other);
  CHECK(code_language_of("Makefile") == CodeLanguage::other);
}

TEST_CASE("syntax checks run the language's own tool outside the tree", "[cleanup][verify]") {
  TempDir dir;
  fs::path scratch = dir / "scratch";
  struct Case {
    CodeLanguage language;
    const char* name;
    const char* good;
    const char* bad;
    const char* tool;
  };
  const Case cases[] = {
      {CodeLanguage::python, "ast.py", kPython, "def broken(:\n    pass\n", "python3"},
      {CodeLanguage::c, "m.c", "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n",
       "int main(void) { return 0 }\n", "gcc"},
      {CodeLanguage::cpp, "m.cpp", "#include <vector>\nauto f() { return std::vector<int>{1}; }\n",
       "auto f() { return std::vector<int>{1}; }\n", "g++"},
      {CodeLanguage::javascript, "m.js", "export const a = 1;\nfunction b() { return a; }\n",
       "function b( { return 1; }\n", "node"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    SyntaxResult good = check_syntax(c.language, c.name, c.good, scratch);
    CHECK(good.status == SyntaxStatus::passed);
    CHECK(good.tool == c.tool);
    SyntaxResult bad = check_syntax(c.language, c.name, c.bad, scratch);
    CHECK(bad.status == SyntaxStatus::failed);
    CHECK_FALSE(bad.detail.empty());
    CHECK(bad.detail.find(scratch.string()) == std::string::npos);  // the file's own name instead
  }
  // Every check cleans up after itself: no copies, no .pyc files.
  CHECK(testing::list_tree(scratch).empty());
  CHECK(check_syntax(CodeLanguage::typescript, "a.ts", "let a: number = 1;\n", scratch).status ==
        SyntaxStatus::unavailable);
}

TEST_CASE("brackets are counted outside comments and strings", "[cleanup][verify]") {
  CHECK_FALSE(unbalanced_brackets(CodeLanguage::c, "int f() { return g(\"(\", '}'); } // {\n"));
  CHECK_FALSE(
      unbalanced_brackets(CodeLanguage::javascript, "const s = `${a} {`; /* ( */ f([1]);\n"));
  CHECK_FALSE(unbalanced_brackets(CodeLanguage::python, "x = f('(')  # [\n"));
  auto missing = unbalanced_brackets(CodeLanguage::c, "int f() {\n  return 1;\n");
  REQUIRE(missing);
  CHECK(missing->find("line 1") != std::string::npos);
  CHECK(unbalanced_brackets(CodeLanguage::typescript, "f(a]\n"));
}

TEST_CASE("python top-level definitions", "[cleanup][verify]") {
  Names names = top_level_definitions(CodeLanguage::python,
                                      "import os\n"
                                      "MAX_SIZE = 3\n"
                                      "lower_case = 4\n"
                                      "TIMEOUT: int = 5\n"
                                      "@decorator\n"
                                      "def run(a,\n"
                                      "        b):\n"
                                      "    def inner(): pass\n"
                                      "    INNER = 1\n"
                                      "async def fetch(): pass\n"
                                      "class Store(Base):\n"
                                      "    def method(self): pass\n"
                                      "'''\n"
                                      "def in_docstring(): pass\n"
                                      "'''\n"
                                      "# def in_comment(): pass\n"
                                      "text = \"def in_string(): pass\"\n"
                                      "if MAX_SIZE == 3:\n"
                                      "    pass\n");
  CHECK(names == Names{"MAX_SIZE", "Store", "TIMEOUT", "fetch", "import:os", "lower_case", "run",
                       "text"});
}

TEST_CASE("C and C++ top-level definitions", "[cleanup][verify]") {
  Names c = top_level_definitions(CodeLanguage::c,
                                  "#include <stdio.h>\n"
                                  "#define BUFFER_SIZE 64\n"
                                  "#define SQUARE(x) \\\n  ((x) * (x))\n"
                                  "static int counter = 0;\n"
                                  "const char *names[] = {\"a\", \"b\"};\n"
                                  "struct point { int x; int y; };\n"
                                  "typedef struct { int w; } size_t2;\n"
                                  "typedef int (*handler)(int);\n"
                                  "enum color { RED, GREEN };\n"
                                  "int add(int a, int b);\n"
                                  "/* int in_comment(void); */\n"
                                  "static const char *s = \"int in_string(void);\";\n"
                                  "struct point *make_point(void) {\n"
                                  "  int local = 1;\n"
                                  "  if (local) { return 0; }\n"
                                  "  return 0;\n"
                                  "}\n"
                                  "int add(int a, int b) { return a + b; }\n");
  CHECK(c == Names{"BUFFER_SIZE", "SQUARE", "add", "color", "handler", "make_point", "names",
                   "point", "size_t2", "static:counter", "static:s"});

  Names cpp = top_level_definitions(CodeLanguage::cpp,
                                    "namespace app {\n"
                                    "template <typename T>\n"
                                    "class Box final : public Base {\n"
                                    " public:\n"
                                    "  void hidden() {}\n"
                                    "};\n"
                                    "using Id = long;\n"
                                    "enum class Mode : int { on, off };\n"
                                    "int Box::size() const { return 1; }\n"
                                    "std::map<int, int> table;\n"
                                    "auto lambda = [](int x) { return x; };\n"
                                    "}  // namespace app\n"
                                    "extern \"C\" {\n"
                                    "int c_api(void);\n"
                                    "}\n"
                                    "int main() { return 0; }\n");
  CHECK(cpp == Names{"app", "app::Box", "app::Box::size", "app::Id", "app::Mode", "app::lambda",
                     "app::table", "c_api", "main"});
}

TEST_CASE("JavaScript and TypeScript top-level definitions", "[cleanup][verify]") {
  Names js = top_level_definitions(CodeLanguage::javascript,
                                   "import x from 'y';\n"
                                   "const API = 'https://example.com/{a}';\n"
                                   "let count = 0\n"
                                   "var legacy = 1;\n"
                                   "function helper() { const inner = 1; return inner; }\n"
                                   "async function load() {}\n"
                                   "class Widget extends Base { method() {} }\n"
                                   "const tpl = `function in_template() {}`;\n"
                                   "// function in_comment() {}\n"
                                   "export { helper as publicHelper, load };\n"
                                   "export default Widget;\n"
                                   "module.exports.extra = 1;\n");
  CHECK(js == Names{"API", "Widget", "count", "export:default", "export:extra", "export:load",
                    "export:publicHelper", "helper", "legacy", "load", "tpl"});
  Names ts = top_level_definitions(CodeLanguage::typescript,
                                   "export interface Shape { area(): number }\n"
                                   "type Id = string;\n"
                                   "export enum Kind { A, B }\n");
  CHECK(ts == Names{"Id", "Kind", "Shape", "export:Kind", "export:Shape"});
}

Names sorted(std::initializer_list<const char*> names) {
  Names out(names.begin(), names.end());
  std::sort(out.begin(), out.end());
  return out;
}

TEST_CASE("JavaScript exports are facts of their own", "[cleanup][verify]") {
  Names js = top_level_definitions(CodeLanguage::javascript,
                                   "export function f() {}\n"
                                   "export const a = 1;\n"
                                   "export default class Widget {}\n"
                                   "export * from './util';\n"
                                   "export * as ns from \"./ns\";\n"
                                   "module.exports = { add, sub: subtract, async load() {}, ...rest };\n"
                                   "module.exports.extra = 1;\n"
                                   "exports.other = 2;\n"
                                   "function plain() {}\n");
  CHECK(js == sorted({"Widget", "a", "export:* from ./util", "export:a", "export:add",
                      "export:default", "export:extra", "export:f", "export:load", "export:ns",
                      "export:other", "export:sub", "f", "module.exports", "plain"}));
  CHECK(top_level_definitions(CodeLanguage::typescript,
                              "export { x } from './y';\n"
                              "export type { T } from './t';\n"
                              "export const enum E { A }\n"
                              "export declare function d(): void;\n"
                              "export = api;\n") ==
        sorted({"E", "d", "export:=", "export:E", "export:T", "export:d", "export:x"}));

  TempDir dir;
  VerifyLimits limits{0.5, 1.5, dir / "scratch"};
  CodeVerifier esm("web/lib.js", "export function f() {\n  return 1;\n}\n", limits);
  CodeVerdict unexported = esm.verify("function f() {\n  return 1;\n}\n", "stop");
  CHECK(unexported.reason == "drops a top-level name");
  CHECK(unexported.detail == "drops export:f");
  CodeVerifier cjs("lib.js", "function add(a, b) { return a + b; }\nmodule.exports = { add, x: 1 };\n",
                   limits);
  CHECK(cjs.verify("function add(a, b) { return a + b; }\nmodule.exports = { add };\n", "stop")
            .detail == "drops export:x");
  CodeVerifier star("index.ts", "export * from './a';\nexport * from './b';\n", limits);
  CHECK(star.verify("export * from './a';\nexport * from './c';\n", "stop").detail ==
        "drops export:* from ./b");
}

TEST_CASE("Python facts: imports and __all__ and assignments and the __main__ guard", "[cleanup][verify]") {
  const std::string module =
      "from __future__ import annotations\n"
      "import os\n"
      "import os.path as osp\n"
      "import xml.etree.ElementTree\n"
      "from typing import (\n"
      "    Any,\n"
      "    List as L,\n"
      ")\n"
      "from .models import *\n"
      "import json, \\\n"
      "    csv  # noqa: F401\n"
      "__all__ = ['run', \"Store\"]\n"
      "__version__ = '1.0'\n"
      "app = Flask(__name__)\n"
      "a, b = 1, 2\n"
      "count += 1\n"
      "def run(x: Any) -> L: pass\n"
      "try:\n"
      "    import yaml\n"
      "except ImportError:\n"
      "    yaml = None\n"
      "if __name__ == '__main__':\n"
      "    run(osp)\n";
  CHECK(top_level_definitions(CodeLanguage::python, module) ==
        sorted({"__all__", "__all__:Store", "__all__:run", "__version__", "a", "app", "b",
                "guard:__main__", "import:Any", "import:L", "import:annotations", "import:csv",
                "import:from .models import *", "import:json", "import:os", "import:osp",
                "import:xml.etree.ElementTree", "run"}));

  // Outside a package's __init__.py and without __all__, an import whose name the file never
  // uses may go; __future__ and * imports, and those marked noqa, stay.
  const std::string plain =
      "from __future__ import annotations\n"
      "import os\n"
      "import sys\n"
      "import json as j\n"
      "from m import used, unused\n"
      "import plugins  # noqa: F401 (registers the plugins)\n"
      "from .models import *\n"
      "# sys in a comment, j in a string:\n"
      "print(sys.argv, used, 'j')\n";
  Names plain_keep = names_to_keep("app/main.py", CodeLanguage::python, plain);
  CHECK(plain_keep == sorted({"import:annotations", "import:from .models import *",
                              "import:plugins", "import:sys", "import:used"}));
  Names all_imports = sorted({"import:annotations", "import:from .models import *", "import:j",
                              "import:os", "import:plugins", "import:sys", "import:unused",
                              "import:used"});
  CHECK(names_to_keep("app/__init__.py", CodeLanguage::python, plain) == all_imports);
  Names with_all = names_to_keep("app/api.py", CodeLanguage::python, plain + "__all__ = []\n");
  CHECK(std::includes(with_all.begin(), with_all.end(), all_imports.begin(), all_imports.end()));

  TempDir dir;
  VerifyLimits limits{0.5, 1.5, dir / "scratch"};
  const std::string script =
      "import os\n"
      "import sys\n"
      "\n"
      "app = object()\n"
      "\n"
      "\n"
      "def main():\n"
      "    return len(sys.argv)\n"
      "\n"
      "\n"
      "if __name__ == \"__main__\":\n"
      "    sys.exit(main())\n";
  CodeVerifier verifier("tool.py", script, limits);
  auto without = [&](std::string_view line) {
    std::string out = script;
    out.erase(out.find(line), line.size());
    return out;
  };
  CHECK(verifier.verify(without("import os\n"), "stop").confidence >= 0.8);  // unused: may go
  CHECK(verifier.verify(without("import sys\n"), "stop").detail == "drops import:sys");
  CHECK(verifier.verify(without("app = object()\n"), "stop").detail == "drops app");
  std::string unguarded = without("if __name__ == \"__main__\":\n    sys.exit(main())\n") +
                          "sys.exit(main())  # run it, always\n";
  CHECK(verifier.verify(unguarded, "stop").detail == "drops guard:__main__");
  CodeVerifier package("pkg/__init__.py", script, limits);
  CHECK(package.verify(without("import os\n"), "stop").detail == "drops import:os");
}

TEST_CASE("C linkage and C++ namespaces are kept", "[cleanup][verify]") {
  CHECK(top_level_definitions(CodeLanguage::c,
                              "static int counter;\n"
                              "int shared;\n"
                              "static inline int helper(void) { return 0; }\n"
                              "int api(void);\n"
                              "static struct { int x; } state;\n") ==
        sorted({"api", "shared", "static:counter", "static:helper", "static:state"}));
  CHECK(top_level_definitions(CodeLanguage::cpp,
                              "namespace {\n"
                              "int hidden() { return 1; }\n"
                              "}\n"
                              "namespace a::b { int f(); }\n"
                              "namespace outer {\n"
                              "inline namespace v1 { void g(); }\n"
                              "static int n = 0;\n"
                              "}\n") ==
        sorted({"a::b", "a::b::f", "outer", "outer::v1", "outer::v1::g", "static:hidden",
                "static:outer::n"}));
  // A namespace alias declares nothing; a stray '}' closes no scope.
  CHECK(top_level_definitions(CodeLanguage::cpp, "namespace fs = std::filesystem;\n}\nint after;\n") ==
        Names{"after"});

  TempDir dir;
  VerifyLimits limits{0.5, 1.5, dir / "scratch"};
  const std::string c = "int helper(int n) { return n * 2; }\nint twice(int n) { return helper(n); }\n";
  CodeVerifier verifier("m.c", c, limits);
  CodeVerdict made_static = verifier.verify("static " + c, "stop");
  CHECK(made_static.reason == "drops a top-level name");
  CHECK(made_static.detail == "drops helper");
  const std::string cpp = "namespace util {\nint twice(int n) { return n * 2; }\n}\n";
  CodeVerifier namespaced("u.cpp", cpp, limits);
  CHECK(namespaced.verify("int twice(int n) { return n * 2; }\n\n\n\n\n\n\n\n", "stop").detail ==
        "drops util, util::twice");
}

TEST_CASE("syntax checkers run under limits: hostile includes end quickly", "[cleanup][verify]") {
  TempDir dir;
  fs::path scratch = dir / "scratch";
  auto seconds_for = [](auto&& f) {
    auto start = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  SyntaxResult zero;
  double zero_s = seconds_for([&] {
    zero = check_syntax(CodeLanguage::c, "z.c", "#include \"/dev/zero\"\nint x;\n", scratch);
  });
  CHECK(zero.status == SyntaxStatus::failed);  // out of memory under the limit, not a timeout
  CHECK(zero_s < 5);
  SyntaxResult in;
  double in_s = seconds_for([&] {
    in = check_syntax(CodeLanguage::cpp, "s.cpp", "#include \"/dev/stdin\"\nint x;\n", scratch);
  });
  CHECK(in.status != SyntaxStatus::unavailable);  // stdin is an empty pipe: never waits
  CHECK(in_s < 5);

  VerifyLimits limits{0.5, 1.5, scratch};
  CodeVerifier hostile("h.c", "#include \"/dev/zero\"\nint twice(int n) { return n * 2; }\n", limits);
  CHECK(hostile.best_possible_confidence() == Approx(0.7));  // judged structurally only
  CodeVerifier plain("p.c", "int twice(int n) {\n  int doubled = n * 2;\n  return doubled;\n}\n", limits);
  CHECK(plain.verify("#include \"/dev/zero\"\nint twice(int n) { return n * 2; }\n", "stop").reason ==
        "does not parse");
  CHECK(testing::list_tree(scratch).empty());
}

TEST_CASE("answers: one fence is unwrapped, prose is rejected", "[cleanup][verify]") {
  auto fenced = extract_code("```python\nx = 1\n```\n", CodeLanguage::python);
  REQUIRE(fenced.code);
  CHECK(*fenced.code == "x = 1\n");
  auto plain = extract_code("\n\nx = 1", CodeLanguage::python);
  REQUIRE(plain.code);
  CHECK(*plain.code == "x = 1\n");

  const std::pair<const char*, const char*> rejected[] = {
      {"", "empty answer"},
      {"Here is the cleaned code:\n```python\nx = 1\n```\n",
       "not code: prose around a Markdown fence"},
      {"```python\nx = 1\n```\nI removed the dead code.\n",
       "not code: prose around a Markdown fence"},
      {"```\nx = 1\n```\n\n```\ny = 2\n```\n", "not code: several Markdown blocks"},
      {"```python\nx = 1\n", "not code: an unclosed Markdown fence"},
      {"Sure! x = 1\n", "not code: reads like prose"},
      {"x = 1\nThis version removes the unused import and renames variables.\n",
       "not code: reads like prose"},
  };
  for (const auto& [answer, reason] : rejected) {
    INFO(answer);
    auto out = extract_code(answer, CodeLanguage::python);
    CHECK_FALSE(out.code);
    CHECK(out.reason == reason);
  }
  // Sentences inside comments and docstrings are fine.
  CHECK(extract_code(
            "# This function adds all the numbers.\n\"\"\"It does so quickly.\"\"\"\nx = 1\n",
            CodeLanguage::python)
            .code);
}

std::string nested_python(int functions, int depth) {
  std::string out;
  for (int f = 0; f < functions; ++f) {
    out += "def f" + std::to_string(f) + "(x):\n";
    for (int d = 1; d <= depth; ++d) {
      out +=
          std::string(4 * static_cast<std::size_t>(d), ' ') + "if x > " + std::to_string(d) + ":\n";
    }
    out += std::string(4 * static_cast<std::size_t>(depth + 1), ' ') + "return x\n";
    out += "    y = x + 1\n    z = y * 2\n    return z\n\n";
  }
  return out;
}

TEST_CASE("complexity grows with length, nesting and branches", "[cleanup][verify]") {
  std::string script =
      "import sys\n\n"
      "def main():\n"
      "    name = sys.argv[1]\n"
      "    if not name:\n"
      "        return 1\n"
      "    print('hello', name)\n"
      "    return 0\n\n"
      "sys.exit(main())\n";
  double small = estimate_complexity(CodeLanguage::python, script);
  double mid = estimate_complexity(CodeLanguage::python, nested_python(20, 3));
  double big = estimate_complexity(CodeLanguage::python, nested_python(60, 7));
  INFO(small << " " << mid << " " << big);
  CHECK(small < 0.3);
  CHECK(mid >= 0.3);
  CHECK(mid < 0.7);
  CHECK(big >= 0.7);
  CHECK(big <= 1.0);
  CHECK(estimate_complexity(CodeLanguage::c, "") == 0);
  // Comments do not count as code.
  std::string commented(2000, '#');
  CHECK(estimate_complexity(CodeLanguage::python, commented + "\nx = 1\n") < 0.1);
}

TEST_CASE("confidence: parsing answers pass, the rest escalate or fail", "[cleanup][verify]") {
  TempDir dir;
  VerifyLimits limits{0.5, 1.5, dir / "scratch"};
  CodeVerifier python("app/cart.py", kPython, limits);
  std::string cleaner = std::string(kPython).replace(0, 11, "");  // drops "import os\n\n"

  CodeVerdict ok = python.verify(cleaner, "stop");
  CHECK(ok.confidence >= 0.8);
  CHECK(ok.code == cleaner);
  CHECK(python.best_possible_confidence() == 1);

  CHECK(python.verify("```python\n" + cleaner + "```\n", "stop").confidence >= 0.8);
  CodeVerdict broken = python.verify(cleaner + "def oops(:\n", "stop");
  CHECK(broken.confidence == 0);
  CHECK(broken.reason == "does not parse");
  std::string renamed = kPython;
  renamed.replace(renamed.find("def total"), 9, "def sum_of");
  CodeVerdict dropped = python.verify(renamed, "stop");
  CHECK(dropped.confidence == 0);
  CHECK(dropped.reason == "drops a top-level name");
  CHECK(dropped.detail.find("total") != std::string::npos);
  CHECK(python.verify(kPython, "length").reason == "truncated at max_tokens");
  CHECK(python.verify("LIMIT = 10\ndef total(i): pass\nclass Cart: pass\n", "stop").reason ==
        "size out of range");
  // Near the size bounds the confidence drops below the default threshold.
  std::string padded =
      std::string(kPython) + "# " + std::string(std::strlen(kPython) * 2 / 5, 'x') + "\n";
  double near_bound = python.verify(padded, "stop").confidence;
  CHECK(near_bound > 0);
  CHECK(near_bound < 0.8);

  // TypeScript has no checker here: the structural check alone stays under the threshold.
  CodeVerifier ts("a.ts", "export function f(a: number) { return a; }\n", limits);
  CodeVerdict structural = ts.verify("export function f(a: number) {\n  return a;\n}\n", "stop");
  CHECK(structural.confidence == Approx(0.7));
  CHECK(structural.reason == "only a structural check");
  CHECK(ts.verify("export function f(a: number) { return a;\n", "stop").reason ==
        "brackets do not balance");
}

TEST_CASE("C without its project's headers falls back to the structural check",
          "[cleanup][verify]") {
  TempDir dir;
  VerifyLimits limits{0.5, 1.5, dir / "scratch"};
  const char* original = "#include \"project.h\"\nint twice(widget_t w) { return w.n * 2; }\n";
  CodeVerifier c("src/w.c", original, limits);
  CHECK(c.best_possible_confidence() == Approx(0.7));
  CHECK(c.limitation() == "the original does not pass gcc on its own");
  CHECK(c.verify("#include \"project.h\"\nint twice(widget_t w) {\n  return w.n * 2;\n}\n", "stop")
            .confidence == Approx(0.7));

  // A self-contained file is checked for real.
  CodeVerifier real("src/m.c", "int twice(int n) { return n * 2; }\n", limits);
  CHECK(real.best_possible_confidence() == 1);
  CHECK(real.verify("int twice(int n) {\n  return n * 2\n}\n", "stop").reason == "does not parse");
  // A C++ header named .h is checked as C++ when C rejects it.
  CodeVerifier header("include/box.h", "#pragma once\nclass Box { public: int n = 0; };\n", limits);
  CHECK(header.best_possible_confidence() == 1);
}

TEST_CASE("redaction replaces secrets and restores them only when all come back",
          "[cleanup][verify]") {
  const std::string key = "AKIA" + std::string("ABCDEFGHIJKLMNOP");
  const std::string pem =
      "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----";
  std::string text = "A = '" + key + "'\nB = '" + key + "'\nPEM = \"\"\"" + pem + "\"\"\"\n";
  auto r = detail::Redaction::of(text);
  REQUIRE(r);
  CHECK(r->secret_count() == 2);  // the same key twice is one placeholder
  CHECK(r->text().find(key) == std::string::npos);
  CHECK(r->text().find("MIIEowIBAAKCAQEA") == std::string::npos);
  CHECK(r->text().find("__FTI_SECRET_0__") != std::string::npos);
  auto back = r->restore(r->text());
  REQUIRE(back);
  CHECK(*back == text);
  std::string dropped = r->text();
  dropped.erase(dropped.find("B = "),
                dropped.find('\n', dropped.find("B = ")) + 1 - dropped.find("B = "));
  REQUIRE_FALSE(r->restore(dropped));
  CHECK(r->restore(dropped).error().message == "would drop a redacted secret");
  CHECK_FALSE(r->restore(r->text() + "C = '__FTI_SECRET_0__'\n"));
  CHECK_FALSE(r->restore(r->text() + "D = '__FTI_SECRET_7__'\n"));
  CHECK_FALSE(detail::Redaction::of("x = '__FTI_SECRET_0__'\n"));
  CHECK(detail::mask_secrets("keys/" + key + ".txt") == "keys/[redacted].txt");
}

TEST_CASE("line changes are counted like a diff", "[cleanup][verify]") {
  auto d = detail::count_line_changes("a\nb\nc\nd\n", "a\nx\nc\nd\ne\n");
  CHECK(d.added == 2);
  CHECK(d.removed == 1);
  auto moved = detail::count_line_changes("import os\nimport sys\nx = 1\n", "import sys\nx = 1\n");
  CHECK(moved.added == 0);
  CHECK(moved.removed == 1);
  auto same = detail::count_line_changes("a\n", "a\n");
  CHECK(same.added == 0);
  CHECK(same.removed == 0);
}

}  // namespace
}  // namespace fti::cleanup
