#pragma once
// FakeLlmServer: an HTTP server on 127.0.0.1 that speaks Ollama, OpenAI chat completions and
// Anthropic messages as they are on the wire (docs LLM_PROTOCOLS.md), streamed or not, and
// can be told per request to fail in every way the router must survive: an HTTP error with
// retry-after, a hang, a dropped connection, a stream cut before its terminal event, an error
// inside a 200 stream, malformed JSON, an empty or wrong-shaped body, prose instead of code.
//
// Endpoints: Ollama POST /api/generate, POST /api/chat, GET /api/tags, GET /api/version;
// OpenAI POST /v1/chat/completions; Anthropic POST /v1/messages. Control endpoints (for the
// fake_llm_server program, usable in-process too): POST /_fake/script (JSON array of
// behaviours), POST /_fake/default (one behaviour), POST /_fake/models (array of names),
// GET /_fake/requests, DELETE /_fake/requests, GET /_fake/stats ({"generations":N}).
// A behaviour as JSON: {"kind":"status","status":503,"error_type":"...","retry_after":"1",
// "retry_after_ms":"20","delay_ms":0,"text":"...","finish_reason":"stop"}; all optional.
//
// Asio runs on its own threads; every public method is thread-safe.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fti::fakes {

struct FakeLlmBehavior {
  enum class Kind {
    ok,                // a correct answer (streamed when the request asks; Ollama streams by default)
    status,            // HTTP `status` with the protocol's error body
    hang,              // read the request, never answer (until the client or the server gives up)
    close,             // read the request, close the connection without a byte
    cut_stream,        // 200 stream, a couple of chunks, a clean end without the terminal event
    error_mid_stream,  // 200 stream, a chunk, then the protocol's in-stream error
    malformed_json,    // 200 with a body (or a stream data line) that is not JSON
    empty_body,        // 200 with Content-Length: 0
    wrong_shape,       // 200 valid JSON in the wrong shape ({"foo":1})
    not_code,          // a correct answer whose text is prose, not code
  };
  Kind kind = Kind::ok;
  // ok, cut_stream, malformed_json: the answer (empty: echo the first ``` block of the last user
  // message, or "ok" without one); not_code: the prose (empty: a stock sentence); status,
  // error_mid_stream: the error message (empty: the protocol's usual one).
  std::string text;
  int status = 200;
  // status, error_mid_stream: OpenAI error.type and error.code, Anthropic error.type, Ollama's
  // message when `text` is empty. Empty: what the protocol says for that status.
  std::string error_type;
  std::optional<std::string> retry_after;     // `retry-after` header value (seconds)
  std::optional<std::string> retry_after_ms;  // `retry-after-ms` header value
  std::chrono::milliseconds delay{0};         // before the first byte of the response
  std::string finish_reason = "stop";         // "stop" or "length", in each protocol's words
};

// The behaviour kinds by their enumerator names ("ok", "cut_stream"...).
std::string_view fake_llm_kind_name(FakeLlmBehavior::Kind kind);
std::optional<FakeLlmBehavior::Kind> parse_fake_llm_kind(std::string_view name);

struct RecordedRequest {
  std::string method, path;  // path is the request target as sent (with any query)
  std::map<std::string, std::string> headers;  // lower-cased names
  std::string body;
};

class FakeLlmServer {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;  // 0: any free port
    // What GET /api/tags lists; an Ollama request for another model gets 404.
    std::vector<std::string> models = {"codellama:latest"};
    std::string openai_key = "sk-test";     // expected `Authorization: Bearer ...`
    std::string anthropic_key = "ak-test";  // expected `x-api-key`
    int threads = 1;
    bool record = true;  // keep RecordedRequests (off for benchmarks)
    // Write each reply in one send instead of one per stream piece: the same bytes on the
    // wire, far fewer syscalls and wake-ups on both sides (benchmarks on shared cores).
    bool coalesce = false;
  };

  explicit FakeLlmServer(Options options);  // listens at once; throws std::runtime_error
  ~FakeLlmServer();                         // stops, dropping hanging connections
  FakeLlmServer(const FakeLlmServer&) = delete;
  FakeLlmServer& operator=(const FakeLlmServer&) = delete;

  std::uint16_t port() const;
  std::string url() const;  // "http://127.0.0.1:PORT"

  // Behaviours for the next generation requests (any protocol), consumed in order, replacing
  // what was left of an earlier script; then the default applies. A request that fails
  // authentication or validation (bad key, unknown Ollama model, body not JSON) consumes none.
  void script(std::vector<FakeLlmBehavior> next);
  void set_default(FakeLlmBehavior behavior);
  void set_models(std::vector<std::string> models);
  // Down: the listening socket is closed (connections are refused) and open connections are
  // dropped; up again listens on the same port. Both take effect before the call returns.
  void set_down(bool down);

  std::vector<RecordedRequest> requests() const;  // not the /_fake/ control requests
  std::size_t generation_count() const;  // requests to the generation endpoints, any outcome
  void clear_requests();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace fti::fakes
