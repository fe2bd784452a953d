#include <catch2/catch.hpp>

#include <thread>
#include <unistd.h>

#include "fakes/fake_provider.hpp"
#include "fakes/manual_clock.hpp"
#include "fti/llm/escalation.hpp"
#include "fti/llm/pipe_client.hpp"
#include "fti/llm/router.hpp"
#include "fti/ops/metrics.hpp"

using namespace std::chrono_literals;
using fti::fakes::FakeProvider;
using fti::llm::Ask;
using fti::llm::FailureKind;
using fti::llm::Tier;

namespace {

// A router over fake providers, a manual clock, an in-memory cache and ledger, and a sleep
// that records instead of waiting.
struct RouterRig {
  fti::fakes::ManualClock clock;
  fti::llm::MemoryLlmCache cache;
  fti::llm::MemoryCostLedger ledger;
  fti::ops::Metrics metrics;
  std::vector<FakeProvider*> ollama;
  FakeProvider* openai = nullptr;
  FakeProvider* anthropic = nullptr;
  std::vector<std::chrono::milliseconds> sleeps;
  std::unique_ptr<fti::llm::Router> router;

  explicit RouterRig(int ollama_instances = 2, fti::llm::RouterOptions options = defaults(), bool with_cache = true) {
    fti::ops::declare_standard_metrics(metrics);
    fti::llm::RouterParts parts;
    for (int i = 0; i < ollama_instances; ++i) {
      auto p = std::make_unique<FakeProvider>("ollama", "http://ollama-" + std::to_string(i));
      ollama.push_back(p.get());
      parts.ollama.push_back(std::move(p));
    }
    auto o = std::make_unique<FakeProvider>("openai", "http://openai/v1");
    auto a = std::make_unique<FakeProvider>("anthropic", "http://anthropic");
    openai = o.get();
    anthropic = a.get();
    parts.openai = std::move(o);
    parts.anthropic = std::move(a);
    parts.clock = &clock;
    parts.cache = with_cache ? &cache : nullptr;
    parts.ledger = &ledger;
    parts.metrics = &metrics;
    parts.sleep = [this](std::chrono::milliseconds d) { sleeps.push_back(d); };
    parts.random = [] { return 0.5; };
    router = std::make_unique<fti::llm::Router>(std::move(options), std::move(parts));
  }

  static fti::llm::RouterOptions defaults() {
    fti::llm::RouterOptions o;
    o.mode = fti::llm::Mode::auto_;
    o.cooldown = 30s;
    o.prices = *fti::llm::PriceTable::with_overrides({});
    return o;
  }
};

Ask ask(Tier tier, std::string prompt = "clean this", std::string job = "job-1") {
  Ask a;
  a.task = "rewrite";
  a.tier = tier;
  a.prompt = std::move(prompt);
  a.max_tokens = 1000;
  a.job_id = std::move(job);
  return a;
}

}  // namespace

TEST_CASE("router: local asks rotate over the Ollama instances", "[llm][router]") {
  RouterRig rig(3);
  for (int i = 0; i < 6; ++i) REQUIRE(rig.router->complete(ask(Tier::local, "p" + std::to_string(i))).ok());
  for (auto* p : rig.ollama) CHECK(p->calls() == 2);
  CHECK(rig.openai->calls() == 0);
}

TEST_CASE("router: a failed instance is skipped, cooled down, probed, then used again", "[llm][router]") {
  RouterRig rig(2);
  rig.ollama[0]->script({FakeProvider::failure(FailureKind::transport)});
  // The first ask lands on instance 0, fails, and is served by instance 1 at once.
  auto first = rig.router->complete(ask(Tier::local, "a"));
  REQUIRE(first.ok());
  CHECK(rig.ollama[1]->calls() == 1);
  // While it rests, every ask goes to instance 1.
  for (int i = 0; i < 4; ++i) REQUIRE(rig.router->complete(ask(Tier::local, "b" + std::to_string(i))).ok());
  CHECK(rig.ollama[0]->calls() == 1);
  CHECK(rig.ollama[1]->calls() == 5);
  CHECK(rig.ollama[0]->probes() == 0);

  // After the cooldown a failing probe keeps it out without sending it the ask.
  rig.clock.advance(30'000);
  rig.ollama[0]->set_probe(FakeProvider::failure(FailureKind::bad_request, 0));
  for (int i = 0; i < 2; ++i) REQUIRE(rig.router->complete(ask(Tier::local, "c" + std::to_string(i))).ok());
  CHECK(rig.ollama[0]->probes() == 1);
  CHECK(rig.ollama[0]->calls() == 1);

  // Once the probe passes (model present), it is back in the rotation.
  rig.clock.advance(30'000);
  rig.ollama[0]->set_probe(FakeProvider::reply(""));
  for (int i = 0; i < 4; ++i) REQUIRE(rig.router->complete(ask(Tier::local, "d" + std::to_string(i))).ok());
  CHECK(rig.ollama[0]->probes() == 2);
  CHECK(rig.ollama[0]->calls() == 3);
}

TEST_CASE("router: a single Ollama instance is cooled down too", "[llm][router]") {
  RouterRig rig(1);
  rig.ollama[0]->script({FakeProvider::failure(FailureKind::overloaded, 503)});
  auto failed = rig.router->complete(ask(Tier::local, "a"));
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().code == "llm_unavailable");
  // Resting: the next ask fails fast without a call.
  CHECK_FALSE(rig.router->complete(ask(Tier::local, "b")).ok());
  CHECK(rig.ollama[0]->calls() == 1);
  rig.clock.advance(30'000);
  REQUIRE(rig.router->complete(ask(Tier::local, "c")).ok());
  CHECK(rig.ollama[0]->probes() == 1);
  CHECK(rig.ollama[0]->calls() == 2);
}

TEST_CASE("router: cloud calls retry 5xx with jittered backoff and honour retry-after", "[llm][router]") {
  RouterRig rig;
  SECTION("backoff grows and is jittered") {
    rig.openai->script({FakeProvider::failure(FailureKind::overloaded, 503),
                        FakeProvider::failure(FailureKind::overloaded, 529), FakeProvider::reply("fixed")});
    auto a = rig.router->complete(ask(Tier::simple));
    REQUIRE(a.ok());
    CHECK(a->provider == "openai");
    CHECK(rig.openai->calls() == 3);
    // base 500 ms, equal jitter at random 0.5: 375 ms, then 750 ms.
    CHECK(rig.sleeps == std::vector<std::chrono::milliseconds>{375ms, 750ms});
  }
  SECTION("retry-after-ms is waited for exactly") {
    rig.openai->script({FakeProvider::failure(FailureKind::rate_limited, 429, 1200ms), FakeProvider::reply("ok")});
    REQUIRE(rig.router->complete(ask(Tier::simple)).ok());
    CHECK(rig.sleeps == std::vector<std::chrono::milliseconds>{1200ms});
  }
  SECTION("a retry-after longer than a minute is not waited for: the fallback answers") {
    rig.openai->script({FakeProvider::failure(FailureKind::rate_limited, 429, 120'000ms)});
    auto a = rig.router->complete(ask(Tier::simple));
    REQUIRE(a.ok());
    CHECK(a->provider == "anthropic");
    CHECK(rig.sleeps.empty());
    CHECK(rig.openai->calls() == 1);
  }
  SECTION("a spend-limit 429 is not retried") {
    rig.openai->script({FakeProvider::failure(FailureKind::spend_limit, 429)});
    auto a = rig.router->complete(ask(Tier::simple));
    REQUIRE(a.ok());
    CHECK(a->provider == "anthropic");
    CHECK(rig.openai->calls() == 1);
    CHECK(rig.sleeps.empty());
  }
  SECTION("a bad request is not retried") {
    rig.openai->script({FakeProvider::failure(FailureKind::bad_request, 400)});
    rig.anthropic->set_default(FakeProvider::failure(FailureKind::bad_request, 400));
    auto a = rig.router->complete(ask(Tier::simple));
    REQUIRE_FALSE(a.ok());
    CHECK(rig.openai->calls() == 1);
    CHECK(rig.anthropic->calls() == 1);
  }
}

TEST_CASE("router: a refused key rests the provider, and one call a quarter of an hour later tries it again",
          "[llm][router]") {
  RouterRig rig;
  auto anthropic_disabled = [&] {
    auto targets = rig.router->targets();
    return std::any_of(targets.begin(), targets.end(), [](auto& t) { return t.provider == "anthropic" && t.disabled; });
  };
  rig.anthropic->script({FakeProvider::failure(FailureKind::auth, 401)});
  auto a = rig.router->complete(ask(Tier::complex, "x"));
  REQUIRE(a.ok());  // OpenAI's medium model stands in
  CHECK(a->provider == "openai");
  CHECK(anthropic_disabled());
  // Resting: nothing reaches Anthropic for 15 minutes.
  for (int i = 0; i < 3; ++i) REQUIRE(rig.router->complete(ask(Tier::complex, "y" + std::to_string(i))).ok());
  rig.clock.advance(15 * 60 * 1000LL - 1);
  REQUIRE(rig.router->complete(ask(Tier::complex, "y-late")).ok());
  CHECK(rig.anthropic->calls() == 1);

  SECTION("the key still refused: another rest") {
    rig.anthropic->script({FakeProvider::failure(FailureKind::auth, 401)});
    rig.clock.advance(1);
    REQUIRE(rig.router->complete(ask(Tier::complex, "z")).ok());
    CHECK(rig.anthropic->calls() == 2);  // the one trial
    REQUIRE(rig.router->complete(ask(Tier::complex, "z2")).ok());
    CHECK(rig.anthropic->calls() == 2);
    CHECK(anthropic_disabled());
  }
  SECTION("the key accepted again: the provider serves its tier") {
    rig.clock.advance(1);
    auto back = rig.router->complete(ask(Tier::complex, "z"));
    REQUIRE(back.ok());
    CHECK(back->provider == "anthropic");
    CHECK_FALSE(anthropic_disabled());
    REQUIRE(rig.router->complete(ask(Tier::complex, "z2")).ok());
    CHECK(rig.anthropic->calls() == 3);
  }
}

TEST_CASE("router: a cloud breaker opens after repeated failures and lets one trial through later", "[llm][router]") {
  auto options = RouterRig::defaults();
  options.max_retries = 0;
  options.cloud_breaker_failures = 3;
  RouterRig rig(0, options);
  rig.openai->set_default(FakeProvider::failure(FailureKind::overloaded, 502));
  rig.anthropic->set_default(FakeProvider::failure(FailureKind::overloaded, 502));
  for (int i = 0; i < 5; ++i) CHECK_FALSE(rig.router->complete(ask(Tier::simple, std::to_string(i))).ok());
  CHECK(rig.openai->calls() == 3);  // open after the third: the last two never reached it
  rig.clock.advance(30'000);
  rig.openai->set_default(FakeProvider::reply("back"));
  auto a = rig.router->complete(ask(Tier::simple, "after"));
  REQUIRE(a.ok());
  CHECK(a->text == "back");
  CHECK(rig.openai->calls() == 4);
}

TEST_CASE("router: tiers map to models; fast mode keeps to the simple tier", "[llm][router]") {
  RouterRig rig(1);
  REQUIRE(rig.router->complete(ask(Tier::simple, "s")).ok());
  REQUIRE(rig.router->complete(ask(Tier::medium, "m")).ok());
  REQUIRE(rig.router->complete(ask(Tier::complex, "c")).ok());
  REQUIRE(rig.openai->requests().size() == 2);
  CHECK(rig.openai->requests()[0].model == "gpt-4o-mini");
  CHECK(rig.openai->requests()[1].model == "gpt-4o");
  CHECK(rig.anthropic->requests().at(0).model == "claude-3-5-sonnet-latest");

  rig.router->set_mode(fti::llm::Mode::fast);
  REQUIRE(rig.router->complete(ask(Tier::complex, "c2")).ok());
  CHECK(rig.openai->requests().back().model == "gpt-4o-mini");
  CHECK(rig.anthropic->calls() == 1);

  rig.router->set_mode(fti::llm::Mode::off);
  auto off = rig.router->complete(ask(Tier::local, "o"));
  REQUIRE_FALSE(off.ok());
  CHECK(off.error().code == "llm_disabled");
}

TEST_CASE("router: allow_cloud = false keeps every prompt local", "[llm][router]") {
  auto options = RouterRig::defaults();
  options.allow_cloud = false;
  RouterRig rig(1, options);
  REQUIRE(rig.router->complete(ask(Tier::local)).ok());
  auto cloud = rig.router->complete(ask(Tier::medium));
  REQUIRE_FALSE(cloud.ok());
  CHECK(cloud.error().code == "llm_disabled");
  CHECK(rig.openai->calls() + rig.anthropic->calls() == 0);
}

TEST_CASE("router: the same ask is answered from the cache at no cost until it expires", "[llm][router]") {
  RouterRig rig;
  auto first = rig.router->complete(ask(Tier::simple, "same"));
  REQUIRE(first.ok());
  CHECK_FALSE(first->cached);
  CHECK(first->cost_usd > 0);
  auto second = rig.router->complete(ask(Tier::simple, "same"));
  REQUIRE(second.ok());
  CHECK(second->cached);
  CHECK(second->text == first->text);
  CHECK(second->cost_usd == 0);
  CHECK(rig.openai->calls() == 1);
  CHECK(rig.metrics.value("fti_cache_requests_total", {{"cache", "llm"}, {"result", "hit"}}) == 1);
  CHECK(rig.metrics.value("fti_cache_requests_total", {{"cache", "llm"}, {"result", "miss"}}) == 1);
  // A different option is a different request.
  auto other = ask(Tier::simple, "same");
  other.max_tokens = 10;
  REQUIRE(rig.router->complete(other).ok());
  CHECK(rig.openai->calls() == 2);
  rig.clock.advance(86'400'000);
  REQUIRE(rig.router->complete(ask(Tier::simple, "same")).ok());
  CHECK(rig.openai->calls() == 3);
}

TEST_CASE("router: cost goes to the ledger and metrics; the per-job cap stops cloud calls", "[llm][router]") {
  auto options = RouterRig::defaults();
  options.max_cost_per_job_usd = 0.01;
  RouterRig rig(1, options, /*with_cache=*/false);
  // gpt-4o-mini: 100 tokens in at $0.15/M and 50 out at $0.60/M.
  rig.openai->set_default(FakeProvider::reply("x", 100, 50));
  auto a = rig.router->complete(ask(Tier::simple));
  REQUIRE(a.ok());
  CHECK(a->cost_usd == Approx((100 * 0.15 + 50 * 0.60) / 1e6));
  CHECK(*rig.ledger.spent_by_job("job-1") == Approx(a->cost_usd));
  CHECK(rig.metrics.value("fti_llm_cost_usd_total", {{"provider", "openai"}}) == Approx(a->cost_usd));
  CHECK(rig.metrics.value("fti_llm_requests_total", {{"provider", "openai"}, {"model", "gpt-4o-mini"}, {"outcome", "ok"}}) == 1);
  // Ollama is free and never capped.
  REQUIRE(rig.router->complete(ask(Tier::local)).ok());
  CHECK(*rig.ledger.spent_by_job("job-1") == Approx(a->cost_usd));

  // Anthropic at $3/$15 per M: 1000 max tokens out could cost $0.015, over the $0.01 cap.
  auto capped = rig.router->complete(ask(Tier::complex));
  REQUIRE_FALSE(capped.ok());
  CHECK(capped.error().code == "llm_budget");
  CHECK(rig.anthropic->calls() == 0);
  // Another job has its own budget.
  rig.anthropic->set_default(FakeProvider::reply("y", 10, 10));
  auto small = ask(Tier::complex, "p", "job-2");
  small.max_tokens = 100;
  REQUIRE(rig.router->complete(small).ok());
}

TEST_CASE("router: prices come from the list and from overrides", "[llm][router]") {
  auto table = fti::llm::PriceTable::with_overrides({"my-model=1/2", "gpt-4o=5/20"});
  REQUIRE(table.ok());
  CHECK(table->cost("openai", "my-model", 1'000'000, 1'000'000) == Approx(3.0));
  CHECK(table->cost("openai", "gpt-4o", 1'000'000, 0) == Approx(5.0));
  CHECK(table->cost("ollama", "codellama", 1'000'000, 1'000'000) == 0);
  // An unknown cloud model is priced as the dearest known one, so the cap errs on the safe side.
  CHECK(table->cost("anthropic", "mystery", 1'000'000, 0) >= 15.0);
  auto bad = fti::llm::PriceTable::with_overrides({"gpt-4o=cheap"});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == "bad_config");
}

TEST_CASE("escalation: a confident local answer is kept; a weak one escalates by complexity", "[llm][router]") {
  RouterRig rig(1);
  rig.ollama[0]->set_default(FakeProvider::reply("local answer"));
  rig.openai->set_default(FakeProvider::reply("cloud answer"));
  rig.anthropic->set_default(FakeProvider::reply("complex answer"));
  auto verify_all = [](const fti::llm::Answer& a) {
    return fti::llm::Verdict{a.text == "local answer" ? 0.9 : 1.0, ""};
  };
  auto kept = fti::llm::ask_with_escalation(*rig.router, ask(Tier::local, "k"), 0.5, 0.8, verify_all);
  REQUIRE(kept.accepted);
  CHECK(kept.accepted->provider == "ollama");
  CHECK(kept.attempts.size() == 1);

  auto weak_local = [](const fti::llm::Answer& a) {
    return fti::llm::Verdict{a.provider == "ollama" ? 0.5 : 0.95, a.provider == "ollama" ? "does not parse" : ""};
  };
  auto simple = fti::llm::ask_with_escalation(*rig.router, ask(Tier::local, "s"), 0.1, 0.8, weak_local);
  REQUIRE(simple.accepted);
  CHECK(simple.accepted->model == "gpt-4o-mini");
  auto medium = fti::llm::ask_with_escalation(*rig.router, ask(Tier::local, "m"), 0.5, 0.8, weak_local);
  REQUIRE(medium.accepted);
  CHECK(medium.accepted->model == "gpt-4o");
  auto complex = fti::llm::ask_with_escalation(*rig.router, ask(Tier::local, "c"), 0.8, 0.8, weak_local);
  REQUIRE(complex.accepted);
  CHECK(complex.accepted->provider == "anthropic");
  CHECK(complex.attempts.size() == 2);

  auto never = [](const fti::llm::Answer&) { return fti::llm::Verdict{0.2, "drops def main"}; };
  auto rejected = fti::llm::ask_with_escalation(*rig.router, ask(Tier::local, "n"), 0.1, 0.8, never);
  CHECK_FALSE(rejected.accepted);
  CHECK(rejected.reason.find("drops def main") != std::string::npos);
}

TEST_CASE("pipe client: a child's ask reaches the server's router with the job's own id", "[llm][router]") {
  RouterRig rig(1, RouterRig::defaults(), false);
  int to_server[2], to_child[2];
  REQUIRE(::pipe(to_server) == 0);
  REQUIRE(::pipe(to_child) == 0);
  std::FILE* child_out = ::fdopen(to_server[1], "w");
  std::FILE* child_in = ::fdopen(to_child[0], "r");
  std::FILE* server_in = ::fdopen(to_server[0], "r");
  std::thread server([&] {
    char* line = nullptr;
    std::size_t cap = 0;
    ssize_t n;
    while ((n = ::getline(&line, &cap, server_in)) > 0) {
      std::string text(line, static_cast<std::size_t>(n) - 1);
      auto reply = fti::llm::answer_pipe_request(*rig.router, text, "job-from-server", 0);
      std::string out = reply.value_or("ignored") + "\n";
      REQUIRE(::write(to_child[1], out.data(), out.size()) == static_cast<ssize_t>(out.size()));
    }
    std::free(line);
  });
  fti::llm::PipeLlmClient client(child_out, child_in);
  auto local = client.complete(ask(Tier::local, "hello", "job-the-child-claims"));
  REQUIRE(local.ok());
  CHECK(local->provider == "ollama");
  auto cloud = client.complete(ask(Tier::simple, "costly", "job-the-child-claims"));
  REQUIRE(cloud.ok());
  CHECK(*rig.ledger.spent_by_job("job-from-server") == Approx(cloud->cost_usd));
  CHECK(*rig.ledger.spent_by_job("job-the-child-claims") == 0);
  rig.router->set_mode(fti::llm::Mode::off);
  auto off = client.complete(ask(Tier::local, "x"));
  REQUIRE_FALSE(off.ok());
  CHECK(off.error().code == "llm_disabled");
  std::fclose(child_out);
  server.join();
  std::fclose(server_in);
  std::fclose(child_in);
  ::close(to_child[1]);
}

TEST_CASE("router: a budget refusal after a cooldown does not strand the breaker's trial", "[llm][router]") {
  auto options = RouterRig::defaults();
  options.max_retries = 0;
  options.cloud_breaker_failures = 1;
  options.max_cost_per_job_usd = 0.01;
  RouterRig rig(0, options, /*with_cache=*/false);
  rig.openai->script({FakeProvider::failure(FailureKind::overloaded, 503)});
  rig.anthropic->set_default(FakeProvider::failure(FailureKind::overloaded, 503));
  CHECK_FALSE(rig.router->complete(ask(Tier::simple, "a")).ok());  // both breakers open
  rig.clock.advance(30'000);
  // The first ask after the rest is over its job's budget: refused before any call.
  auto big = ask(Tier::simple, "b", "job-poor");
  big.max_tokens = 100'000;
  auto refused = rig.router->complete(big);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == "llm_budget");
  // The trial is still there for the next ask that can pay.
  auto answered = rig.router->complete(ask(Tier::simple, "c", "job-rich"));
  REQUIRE(answered.ok());
  CHECK(answered->provider == "openai");
}

TEST_CASE("router: no retry, wait or call outlives the ask's deadline", "[llm][router]") {
  RouterRig rig(1);
  rig.openai->set_default(FakeProvider::failure(FailureKind::overloaded, 503));
  rig.anthropic->set_default(FakeProvider::failure(FailureKind::overloaded, 503));
  auto a = ask(Tier::simple, "late");
  a.deadline_ms = rig.clock.now_ms() + 300;  // shorter than the first backoff (375 ms)
  CHECK_FALSE(rig.router->complete(a).ok());
  CHECK(rig.sleeps.empty());
  CHECK(rig.openai->calls() == 1);
  CHECK(rig.openai->requests()[0].time_left == std::chrono::milliseconds(300));
  rig.clock.advance(1000);
  REQUIRE(rig.router->complete(ask(Tier::local, "past")).ok());
  auto past = ask(Tier::local, "past2");
  past.deadline_ms = rig.clock.now_ms() - 1;
  auto expired = rig.router->complete(past);
  REQUIRE_FALSE(expired.ok());
  CHECK(expired.error().message.find("time ran out") != std::string::npos);
  CHECK(rig.ollama[0]->calls() == 1);  // only the ask without a deadline
}

TEST_CASE("router: a cloud answer without usage is priced from its size", "[llm][router]") {
  RouterRig rig(0, RouterRig::defaults(), false);
  rig.openai->set_default(FakeProvider::reply(std::string(400, 'x'), 0, 0));
  auto a = rig.router->complete(ask(Tier::simple, std::string(800, 'p')));
  REQUIRE(a.ok());
  CHECK(a->tokens_in == 201);
  CHECK(a->tokens_out == 101);
  CHECK(a->cost_usd > 0);
}

TEST_CASE("router: a spend limit rests the provider at once", "[llm][router]") {
  auto options = RouterRig::defaults();
  options.cloud_breaker_failures = 5;
  RouterRig rig(0, options, false);
  rig.openai->script({FakeProvider::failure(FailureKind::spend_limit, 429)});
  REQUIRE(rig.router->complete(ask(Tier::simple, "1")).ok());  // Anthropic answers
  REQUIRE(rig.router->complete(ask(Tier::simple, "2")).ok());
  CHECK(rig.openai->calls() == 1);
  CHECK(rig.anthropic->calls() == 2);
}
