#pragma once
// The database driver interface: Database -> Connection -> query/execute with bound
// parameters -> Rows. SQL uses $1, $2... placeholders, which both SQLite and PostgreSQL
// accept, and integer milliseconds for time, so callers write one SQL text for both drivers.
// Where the dialects differ (locking claims, upserts) callers ask `dialect()`.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "fti/core/result.hpp"

namespace fti::db {

enum class Dialect { sqlite, postgres };

// A bound parameter or a column value. Blobs travel as std::string.
using Value = std::variant<std::monostate, std::int64_t, double, std::string>;
using Params = std::vector<Value>;

inline Value null_value() { return std::monostate{}; }
template <class T>
Value opt(const std::optional<T>& v) {
  if (!v) return std::monostate{};
  return Value(*v);
}

class Row {
 public:
  explicit Row(std::vector<Value> cells) : cells_(std::move(cells)) {}
  std::size_t size() const { return cells_.size(); }
  bool is_null(std::size_t i) const { return std::holds_alternative<std::monostate>(cells_.at(i)); }
  std::int64_t get_int(std::size_t i) const;          // 0 when null
  double get_double(std::size_t i) const;             // 0 when null
  std::string get_text(std::size_t i) const;          // "" when null
  std::optional<std::int64_t> opt_int(std::size_t i) const;
  std::optional<std::string> opt_text(std::size_t i) const;
  const Value& at(std::size_t i) const { return cells_.at(i); }

 private:
  std::vector<Value> cells_;
};

using Rows = std::vector<Row>;

struct ExecResult {
  std::int64_t rows_affected = 0;
};

// Whether a transaction intends to write. SQLite takes its write lock up front for `write`
// (BEGIN IMMEDIATE) so two writers never deadlock on lock upgrade.
enum class TxMode { read, write };

// One session with the database. Not thread-safe: one thread uses it at a time.
class Connection {
 public:
  virtual ~Connection() = default;
  virtual Dialect dialect() const = 0;
  // Runs a statement returning rows (SELECT, or ... RETURNING). Prepared statements are
  // cached per connection by SQL text.
  virtual Result<Rows> query(std::string_view sql, const Params& params = {}) = 0;
  virtual Result<ExecResult> execute(std::string_view sql, const Params& params = {}) = 0;
  // Runs several statements without parameters (migrations).
  virtual Status execute_script(std::string_view sql) = 0;
  // Loads `rows`, in COPY's text format (db::append_copy_row), with `copy_sql` (COPY table
  // (columns) FROM STDIN); returns how many it loaded. All or none: a bad row fails the
  // statement. PostgreSQL only: SQLite has no COPY, and answers an internal error.
  virtual Result<std::int64_t> copy_in(std::string_view copy_sql, std::string_view rows);
  virtual Status begin(TxMode mode) = 0;
  virtual Status commit() = 0;
  virtual Status rollback() = 0;
  // How many prepared statements this connection keeps cached (diagnostics and tests).
  virtual std::size_t cached_statement_count() const { return 0; }
  // False once the session is lost (a PostgreSQL server restarted or cut the connection):
  // the pool then closes it instead of handing it out again.
  virtual bool usable() const { return true; }
};

// A pool of connections. acquire() blocks until one is free (bounded by a timeout).
class Database {
 public:
  virtual ~Database() = default;
  virtual Dialect dialect() const = 0;

  class Lease;  // returns the connection to the pool when destroyed
  virtual Result<Lease> acquire() = 0;

  // Runs fn inside a transaction: commit when it returns ok, rollback otherwise.
  // Retries transient "busy" failures a few times, so fn may run more than once: it should
  // assign its outputs rather than append to them.
  Status transact(TxMode mode, const std::function<Status(Connection&)>& fn);

 protected:
  friend class Lease;
  virtual void release(std::unique_ptr<Connection> conn, bool broken) = 0;
};

class Database::Lease {
 public:
  Lease(Database* owner, std::unique_ptr<Connection> conn) : owner_(owner), conn_(std::move(conn)) {}
  Lease(Lease&& o) noexcept : owner_(o.owner_), conn_(std::move(o.conn_)), broken_(o.broken_) { o.owner_ = nullptr; }
  Lease& operator=(Lease&&) = delete;
  Lease(const Lease&) = delete;
  ~Lease() {
    if (owner_ && conn_) owner_->release(std::move(conn_), broken_);
  }
  Connection& operator*() { return *conn_; }
  Connection* operator->() { return conn_.get(); }
  void mark_broken() { broken_ = true; }

 private:
  Database* owner_;
  std::unique_ptr<Connection> conn_;
  bool broken_ = false;
};

// Opens a database from a URL: "sqlite:PATH" (creates the file) or "postgres://..." /
// "postgresql://..." (a libpq connection URI, e.g. postgresql://user@host:5432/db).
struct OpenOptions {
  int pool_size = 8;
  int busy_timeout_ms = 5000;  // also bounds how long acquire() waits for a free connection
  int connect_timeout_ms = 10000;  // PostgreSQL: each new connection
  // PostgreSQL: the longest a statement may run (or wait for a lock) before the server
  // cancels it, so that no read or write waits for ever; 0: the server's own setting.
  // Migrations run without it.
  int statement_timeout_ms = 30000;
  // PostgreSQL: how sessions name themselves in pg_stat_activity (an instance's node id
  // tells N instances' connections apart).
  std::string application_name = "finishthisidea";
};
Result<std::unique_ptr<Database>> open_database(std::string_view url, const OpenOptions& options);

// The URL without its password (postgresql://user:***@host/db), for logs and messages.
std::string redacted_url(const std::string& url);

}  // namespace fti::db
