#include "fti/db/admin.hpp"

#include <filesystem>
#include <fmt/format.h>

namespace fti::db {

namespace {

Status sqlite_state(Connection& c, DatabaseState& out) {
  FTI_ASSIGN_OR_RETURN(auto pages, c.query("PRAGMA page_count"));
  FTI_ASSIGN_OR_RETURN(auto page_size, c.query("PRAGMA page_size"));
  if (!pages.empty() && !page_size.empty()) out.size_bytes = pages[0].get_int(0) * page_size[0].get_int(0);
  // The main database's file: its WAL lies beside it.
  FTI_ASSIGN_OR_RETURN(auto files, c.query("PRAGMA database_list"));
  for (const auto& row : files) {
    if (row.get_text(1) != "main" || row.get_text(2).empty()) continue;
    std::error_code ec;
    auto wal = std::filesystem::file_size(row.get_text(2) + "-wal", ec);
    out.wal_bytes = ec ? 0 : static_cast<std::int64_t>(wal);
  }
  return ok_status();
}

Status postgres_state(Connection& c, DatabaseState& out, double long_query_seconds) {
  FTI_ASSIGN_OR_RETURN(auto size, c.query("SELECT pg_database_size(current_database())"));
  if (!size.empty()) out.size_bytes = size[0].get_int(0);
  FTI_ASSIGN_OR_RETURN(auto states, c.query("SELECT COALESCE(state, 'background'), COUNT(*) FROM pg_stat_activity "
                                            "WHERE datname = current_database() GROUP BY 1"));
  for (const auto& row : states) out.connections[row.get_text(0)] = row.get_int(1);
  FTI_ASSIGN_OR_RETURN(
      auto slow,
      c.query("SELECT pid, EXTRACT(EPOCH FROM (clock_timestamp() - query_start))::float8, state, LEFT(query, 300) "
              "FROM pg_stat_activity WHERE datname = current_database() AND state IS NOT NULL AND state <> 'idle' "
              "AND pid <> pg_backend_pid() AND query_start < clock_timestamp() - make_interval(secs => $1) "
              "ORDER BY query_start LIMIT 50",
              {Value(long_query_seconds)}));
  for (const auto& row : slow) {
    out.long_queries.push_back({row.get_int(0), row.get_double(1), row.get_text(2), row.get_text(3)});
  }
  return ok_status();
}

}  // namespace

Result<CheckpointRecord> checkpoint_wal(Database& database, TimeMs now) {
  if (database.dialect() != Dialect::sqlite) {
    return Error(errc::bad_request, "PostgreSQL runs its own checkpoints");
  }
  FTI_ASSIGN_OR_RETURN(auto conn, database.acquire());
  FTI_ASSIGN_OR_RETURN(auto rows, conn->query("PRAGMA wal_checkpoint(PASSIVE)"));
  CheckpointRecord r;
  r.at_ms = now;
  if (!rows.empty()) {
    r.busy = rows[0].get_int(0) != 0;
    r.wal_frames = rows[0].get_int(1);
    r.checkpointed_frames = rows[0].get_int(2);
  }
  return r;
}

Result<DatabaseState> database_state(Database& database, double long_query_seconds) {
  DatabaseState out;
  out.driver = database.dialect() == Dialect::postgres ? "postgres" : "sqlite";
  FTI_ASSIGN_OR_RETURN(auto conn, database.acquire());
  if (database.dialect() == Dialect::postgres) {
    FTI_TRY(postgres_state(*conn, out, long_query_seconds));
  } else {
    FTI_TRY(sqlite_state(*conn, out));
  }
  return out;
}

Status cancel_query(Database& database, std::int64_t pid) {
  if (database.dialect() != Dialect::postgres) {
    return Error(errc::bad_request, "only PostgreSQL queries can be cancelled (SQLite runs inside this process)");
  }
  FTI_ASSIGN_OR_RETURN(auto conn, database.acquire());
  FTI_ASSIGN_OR_RETURN(auto rows, conn->query("SELECT pg_cancel_backend(pid)::int FROM pg_stat_activity "
                                              "WHERE pid = $1 AND datname = current_database() AND pid <> pg_backend_pid()",
                                              {Value(pid)}));
  if (rows.empty()) {
    return Error(errc::not_found, fmt::format("no session {} runs a query on this database (GET /api/v1/admin/database "
                                              "lists them)", pid));
  }
  if (rows[0].get_int(0) == 0) {
    return Error(errc::conflict, fmt::format("PostgreSQL did not cancel session {} (it may have just finished)", pid));
  }
  return ok_status();
}

}  // namespace fti::db
