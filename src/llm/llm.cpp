#include "fti/llm/llm.hpp"

#include <array>

#include "fti/core/json.hpp"

namespace fti::llm {

namespace {
constexpr std::array<std::string_view, 4> kTierNames = {"local", "simple", "medium", "complex"};
constexpr std::array<std::string_view, 3> kModeNames = {"off", "auto", "fast"};
}  // namespace

std::string_view tier_name(Tier tier) { return kTierNames[static_cast<std::size_t>(tier)]; }

std::optional<Tier> parse_tier(std::string_view name) {
  for (std::size_t i = 0; i < kTierNames.size(); ++i) {
    if (kTierNames[i] == name) return static_cast<Tier>(i);
  }
  return std::nullopt;
}

Tier cloud_tier_for(double complexity) {
  if (complexity < 0.3) return Tier::simple;
  if (complexity < 0.7) return Tier::medium;
  return Tier::complex;
}

std::string_view mode_name(Mode mode) { return kModeNames[static_cast<std::size_t>(mode)]; }

std::optional<Mode> parse_mode(std::string_view name) {
  for (std::size_t i = 0; i < kModeNames.size(); ++i) {
    if (kModeNames[i] == name) return static_cast<Mode>(i);
  }
  return std::nullopt;
}

std::string ask_to_json(const Ask& ask) {
  json::Writer w;
  w.begin_object()
      .field("task", ask.task)
      .field("tier", tier_name(ask.tier))
      .field("system", ask.system)
      .field("prompt", ask.prompt)
      .field("max_tokens", ask.max_tokens)
      .field("temperature", ask.temperature)
      .field("job_id", ask.job_id)
      .end_object();
  return w.take();
}

Result<Ask> ask_from_json(std::string_view text) {
  FTI_ASSIGN_OR_RETURN(auto doc, json::Document::parse(text));
  auto root = doc.root();
  Ask ask;
  auto tier = parse_tier(root.get_string("tier").value_or(""));
  auto prompt = root.get_string("prompt");
  if (!root.is_object() || !tier || !prompt) {
    return Error(errc::bad_request, "an LLM ask needs a tier and a prompt");
  }
  ask.tier = *tier;
  ask.prompt = std::move(*prompt);
  ask.task = root.get_string("task").value_or("");
  ask.system = root.get_string("system").value_or("");
  ask.max_tokens = static_cast<int>(root.get_int("max_tokens").value_or(2048));
  ask.temperature = root.get_double("temperature").value_or(0.0);
  ask.job_id = root.get_string("job_id").value_or("");
  if (ask.max_tokens <= 0 || ask.max_tokens > 1'000'000) {
    return Error(errc::bad_request, "max_tokens must be between 1 and 1000000");
  }
  return ask;
}

std::string answer_to_json(const Answer& a) {
  json::Writer w;
  w.begin_object()
      .field("text", a.text)
      .field("provider", a.provider)
      .field("model", a.model)
      .field("finish_reason", a.finish_reason)
      .field("tokens_in", a.tokens_in)
      .field("tokens_out", a.tokens_out)
      .field("cost_usd", a.cost_usd)
      .field("cached", a.cached)
      .end_object();
  return w.take();
}

Result<Answer> answer_from_json(std::string_view text) {
  FTI_ASSIGN_OR_RETURN(auto doc, json::Document::parse(text));
  auto root = doc.root();
  auto body = root.get_string("text");
  if (!root.is_object() || !body) return Error(errc::bad_request, "an LLM answer needs a text");
  Answer a;
  a.text = std::move(*body);
  a.provider = root.get_string("provider").value_or("");
  a.model = root.get_string("model").value_or("");
  a.finish_reason = root.get_string("finish_reason").value_or("stop");
  a.tokens_in = root.get_int("tokens_in").value_or(0);
  a.tokens_out = root.get_int("tokens_out").value_or(0);
  a.cost_usd = root.get_double("cost_usd").value_or(0.0);
  a.cached = root.get_bool("cached").value_or(false);
  return a;
}

}  // namespace fti::llm
