#pragma once
// ManualClock: a Clock that moves only when a test says so, for backoff, leases and TTLs
// without sleeping. Safe to read from worker threads while the test advances it.
#include <atomic>

#include "fti/core/clock.hpp"

namespace fti::fakes {

class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimeMs start = 1'767'225'600'000) : now_(start) {}  // 2026-01-01T00:00:00Z
  TimeMs now_ms() const override { return now_.load(); }
  void set(TimeMs t) { now_.store(t); }
  void advance(TimeMs delta) { now_.fetch_add(delta); }

 private:
  std::atomic<TimeMs> now_;
};

}  // namespace fti::fakes
