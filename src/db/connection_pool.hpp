#pragma once
// Private to the db room: the bounded pool both drivers hand connections out of, and the
// Database built on it (a driver supplies how to open one connection). At most
// `size` connections exist; acquire() reuses an idle one, opens a new one while under the
// bound, or waits for one to come back, up to a timeout. Connections are opened without
// the pool's lock held, so a slow connect never stalls the others.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "fti/db/database.hpp"

namespace fti::db::detail {

class ConnectionPool {
 public:
  using Open = std::function<Result<std::unique_ptr<Connection>>()>;

  ConnectionPool(Open open, int size, std::chrono::milliseconds wait)
      : open_(std::move(open)), size_(std::max(size, 1)), wait_(std::max(wait, std::chrono::milliseconds(1))) {}

  // Opens the first connection now, so a bad URL or path fails at start-up, not on first use.
  Status open_first() {
    FTI_ASSIGN_OR_RETURN(auto conn, open_());
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(conn));
    ++open_count_;
    return ok_status();
  }

  Result<std::unique_ptr<Connection>> take() {
    std::unique_lock lock(mutex_);
    const bool available =
        available_.wait_for(lock, wait_, [&] { return !idle_.empty() || open_count_ < size_; });
    if (!available) {
      return Error(errc::db_busy,
                   "all " + std::to_string(size_) + " database connections stayed in use; retry later");
    }
    if (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      return conn;
    }
    ++open_count_;  // reserve the slot, then open without holding the lock
    lock.unlock();
    auto conn = open_();
    if (!conn.ok()) give_back_slot();
    return conn;
  }

  // A broken connection (or one whose session died) is closed, freeing its slot.
  void put_back(std::unique_ptr<Connection> conn, bool broken) {
    if (broken || !conn->usable()) {
      conn.reset();
      give_back_slot();
      return;
    }
    {
      std::lock_guard lock(mutex_);
      idle_.push_back(std::move(conn));
    }
    available_.notify_one();
  }


 private:
  void give_back_slot() {
    {
      std::lock_guard lock(mutex_);
      --open_count_;
    }
    available_.notify_one();
  }

  const Open open_;
  const int size_;
  const std::chrono::milliseconds wait_;
  std::mutex mutex_;
  std::condition_variable available_;  // a connection came back or a slot freed up
  std::vector<std::unique_ptr<Connection>> idle_;
  int open_count_ = 0;  // connections in existence, idle or leased
};

// A Database whose connections come from a ConnectionPool: what differs between drivers
// is only how a connection is opened.
class PooledDatabase final : public Database {
 public:
  PooledDatabase(Dialect dialect, ConnectionPool::Open open, int pool_size, std::chrono::milliseconds wait)
      : dialect_(dialect), pool_(std::move(open), pool_size, wait) {}

  Dialect dialect() const override { return dialect_; }
  Status open_first() { return pool_.open_first(); }

  Result<Lease> acquire() override {
    FTI_ASSIGN_OR_RETURN(auto conn, pool_.take());
    return Lease(this, std::move(conn));
  }

 protected:
  void release(std::unique_ptr<Connection> conn, bool broken) override { pool_.put_back(std::move(conn), broken); }

 private:
  const Dialect dialect_;
  ConnectionPool pool_;
};

}  // namespace fti::db::detail
