// Scaling out, end to end: three instances of the real binary on one PostgreSQL database and
// one shared blob folder, behind nginx running config/nginx.conf. A WebSocket opened through
// nginx follows a job that another instance runs; then 200 uploads go through nginx while one
// instance is killed with SIGKILL: every job succeeds exactly once, and no status read through
// nginx fails. Needs PostgreSQL and nginx: ctest runs it as e2e_scale_pg.
#include <netinet/in.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <stop_token>
#include <thread>

#include "fixtures.hpp"
#include "fti/db/database.hpp"
#include "nginx.hpp"
#include "support/ws_client.hpp"

using namespace fti::e2e;
using fti::testing::WsClient;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kJobs = 200;
constexpr int kSubmitters = 4;
constexpr int kPollers = 2;
constexpr int kMaxSubmitTries = 30;
constexpr auto kStepDeadline = std::chrono::seconds(60);

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string random_suffix() {
  std::random_device rd;
  return std::to_string(rd()) + "_" + std::to_string(rd() % 100000);
}

// The temp folder of one run, removed on every way out of the test.
class TempTree {
 public:
  explicit TempTree(const std::string& tag) : dir_("e2e-" + tag) {
    // nginx's workers (www-data when the test runs as root) must reach their prefix inside.
    fs::permissions(dir_.path(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                     fs::perms::others_read | fs::perms::others_exec);
  }
  const fs::path& path() const { return dir_.path(); }

 private:
  TempDir dir_;
};

// postgresql://user@host:port/db?opts with the database name replaced.
std::string with_database(const std::string& url, const std::string& name) {
  auto authority = url.find("://");
  auto slash = url.find('/', authority == std::string::npos ? 0 : authority + 3);
  if (slash == std::string::npos) return url + "/" + name;
  auto query = url.find('?', slash);
  return url.substr(0, slash + 1) + name + (query == std::string::npos ? "" : url.substr(query));
}

std::unique_ptr<fti::db::Database> open_or_fail(const std::string& url) {
  fti::db::OpenOptions options;
  options.pool_size = 2;
  auto db = fti::db::open_database(url, options);
  INFO((db.ok() ? std::string() : db.error().message));
  REQUIRE(db.ok());
  return std::move(db).value();
}

// A database of its own on the FTITEST_PG_URL server, dropped at the end. Not a schema: the
// LISTEN/NOTIFY channels are per database, and the other *_pg suites use them at the same time.
class ScratchDatabase {
 public:
  explicit ScratchDatabase(const std::string& server_url) : name_("fti_scale_" + random_suffix()) {
    admin_ = open_or_fail(server_url);
    auto conn = admin_->acquire();
    REQUIRE(conn.ok());
    REQUIRE((*conn)->execute_script("CREATE DATABASE " + name_).ok());
    url_ = with_database(server_url, name_);
  }
  ~ScratchDatabase() {
    jobs_.reset();
    // FORCE: sessions of instances that were killed may linger for a moment.
    if (auto conn = admin_->acquire(); conn.ok()) (void)(*conn)->execute_script("DROP DATABASE " + name_ + " WITH (FORCE)");
  }
  const std::string& url() const { return url_; }

  // Reads the job store (the instances have made its tables by then).
  fti::db::Rows query(const std::string& sql, const fti::db::Params& params = {}) {
    if (!jobs_) jobs_ = open_or_fail(url_);
    auto conn = jobs_->acquire();
    REQUIRE(conn.ok());
    auto rows = (*conn)->query(sql, params);
    INFO(sql << ": " << (rows.ok() ? std::string() : rows.error().message));
    REQUIRE(rows.ok());
    return std::move(rows).value();
  }
  std::int64_t count(const std::string& where, const fti::db::Params& params = {}) {
    return query("SELECT COUNT(*) FROM jobs WHERE " + where, params).at(0).get_int(0);
  }

 private:
  std::string name_;
  std::string url_;
  std::unique_ptr<fti::db::Database> admin_;
  std::unique_ptr<fti::db::Database> jobs_;
};

// Three instances sharing the database and the blob folder, and nginx in front of them.
struct Cluster {
  Cluster(const fs::path& dir, const std::string& database_url, const std::string& nginx_binary) {
    const std::vector<std::string> env = {
        "FTI_DATABASE_URL=" + database_url,
        "FTI_STORAGE_URL=file:" + (dir / "blobs").string(),
        // A killed instance's jobs are claimable by the others 2 s after its last heartbeat.
        "FTI_JOBS_LEASE_MS=2000",
        // Two workers each: six cleanups at once are plenty for two cores.
        "FTI_WORKERS_MIN=2",
        "FTI_WORKERS_MAX=2",
        // This test is about failover: its one tenant polls 200 jobs as fast as it can, which
        // the default per-tenant and per-address limits would (rightly) answer with 429s.
        // Shedding has its own tests (tests/api/admin_api_test.cpp, tests/e2e/shedding_test.cpp).
        "FTI_SHEDDING_TENANT_RATE=0",
        "FTI_SHEDDING_CLIENT_RATE=0",
    };
    std::vector<int> ports;
    for (int i = 0; i < 3; ++i) {
      instances.push_back(std::make_unique<Server>(dir / ("instance-" + std::to_string(i)), env));
      ports.push_back(instances.back()->port());
      auto health = instances.back()->request("GET", "/healthz");
      nodes.push_back(health.header("x-fti-node"));
      REQUIRE_FALSE(nodes.back().empty());
    }
    nginx = std::make_unique<Nginx>(nginx_binary, dir / "nginx", ports);
  }

  // The instance whose log says it cleaned `job_id`, or -1.
  int ran(const std::string& job_id) const {
    for (std::size_t i = 0; i < instances.size(); ++i) {
      if (instances[i]->log().find("job " + job_id + " cleaned in a child") != std::string::npos) return static_cast<int>(i);
    }
    return -1;
  }

  std::vector<std::unique_ptr<Server>> instances;
  std::vector<std::string> nodes;  // X-FTI-Node of each instance
  std::unique_ptr<Nginx> nginx;    // after the instances: stopped first
};

// One upload through nginx, retried with the same Idempotency-Key while nginx answers that no
// instance could take it (502/503/504) or the connection fails: what a client of a cluster
// whose instance just died does.
struct Submission {
  long status = 0;  // the last answer, 0 if none came
  std::string id;
  int tries = 0;
  std::string last_error;
};

Submission submit(const Nginx& nginx, const fs::path& zip, const std::string& key, const std::string& query = "",
                  const std::stop_token& stop = {}) {
  Submission s;
  const auto deadline = Clock::now() + kStepDeadline;
  for (;;) {
    ++s.tries;
    fti::HttpRequest req;
    req.method = "POST";
    req.url = nginx.url("/api/v1/jobs?filename=messy.zip" + query);
    req.upload_file = zip.string();
    req.headers = {{"Content-Type", "application/zip"}, {"Idempotency-Key", key}};
    req.total_timeout = std::chrono::seconds(30);
    auto r = fti::HttpClient().send(req);
    const bool lost = !r.ok() || r->status == 502 || r->status == 503 || r->status == 504;
    s.status = r.ok() ? r->status : 0;
    if (!lost) {
      s.id = json_string(r->body, "id");
      return s;
    }
    s.last_error = r.ok() ? std::to_string(r->status) + " " + r->body : r.error().message;
    if (s.tries >= kMaxSubmitTries || Clock::now() > deadline || stop.stop_requested()) return s;
    // Backoff between tries (a retry policy, not a wait for a condition).
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(50 * s.tries, 500)));
  }
}

// An upload through nginx whose body goes in two halves, so that it is in flight on an
// instance when that instance dies. Raw HTTP/1.1: libcurl cannot pause mid-body.
class SplitUpload {
 public:
  SplitUpload(int port, std::string body, const std::string& key) : body_(std::move(body)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    timeval tv{30, 0};  // a stuck nginx fails the test instead of hanging it
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    std::string head = "POST /api/v1/jobs?filename=messy.zip HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       "Content-Type: application/zip\r\nIdempotency-Key: " + key + "\r\n"
                       "Content-Length: " + std::to_string(body_.size()) + "\r\nConnection: close\r\n\r\n";
    REQUIRE(send_all(head + body_.substr(0, body_.size() / 2)));
  }
  ~SplitUpload() { ::close(fd_); }
  SplitUpload(const SplitUpload&) = delete;
  SplitUpload& operator=(const SplitUpload&) = delete;

  // Sends the rest and reads the whole answer (nginx closes after it). The rest may not get
  // through when nginx has already answered for a dead instance: the answer is read anyway.
  std::string finish() {
    (void)send_all(body_.substr(body_.size() / 2));
    std::string answer;
    char buffer[4096];
    for (ssize_t n; answer.size() < (1 << 20) && (n = ::recv(fd_, buffer, sizeof buffer, 0)) > 0;) {
      answer.append(buffer, static_cast<std::size_t>(n));
    }
    return answer;
  }

 private:
  bool send_all(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  int fd_ = -1;
  std::string body_;
};

int status_of(const std::string& answer) {
  return answer.rfind("HTTP/1.1 ", 0) == 0 ? std::atoi(answer.c_str() + 9) : 0;
}

std::string body_of(const std::string& answer) {
  auto at = answer.find("\r\n\r\n");
  return at == std::string::npos ? "" : answer.substr(at + 4);
}

// Requests nginx passed to more than one instance (its access log lists each one tried).
int failovers(const std::string& access_log, const std::string& method) {
  int n = 0;
  std::istringstream in(access_log);
  for (std::string line; std::getline(in, line);) {
    if (line.find("\"" + method + " ") == std::string::npos) continue;
    auto from = line.find(" upstream="), to = line.find(" upstream_status=");
    if (from != std::string::npos && to != std::string::npos && line.substr(from, to - from).find(',') != std::string::npos) ++n;
  }
  return n;
}

struct WsMessage {
  std::string type;
  std::string job_status;  // "job.status" of status and final messages
};

WsMessage parse_ws_message(const std::string& text) {
  auto doc = fti::json::Document::parse(text);
  if (!doc.ok()) return {"unparsable: " + text, ""};
  auto job = doc->root().get("job");
  return {doc->root().get_string("type").value_or(""),
          job && job->is_object() ? job->get_string("status").value_or("") : ""};
}

// A WebSocket opened through nginx, with the instance that took it.
struct Follower {
  std::unique_ptr<WsClient> client;
  std::string node;
  std::vector<WsMessage> messages;
  int progress() const {
    return static_cast<int>(std::count_if(messages.begin(), messages.end(), [](const WsMessage& m) { return m.type == "progress"; }));
  }
};

// The upload and status traffic of the 200 jobs, shared with the client threads. Threads
// never call Catch2 (it is not thread-safe): they record, the test thread asserts.
struct Load {
  explicit Load(const Nginx& n, fs::path z) : nginx(n), zip(std::move(z)), submissions(kJobs) {}

  void submit_loop(const std::stop_token& stop) {
    for (int i = next.fetch_add(1); i < kJobs && !stop.stop_requested(); i = next.fetch_add(1)) {
      submissions[static_cast<std::size_t>(i)] = submit(nginx, zip, "scale-" + std::to_string(i), "", stop);
      if (const auto& id = submissions[static_cast<std::size_t>(i)].id; !id.empty()) {
        std::lock_guard lock(mutex);
        ids.push_back(id);
        status[id] = "";
      }
      ++submitted;
    }
  }

  // Reads job statuses through nginx until stopped, the unfinished jobs first.
  void poll_loop(const std::stop_token& stop) {
    std::size_t cursor = 0;
    while (!stop.stop_requested()) {
      std::string id = next_to_poll(cursor++);
      if (id.empty()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));  // nothing submitted yet
        continue;
      }
      fti::HttpRequest req;
      req.url = nginx.url("/api/v1/jobs/" + id);
      req.total_timeout = std::chrono::seconds(30);
      auto r = fti::HttpClient().send(req);
      ++reads;
      std::unique_lock lock(mutex);
      if (!r.ok() || r->status != 200) {
        if (failed_reads.size() < 10) failed_reads.push_back(r.ok() ? std::to_string(r->status) + " " + r->body : r.error().message);
        ++read_failures;
        continue;
      }
      status[id] = json_string(r->body, "status");
      lock.unlock();
      // Paced like a busy client: reads must not take the cores the jobs need.
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }

  std::string next_to_poll(std::size_t cursor) {
    std::lock_guard lock(mutex);
    if (ids.empty()) return "";
    for (std::size_t k = 0; k < ids.size(); ++k) {
      const auto& id = ids[(cursor + k) % ids.size()];
      const auto& s = status[id];
      if (s != "succeeded" && s != "failed" && s != "cancelled") return id;
    }
    return ids[cursor % ids.size()];  // all finished: keep reading anyway
  }

  int count_status(const std::string& wanted) {
    std::lock_guard lock(mutex);
    return static_cast<int>(std::count_if(status.begin(), status.end(), [&](const auto& kv) { return kv.second == wanted; }));
  }

  const Nginx& nginx;
  const fs::path zip;
  std::vector<Submission> submissions;
  std::atomic<int> next{0};
  std::atomic<int> submitted{0};
  std::atomic<long> reads{0};
  std::mutex mutex;
  std::vector<std::string> ids;                 // under mutex
  std::map<std::string, std::string> status;    // under mutex: the last status read
  long read_failures = 0;                       // under mutex
  std::vector<std::string> failed_reads;        // under mutex: the first few
};

// One request id from the client, through nginx and the instance, back to the client; nginx
// makes one when the client sent none.
void check_request_ids(Cluster& cluster) {
  fti::HttpRequest req;
  req.url = cluster.nginx->url("/api/v1/jobs");
  req.headers = {{"X-Request-Id", "scale-probe-1"}};
  auto given = fti::HttpClient().send(req);
  REQUIRE(given.ok());
  CHECK(given->status == 200);  // open mode: nginx forwarded it for 127.0.0.1
  CHECK(given->header("x-request-id") == "scale-probe-1");
  // nginx logs a request once it is done, which may be just after the client has the answer.
  CHECK(wait_until([&] { return cluster.nginx->access_log().find("rid=scale-probe-1 ") != std::string::npos; },
                   std::chrono::seconds(5)));
  req.headers.clear();
  auto made = fti::HttpClient().send(req);
  REQUIRE(made.ok());
  CHECK(made->header("x-request-id").size() == 32);  // nginx's $request_id
}

// A job that another instance runs reaches a WebSocket through nginx, progress and end. The
// job waits 2 s (delay_seconds) so that WebSockets on at least two instances are open before
// any instance can claim it: whichever runs it, one of them is elsewhere.
void check_events_cross_instances(Cluster& cluster, const fs::path& zip) {
  auto tracked = submit(*cluster.nginx, zip, "scale-tracked", "&delay_seconds=2");
  INFO(tracked.last_error);
  REQUIRE(tracked.status == 201);
  std::vector<Follower> followers;
  std::set<std::string> nodes;
  for (int i = 0; i < 6 && nodes.size() < cluster.instances.size(); ++i) {
    Follower f{std::make_unique<WsClient>(static_cast<std::uint16_t>(cluster.nginx->port()), kStepDeadline), "", {}};
    REQUIRE_FALSE(f.client->handshake("/api/v1/jobs/" + tracked.id + "/events"));
    REQUIRE(f.client->response.result_int() == 101);
    f.node = std::string(f.client->response["X-FTI-Node"]);
    nodes.insert(f.node);
    followers.push_back(std::move(f));
  }
  // least_conn sends each new WebSocket to an instance with fewer open ones.
  REQUIRE(nodes.size() >= 2);

  for (auto& f : followers) {
    while (auto text = f.client->read()) f.messages.push_back(parse_ws_message(*text));
  }
  int runner = -1;
  REQUIRE(wait_until([&] { return (runner = cluster.ran(tracked.id)) >= 0; }, std::chrono::seconds(10)));
  const std::string& runner_node = cluster.nodes[static_cast<std::size_t>(runner)];

  int followed_from_elsewhere = 0;
  for (const auto& f : followers) {
    INFO("WebSocket on " << f.node << ", job ran on " << runner_node << ", " << f.messages.size() << " messages");
    REQUIRE_FALSE(f.messages.empty());
    CHECK(f.messages.front().type == "status");  // the state when it opened
    CHECK(f.messages.back().type == "completed");
    CHECK(f.messages.back().job_status == "succeeded");
    if (f.node != runner_node && f.progress() >= 1 && f.messages.back().type == "completed") ++followed_from_elsewhere;
  }
  CHECK(followed_from_elsewhere >= 1);
}

// Kills the instance once it holds claimed jobs while others wait in the queue; returns the
// jobs it held (its orphans, for the survivors to take over once their leases expire).
std::vector<std::string> kill_mid_run(Cluster& cluster, ScratchDatabase& db, Load& load, std::size_t victim) {
  const fti::db::Params node = {fti::db::Value(cluster.nodes[victim])};
  REQUIRE(wait_until(
      [&] {
        return load.submitted >= kJobs / 4 && db.count("status = 'running' AND lease_owner = $1", node) > 0 &&
               db.count("status = 'queued'") > 0;
      },
      kStepDeadline));
  cluster.instances[victim]->stop(SIGKILL);
  std::vector<std::string> orphans;
  for (const auto& row : db.query("SELECT id FROM jobs WHERE status = 'running' AND lease_owner = $1", node)) {
    orphans.push_back(row.get_text(0));
  }
  return orphans;
}

// Whether the reads above met the dead instance depends on timing (failed uploads can take
// it out of nginx's rotation first). Here they must: right after a second instance dies,
// nginx still has it in rotation, and least_conn alternates between the two it thinks are up.
void check_reads_move_on(Cluster& cluster, const std::string& job_id) {
  cluster.instances[1]->stop(SIGKILL);
  const int before = failovers(cluster.nginx->access_log(), "GET");
  for (int i = 0; i < 4; ++i) {
    fti::HttpRequest req;
    req.url = cluster.nginx->url("/api/v1/jobs/" + job_id);
    req.total_timeout = std::chrono::seconds(30);
    auto r = fti::HttpClient().send(req);
    REQUIRE(r.ok());
    CHECK(r->status == 200);
  }
  CHECK(wait_until([&] { return failovers(cluster.nginx->access_log(), "GET") > before; }, std::chrono::seconds(5)));
}

std::string in_flight_key(int i) { return "scale-inflight-" + std::to_string(i); }

// Completes the uploads that were in flight at the kill. The dead instance's gets nginx's JSON
// 503; retried with its key it makes one job (the instance died before storing it). Returns
// how many were retried.
int finish_in_flight(Cluster& cluster, const fs::path& zip, std::vector<std::unique_ptr<SplitUpload>>& in_flight) {
  int retried = 0;
  for (std::size_t i = 0; i < in_flight.size(); ++i) {
    const std::string answer = in_flight[i]->finish();
    INFO("upload in flight at the kill, answered:\n" << answer);
    const int status = status_of(answer);
    if (status == 201) continue;
    CHECK(status == 503);
    CHECK(answer.find("Retry-After: 30\r\n") != std::string::npos);
    CHECK(json_string(body_of(answer), "error") == "Service temporarily unavailable");
    auto again = submit(*cluster.nginx, zip, in_flight_key(static_cast<int>(i)));
    INFO(again.last_error);
    CHECK(again.status == 201);
    ++retried;
  }
  in_flight.clear();
  return retried;
}

// With no instance left, nginx answers for them: JSON a client can read, and when to retry.
void check_all_down_answer(Cluster& cluster) {
  for (auto& instance : cluster.instances) instance->stop(SIGTERM);
  fti::HttpRequest req;
  req.url = cluster.nginx->url("/api/v1/jobs");
  req.total_timeout = std::chrono::seconds(30);
  auto r = fti::HttpClient().send(req);
  REQUIRE(r.ok());
  CHECK(r->status == 503);
  CHECK(r->header("content-type") == "application/json");
  CHECK(r->header("retry-after") == "30");
  auto doc = fti::json::Document::parse(r->body);
  REQUIRE(doc.ok());
  CHECK(doc->root().get_string("error") == "Service temporarily unavailable");
  CHECK(doc->root().get_int("retry_after") == 30);
}

}  // namespace

TEST_CASE("three instances behind nginx: 200 jobs through a SIGKILL, every read answered, events across instances",
          "[e2e][slow][scale][postgres][.]") {
  const auto started = Clock::now();
  const std::string pg = env("FTITEST_PG_URL");
  const std::string nginx_binary = env("FTITEST_NGINX");
  INFO("needs FTITEST_PG_URL (eval \"$(tests/tools/start-postgres)\") and FTITEST_NGINX; ctest runs it as e2e_scale_pg");
  REQUIRE_FALSE(pg.empty());
  REQUIRE_FALSE(nginx_binary.empty());

  TempTree dir("scale");
  ScratchDatabase db(pg);
  auto zip = make_plain_zip(dir.path());
  Cluster cluster(dir.path(), db.url(), nginx_binary);

  check_request_ids(cluster);
  check_events_cross_instances(cluster, zip);

  // One upload in flight on each instance when one of them dies: least_conn gives each a
  // different instance, as nothing else is open yet.
  std::vector<std::unique_ptr<SplitUpload>> in_flight;
  for (int i = 0; i < 3; ++i) {
    in_flight.push_back(std::make_unique<SplitUpload>(cluster.nginx->port(), read_file(zip), in_flight_key(i)));
  }

  Load load(*cluster.nginx, zip);
  std::vector<std::jthread> clients;  // declared last: stopped and joined on every way out
  for (int i = 0; i < kSubmitters; ++i) clients.emplace_back([&](std::stop_token st) { load.submit_loop(st); });
  for (int i = 0; i < kPollers; ++i) clients.emplace_back([&](std::stop_token st) { load.poll_loop(st); });

  const std::size_t victim = 2;
  auto orphans = kill_mid_run(cluster, db, load, victim);
  INFO("killed " << cluster.nodes[victim] << " holding " << orphans.size() << " job(s)");
  CHECK_FALSE(orphans.empty());
  const int retried_in_flight = finish_in_flight(cluster, zip, in_flight);
  CHECK(retried_in_flight >= 1);

  REQUIRE(wait_until([&] { return load.submitted == kJobs; }, kStepDeadline));
  REQUIRE(wait_until([&] { return load.count_status("succeeded") + load.count_status("failed") == kJobs; },
                     std::chrono::seconds(90)));
  for (auto& t : clients) t.request_stop();
  clients.clear();

  // Every upload made exactly one job, whatever the retries; every job succeeded once.
  std::set<std::string> ids;
  int retries = 0;
  for (const auto& s : load.submissions) {
    INFO("upload: " << s.tries << " tries, last error " << s.last_error);
    CHECK((s.status == 201 || s.status == 200));  // 200: a retry found the job its first try made
    ids.insert(s.id);
    retries += s.tries - 1;
  }
  CHECK(ids.size() == static_cast<std::size_t>(kJobs));
  CHECK(load.count_status("succeeded") == kJobs);
  // The load's, the tracked one and the three that were in flight at the kill.
  CHECK(db.count("idempotency_key LIKE 'scale-%'") == kJobs + 4);
  CHECK(db.count("status = 'succeeded'") == kJobs + 4);
  // Every orphan succeeded, nearly always by a survivor's second attempt. A completion the
  // dying instance had already sent may still commit after the kill (PostgreSQL finishes a
  // COMMIT it received), so an orphan read as running just after the kill can end succeeded
  // on its first attempt: that one was not lost either.
  int taken_over = 0;
  for (const auto& id : orphans) {
    INFO("orphan " << id);
    CHECK(db.count("id = $1 AND status = 'succeeded'", {fti::db::Value(id)}) == 1);
    taken_over += static_cast<int>(db.count("id = $1 AND attempt >= 2", {fti::db::Value(id)}));
  }
  CHECK(taken_over >= 1);
  // nginx moved every read off the dead instance: not one failed.
  {
    std::lock_guard lock(load.mutex);
    INFO("failed reads (first few): " << ::Catch::Detail::stringify(load.failed_reads));
    CHECK(load.read_failures == 0);
  }
  CHECK(load.reads > kJobs);
  const int read_failovers = failovers(cluster.nginx->access_log(), "GET");
  const int upload_failovers = failovers(cluster.nginx->access_log(), "POST");

  check_reads_move_on(cluster, load.ids.front());

  check_all_down_answer(cluster);
  const auto seconds = std::chrono::duration<double>(Clock::now() - started).count();
  std::printf("scale: %d jobs in %.1f s; %ld status reads through nginx, %ld failed, %d moved to another instance by "
              "nginx; uploads: %d retried by the client (%d in flight at the kill), %d moved on by nginx before "
              "sending; %zu claimed job(s) of the killed instance taken over\n",
              kJobs, seconds, load.reads.load(), load.read_failures, read_failovers, retries + retried_in_flight,
              retried_in_flight, upload_failovers, orphans.size());
}
