#pragma once
// JSON: a streaming writer with correct escaping, and a small reader facade over simdjson.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fti/core/result.hpp"

namespace fti::json {

// Appends `s` to `out` as a JSON string literal (with quotes). Invalid UTF-8 is replaced by
// U+FFFD so the output is always valid JSON; control characters are escaped.
void append_quoted(std::string& out, std::string_view s);
std::string quote(std::string_view s);
// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is not valid.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i);

// Writes JSON without building a tree. Commas and nesting are tracked for the caller:
//   Writer w; w.begin_object(); w.key("a").value(1); w.end_object(); w.str();
class Writer {
 public:
  Writer& begin_object();
  Writer& end_object();
  Writer& begin_array();
  Writer& end_array();
  Writer& key(std::string_view k);
  Writer& value(std::string_view s);
  Writer& value(const char* s) { return value(std::string_view(s)); }
  Writer& value(const std::string& s) { return value(std::string_view(s)); }
  Writer& value(std::int64_t n);
  Writer& value(int n) { return value(static_cast<std::int64_t>(n)); }
  Writer& value(std::uint64_t n);
  Writer& value(double d);
  Writer& value(bool b);
  Writer& null();
  // Inserts already-serialised JSON (trusted: produced by another Writer).
  Writer& raw(std::string_view json);
  template <class T>
  Writer& value(const std::optional<T>& v) {
    return v ? value(*v) : null();
  }
  template <class T>
  Writer& field(std::string_view k, const T& v) {
    key(k);
    return value(v);
  }

  const std::string& str() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void before_value();
  std::string out_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool after_key_ = false;
};

// A parsed JSON document, read through simple typed accessors. Backed by simdjson's DOM.
class Value;
class Document {
 public:
  static Result<Document> parse(std::string_view text);
  Document(Document&&) noexcept;
  Document& operator=(Document&&) noexcept;
  ~Document();
  Value root() const;

 private:
  Document();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class Value {
 public:
  bool is_null() const;
  bool is_object() const;
  bool is_array() const;
  bool is_string() const;
  bool is_number() const;
  bool is_bool() const;
  // Object member lookup; a missing key gives nullopt.
  std::optional<Value> get(std::string_view key) const;
  std::optional<std::string> get_string(std::string_view key) const;
  std::optional<std::int64_t> get_int(std::string_view key) const;
  std::optional<double> get_double(std::string_view key) const;
  std::optional<bool> get_bool(std::string_view key) const;
  std::optional<std::string> as_string() const;
  std::optional<std::int64_t> as_int() const;
  std::optional<double> as_double() const;
  std::optional<bool> as_bool() const;
  std::vector<Value> items() const;                              // array elements
  std::vector<std::pair<std::string, Value>> members() const;    // object members
  std::string to_json() const;                                   // minified

  struct Handle;  // simdjson element, hidden from callers
  explicit Value(std::shared_ptr<const Handle> h) : h_(std::move(h)) {}

 private:
  std::shared_ptr<const Handle> h_;
};

}  // namespace fti::json
