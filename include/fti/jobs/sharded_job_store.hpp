#pragma once
// Jobs spread over several databases by tenant (`database.shards`), as the scaling design
// sketches it: a tenant's jobs all live in shard md5(tenant)[0..4) (big-endian) mod N, so
// a tenant's reads and writes touch one database; workers claim from every shard in turn;
// counts and listings over all tenants fan out and add up.
//
// Priority and aging order hold within a shard; across shards claims take turns.
#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

#include "fti/jobs/job_store.hpp"

namespace fti::jobs {

// Which of `shard_count` shards holds `tenant`'s jobs. Stable across versions and
// processes: changing it would strand every tenant's jobs.
std::size_t shard_for_tenant(std::string_view tenant, std::size_t shard_count);

// One JobStore over `shards` (at least one), each a store on its own database.
std::unique_ptr<JobStore> make_sharded_job_store(std::vector<std::unique_ptr<JobStore>> shards);

}  // namespace fti::jobs
