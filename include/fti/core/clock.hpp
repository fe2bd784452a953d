#pragma once
// Clock: the one source of wall time, injected so tests can use a manual clock.
#include <chrono>
#include <cstdint>
#include <string>

namespace fti {

// Milliseconds since the Unix epoch; the unit every timestamp in the database uses.
using TimeMs = std::int64_t;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimeMs now_ms() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimeMs now_ms() const override;
};

// RFC 3339 UTC with a Z suffix, second precision: "2026-01-01T00:00:00Z".
std::string format_rfc3339(TimeMs t);

// A monotonic stopwatch for durations (metrics, timings); not for stored times.
class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  std::int64_t millis() const { return static_cast<std::int64_t>(seconds() * 1000.0); }

 private:
  std::chrono::steady_clock::time_point start_;
};

}  // namespace fti
