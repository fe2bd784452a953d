// The fake LLM server. Requests are read with Beast's parser; responses are written as raw
// bytes so that every failure mode (a cut stream, a hang, a drop) is exactly what we say.
//
// Threads: N threads run one io_context; each connection has its own strand, the acceptor
// has another. The handler that turns a request into a Reply runs on the connection's strand
// and takes one mutex for the scripted behaviours, the models and the recorded requests.
// Nothing blocks an I/O thread: a `delay` is a timer, a `hang` is a read that waits for the
// client to give up.
#include "fakes/fake_llm_server.hpp"

#include "fti/core/asio.hpp"
#include "fti/http/message.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>

#include "fti/core/json.hpp"

namespace fti::fakes {

// Internal, but named: Impl and Session hold these types as members (an anonymous namespace
// would trip GCC's -Wsubobject-linkage).
namespace fake_llm_impl {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Kind = FakeLlmBehavior::Kind;

constexpr std::uint64_t kBodyLimit = 16u << 20;
constexpr std::uint32_t kHeaderLimit = 64u << 10;

constexpr std::string_view kProse =
    "Sure! Here is a cleaner version of your code. I renamed a few variables so that they say "
    "what they hold, removed the unused imports and split the long function in two, which "
    "should make it easier to read and to test. Let me know if you want more changes!";

constexpr std::array<std::pair<Kind, std::string_view>, 10> kKindNames = {{
    {Kind::ok, "ok"},
    {Kind::status, "status"},
    {Kind::hang, "hang"},
    {Kind::close, "close"},
    {Kind::cut_stream, "cut_stream"},
    {Kind::error_mid_stream, "error_mid_stream"},
    {Kind::malformed_json, "malformed_json"},
    {Kind::empty_body, "empty_body"},
    {Kind::wrong_shape, "wrong_shape"},
    {Kind::not_code, "not_code"},
}};

std::string_view to_std(beast::string_view s) { return {s.data(), s.size()}; }

std::string to_lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Wire framing

using Headers = std::vector<std::pair<std::string, std::string>>;

// A response head; without `content_length` the body is chunked.
std::string response_head(int status, std::string_view content_type,
                          std::optional<std::size_t> content_length, const Headers& extra,
                          bool close) {
  std::string out = fmt::format("HTTP/1.1 {} {}\r\nServer: fake-llm\r\nContent-Type: {}\r\n", status,
                                fti::http::reason_phrase(status), content_type);
  if (content_length) {
    out += fmt::format("Content-Length: {}\r\n", *content_length);
  } else {
    out += "Transfer-Encoding: chunked\r\n";
  }
  for (const auto& [name, value] : extra) out += fmt::format("{}: {}\r\n", name, value);
  if (close) out += "Connection: close\r\n";
  out += "\r\n";
  return out;
}

std::string chunk(std::string_view data) { return fmt::format("{:x}\r\n{}\r\n", data.size(), data); }
constexpr std::string_view kLastChunk = "0\r\n\r\n";

std::string sse_data(std::string_view json) { return fmt::format("data: {}\n\n", json); }
std::string sse_event(std::string_view event, std::string_view json) {
  return fmt::format("event: {}\ndata: {}\n\n", event, json);
}

// What a session does with one request.
struct Reply {
  enum class Action { write, hang, close };
  Action action = Action::write;
  std::chrono::milliseconds delay{0};
  std::vector<std::string> pieces;  // raw bytes; each is written (and so flushed) on its own
  bool close_after = false;
};

Reply simple_reply(int status, std::string_view content_type, std::string body, bool close,
                   const Headers& extra = {}) {
  Reply r;
  r.pieces.push_back(response_head(status, content_type, body.size(), extra, close) + body);
  r.close_after = close;
  return r;
}

Reply json_reply(int status, std::string body, bool close, const Headers& extra = {}) {
  return simple_reply(status, "application/json", std::move(body), close, extra);
}

// A chunked stream: the head, one chunk per piece of payload, and (unless cut) the last chunk.
Reply stream_reply(std::string_view content_type, const std::vector<std::string>& payloads,
                   const Headers& extra, bool close) {
  Reply r;
  Headers headers = extra;
  headers.emplace_back("Cache-Control", "no-cache");
  r.pieces.push_back(response_head(200, content_type, std::nullopt, headers, close));
  for (const auto& p : payloads) {
    if (!p.empty()) r.pieces.push_back(chunk(p));
  }
  r.pieces.emplace_back(kLastChunk);
  r.close_after = close;
  return r;
}

// ---------------------------------------------------------------------------------------------
// Protocol content

enum class Protocol { ollama_generate, ollama_chat, openai, anthropic };

bool is_ollama(Protocol p) { return p == Protocol::ollama_generate || p == Protocol::ollama_chat; }

std::string rfc3339_now() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::time_point_cast<std::chrono::seconds>(now);
  auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(now - secs).count();
  std::time_t t = std::chrono::system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, nanos);
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Roughly a token per four bytes, at least one.
std::int64_t token_estimate(std::size_t bytes) {
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(bytes / 4));
}

// One generation request, as far as the answer depends on it.
struct Generation {
  Protocol protocol = Protocol::openai;
  std::string model;
  bool stream = false;
  bool include_usage = false;  // OpenAI stream_options.include_usage
  std::int64_t tokens_in = 1;
  std::string last_user_text;  // for echo mode (the prompt for /api/generate)
  std::string id;
  std::int64_t created = 0;
};

// The text of a message's content: a string, or an array of {type:"text", text} parts.
std::string content_text(const json::Value& content) {
  if (auto s = content.as_string()) return *s;
  std::string out;
  if (content.is_array()) {
    for (const auto& part : content.items()) {
      if (auto t = part.get_string("text")) out += *t;
    }
  }
  return out;
}

// Echo mode: the first ``` block of `text` (after the fence line, up to the closing fence,
// with its trailing newline), or "ok" without one.
std::string echo_answer(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    std::string_view line = text.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    std::size_t lead = line.find_first_not_of(" \t");
    if (lead != std::string_view::npos && line.substr(lead).rfind("```", 0) == 0) {
      if (eol == std::string_view::npos) return "ok";
      std::size_t start = eol + 1;
      std::size_t p = start;
      while (p < text.size()) {
        std::size_t e = text.find('\n', p);
        std::string_view l = text.substr(p, e == std::string_view::npos ? std::string_view::npos : e - p);
        std::size_t ll = l.find_first_not_of(" \t");
        if (ll != std::string_view::npos && l.substr(ll).rfind("```", 0) == 0) {
          return std::string(text.substr(start, p - start));
        }
        if (e == std::string_view::npos) break;
        p = e + 1;
      }
      return "ok";  // an unclosed fence is no block
    }
    if (eol == std::string_view::npos) break;
    pos = eol + 1;
  }
  return "ok";
}

// About three pieces, split on UTF-8 character boundaries; never empty pieces (one "" for "").
std::vector<std::string> split_text(std::string_view text, std::size_t parts = 3) {
  std::vector<std::string> out;
  if (text.empty()) return {std::string()};
  std::size_t step = std::max<std::size_t>(1, (text.size() + parts - 1) / parts);
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = std::min(text.size(), pos + step);
    while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
    out.emplace_back(text.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

std::string protocol_finish(Protocol p, std::string_view finish) {
  if (p == Protocol::anthropic) {
    if (finish == "stop") return "end_turn";
    if (finish == "length") return "max_tokens";
  }
  return std::string(finish);
}

// --- Ollama

std::string ollama_line(const Generation& g, std::string_view content, bool done, std::string_view done_reason,
                        std::int64_t tokens_out) {
  json::Writer w;
  w.begin_object().field("model", g.model).field("created_at", rfc3339_now());
  if (g.protocol == Protocol::ollama_chat) {
    w.key("message").begin_object().field("role", "assistant").field("content", content).end_object();
  } else {
    w.field("response", content);
  }
  w.field("done", done);
  if (done) {
    std::int64_t load = 5'025'959;
    std::int64_t prompt_eval = g.tokens_in * 1'250'000;
    std::int64_t eval = tokens_out * 16'000'000;
    w.field("done_reason", done_reason);
    if (g.protocol == Protocol::ollama_generate) {
      w.key("context").begin_array().value(1).value(2).value(3).end_array();
    }
    w.field("total_duration", load + prompt_eval + eval + 1'000'000)
        .field("load_duration", load)
        .field("prompt_eval_count", g.tokens_in)
        .field("prompt_eval_duration", prompt_eval)
        .field("eval_count", tokens_out)
        .field("eval_duration", eval);
  }
  w.end_object();
  return w.take() + "\n";
}

// --- OpenAI

void openai_head(json::Writer& w, const Generation& g, std::string_view object) {
  w.field("id", g.id).field("object", object).field("created", g.created).field("model", g.model);
  w.field("system_fingerprint", "fp_fake");
}

void openai_usage(json::Writer& w, const Generation& g, std::int64_t tokens_out) {
  w.key("usage")
      .begin_object()
      .field("prompt_tokens", g.tokens_in)
      .field("completion_tokens", tokens_out)
      .field("total_tokens", g.tokens_in + tokens_out)
      .end_object();
}


std::string openai_completion(const Generation& g, std::string_view text, std::string_view finish,
                              std::int64_t tokens_out) {
  json::Writer w;
  w.begin_object();
  openai_head(w, g, "chat.completion");
  w.key("choices").begin_array().begin_object().field("index", 0);
  w.key("message").begin_object().field("role", "assistant").field("content", text);
  w.key("refusal").null().end_object();
  w.key("logprobs").null().field("finish_reason", finish).end_object().end_array();
  openai_usage(w, g, tokens_out);
  w.end_object();
  return w.take();
}

// One streamed chunk: a delta with an optional role and content, and the finish reason or null.
std::string openai_chunk(const Generation& g, std::optional<std::string_view> role,
                         std::optional<std::string_view> content, std::optional<std::string_view> finish) {
  json::Writer w;
  w.begin_object();
  openai_head(w, g, "chat.completion.chunk");
  w.key("choices").begin_array().begin_object().field("index", 0).key("delta").begin_object();
  if (role) w.field("role", *role);
  if (content) w.field("content", *content);
  w.end_object().key("logprobs").null().key("finish_reason");
  if (finish) {
    w.value(*finish);
  } else {
    w.null();
  }
  w.end_object().end_array();
  if (g.include_usage) w.key("usage").null();
  w.end_object();
  return w.take();
}

// The last chunk when the request set stream_options.include_usage: no choices, the usage.
std::string openai_usage_chunk(const Generation& g, std::int64_t tokens_out) {
  json::Writer w;
  w.begin_object();
  openai_head(w, g, "chat.completion.chunk");
  w.key("choices").begin_array().end_array();
  openai_usage(w, g, tokens_out);
  w.end_object();
  return w.take();
}

// --- Anthropic

std::string anthropic_message(const Generation& g, std::optional<std::string_view> text,
                              std::optional<std::string_view> stop_reason, std::int64_t tokens_out) {
  json::Writer w;
  w.begin_object().field("id", g.id).field("type", "message").field("role", "assistant").field("model", g.model);
  w.key("content").begin_array();
  if (text) w.begin_object().field("type", "text").field("text", *text).end_object();
  w.end_array();
  w.key("stop_reason");
  if (stop_reason) {
    w.value(*stop_reason);
  } else {
    w.null();
  }
  w.key("stop_sequence").null();
  w.key("usage").begin_object().field("input_tokens", g.tokens_in).field("output_tokens", tokens_out).end_object();
  w.end_object();
  return w.take();
}

std::string anthropic_delta(std::string_view text) {
  json::Writer w;
  w.begin_object().field("type", "content_block_delta").field("index", 0);
  w.key("delta").begin_object().field("type", "text_delta").field("text", text).end_object();
  w.end_object();
  return w.take();
}

std::string anthropic_message_delta(std::string_view stop_reason, std::int64_t tokens_out) {
  json::Writer w;
  w.begin_object().field("type", "message_delta");
  w.key("delta").begin_object().field("stop_reason", stop_reason).key("stop_sequence").null().end_object();
  w.key("usage").begin_object().field("output_tokens", tokens_out).end_object();
  w.end_object();
  return w.take();
}

// --- Errors, in each protocol's shape

std::string openai_error(std::string_view message, std::string_view type, std::optional<std::string_view> code) {
  json::Writer w;
  w.begin_object().key("error").begin_object().field("message", message).field("type", type);
  w.key("param").null().key("code");
  if (code) {
    w.value(*code);
  } else {
    w.null();
  }
  w.end_object().end_object();
  return w.take();
}

std::string anthropic_error(std::string_view type, std::string_view message) {
  json::Writer w;
  w.begin_object().field("type", "error");
  w.key("error").begin_object().field("type", type).field("message", message).end_object();
  w.end_object();
  return w.take();
}

std::string ollama_error(std::string_view message) {
  json::Writer w;
  w.begin_object().field("error", message).end_object();
  return w.take();
}

std::string anthropic_default_type(int status) {
  switch (status) {
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 413: return "request_too_large";
    case 429: return "rate_limit_error";
    case 529: return "overloaded_error";
    default: return status >= 500 ? "api_error" : "invalid_request_error";
  }
}

std::string openai_default_type(int status) {
  if (status == 429) return "requests";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

std::string default_error_message(Protocol p, int status, std::string_view error_type) {
  if (error_type == "insufficient_quota") {
    return "You exceeded your current quota, please check your plan and billing details.";
  }
  if (is_ollama(p) && !error_type.empty()) return std::string(error_type);
  switch (status) {
    case 400: return "invalid request";
    case 401: return "invalid api key";
    case 404: return "not found";
    case 429: return is_ollama(p) ? "too many requests" : "Rate limit reached for requests. Please try again later.";
    case 503:
      return is_ollama(p) ? "server busy, please try again.  maximum pending requests exceeded"
                          : "The service is temporarily unavailable.";
    case 529: return "Overloaded";
    default:
      if (status >= 500) return "The server had an error while processing your request. Sorry about that!";
      return fmt::format("request failed with status {}", status);
  }
}

// The body of an HTTP error for `status`; an empty `error_type` or `message` gets the default.
std::string error_body(Protocol p, int status, std::string_view error_type, std::string_view message) {
  std::string msg = message.empty() ? default_error_message(p, status, error_type) : std::string(message);
  if (is_ollama(p)) return ollama_error(msg);
  if (p == Protocol::anthropic) {
    return anthropic_error(error_type.empty() ? anthropic_default_type(status) : std::string(error_type), msg);
  }
  if (!error_type.empty()) return openai_error(msg, error_type, error_type);
  std::optional<std::string_view> code;
  if (status == 429) code = "rate_limit_exceeded";
  if (status == 401) code = "invalid_api_key";
  return openai_error(msg, openai_default_type(status), code);
}

// The error object sent inside a 200 stream.
std::string in_stream_error(Protocol p, std::string_view error_type, std::string_view message) {
  if (is_ollama(p)) {
    return ollama_error(message.empty() ? "an error was encountered while running the model: unexpected EOF" : message);
  }
  if (p == Protocol::anthropic) {
    return anthropic_error(error_type.empty() ? "overloaded_error" : error_type,
                           message.empty() ? "Overloaded" : message);
  }
  std::optional<std::string_view> code;
  if (!error_type.empty()) code = error_type;
  constexpr std::string_view kServerError = "The server had an error while processing your request. Sorry about that!";
  return openai_error(message.empty() ? kServerError : message, error_type.empty() ? "server_error" : error_type, code);
}

// ---------------------------------------------------------------------------------------------
// Answers

Headers protocol_headers(const Generation& g) {
  if (g.protocol == Protocol::openai) return {{"x-request-id", "req_" + g.id}, {"openai-processing-ms", "1"}};
  if (g.protocol == Protocol::anthropic) return {{"request-id", "req_" + g.id}};
  return {};
}

std::string_view stream_content_type(Protocol p) {
  return is_ollama(p) ? "application/x-ndjson" : "text/event-stream; charset=utf-8";
}

// What a stream carries, so that the failure modes are variations of one well-formed stream.
struct StreamPlan {
  std::vector<std::string> deltas;             // answer text pieces
  std::optional<std::size_t> malformed_after;  // a data line that is not JSON after this many
  std::string error_json;                      // an in-stream error after the deltas
  bool terminal = true;                        // finish, usage and the end marker
  std::string finish = "stop";                 // "stop" / "length"
  std::int64_t tokens_out = 1;
};

std::vector<std::string> ollama_stream(const Generation& g, const StreamPlan& plan) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < plan.deltas.size(); ++i) {
    if (plan.malformed_after == i) out.emplace_back("{\"response\": oops, this is not json\n");
    out.push_back(ollama_line(g, plan.deltas[i], false, "", 0));
  }
  if (plan.malformed_after == plan.deltas.size()) out.emplace_back("{\"response\": oops, this is not json\n");
  if (!plan.error_json.empty()) out.push_back(plan.error_json + "\n");
  if (plan.terminal) out.push_back(ollama_line(g, "", true, protocol_finish(g.protocol, plan.finish), plan.tokens_out));
  return out;
}

std::vector<std::string> openai_stream(const Generation& g, const StreamPlan& plan) {
  constexpr std::string_view kMalformed =
      "data: {\"id\": \"chatcmpl-broken\", \"choices\": [{\"delta\": {\"content\": \n\n";
  std::vector<std::string> out;
  out.emplace_back(": keep-alive\n\n");
  out.push_back(sse_data(openai_chunk(g, "assistant", "", std::nullopt)));
  for (std::size_t i = 0; i < plan.deltas.size(); ++i) {
    if (plan.malformed_after == i) out.emplace_back(kMalformed);
    out.push_back(sse_data(openai_chunk(g, std::nullopt, plan.deltas[i], std::nullopt)));
  }
  if (plan.malformed_after == plan.deltas.size()) out.emplace_back(kMalformed);
  if (!plan.error_json.empty()) out.push_back(sse_data(plan.error_json));
  if (plan.terminal) {
    out.push_back(sse_data(openai_chunk(g, std::nullopt, std::nullopt, protocol_finish(g.protocol, plan.finish))));
    if (g.include_usage) out.push_back(sse_data(openai_usage_chunk(g, plan.tokens_out)));
    out.emplace_back("data: [DONE]\n\n");
  }
  return out;
}

std::vector<std::string> anthropic_stream(const Generation& g, const StreamPlan& plan) {
  constexpr std::string_view kMalformed =
      "event: content_block_delta\ndata: {\"type\": \"content_block_delta\", \"delta\": {\"text\": \n\n";
  constexpr std::string_view kPing = "event: ping\ndata: {\"type\": \"ping\"}\n\n";
  std::vector<std::string> out;
  out.push_back(sse_event("message_start", "{\"type\":\"message_start\",\"message\":" +
                                               anthropic_message(g, std::nullopt, std::nullopt, 1) + "}"));
  out.push_back(sse_event("content_block_start",
                          R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})"));
  out.emplace_back(kPing);
  for (std::size_t i = 0; i < plan.deltas.size(); ++i) {
    if (plan.malformed_after == i) out.emplace_back(kMalformed);
    out.push_back(sse_event("content_block_delta", anthropic_delta(plan.deltas[i])));
    if (i == 0) out.emplace_back(kPing);  // the second ping, between the deltas
  }
  if (plan.malformed_after == plan.deltas.size()) out.emplace_back(kMalformed);
  if (!plan.error_json.empty()) out.push_back(sse_event("error", plan.error_json));
  if (plan.terminal) {
    out.push_back(sse_event("content_block_stop", R"({"type":"content_block_stop","index":0})"));
    out.push_back(sse_event("message_delta",
                            anthropic_message_delta(protocol_finish(g.protocol, plan.finish), plan.tokens_out)));
    out.push_back(sse_event("message_stop", R"({"type":"message_stop"})"));
  }
  return out;
}

Reply stream_answer(const Generation& g, const StreamPlan& plan, bool close) {
  std::vector<std::string> payloads;
  if (is_ollama(g.protocol)) {
    payloads = ollama_stream(g, plan);
  } else if (g.protocol == Protocol::openai) {
    payloads = openai_stream(g, plan);
  } else {
    payloads = anthropic_stream(g, plan);
  }
  return stream_reply(stream_content_type(g.protocol), payloads, protocol_headers(g), close);
}

Reply full_answer(const Generation& g, std::string_view text, std::string_view finish, bool close) {
  std::int64_t tokens_out = token_estimate(text.size());
  std::string word = protocol_finish(g.protocol, finish);
  if (g.stream) {
    StreamPlan plan;
    plan.deltas = split_text(text);
    plan.finish = std::string(finish);
    plan.tokens_out = tokens_out;
    return stream_answer(g, plan, close);
  }
  std::string body;
  if (is_ollama(g.protocol)) {
    body = ollama_line(g, text, true, word, tokens_out);
    body.pop_back();  // the newline that ends a stream line
  } else if (g.protocol == Protocol::openai) {
    body = openai_completion(g, text, word, tokens_out);
  } else {
    body = anthropic_message(g, text, word, tokens_out);
  }
  return json_reply(200, std::move(body), close, protocol_headers(g));
}

Reply wrong_shape_answer(const Generation& g, bool close) {
  constexpr std::string_view kShape = R"({"foo":1})";
  if (!g.stream) return json_reply(200, std::string(kShape), close, protocol_headers(g));
  std::vector<std::string> payloads;
  if (is_ollama(g.protocol)) {
    payloads = {std::string(kShape) + "\n"};
  } else if (g.protocol == Protocol::openai) {
    payloads = {sse_data(kShape), "data: [DONE]\n\n"};
  } else {
    payloads = {sse_event("message_start", kShape), sse_event("content_block_delta", kShape),
                sse_event("message_stop", kShape)};
  }
  return stream_reply(stream_content_type(g.protocol), payloads, protocol_headers(g), close);
}

Reply status_answer(const Generation& g, const FakeLlmBehavior& b, bool close) {
  Headers headers = protocol_headers(g);
  if (b.retry_after) headers.emplace_back("retry-after", *b.retry_after);
  if (b.retry_after_ms) headers.emplace_back("retry-after-ms", *b.retry_after_ms);
  if (b.status == 429 && g.protocol == Protocol::openai) {
    headers.emplace_back("x-ratelimit-limit-requests", "60");
    headers.emplace_back("x-ratelimit-remaining-requests", "0");
    headers.emplace_back("x-ratelimit-reset-requests", "1s");
  }
  if (b.status == 429 && g.protocol == Protocol::anthropic) {
    headers.emplace_back("anthropic-ratelimit-requests-limit", "60");
    headers.emplace_back("anthropic-ratelimit-requests-remaining", "0");
  }
  return json_reply(b.status, error_body(g.protocol, b.status, b.error_type, b.text), close, headers);
}

// The answer text of ok-like behaviours: the scripted text, or the echo of the request.
std::string answer_text(const Generation& g, const FakeLlmBehavior& b) {
  return b.text.empty() ? echo_answer(g.last_user_text) : b.text;
}

Reply behave(const Generation& g, const FakeLlmBehavior& b, bool close) {
  Reply r;
  switch (b.kind) {
    case Kind::ok:
      r = full_answer(g, answer_text(g, b), b.finish_reason, close);
      break;
    case Kind::not_code:
      r = full_answer(g, b.text.empty() ? std::string(kProse) : b.text, b.finish_reason, close);
      break;
    case Kind::status:
      r = status_answer(g, b, close);
      break;
    case Kind::hang:
      r.action = Reply::Action::hang;
      break;
    case Kind::close:
      r.action = Reply::Action::close;
      break;
    case Kind::cut_stream: {
      StreamPlan plan;
      plan.deltas = split_text(answer_text(g, b));
      if (plan.deltas.size() > 2) plan.deltas.resize(2);
      plan.terminal = false;
      r = stream_answer(g, plan, close);
      break;
    }
    case Kind::error_mid_stream: {
      StreamPlan plan;
      plan.deltas = split_text(echo_answer(g.last_user_text));
      plan.deltas.resize(1);
      plan.error_json = in_stream_error(g.protocol, b.error_type, b.text);
      plan.terminal = false;
      r = stream_answer(g, plan, close);
      break;
    }
    case Kind::malformed_json: {
      if (!g.stream) {
        r = json_reply(200, R"({"id": "broken", "choices": [{"message": {"content": "unterminated)", close,
                       protocol_headers(g));
        break;
      }
      std::string text = answer_text(g, b);
      StreamPlan plan;
      plan.deltas = split_text(text);
      plan.malformed_after = 1;
      plan.finish = b.finish_reason;
      plan.tokens_out = token_estimate(text.size());
      r = stream_answer(g, plan, close);
      break;
    }
    case Kind::empty_body:
      r = json_reply(200, "", close, protocol_headers(g));
      break;
    case Kind::wrong_shape:
      r = wrong_shape_answer(g, close);
      break;
  }
  r.delay = b.delay;
  return r;
}

class Session;

}  // namespace fake_llm_impl

using namespace fake_llm_impl;  // NOLINT(google-build-using-namespace): this file's own helpers

std::string_view fake_llm_kind_name(FakeLlmBehavior::Kind kind) {
  for (const auto& [k, name] : kKindNames) {
    if (k == kind) return name;
  }
  return "?";
}

std::optional<FakeLlmBehavior::Kind> parse_fake_llm_kind(std::string_view name) {
  for (const auto& [k, n] : kKindNames) {
    if (n == name) return k;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// The server

struct FakeLlmServer::Impl {
  explicit Impl(Options o);
  void shutdown();

  // Runs `f` on the acceptor's strand and waits; rethrows what it throws. Not from an I/O thread.
  template <class F>
  void on_acceptor(F f);
  void open_acceptor();  // on the acceptor's strand (or before the threads start)
  void do_accept(std::uint64_t generation);
  void on_accept(std::uint64_t generation, beast::error_code ec, tcp::socket socket);
  void set_down(bool d);
  void drop_sessions();  // closes every open connection and waits until they are closed

  FakeLlmBehavior next_behavior();
  Reply handle(bhttp::request<bhttp::string_body>& req);
  Reply handle_generation(Protocol protocol, const bhttp::request<bhttp::string_body>& req, bool close);
  Reply handle_control(const bhttp::request<bhttp::string_body>& req, std::string_view path, bool close);
  std::string tags_json() const;
  std::string requests_json() const;

  const Options options;
  std::string url;
  std::uint16_t port = 0;

  // Scripted behaviour, models and recordings: guarded by `mutex`.
  mutable std::mutex mutex;
  std::deque<FakeLlmBehavior> script;
  FakeLlmBehavior default_behavior;
  std::vector<std::string> models;
  std::vector<RecordedRequest> recorded;
  std::atomic<std::size_t> generations{0};
  std::atomic<std::uint64_t> next_id{0};

  // Open connections, to drop them when going down or stopping.
  std::mutex sessions_mutex;
  std::unordered_map<std::uint64_t, std::weak_ptr<Session>> sessions;
  std::uint64_t next_session = 0;

  // Declared after the state above so that it is destroyed first: the handlers it destroys
  // hold sessions, which unregister themselves.
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  asio::strand<asio::io_context::executor_type> accept_strand;
  tcp::endpoint endpoint;  // the port is fixed by the first bind
  // The rest is used on accept_strand only.
  asio::steady_timer accept_retry{accept_strand};  // after an accept error (e.g. out of files)
  std::optional<tcp::acceptor> acceptor;
  std::uint64_t accept_generation = 0;  // bumped on every open and close: stale accepts are dropped
  bool down = false;
  std::vector<std::thread> threads;
};

namespace fake_llm_impl {

// One connection: read a request, answer it as its Reply says, repeat while kept alive.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(FakeLlmServer::Impl& server, tcp::socket socket, std::uint64_t id)
      : server_(server), socket_(std::move(socket)), timer_(socket_.get_executor()), id_(id) {}

  ~Session() {
    std::lock_guard lock(server_.sessions_mutex);
    server_.sessions.erase(id_);
  }

  void start() {
    {
      std::lock_guard lock(server_.sessions_mutex);
      server_.sessions[id_] = weak_from_this();
    }
    asio::dispatch(socket_.get_executor(), beast::bind_front_handler(&Session::read_header, shared_from_this()));
  }

  // From any thread: close the connection on its strand; `done` runs after.
  void stop(std::function<void()> done) {
    asio::post(socket_.get_executor(), [self = shared_from_this(), done = std::move(done)] {
      self->close();
      done();
    });
  }

 private:
  void read_header() {
    parser_.emplace();
    parser_->body_limit(kBodyLimit);
    parser_->header_limit(kHeaderLimit);
    bhttp::async_read_header(socket_, buffer_, *parser_,
                             beast::bind_front_handler(&Session::on_header, shared_from_this()));
  }

  void on_header(beast::error_code ec, std::size_t) {
    if (ec) return close();
    // curl waits a second for "100 Continue" before sending a larger body.
    auto expect = parser_->get()[bhttp::field::expect];
    if (!parser_->is_done() && beast::iequals(expect, "100-continue")) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      asio::async_write(socket_, asio::buffer(kContinue.data(), kContinue.size()),
                        [self = shared_from_this()](beast::error_code wec, std::size_t) {
                          if (wec) return self->close();
                          self->read_body();
                        });
      return;
    }
    read_body();
  }

  void read_body() {
    if (parser_->is_done()) return respond();
    bhttp::async_read(socket_, buffer_, *parser_, beast::bind_front_handler(&Session::on_body, shared_from_this()));
  }

  void on_body(beast::error_code ec, std::size_t) {
    if (ec) return close();
    respond();
  }

  void respond() {
    auto request = parser_->release();
    parser_.reset();
    reply_ = server_.handle(request);
    if (server_.options.coalesce && reply_.pieces.size() > 1) {
      std::string whole;
      for (const auto& piece : reply_.pieces) whole += piece;
      reply_.pieces.assign(1, std::move(whole));
    }
    if (reply_.delay.count() <= 0) return act();
    timer_.expires_after(reply_.delay);
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec && self->socket_.is_open()) self->act();
    });
  }

  void act() {
    switch (reply_.action) {
      case Reply::Action::hang:
        return drain();
      case Reply::Action::close:
        return close();
      case Reply::Action::write:
        next_piece_ = 0;
        return write_next();
    }
  }

  void write_next() {
    if (next_piece_ == reply_.pieces.size()) {
      if (reply_.close_after) return close();
      reply_ = Reply();
      return read_header();
    }
    const std::string& piece = reply_.pieces[next_piece_];
    asio::async_write(socket_, asio::buffer(piece), beast::bind_front_handler(&Session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec) return close();
    ++next_piece_;
    write_next();
  }

  // A hanging answer: keep the connection and discard what arrives until the client gives up.
  void drain() {
    socket_.async_read_some(asio::buffer(drain_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->close();
      self->drain();
    });
  }

  void close() {
    beast::error_code ec;
    timer_.cancel();
    if (!socket_.is_open()) return;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }

  FakeLlmServer::Impl& server_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  const std::uint64_t id_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  Reply reply_;
  std::size_t next_piece_ = 0;
  std::array<char, 4096> drain_{};
};

bool has_model(const std::vector<std::string>& models, std::string_view name) {
  constexpr std::string_view kLatest = ":latest";
  for (const auto& m : models) {
    if (m == name) return true;
    if (m.size() == name.size() + kLatest.size() && m.rfind(name, 0) == 0 && m.ends_with(kLatest)) return true;
    if (name.ends_with(kLatest) && m == name.substr(0, name.size() - kLatest.size())) return true;
  }
  return false;
}

std::optional<Protocol> generation_protocol(std::string_view path) {
  if (path == "/api/generate") return Protocol::ollama_generate;
  if (path == "/api/chat") return Protocol::ollama_chat;
  if (path == "/v1/chat/completions") return Protocol::openai;
  if (path == "/v1/messages") return Protocol::anthropic;
  return std::nullopt;
}

Result<FakeLlmBehavior> parse_behavior(const json::Value& v) {
  if (!v.is_object()) return Error(errc::bad_request, "a behaviour is a JSON object");
  FakeLlmBehavior b;
  if (auto kind = v.get_string("kind")) {
    auto k = parse_fake_llm_kind(*kind);
    if (!k) return Error(errc::bad_request, fmt::format("unknown behaviour kind \"{}\"", *kind));
    b.kind = *k;
    if (b.kind == Kind::status) b.status = 500;
  }
  if (auto status = v.get_int("status")) b.status = static_cast<int>(*status);
  if (auto s = v.get_string("text")) b.text = *s;
  if (auto s = v.get_string("error_type")) b.error_type = *s;
  if (auto s = v.get_string("retry_after")) b.retry_after = *s;
  if (auto n = v.get_int("retry_after")) b.retry_after = std::to_string(*n);
  if (auto s = v.get_string("retry_after_ms")) b.retry_after_ms = *s;
  if (auto n = v.get_int("retry_after_ms")) b.retry_after_ms = std::to_string(*n);
  if (auto n = v.get_int("delay_ms")) b.delay = std::chrono::milliseconds(*n);
  if (auto s = v.get_string("finish_reason")) b.finish_reason = *s;
  return b;
}

}  // namespace fake_llm_impl

// --- Impl: lifecycle

FakeLlmServer::Impl::Impl(Options o)
    : options(std::move(o)),
      models(options.models),
      work(asio::make_work_guard(ioc)),
      accept_strand(asio::make_strand(ioc)) {
  std::string host = options.host == "localhost" ? "127.0.0.1" : options.host;
  beast::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) throw std::runtime_error(fmt::format("fake LLM server: bad host \"{}\": {}", options.host, ec.message()));
  endpoint = tcp::endpoint(address, options.port);
  try {
    open_acceptor();  // no threads yet: nothing else touches the acceptor
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("fake LLM server: cannot listen on {}:{}: {}", host, options.port, e.what()));
  }
  port = endpoint.port();
  url = address.is_v6() ? fmt::format("http://[{}]:{}", host, endpoint.port())
                        : fmt::format("http://{}:{}", host, endpoint.port());
  int n = std::max(1, options.threads);
  threads.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) threads.emplace_back([this] { ioc.run(); });
}

void FakeLlmServer::Impl::shutdown() {
  on_acceptor([this] {
    down = true;
    ++accept_generation;
    acceptor.reset();  // closes it, cancelling the pending accept
  });
  drop_sessions();
  work.reset();
  ioc.stop();
  for (auto& t : threads) t.join();
  threads.clear();
}

template <class F>
void FakeLlmServer::Impl::on_acceptor(F f) {
  std::promise<void> done;
  auto future = done.get_future();
  asio::post(accept_strand, [&f, &done] {
    try {
      f();
      done.set_value();
    } catch (...) {
      done.set_exception(std::current_exception());
    }
  });
  future.get();
}

void FakeLlmServer::Impl::open_acceptor() {
  tcp::acceptor a(accept_strand);
  a.open(endpoint.protocol());
  a.set_option(asio::socket_base::reuse_address(true));
  a.bind(endpoint);
  a.listen(asio::socket_base::max_listen_connections);
  endpoint = a.local_endpoint();
  acceptor.emplace(std::move(a));
  do_accept(++accept_generation);
}

void FakeLlmServer::Impl::do_accept(std::uint64_t generation) {
  acceptor->async_accept(asio::make_strand(ioc), [this, generation](beast::error_code ec, tcp::socket socket) {
    on_accept(generation, ec, std::move(socket));
  });
}

void FakeLlmServer::Impl::on_accept(std::uint64_t generation, beast::error_code ec, tcp::socket socket) {
  if (generation != accept_generation || down || !acceptor) return;  // closed since: drop it
  if (ec == asio::error::operation_aborted) return;
  if (!ec) {
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);  // stream pieces go out at once
    std::uint64_t id;
    {
      std::lock_guard lock(sessions_mutex);
      id = ++next_session;
    }
    std::make_shared<Session>(*this, std::move(socket), id)->start();
    return do_accept(generation);
  }
  accept_retry.expires_after(std::chrono::milliseconds(10));  // do not spin on a lasting error
  accept_retry.async_wait([this, generation](beast::error_code wait_ec) {
    if (!wait_ec && generation == accept_generation && acceptor) do_accept(generation);
  });
}

void FakeLlmServer::Impl::set_down(bool d) {
  on_acceptor([this, d] {
    if (d == down) return;
    if (d) {
      down = true;
      ++accept_generation;
      acceptor.reset();
    } else {
      open_acceptor();  // throws when the port was taken meanwhile; then it stays down
      down = false;
    }
  });
  if (d) drop_sessions();
}

void FakeLlmServer::Impl::drop_sessions() {
  std::vector<std::shared_ptr<Session>> open;
  {
    std::lock_guard lock(sessions_mutex);
    for (auto& [id, weak] : sessions) {
      if (auto s = weak.lock()) open.push_back(std::move(s));
    }
  }
  if (open.empty()) return;
  std::mutex m;
  std::condition_variable cv;
  std::size_t remaining = open.size();
  for (auto& s : open) {
    s->stop([&] {
      std::lock_guard lock(m);
      if (--remaining == 0) cv.notify_all();
    });
  }
  std::unique_lock lock(m);
  cv.wait(lock, [&] { return remaining == 0; });
}

// --- Impl: requests

FakeLlmBehavior FakeLlmServer::Impl::next_behavior() {
  std::lock_guard lock(mutex);
  if (script.empty()) return default_behavior;
  FakeLlmBehavior b = std::move(script.front());
  script.pop_front();
  return b;
}

Reply FakeLlmServer::Impl::handle(bhttp::request<bhttp::string_body>& req) {
  bool close = !req.keep_alive();
  std::string_view target = to_std(req.target());
  std::string_view path = target.substr(0, target.find('?'));
  if (path.rfind("/_fake/", 0) == 0) return handle_control(req, path, close);
  if (options.record) {
    RecordedRequest r;
    r.method = std::string(to_std(req.method_string()));
    r.path = std::string(target);
    for (const auto& field : req) r.headers[to_lower(to_std(field.name_string()))] = std::string(to_std(field.value()));
    r.body = req.body();
    std::lock_guard lock(mutex);
    recorded.push_back(std::move(r));
  }
  bool get = req.method() == bhttp::verb::get;
  if (auto protocol = generation_protocol(path)) {
    if (req.method() != bhttp::verb::post) return simple_reply(405, "text/plain", "405 method not allowed", close);
    return handle_generation(*protocol, req, close);
  }
  if (path == "/api/tags" && get) return json_reply(200, tags_json(), close);
  if (path == "/api/version" && get) return json_reply(200, R"({"version":"0.5.7"})", close);
  if (path == "/" && get) return simple_reply(200, "text/plain; charset=utf-8", "Ollama is running", close);
  return simple_reply(404, "text/plain", "404 page not found", close);
}

Reply FakeLlmServer::Impl::handle_generation(Protocol protocol, const bhttp::request<bhttp::string_body>& req,
                                             bool close) {
  ++generations;
  auto fail = [&](int status, std::string_view type, std::string_view message) {
    return json_reply(status, error_body(protocol, status, type, message), close);
  };
  if (protocol == Protocol::openai) {
    auto auth = to_std(req[bhttp::field::authorization]);
    if (auth != "Bearer " + options.openai_key) {
      return json_reply(401,
                        openai_error(auth.empty() ? "You didn't provide an API key." : "Incorrect API key provided.",
                                     "invalid_request_error", "invalid_api_key"),
                        close);
    }
  }
  if (protocol == Protocol::anthropic) {
    if (to_std(req["x-api-key"]) != options.anthropic_key) {
      return fail(401, "authentication_error", "invalid x-api-key");
    }
    if (req["anthropic-version"].empty()) {
      return fail(400, "invalid_request_error", "anthropic-version: header is required");
    }
  }
  auto doc = json::Document::parse(req.body());
  if (!doc.ok() || !doc->root().is_object()) return fail(400, "invalid_request_error", "the body is not a JSON object");
  json::Value root = doc->root();

  Generation g;
  g.protocol = protocol;
  g.model = root.get_string("model").value_or("");
  if (g.model.empty()) return fail(400, "invalid_request_error", "model is required");
  if (is_ollama(protocol)) {
    std::lock_guard lock(mutex);
    if (!has_model(models, g.model)) {
      return fail(404, "", fmt::format("model \"{}\" not found, try pulling it first", g.model));
    }
  }
  g.stream = root.get_bool("stream").value_or(is_ollama(protocol));
  if (auto options_v = root.get("stream_options"); options_v && protocol == Protocol::openai) {
    g.include_usage = options_v->get_bool("include_usage").value_or(false);
  }

  std::size_t input_bytes = 0;
  if (auto system = root.get("system")) {
    input_bytes += content_text(*system).size();
  }
  if (protocol == Protocol::ollama_generate) {
    g.last_user_text = root.get_string("prompt").value_or("");
    input_bytes += g.last_user_text.size();
  } else {
    auto messages = root.get("messages");
    if (!messages || !messages->is_array()) return fail(400, "invalid_request_error", "messages: Field required");
    for (const auto& m : messages->items()) {
      auto content = m.get("content");
      std::string text = content ? content_text(*content) : std::string();
      input_bytes += text.size();
      if (m.get_string("role") == "user") g.last_user_text = std::move(text);
    }
  }
  if (protocol == Protocol::anthropic && !root.get_int("max_tokens")) {
    return fail(400, "invalid_request_error", "max_tokens: Field required");
  }
  g.tokens_in = token_estimate(input_bytes);
  std::uint64_t n = ++next_id;
  g.id = protocol == Protocol::anthropic ? fmt::format("msg_fake{:06}", n) : fmt::format("chatcmpl-fake{:06}", n);
  g.created = unix_now();
  return behave(g, next_behavior(), close);
}

std::string FakeLlmServer::Impl::tags_json() const {
  std::vector<std::string> names;
  {
    std::lock_guard lock(mutex);
    names = models;
  }
  json::Writer w;
  w.begin_object().key("models").begin_array();
  for (const auto& name : names) {
    std::string digest = fmt::format("{:016x}", std::hash<std::string>{}(name));
    w.begin_object()
        .field("name", name)
        .field("model", name)
        .field("modified_at", "2024-01-01T00:00:00Z")
        .field("size", std::int64_t{3'825'819'519})
        .field("digest", digest + digest + digest + digest);
    w.key("details")
        .begin_object()
        .field("parent_model", "")
        .field("format", "gguf")
        .field("family", "llama")
        .key("families")
        .begin_array()
        .value("llama")
        .end_array()
        .field("parameter_size", "7B")
        .field("quantization_level", "Q4_0")
        .end_object();
    w.end_object();
  }
  w.end_array().end_object();
  return w.take();
}

std::string FakeLlmServer::Impl::requests_json() const {
  std::lock_guard lock(mutex);
  json::Writer w;
  w.begin_array();
  for (const auto& r : recorded) {
    w.begin_object().field("method", r.method).field("path", r.path).key("headers").begin_object();
    for (const auto& [name, value] : r.headers) w.field(name, value);
    w.end_object().field("body", r.body).end_object();
  }
  w.end_array();
  return w.take();
}

Reply FakeLlmServer::Impl::handle_control(const bhttp::request<bhttp::string_body>& req, std::string_view path,
                                          bool close) {
  auto bad = [&](std::string_view message) { return json_reply(400, ollama_error(message), close); };
  auto ok = [&] { return json_reply(200, R"({"ok":true})", close); };
  auto method = req.method();
  if (method == bhttp::verb::get && path == "/_fake/requests") return json_reply(200, requests_json(), close);
  if (method == bhttp::verb::delete_ && path == "/_fake/requests") {
    std::lock_guard lock(mutex);
    recorded.clear();
    return json_reply(200, R"({"ok":true})", close);
  }
  if (method == bhttp::verb::get && path == "/_fake/stats") {
    return json_reply(200, fmt::format(R"({{"generations":{}}})", generations.load()), close);
  }
  if (method != bhttp::verb::post) return simple_reply(404, "text/plain", "404 page not found", close);
  auto doc = json::Document::parse(req.body());
  if (!doc.ok()) return bad("the body is not JSON");
  json::Value root = doc->root();
  if (path == "/_fake/script") {
    if (!root.is_array()) return bad("expected a JSON array of behaviours");
    std::deque<FakeLlmBehavior> next;
    for (const auto& item : root.items()) {
      auto b = parse_behavior(item);
      if (!b.ok()) return bad(b.error().message);
      next.push_back(std::move(b).value());
    }
    std::lock_guard lock(mutex);
    script = std::move(next);
    return ok();
  }
  if (path == "/_fake/default") {
    auto b = parse_behavior(root);
    if (!b.ok()) return bad(b.error().message);
    std::lock_guard lock(mutex);
    default_behavior = std::move(b).value();
    return ok();
  }
  if (path == "/_fake/models") {
    if (!root.is_array()) return bad("expected a JSON array of model names");
    std::vector<std::string> names;
    for (const auto& item : root.items()) {
      auto name = item.as_string();
      if (!name) return bad("model names are strings");
      names.push_back(*name);
    }
    std::lock_guard lock(mutex);
    models = std::move(names);
    return ok();
  }
  return simple_reply(404, "text/plain", "404 page not found", close);
}

// --- FakeLlmServer

FakeLlmServer::FakeLlmServer(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {}

FakeLlmServer::~FakeLlmServer() { impl_->shutdown(); }

std::uint16_t FakeLlmServer::port() const { return impl_->port; }

std::string FakeLlmServer::url() const { return impl_->url; }

void FakeLlmServer::script(std::vector<FakeLlmBehavior> next) {
  std::lock_guard lock(impl_->mutex);
  impl_->script.assign(std::make_move_iterator(next.begin()), std::make_move_iterator(next.end()));
}

void FakeLlmServer::set_default(FakeLlmBehavior behavior) {
  std::lock_guard lock(impl_->mutex);
  impl_->default_behavior = std::move(behavior);
}

void FakeLlmServer::set_models(std::vector<std::string> models) {
  std::lock_guard lock(impl_->mutex);
  impl_->models = std::move(models);
}

void FakeLlmServer::set_down(bool down) { impl_->set_down(down); }

std::vector<RecordedRequest> FakeLlmServer::requests() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->recorded;
}

std::size_t FakeLlmServer::generation_count() const { return impl_->generations.load(); }

void FakeLlmServer::clear_requests() {
  std::lock_guard lock(impl_->mutex);
  impl_->recorded.clear();
}

}  // namespace fti::fakes
