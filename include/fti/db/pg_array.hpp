#pragma once
// PostgreSQL array literals, so that many values travel as one parameter and a batch is one
// statement: `... FROM unnest($1::text[], $2::bigint[]) AS t(id, attempt)`. SQLite has no
// arrays: callers keep one statement per row there.
#include <string>
#include <vector>

#include "fti/db/database.hpp"

namespace fti::db {

// One column of values as an array literal, e.g. {"a","b \"c\"",NULL,"42"}. Every element is
// quoted (a backslash before " and \), so any text survives, commas, braces, spaces and the
// word NULL included; the SQL cast ($1::bigint[]) gives the element type. A null Value is a
// NULL element.
std::string pg_array(const std::vector<Value>& column);

}  // namespace fti::db
