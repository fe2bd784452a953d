// ShardedJobStore: routes by tenant where the call names one, by what this process claimed
// where it names a job it runs, and otherwise asks every shard.
#include "fti/jobs/sharded_job_store.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

namespace fti::jobs {

std::size_t shard_for_tenant(std::string_view tenant, std::size_t shard_count) {
  if (shard_count <= 1) return 0;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(tenant.data(), tenant.size(), digest, &length, EVP_md5(), nullptr) != 1 || length < 4) {
    throw std::runtime_error("MD5 is unavailable: cannot place tenants on shards");
  }
  const std::uint32_t first4 = (std::uint32_t{digest[0]} << 24) | (std::uint32_t{digest[1]} << 16) |
                               (std::uint32_t{digest[2]} << 8) | std::uint32_t{digest[3]};
  return first4 % shard_count;
}

namespace {

// Jobs whose attempts run here: worker calls (heartbeat, progress, outcome) name a job
// without its tenant, and this saves asking every shard. Bounded: past the bound it
// starts over, and a forgotten job is found by asking every shard.
class ClaimedJobs {
 public:
  void add(const std::string& id, std::size_t shard) {
    std::lock_guard lock(mutex_);
    if (shard_of_.size() >= kMax) shard_of_.clear();
    shard_of_[id] = shard;
  }
  std::optional<std::size_t> find(const std::string& id) const {
    std::lock_guard lock(mutex_);
    auto it = shard_of_.find(id);
    return it == shard_of_.end() ? std::nullopt : std::optional<std::size_t>(it->second);
  }
  void forget(const std::string& id) {
    std::lock_guard lock(mutex_);
    shard_of_.erase(id);
  }

 private:
  static constexpr std::size_t kMax = 1'000'000;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::size_t> shard_of_;
};

class ShardedJobStore final : public JobStore {
 public:
  explicit ShardedJobStore(std::vector<std::unique_ptr<JobStore>> shards) : shards_(std::move(shards)) {
    if (shards_.empty()) throw std::invalid_argument("a sharded job store needs at least one shard");
  }

  Result<Job> enqueue(const NewJob& job, TimeMs now) override { return of_tenant(job.tenant).enqueue(job, now); }

  Result<std::int64_t> enqueue_many(const std::vector<NewJob>& jobs, TimeMs now) override {
    std::vector<std::vector<NewJob>> by_shard(shards_.size());
    for (const auto& j : jobs) by_shard[shard_for_tenant(j.tenant, shards_.size())].push_back(j);
    std::int64_t inserted = 0;
    for (std::size_t s = 0; s < shards_.size(); ++s) {
      if (by_shard[s].empty()) continue;
      FTI_ASSIGN_OR_RETURN(auto n, shards_[s]->enqueue_many(by_shard[s], now));
      inserted += n;
    }
    return inserted;
  }

  Result<Job> get(const std::string& id, const std::optional<std::string>& tenant) override {
    if (tenant) return of_tenant(*tenant).get(id, tenant);
    return first_found([&](JobStore& s) { return s.get(id, std::nullopt); });
  }

  Result<ListPage> list(const std::string& tenant, int limit, const std::optional<std::string>& cursor,
                        const std::string& status) override {
    return of_tenant(tenant).list(tenant, limit, cursor, status);
  }

  // Shards take turns being asked first, so one busy shard does not starve the others.
  Result<std::vector<Job>> claim(const std::string& worker_id, int max, TimeMs now, TimeMs lease_ms,
                                 const std::string& queue) override {
    std::vector<Job> claimed;
    const std::size_t start = next_claim_shard_.fetch_add(1, std::memory_order_relaxed);
    for (std::size_t i = 0; i < shards_.size() && static_cast<int>(claimed.size()) < max; ++i) {
      const std::size_t s = (start + i) % shards_.size();
      FTI_ASSIGN_OR_RETURN(auto got, shards_[s]->claim(worker_id, max - static_cast<int>(claimed.size()), now,
                                                       lease_ms, queue));
      for (auto& job : got) {
        claimed_.add(job.id, s);
        claimed.push_back(std::move(job));
      }
    }
    return claimed;
  }

  Result<HeartbeatResult> heartbeat(const std::string& id, int attempt, TimeMs lease_until) override {
    return on_job_shard<HeartbeatResult>(id, [&](JobStore& s) { return s.heartbeat(id, attempt, lease_until); },
                                         [](const HeartbeatResult& r) { return r.owned; });
  }

  Result<bool> set_progress(const std::string& id, int attempt, int progress, const std::string& stage) override {
    return on_job_shard<bool>(id, [&](JobStore& s) { return s.set_progress(id, attempt, progress, stage); }, is_true);
  }

  Result<bool> complete(const std::string& id, int attempt, const std::string& result_json, TimeMs now) override {
    return ended(id, on_job_shard<bool>(id, [&](JobStore& s) { return s.complete(id, attempt, result_json, now); },
                                        is_true));
  }

  Result<bool> fail(const std::string& id, int attempt, const Failure& failure, TimeMs now, TimeMs retry_at) override {
    return ended(id, on_job_shard<bool>(id, [&](JobStore& s) { return s.fail(id, attempt, failure, now, retry_at); },
                                        is_true));
  }

  Result<bool> release(const std::string& id, int attempt, TimeMs now) override {
    return ended(id, on_job_shard<bool>(id, [&](JobStore& s) { return s.release(id, attempt, now); }, is_true));
  }

  Result<bool> finish_cancelled(const std::string& id, int attempt, TimeMs now) override {
    return ended(id, on_job_shard<bool>(id, [&](JobStore& s) { return s.finish_cancelled(id, attempt, now); },
                                        is_true));
  }

  Result<Job> cancel(const std::string& id, const std::optional<std::string>& tenant, TimeMs now) override {
    if (tenant) return of_tenant(*tenant).cancel(id, tenant, now);
    return first_found([&](JobStore& s) { return s.cancel(id, std::nullopt, now); });
  }

  Result<Job> retry(const std::string& id, const std::optional<std::string>& tenant, TimeMs now) override {
    if (tenant) return of_tenant(*tenant).retry(id, tenant, now);
    return first_found([&](JobStore& s) { return s.retry(id, std::nullopt, now); });
  }

  // Each shard records its own outcomes in one transaction; results keep the input order.
  Result<std::vector<bool>> record_outcomes(const std::vector<Outcome>& outcomes, TimeMs now) override {
    std::vector<bool> applied(outcomes.size(), false);
    std::vector<std::vector<std::size_t>> index_by_shard(shards_.size());
    std::vector<std::size_t> unknown;
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
      auto s = claimed_.find(outcomes[i].id);
      if (s) {
        index_by_shard[*s].push_back(i);
      } else {
        unknown.push_back(i);
      }
    }
    for (std::size_t s = 0; s < shards_.size(); ++s) {
      if (index_by_shard[s].empty()) continue;
      std::vector<Outcome> mine;
      for (auto i : index_by_shard[s]) mine.push_back(outcomes[i]);
      FTI_ASSIGN_OR_RETURN(auto done, shards_[s]->record_outcomes(mine, now));
      for (std::size_t k = 0; k < done.size(); ++k) applied[index_by_shard[s][k]] = done[k];
    }
    for (auto i : unknown) {
      std::vector<Outcome> one{outcomes[i]};
      for (auto& shard : shards_) {
        FTI_ASSIGN_OR_RETURN(auto done, shard->record_outcomes(one, now));
        if (done.front()) {
          applied[i] = true;
          break;
        }
      }
    }
    for (const auto& o : outcomes) claimed_.forget(o.id);
    return applied;
  }

  Result<std::vector<HeartbeatResult>> heartbeat_many(const std::vector<std::pair<std::string, int>>& attempts,
                                                      TimeMs lease_until) override {
    std::vector<HeartbeatResult> results(attempts.size());
    for (std::size_t i = 0; i < attempts.size(); ++i) {
      FTI_ASSIGN_OR_RETURN(results[i], heartbeat(attempts[i].first, attempts[i].second, lease_until));
    }
    return results;
  }

  Result<std::map<std::string, std::int64_t>> waiting_by_queue(TimeMs now) override {
    std::map<std::string, std::int64_t> total;
    for (auto& shard : shards_) {
      FTI_ASSIGN_OR_RETURN(auto counts, shard->waiting_by_queue(now));
      for (const auto& [queue, n] : counts) total[queue] += n;
    }
    return total;
  }

  Result<std::map<std::string, QueueStats>> queue_stats(TimeMs since) override {
    std::map<std::string, QueueStats> total;
    for (auto& shard : shards_) {
      FTI_ASSIGN_OR_RETURN(auto stats, shard->queue_stats(since));
      for (const auto& [queue, s] : stats) {
        auto& t = total[queue];
        t.waiting += s.waiting;
        t.running += s.running;
        t.succeeded += s.succeeded;
        t.failed += s.failed;
        t.cancelled += s.cancelled;
        t.paused = t.paused || s.paused;
      }
    }
    return total;
  }

  // Every shard holds the mark, so each shard's claims see it.
  Status set_queue_paused(const std::string& queue, bool paused, TimeMs now) override {
    for (auto& shard : shards_) FTI_TRY(shard->set_queue_paused(queue, paused, now));
    return ok_status();
  }

  Result<CpuFigures> cpu_since(TimeMs since, int sample) override {
    CpuFigures all;
    for (auto& shard : shards_) {
      FTI_ASSIGN_OR_RETURN(auto f, shard->cpu_since(since, sample));
      all.total_ms += f.total_ms;
      all.jobs += f.jobs;
      all.sample_ms.insert(all.sample_ms.end(), f.sample_ms.begin(), f.sample_ms.end());
    }
    if (static_cast<int>(all.sample_ms.size()) > sample) all.sample_ms.resize(static_cast<std::size_t>(sample));
    return all;
  }

  Result<std::set<std::string>> paused_queues() override {
    std::set<std::string> all;
    for (auto& shard : shards_) {
      FTI_ASSIGN_OR_RETURN(auto paused, shard->paused_queues());
      all.insert(paused.begin(), paused.end());
    }
    return all;
  }

  Result<std::vector<std::string>> prune(TimeMs succeeded_before, TimeMs failed_before, int limit) override {
    std::vector<std::string> ids;
    for (auto& shard : shards_) {
      if (static_cast<int>(ids.size()) >= limit) break;
      FTI_ASSIGN_OR_RETURN(auto pruned, shard->prune(succeeded_before, failed_before,
                                                     limit - static_cast<int>(ids.size())));
      ids.insert(ids.end(), pruned.begin(), pruned.end());
    }
    return ids;
  }

  Result<std::int64_t> queue_depth() override {
    std::int64_t depth = 0;
    for (auto& shard : shards_) {
      FTI_ASSIGN_OR_RETURN(auto n, shard->queue_depth());
      depth += n;
    }
    return depth;
  }

  Result<std::optional<TimeMs>> next_run_at() override {
    std::optional<TimeMs> earliest;
    for (auto& shard : shards_) {
      FTI_ASSIGN_OR_RETURN(auto at, shard->next_run_at());
      if (at && (!earliest || *at < *earliest)) earliest = at;
    }
    return earliest;
  }

 private:
  static bool is_true(const bool& b) { return b; }

  JobStore& of_tenant(const std::string& tenant) { return *shards_[shard_for_tenant(tenant, shards_.size())]; }

  // The first shard that has the job answers; not_found only when none has it.
  template <class Fn>
  Result<Job> first_found(Fn&& fn) {
    Result<Job> last = Error(errc::not_found, "no shard answered");
    for (auto& shard : shards_) {
      last = fn(*shard);
      if (last.ok() || last.error().code != errc::not_found) return last;
    }
    return last;  // every shard's not_found reads the same
  }

  // A call about a job this process runs goes to its shard; for another job, to each shard
  // until one says the attempt is its own (`applied`): the others answer "not mine".
  template <class T, class Fn, class Applied>
  Result<T> on_job_shard(const std::string& id, Fn&& fn, Applied&& applied) {
    if (auto s = claimed_.find(id)) return fn(*shards_[*s]);
    Result<T> last = T{};
    for (auto& shard : shards_) {
      last = fn(*shard);
      if (!last.ok() || applied(*last)) return last;
    }
    return last;
  }

  Result<bool> ended(const std::string& id, Result<bool> outcome) {
    if (outcome.ok() && *outcome) claimed_.forget(id);
    return outcome;
  }

  std::vector<std::unique_ptr<JobStore>> shards_;
  ClaimedJobs claimed_;
  std::atomic<std::size_t> next_claim_shard_{0};
};

}  // namespace

std::unique_ptr<JobStore> make_sharded_job_store(std::vector<std::unique_ptr<JobStore>> shards) {
  return std::make_unique<ShardedJobStore>(std::move(shards));
}

}  // namespace fti::jobs
