#include "fti/core/json.hpp"

#include <simdjson.h>

#include <cmath>
#include <fmt/format.h>

namespace fti::json {

std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  auto cont = [&](std::size_t k) {
    return i + k < s.size() && (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
  };
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    auto c1 = static_cast<unsigned char>(s[i + 1]);
    if (c == 0xE0 && c1 < 0xA0) return 0;  // overlong
    if (c == 0xED && c1 > 0x9F) return 0;  // surrogates
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    auto c1 = static_cast<unsigned char>(s[i + 1]);
    if (c == 0xF0 && c1 < 0x90) return 0;
    if (c == 0xF4 && c1 > 0x8F) return 0;
    return 4;
  }
  return 0;
}

namespace {

// Printable ASCII other than the quote and the backslash goes out as it is.
bool plain_ascii(unsigned char c) { return c >= 0x20 && c < 0x7F && c != '"' && c != '\\'; }

}  // namespace

void append_quoted(std::string& out, std::string_view s) {
  out.reserve(out.size() + s.size() + 2);
  out.push_back('"');
  for (std::size_t i = 0; i < s.size();) {
    // Most text is runs of plain ASCII: append each run at once, not byte by byte.
    std::size_t run = i;
    while (run < s.size() && plain_ascii(static_cast<unsigned char>(s[run]))) ++run;
    if (run > i) {
      out.append(s.data() + i, run - i);
      i = run;
      if (i == s.size()) break;
    }
    auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"': out += "\\\""; ++i; continue;
      case '\\': out += "\\\\"; ++i; continue;
      case '\n': out += "\\n"; ++i; continue;
      case '\r': out += "\\r"; ++i; continue;
      case '\t': out += "\\t"; ++i; continue;
      case '\b': out += "\\b"; ++i; continue;
      case '\f': out += "\\f"; ++i; continue;
      default: break;
    }
    if (c < 0x20 || c == 0x7F) {
      out += fmt::format("\\u{:04x}", c);
      ++i;
      continue;
    }
    std::size_t n = utf8_sequence_length(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD keeps the document valid
      ++i;
      continue;
    }
    out.append(s.substr(i, n));
    i += n;
  }
  out.push_back('"');
}

std::string quote(std::string_view s) {
  std::string out;
  append_quoted(out, s);
  return out;
}

void Writer::before_value() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_.empty()) {
    if (!first_.back()) out_.push_back(',');
    first_.back() = false;
  }
}

Writer& Writer::begin_object() {
  before_value();
  out_.push_back('{');
  first_.push_back(true);
  return *this;
}

Writer& Writer::end_object() {
  out_.push_back('}');
  first_.pop_back();
  return *this;
}

Writer& Writer::begin_array() {
  before_value();
  out_.push_back('[');
  first_.push_back(true);
  return *this;
}

Writer& Writer::end_array() {
  out_.push_back(']');
  first_.pop_back();
  return *this;
}

Writer& Writer::key(std::string_view k) {
  before_value();
  append_quoted(out_, k);
  out_.push_back(':');
  after_key_ = true;
  return *this;
}

Writer& Writer::value(std::string_view s) {
  before_value();
  append_quoted(out_, s);
  return *this;
}

Writer& Writer::value(std::int64_t n) {
  before_value();
  out_ += fmt::format("{}", n);
  return *this;
}

Writer& Writer::value(std::uint64_t n) {
  before_value();
  out_ += fmt::format("{}", n);
  return *this;
}

Writer& Writer::value(double d) {
  before_value();
  if (!std::isfinite(d)) {
    out_ += "null";  // JSON has no NaN or infinity
  } else {
    out_ += fmt::format("{}", d);
  }
  return *this;
}

Writer& Writer::value(bool b) {
  before_value();
  out_ += b ? "true" : "false";
  return *this;
}

Writer& Writer::null() {
  before_value();
  out_ += "null";
  return *this;
}

Writer& Writer::raw(std::string_view json) {
  before_value();
  out_.append(json);
  return *this;
}

// ---- reading ----

struct Value::Handle {
  std::shared_ptr<simdjson::dom::parser> parser;  // keeps the element's storage alive
  simdjson::dom::element element;
};

struct Document::Impl {
  std::shared_ptr<simdjson::dom::parser> parser = std::make_shared<simdjson::dom::parser>();
  simdjson::dom::element root;
};

Document::Document() : impl_(std::make_unique<Impl>()) {}
Document::Document(Document&&) noexcept = default;
Document& Document::operator=(Document&&) noexcept = default;
Document::~Document() = default;

Result<Document> Document::parse(std::string_view text) {
  Document doc;
  simdjson::padded_string padded(text);
  auto result = doc.impl_->parser->parse(padded);
  if (result.error()) {
    return Error(errc::bad_request,
                 fmt::format("invalid JSON: {}", simdjson::error_message(result.error())));
  }
  doc.impl_->root = result.value_unsafe();
  return doc;
}

Value Document::root() const {
  return Value(std::make_shared<const Value::Handle>(Value::Handle{impl_->parser, impl_->root}));
}

namespace {
using simdjson::dom::element_type;
}

bool Value::is_null() const { return h_->element.is_null(); }
bool Value::is_object() const { return h_->element.type() == element_type::OBJECT; }
bool Value::is_array() const { return h_->element.type() == element_type::ARRAY; }
bool Value::is_string() const { return h_->element.type() == element_type::STRING; }
bool Value::is_bool() const { return h_->element.type() == element_type::BOOL; }
bool Value::is_number() const {
  auto t = h_->element.type();
  return t == element_type::INT64 || t == element_type::UINT64 || t == element_type::DOUBLE;
}

std::optional<Value> Value::get(std::string_view key) const {
  if (!is_object()) return std::nullopt;
  auto r = h_->element.get_object().value_unsafe()[key];
  if (r.error()) return std::nullopt;
  return Value(std::make_shared<const Handle>(Handle{h_->parser, r.value_unsafe()}));
}

std::optional<std::string> Value::as_string() const {
  auto r = h_->element.get_string();
  if (r.error()) return std::nullopt;
  return std::string(r.value_unsafe());
}

std::optional<std::int64_t> Value::as_int() const {
  auto r = h_->element.get_int64();
  if (!r.error()) return r.value_unsafe();
  auto d = h_->element.get_double();
  if (!d.error() && std::floor(d.value_unsafe()) == d.value_unsafe()) {
    return static_cast<std::int64_t>(d.value_unsafe());
  }
  return std::nullopt;
}

std::optional<double> Value::as_double() const {
  auto r = h_->element.get_double();
  if (r.error()) return std::nullopt;
  return r.value_unsafe();
}

std::optional<bool> Value::as_bool() const {
  auto r = h_->element.get_bool();
  if (r.error()) return std::nullopt;
  return r.value_unsafe();
}

std::optional<std::string> Value::get_string(std::string_view key) const {
  auto v = get(key);
  return v ? v->as_string() : std::nullopt;
}
std::optional<std::int64_t> Value::get_int(std::string_view key) const {
  auto v = get(key);
  return v ? v->as_int() : std::nullopt;
}
std::optional<double> Value::get_double(std::string_view key) const {
  auto v = get(key);
  return v ? v->as_double() : std::nullopt;
}
std::optional<bool> Value::get_bool(std::string_view key) const {
  auto v = get(key);
  return v ? v->as_bool() : std::nullopt;
}

std::vector<Value> Value::items() const {
  std::vector<Value> out;
  if (!is_array()) return out;
  // Bind the array first: iterating the temporary's view would outlive it.
  simdjson::dom::array array = h_->element.get_array().value_unsafe();
  for (auto e : array) {
    out.emplace_back(std::make_shared<const Handle>(Handle{h_->parser, e}));
  }
  return out;
}

std::vector<std::pair<std::string, Value>> Value::members() const {
  std::vector<std::pair<std::string, Value>> out;
  if (!is_object()) return out;
  simdjson::dom::object object = h_->element.get_object().value_unsafe();
  for (auto field : object) {
    out.emplace_back(std::string(field.key),
                     Value(std::make_shared<const Handle>(Handle{h_->parser, field.value})));
  }
  return out;
}

std::string Value::to_json() const { return simdjson::minify(h_->element); }

}  // namespace fti::json
