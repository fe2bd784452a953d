// EventBus: a subscriber map under one short lock; callbacks run outside it.
#include "fti/jobs/event_bus.hpp"

#include <exception>
#include <vector>

#include "fti/core/json.hpp"
#include "fti/core/log.hpp"

namespace fti::jobs {

namespace {

// Subscriptions to every job are filed under this key; job ids are never empty.
const std::string kAllJobs;

std::string_view state_event_type(JobStatus status) {
  switch (status) {
    case JobStatus::succeeded: return "completed";
    case JobStatus::failed: return "failed";
    case JobStatus::cancelled: return "cancelled";
    default: return "status";
  }
}

}  // namespace

JobEvent job_state_event(const Job& job) {
  JobEvent event{job.id, job.tenant, std::string(state_event_type(job.status)), {}};
  json::Writer w;
  w.begin_object();
  w.field("type", event.type);
  w.key("job").raw(job_to_json(job));
  w.end_object();
  event.json = w.take();
  return event;
}

JobEvent job_progress_event(const Job& job, int percent, const std::string& stage) {
  JobEvent event{job.id, job.tenant, "progress", {}};
  json::Writer w;
  w.begin_object();
  w.field("type", event.type);
  w.field("job_id", job.id);
  w.field("progress", percent);
  w.field("stage", stage);
  w.end_object();
  event.json = w.take();
  return event;
}

bool is_final_event(const JobEvent& event) {
  return event.type == "completed" || event.type == "failed" || event.type == "cancelled";
}

std::uint64_t EventBus::subscribe(const std::string& job_id, Callback fn) {
  auto shared = std::make_shared<const Callback>(std::move(fn));
  std::lock_guard lock(mutex_);
  std::uint64_t id = next_id_++;
  job_of_.emplace(id, job_id);
  by_job_[job_id].emplace(id, std::move(shared));
  return id;
}

std::uint64_t EventBus::subscribe_all(Callback fn) { return subscribe(kAllJobs, std::move(fn)); }

void EventBus::unsubscribe(std::uint64_t id) {
  SharedCallback doomed;  // destroyed after the lock is released: it may own a lot
  std::lock_guard lock(mutex_);
  auto it = job_of_.find(id);
  if (it == job_of_.end()) return;
  auto subscribers = by_job_.find(it->second);
  if (subscribers != by_job_.end()) {
    auto entry = subscribers->second.find(id);
    if (entry != subscribers->second.end()) {
      doomed = std::move(entry->second);
      subscribers->second.erase(entry);
    }
    if (subscribers->second.empty()) by_job_.erase(subscribers);
  }
  job_of_.erase(it);
}

void EventBus::publish(const JobEvent& event) {
  std::vector<SharedCallback> targets;
  {
    std::lock_guard lock(mutex_);
    for (const std::string* key : {&event.job_id, &kAllJobs}) {
      auto it = by_job_.find(*key);
      if (it == by_job_.end()) continue;
      for (const auto& [id, fn] : it->second) targets.push_back(fn);
    }
  }
  for (const auto& fn : targets) {
    try {
      (*fn)(event);
    } catch (const std::exception& e) {
      fti::log::get("events")->error("an event subscriber for job {} threw: {}", event.job_id, e.what());
    }
  }
}

std::size_t EventBus::subscriber_count() const {
  std::lock_guard lock(mutex_);
  return job_of_.size();
}

void EventBusObserver::on_started(const Job& job) { bus_.publish(job_state_event(job)); }

void EventBusObserver::on_progress(const Job& job, int percent, const std::string& stage) {
  bus_.publish(job_progress_event(job, percent, stage));
}

void EventBusObserver::on_finished(const Job& job, JobStatus status, double) {
  // The store has the attempt's outcome (result, error, finished_at) that `job` lacks.
  auto current = store_.get(job.id, std::nullopt);
  if (current.ok()) {
    bus_.publish(job_state_event(*current));
    return;
  }
  fti::log::get("events")->warn("could not re-read job {} for its event: {}", job.id, current.error().message);
  Job fallback = job;
  fallback.status = status;
  bus_.publish(job_state_event(fallback));
}

}  // namespace fti::jobs
