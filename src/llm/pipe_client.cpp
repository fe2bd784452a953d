#include "fti/llm/pipe_client.hpp"

#include <cstdlib>

#include "fti/core/json.hpp"

namespace fti::llm {

namespace {

constexpr std::string_view kRequestPrefix = "llm ";
constexpr std::size_t kMaxReplyBytes = 16 << 20;

// One line from `in`, without its newline. Past the bound the rest of the line is read and
// dropped, so the next reply is still the next line: replies never get out of step.
Result<std::string> read_line(std::FILE* in) {
  std::string line;
  bool too_long = false;
  for (int c; (c = std::fgetc(in)) != EOF;) {
    if (c == '\n') {
      if (too_long) return Error(errc::llm_unavailable, "the server's answer was over 16 MiB");
      return line;
    }
    if (line.size() >= kMaxReplyBytes) {
      too_long = true;
      continue;
    }
    line.push_back(static_cast<char>(c));
  }
  return Error(errc::llm_unavailable, "the server's LLM router did not answer (stdin closed)");
}

Result<Answer> parse_reply(std::string_view line) {
  FTI_ASSIGN_OR_RETURN(auto doc, json::Document::parse(line));
  auto root = doc.root();
  if (auto answer = root.get("answer")) return answer_from_json(answer->to_json());
  if (auto error = root.get("error")) {
    std::string code = error->get_string("code").value_or(std::string(errc::internal));
    if (!is_stable_error_code(code)) code = std::string(errc::internal);
    return Error(code, error->get_string("message").value_or("the server's router failed"));
  }
  return Error(errc::internal, "the server sent a reply that is neither an answer nor an error");
}

}  // namespace

Result<Answer> PipeLlmClient::complete(const Ask& ask) {
  std::lock_guard lock(mutex_);
  std::string line = std::string(kRequestPrefix) + ask_to_json(ask) + "\n";
  if (std::fwrite(line.data(), 1, line.size(), out_) != line.size() || std::fflush(out_) != 0) {
    return Error(errc::llm_unavailable, "cannot reach the server's LLM router (stdout closed)");
  }
  FTI_ASSIGN_OR_RETURN(auto reply, read_line(in_));
  return parse_reply(reply);
}

std::string pipe_reply(const Result<Answer>& answer) {
  json::Writer w;
  w.begin_object();
  if (answer) {
    w.key("answer").raw(answer_to_json(*answer));
  } else {
    w.key("error").begin_object().field("code", answer.error().code).field("message", answer.error().message).end_object();
  }
  w.end_object();
  return w.take();
}

std::optional<std::string> answer_pipe_request(LlmClient& client, std::string_view line, const std::string& job_id,
                                               TimeMs deadline_ms) {
  if (!line.starts_with(kRequestPrefix)) return std::nullopt;
  auto ask = ask_from_json(line.substr(kRequestPrefix.size()));
  if (!ask) return pipe_reply(ask.error());
  ask->job_id = job_id;
  ask->deadline_ms = deadline_ms;
  return pipe_reply(client.complete(*ask));
}

}  // namespace fti::llm
