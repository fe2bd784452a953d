// SQLite driver: a bounded pool of connections in WAL mode, each with a cache of prepared
// statements keyed by SQL text. Parameters are written $1, $2... (PostgreSQL style); SQLite
// reads those as named parameters, so they are bound by name.
#include "sqlite_database.hpp"

#include <sqlite3.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "connection_pool.hpp"
#include "fti/core/log.hpp"

namespace fti::db {

namespace {

// Busy and locked are transient (another connection holds the lock); all else is an error.
Error sqlite_error(sqlite3* db, int rc, std::string_view sql) {
  const int primary = rc & 0xff;
  std::string message = std::string("sqlite: ") + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  if (!sql.empty()) message += " (in: " + std::string(sql.substr(0, 120)) + ")";
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) return Error(errc::db_busy, message);
  // Duplicate keys are the caller's conflict (PostgreSQL's 23505 maps the same way).
  if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
    return Error(errc::conflict, message);
  return Error(errc::db_error, message);
}

// Resets a statement when a call ends, so it never holds a read snapshot or stale bindings.
class StatementReset {
 public:
  explicit StatementReset(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~StatementReset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  StatementReset(const StatementReset&) = delete;
  StatementReset& operator=(const StatementReset&) = delete;

 private:
  sqlite3_stmt* stmt_;
};

Value read_column(sqlite3_stmt* stmt, int i) {
  switch (sqlite3_column_type(stmt, i)) {
    case SQLITE_INTEGER:
      return static_cast<std::int64_t>(sqlite3_column_int64(stmt, i));
    case SQLITE_FLOAT:
      return sqlite3_column_double(stmt, i);
    case SQLITE_TEXT: {
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
      return std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt, i)));
    }
    case SQLITE_BLOB: {
      const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt, i));
      const auto size = static_cast<std::size_t>(sqlite3_column_bytes(stmt, i));
      return data ? std::string(data, size) : std::string();
    }
    default:
      return std::monostate{};
  }
}

constexpr std::size_t kMaxCachedStatements = 256;

class SqliteConnection final : public Connection {
 public:
  SqliteConnection(sqlite3* db, std::shared_ptr<std::timed_mutex> writer, int busy_timeout_ms)
      : db_(db), writer_(std::move(writer)), busy_timeout_ms_(busy_timeout_ms) {}
  ~SqliteConnection() override {
    clear_cache();
    sqlite3_close_v2(db_);
    release_writer();
  }
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  Dialect dialect() const override { return Dialect::sqlite; }
  std::size_t cached_statement_count() const override { return statements_.size(); }

  Result<Rows> query(std::string_view sql, const Params& params) override {
    Rows rows;
    FTI_TRY(run(sql, params, &rows));
    return rows;
  }

  Result<ExecResult> execute(std::string_view sql, const Params& params) override {
    FTI_TRY(run(sql, params, nullptr));
    return ExecResult{static_cast<std::int64_t>(sqlite3_changes64(db_))};
  }

  Status execute_script(std::string_view sql) override {
    const std::string text(sql);
    char* message = nullptr;
    const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
    if (rc == SQLITE_OK) return ok_status();
    Error error = sqlite_error(db_, rc, {});
    if (message) {
      error.message = std::string("sqlite: ") + message;
      sqlite3_free(message);
    }
    return error;
  }

  // IMMEDIATE takes the write lock now, so two writers never deadlock upgrading a read lock.
  // Writers of this process first queue on an in-process mutex: SQLite's busy handler waits
  // by sleeping (1, 2, 5... ms), a mutex hands over the moment the last writer commits.
  Status begin(TxMode mode) override {
    if (mode == TxMode::read) return simple("BEGIN");
    if (!writer_->try_lock_for(std::chrono::milliseconds(busy_timeout_ms_))) {
      return Error(errc::db_busy, "sqlite: another writer held the database too long; retry later");
    }
    holds_writer_ = true;
    Status s = simple("BEGIN IMMEDIATE");
    if (!s.ok()) release_writer();
    return s;
  }
  Status commit() override {
    Status s = simple("COMMIT");
    if (s.ok()) release_writer();  // on failure the caller rolls back, which releases
    return s;
  }
  Status rollback() override {
    // Nothing to undo when SQLite already rolled back (e.g. after SQLITE_FULL).
    Status s = sqlite3_get_autocommit(db_) ? ok_status() : simple("ROLLBACK");
    release_writer();
    return s;
  }

 private:
  void release_writer() {
    if (!holds_writer_) return;
    holds_writer_ = false;
    writer_->unlock();
  }

  void clear_cache() {
    for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
    statements_.clear();
  }

  Status simple(std::string_view sql) {
    auto r = execute(sql, {});
    if (!r.ok()) return r.error();
    return ok_status();
  }

  Result<sqlite3_stmt*> prepare(std::string_view sql) {
    std::string key(sql);
    if (auto it = statements_.find(key); it != statements_.end()) return it->second;
    // Callers use fixed SQL texts; a caller building SQL on the fly must not grow this forever.
    if (statements_.size() >= kMaxCachedStatements) clear_cache();
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, key.data(), static_cast<int>(key.size()),
                                      SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return sqlite_error(db_, rc, sql);
    if (!stmt) return Error(errc::db_error, "sqlite: empty statement");
    statements_.emplace(std::move(key), stmt);
    return stmt;
  }

  // Binds $1..$N by name; like PostgreSQL, every parameter must appear in the SQL and every
  // placeholder must get a value.
  Status bind(sqlite3_stmt* stmt, std::string_view sql, const Params& params) {
    if (sqlite3_bind_parameter_count(stmt) != static_cast<int>(params.size())) {
      return Error(errc::db_error, "sqlite: statement has " +
                                       std::to_string(sqlite3_bind_parameter_count(stmt)) +
                                       " parameters but " + std::to_string(params.size()) +
                                       " were given (in: " + std::string(sql.substr(0, 120)) + ")");
    }
    for (std::size_t i = 0; i < params.size(); ++i) {
      const std::string name = fmt::format("${}", i + 1);
      const int index = sqlite3_bind_parameter_index(stmt, name.c_str());
      if (index == 0) {
        return Error(errc::db_error, "sqlite: parameter " + name + " is not used in: " +
                                         std::string(sql.substr(0, 120)));
      }
      const int rc = bind_one(stmt, index, params[i]);
      if (rc != SQLITE_OK) return sqlite_error(db_, rc, sql);
    }
    return ok_status();
  }

  static int bind_one(sqlite3_stmt* stmt, int index, const Value& v) {
    if (std::holds_alternative<std::int64_t>(v))
      return sqlite3_bind_int64(stmt, index, std::get<std::int64_t>(v));
    if (std::holds_alternative<double>(v)) return sqlite3_bind_double(stmt, index, std::get<double>(v));
    if (std::holds_alternative<std::string>(v)) {
      const auto& s = std::get<std::string>(v);
      // Bound as TEXT: SQLite compares TEXT and BLOB differently, and callers store text.
      return sqlite3_bind_text64(stmt, index, s.data(), s.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    }
    return sqlite3_bind_null(stmt, index);
  }

  // Prepares (or reuses), binds and steps to the end; collects rows when `rows` is given.
  Status run(std::string_view sql, const Params& params, Rows* rows) {
    auto prepared = prepare(sql);
    if (!prepared.ok()) return prepared.error();
    sqlite3_stmt* stmt = *prepared;
    StatementReset reset(stmt);
    if (auto s = bind(stmt, sql, params); !s.ok()) return s;
    for (;;) {
      const int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) return ok_status();
      if (rc != SQLITE_ROW) return sqlite_error(db_, rc, sql);
      if (!rows) continue;
      // Read after stepping: a step may re-prepare the statement after a schema change.
      const int columns = sqlite3_column_count(stmt);
      std::vector<Value> cells;
      cells.reserve(static_cast<std::size_t>(columns));
      for (int i = 0; i < columns; ++i) cells.push_back(read_column(stmt, i));
      rows->emplace_back(std::move(cells));
    }
  }

  sqlite3* db_;
  std::shared_ptr<std::timed_mutex> writer_;  // shared by the pool's connections
  int busy_timeout_ms_;
  bool holds_writer_ = false;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;  // SQL text -> prepared
};

Result<std::unique_ptr<SqliteConnection>> open_connection(const std::string& path,
                                                          const OpenOptions& options,
                                                          std::shared_ptr<std::timed_mutex> writer) {
  sqlite3* raw = nullptr;
  // NOMUTEX: a connection is used by one thread at a time (the pool guarantees it).
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  auto conn = std::make_unique<SqliteConnection>(raw, std::move(writer), options.busy_timeout_ms);  // closes `raw` even on failure
  if (rc != SQLITE_OK) {
    Error e = sqlite_error(raw, rc, {});
    e.message = "cannot open database " + path + ": " + e.message;
    return e;
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, options.busy_timeout_ms);
  // WAL lets readers run beside one writer. Switching a new file to WAL answers "database is
  // locked" at once, without the busy handler, while another process does the same (several
  // instances or `keys create` starting on one fresh file): retried within the busy timeout.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(options.busy_timeout_ms);
  for (;;) {
    Status wal = conn->execute_script("PRAGMA journal_mode=WAL;");
    if (wal.ok()) break;
    if (wal.error().code != errc::db_busy || std::chrono::steady_clock::now() >= give_up) return wal.error();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // NORMAL sync is durable across app crashes in WAL.
  FTI_TRY(conn->execute_script(
      "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
      // Memory-mapped reads: a page another connection changed is not re-read with pread.
      "PRAGMA mmap_size=1073741824;"));
  return conn;
}

}  // namespace

Result<std::unique_ptr<Database>> open_sqlite_database(const std::string& path,
                                                       const OpenOptions& options) {
  const bool in_memory = path == ":memory:";
  const int pool_size = in_memory ? 1 : std::max(options.pool_size, 1);
  // The pool's connections share one in-process writer mutex (see begin()).
  auto open = [path, options, writer = std::make_shared<std::timed_mutex>()]() -> Result<std::unique_ptr<Connection>> {
    FTI_ASSIGN_OR_RETURN(auto conn, open_connection(path, options, writer));
    return std::unique_ptr<Connection>(std::move(conn));
  };
  auto db = std::make_unique<detail::PooledDatabase>(Dialect::sqlite, std::move(open), pool_size,
                                                     std::chrono::milliseconds(options.busy_timeout_ms));
  FTI_TRY(db->open_first());
  fti::log::get("db")->debug("opened sqlite database {} (pool of {})", path, pool_size);
  return std::unique_ptr<Database>(std::move(db));
}

}  // namespace fti::db
