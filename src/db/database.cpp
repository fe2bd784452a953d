// Row accessors and the driver-independent transaction helper.
#include "fti/db/database.hpp"

#include <chrono>
#include <string>
#include <thread>

namespace fti::db {

namespace {

// Visitor overloads for reading a Value as another type.
template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

// Transient busy failures are retried this many times in total before giving up.
constexpr int kTransactAttempts = 6;

bool is_busy(const Error& e) { return e.code == errc::db_busy; }

// Short, growing pause between retries so two writers stop colliding.
void backoff(int attempt) {
  std::this_thread::sleep_for(std::chrono::milliseconds(5LL << attempt));
}

}  // namespace

std::int64_t Row::get_int(std::size_t i) const {
  return std::visit(Overloaded{
                        [](std::monostate) -> std::int64_t { return 0; },
                        [](std::int64_t v) { return v; },
                        [](double v) { return static_cast<std::int64_t>(v); },
                        [](const std::string& v) -> std::int64_t {
                          try {
                            return std::stoll(v);
                          } catch (const std::exception&) {
                            return 0;
                          }
                        },
                    },
                    cells_.at(i));
}

double Row::get_double(std::size_t i) const {
  return std::visit(Overloaded{
                        [](std::monostate) { return 0.0; },
                        [](std::int64_t v) { return static_cast<double>(v); },
                        [](double v) { return v; },
                        [](const std::string& v) {
                          try {
                            return std::stod(v);
                          } catch (const std::exception&) {
                            return 0.0;
                          }
                        },
                    },
                    cells_.at(i));
}

std::string Row::get_text(std::size_t i) const {
  return std::visit(Overloaded{
                        [](std::monostate) { return std::string(); },
                        [](std::int64_t v) { return std::to_string(v); },
                        [](double v) { return std::to_string(v); },
                        [](const std::string& v) { return v; },
                    },
                    cells_.at(i));
}

std::optional<std::int64_t> Row::opt_int(std::size_t i) const {
  if (is_null(i)) return std::nullopt;
  return get_int(i);
}

std::optional<std::string> Row::opt_text(std::size_t i) const {
  if (is_null(i)) return std::nullopt;
  return get_text(i);
}

Result<std::int64_t> Connection::copy_in(std::string_view copy_sql, std::string_view /*rows*/) {
  return Error(errc::internal, "COPY needs PostgreSQL; this database cannot run: " + std::string(copy_sql.substr(0, 80)));
}

namespace {

// One try of the transaction; the caller retries when the error is db_busy.
Status transact_once(Database::Lease& conn, TxMode mode,
                     const std::function<Status(Connection&)>& fn) {
  FTI_TRY(conn->begin(mode));
  Status body = fn(*conn);
  if (!body.ok()) {
    // A failed rollback leaves the session in an unknown state: never reuse it.
    if (!conn->rollback().ok()) conn.mark_broken();
    return body;
  }
  Status committed = conn->commit();
  if (!committed.ok() && !conn->rollback().ok()) conn.mark_broken();
  return committed;
}

}  // namespace

Status Database::transact(TxMode mode, const std::function<Status(Connection&)>& fn) {
  Error last;
  for (int attempt = 0; attempt < kTransactAttempts; ++attempt) {
    if (attempt > 0) backoff(attempt);
    auto lease = acquire();
    if (!lease.ok()) {
      if (!is_busy(lease.error())) return lease.error();
      last = lease.error();
      continue;
    }
    Status s = transact_once(*lease, mode, fn);
    if (s.ok() || !is_busy(s.error())) return s;
    last = s.error();
  }
  return Error(errc::db_busy, "the database stayed busy after " +
                                  std::to_string(kTransactAttempts) +
                                  " tries; retry later (" + last.message + ")");
}

}  // namespace fti::db
