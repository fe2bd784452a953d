#pragma once
// The API's handlers, one function per route, shared by routes.cpp (which registers them).
#include "fti/api/api.hpp"
#include "fti/http/message.hpp"
#include "fti/ops/dependency_monitor.hpp"

namespace fti::api {

// Health, operations and the API's own description (routes.cpp).
http::Response handle_healthz(const ApiDeps& deps, http::Request& req);
http::Response handle_readyz(const ApiDeps& deps, http::Request& req);
http::Response handle_metrics(const ApiDeps& deps, http::Request& req);
http::Response handle_openapi(const ApiDeps& deps, http::Request& req);

// Admin: feature flags, surge mode and the SLA (admin_api.cpp). Admin keys only.
http::Response handle_get_flags(const ApiDeps& deps, http::Request& req);
http::Response handle_put_flags(const ApiDeps& deps, http::Request& req);
http::Response handle_get_surge(const ApiDeps& deps, http::Request& req);
http::Response handle_post_surge(const ApiDeps& deps, http::Request& req);
http::Response handle_get_sla(const ApiDeps& deps, http::Request& req);

// Admin: queues, workers, the database and costs (admin_ops_api.cpp). Admin keys only.
http::Response handle_admin_queues(const ApiDeps& deps, http::Request& req);
http::Response handle_pause_queue(const ApiDeps& deps, http::Request& req);
http::Response handle_resume_queue(const ApiDeps& deps, http::Request& req);
http::Response handle_admin_workers(const ApiDeps& deps, http::Request& req);
http::Response handle_admin_database(const ApiDeps& deps, http::Request& req);
http::Response handle_cancel_query(const ApiDeps& deps, http::Request& req);
http::Response handle_admin_costs(const ApiDeps& deps, http::Request& req);
std::optional<http::Response> refuse_non_admin(const http::Request& req);

// "the database is unavailable: ..." for /readyz and the requests refused meanwhile (shedding.cpp).
std::string describe_down(const ops::DependencyState& down, TimeMs now);

// Uploads (upload.cpp).
http::Response handle_create_job(const ApiDeps& deps, http::Request& req);

// Jobs, results and reports (jobs_api.cpp).
http::Response handle_list_jobs(const ApiDeps& deps, http::Request& req);
http::Response handle_get_job(const ApiDeps& deps, http::Request& req);
// The status cache's answer, on the I/O thread; nullopt sends the read to handle_get_job.
std::optional<http::Response> quick_get_job(const ApiDeps& deps, const http::Request& req);
http::Response handle_cancel_job(const ApiDeps& deps, http::Request& req);
http::Response handle_retry_job(const ApiDeps& deps, http::Request& req);
http::Response handle_job_result(const ApiDeps& deps, http::Request& req);
http::Response handle_job_report(const ApiDeps& deps, http::Request& req);
http::Response handle_job_diff(const ApiDeps& deps, http::Request& req);

// The web page and its script and style sheet (web_ui.cpp). Public.
http::Response handle_web_index(const ApiDeps& deps, http::Request& req);
http::Response handle_web_script(const ApiDeps& deps, http::Request& req);
http::Response handle_web_style(const ApiDeps& deps, http::Request& req);

}  // namespace fti::api
