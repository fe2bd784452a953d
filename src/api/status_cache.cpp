// The job status cache (include/fti/api/status_cache.hpp).
#include "fti/api/status_cache.hpp"

#include <functional>

namespace fti::api {

JobStatusCache::JobStatusCache(const Clock& clock, std::chrono::milliseconds ttl, std::size_t max_entries)
    : clock_(clock), ttl_(ttl), max_entries_(max_entries) {}

std::atomic<std::uint64_t>& JobStatusCache::generation_of(const std::string& job_id) const {
  return generations_[std::hash<std::string>{}(job_id) % kStripes];
}

std::optional<std::string> JobStatusCache::find(const std::string& tenant, const std::string& job_id) {
  if (!enabled()) return std::nullopt;
  const TimeMs now = clock_.now_ms();
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(job_id);
    if (it != entries_.end() && it->second.tenant == tenant && now - it->second.stored_ms < ttl_.count()) {
      hits_.fetch_add(1, std::memory_order_relaxed);
      return it->second.body;
    }
  }
  misses_.fetch_add(1, std::memory_order_relaxed);
  return std::nullopt;
}

std::uint64_t JobStatusCache::ticket(const std::string& job_id) const {
  return generation_of(job_id).load(std::memory_order_acquire);
}

void JobStatusCache::store(std::uint64_t ticket, const std::string& tenant, const std::string& job_id,
                           std::string body) {
  if (!enabled()) return;
  const TimeMs now = clock_.now_ms();
  std::lock_guard lock(mutex_);
  // invalidate() bumps the generation under this lock, so this check and the insert cannot
  // straddle an event.
  if (generation_of(job_id).load(std::memory_order_acquire) != ticket) return;
  if (entries_.size() >= max_entries_ && entries_.find(job_id) == entries_.end()) make_room(now);
  entries_[job_id] = Entry{tenant, std::move(body), now};
}

void JobStatusCache::invalidate(const std::string& job_id) {
  if (!enabled()) return;
  std::lock_guard lock(mutex_);
  generation_of(job_id).fetch_add(1, std::memory_order_acq_rel);
  entries_.erase(job_id);
}

std::size_t JobStatusCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

// Expired entries go first; if every entry is fresh the cache starts over, which costs one
// database read per polled job rather than a scan on every store.
void JobStatusCache::make_room(TimeMs now) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    it = now - it->second.stored_ms >= ttl_.count() ? entries_.erase(it) : std::next(it);
  }
  if (entries_.size() >= max_entries_) entries_.clear();
}

}  // namespace fti::api
