#pragma once
// Read replicas (`database.replica_urls`): reads that may be a little stale (a job's status,
// a tenant's list) go to a PostgreSQL streaming replica, writes to the primary. A client
// reads its own writes: after a client writes, its reads go to a replica only once that
// replica has replayed the primary's WAL past the write (pg_last_wal_replay_lsn), else to
// the primary. A replica that fails a read is skipped for that read.
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "fti/core/result.hpp"
#include "fti/db/database.hpp"

namespace fti::db {

class ReadRouting {
 public:
  ReadRouting(Database& primary, std::vector<std::unique_ptr<Database>> replicas);

  // Runs `fn` in a read transaction for `client` (a tenant): on a replica when one is
  // fresh enough for what the client wrote, else on the primary.
  Status read(const std::string& client, const std::function<Status(Connection&)>& fn);

  // Call after `client`'s write committed on the primary: remembers the primary's WAL
  // position, which the client's later reads must see.
  void wrote(const std::string& client);

  std::size_t replica_count() const { return replicas_.size(); }

 private:
  Result<bool> replica_has_replayed(Connection& replica, const std::string& lsn);

  static constexpr std::size_t kMaxClients = 100'000;

  Database& primary_;
  std::vector<std::unique_ptr<Database>> replicas_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::string> written_at_;  // client -> primary LSN after its write
  std::size_t next_replica_ = 0;
};

}  // namespace fti::db
