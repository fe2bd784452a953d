#include "fti/api/app.hpp"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <fmt/format.h>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "fti/api/api.hpp"
#include "fti/cleanup/formatters.hpp"
#include "fti/cleanup/job_handler.hpp"
#include "fti/core/clock.hpp"
#include "fti/core/ids.hpp"
#include "fti/core/log.hpp"
#include "fti/core/process.hpp"
#include "fti/db/admin.hpp"
#include "fti/db/database.hpp"
#include "fti/db/migrations.hpp"
#include "fti/db/notifications.hpp"
#include "fti/db/read_routing.hpp"
#include "fti/http/server.hpp"
#include "fti/jobs/blob_replication.hpp"
#include "fti/jobs/blob_retention.hpp"
#include "fti/jobs/event_bridge.hpp"
#include "fti/jobs/event_bus.hpp"
#include "fti/jobs/job_store.hpp"
#include "fti/jobs/sharded_job_store.hpp"
#include "fti/jobs/worker_pool.hpp"
#include "fti/llm/cache.hpp"
#include "fti/llm/cost.hpp"
#include "fti/llm/router.hpp"
#include "fti/ops/dependency_monitor.hpp"
#include "fti/ops/flags.hpp"
#include "fti/ops/metrics.hpp"
#include "fti/ops/sla.hpp"
#include "fti/ops/surge.hpp"
#include "fti/storage/blob_store.hpp"
#include "fti/storage/cold_storage.hpp"
#include "fti/storage/replication.hpp"
#include "fti/api/status_cache.hpp"
#include "fti/api/surge_responder.hpp"

namespace fti::api {
namespace fs = std::filesystem;

namespace {

// The worker pool's observer: the events' publisher, and the cleanup SLA's source. A cleanup
// job that ends (succeeded, or failed for good) is timed from its submission.
class SlaJobObserver final : public jobs::JobObserver {
 public:
  SlaJobObserver(jobs::JobObserver& next, ops::SlaMonitor& sla, const Clock& clock)
      : next_(next), sla_(sla), clock_(clock) {}

  void on_started(const jobs::Job& job) override { next_.on_started(job); }
  void on_progress(const jobs::Job& job, int percent, const std::string& stage) override {
    next_.on_progress(job, percent, stage);
  }
  void on_finished(const jobs::Job& job, jobs::JobStatus status, double seconds) override {
    next_.on_finished(job, status, seconds);
    if (job.type != "cleanup") return;
    if (status != jobs::JobStatus::succeeded && status != jobs::JobStatus::failed) return;
    const TimeMs now = clock_.now_ms();
    ops::CleanupOutcome outcome = ops::CleanupOutcome::succeeded;
    if (status == jobs::JobStatus::failed) {
      const bool input = job.error && ops::is_input_fault(job.error->code);
      outcome = input ? ops::CleanupOutcome::failed_input : ops::CleanupOutcome::failed_service;
    }
    sla_.record_cleanup(now, static_cast<double>(std::max<TimeMs>(0, now - job.created_at)) / 1000.0, outcome);
  }

 private:
  jobs::JobObserver& next_;
  ops::SlaMonitor& sla_;
  const Clock& clock_;
};

std::vector<storage::BlobStore*> raw(const std::vector<std::unique_ptr<storage::BlobStore>>& stores) {
  std::vector<storage::BlobStore*> out;
  for (const auto& s : stores) out.push_back(s.get());
  return out;
}

}  // namespace

struct App::Impl {
  std::shared_ptr<const Config> config;
  SystemClock clock;
  ops::Metrics metrics;
  // Blob stores: the primary (storage.url), its replicas and the cold store, and the
  // layers over them; `blobs` is the one everything else uses.
  std::unique_ptr<storage::BlobStore> primary_blobs;
  std::vector<std::unique_ptr<storage::BlobStore>> replica_blobs;
  std::unique_ptr<storage::BlobStore> cold_blobs;
  std::unique_ptr<storage::BlobStore> replicated_blobs;  // primary + replicas, when there are replicas
  std::unique_ptr<storage::BlobStore> tiered_blobs;      // hot + cold, when there is a cold store
  storage::BlobStore* hot_blobs = nullptr;                // where new blobs are written
  storage::BlobStore* blobs = nullptr;
  std::unique_ptr<db::Database> database;
  std::vector<std::unique_ptr<db::Database>> shard_databases;  // database.shards: jobs by tenant
  std::unique_ptr<db::ReadRouting> reads;                      // database.replica_urls
  std::unique_ptr<jobs::JobStore> job_store;
  std::unique_ptr<llm::SqlLlmCache> llm_cache;
  std::unique_ptr<llm::CostLedger> llm_ledger;
  std::unique_ptr<llm::Router> llm_router;  // the one way to a model, for every job
  std::unique_ptr<ops::FeatureFlags> flags;     // flags.*, operator overrides, surge mode
  std::unique_ptr<ops::SurgeController> surge;  // the last minute's rate against the baseline
  std::unique_ptr<SurgeResponder> surge_responder;
  std::thread surge_ticker;                     // decides once a second, requests or not
  ops::DependencyMonitor dependencies;          // breakers on the database and the store
  std::thread dependency_checker;               // their checks, which may block for a timeout
  std::unique_ptr<ops::SlaMonitor> sla;         // api, cleanup and websocket service levels
  bool sla_compliant = true;                    // the last report's verdict (surge ticker only)
  bool sla_pressure = false;                    // the cleanup SLA asks for workers (surge ticker only)
  std::unique_ptr<jobs::JobHandler> cleanup_handler;
  std::unique_ptr<jobs::JobHandler> handler;  // replicate jobs, then cleanup; null without replicas
  // Job status answers in memory; every event of a job drops its entry (declared before the
  // bus, so the bus and its subscription go first).
  std::unique_ptr<JobStatusCache> status_cache;
  jobs::EventBus events;                               // job events for WebSockets
  std::unique_ptr<jobs::EventBusObserver> observer;   // publishes the workers' transitions
  std::unique_ptr<SlaJobObserver> sla_observer;       // and times cleanups for the SLA
  std::unique_ptr<jobs::WorkerPool> workers;
  // This instance: in worker leases, cross-instance events and its database sessions' name.
  std::string node_id = "node-" + new_request_id().substr(0, 8);
  // PostgreSQL only: events to and from other instances, and the session that hears them
  // (declared after what its callbacks use, so it is destroyed first).
  std::unique_ptr<jobs::EventBridge> bridge;
  std::vector<std::unique_ptr<db::NotificationListener>> listeners;  // the main database, then each shard
  http::Router router;
  std::unique_ptr<http::HttpServer> server;
  std::atomic<bool> draining{false};
  std::atomic<bool> stopped{false};
  std::once_flag drain_once;
  std::thread maintenance;
  std::mutex maintenance_mutex;
  std::condition_variable maintenance_cv;
  bool maintenance_stop = false;
  std::uint16_t port = 0;
  std::thread signal_thread;
  std::mutex checkpoint_mutex;
  std::optional<db::CheckpointRecord> last_checkpoint;  // SQLite: the maintenance thread's

  Status open_storage_and_database() {
    std::error_code ec;
    fs::create_directories(config->server.data_dir, ec);
    if (ec) {
      return Error(errc::bad_config, fmt::format("server.data_dir: cannot create {}: {}",
                                                 config->server.data_dir, ec.message()));
    }
    FTI_TRY(open_storage());
    db::OpenOptions db_options;
    db_options.pool_size = config->database.pool_size;
    db_options.busy_timeout_ms = config->database.busy_timeout_ms;
    db_options.statement_timeout_ms = config->database.statement_timeout_ms;
    db_options.application_name = "finishthisidea " + node_id;
    FTI_ASSIGN_OR_RETURN(database, db::open_database(config->database_url(), db_options));
    FTI_ASSIGN_OR_RETURN(int applied, db::migrate(*database));
    if (applied > 0) log::get("db")->info("applied {} migration(s)", applied);
    jobs::JobStoreOptions store_options;
    store_options.aging_ms = config->jobs.aging_ms;
    store_options.max_attempts = config->jobs.max_attempts;
    if (!config->database.shards.empty()) return open_shards(db_options, store_options);
    FTI_TRY(open_replicas(db_options));
    job_store = jobs::make_sql_job_store(*database, store_options, reads.get());
    return {};
  }

  Status open_storage() {
    // The one place that reads the AWS_* credentials, as the AWS CLI does.
    storage::OpenBlobStoreOptions blob_options;
    blob_options.s3_credentials = storage::s3_credentials_from_environment();
    blob_options.clock = &clock;
    FTI_ASSIGN_OR_RETURN(primary_blobs, storage::open_blob_store(config->storage_url(), blob_options));
    hot_blobs = primary_blobs.get();
    if (!config->storage.replicas.empty()) {
      std::vector<storage::BlobStore*> replicas;
      for (const auto& url : config->storage.replicas) {
        FTI_ASSIGN_OR_RETURN(auto replica, storage::open_blob_store(url, blob_options));
        replicas.push_back(replica.get());
        replica_blobs.push_back(std::move(replica));
      }
      replicated_blobs = storage::make_replicated_blob_store(*primary_blobs, std::move(replicas),
                                                             [this](const std::string& key) { replicate_later(key); });
      hot_blobs = replicated_blobs.get();
    }
    blobs = hot_blobs;
    if (!config->storage.cold_url.empty()) {
      FTI_ASSIGN_OR_RETURN(cold_blobs, storage::open_blob_store(config->storage.cold_url, blob_options));
      tiered_blobs = storage::make_tiered_blob_store(*hot_blobs, *cold_blobs);
      blobs = tiered_blobs.get();
    }
    return {};
  }

  // A committed blob change becomes a durable replicate job (retried until the replicas
  // match). Should even that insert fail, the change is counted and logged: never silent.
  void replicate_later(const std::string& key) {
    auto queued = job_store->enqueue(jobs::replicate_job(key), clock.now_ms());
    if (queued.ok()) return;
    metrics.inc("fti_storage_replication_errors_total");
    log::get("storage")->error("could not queue the replication of {}: {}", key, queued.error().message);
  }

  // Jobs live in the shards, each migrated like the main database (which keeps API keys
  // and the LLM cache and ledger).
  Status open_shards(const db::OpenOptions& db_options, const jobs::JobStoreOptions& store_options) {
    std::vector<std::unique_ptr<jobs::JobStore>> stores;
    for (const auto& url : config->database.shards) {
      FTI_ASSIGN_OR_RETURN(auto shard, db::open_database(url, db_options));
      FTI_TRY(db::migrate(*shard));
      stores.push_back(jobs::make_sql_job_store(*shard, store_options));
      shard_databases.push_back(std::move(shard));
    }
    job_store = jobs::make_sharded_job_store(std::move(stores));
    log::get("db")->info("jobs sharded by tenant over {} databases", shard_databases.size());
    return {};
  }

  // Replicas get the schema through replication: they are only opened, never migrated.
  Status open_replicas(const db::OpenOptions& db_options) {
    if (config->database.replica_urls.empty()) return {};
    std::vector<std::unique_ptr<db::Database>> replicas;
    for (const auto& url : config->database.replica_urls) {
      FTI_ASSIGN_OR_RETURN(auto replica, db::open_database(url, db_options));
      replicas.push_back(std::move(replica));
    }
    reads = std::make_unique<db::ReadRouting>(*database, std::move(replicas));
    log::get("db")->info("status and list reads go to {} replica(s)", reads->replica_count());
    return {};
  }

  Status build_llm_router() {
    ops::declare_standard_metrics(metrics);
    llm_cache = std::make_unique<llm::SqlLlmCache>(*database);
    llm_ledger = llm::make_sql_cost_ledger(*database);
    FTI_ASSIGN_OR_RETURN(llm_router, llm::make_router(config->llm, clock, llm_cache.get(), llm_ledger.get(), &metrics));
    const auto& l = config->llm;
    log::get("llm")->info("language models: mode {}, {} Ollama instance(s), OpenAI {}, Anthropic {}, cloud {}", l.mode,
                          l.ollama_urls.size(), l.openai_base_url.empty() ? "off" : "on",
                          l.anthropic_base_url.empty() ? "off" : "on", l.allow_cloud ? "allowed" : "forbidden");
    return {};
  }

  void build_surge() {
    flags = std::make_unique<ops::FeatureFlags>(config->flags);
    ops::SurgeOptions o;
    o.factor = config->surge.factor;
    o.exit_factor = config->surge.exit_factor;
    o.min_rate = config->surge.min_rate;
    o.min_seconds = config->surge.min_seconds;
    o.baseline_seconds = config->surge.baseline_minutes * 60;
    surge = std::make_unique<ops::SurgeController>(o, clock.now_ms());
    surge_responder = std::make_unique<SurgeResponder>(config, *flags, llm_router.get(), metrics);
    surge->on_change([this](const ops::SurgeStatus& status) { surge_responder->apply(status); });
    sla = std::make_unique<ops::SlaMonitor>(ops::sla_options_from_config(config->sla), clock.now_ms());
  }

  // The database every two seconds; the store every ten (on S3 a check is a LIST request).
  void build_dependency_checks() {
    dependencies.add("database", [this]() -> Status {
      FTI_ASSIGN_OR_RETURN(auto conn, database->acquire());
      auto rows = conn->query("SELECT 1");
      if (!rows.ok()) {
        conn.mark_broken();
        return rows.error();
      }
      return ok_status();
    });
    ops::DependencyOptions store;
    store.interval = std::chrono::seconds(10);
    dependencies.add("storage", [this] { return blobs->check(); }, store);
    for (const char* name : {"database", "storage"}) metrics.set("fti_dependency_up", {{"dependency", name}}, 1);
    dependencies.on_change([this](const ops::DependencyState& s) {
      metrics.set("fti_dependency_up", {{"dependency", s.name}}, s.up ? 1 : 0);
      if (s.up) {
        log::get("app")->info("the {} answers again: its circuit breaker is closed", s.name);
      } else {
        log::get("app")->error("the {} failed its checks: circuit breaker open, /readyz answers 503 ({})", s.name,
                               s.last_error);
      }
    });
  }

  void start_dependency_checker() {
    dependency_checker = std::thread([this] {
      pthread_setname_np(pthread_self(), "fti-depcheck");
      std::unique_lock lock(maintenance_mutex);
      while (!maintenance_stop) {
        lock.unlock();
        dependencies.tick(clock.now_ms());
        lock.lock();
        maintenance_cv.wait_for(lock, std::chrono::seconds(1), [&] { return maintenance_stop; });
      }
    });
  }

  void start_surge_ticker() {
    surge_ticker = std::thread([this] {
      pthread_setname_np(pthread_self(), "fti-surge");
      std::unique_lock lock(maintenance_mutex);
      while (!maintenance_stop) {
        lock.unlock();
        surge->tick(clock.now_ms());
        check_sla();
        lock.lock();
        maintenance_cv.wait_for(lock, std::chrono::seconds(1), [&] { return maintenance_stop; });
      }
    });
  }

  // Once a second: the SLA gauges, a log line when the verdict changes, and pressure on the
  // worker pool while the cleanup figures ask for more workers.
  void check_sla() {
    const auto report = sla->report(clock.now_ms());
    for (const auto& s : report.services) {
      metrics.set("fti_sla_compliant", {{"service", s.service}}, s.compliant ? 1.0 : 0.0);
    }
    if (report.compliant != sla_compliant) {
      sla_compliant = report.compliant;
      if (report.compliant) {
        log::get("sla")->info("every service meets its SLA again");
      } else {
        std::vector<std::string> missed;
        for (const auto& s : report.services) {
          for (const auto& v : s.violations) {
            missed.push_back(fmt::format("{} {} {:.2f} (target {:.2f})", s.service, v.metric, v.measured, v.target));
          }
        }
        log::get("sla")->warn("SLA missed over the last {} s: {}", report.window_seconds, fmt::join(missed, "; "));
      }
    }
    const bool pressure = ops::cleanup_needs_workers(report);
    if (pressure != sla_pressure) {
      sla_pressure = pressure;
      if (!workers->set_pressure(pressure) && pressure) {
        log::get("sla")->warn("the cleanup SLA asks for more workers, but workers.max ({}) is not above workers.min",
                              config->workers.max);
      }
    } else if (pressure) {
      workers->set_pressure(true);  // the next step, when due
    }
  }

  void build_workers() {
    cleanup::CleanupHandlerOptions options;
    options.flags = flags.get();
    options.executable = self_executable_path();
    options.work_dir = fs::path(config->server.data_dir) / "work";
    options.limits = config->limits;
    options.llm = llm_router.get();
    options.llm_confidence_threshold = config->llm.confidence_threshold;
    options.llm_max_files = config->llm.max_files_per_job;
    options.format = config->format;
    cleanup_handler = cleanup::make_cleanup_handler(*blobs, options);
    handler = replica_blobs.empty()
                  ? nullptr
                  : jobs::make_replicating_handler(*cleanup_handler, *primary_blobs, raw(replica_blobs), clock, &metrics);
    jobs::WorkerPoolOptions pool;
    pool.threads = config->workers.min;
    pool.max_threads = config->workers.max;
    pool.target_queue_seconds = config->workers.target_queue_seconds;
    pool.metrics = &metrics;
    pool.lease_ms = config->jobs.lease_ms;
    pool.heartbeat_ms = std::max<TimeMs>(config->jobs.lease_ms / 3, 50);
    pool.node_id = node_id;
    observer = std::make_unique<jobs::EventBusObserver>(events, *job_store);
    sla_observer = std::make_unique<SlaJobObserver>(*observer, *sla, clock);
    workers = std::make_unique<jobs::WorkerPool>(*job_store, handler ? *handler : *cleanup_handler, clock,
                                                 // 20% jitter: failures of one burst retry apart.
                                                 jobs::RetryPolicy(config->jobs.backoff_base_ms, 15 * 60 * 1000, 0.2), pool,
                                                 sla_observer.get());
  }

  // Instances sharing a PostgreSQL database hear each other: a job enqueued anywhere wakes
  // idle workers here at once, and events of jobs running elsewhere reach WebSockets here.
  Status connect_instances() {
    if (database->dialect() != db::Dialect::postgres) return {};
    bridge = std::make_unique<jobs::EventBridge>(events, *database, *job_store, node_id);
    FTI_TRY(listen_on(config->database_url(), true));
    // Jobs are enqueued (and announced) in their shard's database.
    for (std::size_t i = 0; i < shard_databases.size(); ++i) {
      if (shard_databases[i]->dialect() == db::Dialect::postgres) FTI_TRY(listen_on(config->database.shards[i], false));
    }
    log::get("app")->info("listening for other instances on PostgreSQL ({} and {})", jobs::kJobsReadyChannel,
                          jobs::kJobEventsChannel);
    return {};
  }

  Status listen_on(const std::string& url, bool with_events) {
    const std::string ready(jobs::kJobsReadyChannel);
    const std::string cancel(jobs::kJobCancelChannel);
    std::vector<std::string> channels = {ready, cancel};
    if (with_events) channels.emplace_back(jobs::kJobEventsChannel);
    FTI_ASSIGN_OR_RETURN(auto listener,
                         db::listen(
                             url, channels,
                             [this, ready, cancel](const std::string& channel, const std::string& payload) {
                               if (channel == ready) {
                                 workers->notify(payload);
                               } else if (channel == cancel) {
                                 workers->cancel_local(payload);  // a job not running here: nothing happens
                               } else {
                                 bridge->on_notification(payload);
                               }
                             },
                             // Jobs enqueued while the session was down told nobody: look now.
                             [this] { workers->notify(); }));
    listeners.push_back(std::move(listener));
    return {};
  }

  // Events reach the bus from this instance's workers and API, and from other instances
  // through the PostgreSQL bridge: any of them makes the job's cached answer old.
  void build_status_cache() {
    constexpr std::size_t kMaxEntries = 10000;  // ~1 KiB each
    status_cache = std::make_unique<JobStatusCache>(
        clock, std::chrono::milliseconds(config->server.status_cache_ms), kMaxEntries);
    if (!status_cache->enabled()) return;
    events.subscribe_all([cache = status_cache.get()](const jobs::JobEvent& e) { cache->invalidate(e.job_id); });
  }

  Status build_server() {
    FTI_ASSIGN_OR_RETURN(HostPort hp, parse_host_port(config->server.listen));
    if (config->auth.mode == "open" && !is_loopback_host(hp.host)) {
      return Error(errc::bad_config,
                   fmt::format("auth.mode: \"open\" is allowed only on a loopback address, not {}; "
                               "set auth.mode = \"api_key\" or listen on 127.0.0.1", hp.host));
    }
    ops::declare_standard_metrics(metrics);
    build_status_cache();
    ApiDeps deps;
    deps.config = config;
    deps.database = database.get();
    deps.blobs = blobs;
    deps.jobs = job_store.get();
    deps.metrics = &metrics;
    deps.clock = &clock;
    deps.on_enqueued = [this] { workers->notify(); };
    deps.on_cancel_requested = [this](const std::string& id) { workers->cancel_local(id); };
    deps.events = &events;
    deps.draining = &draining;
    deps.flags = flags.get();
    deps.surge = surge.get();
    deps.sla = sla.get();
    deps.status_cache = status_cache.get();
    deps.in_flight = [this] { return server ? server->in_flight() : std::int64_t{0}; };
    deps.dependencies = &dependencies;
    deps.workers = [this] {
      ApiDeps::WorkersView v;
      v.node = node_id;
      v.total = workers->total_workers();
      v.busy = workers->busy_workers();
      v.min = config->workers.min;
      v.max = config->workers.max;
      v.executions = workers->executions();
      return v;
    };
    deps.last_checkpoint = [this] {
      std::lock_guard lock(checkpoint_mutex);
      return last_checkpoint;
    };
    register_routes(router, deps);

    http::ServerOptions options;
    options.host = hp.host;
    options.port = hp.port;
    options.io_threads = config->server.threads;
    options.blocking_threads = config->server.blocking_threads;
    options.request_threads = config->server.request_threads;
    options.max_upload_bytes = config->server.max_upload_bytes;
    options.io_timeout_seconds = config->server.request_timeout_seconds;
    options.node_id = node_id;
    options.on_exchange = [this](int status, double seconds) { sla->record_api(clock.now_ms(), seconds, status); };
    options.on_websocket_sent = [this](double seconds) { sla->record_websocket(clock.now_ms(), seconds); };
    server = std::make_unique<http::HttpServer>(options, router, metrics);
    server->use(make_admission_middleware(deps));
    server->use(make_auth_middleware(deps));
    server->use(make_tenant_limit_middleware(deps));
    FTI_ASSIGN_OR_RETURN(port, server->listen());
    return {};
  }

  // Prunes finished jobs past their retention, with their blobs, once a minute.
  void start_maintenance() {
    maintenance = std::thread([this] {
      std::unique_lock lock(maintenance_mutex);
      TimeMs next_sweep = 0;
      while (!maintenance_stop) {
        lock.unlock();
        prune_expired_jobs();
        prune_llm_cache();
        checkpoint_sqlite();
        if (clock.now_ms() >= next_sweep) {
          sweep_blobs();
          next_sweep = clock.now_ms() + kSweepEveryMs;
        }
        lock.lock();
        maintenance_cv.wait_for(lock, std::chrono::minutes(1), [&] { return maintenance_stop; });
      }
    });
  }

  void stop_maintenance() {
    {
      std::lock_guard lock(maintenance_mutex);
      maintenance_stop = true;
    }
    maintenance_cv.notify_all();
    if (maintenance.joinable()) maintenance.join();
    if (surge_ticker.joinable()) surge_ticker.join();
    if (dependency_checker.joinable()) dependency_checker.join();
  }

  // SQLite checkpoints on commit when the WAL passes 1,000 pages; a passive one a minute
  // also keeps the WAL short when writes are few, and tells operators when it last ran.
  void checkpoint_sqlite() {
    if (database->dialect() != db::Dialect::sqlite) return;
    auto done = db::checkpoint_wal(*database, clock.now_ms());
    if (!done.ok()) {
      log::get("db")->warn("WAL checkpoint failed: {}", done.error().message);
      return;
    }
    std::lock_guard lock(checkpoint_mutex);
    last_checkpoint = *done;
  }

  void prune_llm_cache() {
    auto removed = llm_cache->prune(clock.now_ms());
    if (!removed.ok()) log::get("llm")->warn("pruning the LLM cache failed: {}", removed.error().message);
  }

  void prune_expired_jobs() {
    constexpr int kBatch = 500;
    constexpr TimeMs kHourMs = 3600 * 1000;
    const TimeMs now = clock.now_ms();
    for (;;) {
      auto ids = job_store->prune(now - config->jobs.retention_hours * kHourMs,
                                  now - config->jobs.failed_retention_hours * kHourMs, kBatch);
      if (!ids.ok()) {
        log::get("jobs")->warn("pruning finished jobs failed: {}", ids.error().message);
        return;
      }
      for (const auto& id : *ids) {
        for (const auto& key : {cleanup::upload_key(id), cleanup::result_key(id), cleanup::report_key(id),
                                cleanup::report_md_key(id), cleanup::diff_key(id)}) {
          (void)blobs->remove(key);  // a blob already gone is fine
        }
      }
      if (!ids->empty()) log::get("jobs")->info("pruned {} finished job(s) past retention", ids->size());
      if (static_cast<int>(ids->size()) < kBatch) return;
    }
  }

  // Uploads no job owns (a crash between storing and enqueueing) and uploads of jobs done
  // long ago go; old results and reports move to the cold store (jobs/blob_retention.hpp).
  static constexpr TimeMs kSweepEveryMs = 3600 * 1000;
  void sweep_blobs() {
    constexpr TimeMs kHourMs = 3600 * 1000;
    jobs::BlobRetentionOptions options;
    options.upload_after_ms = config->storage.upload_retention_hours * kHourMs;
    options.cold_after_ms = config->storage.cold_after_hours * kHourMs;
    auto sweep = jobs::sweep_blobs(*job_store, *hot_blobs, cold_blobs.get(), options, clock.now_ms());
    if (sweep.orphans_removed + sweep.uploads_removed + sweep.moved_to_cold + sweep.failures > 0) {
      log::get("storage")->info("blob retention: {} orphan upload(s) and {} old upload(s) removed, {} moved to the "
                                "cold store, {} to try again",
                                sweep.orphans_removed, sweep.uploads_removed, sweep.moved_to_cold, sweep.failures);
    }
  }

  // Runs once; a second caller waits until the first has finished draining.
  void drain() { std::call_once(drain_once, [this] { drain_now(); }); }

  void drain_now() {
    stopped = true;
    draining = true;
    // /readyz answers 503 while running jobs finish; uploads are still taken (they wait in the
    // queue for the next start or another instance). Then HTTP stops.
    log::get("app")->info("draining: running jobs get {} s; /readyz answers 503", config->server.drain_seconds);
    stop_maintenance();
    workers->stop(std::chrono::seconds(config->server.drain_seconds));
    server->stop();
  }
};

App::App(std::shared_ptr<const Config> config) : impl_(std::make_unique<Impl>()) {
  impl_->config = std::move(config);
}

App::~App() {
  if (impl_->signal_thread.joinable()) {
    pthread_kill(impl_->signal_thread.native_handle(), SIGTERM);
    impl_->signal_thread.join();
  }
}

Status App::start() {
  // Block the stop signals before any thread starts so that only the signal thread sees them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  FTI_TRY(impl_->open_storage_and_database());
  FTI_TRY(impl_->build_llm_router());
  impl_->build_surge();
  impl_->build_dependency_checks();
  impl_->build_workers();
  log::get("app")->info("formatters: {}", cleanup::describe_formatters(impl_->config->format.tools_dir));
  FTI_TRY(impl_->connect_instances());
  FTI_TRY(impl_->build_server());
  log::get("app")->info("listening on http://{}:{} (data in {}, database {}, storage {})",
                        parse_host_port(impl_->config->server.listen)->host, impl_->port,
                        impl_->config->server.data_dir, db::redacted_url(impl_->config->database_url()),
                        impl_->config->storage_url());
  return {};
}

void App::run() {
  impl_->signal_thread = std::thread([this] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int sig = 0;
    sigwait(&set, &sig);
    if (!impl_->stopped) log::get("app")->info("signal {} received", sig);
    stop();
  });
  impl_->workers->start();
  impl_->start_maintenance();
  impl_->start_surge_ticker();
  impl_->start_dependency_checker();
  impl_->server->run();
  stop();
  log::get("app")->info("stopped");
}

void App::stop() { impl_->drain(); }

std::uint16_t App::port() const { return impl_->port; }

}  // namespace fti::api
