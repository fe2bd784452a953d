#pragma once
// A circuit breaker: one per LLM provider and Ollama instance (the router), one per
// database and store (ops::DependencyMonitor). Closed: calls go through and consecutive
// failures are counted. Open: after `failure_threshold` of them, calls are refused for
// `cooldown`. Half-open: after the cooldown one trial is let through (for an Ollama
// instance the router makes it a probe of /api/tags); success closes the breaker, failure
// opens it for another cooldown. Not thread-safe: its owner holds a lock.
#include <chrono>
#include <string_view>

#include "fti/core/clock.hpp"

namespace fti {

class CircuitBreaker {
 public:
  enum class State { closed, open, half_open };

  CircuitBreaker(int failure_threshold, std::chrono::milliseconds cooldown)
      : threshold_(failure_threshold), cooldown_(cooldown) {}

  // Whether a call may go now. In half-open state only one caller gets true until that
  // caller reports back.
  bool allow(TimeMs now);
  void record_success();
  // `rest_at_least` lengthens the cooldown (a retry-after longer than the usual rest).
  void record_failure(TimeMs now, std::chrono::milliseconds rest_at_least = std::chrono::milliseconds(0));

  // Opens at once for `rest`, whatever the count (a spend limit: retrying cannot help).
  void trip(TimeMs now, std::chrono::milliseconds rest);
  // Gives back a half-open trial slot that was taken but not used for a call.
  void release_trial() { trial_in_flight_ = false; }

  State state(TimeMs now) const;
  // Closed with no failure counted: allow() is true and record_success() changes nothing.
  bool is_pristine() const { return !open_ && failures_ == 0 && !trial_in_flight_; }
  // True when the next allowed call is the trial after a cooldown (the router probes first).
  bool needs_trial(TimeMs now) const { return state(now) == State::half_open; }
  TimeMs open_until() const { return open_until_; }

 private:
  int threshold_;
  std::chrono::milliseconds cooldown_;
  int failures_ = 0;
  bool open_ = false;
  bool trial_in_flight_ = false;
  TimeMs open_until_ = 0;
};

std::string_view breaker_state_name(CircuitBreaker::State state);

}  // namespace fti
