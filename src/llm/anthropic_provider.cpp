// Anthropic messages: POST {base}/v1/messages streamed as server-sent events.
#include "fti/core/json.hpp"
#include "fti/llm/provider.hpp"
#include "provider_common.hpp"
#include "stream_parsers.hpp"

namespace fti::llm {
namespace {

constexpr std::string_view kApiVersion = "2023-06-01";

std::string messages_body(const ProviderRequest& request) {
  json::Writer w;
  w.begin_object().field("model", request.model).field("max_tokens", request.max_tokens);
  if (!request.system.empty()) w.field("system", request.system);  // top level, not a message
  w.key("messages").begin_array();
  w.begin_object().field("role", "user").field("content", request.prompt).end_object();
  w.end_array();
  w.field("temperature", request.temperature).field("stream", true);
  w.end_object();
  return w.take();
}

class AnthropicProvider final : public CloudProvider {
 public:
  AnthropicProvider(std::string base_url, std::string api_key, ProviderTimeouts timeouts)
      : CloudProvider("anthropic", std::move(base_url), std::move(api_key), timeouts) {}

  CallResult call(const ProviderRequest& request) override {
    auto http = streaming_post(base_url_ + "/v1/messages", messages_body(request), "text/event-stream",
                               within_time_left(timeouts_, request));
    http.headers.emplace_back("x-api-key", api_key_);
    http.headers.emplace_back("anthropic-version", std::string(kApiVersion));
    AnthropicMessagesParser parser;
    return stream_call(name(), std::move(http), parser, request.model);
  }
};

}  // namespace

std::unique_ptr<Provider> make_anthropic_provider(std::string base_url, std::string api_key,
                                                  ProviderTimeouts timeouts) {
  return std::make_unique<AnthropicProvider>(std::move(base_url), std::move(api_key), timeouts);
}

}  // namespace fti::llm
