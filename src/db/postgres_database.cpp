// PostgreSQL driver over libpq: a bounded pool of sessions, each with its own cache of
// prepared statements keyed by SQL text and parameter types. Parameters go as text with
// their types declared (bigint, double precision, text; NULL left to the server to infer),
// so `$1 + priority * $2` with millisecond times never overflows a guessed integer.
#include "postgres_database.hpp"

#include <libpq-fe.h>

#include <fmt/format.h>

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <chrono>
#include <string>
#include <unordered_map>
#include <vector>

#include "connection_pool.hpp"
#include "fti/core/log.hpp"

namespace fti::db {

namespace {

// Type OIDs from PostgreSQL's catalog (pg_type.dat); stable across versions.
constexpr Oid kBoolOid = 16;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kTextOid = 25;
constexpr Oid kOidOid = 26;
constexpr Oid kFloat4Oid = 700;
constexpr Oid kFloat8Oid = 701;

constexpr std::size_t kMaxCachedStatements = 256;

// Owns a PGresult for the length of a call.
struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

std::string sql_excerpt(std::string_view sql) { return std::string(sql.substr(0, 120)); }

// SQLSTATEs that mean "try again": serialization failures, deadlocks, lock timeouts, and
// a session that went away (the pool opens a fresh one for the retry). Not all of class
// 08: 08P01 is a protocol violation, e.g. a wrong number of parameters.
bool is_transient(std::string_view state) {
  return state == "40001" || state == "40P01" || state == "55P03" || state == "08000" || state == "08003" ||
         state == "08006" || state == "57P01" || state == "57P02" || state == "57P03";
}

Error pg_error(PGconn* conn, const PGresult* res, std::string_view sql) {
  const char* state_field = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  const std::string state = state_field ? state_field : "";
  std::string detail = res ? PQresultErrorMessage(res) : "";
  if (detail.empty()) detail = PQerrorMessage(conn);
  while (!detail.empty() && (detail.back() == '\n' || detail.back() == ' ')) detail.pop_back();
  std::string message = "postgres: " + detail;
  if (!sql.empty()) message += " (in: " + sql_excerpt(sql) + ")";
  if (state == "23505") return Error(errc::conflict, message);  // unique_violation, as SQLite's
  // query_canceled is also an operator's pg_cancel_backend and an aborted COPY: db_error, as before.
  if (state == "57014" && detail.find("statement timeout") != std::string::npos) {
    return Error(errc::timeout, message + "; retry later, or raise database.statement_timeout_ms if the statement "
                                          "must take this long");
  }
  if (PQstatus(conn) == CONNECTION_BAD) {
    return Error(errc::db_busy, "postgres: the connection was lost; retry (" + detail + ")");
  }
  if (is_transient(state)) return Error(errc::db_busy, message);
  return Error(errc::db_error, message);
}

// The count in a command's tag ("INSERT 0 3", "COPY 5000"); 0 when it has none.
std::int64_t rows_affected(const PGresult* res) {
  std::int64_t affected = 0;
  const char* tuples = PQcmdTuples(const_cast<PGresult*>(res));
  if (tuples && *tuples) std::from_chars(tuples, tuples + std::strlen(tuples), affected);
  return affected;
}

Value read_cell(const PGresult* res, int row, int col) {
  if (PQgetisnull(res, row, col)) return std::monostate{};
  const char* text = PQgetvalue(res, row, col);
  const auto length = static_cast<std::size_t>(PQgetlength(res, row, col));
  switch (PQftype(res, col)) {
    case kInt8Oid:
    case kInt4Oid:
    case kInt2Oid:
    case kOidOid: {
      std::int64_t v = 0;
      std::from_chars(text, text + length, v);
      return v;
    }
    case kFloat8Oid:
    case kFloat4Oid:
      return std::strtod(text, nullptr);
    case kBoolOid:
      return std::int64_t{text[0] == 't' ? 1 : 0};
    default:
      // text, and numeric (SUM of bigint) kept exact as its digits: get_int/get_double parse it.
      return std::string(text, length);
  }
}

// A parameter as libpq takes it: text plus a declared type.
struct BoundParams {
  std::vector<std::string> text;
  std::vector<const char*> values;
  std::vector<Oid> types;
  std::string signature;  // one letter per parameter type, part of the statement cache key
};

Result<BoundParams> bind_params(const Params& params, std::string_view sql) {
  BoundParams b;
  b.text.resize(params.size());
  b.values.resize(params.size(), nullptr);
  b.types.resize(params.size(), 0);
  for (std::size_t i = 0; i < params.size(); ++i) {
    const Value& v = params[i];
    if (const auto* n = std::get_if<std::int64_t>(&v)) {
      b.text[i] = std::to_string(*n);
      b.types[i] = kInt8Oid;
      b.signature += 'i';
    } else if (const auto* d = std::get_if<double>(&v)) {
      b.text[i] = fmt::format("{}", *d);
      b.types[i] = kFloat8Oid;
      b.signature += 'd';
    } else if (const auto* s = std::get_if<std::string>(&v)) {
      if (s->find('\0') != std::string::npos) {
        return Error(errc::bad_request, "postgres: a text value holds a NUL byte, which PostgreSQL text cannot "
                                        "store (in: " + sql_excerpt(sql) + ")");
      }
      b.text[i] = *s;
      b.types[i] = kTextOid;
      b.signature += 't';
    } else {
      b.signature += 'n';  // NULL: its type comes from where it is used
      continue;
    }
  }
  return b;
}

// The pointers libpq reads, taken once `b` sits where it stays for the call.
void point_at_text(BoundParams& b) {
  for (std::size_t i = 0; i < b.text.size(); ++i) b.values[i] = b.signature[i] == 'n' ? nullptr : b.text[i].c_str();
}

class PostgresConnection final : public Connection {
 public:
  explicit PostgresConnection(PGconn* conn) : conn_(conn) {}
  ~PostgresConnection() override { PQfinish(conn_); }
  PostgresConnection(const PostgresConnection&) = delete;
  PostgresConnection& operator=(const PostgresConnection&) = delete;

  Dialect dialect() const override { return Dialect::postgres; }
  std::size_t cached_statement_count() const override { return statements_.size(); }
  bool usable() const override { return PQstatus(conn_) == CONNECTION_OK; }

  Result<Rows> query(std::string_view sql, const Params& params) override {
    FTI_ASSIGN_OR_RETURN(auto res, run(sql, params));
    Rows rows;
    const int n = PQntuples(res.get());
    const int columns = PQnfields(res.get());
    rows.reserve(static_cast<std::size_t>(n));
    for (int r = 0; r < n; ++r) {
      std::vector<Value> cells;
      cells.reserve(static_cast<std::size_t>(columns));
      for (int c = 0; c < columns; ++c) cells.push_back(read_cell(res.get(), r, c));
      rows.emplace_back(std::move(cells));
    }
    return rows;
  }

  Result<ExecResult> execute(std::string_view sql, const Params& params) override {
    FTI_ASSIGN_OR_RETURN(auto res, run(sql, params));
    return ExecResult{rows_affected(res.get())};
  }

  Status execute_script(std::string_view sql) override {
    const std::string text(sql);
    PgResult res(PQexec(conn_, text.c_str()));
    return check(res.get(), {});
  }

  // Sends the rows in slices (libpq copies each into its output buffer), then ends the COPY
  // and reads its one result; a failed send ends it with an error, so nothing is loaded.
  Result<std::int64_t> copy_in(std::string_view copy_sql, std::string_view rows) override {
    // As bind_params says for a parameter: COPY's text format has no NUL byte of its own.
    if (rows.find('\0') != std::string_view::npos) {
      return Error(errc::bad_request, "postgres: a text value holds a NUL byte, which PostgreSQL text cannot store "
                                      "(in: " + sql_excerpt(copy_sql) + ")");
    }
    const std::string text(copy_sql);
    PgResult start(PQexec(conn_, text.c_str()));
    if (!start || PQresultStatus(start.get()) != PGRES_COPY_IN) return pg_error(conn_, start.get(), copy_sql);
    constexpr std::size_t kSlice = 256 * 1024;
    const char* failed = nullptr;
    for (std::size_t at = 0; at < rows.size() && !failed; at += kSlice) {
      const auto n = std::min(kSlice, rows.size() - at);
      if (PQputCopyData(conn_, rows.data() + at, static_cast<int>(n)) != 1) failed = "sending the rows failed";
    }
    PQputCopyEnd(conn_, failed);
    PgResult end(PQgetResult(conn_));
    while (PgResult rest{PQgetResult(conn_)}) {
    }
    FTI_TRY(check(end.get(), copy_sql));
    return rows_affected(end.get());
  }

  Status begin(TxMode mode) override { return simple(mode == TxMode::read ? "BEGIN READ ONLY" : "BEGIN"); }
  Status commit() override { return simple("COMMIT"); }
  Status rollback() override {
    // Nothing to undo outside a transaction (e.g. the server already ended it).
    if (PQtransactionStatus(conn_) == PQTRANS_IDLE) return ok_status();
    return simple("ROLLBACK");
  }

 private:
  Status check(const PGresult* res, std::string_view sql) {
    const auto status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY) {
      return ok_status();
    }
    return pg_error(conn_, res, sql);
  }

  Status simple(const char* sql) {
    PgResult res(PQexec(conn_, sql));
    return check(res.get(), sql);
  }

  // Prepares (or reuses) and runs; on a cached plan the server no longer accepts (the
  // schema changed under it), prepares once more.
  Result<PgResult> run(std::string_view sql, const Params& params) {
    FTI_ASSIGN_OR_RETURN(auto bound, bind_params(params, sql));
    point_at_text(bound);
    for (int attempt = 0;; ++attempt) {
      FTI_ASSIGN_OR_RETURN(const std::string* name, prepare(sql, bound));
      PgResult res(PQexecPrepared(conn_, name->c_str(), static_cast<int>(bound.values.size()), bound.values.data(),
                                  nullptr, nullptr, 0));
      const char* state = res ? PQresultErrorField(res.get(), PG_DIAG_SQLSTATE) : nullptr;
      if (attempt == 0 && state && std::string_view(state) == "0A000" && PQtransactionStatus(conn_) == PQTRANS_IDLE) {
        forget(sql, bound.signature);
        continue;
      }
      FTI_TRY(check(res.get(), sql));
      return res;
    }
  }

  Result<const std::string*> prepare(std::string_view sql, const BoundParams& bound) {
    std::string key = bound.signature + '|' + std::string(sql);
    if (auto it = statements_.find(key); it != statements_.end()) return &it->second;
    // Callers use fixed SQL texts; one building SQL on the fly must not grow this forever.
    if (statements_.size() >= kMaxCachedStatements) FTI_TRY(forget_all());
    std::string name = fmt::format("fti_{}", next_statement_++);
    const std::string text(sql);
    PgResult res(PQprepare(conn_, name.c_str(), text.c_str(), static_cast<int>(bound.types.size()),
                           bound.types.data()));
    FTI_TRY(check(res.get(), sql));
    auto [it, inserted] = statements_.emplace(std::move(key), std::move(name));
    return &it->second;
  }

  void forget(std::string_view sql, const std::string& signature) {
    auto it = statements_.find(signature + '|' + std::string(sql));
    if (it == statements_.end()) return;
    PgResult res(PQexec(conn_, ("DEALLOCATE " + it->second).c_str()));
    statements_.erase(it);
  }

  Status forget_all() {
    FTI_TRY(simple("DEALLOCATE ALL"));
    statements_.clear();
    return ok_status();
  }

  PGconn* conn_;
  std::unordered_map<std::string, std::string> statements_;  // signature|SQL -> statement name
  std::uint64_t next_statement_ = 0;
};

// Mutes libpq's notices (e.g. "relation already exists, skipping") on stderr; they go to
// the debug log instead.
void log_notice(void* /*arg*/, const char* message) {
  std::string text = message ? message : "";
  while (!text.empty() && text.back() == '\n') text.pop_back();
  log::get("db")->debug("postgres: {}", text);
}

Result<std::unique_ptr<Connection>> open_connection(const std::string& url, const OpenOptions& options) {
  // The URL first, then our own keywords: libpq lets later keywords override it.
  const std::string timeout = std::to_string(std::max(1, (options.connect_timeout_ms + 999) / 1000));
  // Keepalives find a server that vanished without closing the connection (a network
  // partition, a killed VM) while a call waits for its answer: after 30 s of silence, three
  // probes 10 s apart. tcp_user_timeout bounds how long sent data may stay unacknowledged.
  const char* keywords[] = {"dbname",         "connect_timeout",     "application_name",
                            "keepalives",     "keepalives_idle",     "keepalives_interval",
                            "keepalives_count", "tcp_user_timeout", nullptr};
  const char* values[] = {url.c_str(), timeout.c_str(), options.application_name.c_str(), "1", "30", "10", "3",
                          "60000", nullptr};
  PGconn* raw = PQconnectdbParams(keywords, values, 1);
  auto conn = std::make_unique<PostgresConnection>(raw);  // finishes `raw` on every path
  if (!raw) return Error(errc::db_error, "postgres: out of memory opening a connection");
  if (PQstatus(raw) != CONNECTION_OK) {
    std::string why = PQerrorMessage(raw);
    while (!why.empty() && why.back() == '\n') why.pop_back();
    return Error(errc::db_busy, fmt::format("cannot connect to PostgreSQL at {}: {} (check database.url and that "
                                            "the server is running)",
                                            redacted_url(url), why));
  }
  route_notices_to_log(raw);
  // Times are integer milliseconds in our columns; UTC keeps server-side now() readable.
  FTI_TRY(conn->execute_script("SET TIME ZONE 'UTC'"));
  // Per session rather than with the `options` keyword, which would replace any the URL
  // carries; 0 leaves the server's own setting (a role's or the database's) alone.
  if (options.statement_timeout_ms > 0) {
    FTI_TRY(conn->execute_script(fmt::format("SET statement_timeout = {}", options.statement_timeout_ms)));
  }
  return std::unique_ptr<Connection>(std::move(conn));
}

}  // namespace

void route_notices_to_log(pg_conn* conn) { PQsetNoticeProcessor(conn, log_notice, nullptr); }

std::string redacted_url(const std::string& url) {
  // postgresql://user:password@host -> postgresql://user:***@host
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const auto at = url.find('@', scheme + 3);
  if (at == std::string::npos) return url;
  const auto colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

Result<std::unique_ptr<Database>> open_postgres_database(const std::string& url, const OpenOptions& options) {
  auto open = [url, options] { return open_connection(url, options); };
  auto db = std::make_unique<detail::PooledDatabase>(Dialect::postgres, std::move(open), options.pool_size,
                                                     std::chrono::milliseconds(options.busy_timeout_ms));
  if (auto st = db->open_first(); !st.ok()) {
    // At start-up a refused connection is a configuration matter, not contention.
    return Error(errc::bad_config, st.error().message);
  }
  log::get("db")->debug("opened postgres database {} (pool of {})", redacted_url(url), options.pool_size);
  return std::unique_ptr<Database>(std::move(db));
}

}  // namespace fti::db
