// The normalize pass: runs every text file through normalize_text and rewrites the ones that
// changed. Files it leaves alone are summarised in the report's notes.
#include <map>
#include <string>
#include <vector>

#include "fti/cleanup/normalize.hpp"
#include "fti/cleanup/pass.hpp"
#include "line_diff.hpp"
#include "tree_files.hpp"

namespace fti::cleanup {
namespace {

constexpr std::int64_t kMaxNormalizeBytes = 64LL << 20;  // bigger text is data, not code
constexpr std::size_t kExamples = 3;

struct LineDelta {
  std::int64_t added = 0;
  std::int64_t removed = 0;
};

// Normalisation keeps lines in place and only drops some at the end, so lines pair up by
// index: a changed line is one removed and one added.
LineDelta line_delta(std::string_view before, std::string_view after) {
  // With their endings, so a changed ending counts as a changed line.
  std::vector<std::string_view> a = detail::split_lines_with_endings(before);
  std::vector<std::string_view> b = detail::split_lines_with_endings(after);
  LineDelta d;
  std::size_t common = std::min(a.size(), b.size());
  for (std::size_t k = 0; k < common; ++k) {
    if (a[k] != b[k]) {
      ++d.added;
      ++d.removed;
    }
  }
  d.removed += static_cast<std::int64_t>(a.size() - common);
  d.added += static_cast<std::int64_t>(b.size() - common);
  return d;
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
        skips.add("larger than 64 MiB", f.rel);
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
