// Ollama: POST /api/chat streamed as NDJSON; probe lists the instance's models.
#include <algorithm>
#include <fmt/format.h>

#include "fti/core/json.hpp"
#include "fti/llm/provider.hpp"
#include "provider_common.hpp"
#include "stream_parsers.hpp"

namespace fti::llm {
namespace {

using namespace std::chrono_literals;

constexpr std::int64_t kMaxTagsBytes = 8 << 20;

std::string chat_body(const ProviderRequest& request) {
  json::Writer w;
  w.begin_object().field("model", request.model);
  write_chat_messages(w, request);
  w.field("stream", true);
  w.key("options")
      .begin_object()
      .field("temperature", request.temperature)
      .field("num_predict", request.max_tokens)
      .end_object();
  w.end_object();
  return w.take();
}

// Ollama names a model "name:tag" and fills in ":latest" when asked without a tag.
bool names_model(std::string_view listed, const std::string& asked) {
  if (listed == asked) return true;
  return asked.find(':') == std::string::npos && listed == asked + ":latest";
}

// A probe must not hold the router up as long as a generation may.
HttpRequest tags_request(const std::string& base_url, const ProviderTimeouts& timeouts) {
  HttpRequest request;
  request.url = base_url + "/api/tags";
  request.headers = {{"Accept", "application/json"}};
  request.connect_timeout = timeouts.connect;
  auto first_byte = timeouts.first_byte.count() > 0 ? timeouts.first_byte : 5000ms;
  request.first_byte_timeout = std::min<std::chrono::milliseconds>(first_byte, 5000ms);
  request.total_timeout = std::min<std::chrono::milliseconds>(timeouts.total, 15000ms);
  request.max_response_bytes = kMaxTagsBytes;
  return request;
}

// Whether the /api/tags body lists `model`; an error message when the body is not a list.
Result<bool> tags_list(std::string_view body, const std::string& model) {
  auto doc = json::Document::parse(body);
  if (!doc.ok()) return Error(errc::bad_request, "ollama: /api/tags answered malformed JSON");
  auto models = doc->root().is_object() ? doc->root().get("models") : std::nullopt;
  if (!models || !models->is_array()) return Error(errc::bad_request, "ollama: /api/tags has no \"models\" array");
  for (const auto& entry : models->items()) {
    if (auto name = entry.get_string("name"); name && names_model(*name, model)) return true;
  }
  return false;
}

class OllamaProvider final : public Provider {
 public:
  OllamaProvider(std::string base_url, ProviderTimeouts timeouts)
      : base_url_(without_trailing_slash(std::move(base_url))), timeouts_(timeouts) {}

  std::string name() const override { return "ollama"; }
  std::string base_url() const override { return base_url_; }

  CallResult call(const ProviderRequest& request) override {
    auto http = streaming_post(base_url_ + "/api/chat", chat_body(request), "application/x-ndjson", within_time_left(timeouts_, request));
    OllamaChatParser parser;
    return stream_call(name(), std::move(http), parser, request.model);
  }

  CallResult probe(const std::string& model) override {
    auto response = HttpClient().send(tags_request(base_url_, timeouts_));
    if (!response.ok()) {
      return failed(make_failure(FailureKind::transport, fmt::format("ollama: {}", response.error().message)));
    }
    if (response->status < 200 || response->status >= 300) return failed(http_failure(name(), *response));
    auto listed = tags_list(response->body, model);
    if (!listed.ok()) return failed(make_failure(FailureKind::protocol, listed.error().message, response->status));
    if (!*listed) {
      return failed(make_failure(FailureKind::bad_request,
                                 fmt::format("model {0} is not on this instance (try `ollama pull {0}`)", model),
                                 response->status));
    }
    return probe_passed(model);
  }

 private:
  std::string base_url_;
  ProviderTimeouts timeouts_;
};

}  // namespace

std::unique_ptr<Provider> make_ollama_provider(std::string base_url, ProviderTimeouts timeouts) {
  return std::make_unique<OllamaProvider>(std::move(base_url), timeouts);
}

}  // namespace fti::llm
