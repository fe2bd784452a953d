#pragma once
// Prices and the cost ledger. Cost of a call = tokens in x input price + tokens out x output
// price, prices in USD per million tokens. Defaults are the providers' public list prices;
// `llm.prices` overrides or adds ("model=IN/OUT"). Ollama runs on our own machines: 0.
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "fti/core/clock.hpp"
#include "fti/core/result.hpp"

namespace fti::db {
class Database;
}

namespace fti::llm {

struct Price {
  double input_per_mtok = 0;
  double output_per_mtok = 0;
};

class PriceTable {
 public:
  // The built-in list prices plus `overrides` ("gpt-4o=2.5/10"); a malformed entry is a
  // bad_config error naming it.
  static Result<PriceTable> with_overrides(const std::vector<std::string>& overrides);
  // Unknown cloud models get the most expensive known price, so the per-job cap errs on
  // the safe side.
  Price price(const std::string& provider, const std::string& model) const;
  double cost(const std::string& provider, const std::string& model, std::int64_t tokens_in,
              std::int64_t tokens_out) const;

 private:
  std::map<std::string, Price> by_model_;
};

struct LedgerEntry {
  std::string job_id;  // empty for calls outside a job
  std::string provider;
  std::string model;
  std::int64_t tokens_in = 0;
  std::int64_t tokens_out = 0;
  double cost_usd = 0;
  TimeMs at = 0;
};

// Where spending is written down; per job for the cap, per provider for metrics and reports.
class CostLedger {
 public:
  virtual ~CostLedger() = default;
  virtual Status record(const LedgerEntry& entry) = 0;
  virtual Result<double> spent_by_job(const std::string& job_id) = 0;
};

// In memory: the offline `clean` command and tests.
class MemoryCostLedger final : public CostLedger {
 public:
  Status record(const LedgerEntry& entry) override;
  Result<double> spent_by_job(const std::string& job_id) override;

 private:
  std::mutex mutex_;
  std::map<std::string, double> by_job_;
};

// In the database (table llm_costs), so a job's spending survives a retry on another worker.
// Rows are written in the background in batches; destroying the ledger writes the rest.
std::unique_ptr<CostLedger> make_sql_cost_ledger(db::Database& database);

}  // namespace fti::llm
