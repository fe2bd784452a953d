#pragma once
// ProgressDisplay: how the command line shows long work (`clean`, `submit`). One redrawn bar
// for a person at a terminal, plain lines for a log, the machine-readable lines a server
// worker parses (`progress <percent> <stage>` on stdout), or nothing.
#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace fti {

enum class ProgressMode { bar, plain, lines, none };

// "bar" | "plain" | "lines" | "none", or "auto": a bar when stderr is a terminal, else plain.
std::optional<ProgressMode> parse_progress_mode(std::string_view name, bool stderr_is_terminal);

// "1.5 MiB": sizes as a person reads them.
std::string human_bytes(std::int64_t bytes);

class ProgressDisplay {
 public:
  // `out` takes the machine-readable lines, `err` everything meant for a person.
  explicit ProgressDisplay(ProgressMode mode, std::FILE* out = stdout, std::FILE* err = stderr);
  ~ProgressDisplay();
  ProgressDisplay(const ProgressDisplay&) = delete;
  ProgressDisplay& operator=(const ProgressDisplay&) = delete;

  // Work in stages: `percent` of the whole, `stage` a short word ("extract", "format").
  void stage(int percent, const std::string& stage);
  // Bytes moving (an upload, a download) as a phase of its own before or after the stages.
  void transfer(std::string_view what, std::int64_t done, std::int64_t total);
  // Ends a bar line still open, so that what is printed next starts on a line of its own.
  void finish();
  // stage() as a callback (PipelineOptions::on_progress); the display must outlive it.
  std::function<void(int, const std::string&)> stage_callback();

  ProgressMode mode() const { return mode_; }

 private:
  void draw_bar(int percent, const std::string& label);
  void print_plain(const std::string& line);

  ProgressMode mode_;
  std::FILE* out_;
  std::FILE* err_;
  std::string last_;          // the last bar or line shown: the same one is not shown again
  bool bar_open_ = false;     // a bar line is on screen without its newline
  // Plain and lines: a transfer prints at steps (10% or 1%), not at every chunk.
  std::string transfer_what_;
  int transfer_step_ = -1;
};

}  // namespace fti
