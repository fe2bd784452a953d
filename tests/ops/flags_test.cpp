#include <catch2/catch.hpp>

#include "fti/ops/flags.hpp"

using namespace fti;

TEST_CASE("flags: configured values, surge mode, and operator overrides over both", "[flags]") {
  FlagsConfig config;
  config.report_extras = false;
  ops::FeatureFlags flags(config);
  CHECK(flags.enabled(ops::kFlagLlmReadme));
  CHECK_FALSE(flags.enabled(ops::kFlagReportExtras));
  CHECK_FALSE(flags.enabled("no_such_flag"));

  flags.set_surge(true);
  CHECK_FALSE(flags.enabled(ops::kFlagLlmReadme));
  auto states = flags.states();
  REQUIRE(states.size() == 2);
  CHECK(states[0].name == "llm_readme");
  CHECK(states[0].off_for_surge);
  CHECK_FALSE(states[1].off_for_surge);  // configured off: not surge mode's doing

  REQUIRE(flags.set_override(ops::kFlagLlmReadme, true).ok());  // the operator wins over surge mode
  CHECK(flags.enabled(ops::kFlagLlmReadme));
  REQUIRE(flags.set_override(ops::kFlagLlmReadme, std::nullopt).ok());
  CHECK_FALSE(flags.enabled(ops::kFlagLlmReadme));
  flags.set_surge(false);
  CHECK(flags.enabled(ops::kFlagLlmReadme));

  auto unknown = flags.set_override("llm_readmee", false);
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().code == errc::bad_request);
  CHECK(unknown.error().message.find("llm_readme") != std::string::npos);  // names the real ones
}
