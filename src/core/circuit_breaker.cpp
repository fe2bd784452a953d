#include "fti/core/circuit_breaker.hpp"

#include <algorithm>

namespace fti {

bool CircuitBreaker::allow(TimeMs now) {
  switch (state(now)) {
    case State::closed:
      return true;
    case State::open:
      return false;
    case State::half_open:
      if (trial_in_flight_) return false;
      trial_in_flight_ = true;
      return true;
  }
  return false;
}

void CircuitBreaker::record_success() {
  failures_ = 0;
  open_ = false;
  trial_in_flight_ = false;
}

void CircuitBreaker::record_failure(TimeMs now, std::chrono::milliseconds rest_at_least) {
  trial_in_flight_ = false;
  ++failures_;
  // A failed trial re-opens at once; otherwise only a run of failures opens.
  if (open_ || failures_ >= threshold_) {
    open_ = true;
    // A call that was under way when a longer rest began (a refused key) must not cut it short.
    open_until_ = std::max(open_until_, now + std::max(cooldown_, rest_at_least).count());
  }
}

void CircuitBreaker::trip(TimeMs now, std::chrono::milliseconds rest) {
  trial_in_flight_ = false;
  open_ = true;
  open_until_ = std::max(open_until_, now + std::max(cooldown_, rest).count());
}

CircuitBreaker::State CircuitBreaker::state(TimeMs now) const {
  if (!open_) return State::closed;
  return now < open_until_ ? State::open : State::half_open;
}

std::string_view breaker_state_name(CircuitBreaker::State state) {
  switch (state) {
    case CircuitBreaker::State::closed:
      return "closed";
    case CircuitBreaker::State::open:
      return "open";
    case CircuitBreaker::State::half_open:
      return "half_open";
  }
  return "closed";
}

}  // namespace fti
