#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fti/core/progress.hpp"
#include "support/captured_file.hpp"

namespace {

using Capture = fti::testing::CapturedFile;

}  // namespace

TEST_CASE("auto progress is a bar on a terminal and plain lines elsewhere", "[core][progress]") {
  CHECK(fti::parse_progress_mode("auto", true) == fti::ProgressMode::bar);
  CHECK(fti::parse_progress_mode("auto", false) == fti::ProgressMode::plain);
  CHECK(fti::parse_progress_mode("lines", true) == fti::ProgressMode::lines);
  CHECK(fti::parse_progress_mode("none", false) == fti::ProgressMode::none);
  CHECK_FALSE(fti::parse_progress_mode("fancy", true));
}

TEST_CASE("lines mode prints what a server worker parses, on stdout only", "[core][progress]") {
  Capture out, err;
  {
    fti::ProgressDisplay display(fti::ProgressMode::lines, out.file(), err.file());
    display.transfer("upload", 0, 2000);
    display.transfer("upload", 10, 2000);  // still 0%: not printed again
    display.transfer("upload", 2000, 2000);
    display.stage(40, "format");
    display.stage(100, "done");
  }
  CHECK(out.text() == "upload 0 2000\nupload 2000 2000\nprogress 40 format\nprogress 100 done\n");
  CHECK(err.text().empty());
}

TEST_CASE("plain mode prints a line per change, transfers in tenths", "[core][progress]") {
  Capture out, err;
  {
    fti::ProgressDisplay display(fti::ProgressMode::plain, out.file(), err.file());
    for (std::int64_t sent = 0; sent <= 3 << 20; sent += 64 << 10) display.transfer("upload", sent, 3 << 20);
    display.stage(10, "extract");
    display.stage(10, "extract");
    display.stage(100, "done");
  }
  const std::string text = err.text();
  CHECK(text.find("  0% upload (0 B of 3.0 MiB)\n") == 0);
  CHECK(text.find("100% upload (3.0 MiB of 3.0 MiB)\n 10% extract\n100% done\n") != std::string::npos);
  CHECK(std::count(text.begin(), text.end(), '\n') == 11 + 2);  // 0%..100% of the upload, then two stages
  CHECK(out.text().empty());
}

TEST_CASE("the bar redraws one line and ends it when the work is done", "[core][progress]") {
  Capture out, err;
  fti::ProgressDisplay display(fti::ProgressMode::bar, out.file(), err.file());
  display.transfer("upload", 512, 1024);
  display.stage(50, "format");
  display.stage(50, "format");  // unchanged: not drawn again
  std::string open = err.text();
  CHECK(open.find('\n') == std::string::npos);
  CHECK(std::count(open.begin(), open.end(), '\r') == 2);
  CHECK(open.find("[###############...............]  50% upload 512 B of 1.0 KiB") != std::string::npos);
  CHECK(open.ends_with("[###############...............]  50% format\033[K"));
  display.stage(100, "done");
  CHECK(err.text().ends_with("100% done\033[K\n"));
  display.finish();  // already ended: no second newline
  CHECK(err.text().ends_with("done\033[K\n"));
}

TEST_CASE("sizes read as a person reads them", "[core][progress]") {
  CHECK(fti::human_bytes(0) == "0 B");
  CHECK(fti::human_bytes(1023) == "1023 B");
  CHECK(fti::human_bytes(1536) == "1.5 KiB");
  CHECK(fti::human_bytes(5LL << 30) == "5.0 GiB");
}
