// Metrics registry and the Prometheus text exposition format 0.0.4.
#include "fti/ops/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace fti::ops {

namespace {

enum class Kind { counter, gauge, histogram };

std::string_view kind_name(Kind k) {
  switch (k) {
    case Kind::counter: return "counter";
    case Kind::gauge: return "gauge";
    case Kind::histogram: return "histogram";
  }
  return "untyped";
}

// Series are keyed by labels sorted by name, so callers passing the same labels in another
// order update one series instead of creating a duplicate.
Labels canonical(Labels labels) {
  std::sort(labels.begin(), labels.end());
  return labels;
}

std::string format_number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Whole numbers print without a fraction ("3", not "3.0"); others shortest round-trip.
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<long long>(v));
  return fmt::format("{}", v);
}

std::string escape_label_value(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out.push_back(c);
  }
  return out;
}

std::string escape_help(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out.push_back(c);
  }
  return out;
}

// `{a="1",b="2"}` plus an optional extra label (histogram `le`); empty when no labels.
std::string label_text(const Labels& labels, const std::string* le = nullptr) {
  if (labels.empty() && !le) return {};
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += k + "=\"" + escape_label_value(v) + "\"";
  }
  if (le) {
    if (!first) out += ',';
    out += "le=\"" + *le + "\"";
  }
  out += '}';
  return out;
}

}  // namespace

struct Metrics::Series {
  double value = 0;                      // counter or gauge
  std::function<double()> callback;      // gauge computed on scrape
  std::vector<std::uint64_t> buckets;    // histogram: cumulative count per upper bound
  double sum = 0;
  std::uint64_t count = 0;
};
using Series = Metrics::Series;

struct Metrics::Family {
  Kind kind = Kind::counter;
  std::string help;
  std::vector<double> bounds;  // histogram upper bounds, ascending, without +Inf
  std::mutex mutex;
  std::map<Labels, Series> series;
};

namespace {

std::shared_ptr<Metrics::Family> make_family(Kind kind, const std::string& help, std::vector<double> bounds) {
  auto f = std::make_shared<Metrics::Family>();
  f->kind = kind;
  f->help = help;
  std::sort(bounds.begin(), bounds.end());
  bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());
  bounds.erase(std::remove_if(bounds.begin(), bounds.end(), [](double b) { return std::isinf(b); }),
               bounds.end());
  f->bounds = std::move(bounds);
  return f;
}

const std::vector<double>& default_buckets() {
  static const std::vector<double> kBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return kBuckets;
}

// Family lookup that declares on first use, so a forgotten declaration loses the HELP text,
// never the data.
// Families are never removed, so the pointer stays valid for the Metrics' lifetime (and
// taking it costs no reference-count traffic between cores on every update).
Metrics::Family* family_for(std::map<std::string, std::shared_ptr<Metrics::Family>>& families, std::mutex& mutex,
                            const std::string& name, Kind kind, const std::vector<double>& bounds) {
  std::lock_guard lock(mutex);
  auto& slot = families[name];
  if (!slot) slot = make_family(kind, name, bounds);
  return slot.get();
}

// The series for `labels`; callers that pass labels already sorted by name (most do) are
// found without copying them. Called with the family's lock held.
Series& series_for(Metrics::Family& family, const Labels& labels) {
  if (std::is_sorted(labels.begin(), labels.end())) {
    if (auto it = family.series.find(labels); it != family.series.end()) return it->second;
    return family.series[labels];
  }
  return family.series[canonical(labels)];
}

}  // namespace

void Metrics::declare_counter(const std::string& name, const std::string& help) {
  std::lock_guard lock(mutex_);
  auto& slot = families_[name];
  if (!slot) slot = make_family(Kind::counter, help, {});
}

void Metrics::declare_gauge(const std::string& name, const std::string& help) {
  std::lock_guard lock(mutex_);
  auto& slot = families_[name];
  if (!slot) slot = make_family(Kind::gauge, help, {});
}

void Metrics::declare_histogram(const std::string& name, const std::string& help, std::vector<double> buckets) {
  std::lock_guard lock(mutex_);
  auto& slot = families_[name];
  if (!slot) slot = make_family(Kind::histogram, help, std::move(buckets));
}

void Metrics::inc(const std::string& name, const Labels& labels, double by) {
  auto family = family_for(families_, mutex_, name, Kind::counter, {});
  std::lock_guard lock(family->mutex);
  series_for(*family, labels).value += by;
}

void Metrics::set(const std::string& name, const Labels& labels, double value) {
  auto family = family_for(families_, mutex_, name, Kind::gauge, {});
  std::lock_guard lock(family->mutex);
  auto& s = series_for(*family, labels);
  s.callback = nullptr;
  s.value = value;
}

namespace {

// With the family's lock held.
void add_sample(const Metrics::Family& family, Series& s, double value) {
  if (s.buckets.size() != family.bounds.size()) s.buckets.assign(family.bounds.size(), 0);
  for (std::size_t i = 0; i < family.bounds.size(); ++i) {
    if (value <= family.bounds[i]) ++s.buckets[i];
  }
  s.sum += value;
  ++s.count;
}

}  // namespace

void Metrics::observe(const std::string& name, const Labels& labels, double value) {
  auto family = family_for(families_, mutex_, name, Kind::histogram, default_buckets());
  std::lock_guard lock(family->mutex);
  add_sample(*family, series_for(*family, labels), value);
}

Metrics::CounterHandle Metrics::counter(const std::string& name, const Labels& labels) {
  auto family = family_for(families_, mutex_, name, Kind::counter, {});
  std::lock_guard lock(family->mutex);
  return CounterHandle(family, &series_for(*family, labels));
}

Metrics::HistogramHandle Metrics::histogram(const std::string& name, const Labels& labels) {
  auto family = family_for(families_, mutex_, name, Kind::histogram, default_buckets());
  std::lock_guard lock(family->mutex);
  return HistogramHandle(family, &series_for(*family, labels));
}

void Metrics::CounterHandle::inc(double by) const {
  std::lock_guard lock(family_->mutex);
  series_->value += by;
}

void Metrics::HistogramHandle::observe(double value) const {
  std::lock_guard lock(family_->mutex);
  add_sample(*family_, *series_, value);
}

void Metrics::gauge_callback(const std::string& name, const Labels& labels, std::function<double()> fn) {
  auto family = family_for(families_, mutex_, name, Kind::gauge, {});
  std::lock_guard lock(family->mutex);
  series_for(*family, labels).callback = std::move(fn);
}

namespace {

void render_histogram_series(std::string& out, const std::string& name, const std::vector<double>& bounds,
                             const Labels& labels, const Series& s) {
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    std::string le = format_number(bounds[i]);
    std::uint64_t n = i < s.buckets.size() ? s.buckets[i] : 0;
    out += name + "_bucket" + label_text(labels, &le) + " " + std::to_string(n) + "\n";
  }
  std::string inf = "+Inf";
  out += name + "_bucket" + label_text(labels, &inf) + " " + std::to_string(s.count) + "\n";
  out += name + "_sum" + label_text(labels) + " " + format_number(s.sum) + "\n";
  out += name + "_count" + label_text(labels) + " " + std::to_string(s.count) + "\n";
}

}  // namespace

std::string Metrics::render() const {
  std::vector<std::pair<std::string, std::shared_ptr<Family>>> snapshot;
  {
    std::lock_guard lock(mutex_);
    snapshot.assign(families_.begin(), families_.end());
  }
  std::string out;
  for (const auto& [name, family] : snapshot) {
    std::map<Labels, Series> series;
    {
      std::lock_guard lock(family->mutex);
      series = family->series;
    }
    out += "# HELP " + name + " " + escape_help(family->help) + "\n";
    out += "# TYPE " + name + " " + std::string(kind_name(family->kind)) + "\n";
    for (const auto& [labels, s] : series) {
      if (family->kind == Kind::histogram) {
        render_histogram_series(out, name, family->bounds, labels, s);
        continue;
      }
      // Callbacks run outside every lock: they may query the database or other metrics.
      double v = s.callback ? s.callback() : s.value;
      out += name + label_text(labels) + " " + format_number(v) + "\n";
    }
  }
  return out;
}

double Metrics::value(const std::string& name, const Labels& labels) const {
  std::shared_ptr<Family> family;
  {
    std::lock_guard lock(mutex_);
    auto it = families_.find(name);
    if (it == families_.end()) return 0;
    family = it->second;
  }
  std::function<double()> callback;
  {
    std::lock_guard lock(family->mutex);
    auto it = family->series.find(canonical(labels));
    if (it == family->series.end()) return 0;
    if (!it->second.callback) return it->second.value;
    callback = it->second.callback;
  }
  return callback();
}

std::uint64_t Metrics::count(const std::string& name, const Labels& labels) const {
  std::shared_ptr<Family> family;
  {
    std::lock_guard lock(mutex_);
    auto it = families_.find(name);
    if (it == families_.end()) return 0;
    family = it->second;
  }
  std::lock_guard lock(family->mutex);
  auto it = family->series.find(canonical(labels));
  return it == family->series.end() ? 0 : it->second.count;
}

void declare_standard_metrics(Metrics& m) {
  const std::vector<double> api_seconds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                           0.25,  0.5,    1,     2.5,  5,     10};
  const std::vector<double> job_seconds = {1, 2, 5, 10, 30, 60, 120, 300, 600, 1200, 1800};
  std::vector<double> rss_bytes;
  for (double b = 1 << 20; b <= 4.0 * (1LL << 30); b *= 4) rss_bytes.push_back(b);  // 1 MiB..4 GiB

  m.declare_counter("fti_http_requests_total", "HTTP requests answered, by route pattern, method and status.");
  m.declare_histogram("fti_http_request_duration_seconds", "HTTP request latency by route pattern.", api_seconds);
  m.declare_gauge("fti_jobs_queue_depth", "Jobs waiting to run (queued or retrying), by queue.");
  m.declare_counter("fti_jobs_completed_total", "Jobs finished, by queue and outcome.");
  m.declare_histogram("fti_job_duration_seconds", "Job run time from claim to completion, by queue.", job_seconds);
  m.declare_gauge("fti_workers", "Worker threads by state (busy, idle).");
  m.declare_histogram("fti_job_peak_rss_bytes", "Peak resident memory of a job's child process.", rss_bytes);
  m.declare_counter("fti_llm_requests_total", "LLM requests by provider, model and outcome.");
  m.declare_counter("fti_llm_cost_usd_total", "Estimated LLM spend in US dollars, by provider.");
  m.declare_counter("fti_cache_requests_total", "Cache lookups by cache and result (hit, miss).");
  m.declare_gauge("fti_websocket_connections", "Open WebSocket connections.");
  m.declare_gauge("fti_storage_replication_lag_seconds",
                  "How long the last replicated blob change waited before every replica had it.");
  m.declare_counter("fti_storage_replication_errors_total",
                    "Blob changes whose replication job could not be queued (the replicas miss them).");
  m.declare_gauge("fti_surge_mode", "1 while the surge controller sheds or degrades work, else 0.");
  m.declare_gauge("fti_dependency_up", "1 while a dependency's circuit breaker (database, storage) is closed, else 0.");
  m.declare_gauge("fti_sla_compliant", "1 while a service (api, cleanup, websocket) meets its sla.* targets, else 0.");
}

}  // namespace fti::ops
