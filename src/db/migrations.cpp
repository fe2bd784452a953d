// Schema migrations. Each runs in its own write transaction together with its row in
// schema_migrations, so a crash leaves it either fully applied or not at all, and two
// processes migrating at once apply it once.
#include "fti/db/migrations.hpp"

#include "fti/core/clock.hpp"
#include "fti/core/log.hpp"

namespace fti::db {

namespace {

// Types are limited to TEXT, INTEGER and BIGINT so one text serves SQLite and PostgreSQL.
constexpr const char* kCreateJobs = R"sql(
CREATE TABLE jobs (
  id               TEXT PRIMARY KEY,
  tenant           TEXT NOT NULL,
  type             TEXT NOT NULL,
  priority         INTEGER NOT NULL,
  status           TEXT NOT NULL,
  profile          TEXT NOT NULL DEFAULT '',
  attempt          INTEGER NOT NULL DEFAULT 0,
  max_attempts     INTEGER NOT NULL DEFAULT 3,
  progress         INTEGER NOT NULL DEFAULT 0,
  stage            TEXT NOT NULL DEFAULT '',
  created_at       BIGINT NOT NULL,
  run_at           BIGINT NOT NULL,
  started_at       BIGINT,
  finished_at      BIGINT,
  lease_until      BIGINT,
  lease_owner      TEXT,
  error_code       TEXT,
  error_message    TEXT,
  input_filename   TEXT NOT NULL DEFAULT '',
  input_bytes      BIGINT NOT NULL DEFAULT 0,
  input_sha256     TEXT NOT NULL DEFAULT '',
  input_key        TEXT NOT NULL DEFAULT '',
  result_json      TEXT,
  cancel_requested INTEGER NOT NULL DEFAULT 0
);
-- The claim: waiting jobs in priority then age order.
CREATE INDEX jobs_claim_idx ON jobs (status, priority, run_at, id);
-- The reaper and re-claims: running jobs by lease expiry.
CREATE INDEX jobs_lease_idx ON jobs (status, lease_until);
-- A tenant's jobs, newest first, for cursor pagination.
CREATE INDEX jobs_tenant_idx ON jobs (tenant, created_at DESC, id DESC);
CREATE TABLE api_keys (
  id         TEXT PRIMARY KEY,
  tenant     TEXT NOT NULL,
  key_hash   TEXT NOT NULL UNIQUE,
  is_admin   INTEGER NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  revoked_at BIGINT
);
CREATE INDEX api_keys_tenant_idx ON api_keys (tenant);
)sql";

// The engine: claims by (type, sort_key) over waiting jobs only, so the claim costs the
// same with a million finished rows; idempotent submission; resource use per job.
constexpr const char* kEngine = R"sql(
ALTER TABLE jobs ADD COLUMN sort_key BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN idempotency_key TEXT;
ALTER TABLE jobs ADD COLUMN peak_rss_bytes BIGINT;
ALTER TABLE jobs ADD COLUMN cpu_ms BIGINT;
UPDATE jobs SET sort_key = run_at + priority * 60000;
DROP INDEX jobs_claim_idx;
DROP INDEX jobs_lease_idx;
CREATE INDEX jobs_ready_idx ON jobs (type, sort_key, id) WHERE status IN ('queued', 'retrying');
CREATE INDEX jobs_lease_idx ON jobs (lease_until) WHERE status = 'running';
CREATE INDEX jobs_finished_idx ON jobs (finished_at) WHERE status IN ('succeeded', 'failed', 'cancelled');
CREATE UNIQUE INDEX jobs_idempotency_idx ON jobs (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL;
)sql";

// Language models: the answer cache and the cost ledger (cost in nano-USD, an integer, so
// one column type serves both drivers and sums are exact).
constexpr const char* kLlm = R"sql(
CREATE TABLE llm_cache (
  key        TEXT PRIMARY KEY,
  answer     TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX llm_cache_expiry_idx ON llm_cache (expires_at);
CREATE TABLE llm_costs (
  job_id     TEXT NOT NULL,
  provider   TEXT NOT NULL,
  model      TEXT NOT NULL,
  tokens_in  BIGINT NOT NULL,
  tokens_out BIGINT NOT NULL,
  cost_nusd  BIGINT NOT NULL,
  at         BIGINT NOT NULL
);
CREATE INDEX llm_costs_job_idx ON llm_costs (job_id);
CREATE INDEX llm_costs_at_idx ON llm_costs (at);
)sql";

// The lease index keyed by lease presence instead of by status: statements guarded by
// `status = 'running'` (completion, failure, heartbeat, progress) no longer match its
// predicate, so PostgreSQL looks them up by primary key. With the old predicate, statistics
// taken while few jobs ran made it scan every running job's entry for each of them (a
// batch of 512 outcomes among 2,048 running jobs took 600 ms instead of 15). The reaper's
// `lease_until < $1` still implies the predicate. lease_until is set only while running.
constexpr const char* kLeaseIndex = R"sql(
DROP INDEX jobs_lease_idx;
CREATE INDEX jobs_lease_idx ON jobs (lease_until) WHERE lease_until IS NOT NULL;
)sql";

// PostgreSQL: the job keys compared byte by byte, as SQLite compares them. Under a
// database's default collation (C.UTF-8, en_US.UTF-8) every comparison in the keys'
// indexes goes through strcoll: 10% to 30% of the server's CPU per job in the queue
// benchmark. It also gives both drivers the same order for the tie-breaks of cursor
// pagination. The keys are ASCII (ids, tenant and type names), so no existing order of
// distinct values changes meaning. Rewrites the jobs table and its indexes once.
constexpr const char* kByteOrderKeysPostgres = R"sql(
ALTER TABLE jobs ALTER COLUMN id TYPE TEXT COLLATE "C",
                 ALTER COLUMN tenant TYPE TEXT COLLATE "C",
                 ALTER COLUMN type TYPE TEXT COLLATE "C",
                 ALTER COLUMN idempotency_key TYPE TEXT COLLATE "C";
)sql";
// SQLite compares text byte by byte already (BINARY): nothing to do.
constexpr const char* kByteOrderKeysSqlite = "SELECT 1;";

// Queues an operator paused (POST /api/v1/admin/queues/{name}/pause): workers of every
// instance skip them until resumed.
constexpr const char* kPausedQueues = R"sql(
CREATE TABLE paused_queues (
  queue     TEXT PRIMARY KEY,
  paused_at BIGINT NOT NULL
);
)sql";

// A tenant's jobs, newest first, listed from a table written once per job and never
// updated: as an index on jobs (jobs_tenant_idx), every change of a job's state wrote a new
// entry into it (those updates cannot be HOT, `status` being indexed), which was the
// largest single cost of a job's life in the PostgreSQL queue benchmark. Triggers on jobs
// keep it, so every writer does, in the writer's transaction: instances still running the
// binary before this migration too (a rolling upgrade), and plain SQL. Job rows never change
// tenant or created_at.
constexpr const char* kTenantJobsSqlite = R"sql(
CREATE TABLE tenant_jobs (
  tenant     TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  id         TEXT NOT NULL,
  PRIMARY KEY (tenant, created_at, id)
) WITHOUT ROWID;
INSERT INTO tenant_jobs (tenant, created_at, id) SELECT tenant, created_at, id FROM jobs;
CREATE TRIGGER jobs_listed AFTER INSERT ON jobs BEGIN
  INSERT INTO tenant_jobs (tenant, created_at, id) VALUES (NEW.tenant, NEW.created_at, NEW.id);
END;
CREATE TRIGGER jobs_unlisted AFTER DELETE ON jobs BEGIN
  DELETE FROM tenant_jobs WHERE tenant = OLD.tenant AND created_at = OLD.created_at AND id = OLD.id;
END;
DROP INDEX jobs_tenant_idx;
)sql";
// The same in byte order (as the job keys since migration 5), with statement triggers over
// transition tables: one INSERT ... SELECT per statement, not a call per row, so a COPY of
// 5,000 jobs lists them in one go. The table lock comes first: no job may be inserted
// between the copy below and the trigger.
constexpr const char* kTenantJobsPostgres = R"sql(
LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE;
CREATE TABLE tenant_jobs (
  tenant     TEXT COLLATE "C" NOT NULL,
  created_at BIGINT NOT NULL,
  id         TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (tenant, created_at, id)
);
INSERT INTO tenant_jobs (tenant, created_at, id) SELECT tenant, created_at, id FROM jobs;
CREATE FUNCTION fti_list_jobs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO tenant_jobs (tenant, created_at, id) SELECT tenant, created_at, id FROM added;
  RETURN NULL;
END $$;
CREATE FUNCTION fti_unlist_jobs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM tenant_jobs t USING removed r
   WHERE t.tenant = r.tenant AND t.created_at = r.created_at AND t.id = r.id;
  RETURN NULL;
END $$;
CREATE TRIGGER jobs_listed AFTER INSERT ON jobs REFERENCING NEW TABLE AS added
  FOR EACH STATEMENT EXECUTE FUNCTION fti_list_jobs();
CREATE TRIGGER jobs_unlisted AFTER DELETE ON jobs REFERENCING OLD TABLE AS removed
  FOR EACH STATEMENT EXECUTE FUNCTION fti_unlist_jobs();
DROP INDEX jobs_tenant_idx;
)sql";

constexpr const char* kCreateMigrationsTable = R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
  version    INTEGER PRIMARY KEY,
  name       TEXT NOT NULL,
  applied_at BIGINT NOT NULL
);
)sql";

const std::string& sql_for(const Migration& m, Dialect dialect) {
  if (dialect == Dialect::postgres && !m.postgres_sql.empty()) return m.postgres_sql;
  return m.sqlite_sql;
}

// Readies a migration's transaction. On PostgreSQL, instances starting together would each
// see a migration missing and both run it: a transaction-scoped advisory lock makes them take
// turns (the second then finds it recorded). SQLite's write transaction already excludes the
// others.
constexpr std::int64_t kMigrationLock = 0x46544930;  // "FTI0"

Status begin_migration(Connection& conn) {
  if (conn.dialect() != Dialect::postgres) return ok_status();
  // A migration may rewrite a big table, and waits for another instance's: neither is
  // bounded by database.statement_timeout_ms (for this transaction only).
  FTI_TRY(conn.execute_script("SET LOCAL statement_timeout = 0"));
  auto locked = conn.query("SELECT pg_advisory_xact_lock($1)", {Value(kMigrationLock)});
  if (!locked.ok()) return locked.error();
  return ok_status();
}

// Applies one migration unless already recorded; sets `applied` when it ran.
Status apply_one(Database& db, const Migration& m, bool& applied) {
  return db.transact(TxMode::write, [&](Connection& conn) -> Status {
    applied = false;
    FTI_TRY(begin_migration(conn));
    FTI_ASSIGN_OR_RETURN(auto rows, conn.query("SELECT 1 FROM schema_migrations WHERE version = $1",
                                               {Value(std::int64_t{m.version})}));
    if (!rows.empty()) return ok_status();
    FTI_TRY(conn.execute_script(sql_for(m, conn.dialect())));
    FTI_TRY(conn.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                         {Value(std::int64_t{m.version}), Value(m.name), Value(SystemClock().now_ms())}));
    applied = true;
    return ok_status();
  });
}

}  // namespace

const std::vector<Migration>& all_migrations() {
  static const std::vector<Migration> migrations = {
      {1, "jobs and api_keys", kCreateJobs, ""},
      {2, "engine: partitions, aging, idempotency", kEngine, ""},
      {3, "llm cache and cost ledger", kLlm, ""},
      {4, "lease index by lease presence", kLeaseIndex, ""},
      {5, "job keys in byte order", kByteOrderKeysSqlite, kByteOrderKeysPostgres},
      {6, "paused queues", kPausedQueues, ""},
      {7, "tenant listing in a table of its own", kTenantJobsSqlite, kTenantJobsPostgres},
  };
  return migrations;
}

Result<int> migrate(Database& db, const std::vector<Migration>& migrations) {
  FTI_TRY(db.transact(TxMode::write, [](Connection& conn) -> Status {
    FTI_TRY(begin_migration(conn));
    return conn.execute_script(kCreateMigrationsTable);
  }));
  int applied_count = 0;
  for (const auto& m : migrations) {
    bool applied = false;
    if (auto s = apply_one(db, m, applied); !s.ok()) {
      return Error(s.error().code, "migration " + std::to_string(m.version) + " (" + m.name +
                                       ") failed: " + s.error().message);
    }
    if (applied) {
      ++applied_count;
      fti::log::get("db")->info("applied migration {} ({})", m.version, m.name);
    }
  }
  return applied_count;
}

}  // namespace fti::db
