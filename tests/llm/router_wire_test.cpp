// The router over real providers and real HTTP against the fake LLM server: the failure
// modes of LLM_PROTOCOLS.md as the router sees them on the wire.
#include <catch2/catch.hpp>

#include "fakes/fake_llm_server.hpp"
#include "fakes/manual_clock.hpp"
#include "fti/llm/router.hpp"

using namespace std::chrono_literals;
using fti::fakes::FakeLlmBehavior;
using fti::fakes::FakeLlmServer;
using Kind = FakeLlmBehavior::Kind;

namespace {

FakeLlmBehavior behave(Kind kind, int status = 200, std::string error_type = {}) {
  FakeLlmBehavior b;
  b.kind = kind;
  b.status = status;
  b.error_type = std::move(error_type);
  return b;
}

std::size_t count_path(const FakeLlmServer& server, const std::string& path) {
  std::size_t n = 0;
  for (const auto& r : server.requests()) n += r.path == path;
  return n;
}

// A router whose providers talk HTTP to fakes; time and sleeps are the test's.
struct WireRig {
  fti::fakes::ManualClock clock;
  fti::llm::MemoryCostLedger ledger;
  std::vector<std::chrono::milliseconds> sleeps;
  std::unique_ptr<fti::llm::Router> router;

  WireRig(const std::vector<const FakeLlmServer*>& ollama, const FakeLlmServer* cloud, std::string openai_key = "sk-test") {
    fti::llm::ProviderTimeouts timeouts;
    timeouts.connect = 1000ms;
    timeouts.first_byte = 400ms;
    timeouts.total = 5000ms;
    fti::llm::RouterParts parts;
    for (auto* o : ollama) parts.ollama.push_back(fti::llm::make_ollama_provider(o->url(), timeouts));
    if (cloud) {
      parts.openai = fti::llm::make_openai_provider(cloud->url() + "/v1", openai_key, timeouts);
      parts.anthropic = fti::llm::make_anthropic_provider(cloud->url(), "ak-test", timeouts);
    }
    parts.clock = &clock;
    parts.ledger = &ledger;
    parts.sleep = [this](std::chrono::milliseconds d) { sleeps.push_back(d); };
    parts.random = [] { return 0.0; };
    fti::llm::RouterOptions options;
    options.mode = fti::llm::Mode::auto_;
    options.prices = *fti::llm::PriceTable::with_overrides({});
    router = std::make_unique<fti::llm::Router>(std::move(options), std::move(parts));
  }
};

fti::llm::Ask ask(fti::llm::Tier tier, std::string prompt) {
  fti::llm::Ask a;
  a.task = "rewrite";
  a.tier = tier;
  a.prompt = "Clean this:\n```python\n" + prompt + "\n```\n";
  a.job_id = "job-wire";
  return a;
}

}  // namespace

TEST_CASE("wire: a down Ollama instance is skipped, then probed and used after its cooldown", "[llm][wire]") {
  FakeLlmServer a({}), b({});
  WireRig rig({&a, &b}, nullptr);
  a.set_down(true);
  for (int i = 0; i < 4; ++i) {
    auto answer = rig.router->complete(ask(fti::llm::Tier::local, "x = " + std::to_string(i)));
    REQUIRE(answer.ok());
    CHECK(answer->text == "x = " + std::to_string(i) + "\n");
    CHECK(answer->provider == "ollama");
  }
  CHECK(b.generation_count() == 4);
  a.set_down(false);
  // Still resting: no traffic reaches it before the cooldown ends.
  REQUIRE(rig.router->complete(ask(fti::llm::Tier::local, "y = 1")).ok());
  CHECK(a.generation_count() == 0);
  rig.clock.advance(30'000);
  for (int i = 0; i < 4; ++i) REQUIRE(rig.router->complete(ask(fti::llm::Tier::local, "z = " + std::to_string(i))).ok());
  CHECK(count_path(a, "/api/tags") == 1);
  CHECK(a.generation_count() == 2);
}

TEST_CASE("wire: an instance without the model is cooled down; the probe keeps it out", "[llm][wire]") {
  FakeLlmServer a({}), b({});
  a.set_models({"llama3:latest"});
  WireRig rig({&a, &b}, nullptr);
  for (int i = 0; i < 3; ++i) REQUIRE(rig.router->complete(ask(fti::llm::Tier::local, "v = " + std::to_string(i))).ok());
  CHECK(b.generation_count() == 3);
  rig.clock.advance(30'000);
  REQUIRE(rig.router->complete(ask(fti::llm::Tier::local, "w = 1")).ok());
  REQUIRE(rig.router->complete(ask(fti::llm::Tier::local, "w = 2")).ok());
  CHECK(count_path(a, "/api/tags") == 1);
  CHECK(a.generation_count() == 1);  // only the first 404
}

TEST_CASE("wire: a single instance that hangs is cut off by the first-byte timeout and rests", "[llm][wire]") {
  FakeLlmServer a({});
  a.script({behave(Kind::hang)});
  WireRig rig({&a}, nullptr);
  auto failed = rig.router->complete(ask(fti::llm::Tier::local, "h = 1"));
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().code == "llm_unavailable");
  CHECK_FALSE(rig.router->complete(ask(fti::llm::Tier::local, "h = 2")).ok());
  CHECK(a.generation_count() == 1);
  rig.clock.advance(30'000);
  REQUIRE(rig.router->complete(ask(fti::llm::Tier::local, "h = 3")).ok());
}

TEST_CASE("wire: cut streams, in-stream errors and bad bodies are retried, never taken as answers", "[llm][wire]") {
  FakeLlmServer cloud({});
  WireRig rig({}, &cloud);
  auto kind = GENERATE(Kind::cut_stream, Kind::error_mid_stream, Kind::malformed_json, Kind::empty_body,
                       Kind::wrong_shape, Kind::close);
  auto tier = GENERATE(fti::llm::Tier::simple, fti::llm::Tier::complex);
  CAPTURE(fti::fakes::fake_llm_kind_name(kind), fti::llm::tier_name(tier));
  cloud.script({behave(kind)});
  auto answer = rig.router->complete(ask(tier, "s = 'whole'"));
  REQUIRE(answer.ok());
  CHECK(answer->text == "s = 'whole'\n");
  CHECK(answer->provider == (tier == fti::llm::Tier::simple ? "openai" : "anthropic"));
  CHECK(cloud.generation_count() == 2);
  CHECK(rig.sleeps.size() == 1);
}

TEST_CASE("wire: 429 and 5xx are retried, honouring retry-after-ms and retry-after", "[llm][wire]") {
  FakeLlmServer cloud({});
  WireRig rig({}, &cloud);
  auto ms = behave(Kind::status, 429, "rate_limit_exceeded");
  ms.retry_after_ms = "40";
  auto secs = behave(Kind::status, 429, "rate_limit_exceeded");
  secs.retry_after = "2";
  cloud.script({ms, secs, behave(Kind::status, 503), behave(Kind::status, 529, "overloaded_error")});
  // max_retries 2: two waits (40 ms, 2 s), then 503 ends OpenAI's turn; Anthropic's 529 is
  // retried once after a jittered backoff and its second call answers.
  auto answer = rig.router->complete(ask(fti::llm::Tier::simple, "r = 1"));
  REQUIRE(answer.ok());
  CHECK(answer->provider == "anthropic");
  REQUIRE(rig.sleeps.size() == 3);
  CHECK(rig.sleeps[0] == 40ms);
  CHECK(rig.sleeps[1] == 2000ms);
  CHECK(cloud.generation_count() == 5);
}

TEST_CASE("wire: a spend-limit 429 is not retried and a bad key disables the provider", "[llm][wire]") {
  FakeLlmServer cloud({});
  SECTION("insufficient_quota") {
    WireRig rig({}, &cloud);
    cloud.script({behave(Kind::status, 429, "insufficient_quota")});
    auto answer = rig.router->complete(ask(fti::llm::Tier::simple, "q = 1"));
    REQUIRE(answer.ok());
    CHECK(answer->provider == "anthropic");
    CHECK(rig.sleeps.empty());
    CHECK(count_path(cloud, "/v1/chat/completions") == 1);
  }
  SECTION("401") {
    WireRig rig({}, &cloud, "sk-wrong");
    for (int i = 0; i < 3; ++i) {
      auto answer = rig.router->complete(ask(fti::llm::Tier::simple, "k = " + std::to_string(i)));
      REQUIRE(answer.ok());
      CHECK(answer->provider == "anthropic");
    }
    CHECK(count_path(cloud, "/v1/chat/completions") == 1);
    CHECK(rig.sleeps.empty());
  }
}

TEST_CASE("wire: cloud answers are priced from their token counts", "[llm][wire]") {
  FakeLlmServer cloud({});
  WireRig rig({}, &cloud);
  auto answer = rig.router->complete(ask(fti::llm::Tier::medium, "c = 1"));
  REQUIRE(answer.ok());
  CHECK(answer->model == "gpt-4o");
  CHECK(answer->tokens_in > 0);
  CHECK(answer->tokens_out > 0);
  CHECK(answer->cost_usd == Approx((answer->tokens_in * 2.5 + answer->tokens_out * 10.0) / 1e6));
  CHECK(*rig.ledger.spent_by_job("job-wire") == Approx(answer->cost_usd));
}
