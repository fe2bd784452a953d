#pragma once
// The PostgreSQL driver (libpq), private to the db room: callers go through open_database().
#include <memory>
#include <string>

#include "fti/db/database.hpp"

namespace fti::db {

// Connects to `url` (a libpq URI, postgresql://user[:password]@host[:port]/dbname[?...]).
Result<std::unique_ptr<Database>> open_postgres_database(const std::string& url, const OpenOptions& options);

}  // namespace fti::db
