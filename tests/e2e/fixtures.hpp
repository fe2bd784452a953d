#pragma once
// A small messy codebase, the kind a user uploads: CRLF endings, trailing white space, junk
// folders, a secret, a binary file, and white space that carries meaning.
#include "harness.hpp"

namespace fti::e2e {

inline const std::string kPythonWithMeaningfulSpaces =
    "def banner():\n"
    "    return \"\"\"\n"
    "    kept   \n"
    "\"\"\"   \n";

inline fs::path make_messy_tree(const fs::path& root) {
  write_file(root / "src/main.c", "int main(void) {   \r\n  return 0;\t\r\n}\r\n\r\n\r\n");
  write_file(root / "app.py", kPythonWithMeaningfulSpaces);
  write_file(root / "README.md", "# Demo\n\nline one  \nline two\n");
  write_file(root / "run.bat", "@echo off\r\necho hi   \r\n");
  write_file(root / "config.py", "AWS_KEY = 'AKIAIOSFODNN7EXAMPLE'\n");
  write_file(root / "logo.png", std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR  \r\n", 20));
  write_file(root / "node_modules/lodash/index.js", "module.exports = {};\n");
  write_file(root / "node_modules/lodash/package.json", "{}\n");
  write_file(root / "__pycache__/app.cpython-311.pyc", std::string("\x42\x0d\x0d\x0a", 4));
  write_file(root / ".DS_Store", std::string("\0\0\0\1Bud1", 8));
  return root;
}

// Zips the tree (the way a user would, with the zip tool) and returns the archive path.
inline fs::path zip_tree(const fs::path& tree, const fs::path& zip) {
  if (sh("cd '" + tree.string() + "' && zip -qr '" + zip.string() + "' .") != 0) {
    throw std::runtime_error("zip failed");
  }
  return zip;
}

inline fs::path make_messy_zip(const fs::path& dir) { return zip_tree(make_messy_tree(dir / "messy"), dir / "messy.zip"); }

// A codebase whose cleanup starts no formatter (text, a batch file, a junk folder): for tests
// of the engine and the cluster, where 200 jobs each starting black and prettier would cost
// minutes of CPU on two cores and measure the formatters instead.
inline fs::path make_plain_zip(const fs::path& dir) {
  auto tree = dir / "plain";
  write_file(tree / "notes.txt", "first line   \r\nsecond line\r\n");
  write_file(tree / "run.bat", "@echo off\r\necho hi   \r\n");
  write_file(tree / "node_modules/lodash/index.js", "module.exports = {};\n");
  return zip_tree(tree, dir / "plain.zip");
}

}  // namespace fti::e2e
