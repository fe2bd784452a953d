#include "provider_common.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <fmt/format.h>

#include "fti/core/json.hpp"
#include "stream_parsers.hpp"

namespace fti::llm {
namespace {

constexpr std::size_t kMaxMessageBytes = 300;

constexpr std::array<std::string_view, 7> kFailureKindNames = {
    "transport", "rate_limited", "overloaded", "spend_limit", "auth", "bad_request", "protocol"};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

// A whole-string non-negative decimal number, or nothing.
std::optional<double> parse_number(std::string_view text) {
  text = trim(text);
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  if (!std::isfinite(value) || value < 0) return std::nullopt;
  return value;
}

// "type: message" from an error object, either part optional.
std::string describe_error_object(const json::Value& error) {
  auto message = error.get_string("message").value_or("");
  auto type = error.get_string("type").value_or("");
  if (type.empty() || message.empty()) return message.empty() ? type : message;
  return fmt::format("{}: {}", type, message);
}

// OpenAI says insufficient_quota in error.code or error.type; others say it in words.
bool is_spend_limit(std::string_view body) {
  if (auto doc = json::Document::parse(body); doc.ok() && doc->root().is_object()) {
    if (auto error = doc->root().get("error"); error && error->is_object()) {
      auto code = error->get_string("code");
      auto type = error->get_string("type");
      if (code == "insufficient_quota" || type == "insufficient_quota") return true;
      // A structured code that says something else (rate_limit_exceeded) is believed over
      // the words of its message ("...check your plan and billing details").
      if ((code && !code->empty()) || (type && !type->empty() && *type != "error")) return false;
    }
  }
  // Not plain "quota": per-minute rate limits are worded as quotas too, and those pass.
  auto words = lower(error_body_message(body));
  for (std::string_view word : {"billing", "insufficient quota", "exceeded your current quota", "credit balance"}) {
    if (words.find(word) != std::string::npos) return true;
  }
  return false;
}

bool is_success(long status) { return status >= 200 && status < 300; }

// A send that failed: our parser stopping it, a stream cut by the peer, or the transport.
ProviderFailure send_failure(std::string_view provider, const Error& error, const StreamParser& parser,
                             bool got_body) {
  if (parser.failed()) return make_failure(FailureKind::protocol, fmt::format("{}: {}", provider, parser.error()), 200);
  if (error.code == errc::too_large) {
    return make_failure(FailureKind::protocol, fmt::format("{}: error body over {} bytes", provider,
                                                           kMaxErrorBodyBytes));
  }
  // Body bytes only reach the parser under a 2xx status, so a reset after them is a cut stream.
  if (got_body && error.code == errc::network_error) {
    return make_failure(FailureKind::protocol,
                        fmt::format("{}: stream ended before its terminal event ({})", provider, error.message),
                        200);
  }
  return make_failure(FailureKind::transport, fmt::format("{}: {}", provider, error.message));
}

CallResult answered(StreamParser& parser, const std::string& fallback_model) {
  ProviderReply reply = parser.take_reply();
  if (reply.model.empty()) reply.model = fallback_model;
  if (reply.finish_reason.empty()) reply.finish_reason = "stop";
  CallResult result;
  result.reply = std::move(reply);
  return result;
}

}  // namespace

std::string_view failure_kind_name(FailureKind kind) {
  return kFailureKindNames.at(static_cast<std::size_t>(kind));
}

std::string bounded_message(std::string_view text) {
  std::string out;
  out.reserve(std::min(text.size(), kMaxMessageBytes + 3));
  for (char c : trim(text)) {
    out.push_back(c == '\n' || c == '\r' || c == '\t' ? ' ' : c);
  }
  if (out.size() <= kMaxMessageBytes) return out;
  std::size_t cut = kMaxMessageBytes;
  while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;  // not mid-character
  out.resize(cut);
  out += "\xE2\x80\xA6";  // an ellipsis
  return out;
}

FailureKind classify_status(long status, std::string_view body) {
  if (status == 429) return is_spend_limit(body) ? FailureKind::spend_limit : FailureKind::rate_limited;
  if (status == 408 || status == 409 || (status >= 500 && status < 600)) return FailureKind::overloaded;
  if (status == 401 || status == 403) return FailureKind::auth;
  if (status >= 400 && status < 500) return FailureKind::bad_request;
  return FailureKind::protocol;  // a redirect or an odd status: nothing a provider should send
}

// Clamped as a double first: "1e300" must become "a very long time", not an overflow.
std::optional<std::chrono::milliseconds> parse_retry_after(const HttpResponse& response) {
  constexpr double kDayMs = 86'400'000.0;
  auto to_ms = [&](double ms) { return std::chrono::milliseconds(std::llround(std::clamp(ms, 0.0, kDayMs))); };
  if (auto ms = parse_number(response.header("retry-after-ms"))) return to_ms(*ms);
  if (auto seconds = parse_number(response.header("retry-after"))) return to_ms(*seconds * 1000.0);
  return std::nullopt;
}

std::string error_body_message(std::string_view body) {
  auto doc = json::Document::parse(body);
  if (!doc.ok()) return bounded_message(body);
  auto root = doc->root();
  if (!root.is_object()) return bounded_message(root.to_json());
  if (auto error = root.get("error")) {
    if (auto text = error->as_string()) return bounded_message(*text);
    if (error->is_object()) {
      auto described = describe_error_object(*error);
      if (!described.empty()) return bounded_message(described);
    }
  }
  if (auto message = root.get_string("message")) return bounded_message(*message);
  return bounded_message(root.to_json());
}

ProviderFailure make_failure(FailureKind kind, std::string message, long http_status) {
  ProviderFailure failure;
  failure.kind = kind;
  failure.http_status = http_status;
  failure.message = bounded_message(message);
  return failure;
}

ProviderFailure http_failure(std::string_view provider, const HttpResponse& response) {
  auto detail = error_body_message(response.body);
  auto message = detail.empty() ? fmt::format("{} answered HTTP {}", provider, response.status)
                                : fmt::format("{} answered HTTP {}: {}", provider, response.status, detail);
  auto failure = make_failure(classify_status(response.status, response.body), message, response.status);
  failure.retry_after = parse_retry_after(response);
  return failure;
}

CallResult failed(ProviderFailure failure) {
  CallResult result;
  result.failure = std::move(failure);
  return result;
}

CallResult probe_passed(const std::string& model) {
  CallResult ok;
  ok.reply = ProviderReply{};
  ok.reply->model = model;
  return ok;
}

ProviderTimeouts within_time_left(ProviderTimeouts timeouts, const ProviderRequest& request) {
  if (request.time_left.count() > 0) {
    timeouts.total = std::min(timeouts.total, request.time_left);
    timeouts.first_byte = std::min(timeouts.first_byte, timeouts.total);
    timeouts.connect = std::min(timeouts.connect, timeouts.total);
  }
  return timeouts;
}

void apply_timeouts(HttpRequest& request, const ProviderTimeouts& timeouts) {
  request.connect_timeout = timeouts.connect;
  request.first_byte_timeout = timeouts.first_byte;
  request.total_timeout = timeouts.total;
}

void write_chat_messages(json::Writer& w, const ProviderRequest& request) {
  w.key("messages").begin_array();
  if (!request.system.empty()) {
    w.begin_object().field("role", "system").field("content", request.system).end_object();
  }
  w.begin_object().field("role", "user").field("content", request.prompt).end_object();
  w.end_array();
}

HttpRequest streaming_post(std::string url, std::string body, std::string_view accept,
                           const ProviderTimeouts& timeouts) {
  HttpRequest request;
  request.method = "POST";
  request.url = std::move(url);
  request.body = std::move(body);
  request.headers = {{"Content-Type", "application/json"}, {"Accept", std::string(accept)},
                     // libcurl would wait up to a second for "100 Continue" on big prompts.
                     {"Expect", ""}};
  apply_timeouts(request, timeouts);
  return request;
}

std::string without_trailing_slash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

CallResult stream_call(std::string_view provider, HttpRequest request, StreamParser& parser,
                       const std::string& fallback_model) {
  bool got_body = false;
  request.max_response_bytes = kMaxErrorBodyBytes;
  request.on_body = [&](std::string_view chunk) {
    got_body = true;
    return parser.feed(chunk);
  };
  auto response = HttpClient().send(request);
  if (!response.ok()) {
    // A connection dropped after the terminal event loses nothing we need.
    if (got_body && parser.terminal_seen() && parser.finish()) return answered(parser, fallback_model);
    return failed(send_failure(provider, response.error(), parser, got_body));
  }
  if (!is_success(response->status)) return failed(http_failure(provider, *response));
  if (!parser.finish()) {
    return failed(make_failure(FailureKind::protocol, fmt::format("{}: {}", provider, parser.error()), response->status));
  }
  return answered(parser, fallback_model);
}

}  // namespace fti::llm
