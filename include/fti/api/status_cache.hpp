#pragma once
// JobStatusCache: the answers of GET /api/v1/jobs/{id}, kept in memory so that a client polling
// its job is answered on the I/O thread, without a database read or a hand-over to the pool.
//
// Freshness: every event of a job (this instance's own, and other instances' through the
// PostgreSQL bridge) drops its entry, and an entry lives at most `ttl` in any case. The TTL
// bounds how stale an answer can be after a change that published no event here (retention,
// or another instance's change while the bridge reconnects). A read of the database that an
// event overtook is not stored (see ticket()), so an old answer never outlives the event that
// made it old.
//
// Tenants: an entry remembers its tenant and answers that tenant only; another tenant's read
// of the same id misses and gets the store's 404.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "fti/core/clock.hpp"

namespace fti::api {

class JobStatusCache {
 public:
  // ttl 0 turns the cache off: find() always misses and store() keeps nothing.
  JobStatusCache(const Clock& clock, std::chrono::milliseconds ttl, std::size_t max_entries);

  bool enabled() const { return ttl_.count() > 0; }
  // The stored answer body for `tenant`'s job, when there is a fresh one.
  std::optional<std::string> find(const std::string& tenant, const std::string& job_id);
  // Taken before reading the job from the store; store() keeps the answer only if no event of
  // the job arrived since.
  std::uint64_t ticket(const std::string& job_id) const;
  void store(std::uint64_t ticket, const std::string& tenant, const std::string& job_id, std::string body);
  // An event of the job: its entry goes, and reads already under way are not stored.
  void invalidate(const std::string& job_id);

  std::uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }
  std::uint64_t misses() const { return misses_.load(std::memory_order_relaxed); }
  std::size_t size() const;

 private:
  struct Entry {
    std::string tenant;
    std::string body;
    TimeMs stored_ms = 0;
  };
  // Invalidations are counted per stripe of job ids (not per job: that would need an entry
  // per job ever seen); a collision only costs a read that is not stored.
  static constexpr std::size_t kStripes = 64;
  std::atomic<std::uint64_t>& generation_of(const std::string& job_id) const;
  void make_room(TimeMs now);  // with mutex_ held

  const Clock& clock_;
  const std::chrono::milliseconds ttl_;
  const std::size_t max_entries_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;  // by job id
  mutable std::array<std::atomic<std::uint64_t>, kStripes> generations_{};
  std::atomic<std::uint64_t> hits_{0};
  std::atomic<std::uint64_t> misses_{0};
};

}  // namespace fti::api
