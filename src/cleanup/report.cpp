#include "fti/cleanup/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

#include "fti/core/json.hpp"

namespace fti::cleanup {
namespace {

void write_languages(json::Writer& w, const std::map<std::string, LanguageStats>& languages) {
  w.key("languages").begin_object();
  for (const auto& [name, stats] : languages) {
    w.key(name).begin_object();
    w.field("files", stats.files).field("lines", stats.lines);
    w.field("code", stats.code).field("comment", stats.comment).field("blank", stats.blank);
    w.end_object();
  }
  w.end_object();
}

void write_removed(json::Writer& w, const std::vector<RemovedEntry>& removed) {
  w.key("removed").begin_array();
  for (const auto& r : removed) {
    w.begin_object();
    w.field("path", r.path).field("reason", r.reason).field("files", r.files);
    w.end_object();
  }
  w.end_array();
}

void write_changed(json::Writer& w, const std::vector<ChangedEntry>& changed) {
  w.key("changed").begin_array();
  for (const auto& c : changed) {
    w.begin_object();
    w.field("path", c.path);
    w.key("passes").begin_array();
    for (const auto& p : c.passes) w.value(p);
    w.end_array();
    w.field("lines_added", c.lines_added).field("lines_removed", c.lines_removed);
    w.field("created", c.created);
    w.end_object();
  }
  w.end_array();
}

void write_findings(json::Writer& w, const std::vector<Finding>& findings) {
  w.key("findings").begin_array();
  for (const auto& f : findings) {
    w.begin_object();
    w.field("path", f.path).field("line", f.line).field("kind", f.kind);
    w.field("rule", f.rule).field("severity", f.severity).field("message", f.message);
    w.end_object();
  }
  w.end_array();
}

constexpr std::size_t kMaxSkippedPaths = 100;  // per reason; `files` still counts them all

void write_provider(json::Writer& w, const std::string& name, const LlmProviderUsage& u) {
  w.key(name).begin_object();
  w.field("calls", u.calls).field("tokens_in", u.tokens_in).field("tokens_out", u.tokens_out);
  w.field("cost_usd", u.cost_usd);
  w.end_object();
}

// Always present with the three providers, zeros when unused, so readers need no guards.
void write_llm(json::Writer& w, const LlmUsage& llm) {
  w.key("llm").begin_object();
  w.field("calls", llm.calls).field("cached", llm.cached);
  w.field("tokens_in", llm.tokens_in).field("tokens_out", llm.tokens_out);
  w.field("cost_usd", llm.cost_usd);
  w.field("failed_calls", llm.failed_calls).field("refused_calls", llm.refused_calls);
  w.field("escalations", llm.escalations);
  w.key("by_provider").begin_object();
  for (const char* name : {"ollama", "openai", "anthropic"}) {
    auto it = llm.by_provider.find(name);
    write_provider(w, name, it == llm.by_provider.end() ? LlmProviderUsage{} : it->second);
  }
  for (const auto& [name, usage] : llm.by_provider) {
    if (name != "ollama" && name != "openai" && name != "anthropic") write_provider(w, name, usage);
  }
  w.end_object();
  w.key("skipped").begin_array();
  for (const auto& skip : llm.skipped) {
    w.begin_object().field("reason", skip.reason);
    w.field("files", static_cast<std::int64_t>(skip.paths.size()));
    w.key("paths").begin_array();
    for (std::size_t k = 0; k < skip.paths.size() && k < kMaxSkippedPaths; ++k) w.value(skip.paths[k]);
    w.end_array().end_object();
  }
  w.end_array();
  w.end_object();
}

// Markdown table cells: a '|' or a newline would break the row.
std::string cell(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n' || c == '\r') {
      out += ' ';
    } else if (c == '`') {
      out += '\'';
    } else {
      out += c;
    }
  }
  return out;
}

std::string human_bytes(std::int64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024.0 && u < 4) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

std::string skipped_examples(const std::vector<std::string>& paths) {
  std::string out;
  for (std::size_t k = 0; k < paths.size() && k < 3; ++k) out += (k ? ", `" : "`") + cell(paths[k]) + "`";
  if (paths.size() > 3) out += ", ...";
  return out;
}

std::string count_of(std::int64_t n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

// Says what happened and nothing that did not: calls that failed, asks the router refused
// without calling a model, and cloud tiers actually tried are separate, and zero counts are
// left out.
std::string llm_summary(const LlmUsage& llm) {
  std::string out = fmt::format("{} ({} from the cache), {} tokens in, {} tokens out, ${:.4f}.",
                                count_of(llm.calls, "answer", "answers"), llm.cached,
                                llm.tokens_in, llm.tokens_out, llm.cost_usd);
  if (llm.failed_calls > 0) {
    out += " " + count_of(llm.failed_calls, "call", "calls") + " failed.";
  }
  if (llm.refused_calls > 0) {
    out += " " + count_of(llm.refused_calls, "ask", "asks") +
           " refused before any call (tier off or the job's LLM budget spent).";
  }
  if (llm.escalations > 0) {
    out += " " + count_of(llm.escalations, "ask", "asks") +
           " sent on to a cloud model after the local model fell short.";
  }
  return out;
}

std::string llm_markdown(const LlmUsage& llm) {
  std::string md = "## LLM\n\n" + llm_summary(llm) + "\n\n";
  if (!llm.by_provider.empty()) {
    md += "| provider | calls | tokens in | tokens out | cost (USD) |\n|---|---:|---:|---:|---:|\n";
    for (const auto& [name, u] : llm.by_provider) {
      md += fmt::format("| {} | {} | {} | {} | {:.4f} |\n", cell(name), u.calls, u.tokens_in,
                        u.tokens_out, u.cost_usd);
    }
    md += "\n";
  }
  if (!llm.skipped.empty()) {
    md += "| left as they were because | files | e.g. |\n|---|---:|---|\n";
    for (const auto& s : llm.skipped) {
      md += "| " + cell(s.reason) + " | " + std::to_string(s.paths.size()) + " | " +
            skipped_examples(s.paths) + " |\n";
    }
    md += "\n";
  }
  return md;
}

void write_diff(json::Writer& w, const DiffSummary& d) {
  w.key("diff").begin_object();
  w.field("files", d.files).field("folders", d.folders);
  w.field("lines_added", d.lines_added).field("lines_removed", d.lines_removed);
  w.field("bytes", d.bytes).field("truncated", d.truncated).field("files_not_shown", d.files_not_shown);
  w.end_object();
}

// What the diff holds, per pass and for the most changed files, and where to get it.
std::string diff_markdown(const DiffSummary& d, const std::map<std::string, PassChanges>& by_pass) {
  std::string md = fmt::format("## Diff\n\n{} changed, {} lines added, {} removed", count_of(d.files, "file", "files"),
                               d.lines_added, d.lines_removed);
  if (d.folders > 0) md += fmt::format("; {} removed, one line each", count_of(d.folders, "folder", "folders"));
  md += fmt::format(". The full unified diff ({}): `GET /api/v1/jobs/<id>/diff`, or `finishthisidea clean "
                    "--diff FILE`.\n\n",
                    human_bytes(d.bytes));
  if (d.truncated) {
    md += fmt::format("The diff was cut at limits.max_diff_bytes: {} not shown in it.\n\n",
                      count_of(d.files_not_shown, "file is", "files are"));
  }
  if (!by_pass.empty()) {
    md += "| pass | files | lines added | lines removed |\n|---|---:|---:|---:|\n";
    for (const auto& [pass, c] : by_pass) {
      md += fmt::format("| {} | {} | {} | {} |\n", cell(pass), c.files, c.lines_added, c.lines_removed);
    }
    md += "\n";
  }
  if (!d.top.empty()) {
    md += "| most changed | lines added | lines removed |\n|---|---:|---:|\n";
    for (const auto& f : d.top) md += fmt::format("| `{}` | {} | {} |\n", cell(f.path), f.lines_added, f.lines_removed);
    md += "\n";
  }
  return md;
}

}  // namespace

void Report::record_change(const std::string& path, const std::string& pass, std::int64_t added,
                           std::int64_t removed_lines) {
  // Search from the back: the file a pass just touched is usually the last one recorded.
  auto it = std::find_if(changed.rbegin(), changed.rend(),
                         [&](const ChangedEntry& c) { return c.path == path; });
  PassChanges& by = by_pass[pass];
  by.lines_added += added;
  by.lines_removed += removed_lines;
  if (it == changed.rend()) {
    ++by.files;
    changed.push_back(ChangedEntry{path, {pass}, added, removed_lines});
    return;
  }
  if (std::find(it->passes.begin(), it->passes.end(), pass) == it->passes.end()) {
    ++by.files;
    it->passes.push_back(pass);
  }
  it->lines_added += added;
  it->lines_removed += removed_lines;
}

void Report::record_created(const std::string& path, const std::string& pass, std::int64_t lines) {
  changed.push_back(ChangedEntry{path, {pass}, lines, 0, true});
  PassChanges& by = by_pass[pass];
  ++by.files;
  by.lines_added += lines;
}

void LlmUsage::record_answer(const std::string& provider, std::int64_t in, std::int64_t out,
                             double cost, bool from_cache) {
  ++calls;
  if (from_cache) ++cached;
  tokens_in += in;
  tokens_out += out;
  cost_usd += cost;
  LlmProviderUsage& p = by_provider[provider.empty() ? "unknown" : provider];
  ++p.calls;
  p.tokens_in += in;
  p.tokens_out += out;
  p.cost_usd += cost;
}

void LlmUsage::skip(const std::string& reason, const std::string& path) {
  auto it = std::find_if(skipped.begin(), skipped.end(),
                         [&](const LlmSkip& s) { return s.reason == reason; });
  if (it == skipped.end()) it = skipped.insert(skipped.end(), LlmSkip{reason, {}});
  if (!path.empty()) it->paths.push_back(path);
}

std::int64_t Report::files_removed() const {
  std::int64_t n = 0;
  for (const auto& r : removed) n += r.files;
  return n;
}

namespace {
std::string count_of(std::size_t n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}
}  // namespace

std::string Report::summary() const {
  return fmt::format("{} in, {} out: {} removed, {} changed, {}.",
                     count_of(static_cast<std::size_t>(files_in), "file", "files"), files_out,
                     files_removed(), changed.size(), count_of(findings.size(), "finding", "findings"));
}

std::string Report::to_json() const {
  json::Writer w;
  w.begin_object();
  w.field("summary", summary());
  w.field("files_in", files_in).field("files_out", files_out);
  w.field("bytes_in", bytes_in).field("bytes_out", bytes_out);
  write_languages(w, languages);
  write_removed(w, removed);
  write_changed(w, changed);
  write_findings(w, findings);
  write_llm(w, llm);
  if (diff.made) write_diff(w, diff);
  w.key("tools").begin_object();
  for (const auto& [name, version] : tools) w.field(name, version);
  w.end_object();
  w.key("notes").begin_array();
  for (const auto& n : notes) w.value(n);
  w.end_array();
  w.key("timings_ms").begin_object();
  for (const auto& [stage, ms] : timings_ms) w.field(stage, ms);
  w.end_object();
  w.end_object();
  return w.take();
}

std::string Report::to_markdown() const {
  std::string md = "# Cleanup report\n\n" + summary() + "\n\n";
  md += "| | files | bytes |\n|---|---:|---:|\n";
  md += "| in | " + std::to_string(files_in) + " | " + human_bytes(bytes_in) + " |\n";
  md += "| out | " + std::to_string(files_out) + " | " + human_bytes(bytes_out) + " |\n\n";
  if (!languages.empty()) {
    md += "## Languages\n\n| language | files | lines | code | comment | blank |\n"
          "|---|---:|---:|---:|---:|---:|\n";
    for (const auto& [name, s] : languages) {
      md += fmt::format("| {} | {} | {} | {} | {} | {} |\n", cell(name), s.files, s.lines, s.code,
                        s.comment, s.blank);
    }
    md += "\n";
  }
  if (!removed.empty()) {
    md += "## Removed\n\n| path | reason | files |\n|---|---|---:|\n";
    for (const auto& r : removed) {
      md += "| `" + cell(r.path) + "` | " + cell(r.reason) + " | " + std::to_string(r.files) + " |\n";
    }
    md += "\n";
  }
  if (!changed.empty()) {
    md += "## Changed\n\n| path | passes | lines added | lines removed |\n|---|---|---:|---:|\n";
    for (const auto& c : changed) {
      std::string passes;
      for (const auto& p : c.passes) passes += (passes.empty() ? "" : ", ") + p;
      md += "| `" + cell(c.path) + "`" + (c.created ? " (new)" : "") + " | " + cell(passes) + " | " +
            std::to_string(c.lines_added) +
            " | " + std::to_string(c.lines_removed) + " |\n";
    }
    md += "\n";
  }
  if (!findings.empty()) {
    md += "## Findings\n\n| path | line | kind | rule | severity | message |\n|---|---:|---|---|---|---|\n";
    for (const auto& f : findings) {
      md += "| `" + cell(f.path) + "` | " + std::to_string(f.line) + " | " + cell(f.kind) + " | " +
            cell(f.rule) + " | " + cell(f.severity) + " | " + cell(f.message) + " |\n";
    }
    md += "\n";
  }
  if (llm.used()) md += llm_markdown(llm);
  if (diff.made) md += diff_markdown(diff, by_pass);
  if (!tools.empty()) {
    std::string list;
    for (const auto& [name, version] : tools) list += (list.empty() ? "" : ", ") + cell(name) + " " + cell(version);
    md += "Formatters: " + list + ".\n\n";
  }
  if (!notes.empty()) {
    md += "## Notes\n\n";
    for (const auto& n : notes) md += "- " + cell(n) + "\n";
    md += "\n";
  }
  if (!timings_ms.empty()) {
    md += "## Timings\n\n| stage | ms |\n|---|---:|\n";
    for (const auto& [stage, ms] : timings_ms) md += "| " + cell(stage) + " | " + std::to_string(ms) + " |\n";
  }
  return md;
}

std::string Report::result_json() const {
  json::Writer w;
  w.begin_object();
  w.field("files_in", files_in).field("files_out", files_out);
  w.field("files_changed", static_cast<std::int64_t>(changed.size()));
  w.field("files_removed", files_removed()).field("bytes_out", bytes_out);
  w.end_object();
  return w.take();
}

}  // namespace fti::cleanup
