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

}  // namespace fti::db
