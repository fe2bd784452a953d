#pragma once
// The SQLite driver, private to the db room: callers go through open_database().
#include <memory>
#include <string>

#include "fti/db/database.hpp"

namespace fti::db {

// Opens (creating if needed) the SQLite file at `path`; ":memory:" gives a private in-memory
// database on a pool of one connection (every connection would otherwise see its own).
Result<std::unique_ptr<Database>> open_sqlite_database(const std::string& path,
                                                       const OpenOptions& options);

}  // namespace fti::db
