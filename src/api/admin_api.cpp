// Admin endpoints for feature flags, surge mode and the SLA. Admin keys only (in "open" mode on
// loopback the anonymous tenant is the admin): anyone else gets 403, so a tenant's key
// cannot switch off work for everybody.
#include <fmt/format.h>

#include "fti/core/json.hpp"
#include "fti/ops/flags.hpp"
#include "fti/ops/sla.hpp"
#include "fti/ops/surge.hpp"
#include "handlers.hpp"

namespace fti::api {

std::optional<http::Response> refuse_non_admin(const http::Request& req) {
  if (req.is_admin) return std::nullopt;
  return http::Response::problem(403, errc::forbidden,
                                 "this endpoint needs an admin key (finishthisidea keys create --tenant NAME --admin)");
}

namespace {

void write_optional_bool(json::Writer& w, std::string_view key, const std::optional<bool>& v) {
  w.key(key);
  if (v) {
    w.value(*v);
  } else {
    w.null();
  }
}

std::string flags_json(const ops::FeatureFlags& flags) {
  json::Writer w;
  w.begin_object().key("flags").begin_object();
  for (const auto& f : flags.states()) {
    w.key(f.name).begin_object();
    w.field("enabled", f.enabled).field("configured", f.configured);
    write_optional_bool(w, "override", f.override_value);
    w.field("off_for_surge", f.off_for_surge).field("description", f.description);
    w.end_object();
  }
  w.end_object().end_object();
  return w.take();
}

// {"active": true|false|null}-style bodies: a boolean or null, nothing else.
Result<std::optional<bool>> bool_or_null(const json::Value& v, std::string_view what) {
  if (v.is_null()) return std::optional<bool>();
  if (auto b = v.as_bool()) return std::optional<bool>(*b);
  return Error(errc::bad_request, fmt::format("{} must be true, false or null", what));
}

}  // namespace

http::Response handle_get_flags(const ApiDeps& deps, http::Request& req) {
  if (auto refused = refuse_non_admin(req)) return std::move(*refused);
  if (!deps.flags) return http::Response::problem(404, errc::not_found, "feature flags are not set up here");
  return http::Response::json(200, flags_json(*deps.flags));
}

// Body: {"name": true|false|null, ...}; null returns the flag to its configured value. All
// names are checked before any changes, so a bad body changes nothing.
http::Response handle_put_flags(const ApiDeps& deps, http::Request& req) {
  if (auto refused = refuse_non_admin(req)) return std::move(*refused);
  if (!deps.flags) return http::Response::problem(404, errc::not_found, "feature flags are not set up here");
  auto doc = json::Document::parse(req.body);
  if (!doc || !doc->root().is_object()) {
    return http::Response::problem(400, errc::bad_request,
                                   R"(the body must be a JSON object such as {"llm_readme": false, "report_extras": null})");
  }
  std::vector<std::pair<std::string, std::optional<bool>>> changes;
  std::vector<std::string> known;
  for (const auto& f : deps.flags->states()) known.push_back(f.name);
  for (const auto& [name, value] : doc->root().members()) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      return http::Response::problem(400, errc::bad_request,
                                     fmt::format("there is no flag \"{}\"; the flags are: {}", name, fmt::join(known, ", ")));
    }
    auto parsed = bool_or_null(value, "flag \"" + name + "\"");
    if (!parsed) return http::Response::from_error(parsed.error());
    changes.emplace_back(name, *parsed);
  }
  for (const auto& [name, value] : changes) {
    if (auto st = deps.flags->set_override(name, value); !st.ok()) return http::Response::from_error(st.error());
  }
  return http::Response::json(200, flags_json(*deps.flags));
}

namespace {

std::string surge_json(const ops::SurgeStatus& s, const ApiDeps& deps) {
  json::Writer w;
  w.begin_object();
  w.field("active", s.active);
  w.field("mode", s.forced ? "forced" : "automatic");
  write_optional_bool(w, "forced", s.forced);
  w.field("rate_per_second", s.rate);
  w.field("baseline_per_second", s.baseline);
  w.field("baseline_ready", s.baseline_ready);
  if (deps.config) {
    w.field("factor", deps.config->surge.factor).field("exit_factor", deps.config->surge.exit_factor);
  }
  w.field("since", format_rfc3339(s.since_ms));
  w.field("reason", s.reason);
  w.end_object();
  return w.take();
}

}  // namespace

http::Response handle_get_surge(const ApiDeps& deps, http::Request& req) {
  if (auto refused = refuse_non_admin(req)) return std::move(*refused);
  if (!deps.surge) return http::Response::problem(404, errc::not_found, "surge mode is not set up here");
  return http::Response::json(200, surge_json(deps.surge->status(), deps));
}

// Body: {"active": true|false|null}; null returns to automatic.
http::Response handle_post_surge(const ApiDeps& deps, http::Request& req) {
  if (auto refused = refuse_non_admin(req)) return std::move(*refused);
  if (!deps.surge) return http::Response::problem(404, errc::not_found, "surge mode is not set up here");
  auto doc = json::Document::parse(req.body);
  std::optional<json::Value> active;
  if (doc && doc->root().is_object()) active = doc->root().get("active");
  if (!active) {
    return http::Response::problem(400, errc::bad_request,
                                   R"(the body must be {"active": true}, {"active": false} or {"active": null} (automatic))");
  }
  auto forced = bool_or_null(*active, "\"active\"");
  if (!forced) return http::Response::from_error(forced.error());
  deps.surge->force(*forced, deps.clock ? deps.clock->now_ms() : SystemClock().now_ms());
  return http::Response::json(200, surge_json(deps.surge->status(), deps));
}

namespace {

void write_targets(json::Writer& w, const ops::SlaTargets& t) {
  w.key("targets").begin_object();
  w.field("availability_percent", t.availability_percent).field("error_rate_percent", t.error_rate_percent);
  w.field("p50_ms", t.p50_ms).field("p95_ms", t.p95_ms).field("p99_ms", t.p99_ms);
  w.field("sustained_per_second", t.sustained_per_second).field("peak_per_second", t.peak_per_second);
  w.end_object();
}

std::string sla_json(const ops::SlaReport& report) {
  json::Writer w;
  w.begin_object();
  w.field("window_seconds", report.window_seconds).field("compliant", report.compliant);
  w.key("services").begin_object();
  for (const auto& s : report.services) {
    w.key(s.service).begin_object();
    w.field("count", s.count).field("rate_per_second", s.rate_per_second).field("peak_per_second", s.peak_per_second);
    w.field("availability_percent", s.availability_percent).field("error_rate_percent", s.error_rate_percent);
    w.field("p50_ms", s.p50_ms).field("p95_ms", s.p95_ms).field("p99_ms", s.p99_ms);
    write_targets(w, s.targets);
    w.field("compliant", s.compliant);
    w.key("violations").begin_array();
    for (const auto& v : s.violations) {
      w.begin_object().field("metric", v.metric).field("target", v.target).field("measured", v.measured).end_object();
    }
    w.end_array();
    w.end_object();
  }
  w.end_object();
  w.end_object();
  return w.take();
}

}  // namespace

http::Response handle_get_sla(const ApiDeps& deps, http::Request& req) {
  if (auto refused = refuse_non_admin(req)) return std::move(*refused);
  if (!deps.sla) return http::Response::problem(404, errc::not_found, "the SLA monitor is not set up here");
  return http::Response::json(200, sla_json(deps.sla->report(deps.clock ? deps.clock->now_ms() : SystemClock().now_ms())));
}

}  // namespace fti::api
