#include "fti/ops/dependency_monitor.hpp"

namespace fti::ops {

void DependencyMonitor::add(std::string name, Check check, DependencyOptions options) {
  std::lock_guard lock(mutex_);
  entries_.push_back(Entry{std::move(name), std::move(check), options,
                           CircuitBreaker(options.failure_threshold, options.cooldown), {}, 0, true});
}

void DependencyMonitor::on_change(Listener listener) {
  std::lock_guard lock(mutex_);
  listeners_.push_back(std::move(listener));
}

DependencyState DependencyMonitor::state_of(const Entry& e, TimeMs now) const {
  DependencyState s;
  s.name = e.name;
  const auto state = e.breaker.state(now);
  s.up = state == CircuitBreaker::State::closed;
  s.state = std::string(breaker_state_name(state));
  s.last_error = e.last_error;
  s.checked_ms = e.checked_ms;
  s.retry_at_ms = s.up ? 0 : e.breaker.open_until();
  return s;
}

void DependencyMonitor::tick(TimeMs now) {
  // Which checks are due: healthy ones on their interval, open ones when their trial is.
  std::vector<std::pair<std::size_t, Check>> due;
  {
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      Entry& e = entries_[i];
      const bool interval_passed = e.checked_ms == 0 || now - e.checked_ms >= e.options.interval.count();
      if (interval_passed && e.breaker.allow(now)) due.emplace_back(i, e.check);
    }
  }
  std::vector<DependencyState> changed;
  for (auto& [i, check] : due) {
    Status result = check();  // outside the lock: a check may take its timeout
    std::lock_guard lock(mutex_);
    Entry& e = entries_[i];
    e.checked_ms = now;
    if (result.ok()) {
      e.breaker.record_success();
      e.last_error.clear();
    } else {
      e.breaker.record_failure(now);
      e.last_error = result.error().message;
    }
    const bool up = e.breaker.state(now) == CircuitBreaker::State::closed;
    if (up != e.was_up) {
      e.was_up = up;
      changed.push_back(state_of(e, now));
    }
  }
  std::vector<Listener> listeners;
  {
    std::lock_guard lock(mutex_);
    listeners = listeners_;
  }
  for (const auto& s : changed) {
    for (const auto& l : listeners) l(s);
  }
}

std::vector<DependencyState> DependencyMonitor::states(TimeMs now) const {
  std::lock_guard lock(mutex_);
  std::vector<DependencyState> out;
  for (const auto& e : entries_) out.push_back(state_of(e, now));
  return out;
}

std::optional<DependencyState> DependencyMonitor::first_down(TimeMs now) const {
  std::lock_guard lock(mutex_);
  for (const auto& e : entries_) {
    if (e.breaker.state(now) != CircuitBreaker::State::closed) return state_of(e, now);
  }
  return std::nullopt;
}

}  // namespace fti::ops
