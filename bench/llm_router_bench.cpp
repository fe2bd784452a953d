// fti_llm_bench: what the LLM router adds to a call, measured against the fake upstream
// (tests/fakes/fake_llm_server) under an open-loop load at a fixed rate, and what the Portkey
// gateway adds to the same call when it stands where the router stands.
//
//   fti_llm_bench [--fake-url URL [--fake-pid P]] [--portkey-url URL [--portkey-pid P]]
//                 [--rate R] [--seconds S] [--warmup W] [--rounds N] [--threads T]
//                 [--paths a,b] [--sustain-rate R|0] [--breakdown N] [--http-stream] [--json]
//
// Without --fake-url it starts the fake in-process. bench/llm-router runs it with the fake
// and the Portkey gateway as separate processes and prints the figures.
//
// Paths (each runs alone, one after the other, R requests a second):
//   direct         the OpenAI provider's call() straight to the fake: the HTTP exchange the
//                  router makes (streamed, server-sent events)
//   router         Router::complete() over the same provider, built by make_router as the
//                  server builds it: SQL cache and cost ledger on SQLite, metrics on; every
//                  prompt unique (a cache hit would skip the upstream), tier simple, a job id
//                  so the per-job cap is checked
//   router-memory  the same with MemoryLlmCache and MemoryCostLedger: the SQL writes' share
//   router-bare    the same with no cache and a ledger that keeps nothing (the router needs
//                  one for cloud calls): routing, breakers and metrics alone
//   direct-http    one raw POST /v1/chat/completions to the fake (non-streaming by default)
//   portkey        the same POST to the Portkey gateway, which forwards it to the fake
//
// The schedule is fixed before the run: request i is due at start + i/R. Client threads
// take the next due request from a shared counter, sleep until it is due, and send it on
// their own kept-alive connection. Latency is counted from the due time, not the send
// time, so a path that falls behind shows it (no coordinated omission); service time is
// counted from the send. Requests due during the warm-up are not counted. When a path
// cannot keep up, it runs again at a rate it sustains (see slower_passes).
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <fmt/format.h>
#include <functional>
#include <map>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "fakes/fake_llm_server.hpp"
#include "fti/core/clock.hpp"
#include "fti/core/config.hpp"
#include "fti/core/http_client.hpp"
#include "fti/core/json.hpp"
#include "fti/core/log.hpp"
#include "fti/db/database.hpp"
#include "fti/db/migrations.hpp"
#include "fti/llm/cache.hpp"
#include "fti/llm/cost.hpp"
#include "fti/llm/llm.hpp"
#include "fti/llm/provider.hpp"
#include "fti/llm/router.hpp"
#include "fti/ops/metrics.hpp"

namespace {

namespace fs = std::filesystem;
using fti::llm::Ask;
using fti::llm::Tier;
using Steady = std::chrono::steady_clock;

constexpr const char* kModel = "gpt-4o-mini";  // the simple tier's model
constexpr const char* kApiKey = "sk-test";     // what the fake expects
constexpr const char* kSystem = "You rewrite source code. Answer with the code only, in one fenced block.";
constexpr int kMaxTokens = 2048;               // Ask's default
constexpr double kOverheadGoalUs = 50;

struct Options {
  std::string fake_url;  // empty: an in-process fake
  int fake_threads = 1;
  std::string portkey_url;  // empty: no Portkey pair
  int fake_pid = 0;         // > 0: the fake's CPU time is read from /proc
  int portkey_pid = 0;      // > 0: the gateway's CPU time is read from /proc
  double rate = 5000;
  double seconds = 4;
  double warmup = 1;
  double grace = 2;  // after the last due time, how long sending may lag before it stops
  int threads = 16;
  int prompt_bytes = 512;
  int calls_per_job = 50;  // llm.max_files_per_job: a job's calls share one job id
  std::vector<std::string> paths;
  int rounds = 1;  // each path this many times, interleaved, the samples pooled
  double sustain_rate = -1;  // <0: passes at what the slow paths sustain; 0: none
  int breakdown = 0;  // > 0: time the router's steps alone, this many times each
  bool http_stream = false;
  bool json = false;
};

// --- the load ------------------------------------------------------------------------------

// One request of a path, numbered by its place in the schedule; nullopt on success, else
// what went wrong. Called from many threads at once.
using Send = std::function<std::optional<std::string>(std::uint64_t ticket)>;

struct Percentiles {
  double p50 = 0, p90 = 0, p99 = 0, max = 0;  // microseconds
};

struct PathRun {
  std::string path;
  double rate = 0;
  int rounds = 0;           // runs merged into this one
  double window_s = 0;      // measured seconds, summed over the rounds
  double achieved = 0;      // successful answers a second over the measured window
  std::int64_t ok = 0;      // measured requests answered
  std::int64_t errors = 0;  // measured requests that failed
  std::int64_t unsent = 0;  // measured requests never sent: sending lagged past the grace
  Percentiles latency;      // from the due time
  Percentiles service;      // from the send
  Percentiles lateness;     // send time - due time
  std::string first_error;
  bool keeps_up = true;
  std::string why;  // when it does not
  // CPU time per request sent (warm-up included), microseconds: this process (clients and
  // router), the fake, the gateway; negative when not known.
  double cpu_us = -1, fake_cpu_us = -1, portkey_cpu_us = -1;
  std::int64_t sent_all = 0;
  // What the path answered a second over the whole run, warm-up included: what it can do
  // when it cannot keep up.
  double capacity = 0;
  std::int64_t ok_all = 0;
  double run_s = 0;
  double cpu_ns_total = 0, fake_cpu_ns_total = -1, portkey_cpu_ns_total = -1;
  double writer_cpu_ns_total = 0;  // of cpu_ns_total, the background writers' threads
  double writer_cpu_us = 0;
  // The samples, nanoseconds, of the answered requests.
  std::vector<std::int64_t> latency_ns, service_ns, lateness_ns;
  // The latency p50 of each round alone, microseconds, in round order: the rounds of two
  // paths pair up, so an overhead can be taken round by round (see Pass::paired).
  std::vector<double> round_p50_us;
};

Percentiles percentiles(std::vector<std::int64_t>& ns) {
  Percentiles p;
  if (ns.empty()) return p;
  std::sort(ns.begin(), ns.end());
  // Nearest rank.
  auto at = [&](double q) {
    auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(ns.size())));
    return static_cast<double>(ns[std::clamp<std::size_t>(rank, 1, ns.size()) - 1]) / 1000.0;
  };
  p.p50 = at(0.50);
  p.p90 = at(0.90);
  p.p99 = at(0.99);
  p.max = static_cast<double>(ns.back()) / 1000.0;
  return p;
}

struct ThreadTally {
  std::vector<std::int64_t> latency, service, lateness;
  std::int64_t errors = 0;
  std::int64_t attempted = 0;  // measured tickets taken and sent
  std::int64_t sent_all = 0;   // every ticket sent, warm-up included
  std::int64_t ok_all = 0;     // every answer, warm-up included
  Steady::time_point last_done{};
  std::string first_error;
};

// CPU time (user + system) of this whole process, nanoseconds.
double process_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

// CPU time from a /proc .../stat file (clock-tick resolution); -1 when unknown. `comm`,
// when given, must be the task's name.
double stat_cpu_ns(const std::string& stat_path, const char* comm = nullptr) {
  std::ifstream in(stat_path);
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (comm && stat.find(fmt::format("({})", comm)) == std::string::npos) return -1;
  auto paren = stat.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream fields(stat.substr(paren + 2));
  std::string field;
  double utime = -1, stime = -1;
  // After "pid (comm) ": state is field 3, utime 14, stime 15.
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stod(field);
    if (i == 15) stime = std::stod(field);
  }
  if (utime < 0 || stime < 0) return -1;
  return (utime + stime) * 1e9 / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// CPU time of another process (-1 when unknown).
double other_cpu_ns(int pid) { return pid <= 0 ? -1 : stat_cpu_ns(fmt::format("/proc/{}/stat", pid)); }

// CPU time of this process's background writers (the cache's and the ledger's threads,
// named fti-llm-writer): the share of the client CPU that is off the callers' path.
double writer_cpu_ns() {
  double sum = 0;
  std::error_code ec;
  for (const auto& task : fs::directory_iterator("/proc/self/task", ec)) {
    double ns = stat_cpu_ns((task.path() / "stat").string(), "fti-llm-writer");
    if (ns > 0) sum += ns;
  }
  return sum;
}

PathRun run_load(const std::string& path, const Send& send, const Options& o, double rate) {
  const auto total = static_cast<std::uint64_t>(std::llround(rate * (o.warmup + o.seconds)));
  const auto first_measured = static_cast<std::uint64_t>(std::llround(rate * o.warmup));
  const double interval_ns = 1e9 / rate;
  std::atomic<std::uint64_t> next{0};
  std::vector<ThreadTally> tallies(static_cast<std::size_t>(o.threads));
  const auto start = Steady::now() + std::chrono::milliseconds(20);  // every thread ready
  const auto window_start = start + std::chrono::nanoseconds(static_cast<std::int64_t>(first_measured * interval_ns));
  const auto hard_stop = start + std::chrono::nanoseconds(static_cast<std::int64_t>((o.warmup + o.seconds + o.grace) * 1e9));

  auto client = [&](ThreadTally& tally) {
    // Linux lets a sleeping thread oversleep by 50 us by default; that would be counted as
    // latency on every path.
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    tally.latency.reserve(static_cast<std::size_t>((total - first_measured) / static_cast<std::uint64_t>(o.threads) * 2 + 16));
    tally.service.reserve(tally.latency.capacity());
    tally.lateness.reserve(tally.latency.capacity());
    for (;;) {
      const std::uint64_t ticket = next.fetch_add(1, std::memory_order_relaxed);
      if (ticket >= total) return;
      const auto due = start + std::chrono::nanoseconds(static_cast<std::int64_t>(static_cast<double>(ticket) * interval_ns));
      std::this_thread::sleep_until(due);
      const auto sent = Steady::now();
      if (sent > hard_stop) return;  // hopelessly behind: what is left is counted as unsent
      auto error = send(ticket);
      const auto done = Steady::now();
      ++tally.sent_all;
      if (!error) ++tally.ok_all;
      if (ticket < first_measured) continue;
      ++tally.attempted;
      tally.last_done = std::max(tally.last_done, done);
      if (error) {
        if (tally.errors++ == 0) tally.first_error = *error;
        continue;
      }
      tally.latency.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(done - due).count());
      tally.service.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(done - sent).count());
      tally.lateness.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(sent - due).count());
    }
  };
  const int portkey_pid = path == "portkey" ? o.portkey_pid : 0;
  const double cpu0 = process_cpu_ns(), fake0 = other_cpu_ns(o.fake_pid), portkey0 = other_cpu_ns(portkey_pid);
  const double writers0 = writer_cpu_ns();
  std::vector<std::thread> threads;
  for (auto& t : tallies) threads.emplace_back(client, std::ref(t));
  for (auto& t : threads) t.join();
  const double cpu1 = process_cpu_ns(), fake1 = other_cpu_ns(o.fake_pid), portkey1 = other_cpu_ns(portkey_pid);
  const double writers1 = writer_cpu_ns();
  const auto end = Steady::now();

  PathRun run;
  run.path = path;
  run.rate = rate;
  run.rounds = 1;
  Steady::time_point last_done = window_start;
  std::int64_t attempted = 0;
  for (auto& t : tallies) {
    run.latency_ns.insert(run.latency_ns.end(), t.latency.begin(), t.latency.end());
    run.service_ns.insert(run.service_ns.end(), t.service.begin(), t.service.end());
    run.lateness_ns.insert(run.lateness_ns.end(), t.lateness.begin(), t.lateness.end());
    run.errors += t.errors;
    attempted += t.attempted;
    run.sent_all += t.sent_all;
    run.ok_all += t.ok_all;
    last_done = std::max(last_done, t.last_done);
    if (run.first_error.empty()) run.first_error = t.first_error;
  }
  run.unsent = static_cast<std::int64_t>(total - first_measured) - attempted;
  run.cpu_ns_total = cpu1 - cpu0;
  run.writer_cpu_ns_total = writers1 - writers0;
  run.run_s = std::chrono::duration<double>(end - start).count();
  if (fake0 >= 0 && fake1 >= 0) run.fake_cpu_ns_total = fake1 - fake0;
  if (portkey0 >= 0 && portkey1 >= 0) run.portkey_cpu_ns_total = portkey1 - portkey0;
  // Over the window the schedule asked for, or longer when the answers came later.
  run.window_s = std::max(o.seconds, std::chrono::duration<double>(last_done - window_start).count());
  auto round_latency = run.latency_ns;  // percentiles() sorts its argument
  run.round_p50_us.push_back(round_latency.empty() ? std::nan("") : percentiles(round_latency).p50);
  return run;
}

// Adds another round of the same path at the same rate.
void merge_into(PathRun& into, PathRun&& more) {
  if (into.rounds == 0) {
    into = std::move(more);
    return;
  }
  into.rounds += more.rounds;
  into.window_s += more.window_s;
  into.errors += more.errors;
  into.unsent += more.unsent;
  into.sent_all += more.sent_all;
  into.ok_all += more.ok_all;
  into.run_s += more.run_s;
  into.cpu_ns_total += more.cpu_ns_total;
  into.writer_cpu_ns_total += more.writer_cpu_ns_total;
  auto add_known = [](double& a, double b) { a = a < 0 || b < 0 ? -1 : a + b; };
  add_known(into.fake_cpu_ns_total, more.fake_cpu_ns_total);
  add_known(into.portkey_cpu_ns_total, more.portkey_cpu_ns_total);
  if (into.first_error.empty()) into.first_error = more.first_error;
  if (!more.why.empty()) into.why += (into.why.empty() ? "" : "; ") + more.why;
  into.keeps_up = into.keeps_up && more.keeps_up;
  auto append = [](std::vector<std::int64_t>& a, const std::vector<std::int64_t>& b) { a.insert(a.end(), b.begin(), b.end()); };
  append(into.latency_ns, more.latency_ns);
  append(into.service_ns, more.service_ns);
  append(into.lateness_ns, more.lateness_ns);
  into.round_p50_us.insert(into.round_p50_us.end(), more.round_p50_us.begin(), more.round_p50_us.end());
}

// The figures of a (merged) run, and whether it kept up: (almost) every due request
// answered within the window, and sends not queueing up behind the schedule.
void summarise(PathRun& run) {
  if (run.rounds == 0) return;  // its first call failed: nothing was measured
  run.ok = static_cast<std::int64_t>(run.latency_ns.size());
  run.achieved = run.window_s > 0 ? static_cast<double>(run.ok) / run.window_s : 0;
  run.capacity = run.run_s > 0 ? static_cast<double>(run.ok_all) / run.run_s : 0;
  run.latency = percentiles(run.latency_ns);
  run.service = percentiles(run.service_ns);
  run.lateness = percentiles(run.lateness_ns);
  if (run.sent_all > 0) {
    const auto n = static_cast<double>(run.sent_all);
    run.cpu_us = run.cpu_ns_total / n / 1000;
    run.writer_cpu_us = run.writer_cpu_ns_total / n / 1000;
    if (run.fake_cpu_ns_total >= 0) run.fake_cpu_us = run.fake_cpu_ns_total / n / 1000;
    if (run.portkey_cpu_ns_total >= 0) run.portkey_cpu_us = run.portkey_cpu_ns_total / n / 1000;
  }
  std::vector<std::string> why;
  if (run.unsent > 0) why.push_back(fmt::format("{} requests never sent", run.unsent));
  if (run.errors > 0) why.push_back(fmt::format("{} errors", run.errors));
  if (run.achieved < 0.95 * run.rate) why.push_back(fmt::format("achieved {:.0f}/s of {:.0f}/s", run.achieved, run.rate));
  if (run.lateness.p90 > 5000) why.push_back(fmt::format("sends {:.1f} ms behind schedule at p90", run.lateness.p90 / 1000));
  run.keeps_up = why.empty();
  run.why.clear();
  for (std::size_t i = 0; i < why.size(); ++i) run.why += (i ? ", " : "") + why[i];
  if (!run.keeps_up) run.why += fmt::format("; it answered {:.0f}/s over the whole run", run.capacity);
}

// --- what is sent --------------------------------------------------------------------------

// A unique prompt of about `bytes` bytes with a fenced code block, which the fake echoes.
std::string make_prompt(const std::string& nonce, std::uint64_t ticket, int bytes) {
  std::string prompt = fmt::format("Clean up this file (request {}-{}).\n```python\n", nonce, ticket);
  std::string tail = fmt::format("print({})\n```\n", ticket);
  int line = 0;
  while (static_cast<int>(prompt.size() + tail.size()) < bytes) {
    prompt += fmt::format("value_{} = compute(value_{}, {})  # keep\n", line + 1, line, ticket);
    ++line;
  }
  return prompt + tail;
}

std::string chat_body(const std::string& prompt, bool stream) {
  fti::json::Writer w;
  w.begin_object().field("model", std::string(kModel));
  w.key("messages").begin_array();
  w.begin_object().field("role", "system").field("content", std::string(kSystem)).end_object();
  w.begin_object().field("role", "user").field("content", prompt).end_object();
  w.end_array();
  w.field("max_tokens", kMaxTokens).field("temperature", 0.0).field("stream", stream);
  w.end_object();
  return w.take();
}

fti::llm::ProviderTimeouts bench_timeouts() {
  fti::LlmConfig defaults;  // the server's defaults
  fti::llm::ProviderTimeouts t;
  t.connect = std::chrono::milliseconds(defaults.connect_timeout_ms);
  t.first_byte = std::chrono::milliseconds(defaults.first_byte_timeout_ms);
  t.total = std::chrono::seconds(defaults.request_timeout_seconds);
  return t;
}

// The raw POST of direct-http and portkey, through the same libcurl client the providers use.
Send raw_post(std::string url, std::vector<std::pair<std::string, std::string>> extra_headers, bool stream,
              std::string nonce, int prompt_bytes) {
  return [=](std::uint64_t ticket) -> std::optional<std::string> {
    fti::HttpRequest request;
    request.method = "POST";
    request.url = url;
    request.body = chat_body(make_prompt(nonce, ticket, prompt_bytes), stream);
    request.headers = {{"Content-Type", "application/json"},
                       {"Accept", stream ? "text/event-stream" : "application/json"},
                       {"Authorization", std::string("Bearer ") + kApiKey},
                       {"Expect", ""}};
    for (const auto& h : extra_headers) request.headers.push_back(h);
    request.connect_timeout = std::chrono::milliseconds(2000);
    request.total_timeout = std::chrono::milliseconds(30000);
    std::string streamed;
    if (stream) {
      request.on_body = [&](std::string_view chunk) {
        streamed.append(chunk);
        return true;
      };
    }
    auto response = fti::HttpClient().send(request);
    if (!response) return response.error().message;
    if (response->status != 200) {
      return fmt::format("HTTP {}: {}", response->status, response->body.substr(0, 300));
    }
    const std::string& body = stream ? streamed : response->body;
    if (stream ? body.find("[DONE]") == std::string::npos : body.find("\"choices\"") == std::string::npos) {
      return "an answer without " + std::string(stream ? "[DONE]" : "choices") + ": " + body.substr(0, 300);
    }
    return std::nullopt;
  };
}

// router-bare's ledger: the router refuses cloud calls without one, and this one keeps
// nothing, so the path measures routing, breakers and metrics alone.
class NullCostLedger final : public fti::llm::CostLedger {
 public:
  fti::Status record(const fti::llm::LedgerEntry&) override { return fti::ok_status(); }
  fti::Result<double> spent_by_job(const std::string&) override { return 0.0; }
};

// A router and what it borrows, built as src/api/app.cpp builds the server's.
struct RouterSetup {
  fti::SystemClock clock;
  fti::ops::Metrics metrics;
  std::unique_ptr<fti::db::Database> database;
  std::unique_ptr<fti::llm::LlmCache> cache;
  std::unique_ptr<fti::llm::CostLedger> ledger;
  std::unique_ptr<fti::llm::Router> router;
};

enum class Store { sql, memory, none };

std::unique_ptr<RouterSetup> make_router_setup(const std::string& fake_url, Store store, const fs::path& tmp) {
  auto s = std::make_unique<RouterSetup>();
  fti::ops::declare_standard_metrics(s->metrics);
  if (store == Store::sql) {
    fti::DatabaseConfig db_defaults;
    fti::db::OpenOptions db_options;
    db_options.pool_size = db_defaults.pool_size;
    db_options.busy_timeout_ms = db_defaults.busy_timeout_ms;
    auto db = fti::db::open_database("sqlite:" + (tmp / "bench.db").string(), db_options);
    if (!db) throw std::runtime_error("cannot open the SQLite database: " + db.error().message);
    s->database = std::move(*db);
    if (auto applied = fti::db::migrate(*s->database); !applied) {
      throw std::runtime_error("cannot migrate the SQLite database: " + applied.error().message);
    }
    s->cache = std::make_unique<fti::llm::SqlLlmCache>(*s->database);
    s->ledger = fti::llm::make_sql_cost_ledger(*s->database);
  } else if (store == Store::memory) {
    s->cache = std::make_unique<fti::llm::MemoryLlmCache>();
    s->ledger = std::make_unique<fti::llm::MemoryCostLedger>();
  } else {
    s->ledger = std::make_unique<NullCostLedger>();
  }
  fti::LlmConfig config;  // the defaults, with OpenAI at the fake and nothing else
  config.mode = "auto";
  config.openai_base_url = fake_url + "/v1";
  config.openai_api_key = kApiKey;
  auto router = fti::llm::make_router(config, s->clock, s->cache.get(), s->ledger.get(), &s->metrics);
  if (!router) throw std::runtime_error("cannot build the router: " + router.error().message);
  s->router = std::move(*router);
  return s;
}

// The senders of every path, and what they own.
class Paths {
 public:
  Paths(const Options& o, std::string fake_url, fs::path tmp)
      : o_(o), fake_url_(std::move(fake_url)), tmp_(std::move(tmp)) {}

  static const std::vector<std::string>& all() {
    static const std::vector<std::string> names = {"direct",      "router",  "router-memory", "router-bare",
                                                   "direct-http", "portkey"};
    return names;
  }

  // `nonce` makes every prompt and job id of one run its own, so no run hits a cache entry
  // or adds to a job of another.
  Send sender(const std::string& path, const std::string& nonce) {
    const int bytes = o_.prompt_bytes;
    if (path == "direct") {
      if (!provider_) provider_ = fti::llm::make_openai_provider(fake_url_ + "/v1", kApiKey, bench_timeouts());
      return [this, nonce, bytes](std::uint64_t ticket) -> std::optional<std::string> {
        fti::llm::ProviderRequest request{kModel, kSystem, make_prompt(nonce, ticket, bytes), kMaxTokens, 0};
        auto result = provider_->call(request);
        if (!result.ok()) return std::string(fti::llm::failure_kind_name(result.failure.kind)) + ": " + result.failure.message;
        return std::nullopt;
      };
    }
    if (path == "router" || path == "router-memory" || path == "router-bare") {
      Store store = path == "router" ? Store::sql : path == "router-memory" ? Store::memory : Store::none;
      auto& setup = routers_[static_cast<int>(store)];
      // The SQL one lives on like a server's database; the memory one is new for each run,
      // since MemoryCostLedger sums a job's spending over every entry it holds.
      if (!setup || store == Store::memory) setup = make_router_setup(fake_url_, store, tmp_);
      fti::llm::Router* router = setup->router.get();
      const auto per_job = static_cast<std::uint64_t>(std::max(1, o_.calls_per_job));
      return [router, nonce, bytes, per_job](std::uint64_t ticket) -> std::optional<std::string> {
        Ask ask;
        ask.task = "rewrite";
        ask.tier = Tier::simple;
        ask.system = kSystem;
        ask.prompt = make_prompt(nonce, ticket, bytes);
        ask.max_tokens = kMaxTokens;
        ask.job_id = fmt::format("bench-{}-{}", nonce, ticket / per_job);
        auto answer = router->complete(ask);
        if (!answer) return answer.error().message;
        if (answer->cached) return std::string("a cache hit: the prompts are not unique");
        return std::nullopt;
      };
    }
    if (path == "direct-http") {
      return raw_post(fake_url_ + "/v1/chat/completions", {}, o_.http_stream, nonce, bytes);
    }
    if (path == "portkey") {
      return raw_post(o_.portkey_url + "/v1/chat/completions",
                      {{"x-portkey-provider", "openai"}, {"x-portkey-custom-host", fake_url_ + "/v1"}},
                      o_.http_stream, nonce, bytes);
    }
    throw std::invalid_argument("unknown path " + path);
  }

 private:
  const Options& o_;
  std::string fake_url_;
  fs::path tmp_;
  std::unique_ptr<fti::llm::Provider> provider_;
  std::unique_ptr<RouterSetup> routers_[3];
};

// --- where the router's time goes ------------------------------------------------------

// One row of the breakdown: what was timed, alone on one thread, and its cost per call.
struct Step {
  std::string what;
  double p50_us = 0;
  double mean_us = 0;
};

template <class F>
Step time_step(std::string what, int n, F&& f) {
  std::vector<std::int64_t> ns;
  ns.reserve(static_cast<std::size_t>(n));
  double sum = 0;
  for (int i = 0; i < n; ++i) {
    const auto t0 = Steady::now();
    f(i);
    const auto t = std::chrono::duration_cast<std::chrono::nanoseconds>(Steady::now() - t0).count();
    ns.push_back(t);
    sum += static_cast<double>(t);
  }
  Step step;
  step.what = std::move(what);
  step.p50_us = percentiles(ns).p50;
  step.mean_us = sum / n / 1000;
  return step;
}

// The steps the router adds around the provider call, each timed n times on its own, on a
// new SQLite database like the server's: what `router - direct` is made of.
std::vector<Step> breakdown(const Options& o, const fs::path& tmp, int n) {
  fti::db::OpenOptions db_options;
  auto opened = fti::db::open_database("sqlite:" + (tmp / "breakdown.db").string(), db_options);
  if (!opened) throw std::runtime_error("cannot open the SQLite database: " + opened.error().message);
  auto database = std::move(*opened);
  if (auto applied = fti::db::migrate(*database); !applied) throw std::runtime_error(applied.error().message);
  fti::llm::SqlLlmCache sql_cache(*database);
  auto sql_ledger = fti::llm::make_sql_cost_ledger(*database);
  fti::llm::MemoryLlmCache memory_cache;
  fti::llm::MemoryCostLedger memory_ledger;
  fti::ops::Metrics metrics;
  fti::ops::declare_standard_metrics(metrics);
  fti::SystemClock clock;

  std::vector<Ask> asks(static_cast<std::size_t>(n));
  std::vector<std::string> keys(asks.size());
  fti::llm::Answer answer;
  answer.text = make_prompt("answer", 0, o.prompt_bytes);  // the fake echoes about this much
  answer.provider = "openai";
  answer.model = kModel;
  answer.finish_reason = "stop";
  answer.tokens_in = o.prompt_bytes / 4;
  answer.tokens_out = o.prompt_bytes / 4;
  answer.cost_usd = 0.0001;
  const auto per_job = static_cast<std::size_t>(std::max(1, o.calls_per_job));
  for (std::size_t i = 0; i < asks.size(); ++i) {
    asks[i].task = "rewrite";
    asks[i].tier = Tier::simple;
    asks[i].system = kSystem;
    asks[i].prompt = make_prompt("breakdown", i, o.prompt_bytes);
    asks[i].job_id = fmt::format("breakdown-{}", i / per_job);
  }
  const auto now = clock.now_ms();
  auto entry = [&](int i) {
    return fti::llm::LedgerEntry{asks[static_cast<std::size_t>(i)].job_id, "openai", kModel, answer.tokens_in,
                                 answer.tokens_out, answer.cost_usd, now};
  };
  auto at = [&](int i) -> std::size_t { return static_cast<std::size_t>(i); };
  std::vector<Step> steps;
  steps.push_back(time_step("cache key: SHA-256 of the ask", n, [&](int i) {
    keys[at(i)] = fti::llm::cache_key(asks[at(i)], Tier::simple, kModel);
  }));
  steps.push_back(time_step("metrics: 2 counters (cache miss, request ok)", n, [&](int) {
    metrics.inc("fti_cache_requests_total", {{"cache", "llm"}, {"result", "miss"}});
    metrics.inc("fti_llm_requests_total", {{"provider", "openai"}, {"model", kModel}, {"outcome", "ok"}});
  }));
  steps.push_back(time_step("SQL cache get (a miss): SELECT", n, [&](int i) { (void)sql_cache.get(keys[at(i)], now); }));
  steps.push_back(time_step("SQL ledger spent_by_job: SELECT SUM", n,
                            [&](int i) { (void)sql_ledger->spent_by_job(asks[at(i)].job_id); }));
  steps.push_back(time_step("SQL ledger record: INSERT, one transaction", n,
                            [&](int i) { (void)sql_ledger->record(entry(i)); }));
  steps.push_back(time_step("SQL cache put: INSERT (answer as JSON), one transaction", n, [&](int i) {
    (void)sql_cache.put(keys[at(i)], answer, now, now + 86400000);
  }));
  steps.push_back(time_step("memory cache get + put", n, [&](int i) {
    (void)memory_cache.get(keys[at(i)], now);
    (void)memory_cache.put(keys[at(i)], answer, now, now + 86400000);
  }));
  steps.push_back(time_step(fmt::format("memory ledger spent_by_job + record ({} entries at the end)", n), n, [&](int i) {
    (void)memory_ledger.spent_by_job(asks[at(i)].job_id);
    (void)memory_ledger.record(entry(i));
  }));
  return steps;
}

// --- the report ----------------------------------------------------------------------------

struct Pass {
  double rate = 0;
  std::vector<PathRun> runs;
  const PathRun* find(const std::string& path) const {
    for (const auto& r : runs) {
      if (r.path == path) return &r;
    }
    return nullptr;
  }
  // a p50 - b p50, when both ran and answered.
  std::optional<double> overhead(const std::string& a, const std::string& b, bool service = false) const {
    const PathRun* x = find(a);
    const PathRun* y = find(b);
    if (!x || !y || x->ok == 0 || y->ok == 0) return std::nullopt;
    return service ? x->service.p50 - y->service.p50 : x->latency.p50 - y->latency.p50;
  }
  // a p50 - b p50 round by round (each round runs every path once, close together in
  // time), and their median: a change in the machine's load between rounds moves both
  // p50s of a round alike, and one disturbed round moves the median little, where it can
  // move the p50 of the pooled samples by tens of microseconds.
  struct Paired {
    std::vector<double> rounds;
    double median = 0;
  };
  std::optional<Paired> paired(const std::string& a, const std::string& b) const {
    const PathRun* x = find(a);
    const PathRun* y = find(b);
    if (!x || !y || x->round_p50_us.size() != y->round_p50_us.size() || x->round_p50_us.empty()) return std::nullopt;
    Paired p;
    for (std::size_t i = 0; i < x->round_p50_us.size(); ++i) {
      double d = x->round_p50_us[i] - y->round_p50_us[i];
      if (std::isnan(d)) return std::nullopt;
      p.rounds.push_back(d);
    }
    auto sorted = p.rounds;
    std::sort(sorted.begin(), sorted.end());
    const std::size_t n = sorted.size();
    p.median = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    return p;
  }
  // The goal is judged on the paired median when there are three rounds or more, else on
  // the pooled p50s.
  std::optional<double> judged_overhead(const std::string& a, const std::string& b) const {
    if (auto p = paired(a, b); p && p->rounds.size() >= 3) return p->median;
    return overhead(a, b);
  }
  std::optional<double> ratio() const {
    auto router = judged_overhead("router", "direct");
    auto portkey = judged_overhead("portkey", "direct-http");
    if (!router || !portkey || *router <= 0) return std::nullopt;
    return *portkey / *router;
  }
};

std::string fmt_us(std::optional<double> v) { return v ? fmt::format("{:.1f} us", *v) : "n/a"; }

std::string fmt_cpu(double us) { return us < 0 ? "-" : fmt::format("{:.1f}", us); }

void print_table(const Pass& pass, const Options& o) {
  fmt::print("\nat {:.0f} req/s ({} s measured after {} s of warm-up{}, {} client threads):\n", pass.rate, o.seconds,
             o.warmup, o.rounds > 1 ? fmt::format(", {} rounds pooled", o.rounds) : "", o.threads);
  fmt::print("{:<13} {:>10} {:>6} {:>4} | {:>8} {:>8} {:>8} {:>8} | {:>8} {:>8} | {:>6} {:>6} {:>6}\n", "", "", "", "",
             "latency", "from", "due", "time", "service", "time", "CPU", "us per", "req");
  fmt::print("{:<13} {:>10} {:>6} {:>4} | {:>8} {:>8} {:>8} {:>8} | {:>8} {:>8} | {:>6} {:>6} {:>6}\n", "path",
             "achieved/s", "ok", "err", "p50 us", "p90 us", "p99 us", "max us", "p50 us", "p99 us", "client", "fake",
             "gatew");
  fmt::print("{:-<13}-{:->10}-{:->6}-{:->4}-+-{:->8}-{:->8}-{:->8}-{:->8}-+-{:->8}-{:->8}-+-{:->6}-{:->6}-{:->6}\n", "", "",
             "", "", "", "", "", "", "", "", "", "", "");
  for (const auto& r : pass.runs) {
    fmt::print("{:<13} {:>10.0f} {:>6} {:>4} | {:>8.1f} {:>8.1f} {:>8.1f} {:>8.0f} | {:>8.1f} {:>8.1f} | {:>6} {:>6} {:>6}{}\n",
               r.path, r.achieved, r.ok, r.errors, r.latency.p50, r.latency.p90, r.latency.p99, r.latency.max,
               r.service.p50, r.service.p99, fmt_cpu(r.cpu_us), fmt_cpu(r.fake_cpu_us), fmt_cpu(r.portkey_cpu_us),
               r.keeps_up ? "" : "  << cannot keep up");
  }
  for (const auto& r : pass.runs) {
    if (!r.keeps_up) fmt::print("warning: {} cannot keep up with {:.0f} req/s: {}\n", r.path, pass.rate, r.why);
    if (!r.first_error.empty()) fmt::print("  {} first error: {}\n", r.path, r.first_error);
  }
  auto cpu_over = [&](const std::string& a, const std::string& b) -> std::string {
    const PathRun* x = pass.find(a);
    const PathRun* y = pass.find(b);
    if (!x || !y || x->cpu_us < 0 || y->cpu_us < 0) return "n/a";
    std::string writers = x->writer_cpu_us > 0 ? fmt::format(", of which {:.1f} us in the background writers",
                                                             x->writer_cpu_us - std::max(0.0, y->writer_cpu_us))
                                               : "";
    return fmt::format("{:+.1f} us{}", x->cpu_us - y->cpu_us, writers);
  };
  if (auto router = pass.overhead("router", "direct")) {
    const PathRun* rr = pass.find("router");
    auto paired = pass.paired("router", "direct");
    const bool by_rounds = paired && paired->rounds.size() >= 3;
    const double judged = by_rounds ? paired->median : *router;
    fmt::print("router overhead at p50        = router p50 - direct p50        = {:>8.1f} us{}\n", *router,
               by_rounds ? " (pooled samples)" : fmt::format("  goal <= {:.0f} us: {}", kOverheadGoalUs,
                                                             judged <= kOverheadGoalUs && rr->keeps_up ? "PASS" : "MISS"));
    if (paired && paired->rounds.size() > 1) {
      std::string each;
      for (double d : paired->rounds) each += fmt::format("{}{:.1f}", each.empty() ? "" : ", ", d);
      fmt::print("  round by round: {} us; median {:.1f} us{}\n", each, paired->median,
                 by_rounds ? fmt::format("  goal <= {:.0f} us: {}", kOverheadGoalUs,
                                         judged <= kOverheadGoalUs && rr->keeps_up ? "PASS" : "MISS")
                           : "");
    }
    fmt::print("  (service time p50: {}; client CPU per request: {})\n",
               fmt_us(pass.overhead("router", "direct", true)), cpu_over("router", "direct"));
  }
  if (auto memory = pass.overhead("router-memory", "direct")) {
    fmt::print("router-memory overhead at p50 = router-memory p50 - direct p50 = {:>8.1f} us  (CPU per request: {})\n",
               *memory, cpu_over("router-memory", "direct"));
  }
  if (auto bare = pass.overhead("router-bare", "direct")) {
    fmt::print("router-bare overhead at p50   = router-bare p50 - direct p50   = {:>8.1f} us  (CPU per request: {})\n",
               *bare, cpu_over("router-bare", "direct"));
  }
  if (auto sql = pass.overhead("router", "router-memory")) {
    fmt::print("  the SQL cache and ledger    = router p50 - router-memory p50 = {:>8.1f} us  (CPU per request: {})\n",
               *sql, cpu_over("router", "router-memory"));
  }
  if (auto portkey = pass.overhead("portkey", "direct-http")) {
    const PathRun* pk = pass.find("portkey");
    fmt::print("portkey overhead at p50       = portkey p50 - direct-http p50  = {:>8.1f} us  (service time p50: {}; "
               "gateway CPU per request: {})\n",
               *portkey, fmt_us(pass.overhead("portkey", "direct-http", true)),
               pk->portkey_cpu_us < 0 ? "n/a" : fmt::format("{:.1f} us", pk->portkey_cpu_us));
    if (auto ratio = pass.ratio()) {
      std::vector<std::string> behind;
      for (const char* name : {"direct", "router", "direct-http", "portkey"}) {
        if (const PathRun* r = pass.find(name); r && !r->keeps_up) behind.push_back(name);
      }
      std::string note;
      for (std::size_t i = 0; i < behind.size(); ++i) note += (i ? ", " : "") + behind[i];
      if (!note.empty()) note = " (not a fair figure: " + note + " cannot keep up at this rate, so queueing dominates)";
      fmt::print("portkey overhead / router overhead = {:.1f}x{}\n", *ratio, note);
    } else if (pass.overhead("router", "direct")) {
      fmt::print("portkey overhead / router overhead = n/a (the router's overhead is not above zero here)\n");
    }
  }
}

void write_percentiles(fti::json::Writer& w, std::string_view key, const Percentiles& p) {
  w.key(key).begin_object().field("p50", p.p50).field("p90", p.p90).field("p99", p.p99).field("max", p.max).end_object();
}

void print_breakdown(const std::vector<Step>& steps, int n) {
  fmt::print("\nthe router's steps, each timed alone {} times on one thread (SQLite as the server opens it):\n", n);
  fmt::print("{:<62} {:>8} {:>8}\n", "step", "p50 us", "mean us");
  for (const auto& st : steps) fmt::print("{:<62} {:>8.1f} {:>8.1f}\n", st.what, st.p50_us, st.mean_us);
}

void write_json(const std::vector<Pass>& passes, const std::vector<Step>& steps, const Options& o,
                const std::string& fake_url) {
  fti::json::Writer w;
  w.begin_object();
  w.key("config").begin_object();
  w.field("rate", o.rate).field("seconds", o.seconds).field("warmup", o.warmup).field("threads", o.threads);
  w.field("prompt_bytes", o.prompt_bytes).field("fake_url", fake_url).field("http_stream", o.http_stream);
  w.field("provider_stream", true).field("overhead_goal_us", kOverheadGoalUs);
  w.end_object();
  w.key("passes").begin_array();
  for (const auto& pass : passes) {
    w.begin_object().field("rate", pass.rate);
    w.key("runs").begin_array();
    for (const auto& r : pass.runs) {
      w.begin_object().field("path", r.path).field("rate", r.rate).field("achieved", r.achieved);
      w.field("ok", r.ok).field("errors", r.errors).field("unsent", r.unsent).field("capacity", r.capacity);
      write_percentiles(w, "latency_us", r.latency);
      write_percentiles(w, "service_us", r.service);
      write_percentiles(w, "lateness_us", r.lateness);
      w.key("cpu_us_per_request").begin_object();
      auto cpu = [&](std::string_view k, double v) {
        if (v < 0) w.key(k).null();
        else w.field(k, v);
      };
      cpu("client", r.cpu_us);
      cpu("writers", r.writer_cpu_us);
      cpu("fake", r.fake_cpu_us);
      cpu("portkey", r.portkey_cpu_us);
      w.end_object();
      w.field("keeps_up", r.keeps_up);
      if (!r.why.empty()) w.field("why", r.why);
      if (!r.first_error.empty()) w.field("first_error", r.first_error);
      w.end_object();
    }
    w.end_array();
    auto router = pass.judged_overhead("router", "direct");
    w.key("router_overhead_p50_us").value(router);
    w.key("router_overhead_pooled_p50_us").value(pass.overhead("router", "direct"));
    if (auto paired = pass.paired("router", "direct")) {
      w.key("router_overhead_by_round_us").begin_array();
      for (double d : paired->rounds) w.value(d);
      w.end_array();
    }
    w.key("router_overhead_service_p50_us").value(pass.overhead("router", "direct", true));
    w.key("router_memory_overhead_p50_us").value(pass.overhead("router-memory", "direct"));
    w.key("router_bare_overhead_p50_us").value(pass.overhead("router-bare", "direct"));
    w.key("portkey_overhead_p50_us").value(pass.overhead("portkey", "direct-http"));
    w.key("portkey_overhead_service_p50_us").value(pass.overhead("portkey", "direct-http", true));
    w.key("ratio").value(pass.ratio());
    if (router) {
      const PathRun* rr = pass.find("router");
      w.field("goal_met", *router <= kOverheadGoalUs && rr->keeps_up);
    } else {
      w.key("goal_met").null();
    }
    w.end_object();
  }
  w.end_array();
  w.key("breakdown").begin_array();
  for (const auto& st : steps) {
    w.begin_object().field("step", st.what).field("p50_us", st.p50_us).field("mean_us", st.mean_us).end_object();
  }
  w.end_array();
  w.end_object();
  std::cout << w.str() << std::endl;
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= s.size()) {
    auto comma = s.find(',', pos);
    auto item = s.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    if (!item.empty()) out.push_back(item);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

// Every run gets its own prompts and job ids.
std::string run_nonce(const std::string& path, double rate) {
  static std::atomic<int> counter{0};
  return fmt::format("{}-{:.0f}-{}-{}", path, rate, counter++,
                     std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count());
}

// Every path once per round, the rounds one after the other, so that a change in the
// machine's load during the pass touches every path alike; the rounds of a path are pooled,
// and their p50s kept for the round-by-round overheads.
Pass run_pass(Paths& paths, const std::vector<std::string>& names, const Options& o, double rate) {
  Pass pass;
  pass.rate = rate;
  for (const auto& name : names) {
    PathRun run;
    run.path = name;
    run.rate = rate;
    pass.runs.push_back(std::move(run));
  }
  for (int round = 0; round < o.rounds; ++round) {
    // Each round starts one path further on, so no path always runs right after another
    // (the gateway's Node.js process, for one, leaves the machine busier for a moment).
    for (std::size_t k = 0; k < pass.runs.size(); ++k) {
      auto& run = pass.runs[(k + static_cast<std::size_t>(round)) % pass.runs.size()];
      if (!run.first_error.empty() && run.rounds == 0) continue;  // it could not answer at all
      auto nonce = run_nonce(run.path, rate);
      Send send = paths.sender(run.path, nonce);
      // One call first: a path that cannot answer at all is reported, not measured.
      if (auto error = send(std::uint64_t{1} << 40)) {
        if (run.rounds == 0) {
          run.keeps_up = false;
          run.first_error = *error;
          run.why = "its first call failed";
          continue;
        }
      }
      if (!o.json) {
        std::fprintf(stderr, "fti_llm_bench: %s at %.0f req/s%s...\n", run.path.c_str(), rate,
                     o.rounds > 1 ? fmt::format(", round {} of {}", round + 1, o.rounds).c_str() : "");
      }
      merge_into(run, run_load(run.path, send, o, rate));
    }
  }
  for (auto& run : pass.runs) summarise(run);
  return pass;
}

// When paths cannot keep up: a pass at what each of them sustains (half of what it answered
// a second when overloaded, in steps of 50) with the baselines its overhead needs. The slowest pass has
// every path, so the ratio is given at a rate where nothing is queueing. Rates within 20%
// of each other share the slower pass.
std::vector<std::pair<double, std::vector<std::string>>> slower_passes(const Pass& first, double target) {
  std::vector<double> rates;
  std::map<std::string, double> sustains;  // what each path sustains
  for (const auto& r : first.runs) {
    if (r.rounds == 0) continue;  // its first call failed: no rate will help
    double sustain = target;
    // What it answered over the whole run: the measured window alone undercounts a path
    // whose late requests were never sent.
    if (!r.keeps_up) sustain = std::max(50.0, std::floor(r.capacity * 0.5 / 50) * 50);
    if (r.ok_all == 0) sustain = 50;  // answered nothing: as slow as we go
    sustains[r.path] = sustain;
    if (sustain < target) rates.push_back(sustain);
  }
  std::sort(rates.begin(), rates.end());
  std::vector<double> chosen;  // ascending
  for (double rate : rates) {
    if (chosen.empty() || rate > chosen.back() * 1.2) chosen.push_back(rate);
  }
  std::vector<std::pair<double, std::vector<std::string>>> out;
  for (auto it = chosen.rbegin(); it != chosen.rend(); ++it) {
    const double rate = *it;
    const bool slowest = it + 1 == chosen.rend();
    std::set<std::string> want;
    for (const auto& [path, sustain] : sustains) {
      if (slowest || (sustain < target && sustain >= rate / 1.2)) want.insert(path);
    }
    if (want.count("router") || want.count("router-memory") || want.count("router-bare")) want.insert("direct");
    if (want.count("portkey")) want.insert("direct-http");
    std::vector<std::string> names;  // in the order of the first pass
    for (const auto& r : first.runs) {
      if (want.count(r.path)) names.push_back(r.path);
    }
    out.emplace_back(rate, std::move(names));
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"The LLM router's overhead against the fake upstream, and the Portkey gateway's"};
  Options o;
  std::string paths = "direct,router,router-memory,router-bare,direct-http,portkey";
  app.add_option("--fake-url", o.fake_url, "the fake LLM server (http://127.0.0.1:PORT); empty: start one in-process");
  app.add_option("--fake-threads", o.fake_threads, "I/O threads of the in-process fake")->check(CLI::Range(1, 64));
  app.add_option("--portkey-url", o.portkey_url, "the Portkey gateway (http://127.0.0.1:8787); empty: no portkey path");
  app.add_option("--fake-pid", o.fake_pid, "the fake's process id, to report its CPU time per request");
  app.add_option("--portkey-pid", o.portkey_pid, "the gateway's process id, to report its CPU time per request");
  app.add_option("--rate", o.rate, "requests a second, open loop")->check(CLI::Range(1.0, 1e6));
  app.add_option("--seconds", o.seconds, "measured seconds per path")->check(CLI::Range(0.1, 3600.0));
  app.add_option("--warmup", o.warmup, "seconds of warm-up per path, not counted")->check(CLI::Range(0.0, 600.0));
  app.add_option("--grace", o.grace, "how far behind schedule sending may fall before it stops (s)")
      ->check(CLI::Range(0.0, 600.0));
  app.add_option("--threads", o.threads, "client threads, each with its own connection")->check(CLI::Range(1, 1024));
  app.add_option("--prompt-bytes", o.prompt_bytes, "size of each (unique) prompt")->check(CLI::Range(64, 1 << 24));
  app.add_option("--calls-per-job", o.calls_per_job, "router calls that share one job id")->check(CLI::Range(1, 1 << 30));
  app.add_option("--rounds", o.rounds, "run every path this many times, interleaved, and pool the samples")
      ->check(CLI::Range(1, 1000));
  app.add_option("--paths", paths, "comma-separated: direct,router,router-memory,router-bare,direct-http,portkey");
  app.add_option("--sustain-rate", o.sustain_rate,
                 "when a path cannot keep up: run every path again at this rate (default: a pass at half of what "
                 "each such path answered a second, the slowest one with every path; 0: no more passes)");
  app.add_option("--breakdown", o.breakdown,
                 "also time the router's own steps (cache key, SQL statements, metrics) N times each, alone")
      ->check(CLI::Range(0, 10000000));
  app.add_flag("--http-stream", o.http_stream, "direct-http and portkey ask for a stream (default: non-streaming)");
  app.add_flag("--json", o.json, "print one JSON object");
  CLI11_PARSE(app, argc, argv);

  o.paths = split_commas(paths);
  for (const auto& p : o.paths) {
    if (std::find(Paths::all().begin(), Paths::all().end(), p) == Paths::all().end()) {
      std::cerr << "fti_llm_bench: unknown path \"" << p << "\"\n";
      return 2;
    }
  }
  if (o.portkey_url.empty()) {
    o.paths.erase(std::remove(o.paths.begin(), o.paths.end(), "portkey"), o.paths.end());
  }
  while (!o.fake_url.empty() && o.fake_url.back() == '/') o.fake_url.pop_back();
  while (!o.portkey_url.empty() && o.portkey_url.back() == '/') o.portkey_url.pop_back();
  fti::log::init("error", fti::log::Format::text);

  std::error_code ec;
  fs::path tmp = fs::temp_directory_path() / fmt::format("fti-llm-bench-{}", ::getpid());
  fs::create_directories(tmp, ec);
  if (ec) {
    std::cerr << "fti_llm_bench: cannot create " << tmp << ": " << ec.message() << "\n";
    return 1;
  }
  int rc = 0;
  try {
    std::unique_ptr<fti::fakes::FakeLlmServer> fake;
    std::string fake_url = o.fake_url;
    if (fake_url.empty()) {
      fti::fakes::FakeLlmServer::Options fake_options;
      fake_options.threads = o.fake_threads;
      fake_options.record = false;
      fake = std::make_unique<fti::fakes::FakeLlmServer>(fake_options);
      fake_url = fake->url();
    }
    if (!o.json) {
      fmt::print("fti_llm_bench: fake upstream {}{}; prompts of {} bytes, each unique\n", fake_url,
                 fake ? fmt::format(" (in-process, {} I/O thread(s))", o.fake_threads) : "", o.prompt_bytes);
      fmt::print("direct, router*: the OpenAI provider's streamed call (stream: true, server-sent events)\n");
      fmt::print("direct-http, portkey: one raw POST /v1/chat/completions ({})\n",
                 o.http_stream ? "stream: true" : "stream: false, non-streaming");
      std::fflush(stdout);  // before the progress lines on stderr
    }
    Paths senders(o, fake_url, tmp);
    std::vector<Pass> passes;
    passes.push_back(run_pass(senders, o.paths, o, o.rate));
    if (o.sustain_rate > 0 && o.sustain_rate != o.rate) {
      passes.push_back(run_pass(senders, o.paths, o, o.sustain_rate));
    } else if (o.sustain_rate < 0) {
      for (const auto& [rate, names] : slower_passes(passes.front(), o.rate)) {
        passes.push_back(run_pass(senders, names, o, rate));
      }
    }
    std::vector<Step> steps;
    if (o.breakdown > 0) steps = breakdown(o, tmp, o.breakdown);
    if (o.json) {
      write_json(passes, steps, o, fake_url);
    } else {
      for (const auto& pass : passes) print_table(pass, o);
      if (!steps.empty()) print_breakdown(steps, o.breakdown);
    }
  } catch (const std::exception& e) {
    std::cerr << "fti_llm_bench: " << e.what() << "\n";
    rc = 1;
  }
  fs::remove_all(tmp, ec);
  return rc;
}
