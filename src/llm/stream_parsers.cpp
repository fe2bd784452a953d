#include "stream_parsers.hpp"

#include <fmt/format.h>

#include "fti/core/json.hpp"
#include "provider_common.hpp"

namespace fti::llm {
namespace {

bool is_blank(std::string_view line) { return line.find_first_not_of(" \t") == std::string_view::npos; }

// The human part of an in-stream error object: a string, {"message":...} or
// {"type":...,"message":...}; whatever it is, bounded.
std::string describe_error(const json::Value& error) {
  if (auto text = error.as_string()) return bounded_message(*text);
  auto message = error.get_string("message").value_or("");
  auto type = error.get_string("type").value_or("");
  if (message.empty() && type.empty()) return bounded_message(error.to_json());
  if (type.empty()) return bounded_message(message);
  return bounded_message(message.empty() ? type : fmt::format("{}: {}", type, message));
}

// A stream line's (or event's) JSON object, or nothing with the reason in `why`.
std::optional<json::Document> parse_object(std::string_view text, std::string& why) {
  auto doc = json::Document::parse(text);
  if (!doc.ok()) {
    why = "malformed JSON in the stream";
    return std::nullopt;
  }
  if (!doc->root().is_object()) {
    why = "a stream event is not a JSON object";
    return std::nullopt;
  }
  return std::move(doc).value();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// StreamParser

bool StreamParser::feed(std::string_view chunk) {
  if (failed()) return false;
  bytes_seen_ += chunk.size();
  // Bytes after the terminal event are not part of the answer.
  bool fits = lines_.feed(chunk, [this](std::string_view line) {
    if (!failed() && !done_) on_line(line);
  });
  if (!fits && !failed()) fail(fmt::format("a stream line is over {} bytes", kMaxAnswerBytes));
  return !failed();
}

bool StreamParser::finish() {
  if (failed()) return false;
  if (!done_) {
    // A last line without its newline still counts: it may be the terminal event.
    if (!is_blank(lines_.pending())) on_line(lines_.pending());
    if (!failed()) on_end();
  }
  if (done_) return !failed();
  if (failed()) {
    // The missing terminal event explains a cut better than the half line it left.
    error_ = fmt::format("stream ended before its terminal event ({})", *error_);
  } else {
    error_ = bytes_seen_ == 0 ? "empty body" : "stream ended before its terminal event";
  }
  return false;
}

void StreamParser::fail(std::string message) {
  if (!error_) error_ = std::move(message);
}

void StreamParser::append_text(std::string_view text) {
  if (reply_.text.size() + text.size() > kMaxAnswerBytes) {
    return fail(fmt::format("the answer is over {} bytes", kMaxAnswerBytes));
  }
  reply_.text.append(text);
}

void StreamParser::set_finish_reason(std::string_view raw, std::string_view length_word) {
  reply_.finish_reason = raw == length_word ? "length" : "stop";
}

// ---------------------------------------------------------------------------------------------
// Ollama

void OllamaChatParser::on_line(std::string_view line) {
  if (is_blank(line)) return;
  std::string why;
  auto doc = parse_object(line, why);
  if (!doc) return fail(why);
  auto root = doc->root();
  if (auto error = root.get("error"); error && !error->is_null()) {
    return fail("error in the stream: " + describe_error(*error));
  }
  auto done = root.get_bool("done");
  if (!done) return fail("a stream line has no \"done\" field");
  if (auto model = root.get_string("model")) reply_.model = std::move(*model);
  if (auto message = root.get("message"); message && message->is_object()) {
    if (auto content = message->get_string("content")) append_text(*content);
  } else if (!*done) {
    return fail("a stream line has no \"message\" object");
  }
  if (!*done) return;
  set_finish_reason(root.get_string("done_reason").value_or("stop"), "length");
  reply_.tokens_in = root.get_int("prompt_eval_count").value_or(0);
  reply_.tokens_out = root.get_int("eval_count").value_or(0);
  mark_done();
}

// ---------------------------------------------------------------------------------------------
// Server-sent events

void SseParser::on_line(std::string_view line) {
  if (line.empty()) return dispatch();
  if (line.front() == ':') return;  // a comment, e.g. a gateway's keep-alive
  if (!seen_field_ && line.rfind("\xEF\xBB\xBF", 0) == 0) line.remove_prefix(3);  // a BOM may lead
  auto colon = line.find(':');
  std::string_view field = line.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "event") {
    event_.assign(value);
  } else if (field == "data") {
    // Many data lines make one event; their sum is bounded like a single line.
    if (data_.size() + value.size() > kMaxAnswerBytes + 65536) return fail("an event is over the answer limit");
    if (has_data_) data_.push_back('\n');
    data_.append(value);
    has_data_ = true;
  } else if (field != "id" && field != "retry" && !seen_field_) {
    // Plain JSON or HTML where events were due: say so rather than "ended early".
    return fail("the body is not an event stream");
  }
  // Later unknown fields are ignored, as the SSE format asks.
  seen_field_ = true;
}

// Tolerates a stream whose last event lacks its closing blank line.
void SseParser::on_end() { dispatch(); }

void SseParser::dispatch() {
  if (has_data_) on_event(event_.empty() ? std::string_view("message") : std::string_view(event_), data_);
  event_.clear();
  data_.clear();
  has_data_ = false;
}

// ---------------------------------------------------------------------------------------------
// OpenAI

void OpenAiChatParser::on_event(std::string_view, std::string_view data) {
  if (data == "[DONE]") return mark_done();
  std::string why;
  auto doc = parse_object(data, why);
  if (!doc) return fail(why);
  auto root = doc->root();
  if (auto error = root.get("error"); error && !error->is_null()) {
    return fail("error in the stream: " + describe_error(*error));
  }
  auto choices = root.get("choices");
  if (!choices || !choices->is_array()) return fail("a stream chunk has no \"choices\" array");
  if (auto model = root.get_string("model")) reply_.model = std::move(*model);
  for (const auto& choice : choices->items()) {
    if (choice.get_int("index").value_or(0) != 0) continue;  // we ask for one choice
    if (auto delta = choice.get("delta"); delta && delta->is_object()) {
      if (auto content = delta->get_string("content")) append_text(*content);
    }
    if (auto reason = choice.get_string("finish_reason")) set_finish_reason(*reason, "length");
  }
  if (auto usage = root.get("usage"); usage && usage->is_object()) {
    reply_.tokens_in = usage->get_int("prompt_tokens").value_or(reply_.tokens_in);
    reply_.tokens_out = usage->get_int("completion_tokens").value_or(reply_.tokens_out);
  }
}

// ---------------------------------------------------------------------------------------------
// Anthropic

namespace {

// Counts arrive in message_start (input) and message_delta (cumulative output).
void take_usage(const json::Value& holder, ProviderReply& reply) {
  auto usage = holder.get("usage");
  if (!usage || !usage->is_object()) return;
  if (auto in = usage->get_int("input_tokens"); in && *in > 0) reply.tokens_in = *in;
  if (auto out = usage->get_int("output_tokens")) reply.tokens_out = *out;
}

}  // namespace

void AnthropicMessagesParser::on_event(std::string_view event, std::string_view data) {
  if (event == "ping") return;
  std::string why;
  auto doc = parse_object(data, why);
  if (!doc) return fail(why);
  auto root = doc->root();
  std::string type = event == "message" ? root.get_string("type").value_or("") : std::string(event);
  if (type == "error") {
    auto error = root.get("error");
    return fail("error in the stream: " + (error ? describe_error(*error) : std::string("no details")));
  }
  if (type == "message_start") {
    auto message = root.get("message");
    if (!message || !message->is_object()) return fail("message_start has no \"message\" object");
    if (auto model = message->get_string("model")) reply_.model = std::move(*model);
    take_usage(*message, reply_);
  } else if (type == "content_block_start") {
    auto block = root.get("content_block");
    if (block && block->is_object()) append_text(block->get_string("text").value_or(""));
  } else if (type == "content_block_delta") {
    auto delta = root.get("delta");
    if (!delta || !delta->is_object()) return fail("content_block_delta has no \"delta\" object");
    if (delta->get_string("type").value_or("text_delta") == "text_delta") {
      append_text(delta->get_string("text").value_or(""));
    }
  } else if (type == "message_delta") {
    auto delta = root.get("delta");
    if (!delta || !delta->is_object()) return fail("message_delta has no \"delta\" object");
    if (auto reason = delta->get_string("stop_reason")) set_finish_reason(*reason, "max_tokens");
    take_usage(root, reply_);
  } else if (type == "message_stop") {
    mark_done();
  }
  // content_block_stop and event types added later carry nothing we need.
}

}  // namespace fti::llm
