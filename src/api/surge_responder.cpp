#include "fti/api/surge_responder.hpp"

#include <pthread.h>

#include "fti/core/http_client.hpp"
#include "fti/core/json.hpp"
#include "fti/core/log.hpp"
#include "fti/llm/router.hpp"
#include "fti/ops/flags.hpp"
#include "fti/ops/metrics.hpp"

namespace fti::api {

SurgeResponder::SurgeResponder(std::shared_ptr<const Config> config, ops::FeatureFlags& flags, llm::Router* router,
                               ops::Metrics& metrics)
    : config_(std::move(config)), flags_(flags), router_(router), metrics_(metrics), webhook_thread_([this] {
        send_webhooks();
      }) {
  metrics_.set("fti_surge_mode", {}, 0);
}

SurgeResponder::~SurgeResponder() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  webhook_thread_.join();
}

void SurgeResponder::apply(const ops::SurgeStatus& status) {
  const bool on = status.active;
  flags_.set_surge(on);
  if (router_) {
    const auto configured = llm::parse_mode(config_->llm.mode).value_or(llm::Mode::off);
    // Off stays off: surge mode never turns language models on.
    router_->set_mode(on && configured != llm::Mode::off ? llm::Mode::fast : configured);
    const auto ttl = std::chrono::seconds(config_->llm.cache_ttl_seconds);
    router_->set_cache_ttl(on ? std::chrono::seconds(static_cast<std::int64_t>(
                                    static_cast<double>(ttl.count()) * config_->surge.cache_ttl_factor))
                              : ttl);
  }
  metrics_.set("fti_surge_mode", {}, on ? 1 : 0);
  log::get("surge")->warn("surge mode {}: {}", on ? "ON" : "off", status.reason);
  if (config_->surge.webhook_url.empty()) return;
  json::Writer w;
  w.begin_object();
  w.field("event", on ? "surge_on" : "surge_off").field("active", on).field("reason", status.reason);
  w.field("rate_per_second", status.rate).field("baseline_per_second", status.baseline);
  w.field("forced", status.forced.has_value()).field("at", format_rfc3339(status.since_ms));
  w.end_object();
  {
    std::lock_guard lock(mutex_);
    pending_ = w.take();
  }
  wake_.notify_all();
}

void SurgeResponder::send_webhooks() {
  pthread_setname_np(pthread_self(), "fti-surge-hook");
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stop_ || pending_; });
    if (stop_) return;
    std::string body = std::move(*pending_);
    pending_.reset();
    lock.unlock();
    HttpRequest request;
    request.method = "POST";
    request.url = config_->surge.webhook_url;
    request.headers = {{"Content-Type", "application/json"}};
    request.body = std::move(body);
    request.connect_timeout = std::chrono::milliseconds(2000);
    request.total_timeout = std::chrono::milliseconds(5000);
    auto response = HttpClient().send(request);
    if (!response) {
      log::get("surge")->warn("surge webhook failed: {}", response.error().message);
    } else if (response->status < 200 || response->status >= 300) {
      log::get("surge")->warn("surge webhook answered HTTP {}", response->status);
    }
    lock.lock();
  }
}

}  // namespace fti::api
