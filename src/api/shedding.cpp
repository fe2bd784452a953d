// Load shedding: refuse early and cheaply, with a status and a Retry-After that tell the
// client what to do, rather than queue work the instance cannot finish in time. A refused
// upload was never accepted (no job, no blob): nothing accepted is ever dropped.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <fmt/format.h>
#include <memory>
#include <mutex>

#include "fti/core/ip_range.hpp"
#include "fti/core/json.hpp"
#include "fti/jobs/job_store.hpp"
#include "fti/ops/dependency_monitor.hpp"
#include "fti/ops/rate_limiter.hpp"
#include "fti/ops/surge.hpp"
#include "handlers.hpp"

namespace fti::api {

namespace {

// application/problem+json with `retry_after` (seconds) beside the Retry-After header, as
// config/nginx.conf's own 503 fallback says it.
http::Response shed(int status, std::string_view code, std::string_view detail, std::int64_t retry_after_s) {
  retry_after_s = std::max<std::int64_t>(1, retry_after_s);
  json::Writer w;
  w.begin_object();
  w.field("type", "https://finishthisidea.dev/errors/" + std::string(code));
  w.field("title", http::reason_phrase(status));
  w.field("status", status).field("detail", detail).field("code", code);
  w.field("retry_after", retry_after_s);
  w.end_object();
  http::Response r;
  r.status = status;
  r.body = w.take();
  r.set_header("Content-Type", "application/problem+json");
  r.set_header("Retry-After", std::to_string(retry_after_s));
  return r;
}

std::int64_t whole_seconds(std::chrono::milliseconds wait) {
  return static_cast<std::int64_t>(std::ceil(static_cast<double>(wait.count()) / 1000.0));
}

// 429 for a token bucket: `whose` is "this address" or "this tenant", `key` its setting.
http::Response over_bucket(std::string_view whose, std::string_view key, double rate, int burst,
                           std::chrono::milliseconds wait) {
  return shed(429, errc::rate_limited,
              fmt::format("too many requests for {} (shedding.{}_rate: {}/s, burst {}); slow down and retry after "
                          "the delay given",
                          whose, key, rate, burst),
              whole_seconds(wait));
}

// The client's address: the peer, unless the peer is a trusted proxy (shedding.
// trusted_proxies: the local nginx by default, an ingress's range in a cluster). Each
// proxy appends the address it took the request from to X-Forwarded-For, so the client is
// the rightmost address that is not a trusted proxy; entries left of it come from the
// client and may be made up.
class ClientAddress {
 public:
  explicit ClientAddress(const std::vector<std::string>& trusted) {
    for (const auto& t : trusted) {
      if (auto range = IpRange::parse(t)) trusted_.push_back(*range);  // validated at start-up
    }
  }
  std::string of(const http::Request& req) const {
    std::string candidate = req.remote_address;
    std::string_view forwarded = req.headers.count("x-forwarded-for") ? std::string_view(req.headers.at("x-forwarded-for"))
                                                                      : std::string_view();
    while (is_trusted(candidate) && !forwarded.empty()) {
      const auto comma = forwarded.rfind(',');
      std::string_view last = forwarded.substr(comma == std::string_view::npos ? 0 : comma + 1);
      forwarded = comma == std::string_view::npos ? std::string_view() : forwarded.substr(0, comma);
      while (!last.empty() && last.front() == ' ') last.remove_prefix(1);
      while (!last.empty() && last.back() == ' ') last.remove_suffix(1);
      if (last.empty()) break;
      candidate = std::string(last);
    }
    return candidate;
  }

 private:
  bool is_trusted(std::string_view address) const {
    for (const auto& r : trusted_) {
      if (r.contains(address)) return true;
    }
    return false;
  }
  std::vector<IpRange> trusted_;
};

TimeMs now_of(const ApiDeps& deps) { return deps.clock ? deps.clock->now_ms() : SystemClock().now_ms(); }

bool is_admin_path(const std::string& path) { return path.rfind("/api/v1/admin/", 0) == 0; }

// Waiting jobs, read at most once a second by one upload while the others use the last
// figure: a count per upload would cost a query per upload exactly when the database is
// busiest, and uploads must not queue behind a slow count. A failed read is not retried
// for a second either.
class QueueDepth {
 public:
  explicit QueueDepth(jobs::JobStore* store) : store_(store) {}
  std::int64_t waiting(TimeMs now) {
    std::unique_lock refresh(refresh_mutex_, std::try_to_lock);
    if (refresh.owns_lock() && store_ && now - read_at_.load() >= 1000) {
      read_at_ = now;
      if (auto counts = store_->waiting_by_queue(now)) {
        std::int64_t total = 0;
        for (const auto& [queue, n] : *counts) total += n;
        value_ = total;
      }
    }
    return value_.load();
  }

 private:
  jobs::JobStore* store_;
  std::mutex refresh_mutex_;  // held by the one upload refreshing the figure
  std::atomic<std::int64_t> value_{0};
  std::atomic<TimeMs> read_at_{std::numeric_limits<TimeMs>::min() / 2};
};

}  // namespace

std::string describe_down(const ops::DependencyState& down, TimeMs now) {
  const auto in_s = std::max<TimeMs>(0, (down.retry_at_ms - now + 999) / 1000);
  return fmt::format("the {} is unavailable (its circuit breaker is open after failed checks{}{}); the next check "
                     "is in {} s: retry after the delay given",
                     down.name, down.last_error.empty() ? "" : ": ", down.last_error, in_s);
}

http::Middleware make_admission_middleware(const ApiDeps& deps) {
  const SheddingConfig limits = deps.config ? deps.config->shedding : SheddingConfig{};
  auto by_address = std::make_shared<ops::RateLimiter>(limits.client_rate, limits.client_burst);
  auto client = std::make_shared<ClientAddress>(limits.trusted_proxies);
  return [deps, limits, by_address, client](http::Request& req, const http::Route& route) -> std::optional<http::Response> {
    if (route.options.public_route) return std::nullopt;
    const TimeMs now = now_of(deps);
    // The server counts this request among those in flight. Admin routes pass this bound:
    // under overload is when the playbooks need them (they are still rate limited below,
    // and authenticated after).
    if (limits.max_in_flight > 0 && deps.in_flight && !is_admin_path(req.path) &&
        deps.in_flight() > limits.max_in_flight) {
      return shed(503, errc::overloaded,
                  fmt::format("this instance is handling {} requests at once, its limit (shedding.max_in_flight); "
                              "retry after the delay given",
                              limits.max_in_flight),
                  limits.retry_after_seconds);
    }
    // A dependency whose breaker is open: refuse now rather than let the request wait out a
    // timeout. Admin routes pass: an operator needs surge, flags and the database view now.
    if (deps.dependencies && !is_admin_path(req.path)) {
      if (auto down = deps.dependencies->first_down(now)) {
        return shed(503, errc::unavailable, describe_down(*down, now), (down->retry_at_ms - now + 999) / 1000);
      }
    }
    if (auto wait = by_address->take(client->of(req), now)) {
      return over_bucket("this address", "client", limits.client_rate, limits.client_burst, *wait);
    }
    return std::nullopt;
  };
}

http::Middleware make_tenant_limit_middleware(const ApiDeps& deps) {
  const SheddingConfig limits = deps.config ? deps.config->shedding : SheddingConfig{};
  auto by_tenant = std::make_shared<ops::RateLimiter>(limits.tenant_rate, limits.tenant_burst);
  auto depth = std::make_shared<QueueDepth>(deps.jobs);
  return [deps, limits, by_tenant, depth](http::Request& req, const http::Route& route) -> std::optional<http::Response> {
    if (route.options.public_route) return std::nullopt;
    const TimeMs now = now_of(deps);
    // Admins are not limited per tenant: the operator steering an overload must get through.
    auto wait = req.is_admin ? std::nullopt : by_tenant->take(req.tenant, now);
    if (wait) {
      return over_bucket("this tenant", "tenant", limits.tenant_rate, limits.tenant_burst, *wait);
    }
    const bool upload = req.method == "POST" && route.pattern == "/api/v1/jobs";
    if (upload && limits.max_queue_depth > 0) {
      if (const auto waiting = depth->waiting(now); waiting >= limits.max_queue_depth) {
        return shed(503, errc::overloaded,
                    fmt::format("{} jobs are waiting, the limit (shedding.max_queue_depth); this upload was not "
                                "accepted: send it again after the delay given",
                                waiting),
                    limits.retry_after_seconds);
      }
    }
    // Only admitted requests count towards surge mode: one client flooding past its bucket
    // must not turn non-essential work off for every tenant.
    if (deps.surge) deps.surge->record_request(now);
    return std::nullopt;
  };
}

}  // namespace fti::api
