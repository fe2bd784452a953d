#pragma once
// Surge mode: the request rate of the last minute against a slow baseline (an exponential
// average with a ten-minute time constant, by default). When the minute's rate is above
// `factor` times the baseline (and at least `min_rate`), surge mode turns on; it turns off
// once the rate falls under `exit_factor` times the baseline, but not before `min_seconds`
// (hysteresis: no flapping on a rate that hovers at the threshold). An operator can force
// it on or off; forcing null returns to automatic. Listeners hear every change (flags, the
// LLM mode, cache TTLs, the metric, the webhook). Time comes from the caller: tests drive
// it with a manual clock.
#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "fti/core/clock.hpp"

namespace fti::ops {

struct SurgeOptions {
  double factor = 2.0;        // on above factor x baseline
  double exit_factor = 1.5;   // off under exit_factor x baseline
  double min_rate = 5.0;      // requests/s: below this a "surge" is noise
  int min_seconds = 60;       // on at least this long before turning off by itself
  int baseline_seconds = 600; // the baseline's time constant
};

struct SurgeStatus {
  bool active = false;
  std::optional<bool> forced;     // set by an operator; nullopt: automatic
  double rate = 0;                // requests/s over the last full minute
  double baseline = 0;            // requests/s, the slow average
  bool baseline_ready = false;    // a full minute seen: automatic decisions start
  TimeMs since_ms = 0;            // when the current state began
  std::string reason;             // why it is in this state
};

class SurgeController {
 public:
  using Listener = std::function<void(const SurgeStatus&)>;

  SurgeController(SurgeOptions options, TimeMs now);

  void record_request(TimeMs now);
  // Rolls the window to `now` and decides; call about once a second (more often is fine).
  void tick(TimeMs now);
  void force(std::optional<bool> active, TimeMs now);
  SurgeStatus status() const;
  // Called after every change of `active`, outside the controller's lock, one call at a
  // time and always with the state current at the call.
  void on_change(Listener listener);

 private:
  static constexpr int kWindow = 60;  // seconds in "the last minute"

  void roll_to(std::int64_t second);           // under mutex_
  std::optional<SurgeStatus> decide(TimeMs now);  // under mutex_; the new status on a change
  void notify(const SurgeStatus& status);

  SurgeOptions options_;
  mutable std::mutex mutex_;
  std::mutex notify_mutex_;  // one notification at a time, outside mutex_
  std::array<std::int64_t, kWindow> counts_{};  // requests per second, ring by second
  std::int64_t current_second_;                  // the second counts_ is filled up to
  std::int64_t seconds_seen_ = 0;                // full seconds rolled past since start
  SurgeStatus status_;
  std::vector<Listener> listeners_;
};

}  // namespace fti::ops
