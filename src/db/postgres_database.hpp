#pragma once
// The PostgreSQL driver (libpq), private to the db room: callers go through open_database().
#include <memory>
#include <string>

#include "fti/db/database.hpp"

struct pg_conn;

namespace fti::db {

// Connects to `url` (a libpq URI, postgresql://user[:password]@host[:port]/dbname[?...]).
Result<std::unique_ptr<Database>> open_postgres_database(const std::string& url, const OpenOptions& options);

// Sends a session's notices (and the server's farewell when it ends the session) to the
// debug log instead of libpq's default, stderr.
void route_notices_to_log(pg_conn* conn);

}  // namespace fti::db
