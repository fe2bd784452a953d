#include "fti/cleanup/archive.hpp"

#include <catch2/catch.hpp>

#include "cleanup_test_util.hpp"

namespace fti::cleanup {
namespace {

using testing::build_archive;
using testing::Format;
using testing::Spec;
using testing::TempDir;

// The layout every hostile case uses: base/in.<ext> is the archive, base/dest the target.
// After a refused extraction base must hold nothing but those two.
struct Sandbox {
  TempDir base;
  std::filesystem::path archive = base / "in.archive";
  std::filesystem::path dest = base / "dest";
  Sandbox() { std::filesystem::create_directory(dest); }

  Result<ExtractStats> extract(const std::vector<Spec>& entries, Format format = Format::tar,
                               ExtractLimits limits = {}) {
    build_archive(archive, format, entries);
    return extract_archive(archive, dest, limits);
  }

  bool nothing_outside() const {
    for (const auto& e : std::filesystem::directory_iterator(base.path())) {
      if (e.path() != archive && e.path() != dest) return false;
    }
    return true;
  }
};

std::string code_of(const Result<ExtractStats>& r) { return r.ok() ? "ok" : r.error().code; }

TEST_CASE("hostile archives are refused with the right code and nothing outside dest",
          "[cleanup][archive]") {
  struct Case {
    const char* name;
    Format format;
    std::vector<Spec> entries;
    const char* code;
  };
  std::string abs_target = (std::filesystem::temp_directory_path() / "fti-abs-evil.txt").string();
  const std::vector<Case> cases = {
      {"zip-slip ../ in a zip", Format::zip, {{"a/../../evil.txt", Spec::file, "x"}}, "unsafe_archive"},
      {"zip-slip ../ in a tar", Format::tar, {{"../evil.txt", Spec::file, "x"}}, "unsafe_archive"},
      {"absolute path", Format::tar, {{abs_target, Spec::file, "x"}}, "unsafe_archive"},
      {"backslash traversal", Format::zip, {{"..\\evil.txt", Spec::file, "x"}}, "unsafe_archive"},
      {"symlink escaping with ..", Format::tar,
       {{"link", Spec::symlink, "", "../outside"}}, "unsafe_archive"},
      {"symlink to an absolute path", Format::zip,
       {{"link", Spec::symlink, "", "/etc/passwd"}}, "unsafe_archive"},
      {"symlink climbing after a name", Format::tar,
       {{"self", Spec::symlink, "", "."}, {"x", Spec::symlink, "", "self/../../y"}}, "unsafe_archive"},
      {"write through an in-tree symlink", Format::tar,
       {{"real", Spec::dir}, {"link", Spec::symlink, "", "real"},
        {"link/evil.txt", Spec::file, "x"}},
       "unsafe_archive"},
      {"file over an earlier symlink", Format::tar,
       {{"real.txt", Spec::file, "a"}, {"link", Spec::symlink, "", "real.txt"},
        {"link", Spec::file, "overwrite"}},
       "unsafe_archive"},
      {"hard link escaping", Format::tar,
       {{"h", Spec::hardlink, "", "../../etc/passwd"}}, "unsafe_archive"},
      {"hard link to a missing entry", Format::tar,
       {{"h", Spec::hardlink, "", "nothere.txt"}}, "unsafe_archive"},
      {"character device", Format::tar, {{"dev/null", Spec::chardev}}, "unsafe_archive"},
      {"fifo", Format::tar, {{"pipe", Spec::fifo}}, "unsafe_archive"},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      Sandbox box;
      auto r = box.extract(c.entries, c.format);
      CHECK(code_of(r) == c.code);
      CHECK(box.nothing_outside());
      CHECK_FALSE(std::filesystem::exists(abs_target));
      CHECK_FALSE(std::filesystem::exists(box.dest / "real" / "evil.txt"));
      CHECK(testing::read_file(box.dest / "real.txt") != "overwrite");
    }
  }
}

TEST_CASE("extraction limits", "[cleanup][archive]") {
  Sandbox box;
  SECTION("too many entries in a tar.gz") {
    std::vector<Spec> entries;
    for (int i = 0; i < 20; ++i) entries.push_back({"f" + std::to_string(i), Spec::file, "x"});
    ExtractLimits limits;
    limits.max_files = 10;
    CHECK(code_of(box.extract(entries, Format::tar_gz, limits)) == "archive_limits");
  }
  SECTION("a zip whose directory declares more entries than max_files") {
    std::vector<Spec> entries;
    for (int i = 0; i < 30; ++i) entries.push_back({"f" + std::to_string(i), Spec::file, "x"});
    ExtractLimits limits;
    limits.max_files = 10;
    auto r = box.extract(entries, Format::zip, limits);
    CHECK(code_of(r) == "archive_limits");
    CHECK(r.error().message.find("declares 30 entries") != std::string::npos);
  }
  SECTION("a zip bomb: 50 MiB of zeros") {
    auto r = box.extract({{"zeros.bin", Spec::file, std::string(50 << 20, '\0')}}, Format::zip);
    CHECK(code_of(r) == "archive_limits");
    CHECK(r.error().message.find("zip bomb") != std::string::npos);
  }
  SECTION("declared sizes past max_unpacked_bytes") {
    ExtractLimits limits;
    limits.max_unpacked_bytes = 1000;
    auto r = box.extract({{"a", Spec::file, std::string(600, 'a')}, {"b", Spec::file, std::string(600, 'b')}},
                         Format::tar_gz, limits);
    CHECK(code_of(r) == "archive_limits");
  }
  SECTION("one entry over max_file_bytes") {
    ExtractLimits limits;
    limits.max_file_bytes = 100;
    for (Format format : {Format::tar, Format::zip}) {
      CHECK(code_of(box.extract({{"a", Spec::file, std::string(101, 'a')}}, format, limits)) == "archive_limits");
    }
  }
  CHECK(box.nothing_outside());
  // Every limit here is seen in the headers: refused before a single file was written.
  CHECK(std::filesystem::is_empty(box.dest));
}

TEST_CASE("not an archive or a broken one is bad_archive", "[cleanup][archive]") {
  Sandbox box;
  SECTION("plain text") {
    testing::write_file(box.archive, "just some text\nthat is not an archive\n");
    CHECK(code_of(extract_archive(box.archive, box.dest, {})) == "bad_archive");
  }
  SECTION("empty file") {
    testing::write_file(box.archive, "");
    CHECK(code_of(extract_archive(box.archive, box.dest, {})) == "bad_archive");
  }
  SECTION("truncated tar.gz") {
    std::string data;
    for (int i = 0; i < 2000; ++i) data += "line " + std::to_string(i * 7919 % 10007) + "\n";
    build_archive(box.archive, Format::tar_gz, {{"a.txt", Spec::file, data}});
    std::string bytes = testing::read_file(box.archive);
    testing::write_file(box.archive, bytes.substr(0, bytes.size() / 2));
    CHECK(code_of(extract_archive(box.archive, box.dest, {})) == "bad_archive");
  }
  SECTION("truncated zip") {
    std::string data;
    for (int i = 0; i < 2000; ++i) data += "row " + std::to_string(i * 31337 % 65521) + "\n";
    build_archive(box.archive, Format::zip, {{"a.txt", Spec::file, data}});
    std::string bytes = testing::read_file(box.archive);
    testing::write_file(box.archive, bytes.substr(0, bytes.size() / 2));
    CHECK(code_of(extract_archive(box.archive, box.dest, {})) == "bad_archive");
  }
  CHECK(box.nothing_outside());
}

TEST_CASE("a normal archive extracts with in-tree links kept", "[cleanup][archive]") {
  for (Format format : {Format::zip, Format::tar, Format::tar_gz}) {
    Sandbox box;
    auto r = box.extract({{"src", Spec::dir},
                          {"src/main.c", Spec::file, "int main(void) { return 0; }\n"},
                          {"bin/run.sh", Spec::file, "#!/bin/sh\n", "", 0755},
                          {"src/link.c", Spec::symlink, "", "main.c"},
                          {"bin/up", Spec::symlink, "", "../src/main.c"},
                          {"./docs/readme.txt", Spec::file, "hi\n"}},
                         format);
    REQUIRE(r.ok());
    CHECK(r->files == 3);
    CHECK(r->symlinks == 2);
    CHECK(r->bytes == 29 + 10 + 3);
    CHECK(testing::read_file(box.dest / "src/link.c") == "int main(void) { return 0; }\n");
    CHECK(std::filesystem::is_symlink(box.dest / "bin/up"));
    CHECK(std::filesystem::read_symlink(box.dest / "bin/up") == "../src/main.c");
    auto perms = std::filesystem::status(box.dest / "bin/run.sh").permissions();
    CHECK((perms & std::filesystem::perms::owner_exec) != std::filesystem::perms::none);
    // ...and a plain file stays plain: the checks pass reads the run bit as the archive had it.
    auto plain = std::filesystem::status(box.dest / "src/main.c").permissions();
    CHECK((plain & std::filesystem::perms::all & ~std::filesystem::perms(0666)) == std::filesystem::perms::none);
    CHECK(testing::read_file(box.dest / "docs/readme.txt") == "hi\n");
    CHECK(r->format.rfind(format == Format::zip ? "zip" : "tar", 0) == 0);
  }
}

TEST_CASE("empty archives and in-archive hard links are fine", "[cleanup][archive]") {
  Sandbox box;
  SECTION("empty zip") {
    auto r = box.extract({}, Format::zip);
    REQUIRE(r.ok());
    CHECK(r->files == 0);
  }
  SECTION("hard link to an earlier file becomes a copy") {
    auto r = box.extract({{"a.txt", Spec::file, "data"}, {"b.txt", Spec::hardlink, "", "a.txt"}});
    REQUIRE(r.ok());
    CHECK(testing::read_file(box.dest / "b.txt") == "data");
  }
}

TEST_CASE("every format the extractor reads passes the upload sniffer", "[cleanup][archive]") {
  for (auto format : {Format::zip, Format::tar, Format::tar_gz, Format::tar_zst, Format::sevenzip, Format::cpio}) {
    INFO("format " << static_cast<int>(format));
    TempDir dir;
    const std::filesystem::path archive = dir / "upload";
    build_archive(archive, format, {Spec("src/a.txt", Spec::file, "hello\n")});
    CHECK(looks_like_archive(archive));
    std::filesystem::create_directories(dir / "out");
    auto r = extract_archive(archive, dir / "out", ExtractLimits{});
    REQUIRE(r.ok());
    CHECK(testing::read_file(dir / "out/src/a.txt") == "hello\n");
  }
}

TEST_CASE("looks_like_archive sniffs magic bytes", "[cleanup][archive]") {
  using namespace std::string_literals;
  CHECK(looks_like_archive_bytes("PK\x03\x04rest"s));
  CHECK(looks_like_archive_bytes("PK\x05\x06"s + std::string(18, '\0')));
  CHECK(looks_like_archive_bytes("\x1f\x8b\x08"s));
  CHECK(looks_like_archive_bytes("BZh91AY"s));
  CHECK(looks_like_archive_bytes("\xfd\x37\x7a\x58\x5a\x00"s));
  std::string tar(512, '\0');
  tar.replace(257, 5, "ustar");
  CHECK(looks_like_archive_bytes(tar));
  CHECK_FALSE(looks_like_archive_bytes("hello world"));
  CHECK_FALSE(looks_like_archive_bytes(""));
  CHECK_FALSE(looks_like_archive_bytes("PK"));

  TempDir dir;
  testing::write_file(dir / "a.txt", "text");
  CHECK_FALSE(looks_like_archive(dir / "a.txt"));
  build_archive(dir / "a.tar", Format::tar, {{"x", Spec::file, "y"}});
  CHECK(looks_like_archive(dir / "a.tar"));
}

TEST_CASE("pack_zip round-trips a tree deterministically", "[cleanup][archive]") {
  TempDir dir;
  auto root = dir / "root";
  testing::write_file(root / "b/z.txt", "zzz");
  testing::write_file(root / "a.sh", "#!/bin/sh\necho hi\n");
  std::filesystem::permissions(root / "a.sh", std::filesystem::perms(0755));
  std::filesystem::create_directories(root / "empty");
  std::filesystem::create_symlink("b/z.txt", root / "link");
  testing::write_file(root / "big.bin", std::string(300000, 'q'));

  REQUIRE(pack_zip(root, dir / "one.zip").ok());
  REQUIRE(pack_zip(root, dir / "two.zip").ok());
  CHECK(testing::read_file(dir / "one.zip") == testing::read_file(dir / "two.zip"));

  std::filesystem::create_directory(dir / "back");
  auto r = extract_archive(dir / "one.zip", dir / "back", {});
  REQUIRE(r.ok());
  CHECK(testing::list_tree(dir / "back") == testing::list_tree(root));
  CHECK(testing::read_file(dir / "back/big.bin") == std::string(300000, 'q'));
  CHECK(std::filesystem::read_symlink(dir / "back/link") == "b/z.txt");
  auto perms = std::filesystem::status(dir / "back/a.sh").permissions();
  CHECK((perms & std::filesystem::perms::owner_exec) != std::filesystem::perms::none);
}

}  // namespace
}  // namespace fti::cleanup

namespace fti::cleanup {
namespace {

// Deflating random bytes (what compressed images and archives look like) gains nothing and
// costs most of the packing time: they are stored, text is still deflated, both come back.
TEST_CASE("pack_zip stores incompressible files and deflates text", "[cleanup][archive]") {
  TempDir dir;
  std::string noise(200000, '\0');
  std::uint32_t x = 12345;
  for (char& c : noise) {
    x = x * 1664525u + 1013904223u;  // a fixed LCG: the same bytes every run
    c = static_cast<char>(x >> 24);
  }
  std::string text;
  while (text.size() < 200000) text += "int value_" + std::to_string(text.size()) + " = 1;\n";
  testing::write_file(dir / "root/noise.png", noise);
  testing::write_file(dir / "root/code.c", text);
  REQUIRE(pack_zip(dir / "root", dir / "a.zip").ok());

  REQUIRE(testing::run_command("cd '" + dir.path().string() + "' && unzip -v a.zip > list.txt") == 0);
  std::string listing = testing::read_file(dir / "list.txt");
  auto method_of = [&](const std::string& name) {
    std::size_t line_end = listing.find(name);
    REQUIRE(line_end != std::string::npos);
    std::size_t line_start = listing.rfind('\n', line_end) + 1;
    return listing.substr(line_start, line_end - line_start);
  };
  CHECK(method_of("noise.png").find("Stored") != std::string::npos);
  CHECK(method_of("code.c").find("Defl") != std::string::npos);

  std::filesystem::create_directory(dir / "back");
  REQUIRE(extract_archive(dir / "a.zip", dir / "back", {}).ok());
  CHECK(testing::read_file(dir / "back/noise.png") == noise);
  CHECK(testing::read_file(dir / "back/code.c") == text);
}

TEST_CASE("non-ASCII names survive extract and pack", "[cleanup][archive]") {
  TempDir dir;
  const std::string name = "caf\xc3\xa9/na\xc3\xafve.txt";
  const std::string latin1 = "r\xe9sum\xe9.txt";  // not UTF-8: kept as bytes
  testing::write_file(dir / ("root/" + name), "x\n");
  testing::write_file(dir / ("root/" + latin1), "y\n");
  REQUIRE(pack_zip(dir / "root", dir / "a.zip").ok());
  std::filesystem::create_directory(dir / "back");
  auto r = extract_archive(dir / "a.zip", dir / "back", {});
  REQUIRE(r.ok());
  CHECK(testing::read_file(dir / ("back/" + name)) == "x\n");
  CHECK(testing::list_tree(dir / "back") == testing::list_tree(dir / "root"));

  build_archive(dir / "b.tar", Format::tar, {{name, Spec::file, "z"}});
  std::filesystem::create_directory(dir / "back2");
  REQUIRE(extract_archive(dir / "b.tar", dir / "back2", {}).ok());
  CHECK(testing::read_file(dir / ("back2/" + name)) == "z");
}

}  // namespace
}  // namespace fti::cleanup

namespace fti::cleanup {
namespace {

// A ustar header block for `name` whose size field holds `size_field` as written (octal
// digits, or base-256 bytes with the high bit set), with a correct checksum.
std::string tar_header(const std::string& name, const std::string& size_field) {
  std::string h(512, '\0');
  auto put = [&h](std::size_t at, const std::string& bytes) { std::copy(bytes.begin(), bytes.end(), h.begin() + at); };
  put(0, name);
  put(100, "0000644");
  put(108, "0000000");
  put(116, "0000000");
  put(124, size_field);
  put(136, "14500000000");
  put(156, "0");
  put(257, std::string("ustar\0" "00", 8));
  put(148, "        ");
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  char digits[8];
  std::snprintf(digits, sizeof digits, "%06o", sum);
  put(148, std::string(digits, 6) + '\0');
  return h;
}

TEST_CASE("a zip that declares a small size and inflates to 50 MiB is stopped while writing",
          "[cleanup][archive]") {
  Sandbox box;
  build_archive(box.archive, Format::zip, {{"zeros.bin", Spec::file, std::string(50 << 20, '\0')}});
  std::string bytes = testing::read_file(box.archive);
  // The local header (offset 22), the central directory (offset 24 of its entry) and the
  // data descriptor (offset 12) all say the file holds 1000 bytes.
  const std::string thousand("\xe8\x03\x00\x00", 4);
  std::size_t central = bytes.rfind("PK\x01\x02");
  std::size_t descriptor = bytes.rfind("PK\x07\x08", central);
  REQUIRE(central != std::string::npos);
  bytes.replace(22, 4, thousand);
  bytes.replace(central + 24, 4, thousand);
  if (descriptor != std::string::npos) bytes.replace(descriptor + 12, 4, thousand);
  testing::write_file(box.archive, bytes);
  auto r = extract_archive(box.archive, box.dest, {});
  INFO((r.ok() ? "ok" : r.error().message));
  CHECK(code_of(r) == "archive_limits");
  // Stopped soon after the ratio was crossed, not after writing everything.
  CHECK(std::filesystem::file_size(box.dest / "zeros.bin") < (20u << 20));
  CHECK(box.nothing_outside());
}

TEST_CASE("odd entries are refused with a code or kept and counted", "[cleanup][archive]") {
  Sandbox box;
  SECTION("a file, then a folder of the same name") {
    auto r = box.extract({{"a", Spec::file, "x"}, {"a/b.txt", Spec::file, "y"}});
    CHECK(code_of(r) == "bad_archive");
    CHECK(r.error().message.find("same name") != std::string::npos);
  }
  SECTION("a folder, then a file of the same name") {
    CHECK(code_of(box.extract({{"a/b.txt", Spec::file, "y"}, {"a", Spec::file, "x"}})) == "bad_archive");
  }
  SECTION("a folder entry over a file") {
    CHECK(code_of(box.extract({{"a", Spec::file, "x"}, {"a", Spec::dir}})) == "bad_archive");
  }
  SECTION("a name over 1024 bytes") {
    CHECK(code_of(box.extract({{std::string(2000, 'n'), Spec::file, "x"}})) == "archive_limits");
  }
  SECTION("a path 100 folders deep") {
    std::string deep;
    for (int i = 0; i < 100; ++i) deep += "d/";
    CHECK(code_of(box.extract({{deep + "f.txt", Spec::file, "x"}})) == "archive_limits");
  }
  SECTION("a hard link through a folder that does not exist") {
    CHECK(code_of(box.extract({{"h", Spec::hardlink, "", "no/such/file"}})) == "unsafe_archive");
  }
  SECTION("a hard link to a folder") {
    CHECK(code_of(box.extract({{"d", Spec::dir}, {"h", Spec::hardlink, "", "d"}})) == "unsafe_archive");
  }
  SECTION("the same file twice: the last copy wins and is counted") {
    auto r = box.extract({{"a.txt", Spec::file, "first"}, {"a.txt", Spec::file, "second"}});
    REQUIRE(r.ok());
    CHECK(r->replaced_duplicates == 1);
    CHECK(testing::read_file(box.dest / "a.txt") == "second");
  }
  SECTION("names that are not UTF-8 are kept byte for byte and counted") {
    const std::string latin1 = "r\xe9sum\xe9.txt";
    auto r = box.extract({{latin1, Spec::file, "cv"}, {"ok.txt", Spec::file, "fine"}});
    REQUIRE(r.ok());
    CHECK(r->non_utf8_names == 1);
    REQUIRE(r->non_utf8_examples.size() == 1);
    CHECK(r->non_utf8_examples[0] == "r\\xE9sum\\xE9.txt");
    CHECK(testing::read_file(box.dest / latin1) == "cv");
  }
  SECTION("archives inside the archive are kept unopened and listed") {
    TempDir inner;
    build_archive(inner / "inner.zip", Format::zip, {{"../escape.txt", Spec::file, "not opened"}});
    build_archive(inner / "inner.tgz", Format::tar_gz, {{"x.txt", Spec::file, "x"}});
    auto r = box.extract({{"vendor/inner.zip", Spec::file, testing::read_file(inner / "inner.zip")},
                          {"lib/inner.tgz", Spec::file, testing::read_file(inner / "inner.tgz")},
                          {"src/a.c", Spec::file, "int a;\n"}});
    REQUIRE(r.ok());
    CHECK(r->nested_archives == 2);
    CHECK(r->nested_archive_paths == std::vector<std::string>{"vendor/inner.zip", "lib/inner.tgz"});
    CHECK(testing::read_file(box.dest / "vendor/inner.zip") == testing::read_file(inner / "inner.zip"));
    CHECK_FALSE(std::filesystem::exists(box.dest / "escape.txt"));
  }
  CHECK(box.nothing_outside());
}

TEST_CASE("tar size fields that are negative, huge or past the end", "[cleanup][archive]") {
  Sandbox box;
  std::string base256_negative = std::string(1, '\xff') + std::string(10, '\xff') + "\xfe";
  std::string base256_huge = std::string(1, '\x80') + std::string(3, '\0') + '\x7f' + std::string(7, '\xff');
  struct Case {
    const char* name;
    std::string size_field;
    const char* code;
  };
  const std::vector<Case> cases = {
      {"negative (base-256)", base256_negative, "bad_archive"},
      {"huge (base-256): libarchive calls it an overflow", base256_huge, "bad_archive"},
      {"3 GiB declared (octal), 1 KiB there", "30000000000", "archive_limits"},
      {"larger than what follows", "00000177777", "bad_archive"},  // 64 KiB declared, 1 KiB there
      {"not a number", "12x45678901", "bad_archive"},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      std::string tar = tar_header("f.txt", c.size_field) + std::string(1024, 'd');
      testing::write_file(box.archive, tar);
      auto r = extract_archive(box.archive, box.dest, {});
      INFO((r.ok() ? "ok" : r.error().message));
      CHECK(code_of(r) == c.code);
    }
  }
  CHECK(box.nothing_outside());
}

TEST_CASE("printable_name shows what is not UTF-8 as \\xNN", "[cleanup][archive]") {
  CHECK(printable_name("caf\xc3\xa9.txt") == "caf\xc3\xa9.txt");
  CHECK(printable_name("a\xff" "b") == "a\\xFFb");
  CHECK(printable_name("line\nbreak") == "line\\x0Abreak");
  CHECK(printable_name("\xc3") == "\\xC3");  // a sequence cut short
  CHECK(is_valid_utf8("plain/ascii.txt"));
  CHECK_FALSE(is_valid_utf8("\xed\xa0\x80"));  // a surrogate
}

}  // namespace
}  // namespace fti::cleanup
