// EventBridge: local events out through NOTIFY from a sender thread; remote events in from
// the listener, published on the bus without being sent back out.
#include "fti/jobs/event_bridge.hpp"

#include <algorithm>
#include <chrono>

#include "fti/core/json.hpp"
#include "fti/core/log.hpp"
#include "fti/db/database.hpp"
#include "fti/db/notifications.hpp"

namespace fti::jobs {

namespace {

// Set while this thread publishes an event that came from another instance, so forward()
// (a bus subscriber, called on the publisher's thread) does not send it back out.
thread_local bool publishing_remote = false;

constexpr std::size_t kMaxBatch = 200;
constexpr auto kShutdownGrace = std::chrono::seconds(2);

}  // namespace

EventBridge::EventBridge(EventBus& bus, db::Database& database, JobStore& store, std::string node_id)
    : bus_(bus), db_(database), store_(store), node_id_(std::move(node_id)), sender_([this] { send_loop(); }) {
  subscription_ = bus_.subscribe_all([this](const JobEvent& event) { forward(event); });
}

EventBridge::~EventBridge() {
  bus_.unsubscribe(subscription_);
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  sender_.join();
}

std::size_t EventBridge::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void EventBridge::forward(const JobEvent& event) {
  if (publishing_remote) return;
  {
    std::lock_guard lock(mutex_);
    if (stop_) return;
    // Progress is a state: a newer report replaces one still waiting for the same job.
    if (event.type == "progress") {
      auto same = std::find_if(queue_.begin(), queue_.end(), [&](const JobEvent& q) {
        return q.type == "progress" && q.job_id == event.job_id;
      });
      if (same != queue_.end()) {
        *same = event;
        return;
      }
    }
    if (queue_.size() >= kMaxQueued) {
      // The database is not keeping up: progress goes first, a job's final state last.
      auto progress = std::find_if(queue_.begin(), queue_.end(), [](const JobEvent& q) { return q.type == "progress"; });
      auto victim = progress != queue_.end() ? progress : queue_.begin();
      log::get("events")->warn("event queue full: dropped a {} event of job {} for other instances", victim->type,
                               victim->job_id);
      queue_.erase(victim);
    }
    queue_.push_back(event);
  }
  wake_.notify_one();
}

// {"node":..,"job_id":..,"tenant":..,"type":..,"json":..}; when that would not fit in a
// NOTIFY, a "refresh" without the message: receivers read the job's state themselves.
std::string EventBridge::payload_for(const JobEvent& event) const {
  auto build = [&](bool with_message) {
    json::Writer w;
    w.begin_object();
    w.field("node", node_id_);
    w.field("job_id", event.job_id);
    w.field("tenant", event.tenant);
    w.field("type", with_message ? event.type : std::string("refresh"));
    if (with_message) w.field("json", event.json);
    w.end_object();
    return w.take();
  };
  std::string full = build(true);
  return full.size() <= db::kMaxNotifyPayload ? full : build(false);
}

void EventBridge::send_loop() {
  std::unique_lock lock(mutex_);
  std::chrono::steady_clock::time_point give_up{};
  for (;;) {
    wake_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (stop_) {
      if (give_up == std::chrono::steady_clock::time_point{}) give_up = std::chrono::steady_clock::now() + kShutdownGrace;
      if (queue_.empty() || std::chrono::steady_clock::now() > give_up) return;
    }
    std::vector<std::string> batch;
    while (!queue_.empty() && batch.size() < kMaxBatch) {
      batch.push_back(payload_for(queue_.front()));
      queue_.pop_front();
    }
    lock.unlock();
    Status sent = db_.transact(db::TxMode::write, [&](db::Connection& c) -> Status {
      for (const auto& payload : batch) FTI_TRY(db::notify(c, std::string(kJobEventsChannel), payload));
      return ok_status();
    });
    if (!sent.ok()) {
      log::get("events")->warn("could not send {} job event(s) to other instances: {}", batch.size(),
                               sent.error().message);
    }
    lock.lock();
  }
}

void EventBridge::on_notification(const std::string& payload) {
  auto doc = json::Document::parse(payload);
  if (!doc.ok()) {
    log::get("events")->warn("ignored a malformed job event notification: {}", doc.error().message);
    return;
  }
  const auto& root = doc->root();
  const auto node = root.get_string("node");
  if (!node || *node == node_id_) return;  // our own, already delivered here
  JobEvent event{root.get_string("job_id").value_or(""), root.get_string("tenant").value_or(""),
                 root.get_string("type").value_or(""), root.get_string("json").value_or("")};
  if (event.job_id.empty() || event.type.empty()) return;
  if (event.type == "refresh") {
    auto job = store_.get(event.job_id, std::nullopt);
    if (!job.ok()) return;
    event = job_state_event(*job);
  }
  publish_remote(event);
}

void EventBridge::publish_remote(const JobEvent& event) {
  publishing_remote = true;
  bus_.publish(event);
  publishing_remote = false;
}

}  // namespace fti::jobs
