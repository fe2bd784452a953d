#pragma once
// EventBridge: job events across instances that share a PostgreSQL database. Every event
// published on this instance's bus is sent on kJobEventsChannel; every event another
// instance sends is published on this bus, so a WebSocket opened on one instance follows a
// job that runs on another. Sending happens on the bridge's own thread (a publisher never
// waits for the database), and a job's queued progress events collapse into its latest.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "fti/jobs/event_bus.hpp"
#include "fti/jobs/job_store.hpp"

namespace fti::db {
class Database;
}

namespace fti::jobs {

inline constexpr std::string_view kJobEventsChannel = "fti_job_events";

class EventBridge {
 public:
  // `node_id` tells this instance's own notifications apart when they come back.
  EventBridge(EventBus& bus, db::Database& database, JobStore& store, std::string node_id);
  ~EventBridge();  // sends what is queued (briefly), then stops
  EventBridge(const EventBridge&) = delete;
  EventBridge& operator=(const EventBridge&) = delete;

  // One notification from kJobEventsChannel (the server's listener calls this).
  void on_notification(const std::string& payload);

  // Events waiting to be sent (tests, diagnostics).
  std::size_t queued() const;

 private:
  void forward(const JobEvent& event);
  void send_loop();
  std::string payload_for(const JobEvent& event) const;
  void publish_remote(const JobEvent& event);

  static constexpr std::size_t kMaxQueued = 10000;

  EventBus& bus_;
  db::Database& db_;
  JobStore& store_;
  const std::string node_id_;
  std::uint64_t subscription_ = 0;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<JobEvent> queue_;
  bool stop_ = false;
  std::thread sender_;  // last: it starts once everything above exists
};

}  // namespace fti::jobs
