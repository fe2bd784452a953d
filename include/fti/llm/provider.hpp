#pragma once
// A provider speaks one vendor's wire protocol (LLM_PROTOCOLS.md) to one base URL over
// libcurl, streaming, and says precisely how a call failed so the router can decide
// between retrying, cooling an instance down, and disabling a provider.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "fti/core/result.hpp"

namespace fti::llm {

struct ProviderRequest {
  std::string model;
  std::string system;
  std::string prompt;
  int max_tokens = 2048;
  double temperature = 0;
  // What is left of the caller's time; 0: none given. A call never outlives it.
  std::chrono::milliseconds time_left{0};
};

struct ProviderReply {
  std::string text;
  std::string model;          // as the provider named it
  std::string finish_reason;  // normalised: "stop" or "length"
  std::int64_t tokens_in = 0;
  std::int64_t tokens_out = 0;
};

enum class FailureKind {
  transport,     // refused, reset, DNS, connect/first-byte/total timeout
  rate_limited,  // 429 (retry, honouring retry_after)
  overloaded,    // 408, 409, 5xx, 529 (retry with backoff)
  spend_limit,   // 429 insufficient_quota / billing: never retried
  auth,          // 401, 403: the provider is disabled until reload
  bad_request,   // 400, 404 (e.g. model not found), 413, 422: not retried
  protocol,      // malformed JSON, empty or wrong-shaped body, a stream cut before its
                 // terminal event, an error object inside a 200 stream (retried)
};
std::string_view failure_kind_name(FailureKind kind);

struct ProviderFailure {
  FailureKind kind = FailureKind::transport;
  long http_status = 0;  // 0 when no status arrived
  std::optional<std::chrono::milliseconds> retry_after;  // from retry-after-ms or retry-after
  std::string message;   // for logs and the report; never contains the prompt
};

struct CallResult {
  std::optional<ProviderReply> reply;
  ProviderFailure failure;  // meaningful when !reply
  bool ok() const { return reply.has_value(); }
};

struct ProviderTimeouts {
  std::chrono::milliseconds connect{2000};
  std::chrono::milliseconds first_byte{30000};  // until the response headers arrive
  std::chrono::milliseconds total{120000};
};

class Provider {
 public:
  virtual ~Provider() = default;
  virtual std::string name() const = 0;      // "ollama" | "openai" | "anthropic"
  virtual std::string base_url() const = 0;  // identifies the instance
  // One attempt, no retries: those are the router's business. Streams the answer.
  virtual CallResult call(const ProviderRequest& request) = 0;
  // Whether the instance is up and can serve `model` (Ollama: GET /api/tags lists it).
  // Cloud providers answer ok without a network call.
  virtual CallResult probe(const std::string& model) = 0;
};

// `base_url` forms follow the config keys: Ollama "http://host:11434", OpenAI with "/v1"
// ("https://api.openai.com/v1"), Anthropic without it ("https://api.anthropic.com").
std::unique_ptr<Provider> make_ollama_provider(std::string base_url, ProviderTimeouts timeouts);
std::unique_ptr<Provider> make_openai_provider(std::string base_url, std::string api_key,
                                               ProviderTimeouts timeouts);
std::unique_ptr<Provider> make_anthropic_provider(std::string base_url, std::string api_key,
                                                  ProviderTimeouts timeouts);

}  // namespace fti::llm
