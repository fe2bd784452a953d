#pragma once
// Circuit breakers on what every request needs: the database and the blob store. A
// background thread checks each one on its own interval (`tick`); a run of failed checks
// opens its breaker, and then only one trial check is made per cooldown. While a breaker is
// open, /readyz answers 503 naming it (balancers route around the instance) and requests
// that need it are refused at once with 503 and Retry-After instead of each waiting out a
// timeout against a dead dependency. Probes read the state: a probe never touches the
// database or the store itself (an S3 LIST per probe, before).
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "fti/core/circuit_breaker.hpp"
#include "fti/core/clock.hpp"
#include "fti/core/result.hpp"

namespace fti::ops {

struct DependencyOptions {
  std::chrono::milliseconds interval{2000};  // between checks while healthy
  int failure_threshold = 3;                  // consecutive failed checks that open it
  std::chrono::milliseconds cooldown{5000};   // before the next trial while open
};

struct DependencyState {
  std::string name;
  bool up = true;           // the breaker is closed
  std::string state;        // closed | open | half_open
  std::string last_error;   // of the last failed check; empty after a success
  TimeMs checked_ms = 0;    // the last check; 0 before the first
  TimeMs retry_at_ms = 0;   // open: when the next trial runs
};

class DependencyMonitor {
 public:
  using Check = std::function<Status()>;
  using Listener = std::function<void(const DependencyState&)>;  // on every up/down change

  void add(std::string name, Check check, DependencyOptions options = {});
  void on_change(Listener listener);
  // Runs the checks that are due, outside the lock. Call about once a second.
  void tick(TimeMs now);
  std::vector<DependencyState> states(TimeMs now) const;
  // The first dependency that is down, if any.
  std::optional<DependencyState> first_down(TimeMs now) const;

 private:
  struct Entry {
    std::string name;
    Check check;
    DependencyOptions options;
    CircuitBreaker breaker;
    std::string last_error;
    TimeMs checked_ms = 0;
    bool was_up = true;
  };
  DependencyState state_of(const Entry& e, TimeMs now) const;

  mutable std::mutex mutex_;
  std::vector<Entry> entries_;
  std::vector<Listener> listeners_;
};

}  // namespace fti::ops
