#pragma once
// Incremental parsers for the three streaming answers (LLM_PROTOCOLS.md). Bytes are fed as
// they arrive, split anywhere (mid-line, mid-UTF-8); only complete lines are interpreted.
// A parser collects the answer into a ProviderReply and fails with a message on anything
// the protocol does not allow; every such failure is FailureKind::protocol.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "fti/llm/provider.hpp"

namespace fti::llm {

// The answer is held in memory; a runaway stream must not take the process with it.
inline constexpr std::size_t kMaxAnswerBytes = 4u << 20;

// Splits a byte stream into lines ending in "\n" or "\r\n", without their terminator.
class LineSplitter {
 public:
  explicit LineSplitter(std::size_t max_line) : max_line_(max_line) {}
  // Calls on_line(std::string_view) for each completed line; false if a line grows past
  // max_line (the rest of the stream is then not worth reading).
  template <class OnLine>
  bool feed(std::string_view chunk, OnLine&& on_line);
  // Bytes after the last line terminator.
  std::string_view pending() const { return pending_; }

 private:
  std::size_t max_line_;
  std::string pending_;
};

class StreamParser {
 public:
  virtual ~StreamParser() = default;
  // Feeds the next bytes of a 2xx body; false once the stream has failed.
  bool feed(std::string_view chunk);
  // The body ended; false if the stream failed or ended before its terminal event.
  bool finish();
  bool failed() const { return error_.has_value(); }
  bool terminal_seen() const { return done_; }
  const std::string& error() const { return *error_; }  // when failed()
  const ProviderReply& reply() const { return reply_; }
  ProviderReply take_reply() { return std::move(reply_); }

 protected:
  virtual void on_line(std::string_view line) = 0;
  // Called once at the end, before the terminal-event check (SSE dispatches a last event).
  virtual void on_end() {}
  void fail(std::string message);
  void append_text(std::string_view text);
  void set_finish_reason(std::string_view raw, std::string_view length_word);
  void mark_done() { done_ = true; }
  ProviderReply reply_;

 private:
  LineSplitter lines_{kMaxAnswerBytes + 65536};
  std::optional<std::string> error_;
  std::size_t bytes_seen_ = 0;
  bool done_ = false;
};

// Ollama /api/chat: one JSON object per line, the last with "done":true and the counts.
class OllamaChatParser final : public StreamParser {
 protected:
  void on_line(std::string_view line) override;
};

// Server-sent events framing: "field: value" lines, ':' comments, a blank line ends an event.
class SseParser : public StreamParser {
 protected:
  void on_line(std::string_view line) final;
  void on_end() final;
  virtual void on_event(std::string_view event, std::string_view data) = 0;

 private:
  void dispatch();
  std::string event_;
  std::string data_;
  bool has_data_ = false;
  bool seen_field_ = false;
};

// OpenAI chat completions chunks ending in "data: [DONE]".
class OpenAiChatParser final : public SseParser {
 protected:
  void on_event(std::string_view event, std::string_view data) override;
};

// Anthropic messages events ending in "message_stop".
class AnthropicMessagesParser final : public SseParser {
 protected:
  void on_event(std::string_view event, std::string_view data) override;
};

template <class OnLine>
bool LineSplitter::feed(std::string_view chunk, OnLine&& on_line) {
  while (!chunk.empty()) {
    auto newline = chunk.find('\n');
    if (newline == std::string_view::npos) {
      pending_.append(chunk);
      return pending_.size() <= max_line_;
    }
    std::string_view line;
    if (pending_.empty()) {
      line = chunk.substr(0, newline);  // the common case: no copy
    } else {
      pending_.append(chunk.substr(0, newline));
      line = pending_;
    }
    if (line.size() > max_line_) return false;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    on_line(line);
    pending_.clear();
    chunk.remove_prefix(newline + 1);
  }
  return true;
}

}  // namespace fti::llm
