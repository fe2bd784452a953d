// The three providers: their stream parsers fed in every split, then whole calls against the
// fake LLM server for each failure LLM_PROTOCOLS.md lists.
#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "../../src/llm/provider_common.hpp"  // private to src/llm; tested directly
#include "../../src/llm/stream_parsers.hpp"
#include "fakes/fake_llm_server.hpp"
#include "fti/llm/provider.hpp"

namespace {

using fti::llm::StreamParser;

struct StreamCase {
  std::string name;
  std::string body;
  std::string text;           // expected answer; unused when `error` is set
  std::string finish_reason;  // expected, normalised
  std::int64_t tokens_in = 0;
  std::int64_t tokens_out = 0;
  std::string error;          // a part of the expected failure message; empty: success
};

// The ways a body may be cut into chunks: whole, byte by byte, fixed odd sizes, and every
// two-piece split (so each line, CRLF pair and UTF-8 sequence gets cut somewhere).
std::vector<std::vector<std::string>> split_plans(const std::string& body) {
  std::vector<std::vector<std::string>> plans;
  plans.push_back({body});
  for (std::size_t size : {1, 2, 3, 7, 13}) {
    std::vector<std::string> plan;
    for (std::size_t at = 0; at < body.size(); at += size) plan.push_back(body.substr(at, size));
    plans.push_back(plan);
  }
  for (std::size_t at = 1; at < body.size(); ++at) plans.push_back({body.substr(0, at), body.substr(at)});
  return plans;
}

template <class Parser>
void check_stream(const StreamCase& c) {
  for (const auto& plan : split_plans(c.body)) {
    Parser parser;
    for (const auto& piece : plan) {
      if (!parser.feed(piece)) break;  // the client stops reading, as stream_call does
    }
    bool ok = parser.finish();
    INFO(c.name << " in " << plan.size() << " pieces");
    if (!c.error.empty()) {
      REQUIRE_FALSE(ok);
      REQUIRE_THAT(parser.error(), Catch::Contains(c.error));
      continue;
    }
    REQUIRE(ok);
    const auto& reply = parser.reply();
    REQUIRE(reply.text == c.text);
    REQUIRE(reply.finish_reason == c.finish_reason);
    REQUIRE(reply.tokens_in == c.tokens_in);
    REQUIRE(reply.tokens_out == c.tokens_out);
  }
}

const std::string kCut = "stream ended before its terminal event";

// ---------------------------------------------------------------------------------------------
// Ollama NDJSON

std::string ollama_line(const std::string& content, bool done = false, const std::string& tail = "") {
  return R"({"model":"codellama:latest","created_at":"2024-01-01T00:00:00Z","message":{"role":"assistant","content":")" +
         content + R"("},"done":)" + (done ? "true" : "false") + tail + "}";
}
const std::string kOllamaDone = ollama_line(
    "", true, R"(,"done_reason":"stop","prompt_eval_count":26,"eval_count":290)");

std::vector<StreamCase> ollama_cases() {
  return {
      {"answer", ollama_line("int ") + "\n" + ollama_line("caf\u00e9 \u2192 x;") + "\n" + kOllamaDone + "\n",
       "int caf\u00e9 \u2192 x;", "stop", 26, 290, ""},
      {"cut at max tokens",
       ollama_line("ab") + "\n" +
           ollama_line("", true, R"(,"done_reason":"length","prompt_eval_count":3,"eval_count":5)") + "\n",
       "ab", "length", 3, 5, ""},
      {"CRLF and blank lines", ollama_line("a") + "\r\n\r\n" + ollama_line("b") + "\r\n" + kOllamaDone + "\r\n",
       "ab", "stop", 26, 290, ""},
      {"last line without newline", ollama_line("a") + "\n" + kOllamaDone, "a", "stop", 26, 290, ""},
      {"bytes after the last line are ignored", ollama_line("a") + "\n" + kOllamaDone + "\n{nonsense\n", "a",
       "stop", 26, 290, ""},
      {"error line", ollama_line("a") + "\n" + R"({"error":"model runner crashed"})" + "\n", "", "", 0, 0,
       "error in the stream: model runner crashed"},
      {"no done line", ollama_line("a") + "\n" + ollama_line("b") + "\n", "", "", 0, 0, kCut},
      {"cut mid-line", ollama_line("a") + "\n" + ollama_line("b").substr(0, 30), "", "", 0, 0, kCut},
      {"malformed JSON", ollama_line("a") + "\n{\"model\": nope}\n" + kOllamaDone + "\n", "", "", 0, 0,
       "malformed JSON"},
      {"wrong shape", "{\"foo\":1}\n", "", "", 0, 0, "no \"done\" field"},
      {"not an object", "[1,2]\n", "", "", 0, 0, "not a JSON object"},
      {"empty body", "", "", "", 0, 0, "empty body"},
  };
}

TEST_CASE("the Ollama parser reads NDJSON however it is split", "[llm][providers]") {
  for (const auto& c : ollama_cases()) check_stream<fti::llm::OllamaChatParser>(c);
}

// ---------------------------------------------------------------------------------------------
// OpenAI server-sent events

std::string openai_chunk(const std::string& delta, const std::string& finish = "null") {
  return R"(data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4","choices":[{"index":0,"delta":)" +
         delta + R"(,"finish_reason":)" + finish + "}]}\n\n";
}
const std::string kOpenAiUsage =
    R"(data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}})"
    "\n\n";
const std::string kOpenAiDone = "data: [DONE]\n\n";

std::string openai_answer(const std::string& finish) {
  return ": keep-alive\n\n" + openai_chunk(R"({"role":"assistant","content":""})") +
         openai_chunk(R"({"content":"x = 1\n"})") + ": another comment\n" +
         openai_chunk("{\"content\":\"\u00e9\u2192\"}") + openai_chunk("{}", finish) + kOpenAiUsage + kOpenAiDone;
}

std::string crlf(std::string s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

std::vector<StreamCase> openai_cases() {
  const std::string body = openai_answer("\"stop\"");
  return {
      {"answer with comments", body, "x = 1\n\u00e9\u2192", "stop", 9, 2, ""},
      {"cut at max tokens", openai_answer("\"length\""), "x = 1\n\u00e9\u2192", "length", 9, 2, ""},
      {"CRLF", crlf(body), "x = 1\n\u00e9\u2192", "stop", 9, 2, ""},
      {"data without a space", "data:" + openai_chunk(R"({"content":"a"})", "\"stop\"").substr(6) + "data:[DONE]\n\n",
       "a", "stop", 0, 0, ""},
      {"[DONE] without its blank line", openai_chunk(R"({"content":"a"})", "\"stop\"") + "data: [DONE]", "a",
       "stop", 0, 0, ""},
      {"error mid-stream",
       openai_chunk(R"({"content":"a"})") +
           R"(data: {"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}})" +
           "\n\n",
       "", "", 0, 0, "server_error: The server had an error"},
      {"no [DONE]", openai_chunk(R"({"content":"a"})") + openai_chunk("{}", "\"stop\"") + kOpenAiUsage, "", "", 0,
       0, kCut},
      {"cut mid-event", openai_chunk(R"({"content":"a"})") + "data: {\"id\":\"chat", "", "", 0, 0, kCut},
      {"malformed JSON", openai_chunk(R"({"content":"a"})") + "data: {not json}\n\n" + kOpenAiDone, "", "", 0, 0,
       "malformed JSON"},
      {"wrong shape", "data: {\"foo\":1}\n\n" + kOpenAiDone, "", "", 0, 0, "no \"choices\" array"},
      {"plain JSON instead of events", "{\"id\":\"chatcmpl-1\",\"choices\":[]}\n", "", "", 0, 0,
       "not an event stream"},
      {"empty body", "", "", "", 0, 0, "empty body"},
  };
}

TEST_CASE("the OpenAI parser reads server-sent events however they are split", "[llm][providers]") {
  for (const auto& c : openai_cases()) check_stream<fti::llm::OpenAiChatParser>(c);
}

// ---------------------------------------------------------------------------------------------
// Anthropic server-sent events

std::string anthropic_event(const std::string& event, const std::string& data) {
  return "event: " + event + "\ndata: " + data + "\n\n";
}

std::string anthropic_answer(const std::string& stop_reason, bool with_stop = true) {
  std::string out =
      anthropic_event("message_start",
                      R"({"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-3-opus-20240229","content":[],"stop_reason":null,"usage":{"input_tokens":12,"output_tokens":1}}})") +
      anthropic_event("content_block_start",
                      R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})") +
      anthropic_event("ping", R"({"type": "ping"})") +
      anthropic_event("content_block_delta",
                      R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"fn main() {"}})") +
      ": a comment\n" +
      anthropic_event("content_block_delta",
                      R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" \u00e9 }"}})") +
      anthropic_event("content_block_stop", R"({"type":"content_block_stop","index":0})") +
      anthropic_event("message_delta", R"({"type":"message_delta","delta":{"stop_reason":")" + stop_reason +
                                           R"(","stop_sequence":null},"usage":{"output_tokens":6}})");
  if (with_stop) out += anthropic_event("message_stop", R"({"type":"message_stop"})");
  return out;
}

std::vector<StreamCase> anthropic_cases() {
  const std::string start = anthropic_answer("end_turn").substr(0, 300);
  return {
      {"answer with pings and comments", anthropic_answer("end_turn"), "fn main() { \u00e9 }", "stop", 12, 6, ""},
      {"cut at max tokens", anthropic_answer("max_tokens"), "fn main() { \u00e9 }", "length", 12, 6, ""},
      {"CRLF", crlf(anthropic_answer("end_turn")), "fn main() { \u00e9 }", "stop", 12, 6, ""},
      {"error event",
       anthropic_event("message_start", R"({"type":"message_start","message":{"model":"m","usage":{"input_tokens":1}}})") +
           anthropic_event("error",
                           R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})"),
       "", "", 0, 0, "overloaded_error: Overloaded"},
      {"no message_stop", anthropic_answer("end_turn", false), "", "", 0, 0, kCut},
      {"cut mid-event", start, "", "", 0, 0, kCut},
      {"malformed JSON", anthropic_event("content_block_delta", "{\"type\":") + anthropic_event("message_stop", "{}"),
       "", "", 0, 0, "malformed JSON"},
      {"wrong shape", anthropic_event("content_block_delta", R"({"type":"content_block_delta"})"), "", "", 0, 0,
       "no \"delta\" object"},
      {"empty body", "", "", "", 0, 0, "empty body"},
  };
}

TEST_CASE("the Anthropic parser reads server-sent events however they are split", "[llm][providers]") {
  for (const auto& c : anthropic_cases()) check_stream<fti::llm::AnthropicMessagesParser>(c);
}

TEST_CASE("a stream parser refuses an answer over its bound", "[llm][providers]") {
  fti::llm::OllamaChatParser parser;
  std::string piece(64 * 1024, 'x');
  std::string line = ollama_line(piece) + "\n";
  bool ok = true;
  for (std::size_t i = 0; ok && i <= fti::llm::kMaxAnswerBytes / piece.size(); ++i) ok = parser.feed(line);
  CHECK_FALSE(ok);
  CHECK_THAT(parser.error(), Catch::Contains("the answer is over"));
}

// ---------------------------------------------------------------------------------------------
// Status classification and retry-after

TEST_CASE("HTTP statuses map onto failure kinds", "[llm][providers]") {
  using fti::llm::FailureKind;
  using fti::llm::classify_status;
  struct Row {
    long status;
    std::string body;
    FailureKind kind;
  };
  const std::vector<Row> rows = {
      {429, R"({"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}})",
       FailureKind::rate_limited},
      {429, R"({"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}})",
       FailureKind::spend_limit},
      {429, R"({"error":{"message":"x","type":"requests","code":"insufficient_quota"}})", FailureKind::spend_limit},
      // A structured type is believed over the words of the message.
      {429, R"({"type":"error","error":{"type":"rate_limit_error","message":"check your plan and billing details"}})",
       FailureKind::rate_limited},
      // Without one (a gateway, Ollama's plain string) the words decide.
      {429, R"({"error":"Your credit balance is too low"})", FailureKind::spend_limit},
      {429, R"({"error":"too many requests per minute, quota resets soon"})", FailureKind::rate_limited},
      {429, "", FailureKind::rate_limited},
      {408, "", FailureKind::overloaded},
      {409, "", FailureKind::overloaded},
      {500, "", FailureKind::overloaded},
      {502, "<html>bad gateway</html>", FailureKind::overloaded},
      {503, R"({"error":"server busy"})", FailureKind::overloaded},
      {529, "", FailureKind::overloaded},
      {401, "", FailureKind::auth},
      {403, "", FailureKind::auth},
      {400, "", FailureKind::bad_request},
      {404, R"({"error":"model \"x\" not found, try pulling it first"})", FailureKind::bad_request},
      {413, "", FailureKind::bad_request},
      {422, "", FailureKind::bad_request},
      {302, "", FailureKind::protocol},
  };
  for (const auto& row : rows) {
    INFO(row.status << " " << row.body);
    CHECK(classify_status(row.status, row.body) == row.kind);
  }
}

TEST_CASE("retry-after-ms wins over retry-after, which may be decimal", "[llm][providers]") {
  using namespace std::chrono_literals;
  auto with = [](std::map<std::string, std::string> headers) {
    fti::HttpResponse r;
    r.headers = std::move(headers);
    return fti::llm::parse_retry_after(r);
  };
  CHECK(with({{"retry-after-ms", "250"}, {"retry-after", "3"}}) == 250ms);
  CHECK(with({{"retry-after-ms", "12.6"}}) == 13ms);
  CHECK(with({{"retry-after", "3"}}) == 3000ms);
  CHECK(with({{"retry-after", "1.5"}}) == 1500ms);
  CHECK(with({{"retry-after", " 2 "}}) == 2000ms);
  CHECK_FALSE(with({{"retry-after", "Wed, 21 Oct 2015 07:28:00 GMT"}}));
  CHECK_FALSE(with({{"retry-after", "-1"}}));
  CHECK_FALSE(with({{"retry-after-ms", "soon"}}));
  CHECK_FALSE(with({}));
}

TEST_CASE("error messages come from the error body and stay short", "[llm][providers]") {
  using fti::llm::error_body_message;
  CHECK(error_body_message(R"({"error":"model not found"})") == "model not found");
  CHECK(error_body_message(R"({"error":{"message":"Bad key","type":"invalid_request_error","code":null}})") ==
        "invalid_request_error: Bad key");
  CHECK(error_body_message(R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})") ==
        "overloaded_error: Overloaded");
  CHECK(error_body_message("upstream\nconnect error") == "upstream connect error");
  CHECK(error_body_message("") == "");
  auto long_message = error_body_message(std::string(5000, 'e'));
  CHECK(long_message.size() <= 310);
  CHECK(fti::llm::failure_kind_name(fti::llm::FailureKind::spend_limit) == "spend_limit");
  CHECK(fti::llm::failure_kind_name(fti::llm::FailureKind::protocol) == "protocol");
}

// ---------------------------------------------------------------------------------------------
// Whole calls against the fake server

using namespace std::chrono_literals;
using fti::fakes::FakeLlmBehavior;
using fti::fakes::FakeLlmServer;
using fti::llm::CallResult;
using fti::llm::FailureKind;
using Kind = FakeLlmBehavior::Kind;

enum class Protocol { ollama, openai, anthropic };

const char* protocol_name(Protocol p) {
  switch (p) {
    case Protocol::ollama: return "ollama";
    case Protocol::openai: return "openai";
    case Protocol::anthropic: return "anthropic";
  }
  return "?";
}

const std::string kPrompt = "Tidy this:\n```\nint x=1;\n```\n";
const std::string kEcho = "int x=1;\n";  // what the fake answers to kPrompt

// Short enough that a hang costs a test a third of a second.
fti::llm::ProviderTimeouts fast_timeouts() { return {1000ms, 300ms, 5000ms}; }

std::unique_ptr<fti::llm::Provider> provider_for(Protocol p, const FakeLlmServer& server,
                                                 const std::string& key = "") {
  switch (p) {
    case Protocol::ollama: return fti::llm::make_ollama_provider(server.url(), fast_timeouts());
    case Protocol::openai:
      return fti::llm::make_openai_provider(server.url() + "/v1", key.empty() ? "sk-test" : key, fast_timeouts());
    case Protocol::anthropic:
      return fti::llm::make_anthropic_provider(server.url(), key.empty() ? "ak-test" : key, fast_timeouts());
  }
  return nullptr;
}

fti::llm::ProviderRequest request_for(Protocol p) {
  fti::llm::ProviderRequest r;
  r.model = p == Protocol::ollama ? "codellama" : p == Protocol::openai ? "gpt-4" : "claude-3-opus-20240229";
  r.system = "You clean code.";
  r.prompt = kPrompt;
  r.max_tokens = 64;
  return r;
}

FakeLlmBehavior behavior(Kind kind, int status = 200) {
  FakeLlmBehavior b;
  b.kind = kind;
  b.status = status;
  return b;
}

CallResult call_with(Protocol p, FakeLlmServer& server, FakeLlmBehavior b) {
  server.script({std::move(b)});
  return provider_for(p, server)->call(request_for(p));
}

std::string kind_of(const CallResult& r) { return std::string(fti::llm::failure_kind_name(r.failure.kind)); }

void require_failure(const CallResult& r, FailureKind kind, long status = -1) {
  REQUIRE_FALSE(r.ok());
  INFO(r.failure.message);
  CHECK(kind_of(r) == std::string(fti::llm::failure_kind_name(kind)));
  if (status >= 0) CHECK(r.failure.http_status == status);
  CHECK_FALSE(r.failure.message.empty());
  CHECK(r.failure.message.find("Tidy this") == std::string::npos);  // never the prompt
  CHECK(r.failure.message.size() <= 310);
}

#define FOR_EACH_PROTOCOL()                                                           \
  const Protocol protocol = GENERATE(Protocol::ollama, Protocol::openai, Protocol::anthropic); \
  INFO(protocol_name(protocol));                                                      \
  FakeLlmServer server(FakeLlmServer::Options{})

TEST_CASE("a streamed answer arrives whole with its counts and finish reason", "[llm][providers]") {
  FOR_EACH_PROTOCOL();
  auto r = call_with(protocol, server, behavior(Kind::ok));
  INFO(r.failure.message);
  REQUIRE(r.ok());
  CHECK(r.reply->text == kEcho);
  CHECK(r.reply->finish_reason == "stop");
  CHECK(r.reply->tokens_in > 0);
  CHECK(r.reply->tokens_out > 0);
  CHECK_FALSE(r.reply->model.empty());
}

TEST_CASE("an answer cut at max_tokens says \"length\"", "[llm][providers]") {
  FOR_EACH_PROTOCOL();
  auto b = behavior(Kind::ok);
  b.text = "def f():\n    return 1\n";
  b.finish_reason = "length";
  auto r = call_with(protocol, server, b);
  REQUIRE(r.ok());
  CHECK(r.reply->text == b.text);
  CHECK(r.reply->finish_reason == "length");
}

TEST_CASE("each provider sends its own wire request", "[llm][providers]") {
  FOR_EACH_PROTOCOL();
  REQUIRE(call_with(protocol, server, behavior(Kind::ok)).ok());
  auto requests = server.requests();
  REQUIRE(requests.size() == 1);
  const auto& req = requests.front();
  CHECK(req.method == "POST");
  CHECK(req.headers.at("content-type") == "application/json");
  CHECK_THAT(req.body, Catch::Contains("\"stream\":true"));
  switch (protocol) {
    case Protocol::ollama:
      CHECK(req.path == "/api/chat");
      CHECK_THAT(req.body, Catch::Contains("\"role\":\"system\""));
      CHECK_THAT(req.body, Catch::Contains("\"num_predict\":64"));
      break;
    case Protocol::openai:
      CHECK(req.path == "/v1/chat/completions");
      CHECK(req.headers.at("authorization") == "Bearer sk-test");
      CHECK(req.headers.at("accept") == "text/event-stream");
      CHECK_THAT(req.body, Catch::Contains("\"include_usage\":true"));
      CHECK_THAT(req.body, Catch::Contains("\"max_tokens\":64"));
      break;
    case Protocol::anthropic:
      CHECK(req.path == "/v1/messages");
      CHECK(req.headers.at("x-api-key") == "ak-test");
      CHECK(req.headers.at("anthropic-version") == "2023-06-01");
      CHECK_THAT(req.body, Catch::Contains("\"system\":\"You clean code.\""));
      CHECK_THAT(req.body, !Catch::Contains("\"role\":\"system\""));
      break;
  }
}

TEST_CASE("a refused connection is a transport failure", "[llm][providers]") {
  FOR_EACH_PROTOCOL();
  server.set_down(true);
  auto r = provider_for(protocol, server)->call(request_for(protocol));
  require_failure(r, FailureKind::transport, 0);
  CHECK_THAT(r.failure.message, Catch::Contains("connection refused"));
}

TEST_CASE("a server that accepts and never answers fails at the first-byte timeout", "[llm][providers]") {
  FOR_EACH_PROTOCOL();
  auto start = std::chrono::steady_clock::now();
  auto r = call_with(protocol, server, behavior(Kind::hang));
  auto took = std::chrono::steady_clock::now() - start;
  require_failure(r, FailureKind::transport, 0);
  CHECK_THAT(r.failure.message, Catch::Contains("no response within 300 ms"));
  CHECK(took < 2s);  // not the 5 s total timeout
}

TEST_CASE("a connection closed without an answer is a transport failure", "[llm][providers]") {
  FOR_EACH_PROTOCOL();
  require_failure(call_with(protocol, server, behavior(Kind::close)), FailureKind::transport, 0);
}

TEST_CASE("server errors are overloads", "[llm][providers]") {
  FOR_EACH_PROTOCOL();
  const int status = GENERATE(500, 502, 503, 529, 408, 409);
  INFO(status);
  auto r = call_with(protocol, server, behavior(Kind::status, status));
  require_failure(r, FailureKind::overloaded, status);
  CHECK_THAT(r.failure.message, Catch::Contains("HTTP " + std::to_string(status)));
  CHECK_FALSE(r.failure.retry_after);
}

TEST_CASE("a 429 is a rate limit and carries retry-after", "[llm][providers]") {
  FOR_EACH_PROTOCOL();
  SECTION("retry-after-ms wins") {
    auto b = behavior(Kind::status, 429);
    b.retry_after_ms = "250";
    b.retry_after = "1";
    auto r = call_with(protocol, server, b);
    require_failure(r, FailureKind::rate_limited, 429);
    CHECK(r.failure.retry_after == 250ms);
  }
  SECTION("retry-after in seconds") {
    auto b = behavior(Kind::status, 429);
    b.retry_after = "2";
    auto r = call_with(protocol, server, b);
    require_failure(r, FailureKind::rate_limited, 429);
    CHECK(r.failure.retry_after == 2000ms);
  }
  SECTION("without retry-after") {
    auto r = call_with(protocol, server, behavior(Kind::status, 429));
    require_failure(r, FailureKind::rate_limited, 429);
    CHECK_FALSE(r.failure.retry_after);
  }
}

TEST_CASE("retry-after is kept for any failing status that carries it", "[llm][providers]") {
  FOR_EACH_PROTOCOL();
  auto b = behavior(Kind::status, 503);
  b.retry_after = "0.5";
  auto r = call_with(protocol, server, b);
  require_failure(r, FailureKind::overloaded, 503);
  CHECK(r.failure.retry_after == 500ms);
}

TEST_CASE("a spent quota is a spend limit, not a rate limit", "[llm][providers]") {
  FOR_EACH_PROTOCOL();
  auto b = behavior(Kind::status, 429);
  b.error_type = "insufficient_quota";
  auto r = call_with(protocol, server, b);
  require_failure(r, FailureKind::spend_limit, 429);
}

TEST_CASE("401 and 403 are auth failures", "[llm][providers]") {
  FOR_EACH_PROTOCOL();
  const int status = GENERATE(401, 403);
  require_failure(call_with(protocol, server, behavior(Kind::status, status)), FailureKind::auth, status);
}

TEST_CASE("a wrong API key is an auth failure", "[llm][providers]") {
  const Protocol protocol = GENERATE(Protocol::openai, Protocol::anthropic);
  INFO(protocol_name(protocol));
  FakeLlmServer server(FakeLlmServer::Options{});
  auto r = provider_for(protocol, server, "wrong-key")->call(request_for(protocol));
  require_failure(r, FailureKind::auth, 401);
}

TEST_CASE("client errors are bad requests", "[llm][providers]") {
  FOR_EACH_PROTOCOL();
  const int status = GENERATE(400, 404, 413, 422);
  require_failure(call_with(protocol, server, behavior(Kind::status, status)), FailureKind::bad_request, status);
}

TEST_CASE("an Ollama model that is not pulled is a bad request", "[llm][providers]") {
  FakeLlmServer server(FakeLlmServer::Options{});
  auto request = request_for(Protocol::ollama);
  request.model = "llama3";
  auto r = provider_for(Protocol::ollama, server)->call(request);
  require_failure(r, FailureKind::bad_request, 404);
}

TEST_CASE("a stream cut before its terminal event is a protocol failure", "[llm][providers]") {
  FOR_EACH_PROTOCOL();
  auto r = call_with(protocol, server, behavior(Kind::cut_stream));
  require_failure(r, FailureKind::protocol);
  CHECK_THAT(r.failure.message, Catch::Contains("stream ended before its terminal event"));
}

TEST_CASE("an error inside a 200 stream is a protocol failure with the upstream words", "[llm][providers]") {
  FOR_EACH_PROTOCOL();
  auto b = behavior(Kind::error_mid_stream);
  b.text = "the model fell over";
  auto r = call_with(protocol, server, b);
  require_failure(r, FailureKind::protocol, 200);
  CHECK_THAT(r.failure.message, Catch::Contains("the model fell over"));
}

TEST_CASE("malformed JSON, an empty body and a wrong shape are protocol failures", "[llm][providers]") {
  FOR_EACH_PROTOCOL();
  SECTION("malformed JSON") {
    auto r = call_with(protocol, server, behavior(Kind::malformed_json));
    require_failure(r, FailureKind::protocol, 200);
    CHECK_THAT(r.failure.message, Catch::Contains("malformed JSON"));
  }
  SECTION("empty body") {
    auto r = call_with(protocol, server, behavior(Kind::empty_body));
    require_failure(r, FailureKind::protocol, 200);
    CHECK_THAT(r.failure.message, Catch::Contains("empty body"));
  }
  SECTION("wrong shape") {
    require_failure(call_with(protocol, server, behavior(Kind::wrong_shape)), FailureKind::protocol, 200);
  }
}

TEST_CASE("a provider recovers after each failure", "[llm][providers]") {
  FOR_EACH_PROTOCOL();
  auto provider = provider_for(protocol, server);
  // Not Kind::close: on a kept-alive connection libcurl resends a request that got no byte
  // back, on a fresh connection, which then meets the next scripted behaviour.
  for (auto kind : {Kind::hang, Kind::cut_stream, Kind::error_mid_stream, Kind::malformed_json, Kind::status}) {
    server.script({behavior(kind, kind == Kind::status ? 503 : 200), behavior(Kind::ok)});
    INFO(fti::fakes::fake_llm_kind_name(kind));
    CHECK_FALSE(provider->call(request_for(protocol)).ok());
    auto r = provider->call(request_for(protocol));
    INFO(r.failure.message);
    CHECK(r.ok());
  }
}

TEST_CASE("probe asks Ollama for its models", "[llm][providers]") {
  FakeLlmServer server(FakeLlmServer::Options{});
  auto ollama = provider_for(Protocol::ollama, server);
  SECTION("a model listed with its tag, asked without") { CHECK(ollama->probe("codellama").ok()); }
  SECTION("a model listed, asked with its tag") { CHECK(ollama->probe("codellama:latest").ok()); }
  SECTION("another tag is another model") {
    require_failure(ollama->probe("codellama:13b"), FailureKind::bad_request);
  }
  SECTION("a model not on the instance") {
    auto r = ollama->probe("llama3");
    require_failure(r, FailureKind::bad_request);
    CHECK(r.failure.message == "model llama3 is not on this instance (try `ollama pull llama3`)");
  }
  SECTION("an instance that is down") {
    server.set_down(true);
    require_failure(ollama->probe("codellama"), FailureKind::transport, 0);
  }
  SECTION("the request") {
    REQUIRE(ollama->probe("codellama").ok());
    auto requests = server.requests();
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].method == "GET");
    CHECK(requests[0].path == "/api/tags");
    CHECK(server.generation_count() == 0);
  }
}

TEST_CASE("cloud providers probe without a network call", "[llm][providers]") {
  const Protocol protocol = GENERATE(Protocol::openai, Protocol::anthropic);
  FakeLlmServer server(FakeLlmServer::Options{});
  server.set_down(true);
  auto r = provider_for(protocol, server)->probe("any-model");
  REQUIRE(r.ok());
  CHECK(r.reply->text.empty());
  CHECK(server.requests().empty());
}

TEST_CASE("providers name themselves and their instance", "[llm][providers]") {
  fti::llm::ProviderTimeouts t;
  auto ollama = fti::llm::make_ollama_provider("http://127.0.0.1:11434/", t);
  CHECK(ollama->name() == "ollama");
  CHECK(ollama->base_url() == "http://127.0.0.1:11434");
  CHECK(fti::llm::make_openai_provider("https://api.openai.com/v1", "k", t)->name() == "openai");
  CHECK(fti::llm::make_anthropic_provider("https://api.anthropic.com", "k", t)->name() == "anthropic");
}

}  // namespace
