// PostgreSQL array literals (include/fti/db/pg_array.hpp; PostgreSQL's documentation,
// "Array Value Input").
#include "fti/db/pg_array.hpp"

#include <fmt/format.h>

#include <type_traits>

namespace fti::db {

namespace {

void append_quoted(std::string& out, std::string_view v) {
  out += '"';
  for (char ch : v) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  out += '"';
}

void append_copy_text(std::string& out, std::string_view v) {
  for (char ch : v) {
    switch (ch) {
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      default: out += ch;
    }
  }
}

// Appends `values`, `separator` between them: a null as `null_token`, text through
// `append_text`, numbers as their shortest decimal form (which nothing escapes or quotes).
// pg_array quotes numbers too, so they go through `append_text` as well when `quote_numbers`.
template <class AppendText>
void append_values(std::string& out, const std::vector<Value>& values, char separator, std::string_view null_token,
                   AppendText append_text, bool quote_numbers) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += separator;
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::monostate>) {
            out += null_token;
          } else if constexpr (std::is_same_v<T, std::string>) {
            append_text(out, v);
          } else if (quote_numbers) {
            append_text(out, fmt::format("{}", v));
          } else {
            fmt::format_to(std::back_inserter(out), "{}", v);
          }
        },
        values[i]);
  }
}

}  // namespace

std::string pg_array(const std::vector<Value>& column) {
  std::string out = "{";
  append_values(out, column, ',', "NULL", append_quoted, true);
  out += '}';
  return out;
}

void append_copy_row(std::string& out, const std::vector<Value>& row) {
  append_values(out, row, '\t', "\\N", append_copy_text, false);
  out += '\n';
}

}  // namespace fti::db
