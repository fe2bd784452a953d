// EventBus: delivery by job, unsubscribe, many threads at once; the message helpers; and the
// observer that turns worker transitions into events.
#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "fti/core/json.hpp"
#include "fti/jobs/event_bus.hpp"
#include "job_test_support.hpp"

using namespace fti;
using namespace fti::jobs;

namespace {

JobEvent event_for(const std::string& job_id, const std::string& text) {
  return JobEvent{job_id, "acme", "progress", text};
}

// Collects what one subscriber received.
struct Inbox {
  std::mutex mutex;
  std::vector<JobEvent> events;

  EventBus::Callback callback() {
    return [this](const JobEvent& e) {
      std::lock_guard lock(mutex);
      events.push_back(e);
    };
  }
  std::vector<std::string> texts() {
    std::lock_guard lock(mutex);
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(e.json);
    return out;
  }
};

std::string job_field(const std::string& json, const std::string& key) {
  auto doc = json::Document::parse(json);
  REQUIRE(doc.ok());
  auto job = doc->root().get("job");
  REQUIRE(job);
  return job->get_string(key).value_or("");
}

}  // namespace

TEST_CASE("a subscriber gets its job's events in order and nothing after unsubscribing", "[events]") {
  EventBus bus;
  Inbox mine, other;
  auto id = bus.subscribe("job-1", mine.callback());
  bus.subscribe("job-2", other.callback());
  CHECK(bus.subscriber_count() == 2);

  bus.publish(event_for("job-1", "a"));
  bus.publish(event_for("job-2", "x"));
  bus.publish(event_for("job-1", "b"));
  bus.unsubscribe(id);
  bus.publish(event_for("job-1", "c"));

  CHECK(mine.texts() == std::vector<std::string>{"a", "b"});
  CHECK(other.texts() == std::vector<std::string>{"x"});
  CHECK(bus.subscriber_count() == 1);
  bus.unsubscribe(id);  // twice is harmless
  CHECK(bus.subscriber_count() == 1);
}

TEST_CASE("subscribe_all sees every job's events (the cross-instance bridge's hook)", "[events]") {
  EventBus bus;
  Inbox all;
  bus.subscribe_all(all.callback());
  bus.publish(event_for("job-1", "a"));
  bus.publish(event_for("job-2", "b"));
  CHECK(all.texts() == std::vector<std::string>{"a", "b"});
}

TEST_CASE("a callback may unsubscribe itself, and a throwing one does not stop the others", "[events]") {
  EventBus bus;
  std::uint64_t self_id = 0;
  int self_calls = 0;
  self_id = bus.subscribe("job-1", [&](const JobEvent&) {
    ++self_calls;
    bus.unsubscribe(self_id);  // as the WebSocket side does on the final event
  });
  bus.subscribe("job-1", [](const JobEvent&) { throw std::runtime_error("broken subscriber"); });
  Inbox after;
  bus.subscribe("job-1", after.callback());

  bus.publish(event_for("job-1", "a"));
  bus.publish(event_for("job-1", "b"));
  CHECK(self_calls == 1);
  CHECK(after.texts() == std::vector<std::string>{"a", "b"});
}

TEST_CASE("publishing, subscribing and unsubscribing from many threads loses nothing", "[events]") {
  EventBus bus;
  constexpr int kJobs = 4;
  constexpr int kPublishers = 6;
  constexpr int kPerPublisher = 2000;

  // One steady subscriber per job checks that every event arrives, and that each publisher's
  // events arrive in the order it published them.
  std::mutex mutex;
  std::map<int, std::map<int, int>> last_seen;  // job -> publisher -> last sequence number
  std::atomic<int> received{0};
  std::atomic<bool> out_of_order{false};
  for (int j = 0; j < kJobs; ++j) {
    bus.subscribe("job-" + std::to_string(j), [&, j](const JobEvent& e) {
      auto space = e.json.find(' ');
      int publisher = std::stoi(e.json.substr(0, space));
      int seq = std::stoi(e.json.substr(space + 1));
      std::lock_guard lock(mutex);
      auto [it, inserted] = last_seen[j].try_emplace(publisher, -1);
      if (seq <= it->second) out_of_order = true;
      it->second = seq;
      ++received;
    });
  }

  std::atomic<bool> done{false};
  std::atomic<int> churn_calls{0};
  std::vector<std::thread> churners;
  for (int c = 0; c < 3; ++c) {
    churners.emplace_back([&, c] {
      while (!done) {
        auto id = bus.subscribe("job-" + std::to_string(c % kJobs), [&](const JobEvent&) { ++churn_calls; });
        bus.unsubscribe(id);
      }
    });
  }
  std::vector<std::thread> publishers;
  for (int p = 0; p < kPublishers; ++p) {
    publishers.emplace_back([&, p] {
      for (int i = 0; i < kPerPublisher; ++i) {
        bus.publish(event_for("job-" + std::to_string(i % kJobs), std::to_string(p) + " " + std::to_string(i)));
      }
    });
  }
  for (auto& t : publishers) t.join();
  done = true;
  for (auto& t : churners) t.join();

  CHECK(received == kPublishers * kPerPublisher);
  CHECK_FALSE(out_of_order);
  CHECK(bus.subscriber_count() == kJobs);  // every churned subscription is gone
}

TEST_CASE("event messages carry the job, or the progress, as clients read them", "[events]") {
  Job job;
  job.id = "job-7";
  job.tenant = "acme";
  job.input.filename = "messy.zip";

  struct Case {
    JobStatus status;
    std::string type;
    bool final;
  };
  for (const auto& c : {Case{JobStatus::queued, "status", false}, Case{JobStatus::running, "status", false},
                        Case{JobStatus::retrying, "status", false}, Case{JobStatus::succeeded, "completed", true},
                        Case{JobStatus::failed, "failed", true}, Case{JobStatus::cancelled, "cancelled", true}}) {
    job.status = c.status;
    JobEvent e = job_state_event(job);
    INFO(e.json);
    CHECK(e.type == c.type);
    CHECK(e.job_id == "job-7");
    CHECK(e.tenant == "acme");
    CHECK(is_final_event(e) == c.final);
    auto doc = json::Document::parse(e.json);
    REQUIRE(doc.ok());
    CHECK(doc->root().get_string("type") == c.type);
    CHECK(job_field(e.json, "id") == "job-7");
    CHECK(job_field(e.json, "status") == std::string(to_string(c.status)));
  }

  JobEvent p = job_progress_event(job, 40, "format \"code\"");
  auto doc = json::Document::parse(p.json);
  REQUIRE(doc.ok());
  CHECK(doc->root().get_string("type") == "progress");
  CHECK(doc->root().get_string("job_id") == "job-7");
  CHECK(doc->root().get_int("progress") == 40);
  CHECK(doc->root().get_string("stage") == "format \"code\"");
  CHECK_FALSE(is_final_event(p));
}

TEST_CASE("the observer publishes start, every progress report, and the stored outcome", "[events]") {
  testing::JobStoreFixture fx;
  EventBus bus;
  EventBusObserver observer(bus, *fx.store);
  fx.enqueue();
  Job running = fx.claim_one();
  Inbox inbox;
  bus.subscribe(running.id, inbox.callback());

  observer.on_started(running);
  observer.on_progress(running, 10, "extract");
  observer.on_progress(running, 10, "extract");  // not throttled: every report is an event
  observer.on_progress(running, 60, "normalize");
  REQUIRE(fx.store->complete(running.id, running.attempt, R"({"files_in":3})", fx.clock.now_ms()).value());
  observer.on_finished(running, JobStatus::succeeded, 1.5);

  std::vector<JobEvent> got;
  {
    std::lock_guard lock(inbox.mutex);
    got = inbox.events;
  }
  REQUIRE(got.size() == 5);
  CHECK(got[0].type == "status");
  CHECK(job_field(got[0].json, "status") == "running");
  CHECK(got[1].type == "progress");
  CHECK(got[3].json.find("\"progress\":60") != std::string::npos);
  CHECK(got[4].type == "completed");
  // Re-read from the store, so the final event has the result the client wants to show.
  CHECK(got[4].json.find("\"files_in\":3") != std::string::npos);
}

TEST_CASE("a failed attempt with retries left is a status event, not the end", "[events]") {
  testing::JobStoreFixture fx;
  EventBus bus;
  EventBusObserver observer(bus, *fx.store);
  fx.enqueue();
  Job running = fx.claim_one();
  Inbox inbox;
  bus.subscribe(running.id, inbox.callback());

  Failure failure{{"process_error", "boom"}, true};
  REQUIRE(fx.store->fail(running.id, running.attempt, failure, fx.clock.now_ms(), fx.clock.now_ms() + 2000).value());
  observer.on_finished(running, JobStatus::retrying, 0.5);

  std::lock_guard lock(inbox.mutex);
  REQUIRE(inbox.events.size() == 1);
  CHECK(inbox.events[0].type == "status");
  CHECK(job_field(inbox.events[0].json, "status") == "retrying");
  CHECK_FALSE(is_final_event(inbox.events[0]));
}
