#pragma once
// What the service does when surge mode turns on or off. On:
// non-essential feature flags off, the LLM router to `fast` (Ollama and the simple tier
// only), new LLM cache entries kept surge.cache_ttl_factor times longer, fti_surge_mode 1,
// a log line and a webhook. Off: everything back as configured.
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "fti/core/config.hpp"
#include "fti/ops/surge.hpp"

namespace fti::llm {
class Router;
}
namespace fti::ops {
class FeatureFlags;
class Metrics;
}

namespace fti::api {

class SurgeResponder {
 public:
  SurgeResponder(std::shared_ptr<const Config> config, ops::FeatureFlags& flags, llm::Router* router,
                 ops::Metrics& metrics);
  ~SurgeResponder();
  SurgeResponder(const SurgeResponder&) = delete;
  SurgeResponder& operator=(const SurgeResponder&) = delete;

  void apply(const ops::SurgeStatus& status);

 private:
  void send_webhooks();  // the webhook thread: the latest change only, never the I/O threads

  std::shared_ptr<const Config> config_;
  ops::FeatureFlags& flags_;
  llm::Router* router_;
  ops::Metrics& metrics_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::optional<std::string> pending_;  // the next webhook body
  bool stop_ = false;
  std::thread webhook_thread_;  // last: it uses the members above
};

}  // namespace fti::api
