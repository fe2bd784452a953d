#pragma once
// What an operator needs to see of the database (GET /api/v1/admin/database) and the one
// thing the overload playbook does to it: cancel a runaway query. SQLite: file and WAL
// sizes, and this process's last checkpoint; PostgreSQL: connections by state, queries
// running longer than a threshold, the database's size.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fti/core/clock.hpp"
#include "fti/core/result.hpp"
#include "fti/db/database.hpp"

namespace fti::db {

struct CheckpointRecord {
  TimeMs at_ms = 0;
  std::int64_t wal_frames = 0;           // frames in the WAL when it ran
  std::int64_t checkpointed_frames = 0;  // of those, copied into the database file
  bool busy = false;                     // a reader or writer kept it from finishing
};

struct LongQuery {
  std::int64_t pid = 0;
  double seconds = 0;
  std::string state;
  std::string query;  // the statement's text, cut at 300 characters
};

struct DatabaseState {
  std::string driver;                // "sqlite" | "postgres"
  std::int64_t size_bytes = 0;       // the database file, or pg_database_size
  std::optional<std::int64_t> wal_bytes;                  // SQLite
  std::map<std::string, std::int64_t> connections;        // PostgreSQL: by state
  std::vector<LongQuery> long_queries;                    // PostgreSQL
};

// SQLite: a PASSIVE checkpoint (never waits for readers or writers). PostgreSQL checkpoints
// itself: unsupported there (bad_request).
Result<CheckpointRecord> checkpoint_wal(Database& database, TimeMs now);

Result<DatabaseState> database_state(Database& database, double long_query_seconds);

// PostgreSQL: pg_cancel_backend for a query of this database (never this session's own).
// not_found when no such session runs here; bad_request on SQLite.
Status cancel_query(Database& database, std::int64_t pid);

}  // namespace fti::db
