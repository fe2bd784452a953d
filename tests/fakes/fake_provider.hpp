#pragma once
// FakeProvider: an llm::Provider that answers from a script, for router tests. Each call
// takes the next scripted result (then repeats the default), and every request is kept.
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "fti/llm/provider.hpp"

namespace fti::fakes {

class FakeProvider final : public llm::Provider {
 public:
  FakeProvider(std::string name, std::string base_url) : name_(std::move(name)), base_url_(std::move(base_url)) {}

  static llm::CallResult reply(std::string text, std::int64_t in = 100, std::int64_t out = 50) {
    llm::CallResult r;
    r.reply = llm::ProviderReply{std::move(text), "", "stop", in, out};
    return r;
  }
  static llm::CallResult failure(llm::FailureKind kind, long status = 0,
                                 std::optional<std::chrono::milliseconds> retry_after = std::nullopt) {
    llm::CallResult r;
    r.failure = llm::ProviderFailure{kind, status, retry_after, "scripted failure"};
    return r;
  }

  void script(std::vector<llm::CallResult> next) {
    std::lock_guard lock(mutex_);
    for (auto& r : next) script_.push_back(std::move(r));
  }
  void set_default(llm::CallResult r) {
    std::lock_guard lock(mutex_);
    default_ = std::move(r);
  }
  void set_probe(llm::CallResult r) {
    std::lock_guard lock(mutex_);
    probe_ = std::move(r);
  }
  int calls() const {
    std::lock_guard lock(mutex_);
    return static_cast<int>(requests_.size());
  }
  int probes() const {
    std::lock_guard lock(mutex_);
    return probes_;
  }
  std::vector<llm::ProviderRequest> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

  std::string name() const override { return name_; }
  std::string base_url() const override { return base_url_; }
  llm::CallResult call(const llm::ProviderRequest& request) override {
    std::lock_guard lock(mutex_);
    requests_.push_back(request);
    if (script_.empty()) return default_;
    auto r = std::move(script_.front());
    script_.pop_front();
    return r;
  }
  llm::CallResult probe(const std::string&) override {
    std::lock_guard lock(mutex_);
    ++probes_;
    return probe_;
  }

 private:
  mutable std::mutex mutex_;
  std::string name_, base_url_;
  std::deque<llm::CallResult> script_;
  llm::CallResult default_ = reply("default answer");
  llm::CallResult probe_ = reply("");
  std::vector<llm::ProviderRequest> requests_;
  int probes_ = 0;
};

}  // namespace fti::fakes
