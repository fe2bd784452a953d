#pragma once
// Versioned schema migrations, applied in order inside one transaction each and recorded in
// schema_migrations. The same list serves both drivers; a migration may carry per-dialect SQL.
#include <string>
#include <vector>

#include "fti/db/database.hpp"

namespace fti::db {

struct Migration {
  int version;
  std::string name;
  std::string sqlite_sql;
  std::string postgres_sql;  // empty: same as sqlite_sql
};

// The project's migrations, oldest first.
const std::vector<Migration>& all_migrations();

// Applies the pending ones; returns how many were applied.
Result<int> migrate(Database& db, const std::vector<Migration>& migrations = all_migrations());

}  // namespace fti::db
