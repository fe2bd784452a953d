// Style profiles: config/profiles/*.toml, built into the binary by fti_embed (CMakeLists.txt),
// so a job's child process reads no files to know them.
#include <toml++/toml.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "fti/cleanup/formatters.hpp"

namespace fti::cleanup {

// Generated from config/profiles/<name>.toml at build time.
std::string_view profile_default_toml();
std::string_view profile_google_toml();
std::string_view profile_compact_toml();

namespace {

struct EmbeddedProfile {
  const char* name;
  std::string_view (*text)();
};

constexpr std::array<EmbeddedProfile, 3> kProfiles{{
    {"default", profile_default_toml},
    {"google", profile_google_toml},
    {"compact", profile_compact_toml},
}};

constexpr std::array<std::string_view, 7> kClangBases{"LLVM",    "Google", "Chromium", "Mozilla",
                                                      "WebKit",  "Microsoft", "GNU"};

Error bad(const std::string& profile, const std::string& what) {
  return Error(errc::bad_config, fmt::format("style profile {}: {}", profile, what));
}

// Reads indent, line_length, quotes and tabs from `table` over `style`; other keys are errors
// unless `extra` allows them.
Status read_style(const std::string& profile, const toml::table& table, LanguageStyle& style,
                  const std::vector<std::string>& extra) {
  for (const auto& [key, node] : table) {
    std::string k(key.str());
    if (k == "indent" || k == "line_length") {
      auto v = node.value<std::int64_t>();
      std::int64_t lo = k == "indent" ? 1 : 20, hi = k == "indent" ? 16 : 400;
      if (!v || *v < lo || *v > hi) return bad(profile, fmt::format("{} must be a whole number from {} to {}", k, lo, hi));
      (k == "indent" ? style.indent : style.line_length) = static_cast<int>(*v);
    } else if (k == "quotes") {
      auto v = node.value<std::string>();
      if (!v || (*v != "single" && *v != "double")) return bad(profile, "quotes must be \"single\" or \"double\"");
      style.single_quotes = *v == "single";
    } else if (k == "tabs") {
      auto v = node.value<bool>();
      if (!v) return bad(profile, "tabs must be true or false");
      style.tabs = *v;
    } else if (std::find(extra.begin(), extra.end(), k) == extra.end()) {
      return bad(profile, "unknown key " + k);
    }
  }
  return ok_status();
}

}  // namespace

Result<StyleProfile> parse_style_profile(const std::string& name, std::string_view toml_text) {
  toml::table table;
  try {
    table = toml::parse(toml_text);
  } catch (const toml::parse_error& err) {
    return Error(errc::bad_config, fmt::format("style profile {}: line {}: {}", name, err.source().begin.line,
                                               err.description()));
  }
  StyleProfile profile;
  profile.name = name;
  LanguageStyle base;
  static const std::vector<std::string> kSections{"c", "python", "web", "shell", "rust"};
  FTI_TRY(read_style(name, table, base, kSections));
  LanguageStyle* targets[] = {&profile.c, &profile.python, &profile.web, &profile.shell, &profile.rust};
  for (LanguageStyle* s : targets) *s = base;  // then each section overrides its formatter's
  for (std::size_t k = 0; k < kSections.size(); ++k) {
    const toml::node* node = table.get(kSections[k]);
    if (!node) continue;
    const toml::table* section = node->as_table();
    if (!section) return bad(name, "[" + kSections[k] + "] must be a table");
    FTI_TRY(read_style(name, *section, *targets[k], k == 0 ? std::vector<std::string>{"based_on"}
                                                           : std::vector<std::string>{}));
  }
  if (const toml::node* based = table.at_path("c.based_on").node()) {
    auto v = based->value<std::string>();
    if (!v || std::find(kClangBases.begin(), kClangBases.end(), *v) == kClangBases.end()) {
      return bad(name, "c.based_on must be one of LLVM, Google, Chromium, Mozilla, WebKit, Microsoft, GNU");
    }
    profile.clang_based_on = *v;
  }
  return profile;
}

std::vector<std::string> style_profile_names() {
  std::vector<std::string> names;
  for (const auto& p : kProfiles) names.emplace_back(p.name);
  return names;
}

Result<StyleProfile> find_style_profile(const std::string& name) {
  const std::string wanted = name.empty() ? "default" : name;
  for (const auto& p : kProfiles) {
    if (wanted == p.name) return parse_style_profile(p.name, p.text());
  }
  return Error(errc::bad_request,
               fmt::format("unknown style profile \"{}\"; use one of: {}", wanted, fmt::join(style_profile_names(), ", ")));
}

}  // namespace fti::cleanup
