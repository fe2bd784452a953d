// Route table and the health, metrics and OpenAPI endpoints.
#include <memory>
#include <optional>

#include "fti/api/status_cache.hpp"
#include "fti/db/database.hpp"
#include "fti/jobs/job_store.hpp"
#include "fti/ops/dependency_monitor.hpp"
#include "fti/ops/metrics.hpp"
#include "fti/storage/blob_store.hpp"
#include "handlers.hpp"

namespace fti::api {

// Job events over a WebSocket (events_api.cpp). Belongs in handlers.hpp with the others.
std::optional<http::Response> handle_job_events(const ApiDeps& deps, http::Request& req,
                                                std::shared_ptr<http::WebSocketChannel> channel);

http::Response handle_healthz(const ApiDeps&, http::Request&) {
  return http::Response::json(200, R"({"status":"ok"})");
}

namespace {

// Ready means able to take an upload now: not draining, database and storage answering.
Status check_ready(const ApiDeps& deps) {
  if (deps.draining && deps.draining->load()) {
    return Error(errc::unavailable, "the server is draining before shutdown; retry on another instance");
  }
  if (deps.dependencies) {
    const TimeMs now = deps.clock ? deps.clock->now_ms() : SystemClock().now_ms();
    if (auto down = deps.dependencies->first_down(now)) return Error(errc::unavailable, describe_down(*down, now));
    return ok_status();
  }
  if (deps.database) {
    FTI_ASSIGN_OR_RETURN(auto conn, deps.database->acquire());
    auto rows = conn->query("SELECT 1");
    if (!rows.ok()) {
      conn.mark_broken();
      return Error(errc::unavailable, "database check failed: " + rows.error().message);
    }
  }
  if (deps.blobs) {
    auto status = deps.blobs->check();
    if (!status.ok()) return Error(errc::unavailable, "storage check failed: " + status.error().message);
  }
  return ok_status();
}

}  // namespace

http::Response handle_readyz(const ApiDeps& deps, http::Request&) {
  auto status = check_ready(deps);
  if (!status.ok()) {
    // Whatever failed underneath, readiness answers 503 so load balancers route around us.
    auto res = http::Response::problem(503, errc::unavailable, status.error().message);
    res.set_header("Retry-After", "5");
    return res;
  }
  return http::Response::json(200, R"({"status":"ready"})");
}

http::Response handle_metrics(const ApiDeps& deps, http::Request&) {
  if (!deps.metrics) return http::Response::text(200, "", "text/plain; version=0.0.4; charset=utf-8");
  // The status cache counts its own lookups (a registry update per read would cost more than
  // the read); the counters are copied in when scraped.
  if (deps.status_cache) {
    auto publish = [&](std::string_view result, std::uint64_t n) {
      deps.metrics->set("fti_cache_requests_total", {{"cache", "job_status"}, {"result", std::string(result)}},
                        static_cast<double>(n));
    };
    publish("hit", deps.status_cache->hits());
    publish("miss", deps.status_cache->misses());
  }
  // Queue depth is read when scraped: exact, and no cost between scrapes.
  if (deps.jobs && deps.clock) {
    auto waiting = deps.jobs->waiting_by_queue(deps.clock->now_ms());
    if (waiting.ok()) {
      auto publish = [&](std::string_view queue) {
        auto it = waiting->find(std::string(queue));
        deps.metrics->set("fti_jobs_queue_depth", {{"queue", std::string(queue)}},
                          static_cast<double>(it == waiting->end() ? 0 : it->second));
      };
      for (auto queue : jobs::kJobTypes) publish(queue);
      for (auto queue : jobs::kInternalJobTypes) publish(queue);
    }
  }
  return http::Response::text(200, deps.metrics->render(), "text/plain; version=0.0.4; charset=utf-8");
}

// Public like /healthz: clients and tools read it before they have a key.
http::Response handle_openapi(const ApiDeps&, http::Request&) {
  return http::Response::json(200, std::string(openapi_document()));
}

void register_routes(http::Router& router, const ApiDeps& deps) {
  // Handlers outlive this call; they share one copy of the dependencies.
  auto shared = std::make_shared<const ApiDeps>(deps);
  auto bind = [shared](http::Response (*fn)(const ApiDeps&, http::Request&)) {
    return [shared, fn](http::Request& req) { return fn(*shared, req); };
  };
  http::RouteOptions public_route;
  public_route.public_route = true;
  http::RouteOptions upload;
  upload.streaming_body = true;

  // Every route here is described in src/api/openapi.json; tests/api/openapi_test.cpp fails
  // on a route missing there (and on a documented one no longer served).
  router.add("GET", "/healthz", bind(handle_healthz), public_route);
  router.add("GET", "/readyz", bind(handle_readyz), public_route);
  router.add("GET", "/metrics", bind(handle_metrics), public_route);
  router.add("GET", "/api/v1/openapi.json", bind(handle_openapi), public_route);
  router.add("POST", "/api/v1/jobs", bind(handle_create_job), upload);
  router.add("GET", "/api/v1/jobs", bind(handle_list_jobs));
  // A job's status is what clients poll: answered from memory on the I/O thread when cached.
  http::RouteOptions status_read;
  status_read.quick = [shared](const http::Request& req) { return quick_get_job(*shared, req); };
  router.add("GET", "/api/v1/jobs/{id}", bind(handle_get_job), status_read);
  router.add("DELETE", "/api/v1/jobs/{id}", bind(handle_cancel_job));
  router.add("POST", "/api/v1/jobs/{id}/retry", bind(handle_retry_job));
  // Results and reports open blobs (network calls on S3); the cost report lists the store.
  http::RouteOptions blocking;
  blocking.blocking = true;
  router.add("GET", "/api/v1/jobs/{id}/result", bind(handle_job_result), blocking);
  router.add("GET", "/api/v1/jobs/{id}/report", bind(handle_job_report), blocking);
  router.add("GET", "/api/v1/jobs/{id}/diff", bind(handle_job_diff), blocking);
  router.add("GET", "/api/v1/admin/flags", bind(handle_get_flags));
  router.add("PUT", "/api/v1/admin/flags", bind(handle_put_flags));
  router.add("GET", "/api/v1/admin/surge", bind(handle_get_surge));
  router.add("POST", "/api/v1/admin/surge", bind(handle_post_surge));
  router.add("GET", "/api/v1/admin/queues", bind(handle_admin_queues));
  router.add("POST", "/api/v1/admin/queues/{name}/pause", bind(handle_pause_queue));
  router.add("POST", "/api/v1/admin/queues/{name}/resume", bind(handle_resume_queue));
  router.add("GET", "/api/v1/admin/workers", bind(handle_admin_workers));
  router.add("GET", "/api/v1/admin/database", bind(handle_admin_database));
  router.add("POST", "/api/v1/admin/database/queries/{pid}/cancel", bind(handle_cancel_query));
  router.add("GET", "/api/v1/admin/costs", bind(handle_admin_costs), blocking);
  router.add("GET", "/api/v1/admin/sla", bind(handle_get_sla));
  router.add("GET", "/", bind(handle_web_index), public_route);
  router.add("GET", "/app.js", bind(handle_web_script), public_route);
  router.add("GET", "/app.css", bind(handle_web_style), public_route);
  router.add_websocket("/api/v1/jobs/{id}/events",
                       [shared](http::Request& req, std::shared_ptr<http::WebSocketChannel> channel) {
                         return handle_job_events(*shared, req, std::move(channel));
                       });
}

}  // namespace fti::api
