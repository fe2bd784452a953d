// Two instances' event buses joined through a real PostgreSQL ([postgres]: ctest's jobs_pg).
#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "fti/db/notifications.hpp"
#include "fti/jobs/event_bridge.hpp"
#include "job_test_support.hpp"

using namespace fti;
using namespace fti::jobs;

namespace {

// Everything a subscriber on one bus saw, with a wait for the next arrival.
class Seen {
 public:
  void add(const JobEvent& e) {
    {
      std::lock_guard lock(mutex_);
      events_.push_back(e);
    }
    cv_.notify_all();
  }
  bool wait_for_type(const std::string& type, std::chrono::seconds deadline = std::chrono::seconds(20)) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, deadline, [&] { return count_locked(type) > 0; });
  }
  bool wait_for_count(const std::string& type, int n, std::chrono::seconds deadline = std::chrono::seconds(20)) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, deadline, [&] { return count_locked(type) >= n; });
  }
  int count(const std::string& type) {
    std::lock_guard lock(mutex_);
    return count_locked(type);
  }
  std::vector<JobEvent> all() {
    std::lock_guard lock(mutex_);
    return events_;
  }

 private:
  int count_locked(const std::string& type) const {
    return static_cast<int>(std::count_if(events_.begin(), events_.end(), [&](const JobEvent& e) { return e.type == type; }));
  }
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<JobEvent> events_;
};

// One instance: its bus, its bridge and its listener, wired as the server wires them.
struct Instance {
  Instance(testing::JobStoreFixture& f, const std::string& node) {
    bridge = std::make_unique<EventBridge>(bus, *f.database, *f.store, node);
    auto l = db::listen(f.db.url(), {std::string(kJobEventsChannel)},
                        [this](const std::string&, const std::string& payload) { bridge->on_notification(payload); });
    INFO((l.ok() ? std::string() : l.error().message));
    REQUIRE(l.ok());
    listener = std::move(l).value();
  }
  EventBus bus;
  std::unique_ptr<EventBridge> bridge;
  std::unique_ptr<db::NotificationListener> listener;  // last: destroyed first
};

}  // namespace

TEST_CASE("event bridge: a job's events published on one instance reach subscribers on another", "[jobs][postgres]") {
  REQUIRE(testing::testing_postgres());
  testing::JobStoreFixture f;
  Instance a(f, "node-a");
  Instance b(f, "node-b");
  Job job = f.enqueue();
  Seen on_a, on_b;
  a.bus.subscribe(job.id, [&](const JobEvent& e) { on_a.add(e); });
  b.bus.subscribe(job.id, [&](const JobEvent& e) { on_b.add(e); });

  a.bus.publish(job_progress_event(job, 40, "format"));
  REQUIRE(on_b.wait_for_type("progress"));
  CHECK(on_b.all().front().json == job_progress_event(job, 40, "format").json);

  Job done = f.claim_one();
  REQUIRE(*f.store->complete(done.id, done.attempt, R"({"files_in":3})", f.clock.now_ms()));
  a.bus.publish(job_state_event(f.get(job.id)));
  REQUIRE(on_b.wait_for_type("completed"));
  CHECK(is_final_event(on_b.all().back()));

  SECTION("events are not echoed back to the instance that sent them") {
    // A listener gets notifications in commit order, so by the time b's event reaches a,
    // any echo of a's earlier events would have reached a before it.
    b.bus.publish(job_progress_event(job, 90, "pack"));
    REQUIRE(on_a.wait_for_count("progress", 2));
    CHECK(on_a.count("progress") == 2);  // a's own 40 %, and b's 90 % relayed once
    CHECK(on_a.count("completed") == 1);
    CHECK(on_a.all().back().json == job_progress_event(job, 90, "pack").json);
  }
}

TEST_CASE("event bridge: an event too big for a notification arrives as the job's state, read from the store",
          "[jobs][postgres]") {
  REQUIRE(testing::testing_postgres());
  testing::JobStoreFixture f;
  Instance a(f, "node-a");
  Instance b(f, "node-b");
  Job job = f.enqueue();
  Seen on_b;
  b.bus.subscribe(job.id, [&](const JobEvent& e) { on_b.add(e); });
  JobEvent huge = job_state_event(job);
  huge.json.append(db::kMaxNotifyPayload, ' ');  // white space: still the same JSON message
  a.bus.publish(huge);
  REQUIRE(on_b.wait_for_type("status"));
  CHECK(on_b.all().front().json == job_state_event(f.get(job.id)).json);
}
