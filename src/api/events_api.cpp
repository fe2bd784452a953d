// GET /api/v1/jobs/{id}/events: a WebSocket carrying one job's events. The first message is
// the job's current state; then progress and state changes follow until the job finishes
// ("completed", "failed" or "cancelled"), and the server closes the connection normally.
#include <memory>
#include <mutex>
#include <vector>

#include "fti/core/json.hpp"
#include "fti/jobs/event_bus.hpp"
#include "fti/jobs/job_store.hpp"
#include "handlers.hpp"

namespace fti::api {

namespace {

constexpr const char* kFinishedReason = "job finished";

// A progress event older than the snapshot the first message showed.
bool is_behind(const jobs::JobEvent& event, const jobs::Job& snapshot) {
  if (event.type != "progress") return false;
  auto doc = json::Document::parse(event.json);
  if (!doc.ok()) return false;
  return doc->root().get_int("progress").value_or(0) < snapshot.progress;
}

// Moves one job's events onto one WebSocket. The subscription exists before the job is read,
// so nothing published after that read can be missed; events that arrive before the first
// message is out wait in `early_`, so nothing overtakes it either.
class EventForwarder {
 public:
  EventForwarder(jobs::EventBus& bus, std::shared_ptr<http::WebSocketChannel> channel)
      : bus_(bus), channel_(std::move(channel)) {}

  void set_subscription(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    subscription_ = id;
  }

  // From the bus, on the publisher's thread.
  void on_event(const jobs::JobEvent& event) {
    {
      std::lock_guard lock(mutex_);
      if (finished_) return;
      if (!started_) {
        early_.push_back(event);
        return;
      }
      if (!forward(event)) return;
    }
    end_subscription();
  }

  // Sends `job` as the first message, then whatever arrived while it was being read.
  void start(const jobs::Job& job) {
    {
      std::lock_guard lock(mutex_);
      started_ = true;
      bool ended = forward(jobs::job_state_event(job));
      for (const auto& event : early_) {
        if (ended) break;
        if (!is_behind(event, job)) ended = forward(event);
      }
      early_.clear();
      if (!ended) return;
    }
    end_subscription();
  }

  // The connection ended (client left, too slow, server stopping).
  void stop() {
    {
      std::lock_guard lock(mutex_);
      finished_ = true;
    }
    end_subscription();
  }

 private:
  // Sends one event; true when it was the job's last, and the channel is closing.
  bool forward(const jobs::JobEvent& event) {
    channel_->send_text(event.json);
    if (!jobs::is_final_event(event)) return false;
    finished_ = true;
    channel_->close(kFinishedReason);
    return true;
  }

  // Outside the forwarder's lock: unsubscribing takes the bus lock.
  void end_subscription() {
    std::uint64_t id = 0;
    {
      std::lock_guard lock(mutex_);
      id = subscription_;
      subscription_ = 0;
    }
    if (id != 0) bus_.unsubscribe(id);
  }

  jobs::EventBus& bus_;
  std::shared_ptr<http::WebSocketChannel> channel_;
  std::mutex mutex_;
  std::uint64_t subscription_ = 0;
  bool started_ = false;   // the first message is out
  bool finished_ = false;  // the final event is out or the connection ended
  std::vector<jobs::JobEvent> early_;
};

}  // namespace

std::optional<http::Response> handle_job_events(const ApiDeps& deps, http::Request& req,
                                                std::shared_ptr<http::WebSocketChannel> channel) {
  if (!deps.events) return http::Response::problem(503, errc::unavailable, "job events are not enabled on this server");
  const std::string& id = req.params.at("id");
  auto forwarder = std::make_shared<EventForwarder>(*deps.events, channel);
  // Subscribe first, read second: an event published between the two is queued, not lost.
  std::uint64_t subscription =
      deps.events->subscribe(id, [forwarder](const jobs::JobEvent& event) { forwarder->on_event(event); });
  auto job = deps.jobs->get(id, req.tenant);
  if (!job.ok()) {
    // Another tenant's job is not found, exactly like GET /api/v1/jobs/{id}.
    deps.events->unsubscribe(subscription);
    return http::Response::from_error(job.error());
  }
  forwarder->set_subscription(subscription);
  std::weak_ptr<EventForwarder> weak = forwarder;
  channel->on_closed([weak] {
    if (auto f = weak.lock()) f->stop();
  });
  forwarder->start(*job);
  return std::nullopt;
}

}  // namespace fti::api
