#pragma once
// EventBus: job events inside one process. Workers and the API publish; WebSocket connections
// subscribe to one job each. An event is self-contained (job id, tenant, type and the full
// message text), so a PostgreSQL LISTEN/NOTIFY bridge can forward every local event
// (subscribe_all) and publish what other instances send into the same bus.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "fti/jobs/job.hpp"
#include "fti/jobs/worker_pool.hpp"

namespace fti::jobs {

struct JobEvent {
  std::string job_id;
  std::string tenant;
  std::string type;  // "status" | "progress" | "completed" | "failed" | "cancelled"
  std::string json;  // the full message as clients receive it
};

// The event that describes a job's current state: "completed", "failed" or "cancelled" for a
// finished job, else "status". Message: {"type":...,"job":<job_to_json(job)>}.
JobEvent job_state_event(const Job& job);
// {"type":"progress","job_id":...,"progress":percent,"stage":...}
JobEvent job_progress_event(const Job& job, int percent, const std::string& stage);
// True for the types that end a job's stream: completed, failed, cancelled.
bool is_final_event(const JobEvent& event);

class EventBus {
 public:
  using Callback = std::function<void(const JobEvent&)>;

  // Calls `fn` for every event of `job_id` published from now on. Callbacks run on the
  // publisher's thread and must be cheap (queue the message and return). A callback may still
  // run once while or just after unsubscribe() returns, so it must own what it touches.
  std::uint64_t subscribe(const std::string& job_id, Callback fn);
  // Every event of every job (the cross-instance bridge, tests).
  std::uint64_t subscribe_all(Callback fn);
  void unsubscribe(std::uint64_t id);
  // Delivers to the current subscribers. Never holds the bus lock while a callback runs, so
  // subscribers may (un)subscribe from inside a callback; a throwing callback is logged and
  // skipped.
  void publish(const JobEvent& event);
  std::size_t subscriber_count() const;

 private:
  using SharedCallback = std::shared_ptr<const Callback>;
  mutable std::mutex mutex_;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, std::string> job_of_;                              // subscription -> job ("" = all)
  std::map<std::string, std::map<std::uint64_t, SharedCallback>> by_job_;    // job -> its subscribers
};

// Publishes the worker pool's transitions: "status" when an attempt starts, "progress" at
// every report (the database write is throttled elsewhere, events are not), and the job's
// state, re-read from the store, when an attempt ends.
class EventBusObserver final : public JobObserver {
 public:
  EventBusObserver(EventBus& bus, JobStore& store) : bus_(bus), store_(store) {}

  void on_started(const Job& job) override;
  void on_progress(const Job& job, int percent, const std::string& stage) override;
  void on_finished(const Job& job, JobStatus status, double seconds) override;

 private:
  EventBus& bus_;
  JobStore& store_;
};

}  // namespace fti::jobs
