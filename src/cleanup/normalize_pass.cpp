// The normalize pass: runs every text file through normalize_text and rewrites the ones that
// changed. Files it leaves alone are summarised in the report's notes.
#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fti/cleanup/normalize.hpp"
#include "fti/cleanup/pass.hpp"
#include "tree_files.hpp"

namespace fti::cleanup {
namespace {

// Bigger text is data, not code. Normalising holds the file, its result and a record per
// line, so both limits keep the pass's memory bounded whatever the upload holds.
constexpr std::int64_t kMaxNormalizeBytes = 32LL << 20;
constexpr std::int64_t kMaxNormalizeLines = 1LL << 20;
constexpr std::size_t kExamples = 3;

// The next line of `text` from `pos`, with its ending, so a changed ending counts as a
// changed line; nullopt at the end.
std::optional<std::string_view> next_line(std::string_view text, std::size_t& pos) {
  if (pos >= text.size()) return std::nullopt;
  std::size_t nl = text.find('\n', pos);
  std::size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
  std::string_view line = text.substr(pos, end - pos);
  pos = end;
  return line;
}

struct LineDelta {
  std::int64_t added = 0;
  std::int64_t removed = 0;
};

// Normalisation keeps lines in place and only drops some at the end, so lines pair up by
// index: a changed line is one removed and one added. Walked in step, nothing is stored.
LineDelta line_delta(std::string_view before, std::string_view after) {
  LineDelta d;
  std::size_t a = 0;
  std::size_t b = 0;
  for (;;) {
    std::optional<std::string_view> la = next_line(before, a);
    std::optional<std::string_view> lb = next_line(after, b);
    if (!la && !lb) return d;
    if (la != lb) {
      d.removed += la ? 1 : 0;
      d.added += lb ? 1 : 0;
    }
  }
}

// Why files were left alone, with a few examples each, for the notes.
struct Skips {
  std::map<std::string, std::vector<std::string>> by_reason;

  void add(const std::string& reason, const std::string& path) { by_reason[reason].push_back(path); }

  void write_notes(Report& report) const {
    for (const auto& [reason, paths] : by_reason) {
      std::string note = "normalize: " + std::to_string(paths.size()) + " file(s) " +
                         (reason == "binary" || reason == "not UTF-8" ? "left as they are (" + reason + ")"
                                                                       : "partly kept: " + reason);
      note += ", e.g. ";
      for (std::size_t k = 0; k < paths.size() && k < kExamples; ++k) {
        note += (k ? ", " : "") + paths[k];
      }
      report.notes.push_back(note);
    }
  }
};

class NormalizePass final : public Pass {
 public:
  std::string name() const override { return "normalize"; }
  std::string stage() const override { return "normalize"; }

  Status run(PassContext& ctx) override {
    FTI_ASSIGN_OR_RETURN(std::vector<detail::TreeFile> files, detail::pass_files(ctx));
    Skips skips;
    for (const auto& f : files) {
      if (f.symlink) continue;
      if (f.size > kMaxNormalizeBytes) {
        skips.add("larger than 32 MiB", f.rel);
        continue;
      }
      FTI_TRY(normalize_one(ctx, f, skips));
    }
    skips.write_notes(ctx.report);
    return ok_status();
  }

 private:
  Status normalize_one(PassContext& ctx, const detail::TreeFile& f, Skips& skips) {
    FTI_ASSIGN_OR_RETURN(std::string before, detail::read_file(f.full));
    if (std::count(before.begin(), before.end(), '\n') > kMaxNormalizeLines) {
      skips.add("more than 1,048,576 lines", f.rel);
      return ok_status();
    }
    NormalizeOutcome outcome = normalize_text(f.rel, before);
    if (!outcome.skipped_reason.empty()) skips.add(outcome.skipped_reason, f.rel);
    if (!outcome.changed) return ok_status();
    FTI_TRY(detail::write_file_atomic(f.full, outcome.text, f.mode));
    LineDelta d = line_delta(before, outcome.text);
    ctx.report.record_change(f.rel, name(), d.added, d.removed);
    return ok_status();
  }
};

}  // namespace

std::unique_ptr<Pass> make_normalize_pass() { return std::make_unique<NormalizePass>(); }

}  // namespace fti::cleanup
