#pragma once
// Metrics: counters, gauges and histograms with labels, rendered in the Prometheus text
// exposition format (version 0.0.4). Updates take a short lock per family.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace fti::ops {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Metrics {
 public:
  struct Family;  // opaque; defined in metrics.cpp
  struct Series;

  // A series looked up once, for code that updates it on every request: an update through a
  // handle takes the family's lock but builds no label strings and searches nothing. Valid
  // as long as the Metrics (series are never removed).
  class CounterHandle {
   public:
    void inc(double by = 1.0) const;

   private:
    friend class Metrics;
    CounterHandle(Family* family, Series* series) : family_(family), series_(series) {}
    Family* family_;
    Series* series_;
  };
  class HistogramHandle {
   public:
    void observe(double value) const;

   private:
    friend class Metrics;
    HistogramHandle(Family* family, Series* series) : family_(family), series_(series) {}
    Family* family_;
    Series* series_;
  };
  CounterHandle counter(const std::string& name, const Labels& labels);
  HistogramHandle histogram(const std::string& name, const Labels& labels);

  // Declares a family; declaring it again with the same name is a no-op.
  void declare_counter(const std::string& name, const std::string& help);
  void declare_gauge(const std::string& name, const std::string& help);
  void declare_histogram(const std::string& name, const std::string& help, std::vector<double> buckets);

  void inc(const std::string& name, const Labels& labels = {}, double by = 1.0);
  void set(const std::string& name, const Labels& labels, double value);
  void observe(const std::string& name, const Labels& labels, double value);
  // A gauge computed when scraped (queue depth, connections).
  void gauge_callback(const std::string& name, const Labels& labels, std::function<double()> fn);

  std::string render() const;
  // For tests and the admin API: the current value of a counter or gauge series (0 if none).
  double value(const std::string& name, const Labels& labels = {}) const;
  // Sample count of a histogram series.
  std::uint64_t count(const std::string& name, const Labels& labels = {}) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Family>> families_;
};

// Declares every family this process exports (ARCHITECTURE.md section 7).
void declare_standard_metrics(Metrics& metrics);

}  // namespace fti::ops
