#pragma once
// Helpers for the cleanup tests: scratch folders, files, and archives built entry by entry
// with libarchive's writer (so hostile entries can be crafted exactly).
#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/temp_dir.hpp"

namespace fti::cleanup::testing {

namespace fs = std::filesystem;

// A temporary folder removed at the end of the test (the shared one, named for these tests).
class TempDir : public fti::testing::TempDir {
 public:
  TempDir() : fti::testing::TempDir("cleanup-test") {}
};

inline void write_file(const fs::path& p, const std::string& data) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary);
  out << data;
}

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every entry under root (files, links, folders), relative, sorted.
inline std::set<std::string> list_tree(const fs::path& root) {
  std::set<std::string> out;
  for (fs::recursive_directory_iterator it(root), end; it != end; ++it) {
    out.insert(it->path().lexically_relative(root).generic_string());
  }
  return out;
}

struct Spec {
  enum Type { file, dir, symlink, hardlink, chardev, fifo };
  Spec(std::string p, Type t = file, std::string d = "", std::string tgt = "", int mode = 0644)
      : path(std::move(p)), type(t), data(std::move(d)), target(std::move(tgt)), perm(mode) {}
  std::string path;
  Type type = file;
  std::string data;    // file contents
  std::string target;  // symlink or hard link target
  int perm = 0644;
};

enum class Format { zip, tar, tar_gz, tar_zst, sevenzip, cpio };

inline void build_archive(const fs::path& out, Format format, const std::vector<Spec>& entries) {
  archive* a = archive_write_new();
  if (format == Format::zip) {
    archive_write_set_format_zip(a);
  } else if (format == Format::sevenzip) {
    archive_write_set_format_7zip(a);
  } else if (format == Format::cpio) {
    archive_write_set_format_cpio_newc(a);
  } else {
    archive_write_set_format_pax_restricted(a);
    if (format == Format::tar_gz) archive_write_add_filter_gzip(a);
    if (format == Format::tar_zst) archive_write_add_filter_zstd(a);
  }
  if (archive_write_open_filename(a, out.c_str()) != ARCHIVE_OK) {
    throw std::runtime_error(archive_error_string(a));
  }
  for (const Spec& s : entries) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, s.path.c_str());
    archive_entry_set_perm(e, s.perm);
    archive_entry_set_mtime(e, 1700000000, 0);
    switch (s.type) {
      case Spec::file:
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_size(e, static_cast<la_int64_t>(s.data.size()));
        break;
      case Spec::dir: archive_entry_set_filetype(e, AE_IFDIR); break;
      case Spec::symlink:
        archive_entry_set_filetype(e, AE_IFLNK);
        archive_entry_set_symlink(e, s.target.c_str());
        break;
      case Spec::hardlink:
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_hardlink(e, s.target.c_str());
        break;
      case Spec::chardev:
        archive_entry_set_filetype(e, AE_IFCHR);
        archive_entry_set_rdev(e, makedev(1, 3));
        break;
      case Spec::fifo: archive_entry_set_filetype(e, AE_IFIFO); break;
    }
    if (archive_write_header(a, e) < ARCHIVE_WARN) {  // WARN: name kept as raw bytes
      std::string msg = archive_error_string(a);
      archive_entry_free(e);
      archive_write_free(a);
      throw std::runtime_error("write_header " + s.path + ": " + msg);
    }
    if (s.type == Spec::file && !s.data.empty()) archive_write_data(a, s.data.data(), s.data.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
}

inline int run_command(const std::string& cmd) { return std::system(cmd.c_str()); }

}  // namespace fti::cleanup::testing
