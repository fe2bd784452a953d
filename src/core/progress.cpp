#include "fti/core/progress.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace fti {

namespace {

constexpr int kBarWidth = 30;

int percent_of(std::int64_t done, std::int64_t total) {
  if (total <= 0) return 0;
  return static_cast<int>(std::clamp<std::int64_t>(done * 100 / total, 0, 100));
}

}  // namespace

std::optional<ProgressMode> parse_progress_mode(std::string_view name, bool stderr_is_terminal) {
  if (name == "auto") return stderr_is_terminal ? ProgressMode::bar : ProgressMode::plain;
  if (name == "bar") return ProgressMode::bar;
  if (name == "plain") return ProgressMode::plain;
  if (name == "lines") return ProgressMode::lines;
  if (name == "none") return ProgressMode::none;
  return std::nullopt;
}

std::string human_bytes(std::int64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes) / 1024;
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(units)) {
    value /= 1024;
    ++unit;
  }
  return fmt::format("{:.1f} {}", value, units[unit]);
}

ProgressDisplay::ProgressDisplay(ProgressMode mode, std::FILE* out, std::FILE* err)
    : mode_(mode), out_(out), err_(err) {}

ProgressDisplay::~ProgressDisplay() { finish(); }

void ProgressDisplay::stage(int percent, const std::string& stage) {
  percent = std::clamp(percent, 0, 100);
  switch (mode_) {
    case ProgressMode::lines:
      std::fprintf(out_, "progress %d %s\n", percent, stage.c_str());
      std::fflush(out_);
      break;
    case ProgressMode::bar:
      draw_bar(percent, stage);
      if (percent >= 100) finish();
      break;
    case ProgressMode::plain: print_plain(fmt::format("{:3d}% {}", percent, stage)); break;
    case ProgressMode::none: break;
  }
}

void ProgressDisplay::transfer(std::string_view what, std::int64_t done, std::int64_t total) {
  const int percent = percent_of(done, total);
  if (mode_ == ProgressMode::bar) {
    draw_bar(percent, fmt::format("{} {} of {}", what, human_bytes(done), human_bytes(total)));
    return;
  }
  if (mode_ == ProgressMode::none) return;
  const int step = mode_ == ProgressMode::lines ? percent : percent / 10;
  if (what == transfer_what_ && step == transfer_step_) return;
  transfer_what_ = std::string(what);
  transfer_step_ = step;
  if (mode_ == ProgressMode::lines) {
    std::fprintf(out_, "%.*s %lld %lld\n", static_cast<int>(what.size()), what.data(), static_cast<long long>(done),
                 static_cast<long long>(total));
    std::fflush(out_);
    return;
  }
  print_plain(fmt::format("{:3d}% {} ({} of {})", percent, what, human_bytes(done), human_bytes(total)));
}

void ProgressDisplay::finish() {
  if (!bar_open_) return;
  std::fputc('\n', err_);
  std::fflush(err_);
  bar_open_ = false;
  last_.clear();
}

std::function<void(int, const std::string&)> ProgressDisplay::stage_callback() {
  return [this](int percent, const std::string& name) { stage(percent, name); };
}

void ProgressDisplay::draw_bar(int percent, const std::string& label) {
  const int filled = percent * kBarWidth / 100;
  std::string line = fmt::format("[{}{}] {:3d}% {}", std::string(static_cast<std::size_t>(filled), '#'),
                                 std::string(static_cast<std::size_t>(kBarWidth - filled), '.'), percent, label);
  if (bar_open_ && line == last_) return;
  // Back to the line's start, draw, and erase what a longer earlier line left behind.
  std::fprintf(err_, "\r%s\033[K", line.c_str());
  std::fflush(err_);
  last_ = std::move(line);
  bar_open_ = true;
}

void ProgressDisplay::print_plain(const std::string& line) {
  if (line == last_) return;
  std::fprintf(err_, "%s\n", line.c_str());
  std::fflush(err_);
  last_ = line;
}

}  // namespace fti
