#pragma once
// The HTTP API's handlers (ARCHITECTURE.md section 5) registered on a Router. They depend on
// interfaces only, so tests can hand them fakes.
#include <atomic>
#include <functional>
#include <memory>
#include <string_view>

#include "fti/core/clock.hpp"
#include "fti/core/config.hpp"
#include "fti/db/admin.hpp"
#include "fti/http/router.hpp"
#include "fti/http/server.hpp"

namespace fti::db {
class Database;
}
namespace fti::storage {
class BlobStore;
}
namespace fti::jobs {
class JobStore;
class EventBus;
}
namespace fti::ops {
class Metrics;
class FeatureFlags;
class SurgeController;
class DependencyMonitor;
class SlaMonitor;
}

namespace fti::api {

class JobStatusCache;

struct ApiDeps {
  std::shared_ptr<const Config> config;
  db::Database* database = nullptr;     // for /readyz
  storage::BlobStore* blobs = nullptr;
  jobs::JobStore* jobs = nullptr;
  ops::Metrics* metrics = nullptr;
  const Clock* clock = nullptr;
  std::function<void()> on_enqueued;    // wakes the worker pool
  // A running job's cancel was requested: a local worker running it stops now rather than at
  // its next heartbeat.
  std::function<void(const std::string& job_id)> on_cancel_requested;
  jobs::EventBus* events = nullptr;     // job events: API changes are published, /events subscribes
  std::atomic<bool>* draining = nullptr;  // /readyz answers 503 while set
  ops::FeatureFlags* flags = nullptr;   // /api/v1/admin/flags; null: the routes answer 404
  ops::SurgeController* surge = nullptr;  // /api/v1/admin/surge; counts requests for surge mode
  std::function<std::int64_t()> in_flight;  // requests being handled (the server's count)
  // Breakers on the database and the store: /readyz reads them instead of checking, and
  // requests are refused at once while one is open. Null: /readyz checks directly.
  const ops::DependencyMonitor* dependencies = nullptr;

  // This instance's worker pool, for /api/v1/admin/workers and the cost report.
  struct WorkersView {
    std::string node;
    int total = 0, busy = 0, min = 0, max = 0;
    std::uint64_t executions = 0;
  };
  std::function<WorkersView()> workers;
  // SQLite: this process's last WAL checkpoint (the maintenance thread runs one a minute).
  std::function<std::optional<db::CheckpointRecord>()> last_checkpoint;
  const ops::SlaMonitor* sla = nullptr;     // /api/v1/admin/sla; null: the route answers 404
  // Job status answers in memory (server.status_cache_ms); null: every read goes to the store.
  JobStatusCache* status_cache = nullptr;
};

void register_routes(http::Router& router, const ApiDeps& deps);

// The OpenAPI 3.1 description of every route register_routes serves (src/api/openapi.json,
// embedded at build time; served at GET /api/v1/openapi.json).
std::string_view openapi_document();

// Authentication middleware for auth.mode: "open" gives every request the anonymous tenant.
http::Middleware make_auth_middleware(const ApiDeps& deps);

// Load shedding (shedding.*), in two halves around authentication: before it, the bound on
// requests in flight and the token bucket of the client's address (so floods never reach
// the key lookup), and the request count that drives surge mode; after it, the tenant's
// token bucket and, for uploads, the bound on waiting jobs. Public routes (health,
// readiness, metrics) pass untouched: probes must answer under any load.
http::Middleware make_admission_middleware(const ApiDeps& deps);
http::Middleware make_tenant_limit_middleware(const ApiDeps& deps);

}  // namespace fti::api
