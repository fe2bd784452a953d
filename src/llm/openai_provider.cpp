// OpenAI chat completions: POST {base}/chat/completions streamed as server-sent events.
#include "fti/core/json.hpp"
#include "fti/llm/provider.hpp"
#include "provider_common.hpp"
#include "stream_parsers.hpp"

namespace fti::llm {
namespace {

std::string completion_body(const ProviderRequest& request) {
  json::Writer w;
  w.begin_object().field("model", request.model);
  write_chat_messages(w, request);
  w.field("max_tokens", request.max_tokens).field("temperature", request.temperature).field("stream", true);
  // Without it the stream carries no token counts, and the cost ledger needs them.
  w.key("stream_options").begin_object().field("include_usage", true).end_object();
  w.end_object();
  return w.take();
}

class OpenAiProvider final : public CloudProvider {
 public:
  OpenAiProvider(std::string base_url, std::string api_key, ProviderTimeouts timeouts)
      : CloudProvider("openai", std::move(base_url), std::move(api_key), timeouts) {}

  CallResult call(const ProviderRequest& request) override {
    auto http = streaming_post(base_url_ + "/chat/completions", completion_body(request), "text/event-stream",
                               within_time_left(timeouts_, request));
    // A local OpenAI-compatible gateway may need no key.
    if (!api_key_.empty()) http.headers.emplace_back("Authorization", "Bearer " + api_key_);
    OpenAiChatParser parser;
    return stream_call(name(), std::move(http), parser, request.model);
  }
};

}  // namespace

std::unique_ptr<Provider> make_openai_provider(std::string base_url, std::string api_key,
                                               ProviderTimeouts timeouts) {
  return std::make_unique<OpenAiProvider>(std::move(base_url), std::move(api_key), timeouts);
}

}  // namespace fti::llm
