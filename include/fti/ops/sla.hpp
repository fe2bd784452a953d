#pragma once
// SlaMonitor: the service levels of `api`, `cleanup` and `websocket` over a sliding window
// (sla.window_seconds, five minutes by default), fed one event at a time and judged against
// the sla.* targets on request. Each service keeps a ring of time slots (one second each up
// to a 300 s window, wider beyond, so never more than 300 slots); a slot holds its counts and
// a fixed latency histogram with log-spaced bounds (8 per octave, 0.05 ms to about 4 hours),
// and running totals are kept as slots enter and leave. Memory is fixed by the window, not
// by the traffic. Time comes from the caller (the App's clock; tests use a manual one).
//
// What counts, per service:
// - api: every answered request. Availability fails on any 5xx, 503 included (shedding by
//   the in-flight bound, draining, a database that does not answer: the service was not
//   there for that client); 429 does not fail it (a per-client quota refused on purpose; the
//   service was up). The error rate counts 5xx other than 503: answers the service broke.
//   Latency: the exchange, from the request's headers read to the response written.
// - cleanup: jobs that end (succeeded or failed for good; retried attempts and cancels are
//   not outcomes). Latency: submission to finish (the job's created_at to the moment its
//   outcome is recorded), retries and queueing included, as a user waits. The error rate
//   counts every failed job; availability only those the service caused (not a bad, unsafe
//   or oversized archive, nor a job over its resource or time limits).
// - websocket: every event message written to a client. Latency: from the moment the event
//   is handed to the socket's queue (on the publisher's thread, at once, so the event's
//   creation) to the end of its write; a message queued before the handshake is done is
//   timed from the handshake. No availability or error rate.
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fti/core/clock.hpp"
#include "fti/core/config.hpp"

namespace fti::ops {

// One service's targets; an unset target is not judged.
struct SlaTargets {
  std::optional<double> availability_percent;  // at least
  std::optional<double> error_rate_percent;    // at most
  std::optional<double> p50_ms;                // at most
  std::optional<double> p95_ms;
  std::optional<double> p99_ms;
  std::optional<double> sustained_per_second;  // capacity the targets hold at: reported only
  std::optional<double> peak_per_second;
};

struct SlaOptions {
  int window_seconds = 300;
  SlaTargets api;
  SlaTargets cleanup;
  SlaTargets websocket;
};

// The sla.* configuration as options (latency targets of 0 are not judged).
SlaOptions sla_options_from_config(const SlaConfig& config);

struct SlaViolation {
  std::string metric;  // "availability", "error_rate", "p50_ms", "p95_ms", "p99_ms"
  double target = 0;
  double measured = 0;
};

struct SlaServiceReport {
  std::string service;                         // "api" | "cleanup" | "websocket"
  std::int64_t count = 0;                      // requests, jobs or messages in the window
  double rate_per_second = 0;                  // count over the window (or the time since start)
  double peak_per_second = 0;                  // the busiest slot's rate
  std::optional<double> availability_percent;  // null without events or for websocket
  std::optional<double> error_rate_percent;
  std::optional<double> p50_ms;                // null without events
  std::optional<double> p95_ms;
  std::optional<double> p99_ms;
  SlaTargets targets;
  bool compliant = true;
  std::vector<SlaViolation> violations;

  bool violates(std::string_view metric) const;
};

struct SlaReport {
  int window_seconds = 0;
  bool compliant = true;
  std::vector<SlaServiceReport> services;  // api, cleanup, websocket

  const SlaServiceReport& service(std::string_view name) const;
};

enum class CleanupOutcome {
  succeeded,
  failed_input,    // the upload's fault: counts in the error rate, not against availability
  failed_service,  // the service's fault: counts against both
};

// The failure codes that are the input's fault (bad_archive, unsafe_archive, archive_limits,
// resource_limit, timeout, ...); anything else is the service's.
bool is_input_fault(std::string_view error_code);

class SlaMonitor {
 public:
  SlaMonitor(SlaOptions options, TimeMs now);
  ~SlaMonitor();
  SlaMonitor(const SlaMonitor&) = delete;
  SlaMonitor& operator=(const SlaMonitor&) = delete;

  // `seconds`: the exchange's duration; `status`: the HTTP status sent.
  void record_api(TimeMs now, double seconds, int status);
  // `seconds`: submission to finish.
  void record_cleanup(TimeMs now, double seconds, CleanupOutcome outcome);
  // `seconds`: queued for the socket to written.
  void record_websocket(TimeMs now, double seconds);

  SlaReport report(TimeMs now) const;
  const SlaOptions& options() const { return options_; }

 private:
  class Window;
  SlaOptions options_;
  TimeMs started_;
  std::unique_ptr<Window> api_;
  std::unique_ptr<Window> cleanup_;
  std::unique_ptr<Window> websocket_;
};

// Whether a report's cleanup figures ask the worker farm for more workers: latency (p95 or
// p99) over target, or the error rate.
bool cleanup_needs_workers(const SlaReport& report);

}  // namespace fti::ops
