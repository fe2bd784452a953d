#include "fti/llm/cost.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <unordered_map>

#include "fti/core/log.hpp"
#include "fti/db/database.hpp"
#include "batch_writer.hpp"

namespace fti::llm {

namespace {

// Public list prices, USD per million tokens (input/output), as the providers published them.
const std::map<std::string, Price>& list_prices() {
  static const std::map<std::string, Price> prices = {
      {"gpt-4o-mini", {0.15, 0.60}},
      {"gpt-4o", {2.50, 10.00}},
      {"gpt-4.1-mini", {0.40, 1.60}},
      {"gpt-4.1", {2.00, 8.00}},
      {"gpt-4-turbo", {10.00, 30.00}},
      {"gpt-4", {30.00, 60.00}},
      {"gpt-3.5-turbo", {0.50, 1.50}},
      {"claude-3-5-haiku-latest", {0.80, 4.00}},
      {"claude-3-haiku-20240307", {0.25, 1.25}},
      {"claude-3-5-sonnet-latest", {3.00, 15.00}},
      {"claude-3-7-sonnet-latest", {3.00, 15.00}},
      {"claude-3-opus-20240229", {15.00, 75.00}},
  };
  return prices;
}

std::optional<double> parse_price(const std::string& s) {
  try {
    std::size_t used = 0;
    double v = std::stod(s, &used);
    if (used != s.size() || !std::isfinite(v) || v < 0) return std::nullopt;
    return v;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

constexpr double kNanoPerUsd = 1e9;

}  // namespace

Result<PriceTable> PriceTable::with_overrides(const std::vector<std::string>& overrides) {
  PriceTable table;
  table.by_model_ = list_prices();
  for (const auto& entry : overrides) {
    auto eq = entry.find('=');
    auto slash = entry.find('/', eq == std::string::npos ? 0 : eq);
    std::optional<double> in, out;
    if (eq != std::string::npos && slash != std::string::npos && eq > 0) {
      in = parse_price(entry.substr(eq + 1, slash - eq - 1));
      out = parse_price(entry.substr(slash + 1));
    }
    if (!in || !out) {
      return Error(errc::bad_config, fmt::format("llm.prices: \"{}\" is not MODEL=IN/OUT in USD per "
                                                 "million tokens (e.g. \"gpt-4o=2.5/10\")", entry));
    }
    table.by_model_[entry.substr(0, eq)] = Price{*in, *out};
  }
  return table;
}

Price PriceTable::price(const std::string& provider, const std::string& model) const {
  if (provider == "ollama") return {};
  if (auto it = by_model_.find(model); it != by_model_.end()) return it->second;
  Price dearest;
  for (const auto& [name, p] : by_model_) {
    dearest.input_per_mtok = std::max(dearest.input_per_mtok, p.input_per_mtok);
    dearest.output_per_mtok = std::max(dearest.output_per_mtok, p.output_per_mtok);
  }
  return dearest;
}

double PriceTable::cost(const std::string& provider, const std::string& model, std::int64_t tokens_in,
                        std::int64_t tokens_out) const {
  Price p = price(provider, model);
  return (static_cast<double>(tokens_in) * p.input_per_mtok + static_cast<double>(tokens_out) * p.output_per_mtok) / 1e6;
}

Status MemoryCostLedger::record(const LedgerEntry& entry) {
  std::lock_guard lock(mutex_);
  by_job_[entry.job_id] += entry.cost_usd;
  return ok_status();
}

Result<double> MemoryCostLedger::spent_by_job(const std::string& job_id) {
  std::lock_guard lock(mutex_);
  auto it = by_job_.find(job_id);
  return it == by_job_.end() ? 0.0 : it->second;
}

namespace {

// Rows are written in the background in batches; what each job has spent is kept in
// memory, read from the table once per job (so a retry on another worker starts from what
// earlier attempts spent) and then kept up to date as calls are recorded.
class SqlCostLedger final : public CostLedger {
 public:
  explicit SqlCostLedger(db::Database& database)
      : db_(database), writer_([this](const std::vector<LedgerEntry>& rows) { return write(rows); }) {}

  Status record(const LedgerEntry& e) override {
    writer_.push(e, [&] {
      if (auto it = by_job_.find(e.job_id); it != by_job_.end()) it->second += e.cost_usd;
    });
    return ok_status();
  }

  Result<double> spent_by_job(const std::string& job_id) override {
    auto known = writer_.peek([&](const std::vector<LedgerEntry>&) -> std::optional<double> {
      auto it = by_job_.find(job_id);
      return it == by_job_.end() ? std::nullopt : std::optional<double>(it->second);
    });
    if (known) return *known;
    if (has_pending_rows(job_id)) {
      // Rows of the job are between the queue and the table (only after the bound below
      // emptied by_job_): read with the writer held back, so each is counted once.
      return writer_.read_settled([&] { return sum_in_table(job_id); },
                                  [&](Result<double> in_table, const std::vector<LedgerEntry>& queued) {
                                    return remember(job_id, std::move(in_table), queued, {});
                                  });
    }
    // Usually a job's first call: any rows it has come from earlier attempts and are in the
    // table, so it is read at once rather than after a batch commit, which with its WAL
    // checkpoint can take tens of milliseconds. Rows a concurrent first call of the same
    // job queues meanwhile are added below (one committed in the microseconds of the read
    // could be missed; the server asks one question per job at a time).
    auto in_table = sum_in_table(job_id);
    return writer_.peek_pending([&](const std::vector<LedgerEntry>& queued, const std::vector<LedgerEntry>& inflight) {
      return remember(job_id, std::move(in_table), queued, inflight);
    });
  }

  void flush() { writer_.flush(); }

 private:
  static constexpr std::size_t kMaxJobsRemembered = 100'000;

  bool has_pending_rows(const std::string& job_id) {
    return writer_.peek_pending([&](const std::vector<LedgerEntry>& queued, const std::vector<LedgerEntry>& inflight) {
      auto mine = [&](const LedgerEntry& e) { return e.job_id == job_id; };
      return std::any_of(queued.begin(), queued.end(), mine) || std::any_of(inflight.begin(), inflight.end(), mine);
    });
  }

  // Runs under the writer's queue lock: the job's spend from the table plus its rows not
  // yet written, kept from now on. A concurrent first call that got here first wins.
  Result<double> remember(const std::string& job_id, Result<double> in_table, const std::vector<LedgerEntry>& queued,
                          const std::vector<LedgerEntry>& inflight) {
    if (!in_table) return in_table;
    if (auto it = by_job_.find(job_id); it != by_job_.end()) return it->second;
    double sum = *in_table;
    for (const auto* rows : {&queued, &inflight}) {
      for (const auto& q : *rows) sum += q.job_id == job_id ? q.cost_usd : 0.0;
    }
    // Jobs are many and short: past a bound, start over.
    if (by_job_.size() >= kMaxJobsRemembered) by_job_.clear();
    by_job_[job_id] = sum;
    return sum;
  }

  Result<double> sum_in_table(const std::string& job_id) {
    FTI_ASSIGN_OR_RETURN(auto conn, db_.acquire());
    FTI_ASSIGN_OR_RETURN(auto rows, conn->query("SELECT COALESCE(SUM(cost_nusd), 0) FROM llm_costs WHERE job_id = $1",
                                                {db::Value(job_id)}));
    return rows.empty() ? 0.0 : static_cast<double>(rows[0].get_int(0)) / kNanoPerUsd;
  }

  Status write(const std::vector<LedgerEntry>& rows) {
    return db_.transact(db::TxMode::write, [&](db::Connection& conn) -> Status {
      for (const auto& e : rows) {
        FTI_TRY(conn.execute(
            "INSERT INTO llm_costs (job_id, provider, model, tokens_in, tokens_out, cost_nusd, at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7)",
            {db::Value(e.job_id), db::Value(e.provider), db::Value(e.model), db::Value(e.tokens_in),
             db::Value(e.tokens_out), db::Value(static_cast<std::int64_t>(std::llround(e.cost_usd * kNanoPerUsd))),
             db::Value(e.at)}));
      }
      return ok_status();
    });
  }

  db::Database& db_;
  std::unordered_map<std::string, double> by_job_;  // guarded by the writer's queue lock
  detail::BatchWriter<LedgerEntry> writer_;         // last: its thread uses the members above
};

}  // namespace

std::unique_ptr<CostLedger> make_sql_cost_ledger(db::Database& database) {
  return std::make_unique<SqlCostLedger>(database);
}

}  // namespace fti::llm
