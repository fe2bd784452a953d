// libFuzzer target for the archive reader: the input is written to a file (extract_archive
// reads a path, as the cleanup child does), extracted into a fresh folder under tight limits,
// and the folder removed. A crash, a sanitizer report, a leak, a hang (-timeout) or memory
// over -rss_limit_mb is a finding; any Error is a correct answer.
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "fti/cleanup/archive.hpp"
#include "support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;

// One scratch folder per fuzzing process, made once; each input reuses it. It goes when the
// fuzzer exits normally: libFuzzer ends with exit(), which runs static destructors.
const fs::path& scratch() {
  static const fti::testing::TempDir dir("archive-fuzz");
  return dir.path();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fs::path input = scratch() / "input";
  const fs::path dest = scratch() / "dest";
  {
    std::ofstream out(input, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  std::error_code ec;
  fs::remove_all(dest, ec);
  fs::create_directory(dest);
  // Small limits keep each run fast; the checks are the same code as with the defaults.
  fti::cleanup::ExtractLimits limits;
  limits.max_files = 200;
  limits.max_unpacked_bytes = 8 << 20;
  limits.max_file_bytes = 4 << 20;
  limits.max_ratio = 200.0;
  auto result = fti::cleanup::extract_archive(input, dest, limits);
  (void)fti::cleanup::looks_like_archive_bytes(
      std::string_view(reinterpret_cast<const char*>(data), size < 512 ? size : 512));
  // Nothing may appear next to dest: the extraction never writes outside it.
  for (const auto& entry : fs::directory_iterator(scratch())) {
    if (entry.path() != input && entry.path() != dest) std::abort();
  }
  (void)result;
  fs::remove_all(dest, ec);
  return 0;
}
