// ReadRouting: round-robin over replicas, with each client's last write position checked
// against the replica's replay position inside the read's own transaction.
#include "fti/db/read_routing.hpp"

#include "fti/core/log.hpp"

namespace fti::db {

ReadRouting::ReadRouting(Database& primary, std::vector<std::unique_ptr<Database>> replicas)
    : primary_(primary), replicas_(std::move(replicas)) {}

void ReadRouting::wrote(const std::string& client) {
  if (replicas_.empty()) return;
  auto conn = primary_.acquire();
  if (!conn.ok()) return;
  // The insert position, not pg_current_wal_lsn(): with asynchronous commit the written
  // position may not have reached the commit yet, and a replica "past" it would lack it.
  auto rows = (*conn)->query("SELECT pg_current_wal_insert_lsn()::text");
  std::lock_guard lock(mutex_);
  if (!rows.ok() || rows->empty()) {
    // Position unknown: the client reads from the primary until a later write succeeds.
    written_at_[client] = "";
    return;
  }
  if (written_at_.size() >= kMaxClients) written_at_.clear();  // forgetting only costs freshness checks
  written_at_[client] = rows->front().get_text(0);
}

Result<bool> ReadRouting::replica_has_replayed(Connection& replica, const std::string& lsn) {
  FTI_ASSIGN_OR_RETURN(auto rows, replica.query("SELECT COALESCE(pg_last_wal_replay_lsn() >= $1::pg_lsn, false)::integer",
                                                {Value(lsn)}));
  return !rows.empty() && rows.front().get_int(0) == 1;
}

Status ReadRouting::read(const std::string& client, const std::function<Status(Connection&)>& fn) {
  if (replicas_.empty()) return primary_.transact(TxMode::read, fn);
  std::optional<std::string> must_see;
  std::size_t first = 0;
  {
    std::lock_guard lock(mutex_);
    if (auto it = written_at_.find(client); it != written_at_.end()) must_see = it->second;
    first = next_replica_++;
  }
  if (!must_see || !must_see->empty()) {
    for (std::size_t i = 0; i < replicas_.size(); ++i) {
      Database& replica = *replicas_[(first + i) % replicas_.size()];
      bool stale = false;
      Status st = replica.transact(TxMode::read, [&](Connection& c) -> Status {
        if (must_see) {
          FTI_ASSIGN_OR_RETURN(bool fresh, replica_has_replayed(c, *must_see));
          if (!fresh) {
            stale = true;
            return ok_status();
          }
        }
        return fn(c);
      });
      // The client's position is kept, not dropped once one replica has it: another
      // replica may still be behind, and the check is one function call in the same read.
      if (st.ok() && !stale) return st;
      if (!st.ok() && st.error().code != errc::db_busy && st.error().code != errc::db_error &&
          st.error().code != errc::timeout) {
        return st;
      }
      if (!st.ok()) log::get("db")->warn("a read replica failed a read, trying the next: {}", st.error().message);
    }
  }
  return primary_.transact(TxMode::read, fn);
}

}  // namespace fti::db
