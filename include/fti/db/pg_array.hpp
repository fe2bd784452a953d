#pragma once
// PostgreSQL array literals, so that many values travel as one parameter and a batch is one
// statement: `... FROM unnest($1::text[], $2::bigint[]) AS t(id, attempt)`; and rows in
// COPY's text format, for Connection::copy_in. SQLite has neither: callers keep one
// statement per row there.
#include <string>
#include <vector>

#include "fti/db/database.hpp"

namespace fti::db {

// One column of values as an array literal, e.g. {"a","b \"c\"",NULL,"42"}. Every element is
// quoted (a backslash before " and \), so any text survives, commas, braces, spaces and the
// word NULL included; the SQL cast ($1::bigint[]) gives the element type. A null Value is a
// NULL element.
std::string pg_array(const std::vector<Value>& column);

// Appends one row in COPY's text format: columns separated by a tab, the row ended by a
// newline, a null Value as \N, and a backslash before the characters that would end a
// column or a row (tab, newline, carriage return) and before a backslash itself.
void append_copy_row(std::string& out, const std::vector<Value>& row);

}  // namespace fti::db
