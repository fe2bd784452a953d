#pragma once
// The cleanup child has neither network nor credentials: it asks the server's router over
// its own stdout and stdin. It writes one line "llm <ask json>" and reads one line back,
// {"answer":{...}} or {"error":{"code":"...","message":"..."}}. The server side answers with
// answer_pipe_request(), which puts the job's own id on the ask, so a child can neither spend
// another job's budget nor escape its cap.
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "fti/llm/llm.hpp"

namespace fti::llm {

class PipeLlmClient final : public LlmClient {
 public:
  // Borrowed streams: usually stdout and stdin.
  PipeLlmClient(std::FILE* requests, std::FILE* replies) : out_(requests), in_(replies) {}
  Result<Answer> complete(const Ask& ask) override;

 private:
  std::mutex mutex_;  // one question in flight: replies come back in order
  std::FILE* out_;
  std::FILE* in_;
};

// The reply line for a child's stdout line, or nullopt when the line is not an LLM request.
// The job's id and deadline are the server's, whatever the child wrote.
std::optional<std::string> answer_pipe_request(LlmClient& client, std::string_view line, const std::string& job_id,
                                               TimeMs deadline_ms);

// The reply format on its own, for the server side and tests.
std::string pipe_reply(const Result<Answer>& answer);

}  // namespace fti::llm
