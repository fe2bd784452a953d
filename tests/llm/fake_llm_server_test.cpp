// The fake LLM server says on the wire what it claims to: each protocol's answer shape,
// streamed and not, and every scripted failure. A small reference reader per protocol
// (below) decodes streams the way a careful client would.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "fakes/fake_llm_server.hpp"
#include "fti/core/http_client.hpp"
#include "fti/core/json.hpp"

namespace {

using fti::fakes::FakeLlmServer;
using Behavior = fti::fakes::FakeLlmBehavior;
using Kind = Behavior::Kind;
using namespace std::chrono_literals;

enum class Proto { ollama_generate, ollama_chat, openai, anthropic };

std::string proto_name(Proto p) {
  switch (p) {
    case Proto::ollama_generate: return "ollama /api/generate";
    case Proto::ollama_chat: return "ollama /api/chat";
    case Proto::openai: return "openai";
    case Proto::anthropic: return "anthropic";
  }
  return "?";
}

constexpr Proto kAllProtos[] = {Proto::ollama_generate, Proto::ollama_chat, Proto::openai, Proto::anthropic};

bool is_ollama(Proto p) { return p == Proto::ollama_generate || p == Proto::ollama_chat; }

struct Ask {
  std::string user = "hello";
  std::optional<bool> stream;  // absent: not sent
  bool include_usage = false;
  std::string model;           // empty: the protocol's usual one
  std::chrono::milliseconds timeout{5000};

  Ask& user_text(std::string text) { user = std::move(text); return *this; }
  Ask& streaming(bool on) { stream = on; return *this; }
  Ask& with_usage(bool on) { include_usage = on; return *this; }
  Ask& model_name(std::string name) { model = std::move(name); return *this; }
  Ask& timeout_after(std::chrono::milliseconds t) { timeout = t; return *this; }
};

fti::HttpRequest generation_request(const FakeLlmServer& server, Proto p, const Ask& ask) {
  fti::json::Writer w;
  w.begin_object();
  std::string model = ask.model;
  if (model.empty()) {
    model = is_ollama(p) ? "codellama" : p == Proto::openai ? "gpt-4" : "claude-3-opus-20240229";
  }
  w.field("model", model);
  if (p == Proto::ollama_generate) {
    w.field("system", "You clean code.").field("prompt", ask.user);
  } else {
    w.key("messages").begin_array();
    if (p != Proto::anthropic) {
      w.begin_object().field("role", "system").field("content", "You clean code.").end_object();
    }
    w.begin_object().field("role", "user").field("content", ask.user).end_object();
    w.end_array();
  }
  if (p == Proto::anthropic) w.field("system", "You clean code.").field("max_tokens", 2048);
  if (p == Proto::openai) w.field("max_tokens", 2048).field("temperature", 0);
  if (ask.stream) w.field("stream", *ask.stream);
  if (ask.include_usage) w.key("stream_options").begin_object().field("include_usage", true).end_object();
  w.end_object();

  fti::HttpRequest req;
  req.method = "POST";
  req.body = w.take();
  req.total_timeout = ask.timeout;
  req.headers.emplace_back("Content-Type", "application/json");
  switch (p) {
    case Proto::ollama_generate: req.url = server.url() + "/api/generate"; break;
    case Proto::ollama_chat: req.url = server.url() + "/api/chat"; break;
    case Proto::openai:
      req.url = server.url() + "/v1/chat/completions";
      req.headers.emplace_back("Authorization", "Bearer sk-test");
      break;
    case Proto::anthropic:
      req.url = server.url() + "/v1/messages";
      req.headers.emplace_back("x-api-key", "ak-test");
      req.headers.emplace_back("anthropic-version", "2023-06-01");
      break;
  }
  return req;
}

fti::HttpResponse send_ok(const fti::HttpRequest& req) {
  auto r = fti::HttpClient().send(req);
  INFO(req.method << " " << req.url);
  REQUIRE(r.ok());
  return r.value();
}

fti::HttpResponse ask(const FakeLlmServer& server, Proto p, const Ask& a = {}) {
  return send_ok(generation_request(server, p, a));
}

fti::HttpResponse get(const FakeLlmServer& server, const std::string& path) {
  fti::HttpRequest req;
  req.url = server.url() + path;
  req.total_timeout = 5s;
  return send_ok(req);
}

fti::HttpResponse post(const FakeLlmServer& server, const std::string& path, std::string body) {
  fti::HttpRequest req;
  req.method = "POST";
  req.url = server.url() + path;
  req.body = std::move(body);
  req.total_timeout = 5s;
  return send_ok(req);
}

fti::json::Document parse(std::string_view text) {
  auto doc = fti::json::Document::parse(text);
  INFO(text);
  REQUIRE(doc.ok());
  return std::move(doc).value();
}

std::vector<std::string> split_lines(std::string_view body) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < body.size()) {
    std::size_t eol = body.find('\n', pos);
    if (eol == std::string_view::npos) eol = body.size();
    out.emplace_back(body.substr(pos, eol - pos));
    pos = eol + 1;
  }
  return out;
}

struct SseEvent {
  std::string event;  // empty when the block had no event: line
  std::string data;
};

// Server-sent events: blocks separated by blank lines; comment lines are counted, not kept.
std::vector<SseEvent> parse_sse(std::string_view body, int* comments = nullptr) {
  std::vector<SseEvent> out;
  SseEvent current;
  bool any = false;
  for (const auto& line : split_lines(body)) {
    if (line.empty()) {
      if (any) out.push_back(current);
      current = {};
      any = false;
    } else if (line[0] == ':') {
      if (comments) ++*comments;
    } else if (line.rfind("event: ", 0) == 0) {
      current.event = line.substr(7);
      any = true;
    } else if (line.rfind("data: ", 0) == 0) {
      current.data = line.substr(6);
      any = true;
    }
  }
  if (any) out.push_back(current);
  return out;
}

// What a careful client makes of a stream.
struct StreamSummary {
  std::string text;
  bool terminal = false;   // done:true / [DONE] / message_stop
  bool error = false;      // an error object inside the stream
  bool malformed = false;  // a line that is not JSON
  std::string finish;      // in the protocol's own word
  std::int64_t tokens_out = -1;
  int pieces = 0;          // content deltas
};

StreamSummary read_stream(Proto p, std::string_view body) {
  StreamSummary s;
  if (is_ollama(p)) {
    for (const auto& line : split_lines(body)) {
      if (line.empty()) continue;
      auto doc = fti::json::Document::parse(line);
      if (!doc.ok()) {
        s.malformed = true;
        continue;
      }
      auto root = doc->root();
      if (root.get("error")) s.error = true;
      std::optional<std::string> piece = root.get_string("response");
      if (auto message = root.get("message")) piece = message->get_string("content");
      if (piece && !piece->empty()) {
        s.text += *piece;
        ++s.pieces;
      }
      if (root.get_bool("done") == true) {
        s.terminal = true;
        s.finish = root.get_string("done_reason").value_or("");
        s.tokens_out = root.get_int("eval_count").value_or(-1);
      }
    }
    return s;
  }
  for (const auto& e : parse_sse(body)) {
    if (e.data == "[DONE]") {
      s.terminal = true;
      continue;
    }
    auto doc = fti::json::Document::parse(e.data);
    if (!doc.ok()) {
      s.malformed = true;
      continue;
    }
    auto root = doc->root();
    if (p == Proto::openai) {
      if (root.get("error")) s.error = true;
      if (auto usage = root.get("usage"); usage && usage->is_object()) {
        s.tokens_out = usage->get_int("completion_tokens").value_or(-1);
      }
      auto choices = root.get("choices");
      if (!choices || !choices->is_array() || choices->items().empty()) continue;
      auto choice = choices->items()[0];
      if (auto delta = choice.get("delta")) {
        if (auto content = delta->get_string("content"); content && !content->empty()) {
          s.text += *content;
          ++s.pieces;
        }
      }
      if (auto finish = choice.get_string("finish_reason")) s.finish = *finish;
    } else {
      if (e.event == "error") s.error = true;
      if (e.event == "message_stop") s.terminal = true;
      if (e.event == "content_block_delta") {
        if (auto delta = root.get("delta")) {
          s.text += delta->get_string("text").value_or("");
          ++s.pieces;
        }
      }
      if (e.event == "message_delta") {
        s.finish = root.get("delta")->get_string("stop_reason").value_or("");
        s.tokens_out = root.get("usage")->get_int("output_tokens").value_or(-1);
      }
    }
  }
  return s;
}

// The answer text of a non-streamed response, wherever the protocol puts it.
std::optional<std::string> answer_text(Proto p, const fti::json::Value& root) {
  switch (p) {
    case Proto::ollama_generate: return root.get_string("response");
    case Proto::ollama_chat: {
      auto m = root.get("message");
      return m ? m->get_string("content") : std::nullopt;
    }
    case Proto::openai: {
      auto choices = root.get("choices");
      if (!choices || choices->items().empty()) return std::nullopt;
      auto m = choices->items()[0].get("message");
      return m ? m->get_string("content") : std::nullopt;
    }
    case Proto::anthropic: {
      auto content = root.get("content");
      if (!content || content->items().empty()) return std::nullopt;
      return content->items()[0].get_string("text");
    }
  }
  return std::nullopt;
}

// Waits for a condition the server reaches on its own threads (not a sleep-and-hope: the
// deadline only bounds a failure).
void wait_until(const std::function<bool()>& condition, std::chrono::milliseconds limit = 5s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(1ms);
  }
}

// A plain TCP connection, to see the bytes themselves (framing, keep-alive, drops).
class RawConnection {
 public:
  explicit RawConnection(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawConnection() { ::close(fd_); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }
  void send(std::string_view bytes) {
    REQUIRE(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
  }
  // Reads until `until` appears in what was read, or EOF / error / the 5 s receive timeout.
  std::string read_until(std::string_view until) {
    std::string out;
    char buf[4096];
    while (out.find(until) == std::string::npos) {
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        eof_ = true;
        break;
      }
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }
  bool eof() const { return eof_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
};

Behavior with_text(std::string text) {
  Behavior b;
  b.text = std::move(text);
  return b;
}

Behavior of_kind(Kind kind) {
  Behavior b;
  b.kind = kind;
  return b;
}

}  // namespace

TEST_CASE("ollama: non-streamed answers have the documented shape", "[fake_llm]") {
  FakeLlmServer server({});
  server.set_default(with_text("int x = 1;\n"));
  for (Proto p : {Proto::ollama_generate, Proto::ollama_chat}) {
    INFO(proto_name(p));
    auto r = ask(server, p, Ask().user_text("make it nicer").streaming(false));
    CHECK(r.status == 200);
    CHECK(r.header("content-type").rfind("application/json", 0) == 0);
    auto doc = parse(r.body);
    auto root = doc.root();
    CHECK(root.get_string("model") == "codellama");
    REQUIRE(root.get_string("created_at"));
    CHECK(root.get_string("created_at")->back() == 'Z');
    CHECK(answer_text(p, root) == "int x = 1;\n");
    if (p == Proto::ollama_chat) CHECK(root.get("message")->get_string("role") == "assistant");
    CHECK(root.get_bool("done") == true);
    CHECK(root.get_string("done_reason") == "stop");
    for (auto key : {"total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration", "eval_count",
                     "eval_duration"}) {
      INFO(key);
      REQUIRE(root.get_int(key));
      CHECK(*root.get_int(key) >= 1);
    }
    CHECK(root.get_int("eval_count") == 2);  // 11 bytes / 4
  }
}

TEST_CASE("ollama: streams NDJSON by default, done:false lines then a done:true line with counts", "[fake_llm]") {
  FakeLlmServer server({});
  server.set_default(with_text("def f():\n    return 42\n"));
  for (Proto p : {Proto::ollama_generate, Proto::ollama_chat}) {
    INFO(proto_name(p));
    auto r = ask(server, p);  // no "stream" key: Ollama streams
    CHECK(r.status == 200);
    CHECK(r.header("content-type") == "application/x-ndjson");
    CHECK(r.header("transfer-encoding") == "chunked");
    auto lines = split_lines(r.body);
    REQUIRE(lines.size() >= 3);
    for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
      auto doc = parse(lines[i]);
      CHECK(doc.root().get_bool("done") == false);
      CHECK_FALSE(doc.root().get_int("eval_count"));
    }
    auto last = parse(lines.back());
    CHECK(last.root().get_bool("done") == true);
    CHECK(last.root().get_string("done_reason") == "stop");
    CHECK(last.root().get_int("prompt_eval_count").value_or(0) >= 1);
    CHECK(last.root().get_int("eval_count").value_or(0) >= 1);
    auto s = read_stream(p, r.body);
    CHECK(s.text == "def f():\n    return 42\n");
    CHECK(s.pieces == 3);
    CHECK(s.terminal);
  }
}

TEST_CASE("openai: a non-streamed completion has the documented shape", "[fake_llm]") {
  FakeLlmServer server({});
  server.set_default(with_text("x = 1\n"));
  auto r = ask(server, Proto::openai, Ask().user_text(std::string(400, 'a')));
  CHECK(r.status == 200);
  auto doc = parse(r.body);
  auto root = doc.root();
  CHECK(root.get_string("id").value_or("").rfind("chatcmpl-", 0) == 0);
  CHECK(root.get_string("object") == "chat.completion");
  CHECK(root.get_int("created").value_or(0) > 1'700'000'000);
  CHECK(root.get_string("model") == "gpt-4");
  auto choices = root.get("choices")->items();
  REQUIRE(choices.size() == 1);
  CHECK(choices[0].get_int("index") == 0);
  CHECK(choices[0].get("message")->get_string("role") == "assistant");
  CHECK(choices[0].get("message")->get_string("content") == "x = 1\n");
  CHECK(choices[0].get_string("finish_reason") == "stop");
  auto usage = root.get("usage");
  REQUIRE(usage);
  auto in = usage->get_int("prompt_tokens").value_or(0);
  auto out = usage->get_int("completion_tokens").value_or(0);
  CHECK(in >= 100);  // the 400-byte message, roughly bytes / 4
  CHECK(out == 1);
  CHECK(usage->get_int("total_tokens") == in + out);
}

TEST_CASE("openai: a stream has a keep-alive comment, deltas, a finish chunk, usage on request, [DONE]", "[fake_llm]") {
  FakeLlmServer server({});
  server.set_default(with_text("fn main() {}\n"));
  for (bool usage : {false, true}) {
    INFO("include_usage " << usage);
    auto r = ask(server, Proto::openai, Ask().streaming(true).with_usage(usage));
    CHECK(r.status == 200);
    CHECK(r.header("content-type").rfind("text/event-stream", 0) == 0);
    CHECK(r.header("transfer-encoding") == "chunked");
    CHECK(r.body.rfind(": keep-alive\n", 0) == 0);
    int comments = 0;
    auto events = parse_sse(r.body, &comments);
    CHECK(comments == 1);
    REQUIRE(events.size() >= 4);
    CHECK(events.back().data == "[DONE]");
    for (std::size_t i = 0; i + 1 < events.size(); ++i) {
      auto doc = parse(events[i].data);
      CHECK(doc.root().get_string("object") == "chat.completion.chunk");
      CHECK(doc.root().get_string("id").value_or("").rfind("chatcmpl-", 0) == 0);
    }
    auto s = read_stream(Proto::openai, r.body);
    CHECK(s.text == "fn main() {}\n");
    CHECK(s.pieces == 3);
    CHECK(s.finish == "stop");
    CHECK(s.terminal);
    auto before_done = parse(events[events.size() - 2].data);
    if (usage) {
      CHECK(before_done.root().get("choices")->items().empty());
      CHECK(before_done.root().get("usage")->get_int("completion_tokens") == 3);
      CHECK(s.tokens_out == 3);
    } else {
      CHECK_FALSE(before_done.root().get("usage"));
      CHECK(s.tokens_out == -1);
    }
  }
}

TEST_CASE("anthropic: a non-streamed message has the documented shape", "[fake_llm]") {
  FakeLlmServer server({});
  server.set_default(with_text("let a = 1;\n"));
  auto r = ask(server, Proto::anthropic);
  CHECK(r.status == 200);
  auto doc = parse(r.body);
  auto root = doc.root();
  CHECK(root.get_string("id").value_or("").rfind("msg_", 0) == 0);
  CHECK(root.get_string("type") == "message");
  CHECK(root.get_string("role") == "assistant");
  CHECK(root.get_string("model") == "claude-3-opus-20240229");
  auto content = root.get("content")->items();
  REQUIRE(content.size() == 1);
  CHECK(content[0].get_string("type") == "text");
  CHECK(content[0].get_string("text") == "let a = 1;\n");
  CHECK(root.get_string("stop_reason") == "end_turn");
  CHECK(root.get("stop_sequence")->is_null());
  CHECK(root.get("usage")->get_int("input_tokens").value_or(0) >= 1);
  CHECK(root.get("usage")->get_int("output_tokens") == 2);
}

TEST_CASE("anthropic: a stream is message_start .. message_stop with two pings", "[fake_llm]") {
  FakeLlmServer server({});
  server.set_default(with_text("abcdefghi"));
  auto r = ask(server, Proto::anthropic, Ask().streaming(true));
  CHECK(r.status == 200);
  CHECK(r.header("content-type").rfind("text/event-stream", 0) == 0);
  auto events = parse_sse(r.body);
  std::vector<std::string> names;
  for (const auto& e : events) {
    names.push_back(e.event);
    auto doc = parse(e.data);
    CHECK(doc.root().get_string("type") == e.event);  // every data carries its event's type
  }
  CHECK(names == std::vector<std::string>{"message_start", "content_block_start", "ping", "content_block_delta", "ping",
                                          "content_block_delta", "content_block_delta", "content_block_stop",
                                          "message_delta", "message_stop"});
  auto start = parse(events[0].data);
  auto message = start.root().get("message");
  REQUIRE(message);
  CHECK(message->get_string("id").value_or("").rfind("msg_", 0) == 0);
  CHECK(message->get("usage")->get_int("input_tokens").value_or(0) >= 1);
  auto s = read_stream(Proto::anthropic, r.body);
  CHECK(s.text == "abcdefghi");
  CHECK(s.finish == "end_turn");
  CHECK(s.tokens_out == 2);
  CHECK(s.terminal);
}

TEST_CASE("finish_reason length is each protocol's own word", "[fake_llm]") {
  FakeLlmServer server({});
  Behavior b = with_text("truncat");
  b.finish_reason = "length";
  server.set_default(b);
  struct Case {
    Proto proto;
    std::string word;
  };
  for (const auto& c : {Case{Proto::ollama_generate, "length"}, Case{Proto::ollama_chat, "length"},
                        Case{Proto::openai, "length"}, Case{Proto::anthropic, "max_tokens"}}) {
    INFO(proto_name(c.proto));
    auto plain = parse(ask(server, c.proto, Ask().streaming(false)).body);
    auto root = plain.root();
    if (is_ollama(c.proto)) CHECK(root.get_string("done_reason") == c.word);
    if (c.proto == Proto::openai) CHECK(root.get("choices")->items()[0].get_string("finish_reason") == c.word);
    if (c.proto == Proto::anthropic) CHECK(root.get_string("stop_reason") == c.word);
    CHECK(read_stream(c.proto, ask(server, c.proto, Ask().streaming(true).with_usage(true)).body).finish == c.word);
  }
}

TEST_CASE("status: the protocol's error body, with retry-after headers when scripted", "[fake_llm]") {
  FakeLlmServer server({});
  SECTION("429 with retry-after and retry-after-ms") {
    for (Proto p : kAllProtos) {
      INFO(proto_name(p));
      Behavior b = of_kind(Kind::status);
      b.status = 429;
      b.retry_after = "1";
      b.retry_after_ms = "20";
      server.script({b});
      auto r = ask(server, p, Ask().streaming(true));  // an error is never streamed
      CHECK(r.status == 429);
      CHECK(r.header("retry-after") == "1");
      CHECK(r.header("retry-after-ms") == "20");
      CHECK(r.header("content-type") == "application/json");
      auto doc = parse(r.body);
      auto root = doc.root();
      if (is_ollama(p)) CHECK(!root.get_string("error").value_or("").empty());
      if (p == Proto::openai) {
        CHECK(root.get("error")->get_string("code") == "rate_limit_exceeded");
        CHECK(!root.get("error")->get_string("message").value_or("").empty());
        CHECK(root.get("error")->get("param")->is_null());
        CHECK(r.header("x-ratelimit-remaining-requests") == "0");
      }
      if (p == Proto::anthropic) {
        CHECK(root.get_string("type") == "error");
        CHECK(root.get("error")->get_string("type") == "rate_limit_error");
      }
    }
  }
  SECTION("without retry-after there is no such header") {
    Behavior b = of_kind(Kind::status);
    b.status = 503;
    server.script({b});
    auto r = ask(server, Proto::ollama_chat);
    CHECK(r.status == 503);
    CHECK(r.headers.count("retry-after") == 0);
    CHECK(r.headers.count("retry-after-ms") == 0);
    CHECK(parse(r.body).root().get_string("error").value_or("").find("busy") != std::string::npos);
  }
  SECTION("error_type names the error") {
    Behavior quota = of_kind(Kind::status);
    quota.status = 429;
    quota.error_type = "insufficient_quota";
    Behavior overloaded = of_kind(Kind::status);
    overloaded.status = 529;
    overloaded.error_type = "overloaded_error";
    server.script({quota, overloaded});
    auto q = ask(server, Proto::openai);
    CHECK(q.status == 429);
    auto qd = parse(q.body);
    CHECK(qd.root().get("error")->get_string("type") == "insufficient_quota");
    CHECK(qd.root().get("error")->get_string("code") == "insufficient_quota");
    auto o = ask(server, Proto::anthropic);
    CHECK(o.status == 529);
    CHECK(parse(o.body).root().get("error")->get_string("type") == "overloaded_error");
  }
  SECTION("each 5xx the router must survive") {
    for (int status : {500, 502, 503, 529}) {
      INFO(status);
      Behavior b = of_kind(Kind::status);
      b.status = status;
      server.script({b});
      auto r = ask(server, Proto::anthropic);
      CHECK(r.status == status);
      CHECK(parse(r.body).root().get("error")->get_string("type") ==
            (status == 529 ? "overloaded_error" : "api_error"));
    }
  }
}

TEST_CASE("close: the connection drops without a byte", "[fake_llm]") {
  FakeLlmServer server({});
  for (Proto p : kAllProtos) {
    INFO(proto_name(p));
    server.script({of_kind(Kind::close)});
    auto r = fti::HttpClient().send(generation_request(server, p, {}));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "network_error");
  }
  CHECK(server.generation_count() == 4);
  CHECK(ask(server, Proto::openai).status == 200);  // the next one is fine again
}

TEST_CASE("cut_stream: a clean 200 stream without its terminal event", "[fake_llm]") {
  FakeLlmServer server({});
  for (Proto p : kAllProtos) {
    for (bool stream : {true, false}) {  // a cut stream is a stream even when none was asked
      INFO(proto_name(p) << " stream " << stream);
      Behavior b = of_kind(Kind::cut_stream);
      b.text = "abcdefghi";
      server.script({b});
      auto r = ask(server, p, Ask().streaming(stream));  // the transfer ends cleanly: no client error
      CHECK(r.status == 200);
      CHECK(r.header("transfer-encoding") == "chunked");
      auto s = read_stream(p, r.body);
      CHECK(s.text == "abcdef");
      CHECK_FALSE(s.terminal);
      CHECK_FALSE(s.error);
      CHECK_FALSE(s.malformed);
      CHECK(r.body.find("[DONE]") == std::string::npos);
      CHECK(r.body.find("message_stop") == std::string::npos);
      CHECK(r.body.find("\"done\":true") == std::string::npos);
    }
  }
}

TEST_CASE("error_mid_stream: a chunk, then the protocol's error inside the 200 stream", "[fake_llm]") {
  FakeLlmServer server({});
  for (Proto p : kAllProtos) {
    INFO(proto_name(p));
    Behavior b = of_kind(Kind::error_mid_stream);
    b.error_type = p == Proto::anthropic ? "overloaded_error" : "server_error";
    server.script({b});
    auto r = ask(server, p, Ask().user_text("```\nint x;\n```\n").streaming(true));
    CHECK(r.status == 200);
    auto s = read_stream(p, r.body);
    CHECK(s.error);
    CHECK_FALSE(s.terminal);
    CHECK(s.pieces == 1);
    if (is_ollama(p)) {
      auto last = parse(split_lines(r.body).back());
      CHECK(!last.root().get_string("error").value_or("").empty());
    } else {
      auto events = parse_sse(r.body);
      auto last = parse(events.back().data);
      if (p == Proto::openai) {
        CHECK(last.root().get("error")->get_string("type") == "server_error");
      } else {
        CHECK(events.back().event == "error");
        CHECK(last.root().get_string("type") == "error");
        CHECK(last.root().get("error")->get_string("type") == "overloaded_error");
      }
    }
  }
}

TEST_CASE("malformed_json: a body or a stream data line that is not JSON", "[fake_llm]") {
  FakeLlmServer server({});
  for (Proto p : kAllProtos) {
    INFO(proto_name(p));
    server.script({of_kind(Kind::malformed_json), of_kind(Kind::malformed_json)});
    auto plain = ask(server, p, Ask().streaming(false));
    CHECK(plain.status == 200);
    CHECK_FALSE(plain.body.empty());
    CHECK_FALSE(fti::json::Document::parse(plain.body).ok());
    auto streamed = ask(server, p, Ask().streaming(true));
    CHECK(streamed.status == 200);
    CHECK(read_stream(p, streamed.body).malformed);
  }
}

TEST_CASE("empty_body: 200 with Content-Length: 0", "[fake_llm]") {
  FakeLlmServer server({});
  for (Proto p : kAllProtos) {
    INFO(proto_name(p));
    server.script({of_kind(Kind::empty_body)});
    auto r = ask(server, p, Ask().streaming(true));
    CHECK(r.status == 200);
    CHECK(r.header("content-length") == "0");
    CHECK(r.body.empty());
  }
}

TEST_CASE("wrong_shape: valid JSON that is not the protocol's answer", "[fake_llm]") {
  FakeLlmServer server({});
  for (Proto p : kAllProtos) {
    INFO(proto_name(p));
    server.script({of_kind(Kind::wrong_shape), of_kind(Kind::wrong_shape)});
    auto plain = ask(server, p, Ask().streaming(false));
    CHECK(plain.status == 200);
    auto doc = parse(plain.body);
    CHECK_FALSE(answer_text(p, doc.root()));
    CHECK(doc.root().get_int("foo") == 1);
    auto streamed = ask(server, p, Ask().streaming(true));
    auto s = read_stream(p, streamed.body);
    CHECK_FALSE(s.malformed);
    CHECK(s.text.empty());
  }
}

TEST_CASE("not_code: a correct answer whose text is prose", "[fake_llm]") {
  FakeLlmServer server({});
  for (Proto p : kAllProtos) {
    INFO(proto_name(p));
    server.script({of_kind(Kind::not_code)});
    auto r = ask(server, p, Ask().user_text("```\nint x;\n```\n").streaming(false));
    CHECK(r.status == 200);
    auto text = answer_text(p, parse(r.body).root());
    REQUIRE(text);
    CHECK(text->rfind("Sure! Here is a cleaner version", 0) == 0);
  }
}

TEST_CASE("auth: wrong or missing keys get 401 in the protocol's shape and consume no script", "[fake_llm]") {
  FakeLlmServer server({});
  Behavior fail = of_kind(Kind::status);
  fail.status = 500;
  server.script({fail});

  auto openai = generation_request(server, Proto::openai, {});
  openai.headers = {{"Authorization", "Bearer wrong"}};
  auto r = send_ok(openai);
  CHECK(r.status == 401);
  CHECK(parse(r.body).root().get("error")->get_string("code") == "invalid_api_key");
  openai.headers.clear();
  CHECK(send_ok(openai).status == 401);

  auto anthropic = generation_request(server, Proto::anthropic, {});
  anthropic.headers = {{"x-api-key", "wrong"}, {"anthropic-version", "2023-06-01"}};
  r = send_ok(anthropic);
  CHECK(r.status == 401);
  CHECK(parse(r.body).root().get("error")->get_string("type") == "authentication_error");
  anthropic.headers = {{"x-api-key", "ak-test"}};
  r = send_ok(anthropic);
  CHECK(r.status == 400);
  CHECK(parse(r.body).root().get("error")->get_string("type") == "invalid_request_error");

  CHECK(ask(server, Proto::openai).status == 500);  // the script was still there
  CHECK(ask(server, Proto::openai).status == 200);
  CHECK(server.generation_count() == 6);
}

TEST_CASE("ollama: /api/tags lists the models; another model gets 404", "[fake_llm]") {
  FakeLlmServer server({});
  auto tags = parse(get(server, "/api/tags").body);
  auto models = tags.root().get("models")->items();
  REQUIRE(models.size() == 1);
  CHECK(models[0].get_string("name") == "codellama:latest");
  CHECK(parse(get(server, "/api/version").body).root().get_string("version"));

  CHECK(ask(server, Proto::ollama_chat, Ask().model_name("codellama")).status == 200);
  CHECK(ask(server, Proto::ollama_chat, Ask().model_name("codellama:latest")).status == 200);
  auto missing = ask(server, Proto::ollama_generate, Ask().model_name("llama3:8b"));
  CHECK(missing.status == 404);
  CHECK(parse(missing.body).root().get_string("error") == "model \"llama3:8b\" not found, try pulling it first");

  server.set_models({"llama3:8b", "qwen2.5-coder"});
  CHECK(ask(server, Proto::ollama_generate, Ask().model_name("llama3:8b")).status == 200);
  CHECK(ask(server, Proto::ollama_generate, Ask().model_name("qwen2.5-coder:latest")).status == 200);
  CHECK(ask(server, Proto::ollama_generate, Ask().model_name("codellama")).status == 404);
  auto listed = parse(get(server, "/api/tags").body).root().get("models")->items();
  REQUIRE(listed.size() == 2);
  CHECK(listed[1].get_string("name") == "qwen2.5-coder");
}

TEST_CASE("set_down refuses connections and drops open ones; up again on the same port", "[fake_llm]") {
  FakeLlmServer server({});
  auto port = server.port();
  RawConnection idle(port);
  REQUIRE(idle.connected());
  idle.send("GET /api/version HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(idle.read_until("0.5.7").find("200 OK") != std::string::npos);

  server.set_down(true);
  idle.read_until("never");
  CHECK(idle.eof());  // the kept-alive connection was dropped
  auto refused = fti::HttpClient().send(generation_request(server, Proto::openai, {}));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == "network_error");
  CHECK_FALSE(RawConnection(port).connected());

  server.set_down(false);
  CHECK(server.port() == port);
  CHECK(ask(server, Proto::openai).status == 200);
  CHECK(get(server, "/api/tags").status == 200);
}

TEST_CASE("hang: the client times out and a parallel request is answered meanwhile", "[fake_llm]") {
  FakeLlmServer server({});  // one I/O thread: a hang must not hold it
  SECTION("short client timeout") {
    server.script({of_kind(Kind::hang)});
    auto started = std::chrono::steady_clock::now();
    auto r = fti::HttpClient().send(generation_request(server, Proto::ollama_chat, Ask().timeout_after(300ms)));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "timeout");
    CHECK(std::chrono::steady_clock::now() - started >= 250ms);  // curl's clock is coarse
  }
  SECTION("a parallel request") {
    server.script({of_kind(Kind::hang)});
    auto hung = std::async(std::launch::async, [&] {
      return fti::HttpClient().send(generation_request(server, Proto::openai, Ask().timeout_after(1500ms)));
    });
    wait_until([&] { return server.generation_count() == 1; });
    auto r = ask(server, Proto::anthropic, Ask().timeout_after(2000ms));
    CHECK(r.status == 200);
    CHECK(hung.wait_for(0s) == std::future_status::timeout);  // still hanging
    auto h = hung.get();
    REQUIRE_FALSE(h.ok());
    CHECK(h.error().code == "timeout");
  }
}

TEST_CASE("stopping the server does not wait for hanging connections", "[fake_llm]") {
  auto server = std::make_unique<FakeLlmServer>(FakeLlmServer::Options{});
  server->set_default(of_kind(Kind::hang));
  auto make = [&] { return generation_request(*server, Proto::ollama_generate, Ask().timeout_after(20000ms)); };
  auto a = std::async(std::launch::async, [req = make()] { return fti::HttpClient().send(req); });
  auto b = std::async(std::launch::async, [req = make()] { return fti::HttpClient().send(req); });
  wait_until([&] { return server->generation_count() == 2; });
  auto started = std::chrono::steady_clock::now();
  server.reset();
  CHECK(std::chrono::steady_clock::now() - started < 5s);
  for (auto* f : {&a, &b}) {
    auto r = f->get();
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "network_error");  // dropped, not timed out
  }
}

TEST_CASE("delay: nothing arrives before it", "[fake_llm]") {
  FakeLlmServer server({});
  Behavior slow = with_text("x");
  slow.delay = 150ms;
  server.script({slow, slow});
  auto started = std::chrono::steady_clock::now();
  CHECK(ask(server, Proto::openai).status == 200);
  CHECK(std::chrono::steady_clock::now() - started >= 150ms);
  auto r = fti::HttpClient().send(generation_request(server, Proto::openai, Ask().timeout_after(50ms)));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == "timeout");
}

TEST_CASE("echo mode answers with the first fenced block of the last user message", "[fake_llm]") {
  FakeLlmServer server({});
  struct Case {
    std::string user;
    std::string answer;
  };
  const std::vector<Case> cases = {
      {"Clean this:\n```python\ndef f( x ):\n  return x\n```\nThanks", "def f( x ):\n  return x\n"},
      {"```\nint x;\n```", "int x;\n"},
      {"no code here", "ok"},
      {"```js\nlet a;\n```\nand\n```js\nlet b;\n```\n", "let a;\n"},
      {"unclosed\n```c\nint y;\n", "ok"},
  };
  for (const auto& c : cases) {
    for (Proto p : kAllProtos) {
      INFO(proto_name(p) << ": " << c.user);
      CHECK(answer_text(p, parse(ask(server, p, Ask().user_text(c.user).streaming(false)).body).root()) == c.answer);
      CHECK(read_stream(p, ask(server, p, Ask().user_text(c.user).streaming(true)).body).text == c.answer);
    }
  }
  SECTION("the last user message counts, and Anthropic content blocks are read") {
    fti::HttpRequest req = generation_request(server, Proto::anthropic, {});
    req.body = R"({"model":"claude","max_tokens":10,"messages":[)"
               R"({"role":"user","content":"```\nold\n```"},{"role":"assistant","content":"```\nmid\n```"},)"
               R"({"role":"user","content":[{"type":"text","text":"```go\nnew()\n```"}]}]})";
    CHECK(answer_text(Proto::anthropic, parse(send_ok(req).body).root()) == "new()\n");
  }
}

TEST_CASE("a script is consumed in order, then the default; requests are recorded", "[fake_llm]") {
  FakeLlmServer server({});
  server.set_default(with_text("default"));
  server.script({with_text("one"), with_text("two")});
  CHECK(answer_text(Proto::openai, parse(ask(server, Proto::openai).body).root()) == "one");
  CHECK(answer_text(Proto::anthropic, parse(ask(server, Proto::anthropic).body).root()) == "two");
  CHECK(answer_text(Proto::ollama_chat, parse(ask(server, Proto::ollama_chat, Ask().streaming(false)).body).root()) ==
        "default");
  get(server, "/api/tags");  // not a generation
  CHECK(server.generation_count() == 3);

  auto recorded = server.requests();
  REQUIRE(recorded.size() == 4);
  CHECK(recorded[0].method == "POST");
  CHECK(recorded[0].path == "/v1/chat/completions");
  CHECK(recorded[0].headers.at("authorization") == "Bearer sk-test");
  CHECK(parse(recorded[0].body).root().get_string("model") == "gpt-4");
  CHECK(recorded[1].headers.at("anthropic-version") == "2023-06-01");
  CHECK(recorded[3].path == "/api/tags");
  server.clear_requests();
  CHECK(server.requests().empty());

  FakeLlmServer::Options quiet_options;
  quiet_options.record = false;
  FakeLlmServer quiet(quiet_options);
  CHECK(ask(quiet, Proto::openai).status == 200);
  CHECK(quiet.requests().empty());
  CHECK(quiet.generation_count() == 1);
}

TEST_CASE("control endpoints script the server over HTTP", "[fake_llm]") {
  FakeLlmServer server({});
  auto r = post(server, "/_fake/script",
                R"([{"kind":"status","status":503,"error_type":"overloaded","retry_after":"1","retry_after_ms":"20"},)"
                R"({"kind":"ok","text":"scripted","delay_ms":1}])");
  CHECK(r.status == 200);
  CHECK(post(server, "/_fake/default", R"({"kind":"status","status":429})").status == 200);
  CHECK(post(server, "/_fake/models", R"(["a:1","b"])").status == 200);

  auto first = ask(server, Proto::openai);
  CHECK(first.status == 503);
  CHECK(first.header("retry-after-ms") == "20");
  CHECK(parse(first.body).root().get("error")->get_string("type") == "overloaded");
  CHECK(answer_text(Proto::openai, parse(ask(server, Proto::openai).body).root()) == "scripted");
  CHECK(ask(server, Proto::anthropic).status == 429);
  CHECK(ask(server, Proto::ollama_chat, Ask().model_name("b")).status == 429);
  CHECK(ask(server, Proto::ollama_chat, Ask().model_name("codellama")).status == 404);

  CHECK(parse(get(server, "/_fake/stats").body).root().get_int("generations") == 5);
  auto recorded = parse(get(server, "/_fake/requests").body);
  auto items = recorded.root().items();
  REQUIRE(items.size() == 5);  // the control requests themselves are not recorded
  CHECK(items[0].get_string("path") == "/v1/chat/completions");
  CHECK(items[0].get("headers")->get_string("authorization") == "Bearer sk-test");
  CHECK(post(server, "/_fake/script", R"([{"kind":"nonsense"}])").status == 400);
  CHECK(post(server, "/_fake/default", "not json").status == 400);
}

TEST_CASE("wire: keep-alive with pipelining, and a cut stream's chunked framing ends cleanly", "[fake_llm]") {
  FakeLlmServer server({});
  RawConnection c(server.port());
  REQUIRE(c.connected());
  c.send("GET /api/version HTTP/1.1\r\nHost: x\r\n\r\nGET /api/version HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string two;
  while (two.find("0.5.7") == two.rfind("0.5.7")) {  // until the second answer arrived
    auto more = c.read_until("0.5.7");
    REQUIRE_FALSE(c.eof());
    two += more;
  }
  CHECK(two.rfind("HTTP/1.1 200 OK", 0) == 0);

  server.script({of_kind(Kind::cut_stream)});
  std::string body = R"({"model":"gpt-4","stream":true,"messages":[{"role":"user","content":"hi"}]})";
  c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-test\r\n"
         "Content-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body);
  auto cut = c.read_until("\r\n0\r\n\r\n");
  REQUIRE_FALSE(c.eof());
  CHECK(cut.find("Transfer-Encoding: chunked") != std::string::npos);
  CHECK(cut.find("[DONE]") == std::string::npos);
  CHECK(cut.find("finish_reason\":\"stop") == std::string::npos);

  // The connection is still usable after the cut stream.
  c.send("GET /api/version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  auto last = c.read_until("0.5.7");
  CHECK(last.find("Connection: close") != std::string::npos);
  c.read_until("never");
  CHECK(c.eof());
}

TEST_CASE("a large body is read at once (Expect: 100-continue is answered)", "[fake_llm]") {
  FakeLlmServer server({});
  server.set_default(with_text("ok"));
  // curl waits a second for "100 Continue" before sending a large body (over 1 MiB in curl 7.88).
  auto big = Ask().user_text(std::string(2 << 20, 'x')).timeout_after(800ms);
  auto r = fti::HttpClient().send(generation_request(server, Proto::openai, big));
  REQUIRE(r.ok());
  CHECK(r->status == 200);
  REQUIRE(server.requests().size() == 1);
  CHECK(server.requests()[0].headers.count("expect") == 1);  // the case this test is about
  CHECK(server.requests()[0].body.size() > (2u << 20));
}
