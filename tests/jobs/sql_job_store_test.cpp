#include <catch2/catch.hpp>

#include <algorithm>
#include <condition_variable>
#include <mutex>

#include "fti/db/notifications.hpp"
#include "jobs/job_test_support.hpp"
#include "fti/jobs/retry_policy.hpp"

using namespace fti;
using namespace fti::jobs;
using fti::testing::JobStoreFixture;

TEST_CASE("job store: an enqueued job is stored queued with its input", "[jobs]") {
  JobStoreFixture f;
  const Job job = f.enqueue("acme", Priority::high);
  CHECK(job.id.size() == 26);
  CHECK(job.status == JobStatus::queued);
  CHECK(job.attempt == 0);
  CHECK(job.max_attempts == 3);
  CHECK(job.created_at == f.clock.now_ms());
  const Job stored = f.get(job.id);
  CHECK(stored.tenant == "acme");
  CHECK(stored.priority == Priority::high);
  CHECK(stored.input.filename == "messy.zip");
  CHECK(stored.input.bytes == 1234);
  CHECK(stored.input.sha256 == "abc123");
  CHECK(stored.input.key == "uploads/x");
  CHECK_FALSE(stored.started_at.has_value());
  CHECK_FALSE(stored.error.has_value());
  auto depth = f.store->queue_depth();
  REQUIRE(depth.ok());
  CHECK(*depth == 1);
}

TEST_CASE("job store: bad input is refused", "[jobs]") {
  JobStoreFixture f;
  NewJob job;
  job.tenant = "acme";
  job.type = "nonsense";
  auto bad = f.store->enqueue(job, f.clock.now_ms());
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == errc::bad_request);

  job.type = "cleanup";
  job.id = "fixed-id";
  REQUIRE(f.store->enqueue(job, f.clock.now_ms()).ok());
  auto dup = f.store->enqueue(job, f.clock.now_ms());
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.error().code == errc::conflict);

  auto missing = f.store->get("no-such-job", std::nullopt);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == errc::not_found);
}

TEST_CASE("job store: claims go by priority, then age", "[jobs]") {
  JobStoreFixture f;
  const Job low = f.enqueue("acme", Priority::low);
  f.clock.advance(1);
  const Job normal_old = f.enqueue("acme", Priority::normal);
  f.clock.advance(1);
  const Job high = f.enqueue("acme", Priority::high);
  f.clock.advance(1);
  const Job normal_new = f.enqueue("acme", Priority::normal);

  std::vector<std::string> order;
  for (int i = 0; i < 4; ++i) order.push_back(f.claim_one().id);
  CHECK(order == std::vector<std::string>{high.id, normal_old.id, normal_new.id, low.id});
  CHECK(f.claimable() == 0);
}

TEST_CASE("job store: a batch claim comes back in claim order", "[jobs]") {
  JobStoreFixture f;
  const Job a = f.enqueue("acme", Priority::low);
  f.clock.advance(1);
  const Job b = f.enqueue("acme", Priority::high);
  auto batch = f.store->claim("w", 10, f.clock.now_ms(), 1000);
  REQUIRE(batch.ok());
  REQUIRE(batch->size() == 2);
  CHECK((*batch)[0].id == b.id);
  CHECK((*batch)[1].id == a.id);
}

TEST_CASE("job store: a claim starts an attempt under a lease", "[jobs]") {
  JobStoreFixture f;
  const Job queued = f.enqueue();
  f.clock.advance(500);
  const Job running = f.claim_one(30000);
  CHECK(running.id == queued.id);
  CHECK(running.status == JobStatus::running);
  CHECK(running.attempt == 1);
  CHECK(running.started_at == f.clock.now_ms());
  CHECK(running.lease_until == f.clock.now_ms() + 30000);
  CHECK(f.claimable() == 0);  // nobody else gets it while the lease holds
  auto depth = f.store->queue_depth();
  REQUIRE(depth.ok());
  CHECK(*depth == 0);
}

TEST_CASE("job store: an expired lease makes the job claimable again, and the stale worker loses", "[jobs]") {
  JobStoreFixture f;
  f.enqueue();
  const Job first = f.claim_one(30000, "w1");
  f.clock.advance(29999);
  CHECK(f.claimable() == 0);
  f.clock.advance(2);
  const Job second = f.claim_one(30000, "w2");
  CHECK(second.id == first.id);
  CHECK(second.attempt == 2);
  CHECK(second.started_at == first.started_at);  // first start is kept

  // The first worker wakes up: nothing it reports may touch the new attempt.
  auto stale_done = f.store->complete(first.id, first.attempt, R"({"files_in":1})", f.clock.now_ms());
  REQUIRE(stale_done.ok());
  CHECK_FALSE(*stale_done);
  auto stale_progress = f.store->set_progress(first.id, first.attempt, 90, "pack");
  REQUIRE(stale_progress.ok());
  CHECK_FALSE(*stale_progress);
  auto stale_beat = f.store->heartbeat(first.id, first.attempt, f.clock.now_ms() + 30000);
  REQUIRE(stale_beat.ok());
  CHECK_FALSE(stale_beat->owned);
  CHECK(f.get(first.id).status == JobStatus::running);

  auto done = f.store->complete(second.id, second.attempt, R"({"files_in":1})", f.clock.now_ms());
  REQUIRE(done.ok());
  CHECK(*done);
  const Job finished = f.get(first.id);
  CHECK(finished.status == JobStatus::succeeded);
  CHECK(finished.progress == 100);
  CHECK(finished.result_json == R"({"files_in":1})");
  CHECK(finished.finished_at == f.clock.now_ms());
}

TEST_CASE("job store: heartbeats keep the lease alive", "[jobs]") {
  JobStoreFixture f;
  f.enqueue();
  const Job job = f.claim_one(1000);
  for (int i = 0; i < 5; ++i) {
    f.clock.advance(600);
    auto beat = f.store->heartbeat(job.id, job.attempt, f.clock.now_ms() + 1000);
    REQUIRE(beat.ok());
    CHECK(beat->owned);
    CHECK_FALSE(beat->cancel_requested);
    CHECK(f.claimable() == 0);
  }
  auto progress = f.store->set_progress(job.id, job.attempt, 40, "format");
  REQUIRE(progress.ok());
  CHECK(*progress);
  CHECK(f.get(job.id).progress == 40);
  CHECK(f.get(job.id).stage == "format");
}

TEST_CASE("job store: failures back off 2 s then 4 s, then the job fails for good", "[jobs]") {
  JobStoreFixture f;
  const RetryPolicy policy(2000);
  f.enqueue();
  const TimeMs expected_delays[] = {2000, 4000};
  for (int attempt = 1; attempt <= 2; ++attempt) {
    const Job job = f.claim_one();
    REQUIRE(job.attempt == attempt);
    const TimeMs now = f.clock.now_ms();
    auto failed = f.store->fail(job.id, job.attempt, Failure{{"network_error", "upstream down"}, true}, now,
                                now + policy.delay_ms(job.attempt));
    REQUIRE(failed.ok());
    CHECK(*failed);
    const Job waiting = f.get(job.id);
    CHECK(waiting.status == JobStatus::retrying);
    CHECK(waiting.run_at == now + expected_delays[attempt - 1]);
    REQUIRE(waiting.error.has_value());
    CHECK(waiting.error->code == "network_error");
    CHECK_FALSE(waiting.finished_at.has_value());
    auto next = f.store->next_run_at();
    REQUIRE(next.ok());
    CHECK(*next == waiting.run_at);

    f.clock.advance(expected_delays[attempt - 1] - 1);
    CHECK(f.claimable() == 0);  // not a millisecond early
    f.clock.advance(1);
  }
  const Job last = f.claim_one();
  CHECK(last.attempt == 3);
  auto failed = f.store->fail(last.id, last.attempt, Failure{{"network_error", "still down"}, true},
                              f.clock.now_ms(), f.clock.now_ms() + 8000);
  REQUIRE(failed.ok());
  const Job done = f.get(last.id);
  CHECK(done.status == JobStatus::failed);
  CHECK(done.finished_at == f.clock.now_ms());
  REQUIRE(done.error.has_value());
  CHECK(done.error->message == "still down");
  f.clock.advance(60000);
  CHECK(f.claimable() == 0);
}

TEST_CASE("job store: a non-retryable failure fails at once", "[jobs]") {
  JobStoreFixture f;
  f.enqueue();
  const Job job = f.claim_one();
  auto failed = f.store->fail(job.id, job.attempt, Failure{{"bad_archive", "not a zip"}, false},
                              f.clock.now_ms(), f.clock.now_ms() + 2000);
  REQUIRE(failed.ok());
  const Job done = f.get(job.id);
  CHECK(done.status == JobStatus::failed);
  CHECK(done.attempt == 1);
  CHECK(done.error->code == "bad_archive");
}

TEST_CASE("job store: a lost lease on the last attempt fails the job instead of re-running it", "[jobs]") {
  JobStoreFixture f;
  f.enqueue("acme", Priority::normal, 2);
  f.claim_one(1000);
  f.clock.advance(1001);
  const Job second = f.claim_one(1000);
  CHECK(second.attempt == 2);
  f.clock.advance(1001);
  CHECK(f.claimable() == 0);
  const Job done = f.get(second.id);
  CHECK(done.status == JobStatus::failed);
  REQUIRE(done.error.has_value());
  CHECK(done.error->code == "lease_expired");
  CHECK(done.finished_at == f.clock.now_ms());
}

TEST_CASE("job store: cancel", "[jobs]") {
  JobStoreFixture f;
  SECTION("a queued job is cancelled at once and never runs") {
    const Job job = f.enqueue();
    auto c = f.store->cancel(job.id, "acme", f.clock.now_ms());
    REQUIRE(c.ok());
    CHECK(c->status == JobStatus::cancelled);
    CHECK(c->finished_at == f.clock.now_ms());
    CHECK(f.claimable() == 0);
  }
  SECTION("a running job is asked to stop, and its worker ends it cancelled") {
    const Job job = f.enqueue();
    const Job running = f.claim_one();
    auto c = f.store->cancel(job.id, "acme", f.clock.now_ms());
    REQUIRE(c.ok());
    CHECK(c->status == JobStatus::running);
    CHECK(c->cancel_requested);
    auto beat = f.store->heartbeat(job.id, running.attempt, f.clock.now_ms() + 30000);
    REQUIRE(beat.ok());
    CHECK(beat->cancel_requested);
    auto finished = f.store->finish_cancelled(job.id, running.attempt, f.clock.now_ms());
    REQUIRE(finished.ok());
    CHECK(*finished);
    CHECK(f.get(job.id).status == JobStatus::cancelled);
  }
  SECTION("a running job that fails after a cancel request ends cancelled, not retrying") {
    const Job job = f.enqueue();
    const Job running = f.claim_one();
    REQUIRE(f.store->cancel(job.id, std::nullopt, f.clock.now_ms()).ok());
    REQUIRE(f.store->fail(job.id, running.attempt, Failure{{"network_error", "x"}, true},
                          f.clock.now_ms(), f.clock.now_ms() + 1).ok());
    CHECK(f.get(job.id).status == JobStatus::cancelled);
  }
  SECTION("a cancel-requested job whose worker died ends cancelled when the lease runs out") {
    const Job job = f.enqueue();
    f.claim_one(1000);
    REQUIRE(f.store->cancel(job.id, std::nullopt, f.clock.now_ms()).ok());
    f.clock.advance(1001);
    CHECK(f.claimable() == 0);
    CHECK(f.get(job.id).status == JobStatus::cancelled);
  }
  SECTION("a finished job answers conflict") {
    const Job job = f.enqueue();
    const Job running = f.claim_one();
    REQUIRE(f.store->complete(job.id, running.attempt, "{}", f.clock.now_ms()).ok());
    auto c = f.store->cancel(job.id, "acme", f.clock.now_ms());
    REQUIRE_FALSE(c.ok());
    CHECK(c.error().code == errc::conflict);
    CHECK(f.get(job.id).status == JobStatus::succeeded);
  }
}

TEST_CASE("job store: retry puts a failed or cancelled job back with fresh attempts", "[jobs]") {
  JobStoreFixture f;
  const Job job = f.enqueue();
  const Job running = f.claim_one();
  REQUIRE(f.store->fail(job.id, running.attempt, Failure{{"bad_archive", "broken"}, false},
                        f.clock.now_ms(), f.clock.now_ms()).ok());
  f.clock.advance(10);
  auto retried = f.store->retry(job.id, "acme", f.clock.now_ms());
  REQUIRE(retried.ok());
  CHECK(retried->status == JobStatus::queued);
  // Attempt numbers never repeat (a stale worker of attempt 1 must not match the new one):
  // the job gets a fresh set of attempts on top of the ones used.
  CHECK(retried->attempt == 1);
  CHECK(retried->max_attempts == 1 + 3);
  CHECK_FALSE(retried->error.has_value());
  CHECK_FALSE(retried->finished_at.has_value());
  const Job again = f.claim_one();
  CHECK(again.attempt == 2);
  CHECK_FALSE(f.store->complete(job.id, 1, "{}", f.clock.now_ms()).value());

  auto busy = f.store->retry(job.id, "acme", f.clock.now_ms());
  REQUIRE_FALSE(busy.ok());
  CHECK(busy.error().code == errc::conflict);

  REQUIRE(f.store->complete(job.id, again.attempt, "{}", f.clock.now_ms()).ok());
  auto done = f.store->retry(job.id, "acme", f.clock.now_ms());
  REQUIRE_FALSE(done.ok());
  CHECK(done.error().code == errc::conflict);
}

TEST_CASE("job store: release gives a job back without using up an attempt", "[jobs]") {
  JobStoreFixture f;
  const Job job = f.enqueue();
  const Job running = f.claim_one();
  auto released = f.store->release(job.id, running.attempt, f.clock.now_ms());
  REQUIRE(released.ok());
  CHECK(*released);
  const Job back = f.get(job.id);
  CHECK(back.status == JobStatus::queued);
  CHECK(back.max_attempts - back.attempt == running.max_attempts);  // none used up
  const Job again = f.claim_one();
  CHECK(again.attempt == 2);
  CHECK(again.max_attempts == running.max_attempts + 1);
}

TEST_CASE("job store: a bulk enqueue stores every job with its own fields", "[jobs]") {
  JobStoreFixture f;
  std::vector<NewJob> batch;
  for (int i = 0; i < 3; ++i) {
    NewJob job;
    job.tenant = i == 0 ? "acme" : "o'brien \"ltd\", {eu}";
    job.type = i == 2 ? "template" : "cleanup";
    job.priority = i == 1 ? Priority::low : Priority::high;
    job.profile = i == 2 ? "google" : "";
    job.max_attempts = 2 + i;
    job.input = {i == 1 ? "NULL" : i == 2 ? "tab\there\nnew line\r\n\\N.zip" : "back\\slash, \"and\" quotes.zip", 100 + i,
                 "sha" + std::to_string(i),
                 "uploads/" + std::to_string(i)};
    job.id = "bulk-" + std::to_string(i);
    if (i == 1) job.idempotency_key = "key-1";
    if (i == 2) job.run_at = f.clock.now_ms() + 5000;
    batch.push_back(job);
  }
  auto inserted = f.store->enqueue_many(batch, f.clock.now_ms());
  INFO((inserted.ok() ? std::string() : inserted.error().message));
  REQUIRE(inserted.ok());
  CHECK(*inserted == 3);
  auto none = f.store->enqueue_many({}, f.clock.now_ms());
  REQUIRE(none.ok());
  CHECK(*none == 0);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    INFO("job " << i);
    const Job stored = f.get(*batch[i].id);
    CHECK(stored.tenant == batch[i].tenant);
    CHECK(stored.type == batch[i].type);
    CHECK(stored.priority == batch[i].priority);
    CHECK(stored.profile == batch[i].profile);
    CHECK(stored.status == JobStatus::queued);
    CHECK(stored.attempt == 0);
    CHECK(stored.max_attempts == batch[i].max_attempts);
    CHECK(stored.created_at == f.clock.now_ms());
    CHECK(stored.run_at == batch[i].run_at.value_or(f.clock.now_ms()));
    CHECK(stored.input.filename == batch[i].input.filename);
    CHECK(stored.input.bytes == batch[i].input.bytes);
    CHECK(stored.input.sha256 == batch[i].input.sha256);
    CHECK(stored.input.key == batch[i].input.key);
  }
  // The key is stored: the same key again answers with the first job.
  NewJob again = batch[1];
  again.id.reset();
  auto repeat = f.store->enqueue(again, f.clock.now_ms());
  REQUIRE(repeat.ok());
  CHECK(repeat->id == "bulk-1");
  // Claim order follows priority and run_at as for single enqueues: the delayed one waits.
  auto claimed = f.store->claim("w1", 10, f.clock.now_ms(), 30000);
  REQUIRE(claimed.ok());
  REQUIRE(claimed->size() == 2);
  CHECK((*claimed)[0].id == "bulk-0");
  CHECK((*claimed)[1].id == "bulk-1");
}

TEST_CASE("job store: a bulk enqueue that cannot store one job stores none", "[jobs]") {
  JobStoreFixture f;
  NewJob first;
  first.tenant = "acme";
  first.input = {"a.zip", 1, "sha", "uploads/a"};
  first.idempotency_key = "taken";
  REQUIRE(f.store->enqueue(first, f.clock.now_ms()).ok());
  std::vector<NewJob> batch;
  for (int i = 0; i < 4; ++i) {
    NewJob job = first;
    job.idempotency_key = i == 3 ? std::optional<std::string>("taken") : std::nullopt;
    job.id = "batch-" + std::to_string(i);
    batch.push_back(job);
  }
  auto refused = f.store->enqueue_many(batch, f.clock.now_ms());
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == errc::conflict);
  for (const auto& job : batch) CHECK_FALSE(f.store->get(*job.id, std::nullopt).ok());
  auto waiting = f.store->claim("w1", 10, f.clock.now_ms(), 30000);
  REQUIRE(waiting.ok());
  CHECK(waiting->size() == 1);  // the first job only
}

TEST_CASE("job store: recorded outcomes apply to current attempts only, in one batch", "[jobs]") {
  JobStoreFixture f;
  for (int i = 0; i < 5; ++i) f.enqueue();
  auto claimed = f.store->claim("w1", 5, f.clock.now_ms(), 1000);
  REQUIRE(claimed.ok());
  REQUIRE(claimed->size() == 5);
  const auto& jobs = *claimed;
  // The last job's lease runs out and another worker takes it: its first attempt is stale.
  f.clock.advance(1001);
  auto reclaimed = f.store->claim("w2", 5, f.clock.now_ms(), 30000);
  REQUIRE(reclaimed.ok());
  REQUIRE(reclaimed->size() == 5);  // every lease ran out: all were claimed again (attempt 2)
  f.clock.advance(10);

  std::vector<Outcome> outcomes;
  auto add = [&](const Job& job, int attempt, Outcome::Kind kind) -> Outcome& {
    Outcome o;
    o.id = job.id;
    o.attempt = attempt;
    o.kind = kind;
    outcomes.push_back(o);
    return outcomes.back();
  };
  add(jobs[0], 2, Outcome::Kind::succeeded).result_json = R"({"files_in":1,"note":"a \"quoted\" {x}"})";
  Outcome& with_usage = add(jobs[1], 2, Outcome::Kind::succeeded);
  with_usage.result_json = "{}";
  with_usage.peak_rss_bytes = 123456789;
  with_usage.cpu_ms = 42;
  add(jobs[2], 1, Outcome::Kind::succeeded).result_json = "{}";  // stale attempt
  Outcome& failed = add(jobs[3], 2, Outcome::Kind::failed);
  failed.failure = {{"bad_archive", "not an archive"}, false};
  failed.retry_at = f.clock.now_ms();
  add(jobs[4], 2, Outcome::Kind::succeeded).result_json = "{}";

  auto applied = f.store->record_outcomes(outcomes, f.clock.now_ms());
  INFO((applied.ok() ? std::string() : applied.error().message));
  REQUIRE(applied.ok());
  CHECK(*applied == std::vector<bool>{true, true, false, true, true});

  const Job first = f.get(jobs[0].id);
  CHECK(first.status == JobStatus::succeeded);
  CHECK(first.progress == 100);
  CHECK(first.result_json == outcomes[0].result_json);
  CHECK(first.finished_at == f.clock.now_ms());
  CHECK_FALSE(first.lease_until.has_value());
  CHECK_FALSE(first.peak_rss_bytes.has_value());
  const Job second = f.get(jobs[1].id);
  CHECK(second.status == JobStatus::succeeded);
  CHECK(second.peak_rss_bytes == 123456789);
  CHECK(second.cpu_ms == 42);
  CHECK(f.get(jobs[2].id).status == JobStatus::running);  // the current attempt is untouched
  CHECK(f.get(jobs[3].id).status == JobStatus::failed);
  CHECK(f.get(jobs[4].id).status == JobStatus::succeeded);
}

TEST_CASE("job store: a tenant never sees another tenant's jobs", "[jobs]") {
  JobStoreFixture f;
  const Job mine = f.enqueue("acme");
  f.enqueue("globex");
  for (auto&& r : {f.store->get(mine.id, std::string("globex")),
                   f.store->cancel(mine.id, std::string("globex"), f.clock.now_ms()),
                   f.store->retry(mine.id, std::string("globex"), f.clock.now_ms())}) {
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == errc::not_found);
  }
  CHECK(f.get(mine.id).status == JobStatus::queued);  // the foreign cancel changed nothing
  auto own = f.store->get(mine.id, std::string("acme"));
  REQUIRE(own.ok());
  auto page = f.store->list("globex", 10, std::nullopt);
  REQUIRE(page.ok());
  REQUIRE(page->jobs.size() == 1);
  CHECK(page->jobs.front().tenant == "globex");
}

TEST_CASE("job store: listing pages newest first without gaps or repeats", "[jobs]") {
  JobStoreFixture f;
  std::vector<std::pair<TimeMs, std::string>> created;
  for (int i = 0; i < 7; ++i) {
    const Job job = f.enqueue("acme");
    created.emplace_back(job.created_at, job.id);
    if (i != 2) f.clock.advance(1000);  // jobs 2 and 3 share a millisecond: the id breaks the tie
  }
  f.enqueue("other");
  std::sort(created.rbegin(), created.rend());
  std::vector<std::string> expected;
  for (const auto& c : created) expected.push_back(c.second);

  std::vector<std::string> seen;
  std::optional<std::string> cursor;
  std::vector<std::size_t> page_sizes;
  do {
    auto page = f.store->list("acme", 3, cursor);
    REQUIRE(page.ok());
    page_sizes.push_back(page->jobs.size());
    for (const auto& j : page->jobs) seen.push_back(j.id);
    cursor = page->next_cursor;
  } while (cursor && page_sizes.size() < 10);
  CHECK(page_sizes == std::vector<std::size_t>{3, 3, 1});
  CHECK(seen == expected);

  auto bad = f.store->list("acme", 3, std::string("garbage"));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == errc::bad_request);
}

TEST_CASE("job store: next_run_at tells idle workers when to look again", "[jobs]") {
  JobStoreFixture f;
  auto none = f.store->next_run_at();
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());
  f.enqueue();
  const Job running = f.claim_one(5000);
  auto lease_end = f.store->next_run_at();
  REQUIRE(lease_end.ok());
  CHECK(*lease_end == running.lease_until);
}

namespace {

// What a listener heard on one channel, in order, with a wait for more.
class Heard {
 public:
  Heard(const std::string& url, std::string_view channel) {
    auto listener = fti::db::listen(url, {std::string(channel)}, [this](const std::string&, const std::string& payload) {
      {
        std::lock_guard lock(mutex_);
        payloads_.push_back(payload);
      }
      cv_.notify_all();
    });
    REQUIRE(listener.ok());
    listener_ = std::move(listener).value();
  }
  bool wait_for_count(std::size_t n) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, std::chrono::seconds(20), [&] { return payloads_.size() >= n; });
  }
  std::vector<std::string> payloads() {
    std::lock_guard lock(mutex_);
    return payloads_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::string> payloads_;
  std::unique_ptr<fti::db::NotificationListener> listener_;  // last: stopped first
};

}  // namespace

TEST_CASE("job store: on PostgreSQL, jobs becoming claimable are announced to other instances", "[jobs][postgres]") {
  REQUIRE(fti::testing::testing_postgres());
  JobStoreFixture f;
  Heard heard(f.db.url(), kJobsReadyChannel);
  Job job = f.enqueue();  // a submission
  REQUIRE(heard.wait_for_count(1));
  CHECK(heard.payloads()[0] == "cleanup");
  Job claimed = f.claim_one();
  REQUIRE(*f.store->release(claimed.id, claimed.attempt, f.clock.now_ms()));  // a draining instance
  REQUIRE(heard.wait_for_count(2));
  claimed = f.claim_one();
  Failure fatal{{"bad_archive", "not an archive"}, false};
  REQUIRE(*f.store->fail(claimed.id, claimed.attempt, fatal, f.clock.now_ms(), 0));
  REQUIRE(f.store->retry(job.id, std::nullopt, f.clock.now_ms()).ok());  // a user's retry
  REQUIRE(heard.wait_for_count(3));
  CHECK(heard.payloads()[2] == "cleanup");
}

TEST_CASE("job store: on PostgreSQL, cancelling a running job tells the instance running it", "[jobs][postgres]") {
  REQUIRE(fti::testing::testing_postgres());
  JobStoreFixture f;
  Heard heard(f.db.url(), kJobCancelChannel);
  Job first = f.enqueue();
  f.clock.advance(1);  // claims go oldest first
  Job queued = f.enqueue();
  Job claimed = f.claim_one();
  REQUIRE(claimed.id == first.id);
  // Cancelling the queued one ends it at once; only the running one needs its instance told.
  // Notifications arrive in commit order, so hearing the second means the first sent none.
  REQUIRE(f.store->cancel(queued.id, std::nullopt, f.clock.now_ms()).ok());
  REQUIRE(f.store->cancel(claimed.id, std::nullopt, f.clock.now_ms()).ok());
  REQUIRE(heard.wait_for_count(1));
  CHECK(heard.payloads() == std::vector<std::string>{claimed.id});
}

TEST_CASE("job store: jobs stored before the listing table are listed after the upgrade", "[jobs]") {
  testing::TestDatabase db;
  auto database = db::open_database(db.url(), {});
  REQUIRE(database.ok());
  // The schema as it was before migration 7, and three jobs of two tenants in it.
  const auto& all = db::all_migrations();
  std::vector<db::Migration> before;
  std::copy_if(all.begin(), all.end(), std::back_inserter(before), [](const auto& m) { return m.version < 7; });
  REQUIRE(db::migrate(**database, before).ok());
  {
    auto conn = (*database)->acquire();
    REQUIRE(conn.ok());
    for (int i = 0; i < 3; ++i) {
      auto r = (*conn)->execute(
          "INSERT INTO jobs (id, tenant, type, priority, status, created_at, run_at, sort_key) "
          "VALUES ($1, $2, 'cleanup', 1, 'queued', $3, $3, $3)",
          {db::Value("old-" + std::to_string(i)), db::Value(std::string(i == 1 ? "other" : "acme")),
           db::Value(std::int64_t{1000} + i)});
      REQUIRE(r.ok());
    }
  }
  REQUIRE(db::migrate(**database).ok());
  auto store = make_sql_job_store(**database);
  auto page = store->list("acme", 10, std::nullopt, "");
  REQUIRE(page.ok());
  REQUIRE(page->jobs.size() == 2);
  CHECK(page->jobs[0].id == "old-2");  // newest first
  CHECK(page->jobs[1].id == "old-0");
  auto other = store->list("other", 10, std::nullopt, "queued");
  REQUIRE(other.ok());
  REQUIRE(other->jobs.size() == 1);
  CHECK(other->jobs[0].id == "old-1");

  // An instance still on the older binary writes jobs as it always did, with no word of
  // tenant_jobs: they are listed all the same, and a deleted one is no longer.
  {
    auto conn = (*database)->acquire();
    REQUIRE(conn.ok());
    REQUIRE((*conn)
                ->execute("INSERT INTO jobs (id, tenant, type, priority, status, created_at, run_at, sort_key) "
                          "VALUES ('older-binary', 'acme', 'cleanup', 1, 'queued', 2000, 2000, 2000)")
                .ok());
    REQUIRE((*conn)->execute("DELETE FROM jobs WHERE id = 'old-0'").ok());
  }
  auto after = store->list("acme", 10, std::nullopt, "");
  REQUIRE(after.ok());
  REQUIRE(after->jobs.size() == 2);
  CHECK(after->jobs[0].id == "older-binary");
  CHECK(after->jobs[1].id == "old-2");
}
