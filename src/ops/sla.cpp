#include "fti/ops/sla.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>

namespace fti::ops {

namespace {

// Latency buckets: upper bounds kMinMs * 2^(i / kPerOctave); the last one also takes
// everything above it.
constexpr double kMinMs = 0.05;
constexpr int kPerOctave = 8;
constexpr int kBuckets = 232;  // up to about 4 hours
constexpr int kMaxSlots = 300;

double bucket_bound_ms(int i) { return kMinMs * std::exp2(static_cast<double>(i) / kPerOctave); }

int bucket_of(double ms) {
  if (!(ms > kMinMs)) return 0;  // also NaN
  const double i = std::ceil(std::log2(ms / kMinMs) * kPerOctave - 1e-9);
  return static_cast<int>(std::clamp(i, 0.0, static_cast<double>(kBuckets - 1)));
}

std::optional<double> positive(double v) { return v > 0 ? std::optional<double>(v) : std::nullopt; }

}  // namespace

// One service's ring of slots with running totals.
class SlaMonitor::Window {
 public:
  explicit Window(int window_seconds)
      : slot_seconds_(std::max(1, (window_seconds + kMaxSlots - 1) / kMaxSlots)),
        slot_count_(std::max(1, (window_seconds + slot_seconds_ - 1) / slot_seconds_)),
        slots_(static_cast<std::size_t>(slot_count_)),
        histograms_(static_cast<std::size_t>(slot_count_) * kBuckets, 0) {}

  struct Figures {
    std::int64_t count = 0;
    std::int64_t errors = 0;
    std::int64_t unavailable = 0;
    std::int64_t busiest_slot = 0;
    double max_ms = 0;
    std::array<std::uint64_t, kBuckets> histogram{};
  };

  void record(TimeMs now, double seconds, bool error, bool unavailable) {
    const double ms = std::max(0.0, seconds * 1000.0);
    std::lock_guard lock(mutex_);
    roll_to(slot_of(now));
    Slot& slot = slots_[index(current_)];
    ++slot.count;
    slot.errors += error ? 1 : 0;
    slot.unavailable += unavailable ? 1 : 0;
    slot.max_ms = std::max(slot.max_ms, ms);
    const int b = bucket_of(ms);
    ++histograms_[index(current_) * kBuckets + static_cast<std::size_t>(b)];
    ++totals_[static_cast<std::size_t>(b)];
    ++count_;
    errors_ += error ? 1 : 0;
    unavailable_ += unavailable ? 1 : 0;
  }

  Figures figures(TimeMs now) {
    std::lock_guard lock(mutex_);
    roll_to(slot_of(now));
    Figures f;
    f.count = count_;
    f.errors = errors_;
    f.unavailable = unavailable_;
    f.histogram = totals_;
    for (const auto& s : slots_) {
      f.busiest_slot = std::max(f.busiest_slot, s.count);
      f.max_ms = std::max(f.max_ms, s.max_ms);
    }
    return f;
  }

  int slot_seconds() const { return slot_seconds_; }

 private:
  struct Slot {
    std::int64_t count = 0;
    std::int64_t errors = 0;
    std::int64_t unavailable = 0;
    double max_ms = 0;
  };

  std::int64_t slot_of(TimeMs now) const { return now / 1000 / slot_seconds_; }
  std::size_t index(std::int64_t slot) const {
    return static_cast<std::size_t>(((slot % slot_count_) + slot_count_) % slot_count_);
  }

  // Slots between the current one and `slot` leave the window; a sample with an older time
  // than the current slot is counted in the current one.
  void roll_to(std::int64_t slot) {
    if (!started_) {
      current_ = slot;
      started_ = true;
      return;
    }
    if (slot <= current_) return;
    const std::int64_t steps = std::min<std::int64_t>(slot - current_, slot_count_);
    for (std::int64_t k = 1; k <= steps; ++k) clear(index(current_ + k));
    current_ = slot;
  }

  void clear(std::size_t i) {
    Slot& s = slots_[i];
    count_ -= s.count;
    errors_ -= s.errors;
    unavailable_ -= s.unavailable;
    s = Slot{};
    for (int b = 0; b < kBuckets; ++b) {
      auto& n = histograms_[i * kBuckets + static_cast<std::size_t>(b)];
      totals_[static_cast<std::size_t>(b)] -= n;
      n = 0;
    }
  }

  const int slot_seconds_;
  const int slot_count_;
  std::mutex mutex_;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> histograms_;  // slot-major: slot i's buckets at [i * kBuckets, ...)
  std::array<std::uint64_t, kBuckets> totals_{};
  std::int64_t count_ = 0;
  std::int64_t errors_ = 0;
  std::int64_t unavailable_ = 0;
  std::int64_t current_ = 0;
  bool started_ = false;
};

namespace {

// The q-quantile: the upper bound of the bucket holding the sample of rank ceil(q * count),
// no more than the largest sample in the window (bounds are at most 9% apart).
std::optional<double> quantile_ms(const std::array<std::uint64_t, kBuckets>& histogram, std::int64_t count,
                                  double max_ms, double q) {
  if (count <= 0) return std::nullopt;
  const auto rank = static_cast<std::uint64_t>(std::max(1.0, std::ceil(q * static_cast<double>(count))));
  std::uint64_t seen = 0;
  for (int b = 0; b < kBuckets; ++b) {
    seen += histogram[static_cast<std::size_t>(b)];
    if (seen >= rank) return std::min(bucket_bound_ms(b), max_ms);
  }
  return max_ms;
}

void judge(SlaServiceReport& r) {
  auto at_most = [&r](std::string_view metric, const std::optional<double>& target,
                      const std::optional<double>& measured) {
    if (target && measured && *measured > *target) r.violations.push_back({std::string(metric), *target, *measured});
  };
  const auto& t = r.targets;
  if (t.availability_percent && r.availability_percent && *r.availability_percent < *t.availability_percent) {
    r.violations.push_back({"availability", *t.availability_percent, *r.availability_percent});
  }
  at_most("error_rate", t.error_rate_percent, r.error_rate_percent);
  at_most("p50_ms", t.p50_ms, r.p50_ms);
  at_most("p95_ms", t.p95_ms, r.p95_ms);
  at_most("p99_ms", t.p99_ms, r.p99_ms);
  r.compliant = r.violations.empty();
}

}  // namespace

SlaOptions sla_options_from_config(const SlaConfig& c) {
  SlaOptions o;
  o.window_seconds = c.window_seconds;
  o.api.availability_percent = c.api_availability;
  o.api.error_rate_percent = c.api_error_rate;
  o.api.p50_ms = positive(c.api_p50_ms);
  o.api.p95_ms = positive(c.api_p95_ms);
  o.api.p99_ms = positive(c.api_p99_ms);
  o.api.sustained_per_second = positive(c.api_sustained_rps);
  o.api.peak_per_second = positive(c.api_peak_rps);
  o.cleanup.availability_percent = c.cleanup_availability;
  o.cleanup.error_rate_percent = c.cleanup_error_rate;
  o.cleanup.p50_ms = positive(c.cleanup_p50_seconds * 1000.0);
  o.cleanup.p95_ms = positive(c.cleanup_p95_seconds * 1000.0);
  o.cleanup.p99_ms = positive(c.cleanup_p99_seconds * 1000.0);
  o.websocket.p50_ms = positive(c.websocket_p50_ms);
  o.websocket.p95_ms = positive(c.websocket_p95_ms);
  o.websocket.p99_ms = positive(c.websocket_p99_ms);
  return o;
}

bool SlaServiceReport::violates(std::string_view metric) const {
  return std::any_of(violations.begin(), violations.end(), [&](const SlaViolation& v) { return v.metric == metric; });
}

const SlaServiceReport& SlaReport::service(std::string_view name) const {
  for (const auto& s : services) {
    if (s.service == name) return s;
  }
  throw std::out_of_range("no SLA service " + std::string(name));
}

bool is_input_fault(std::string_view code) {
  static constexpr std::array<std::string_view, 8> kInput = {
      "bad_archive", "unsafe_archive", "archive_limits", "resource_limit",
      "timeout",     "too_large",      "bad_request",    "unsupported_media_type"};
  return std::find(kInput.begin(), kInput.end(), code) != kInput.end();
}

SlaMonitor::SlaMonitor(SlaOptions options, TimeMs now)
    : options_(std::move(options)),
      started_(now),
      api_(std::make_unique<Window>(options_.window_seconds)),
      cleanup_(std::make_unique<Window>(options_.window_seconds)),
      websocket_(std::make_unique<Window>(options_.window_seconds)) {
  options_.window_seconds = std::max(1, options_.window_seconds);
}

SlaMonitor::~SlaMonitor() = default;

void SlaMonitor::record_api(TimeMs now, double seconds, int status) {
  // 429 is a quota refused on purpose: neither unavailable nor an error. 503 is unavailable.
  const bool unavailable = status >= 500;
  const bool error = status >= 500 && status != 503;
  api_->record(now, seconds, error, unavailable);
}

void SlaMonitor::record_cleanup(TimeMs now, double seconds, CleanupOutcome outcome) {
  cleanup_->record(now, seconds, outcome != CleanupOutcome::succeeded, outcome == CleanupOutcome::failed_service);
}

void SlaMonitor::record_websocket(TimeMs now, double seconds) { websocket_->record(now, seconds, false, false); }

SlaReport SlaMonitor::report(TimeMs now) const {
  SlaReport report;
  report.window_seconds = options_.window_seconds;
  // Until a whole window has passed, rates are over the time since start.
  const double span = std::clamp(static_cast<double>(now - started_) / 1000.0, 1.0,
                                 static_cast<double>(options_.window_seconds));
  auto service = [&](std::string name, Window& window, const SlaTargets& targets, bool has_outcomes) {
    const Window::Figures f = window.figures(now);
    SlaServiceReport r;
    r.service = std::move(name);
    r.targets = targets;
    r.count = f.count;
    r.rate_per_second = static_cast<double>(f.count) / span;
    r.peak_per_second = static_cast<double>(f.busiest_slot) / window.slot_seconds();
    if (f.count > 0) {
      const auto n = static_cast<double>(f.count);
      if (has_outcomes) {
        r.availability_percent = 100.0 * (n - static_cast<double>(f.unavailable)) / n;
        r.error_rate_percent = 100.0 * static_cast<double>(f.errors) / n;
      }
      r.p50_ms = quantile_ms(f.histogram, f.count, f.max_ms, 0.50);
      r.p95_ms = quantile_ms(f.histogram, f.count, f.max_ms, 0.95);
      r.p99_ms = quantile_ms(f.histogram, f.count, f.max_ms, 0.99);
    }
    judge(r);
    report.compliant = report.compliant && r.compliant;
    report.services.push_back(std::move(r));
  };
  service("api", *api_, options_.api, true);
  service("cleanup", *cleanup_, options_.cleanup, true);
  service("websocket", *websocket_, options_.websocket, false);
  return report;
}

// Latency only: more workers shorten the queue, not the share of jobs that fail (bad
// archives and jobs over their limits count as errors, and no worker fixes those).
bool cleanup_needs_workers(const SlaReport& report) {
  const auto& c = report.service("cleanup");
  return c.violates("p95_ms") || c.violates("p99_ms");
}

}  // namespace fti::ops
