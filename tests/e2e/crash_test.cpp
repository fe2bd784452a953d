// kill -9 in the middle of a run: every job still succeeds, and handler runs exceed the job
// count by no more than the jobs that were in flight at the kill.
#include <catch2/catch.hpp>

#include <set>
#include <sstream>

#include "harness.hpp"

using namespace fti::e2e;

namespace {

std::int64_t sql_count(const fs::path& db, const std::string& where) {
  auto out = db.parent_path() / "count.txt";
  REQUIRE(sh("sqlite3 '" + db.string() + "' \"SELECT COUNT(*) FROM jobs WHERE tenant = 'bench' AND " + where +
             "\" > '" + out.string() + "'") == 0);
  return std::stoll(read_file(out));
}

std::vector<std::string> lines_of(const fs::path& file) {
  std::vector<std::string> out;
  std::istringstream in(read_file(file));
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

}  // namespace

TEST_CASE("a worker killed with -9 mid-run loses no job and re-runs only what was in flight", "[e2e][slow]") {
  constexpr int kJobs = 30000;
  const TempDir temp("e2e-crash-engine");
  const fs::path& dir = temp.path();
  auto db = dir / "jobs.db";
  auto executions = dir / "executions.txt";
  const std::string url = "sqlite:" + db.string();
  const std::string bench = std::string(FTI_BINARY) + " bench jobs --db '" + url + "' --workers 8 --lease-ms 1000 " +
                            "--latency-samples 0 --executions-file '" + executions.string() + "'";
  REQUIRE(sh(bench + " --jobs " + std::to_string(kJobs) + " --enqueue-only > /dev/null") == 0);

  // The worker process, killed once it has done a good part of the work.
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    ::execl("/bin/sh", "sh", "-c", (bench + " --work-only > /dev/null 2>&1").c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // A failed REQUIRE below still ends the worker before its folder is removed.
  struct KillGroupOnExit {
    pid_t pid;
    ~KillGroupOnExit() {
      if (::waitpid(pid, nullptr, WNOHANG) != 0) return;  // already reaped by the test
      ::setpgid(pid, pid);
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  } kill_on_exit{pid};
  REQUIRE(wait_until([&] { return lines_of(executions).size() >= kJobs / 3; }, std::chrono::seconds(60)));
  // The shell runs the binary as its child: kill the whole process group at once.
  ::setpgid(pid, pid);
  REQUIRE(::kill(-pid, SIGKILL) == 0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  const std::int64_t in_flight = sql_count(db, "status = 'running'");
  const std::int64_t done_before = sql_count(db, "status = 'succeeded'");
  INFO("in flight at the kill: " << in_flight << ", succeeded before it: " << done_before);
  CHECK(done_before < kJobs);

  // Restart: it waits out the dead run's leases and finishes everything.
  REQUIRE(sh(bench + " --work-only > /dev/null") == 0);
  CHECK(sql_count(db, "status = 'succeeded'") == kJobs);
  auto runs = lines_of(executions);
  std::set<std::string> unique(runs.begin(), runs.end());
  CHECK(unique.size() == static_cast<std::size_t>(kJobs));
  INFO("handler runs " << runs.size() << " for " << kJobs << " jobs");
  CHECK(static_cast<std::int64_t>(runs.size()) - kJobs <= in_flight);
}
