#pragma once
// FakeLlmClient: an llm::LlmClient that records every Ask and answers from a script, per tier
// (and optionally per task), like a router would: the provider by tier (local: ollama;
// simple and medium: openai; complex: anthropic), tokens counted from the text, a price per
// token on the cloud tiers. Unscripted asks get the first fenced block of the prompt back
// (a model that changes nothing), or the tier's default when one is set.
#include <cmath>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fti/core/error.hpp"
#include "fti/llm/llm.hpp"

namespace fti::fakes {

class FakeLlmClient final : public llm::LlmClient {
 public:
  // One scripted reply: text (with its finish reason) or an error.
  struct Reply {
    std::string text;
    std::string finish_reason = "stop";
    std::optional<Error> error;
    bool cached = false;

    static Reply answer(std::string text) {
      return Reply{std::move(text), "stop", std::nullopt, false};
    }
    static Reply truncated(std::string text) {
      return Reply{std::move(text), "length", std::nullopt, false};
    }
    static Reply failure(std::string_view code, std::string message) {
      return Reply{"", "", Error(code, std::move(message)), false};
    }
    static Reply from_cache(std::string text) {
      return Reply{std::move(text), "stop", std::nullopt, true};
    }
  };

  // Queues a reply for the next ask on `tier` (of `task`, when given); used once.
  void script(llm::Tier tier, Reply reply, std::string task = "") {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(Scripted{tier, std::move(task), std::move(reply)});
  }
  // The reply for every unscripted ask on `tier` from now on.
  void set_default(llm::Tier tier, Reply reply) {
    std::lock_guard<std::mutex> lock(mu_);
    defaults_[tier] = std::move(reply);
  }

  std::vector<llm::Ask> asks() const {
    std::lock_guard<std::mutex> lock(mu_);
    return asks_;
  }
  std::vector<llm::Answer> answers() const {
    std::lock_guard<std::mutex> lock(mu_);
    return answers_;
  }

  Result<llm::Answer> complete(const llm::Ask& ask) override {
    std::lock_guard<std::mutex> lock(mu_);
    asks_.push_back(ask);
    Reply reply = next_reply(ask);
    if (reply.error) return *reply.error;
    llm::Answer a;
    a.text = std::move(reply.text);
    a.provider = provider_for(ask.tier);
    a.model = a.provider + "-" + std::string(llm::tier_name(ask.tier));
    a.finish_reason = reply.finish_reason;
    a.tokens_in = tokens_of(ask.system.size() + ask.prompt.size());
    a.tokens_out = tokens_of(a.text.size());
    a.cached = reply.cached;
    a.cost_usd = reply.cached
                     ? 0
                     : price_per_token(ask.tier) * static_cast<double>(a.tokens_in + a.tokens_out);
    answers_.push_back(a);
    return a;
  }

  static std::string provider_for(llm::Tier tier) {
    switch (tier) {
      case llm::Tier::local: return "ollama";
      case llm::Tier::simple:
      case llm::Tier::medium: return "openai";
      case llm::Tier::complex: return "anthropic";
    }
    return "ollama";
  }

  // The text of the first ``` block (the longer fence a prompt may use included).
  static std::string first_fenced_block(std::string_view prompt) {
    std::size_t open = prompt.find("```");
    while (open != std::string_view::npos && open > 0 && prompt[open - 1] != '\n') {
      open = prompt.find("```", open + 3);
    }
    if (open == std::string_view::npos) return {};
    std::size_t ticks = 0;
    while (open + ticks < prompt.size() && prompt[open + ticks] == '`') ++ticks;
    std::size_t body = prompt.find('\n', open);
    if (body == std::string_view::npos) return {};
    ++body;
    std::string fence = "\n" + std::string(ticks, '`');
    std::size_t close = prompt.find(fence, body - 1);
    if (close == std::string_view::npos) return std::string(prompt.substr(body));
    return std::string(prompt.substr(body, close + 1 - body));
  }

 private:
  struct Scripted {
    llm::Tier tier;
    std::string task;
    Reply reply;
  };

  Reply next_reply(const llm::Ask& ask) {
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
      if (it->tier == ask.tier && (it->task.empty() || it->task == ask.task)) {
        Reply r = std::move(it->reply);
        queue_.erase(it);
        return r;
      }
    }
    auto d = defaults_.find(ask.tier);
    if (d != defaults_.end()) return d->second;
    return Reply::answer(first_fenced_block(ask.prompt));
  }

  static std::int64_t tokens_of(std::size_t bytes) {
    return static_cast<std::int64_t>((bytes + 3) / 4);
  }

  static double price_per_token(llm::Tier tier) {
    switch (tier) {
      case llm::Tier::local: return 0;
      case llm::Tier::simple: return 0.5e-6;
      case llm::Tier::medium: return 5e-6;
      case llm::Tier::complex: return 15e-6;
    }
    return 0;
  }

  mutable std::mutex mu_;
  std::deque<Scripted> queue_;
  std::map<llm::Tier, Reply> defaults_;
  std::vector<llm::Ask> asks_;
  std::vector<llm::Answer> answers_;
};

}  // namespace fti::fakes
