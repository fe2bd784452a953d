#include "fti/llm/cost.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

#include "fti/core/log.hpp"
#include "fti/db/database.hpp"

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
  entries_.push_back(entry);
  return ok_status();
}

Result<double> MemoryCostLedger::spent_by_job(const std::string& job_id) {
  std::lock_guard lock(mutex_);
  double sum = 0;
  for (const auto& e : entries_) {
    if (e.job_id == job_id) sum += e.cost_usd;
  }
  return sum;
}

std::vector<LedgerEntry> MemoryCostLedger::entries() const {
  std::lock_guard lock(mutex_);
  return entries_;
}

namespace {

class SqlCostLedger final : public CostLedger {
 public:
  explicit SqlCostLedger(db::Database& database) : db_(database) {}

  Status record(const LedgerEntry& e) override {
    return db_.transact(db::TxMode::write, [&](db::Connection& conn) -> Status {
      FTI_TRY(conn.execute(
          "INSERT INTO llm_costs (job_id, provider, model, tokens_in, tokens_out, cost_nusd, at) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7)",
          {db::Value(e.job_id), db::Value(e.provider), db::Value(e.model), db::Value(e.tokens_in),
           db::Value(e.tokens_out), db::Value(static_cast<std::int64_t>(std::llround(e.cost_usd * kNanoPerUsd))),
           db::Value(e.at)}));
      return ok_status();
    });
  }

  Result<double> spent_by_job(const std::string& job_id) override {
    FTI_ASSIGN_OR_RETURN(auto conn, db_.acquire());
    FTI_ASSIGN_OR_RETURN(auto rows, conn->query("SELECT COALESCE(SUM(cost_nusd), 0) FROM llm_costs WHERE job_id = $1",
                                                {db::Value(job_id)}));
    return rows.empty() ? 0.0 : static_cast<double>(rows[0].get_int(0)) / kNanoPerUsd;
  }

 private:
  db::Database& db_;
};

}  // namespace

std::unique_ptr<CostLedger> make_sql_cost_ledger(db::Database& database) {
  return std::make_unique<SqlCostLedger>(database);
}

}  // namespace fti::llm
