#include <catch2/catch.hpp>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <sstream>

#include "fti/core/json.hpp"
#include "fti/core/log.hpp"

namespace {
struct Capture {
  std::ostringstream out;
  explicit Capture(fti::log::Format format, std::string_view level = "info") {
    fti::log::init(level, format, std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  }
  // Back to stderr, so no logger keeps a sink pointing at the dead stream.
  ~Capture() { fti::log::init("info", fti::log::Format::text, std::make_shared<spdlog::sinks::stderr_sink_mt>()); }
};
}  // namespace

TEST_CASE("JSON log lines carry component, level, id and an escaped message", "[core][log]") {
  Capture cap(fti::log::Format::json);
  {
    fti::log::ScopedLogContext ctx("job-42");
    fti::log::get("jobs")->info("claimed \"{}\"\nnext", "x");
  }
  fti::log::get("jobs")->info("no context");
  std::istringstream lines(cap.out.str());
  std::string first, second;
  std::getline(lines, first);
  std::getline(lines, second);
  auto doc = fti::json::Document::parse(first);
  REQUIRE(doc.ok());
  CHECK(doc->root().get_string("component") == "jobs");
  CHECK(doc->root().get_string("level") == "info");
  CHECK(doc->root().get_string("id") == "job-42");
  CHECK(doc->root().get_string("msg") == "claimed \"x\"\nnext");
  auto doc2 = fti::json::Document::parse(second);
  REQUIRE(doc2.ok());
  CHECK_FALSE(doc2->root().get("id").has_value());
}

TEST_CASE("text log lines show the request id and respect the level", "[core][log]") {
  Capture cap(fti::log::Format::text, "warn");
  fti::log::ScopedLogContext ctx("req-abc");
  fti::log::get("http")->info("hidden");
  fti::log::get("http")->warn("shown");
  auto text = cap.out.str();
  CHECK(text.find("hidden") == std::string::npos);
  CHECK(text.find("[http] [req-abc] shown") != std::string::npos);
}
