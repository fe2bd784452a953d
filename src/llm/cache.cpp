#include "fti/llm/cache.hpp"

#include <charconv>
#include <cmath>

#include "fti/core/ids.hpp"
#include "fti/db/database.hpp"
#include "batch_writer.hpp"

namespace fti::llm {

std::string cache_key(const Ask& ask, Tier served_tier, std::string_view model) {
  Sha256 h;
  // Each field is length-prefixed so ("ab","c") and ("a","bc") never collide.
  auto field = [&](std::string_view v) {
    char length[24];
    auto end = std::to_chars(length, length + sizeof length - 1, v.size()).ptr;
    *end++ = ':';
    h.update(std::string_view(length, static_cast<std::size_t>(end - length)));
    h.update(v);
  };
  field("fti-llm-cache-v2");
  field(ask.task);
  field(tier_name(served_tier));
  field(model);
  field(ask.system);
  field(ask.prompt);
  // The options as "max_tokens|temperature" with the temperature in thousandths, without
  // a formatter (a tenth of the key's cost).
  char options[48];
  auto end = std::to_chars(options, options + 20, ask.max_tokens).ptr;
  *end++ = '|';
  end = std::to_chars(end, options + sizeof options, std::llround(ask.temperature * 1000)).ptr;
  field(std::string_view(options, static_cast<std::size_t>(end - options)));
  return h.hex_digest();
}

Result<std::optional<Answer>> MemoryLlmCache::get(const std::string& key, TimeMs now) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.second <= now) return std::optional<Answer>();
  return std::optional<Answer>(it->second.first);
}

Status MemoryLlmCache::put(const std::string& key, const Answer& answer, TimeMs /*now*/, TimeMs expires_at) {
  std::lock_guard lock(mutex_);
  entries_[key] = {answer, expires_at};
  return ok_status();
}

// The answer is encoded as JSON by the writer thread, off the caller's path.
struct SqlLlmCache::Row {
  std::string key;
  Answer answer;
  TimeMs created_at = 0;
  TimeMs expires_at = 0;
};

struct SqlLlmCache::Writer : detail::BatchWriter<Row> {
  using detail::BatchWriter<Row>::BatchWriter;
};

namespace {
constexpr std::size_t kMaxKnownKeys = 4'000'000;  // about 100 MB at most
// Keys are hashes, so every put lands on a random page of the key index and a commit
// writes each page it touched to the WAL. Batches of a second touch each page once for
// many rows (measured at 5,000 puts/s: about a third of the writer's CPU of 100 ms
// batches). A crash loses at most the last second of answers, which are only a cache.
constexpr std::chrono::milliseconds kCacheBatchInterval{1000};
constexpr std::size_t kCacheMaxBatch = 8192;
}  // namespace

SqlLlmCache::SqlLlmCache(db::Database& database) : db_(database) {
  if (db_.dialect() == db::Dialect::sqlite) {
    auto conn = db_.acquire();
    auto rows = conn.ok() ? (*conn)->query("SELECT key FROM llm_cache") : Result<db::Rows>(conn.error());
    if (rows.ok() && rows->size() <= kMaxKnownKeys) {
      for (const auto& row : *rows) known_.insert(std::hash<std::string>{}(row.get_text(0)));
      knows_all_ = true;
    }
  }
  writer_ = std::make_unique<Writer>([this](const std::vector<Row>& rows) -> Status {
    return db_.transact(db::TxMode::write, [&](db::Connection& conn) -> Status {
      for (const Row& r : rows) {
        FTI_TRY(conn.execute(
            "INSERT INTO llm_cache (key, answer, created_at, expires_at) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (key) DO UPDATE SET answer = excluded.answer, created_at = excluded.created_at, "
            "expires_at = excluded.expires_at",
            {db::Value(r.key), db::Value(answer_to_json(r.answer)), db::Value(r.created_at), db::Value(r.expires_at)}));
      }
      return ok_status();
    });
  }, kCacheBatchInterval, kCacheMaxBatch);
}

SqlLlmCache::~SqlLlmCache() = default;

void SqlLlmCache::flush() { writer_->flush(); }

Result<std::optional<Answer>> SqlLlmCache::get(const std::string& key, TimeMs now) {
  // A put remembers its key before queueing it, so a key never seen is neither queued nor
  // in the table: most asks are new, and they end here without a look at the queue.
  if (surely_absent(key)) return std::optional<Answer>();
  // The newest unwritten put for the key wins over the table.
  std::optional<Answer> queued;
  const bool is_queued = writer_->peek([&](const std::vector<Row>& rows) {
    for (auto it = rows.rbegin(); it != rows.rend(); ++it) {
      if (it->key != key) continue;
      if (it->expires_at > now) queued = it->answer;
      return true;
    }
    return false;
  });
  if (is_queued) return queued;
  // One cache read at a time: a 3 us SELECT gains nothing from parallel readers, and many
  // readers beside a busy writer contend for SQLite's few WAL read marks, whose retries
  // sleep (measured: p99 from 3 ms to 200 ms at 5,000 asks/s with 16 callers).
  std::lock_guard one_reader(read_mutex_);
  FTI_ASSIGN_OR_RETURN(auto conn, db_.acquire());
  FTI_ASSIGN_OR_RETURN(auto rows, conn->query("SELECT answer FROM llm_cache WHERE key = $1 AND expires_at > $2",
                                              {db::Value(key), db::Value(now)}));
  if (rows.empty()) return std::optional<Answer>();
  FTI_ASSIGN_OR_RETURN(auto answer, answer_from_json(rows[0].get_text(0)));
  return std::optional<Answer>(std::move(answer));
}

bool SqlLlmCache::surely_absent(const std::string& key) {
  std::lock_guard lock(known_mutex_);
  return knows_all_ && !known_.count(std::hash<std::string>{}(key));
}

void SqlLlmCache::remember(const std::string& key) {
  std::lock_guard lock(known_mutex_);
  if (!knows_all_) return;
  if (known_.size() >= kMaxKnownKeys) {
    knows_all_ = false;  // from now on every miss reads the table
    known_.clear();
    return;
  }
  known_.insert(std::hash<std::string>{}(key));
}

Status SqlLlmCache::put(const std::string& key, const Answer& answer, TimeMs now, TimeMs expires_at) {
  remember(key);
  writer_->push(Row{key, answer, now, expires_at});
  return ok_status();
}

Result<std::int64_t> SqlLlmCache::prune(TimeMs now) {
  std::int64_t removed = 0;
  FTI_TRY(db_.transact(db::TxMode::write, [&](db::Connection& conn) -> Status {
    FTI_ASSIGN_OR_RETURN(auto r, conn.execute("DELETE FROM llm_cache WHERE expires_at <= $1", {db::Value(now)}));
    removed = r.rows_affected;
    return ok_status();
  }));
  return removed;
}

}  // namespace fti::llm
