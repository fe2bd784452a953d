#include <catch2/catch.hpp>

#include "fti/ops/metrics.hpp"

using fti::ops::Metrics;

TEST_CASE("a counter renders in the Prometheus text format", "[ops][metrics]") {
  Metrics m;
  m.declare_counter("fti_things_total", "Things done.");
  m.inc("fti_things_total", {{"kind", "a"}});
  m.inc("fti_things_total", {{"kind", "a"}}, 2);
  m.inc("fti_things_total", {{"kind", "b"}}, 0.5);
  CHECK(m.render() ==
        "# HELP fti_things_total Things done.\n"
        "# TYPE fti_things_total counter\n"
        "fti_things_total{kind=\"a\"} 3\n"
        "fti_things_total{kind=\"b\"} 0.5\n");
  CHECK(m.value("fti_things_total", {{"kind", "a"}}) == 3);
  CHECK(m.value("fti_things_total", {{"kind", "zzz"}}) == 0);
}

TEST_CASE("label values and help text are escaped", "[ops][metrics]") {
  Metrics m;
  m.declare_gauge("fti_g", "Line one\nback\\slash");
  m.set("fti_g", {{"path", "a\\b \"q\"\nz"}}, 7);
  CHECK(m.render() ==
        "# HELP fti_g Line one\\nback\\\\slash\n"
        "# TYPE fti_g gauge\n"
        "fti_g{path=\"a\\\\b \\\"q\\\"\\nz\"} 7\n");
}

TEST_CASE("the same labels in another order update one series", "[ops][metrics]") {
  Metrics m;
  m.declare_counter("fti_c", "c");
  m.inc("fti_c", {{"route", "/x"}, {"method", "GET"}});
  m.inc("fti_c", {{"method", "GET"}, {"route", "/x"}});
  CHECK(m.value("fti_c", {{"route", "/x"}, {"method", "GET"}}) == 2);
  CHECK(m.render() == "# HELP fti_c c\n# TYPE fti_c counter\nfti_c{method=\"GET\",route=\"/x\"} 2\n");
}

TEST_CASE("histograms have cumulative buckets, +Inf, sum and count", "[ops][metrics]") {
  Metrics m;
  m.declare_histogram("fti_h_seconds", "Latency.", {0.125, 1, 0.5});  // unsorted on purpose
  for (double v : {0.0625, 0.125, 0.25, 0.75, 2.0}) m.observe("fti_h_seconds", {{"route", "/r"}}, v);
  CHECK(m.render() ==
        "# HELP fti_h_seconds Latency.\n"
        "# TYPE fti_h_seconds histogram\n"
        "fti_h_seconds_bucket{route=\"/r\",le=\"0.125\"} 2\n"
        "fti_h_seconds_bucket{route=\"/r\",le=\"0.5\"} 3\n"
        "fti_h_seconds_bucket{route=\"/r\",le=\"1\"} 4\n"
        "fti_h_seconds_bucket{route=\"/r\",le=\"+Inf\"} 5\n"
        "fti_h_seconds_sum{route=\"/r\"} 3.1875\n"
        "fti_h_seconds_count{route=\"/r\"} 5\n");
  CHECK(m.count("fti_h_seconds", {{"route", "/r"}}) == 5);
}

TEST_CASE("an unlabelled histogram and a callback gauge", "[ops][metrics]") {
  Metrics m;
  m.declare_histogram("fti_b", "b", {1});
  m.observe("fti_b", {}, 3);
  int depth = 4;
  m.declare_gauge("fti_depth", "d");
  m.gauge_callback("fti_depth", {}, [&] { return static_cast<double>(depth); });
  depth = 9;
  CHECK(m.render() ==
        "# HELP fti_b b\n# TYPE fti_b histogram\n"
        "fti_b_bucket{le=\"1\"} 0\nfti_b_bucket{le=\"+Inf\"} 1\nfti_b_sum 3\nfti_b_count 1\n"
        "# HELP fti_depth d\n# TYPE fti_depth gauge\nfti_depth 9\n");
  CHECK(m.value("fti_depth") == 9);
}

TEST_CASE("handles update the series their name and labels name, in any label order", "[ops][metrics]") {
  Metrics m;
  m.declare_histogram("fti_wait_seconds", "Waits.", {0.1, 1});
  auto counter = m.counter("fti_things_total", {{"route", "/x"}, {"method", "GET"}});
  auto histogram = m.histogram("fti_wait_seconds", {{"route", "/x"}});
  counter.inc();
  m.inc("fti_things_total", {{"method", "GET"}, {"route", "/x"}}, 2);
  counter.inc(0.5);
  histogram.observe(0.05);
  histogram.observe(0.5);
  m.observe("fti_wait_seconds", {{"route", "/x"}}, 5);
  CHECK(m.value("fti_things_total", {{"method", "GET"}, {"route", "/x"}}) == 3.5);
  CHECK(m.count("fti_wait_seconds", {{"route", "/x"}}) == 3);
  const std::string text = m.render();
  CHECK(text.find("fti_wait_seconds_bucket{route=\"/x\",le=\"0.1\"} 1\n") != std::string::npos);
  CHECK(text.find("fti_wait_seconds_bucket{route=\"/x\",le=\"1\"} 2\n") != std::string::npos);
  CHECK(text.find("fti_wait_seconds_bucket{route=\"/x\",le=\"+Inf\"} 3\n") != std::string::npos);
}

TEST_CASE("every standard metric family is declared", "[ops][metrics]") {
  Metrics m;
  fti::ops::declare_standard_metrics(m);
  std::string text = m.render();
  const char* names[] = {
      "fti_http_requests_total counter",    "fti_http_request_duration_seconds histogram",
      "fti_jobs_queue_depth gauge",         "fti_jobs_completed_total counter",
      "fti_job_duration_seconds histogram", "fti_workers gauge",
      "fti_job_peak_rss_bytes histogram",   "fti_llm_requests_total counter",
      "fti_llm_cost_usd_total counter",     "fti_cache_requests_total counter",
      "fti_websocket_connections gauge",    "fti_surge_mode gauge",
  };
  for (auto name : names) {
    INFO(name);
    CHECK(text.find(std::string("# TYPE ") + name + "\n") != std::string::npos);
  }
  m.observe("fti_job_peak_rss_bytes", {}, 3.0 * (1 << 20));
  text = m.render();
  CHECK(text.find("fti_job_peak_rss_bytes_bucket{le=\"1048576\"} 0\n") != std::string::npos);
  CHECK(text.find("fti_job_peak_rss_bytes_bucket{le=\"4194304\"} 1\n") != std::string::npos);
  CHECK(text.find("fti_job_peak_rss_bytes_bucket{le=\"4294967296\"} 1\n") != std::string::npos);
  m.observe("fti_http_request_duration_seconds", {{"route", "/x"}}, 0.002);
  CHECK(m.render().find("fti_http_request_duration_seconds_bucket{route=\"/x\",le=\"0.001\"} 0\n") != std::string::npos);
}
