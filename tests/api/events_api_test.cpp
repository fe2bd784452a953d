// GET /api/v1/jobs/{id}/events through the Router, with a recording channel in place of the
// WebSocket: the first message, forwarding until the end, tenants, and the ordering that keeps
// events from being lost or sent before the first message.
#include <catch2/catch.hpp>

#include <functional>
#include <mutex>

#include "fti/api/api.hpp"
#include "fti/core/json.hpp"
#include "fti/jobs/event_bus.hpp"
#include "jobs/job_test_support.hpp"

using namespace fti;

namespace {

// What the WebSocket would have carried.
class RecordingChannel final : public http::WebSocketChannel {
 public:
  void send_text(std::string message) override {
    std::lock_guard lock(mutex_);
    if (open_) sent_.push_back(std::move(message));
  }
  void close(std::string reason) override {
    std::lock_guard lock(mutex_);
    if (!open_) return;
    open_ = false;
    close_reason_ = std::move(reason);
  }
  bool is_open() const override {
    std::lock_guard lock(mutex_);
    return open_;
  }
  void on_closed(std::function<void()> fn) override {
    std::function<void()> hook;
    {
      std::lock_guard lock(mutex_);
      closed_callbacks_.push_back(std::move(fn));
      hook = std::move(on_closed_hook);
    }
    if (hook) hook();
  }

  // Runs inside on_closed(), which the handler calls after reading the job and before sending
  // the first message: a worker publishing in exactly that gap.
  std::function<void()> on_closed_hook;

  // The client went away.
  void disconnect() {
    std::vector<std::function<void()>> callbacks;
    {
      std::lock_guard lock(mutex_);
      open_ = false;
      callbacks.swap(closed_callbacks_);
    }
    for (auto& fn : callbacks) fn();
  }

  std::vector<std::string> types() const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (const auto& m : sent_) {
      auto doc = json::Document::parse(m);
      out.push_back(doc.ok() ? doc->root().get_string("type").value_or("?") : "not json");
    }
    return out;
  }
  std::vector<std::string> sent() const {
    std::lock_guard lock(mutex_);
    return sent_;
  }
  std::string close_reason() const {
    std::lock_guard lock(mutex_);
    return close_reason_;
  }

 private:
  mutable std::mutex mutex_;
  bool open_ = true;
  std::vector<std::string> sent_;
  std::string close_reason_;
  std::vector<std::function<void()>> closed_callbacks_;
};

struct EventsApi {
  testing::JobStoreFixture fx;
  jobs::EventBus bus;
  http::Router router;

  EventsApi() {
    api::ApiDeps deps;
    deps.config = std::make_shared<Config>();
    deps.jobs = fx.store.get();
    deps.clock = &fx.clock;
    deps.events = &bus;
    api::register_routes(router, deps);
  }

  // Asks for the upgrade as the server would after authentication.
  std::optional<http::Response> subscribe(const std::string& id, const std::shared_ptr<RecordingChannel>& channel,
                                          const std::string& tenant = "acme") {
    http::Request req;
    req.method = "GET";
    req.path = "/api/v1/jobs/" + id + "/events";
    req.target = req.path;
    req.tenant = tenant;
    auto match = router.match("GET", req.path);
    REQUIRE(match.route);
    REQUIRE(match.route->options.websocket);
    req.params = match.params;
    return match.route->websocket_handler(req, channel);
  }
};

}  // namespace

TEST_CASE("events: the first message is the job's state, then events until it finishes", "[api][events]") {
  EventsApi api;
  jobs::Job job = api.fx.enqueue("acme");
  auto channel = std::make_shared<RecordingChannel>();
  REQUIRE_FALSE(api.subscribe(job.id, channel));
  CHECK(channel->types() == std::vector<std::string>{"status"});
  CHECK(channel->is_open());

  api.bus.publish(jobs::job_progress_event(job, 20, "extract"));
  jobs::Job other = api.fx.enqueue("acme");
  api.bus.publish(jobs::job_progress_event(other, 50, "extract"));  // another job: not ours
  job.status = jobs::JobStatus::succeeded;
  api.bus.publish(jobs::job_state_event(job));
  api.bus.publish(jobs::job_progress_event(job, 99, "late"));  // after the end: not sent

  CHECK(channel->types() == std::vector<std::string>{"status", "progress", "completed"});
  CHECK_FALSE(channel->is_open());
  CHECK(channel->close_reason() == "job finished");
  CHECK(api.bus.subscriber_count() == 0);
}

TEST_CASE("events: a finished job answers its final state and closes", "[api][events]") {
  EventsApi api;
  for (auto [finish, type] : std::vector<std::pair<std::function<void(EventsApi&, const jobs::Job&)>, std::string>>{
           {[](EventsApi& a, const jobs::Job& j) {
              REQUIRE(a.fx.store->cancel(j.id, std::nullopt, a.fx.clock.now_ms()).ok());
            },
            "cancelled"},
           {[](EventsApi& a, const jobs::Job&) {
              jobs::Job running = a.fx.claim_one();
              REQUIRE(a.fx.store->complete(running.id, running.attempt, "{}", a.fx.clock.now_ms()).value());
            },
            "completed"}}) {
    jobs::Job job = api.fx.enqueue("acme");
    finish(api, job);
    auto channel = std::make_shared<RecordingChannel>();
    REQUIRE_FALSE(api.subscribe(job.id, channel));
    CHECK(channel->types() == std::vector<std::string>{type});
    CHECK_FALSE(channel->is_open());
    CHECK(api.bus.subscriber_count() == 0);
  }
}

TEST_CASE("events: another tenant's job or an unknown one is refused with 404", "[api][events]") {
  EventsApi api;
  jobs::Job job = api.fx.enqueue("acme");
  auto channel = std::make_shared<RecordingChannel>();
  auto refused = api.subscribe(job.id, channel, "intruder");
  REQUIRE(refused);
  CHECK(refused->status == 404);
  refused = api.subscribe("no-such-job", channel);
  REQUIRE(refused);
  CHECK(refused->status == 404);
  CHECK(channel->sent().empty());
  CHECK(api.bus.subscriber_count() == 0);
}

TEST_CASE("events: what is published before the first message is out comes after it", "[api][events]") {
  EventsApi api;
  api.fx.enqueue("acme");
  jobs::Job running = api.fx.claim_one();
  REQUIRE(api.fx.store->set_progress(running.id, running.attempt, 40, "normalize").value());
  // The handler has read the job (progress 40) but not sent it yet when a worker reports 30
  // (older than the read: dropped), then 60 and the completion (newer: delivered, in order).
  auto channel = std::make_shared<RecordingChannel>();
  channel->on_closed_hook = [&] {
    api.bus.publish(jobs::job_progress_event(running, 30, "extract"));
    api.bus.publish(jobs::job_progress_event(running, 60, "pack"));
    jobs::Job done = running;
    done.status = jobs::JobStatus::succeeded;
    api.bus.publish(jobs::job_state_event(done));
  };
  REQUIRE_FALSE(api.subscribe(running.id, channel));

  CHECK(channel->types() == std::vector<std::string>{"status", "progress", "completed"});
  auto sent = channel->sent();
  REQUIRE(sent.size() == 3);
  CHECK(sent[0].find("\"progress\":40") != std::string::npos);
  CHECK(sent[1].find("\"progress\":60") != std::string::npos);
  CHECK_FALSE(channel->is_open());
  CHECK(api.bus.subscriber_count() == 0);
}

TEST_CASE("events: a client that leaves is unsubscribed", "[api][events]") {
  EventsApi api;
  jobs::Job job = api.fx.enqueue("acme");
  auto channel = std::make_shared<RecordingChannel>();
  REQUIRE_FALSE(api.subscribe(job.id, channel));
  CHECK(api.bus.subscriber_count() == 1);
  channel->disconnect();
  CHECK(api.bus.subscriber_count() == 0);
  api.bus.publish(jobs::job_progress_event(job, 10, "extract"));
  CHECK(channel->sent().size() == 1);
}
