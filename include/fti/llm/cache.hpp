#pragma once
// The LLM answer cache, keyed by a hash of the provider-independent request (task, tier,
// system, prompt, options), so the same input gives the same output and a repeat costs
// nothing. Entries live for llm.cache_ttl_seconds.
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "fti/core/clock.hpp"
#include "fti/core/result.hpp"
#include "fti/llm/llm.hpp"

namespace fti::db {
class Database;
}

namespace fti::llm {

// Hex SHA-256 over a length-prefixed encoding of the fields (no ambiguity between them).
// The tier is the one the router will serve (after mode changes), not the one asked, and the
// model that tier is configured with: a new model does not inherit the old one's answers.
std::string cache_key(const Ask& ask, Tier served_tier, std::string_view model);

class LlmCache {
 public:
  virtual ~LlmCache() = default;
  virtual Result<std::optional<Answer>> get(const std::string& key, TimeMs now) = 0;
  virtual Status put(const std::string& key, const Answer& answer, TimeMs now, TimeMs expires_at) = 0;
};

class MemoryLlmCache final : public LlmCache {
 public:
  Result<std::optional<Answer>> get(const std::string& key, TimeMs now) override;
  Status put(const std::string& key, const Answer& answer, TimeMs now, TimeMs expires_at) override;

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, std::pair<Answer, TimeMs>> entries_;
};

// Table llm_cache; expired rows are ignored on read and removed by prune(). Puts are
// written in the background in batches (a call never waits for a commit); a get sees its
// own process's unwritten puts.
class SqlLlmCache final : public LlmCache {
 public:
  explicit SqlLlmCache(db::Database& database);
  ~SqlLlmCache() override;  // writes what is still queued
  Result<std::optional<Answer>> get(const std::string& key, TimeMs now) override;
  Status put(const std::string& key, const Answer& answer, TimeMs now, TimeMs expires_at) override;
  Result<std::int64_t> prune(TimeMs now);
  void flush();  // returns once every earlier put is in the database

 private:
  struct Row;
  struct Writer;
  bool surely_absent(const std::string& key);
  void remember(const std::string& key);

  db::Database& db_;
  std::mutex read_mutex_;
  // SQLite is one server's own file (N instances need PostgreSQL), so this process knows
  // every key in the table: the keys there at start plus its own puts. A key it does not
  // know is a miss without a read. Hashes only (a collision costs one read); off for
  // PostgreSQL and past kMaxKnownKeys.
  std::mutex known_mutex_;
  std::unordered_set<std::size_t> known_;
  bool knows_all_ = false;
  std::unique_ptr<Writer> writer_;
};

}  // namespace fti::llm
