#pragma once
// What the three providers share: turning an HTTP status and error body into a
// ProviderFailure, reading retry-after, and running one streamed call through a parser.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "fti/core/http_client.hpp"
#include "fti/llm/provider.hpp"

namespace fti::json {
class Writer;
}

namespace fti::llm {

class StreamParser;

// Messages end up in logs and reports: one line, at most ~300 bytes, cut on a UTF-8 boundary.
std::string bounded_message(std::string_view text);

// The failure kind of a non-2xx status; `body` tells a spend limit from a rate limit.
FailureKind classify_status(long status, std::string_view body);

// retry-after-ms (milliseconds) wins over retry-after (seconds, integer or decimal); an
// HTTP-date, a negative or an unreadable value gives nothing.
std::optional<std::chrono::milliseconds> parse_retry_after(const HttpResponse& response);

// The provider's own words from an error body ({"error":"..."}, {"error":{"message":...}},
// {"type":"error","error":{...}}), else a short excerpt of a non-JSON body.
std::string error_body_message(std::string_view body);

// The failure for a non-2xx response.
ProviderFailure http_failure(std::string_view provider, const HttpResponse& response);

ProviderFailure make_failure(FailureKind kind, std::string message, long http_status = 0);

CallResult failed(ProviderFailure failure);

// Writes "messages": the system message (when there is one) and the user's prompt, in the
// chat form that Ollama and OpenAI share.
void write_chat_messages(json::Writer& w, const ProviderRequest& request);

// Error bodies are read into memory; this is plenty for any provider's error object.
inline constexpr std::int64_t kMaxErrorBodyBytes = 1 << 20;

// What a probe answers when the instance can serve `model`.
CallResult probe_passed(const std::string& model);


// The provider's timeouts, the total clipped to the caller's time left.
ProviderTimeouts within_time_left(ProviderTimeouts timeouts, const ProviderRequest& request);

// Maps the provider timeouts onto a request.
void apply_timeouts(HttpRequest& request, const ProviderTimeouts& timeouts);

// A streamed JSON POST to `url` expecting `accept`, with the provider timeouts.
HttpRequest streaming_post(std::string url, std::string body, std::string_view accept,
                           const ProviderTimeouts& timeouts);

// Config values may end in '/'; paths are appended to them.
std::string without_trailing_slash(std::string url);

// Sends `request` with its body streamed through `parser` and returns the answer or the
// precise failure. `fallback_model` names the reply when the stream does not.
CallResult stream_call(std::string_view provider, HttpRequest request, StreamParser& parser,
                       const std::string& fallback_model);

// What the two cloud providers share: a base URL, a key, timeouts, and a probe that passes
// without a call (a cloud API is up by assumption; a real call says otherwise soon enough).
class CloudProvider : public Provider {
 public:
  CloudProvider(std::string name, std::string base_url, std::string api_key, ProviderTimeouts timeouts)
      : name_(std::move(name)), base_url_(without_trailing_slash(std::move(base_url))),
        api_key_(std::move(api_key)), timeouts_(timeouts) {}
  std::string name() const override { return name_; }
  std::string base_url() const override { return base_url_; }
  CallResult probe(const std::string& model) override { return probe_passed(model); }

 protected:
  const std::string name_;
  const std::string base_url_;
  const std::string api_key_;
  const ProviderTimeouts timeouts_;
};

}  // namespace fti::llm
