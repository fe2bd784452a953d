#pragma once
// A scratch folder for one test, fuzzer or benchmark run: made fresh and unique under
// $TMPDIR (or /tmp), removed with everything in it when the owner goes, whether the test
// passed or failed. KEEP_TEST_TEMP=1 keeps it for debugging and prints where it is.
#include <stdlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace fti::testing {

// Not an FTI_* name: tests hand their environment to the server, which refuses unknown ones.
inline bool keep_test_temp() {
  const char* keep = std::getenv("KEEP_TEST_TEMP");
  return keep && std::string_view(keep) == "1";
}

class TempDir {
 public:
  // The folder is named fti-<tag>-XXXXXX, so a leftover says which test made it.
  explicit TempDir(std::string_view tag = "test") {
    std::string tmpl = (std::filesystem::temp_directory_path() / ("fti-" + std::string(tag) + "-XXXXXX")).string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + tmpl);
    path_ = tmpl;
    if (keep_test_temp()) std::fprintf(stderr, "KEEP_TEST_TEMP=1: keeping %s\n", path_.c_str());
  }
  ~TempDir() {
    if (keep_test_temp()) return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
    if (ec) std::fprintf(stderr, "could not remove test folder %s: %s\n", path_.c_str(), ec.message().c_str());
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::filesystem::path& rel) const { return path_ / rel; }
  std::string sqlite_url(const std::string& name = "fti.db") const { return "sqlite:" + (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace fti::testing
