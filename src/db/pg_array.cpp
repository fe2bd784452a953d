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

}  // namespace

std::string pg_array(const std::vector<Value>& column) {
  std::string out = "{";
  for (std::size_t i = 0; i < column.size(); ++i) {
    if (i > 0) out += ',';
    std::visit(
        [&out](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::monostate>) {
            out += "NULL";
          } else if constexpr (std::is_same_v<T, std::string>) {
            append_quoted(out, v);
          } else {
            append_quoted(out, fmt::format("{}", v));
          }
        },
        column[i]);
  }
  out += '}';
  return out;
}

void append_copy_row(std::string& out, const std::vector<Value>& row) {
  for (std::size_t i = 0; i < row.size(); ++i) {
    if (i > 0) out += '\t';
    std::visit(
        [&out](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::monostate>) {
            out += "\\N";
          } else if constexpr (std::is_same_v<T, std::string>) {
            append_copy_text(out, v);
          } else {
            fmt::format_to(std::back_inserter(out), "{}", v);
          }
        },
        row[i]);
  }
  out += '\n';
}

}  // namespace fti::db
