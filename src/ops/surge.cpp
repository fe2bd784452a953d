#include "fti/ops/surge.hpp"

#include <cmath>
#include <fmt/format.h>
#include <numeric>

namespace fti::ops {

namespace {
std::int64_t second_of(TimeMs ms) { return ms / 1000; }
}  // namespace

SurgeController::SurgeController(SurgeOptions options, TimeMs now)
    : options_(options), current_second_(second_of(now)) {
  status_.since_ms = now;
  status_.reason = "starting: no baseline yet";
}

void SurgeController::record_request(TimeMs now) {
  std::lock_guard lock(mutex_);
  roll_to(second_of(now));
  ++counts_[static_cast<std::size_t>(current_second_ % kWindow)];
}

// Each second that ends feeds the baseline, then its slot is cleared for reuse. Past a
// window's worth of seconds the slots are all empty, so a long gap (no request, no tick)
// decays the baseline in one step instead of a loop per second.
void SurgeController::roll_to(std::int64_t second) {
  if (second <= current_second_) return;
  const double alpha = 1.0 - std::exp(-1.0 / std::max(1, options_.baseline_seconds));
  const std::int64_t steps = second - current_second_;
  auto end_second = [&](double count) {
    ++seconds_seen_;
    if (seconds_seen_ == kWindow && !status_.baseline_ready) {
      // The first full minute seeds the baseline; before it, no automatic decision.
      const auto sum = std::accumulate(counts_.begin(), counts_.end(), std::int64_t{0});
      status_.baseline = static_cast<double>(sum) / kWindow;
      status_.baseline_ready = true;
    } else if (status_.baseline_ready) {
      status_.baseline += alpha * (count - status_.baseline);
    }
  };
  for (std::int64_t i = 0; i < std::min<std::int64_t>(steps, kWindow); ++i) {
    auto& slot = counts_[static_cast<std::size_t>(current_second_ % kWindow)];
    end_second(static_cast<double>(slot));
    ++current_second_;
    counts_[static_cast<std::size_t>(current_second_ % kWindow)] = 0;
  }
  if (const std::int64_t idle = second - current_second_; idle > 0) {
    if (!status_.baseline_ready && seconds_seen_ + idle >= kWindow) {
      end_second(0);  // seeds from the (now empty) window
    }
    seconds_seen_ += idle;
    if (status_.baseline_ready) status_.baseline *= std::pow(1.0 - alpha, static_cast<double>(idle));
    current_second_ = second;
  }
}

void SurgeController::tick(TimeMs now) {
  std::optional<SurgeStatus> changed;
  {
    std::lock_guard lock(mutex_);
    roll_to(second_of(now));
    changed = decide(now);
  }
  if (changed) notify(*changed);
}

std::optional<SurgeStatus> SurgeController::decide(TimeMs now) {
  // The last minute: the ring holds the current, partial second and the 59 full ones
  // before it; the rate is over those 59.
  std::int64_t sum = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    if (i != static_cast<std::size_t>(current_second_ % kWindow)) sum += counts_[i];
  }
  status_.rate = static_cast<double>(sum) / (kWindow - 1);
  if (status_.forced || !status_.baseline_ready) return std::nullopt;
  const double rate = status_.rate;
  const double baseline = status_.baseline;
  if (!status_.active) {
    if (rate >= options_.min_rate && rate > options_.factor * baseline) {
      status_.active = true;
      status_.since_ms = now;
      status_.reason = fmt::format("{:.1f} requests/s over the last minute, above {:.1f} x the baseline of {:.1f}/s",
                                   rate, options_.factor, baseline);
      return status_;
    }
    return std::nullopt;
  }
  const bool held_long_enough = now - status_.since_ms >= static_cast<TimeMs>(options_.min_seconds) * 1000;
  if (held_long_enough && (rate < options_.exit_factor * baseline || rate < options_.min_rate)) {
    status_.active = false;
    status_.since_ms = now;
    status_.reason = fmt::format("{:.1f} requests/s over the last minute, back under {:.1f} x the baseline of {:.1f}/s",
                                 rate, options_.exit_factor, baseline);
    return status_;
  }
  return std::nullopt;
}

void SurgeController::force(std::optional<bool> active, TimeMs now) {
  std::optional<SurgeStatus> changed;
  {
    std::lock_guard lock(mutex_);
    roll_to(second_of(now));
    const bool was = status_.active;
    status_.forced = active;
    if (active) {
      status_.active = *active;
      status_.reason = *active ? "forced on by an operator" : "forced off by an operator";
    } else {
      // Back to automatic: the figures alone decide, with no hysteresis carried over from
      // the forced state (and no surge without a baseline to compare against).
      (void)decide(now);  // refreshes the rate
      const bool surging = status_.baseline_ready && status_.rate >= options_.min_rate &&
                           status_.rate > options_.factor * status_.baseline;
      status_.active = surging;
      status_.reason = fmt::format("automatic again: {:.1f} requests/s over the last minute, baseline {:.1f}/s",
                                   status_.rate, status_.baseline);
    }
    if (status_.active != was) {
      status_.since_ms = now;
      changed = status_;
    }
  }
  if (changed) notify(*changed);
}

SurgeStatus SurgeController::status() const {
  std::lock_guard lock(mutex_);
  return status_;
}

void SurgeController::on_change(Listener listener) {
  std::lock_guard lock(mutex_);
  listeners_.push_back(std::move(listener));
}

// Changes reach the listeners one at a time, each with the state as it is when its turn
// comes: a tick and an operator's force deciding at once cannot leave the listeners with
// the older of the two (the last one applied is always the current state).
void SurgeController::notify(const SurgeStatus& /*changed*/) {
  std::lock_guard in_order(notify_mutex_);
  std::vector<Listener> listeners;
  SurgeStatus current;
  {
    std::lock_guard lock(mutex_);
    listeners = listeners_;
    current = status_;
  }
  for (const auto& l : listeners) l(current);
}

}  // namespace fti::ops
