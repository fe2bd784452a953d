#pragma once
// A scratch folder removed at the end of the test.
#include <filesystem>
#include <random>
#include <string>

namespace fti::testing {

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("fti-test-" + std::to_string(rd()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string sqlite_url(const std::string& name = "fti.db") const { return "sqlite:" + (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace fti::testing
