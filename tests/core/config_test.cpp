#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "fti/core/config.hpp"
#include "fti/core/ip_range.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;

namespace {
// The config files of this run, all removed when the test binary exits.
const fti::testing::TempDir config_files("config");

std::string write_temp(const std::string& text) {
  static int written = 0;
  auto p = config_files / ("config-" + std::to_string(++written) + ".toml");
  std::ofstream(p) << text;
  return p.string();
}
}  // namespace

TEST_CASE("config defaults need no file and no environment", "[core][config]") {
  auto c = fti::load_config({});
  REQUIRE(c.ok());
  CHECK((*c)->server.listen == "127.0.0.1:8080");
  CHECK((*c)->server.data_dir == "./data");
  CHECK((*c)->database_url() == "sqlite:./data/fti.db");
  CHECK((*c)->storage_url() == "file:./data/blobs");
  CHECK((*c)->jobs.max_attempts == 3);
  CHECK((*c)->jobs.backoff_base_ms == 2000);
  CHECK((*c)->workers.min == 2);
  CHECK((*c)->limits.job_memory_bytes == (1LL << 30));
  CHECK((*c)->llm.mode == "off");
}

TEST_CASE("config precedence: file, then environment, then flags", "[core][config]") {
  auto file = write_temp(R"(
[server]
listen = "127.0.0.1:9000"
data_dir = "/tmp/fti-a"
[jobs]
max_attempts = 5
[llm]
ollama_urls = ["http://a:11434", "http://b:11434"]
)");
  fti::ConfigSources src;
  src.file = file;
  src.environment = {{"FTI_SERVER_DATA_DIR", "/tmp/fti-b"}, {"FTI_LLM_OPENAI_MODELS", "m1, m2"}};
  src.overrides = {{"server.listen", "127.0.0.1:0"}};
  auto c = fti::load_config(src);
  REQUIRE(c.ok());
  CHECK((*c)->server.listen == "127.0.0.1:0");
  CHECK((*c)->server.data_dir == "/tmp/fti-b");
  CHECK((*c)->jobs.max_attempts == 5);
  CHECK((*c)->llm.ollama_urls == std::vector<std::string>{"http://a:11434", "http://b:11434"});
  CHECK((*c)->llm.openai_models == std::vector<std::string>{"m1", "m2"});
  fs::remove(file);
}

TEST_CASE("config errors name the key and stop start-up", "[core][config]") {
  struct Case {
    std::string toml;
    std::map<std::string, std::string> env;
    std::string must_mention;
  };
  const std::vector<Case> cases = {
      {"[server]\nlisten_port = 1\n", {}, "server.listen_port"},
      {"[jobs]\nmax_attempts = \"three\"\n", {}, "jobs.max_attempts"},
      {"[jobs]\nmax_attempts = 0\n", {}, "jobs.max_attempts"},
      {"[auth]\nmode = \"maybe\"\n", {}, "auth.mode"},
      {"", {{"FTI_JOBS_LEASE_MS", "soon"}}, "jobs.lease_ms"},
      {"", {{"FTI_NO_SUCH_KEY", "1"}}, "FTI_NO_SUCH_KEY"},
      {"[server]\nlisten = \"nowhere\"\n", {}, "server.listen"},
      {"[database]\nurl = \"mysql://x\"\n", {}, "database.url"},
      // Replicas are PostgreSQL streaming replicas of a PostgreSQL primary; not with shards yet.
      {"[database]\nreplica_urls = [\"postgresql://r/db\"]\n", {}, "database.replica_urls"},
      {"[database]\nurl = \"postgresql://p/db\"\nreplica_urls = [\"sqlite:r.db\"]\n", {}, "database.replica_urls"},
      {"[database]\nurl = \"postgresql://p/db\"\nreplica_urls = [\"postgresql://r/db\"]\nshards = [\"postgresql://s/db\"]\n",
       {}, "database.shards"},
      {"[database]\nshards = [\"redis://s\"]\n", {}, "database.shards"},
      {"[workers]\nmin = 4\nmax = 2\n", {}, "workers.max"},
      {"[server\n", {}, ".toml"},
  };
  for (const auto& c : cases) {
    INFO(c.must_mention);
    fti::ConfigSources src;
    auto file = write_temp(c.toml);
    src.file = file;
    src.environment = c.env;
    auto r = fti::load_config(src);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "bad_config");
    CHECK(r.error().message.find(c.must_mention) != std::string::npos);
    fs::remove(file);
  }
}

TEST_CASE("host:port parsing and loopback detection", "[core][config]") {
  auto hp = fti::parse_host_port("0.0.0.0:8080");
  REQUIRE(hp.ok());
  CHECK(hp->host == "0.0.0.0");
  CHECK(hp->port == 8080);
  auto v6 = fti::parse_host_port("[::1]:0");
  REQUIRE(v6.ok());
  CHECK(v6->host == "::1");
  CHECK_FALSE(fti::parse_host_port("8080").ok());
  CHECK_FALSE(fti::parse_host_port("a:70000").ok());
  CHECK(fti::is_loopback_host("127.0.0.1"));
  CHECK(fti::is_loopback_host("localhost"));
  CHECK(fti::is_loopback_host("::1"));
  CHECK_FALSE(fti::is_loopback_host("0.0.0.0"));
  CHECK_FALSE(fti::is_loopback_host("10.0.0.1"));
  CHECK_FALSE(fti::is_loopback_host("127.example.com"));
  CHECK(fti::is_loopback_host("127.0.0.2"));
}

TEST_CASE("config/default.toml parses and matches the built-in defaults", "[core][config]") {
  fti::ConfigSources src;
  src.file = std::string(FTI_SOURCE_DIR) + "/config/default.toml";
  auto from_file = fti::load_config(src);
  REQUIRE(from_file.ok());
  auto built_in = fti::load_config({});
  REQUIRE(built_in.ok());
  CHECK((*from_file)->server.max_upload_bytes == (*built_in)->server.max_upload_bytes);
  CHECK((*from_file)->limits.max_unpacked_bytes == (*built_in)->limits.max_unpacked_bytes);
  CHECK((*from_file)->llm.openai_models == (*built_in)->llm.openai_models);
  CHECK((*from_file)->llm.allow_cloud == (*built_in)->llm.allow_cloud);
  CHECK((*from_file)->llm.max_retries == (*built_in)->llm.max_retries);
  CHECK((*from_file)->llm.cooldown_seconds == (*built_in)->llm.cooldown_seconds);
  CHECK((*from_file)->database_url() == (*built_in)->database_url());
  CHECK((*from_file)->sla.window_seconds == (*built_in)->sla.window_seconds);
  CHECK((*from_file)->sla.api_availability == (*built_in)->sla.api_availability);
  CHECK((*from_file)->sla.cleanup_p95_seconds == (*built_in)->sla.cleanup_p95_seconds);
  CHECK((*from_file)->sla.websocket_p99_ms == (*built_in)->sla.websocket_p99_ms);
}

TEST_CASE("sla.* keys: the design's defaults, nested tables and environment overrides", "[core][config]") {
  auto defaults = fti::load_config({});
  REQUIRE(defaults.ok());
  const auto& d = (*defaults)->sla;
  CHECK(d.window_seconds == 300);
  CHECK(d.api_availability == 99.95);
  CHECK(d.api_p99_ms == 500);
  CHECK(d.api_peak_rps == 5000);
  CHECK(d.cleanup_p50_seconds == 60);
  CHECK(d.cleanup_error_rate == 1.0);
  CHECK(d.websocket_p95_ms == 50);

  fti::ConfigSources src;
  src.file = write_temp("[sla]\nwindow_seconds = 60\n[sla.cleanup]\np95_seconds = 90\n");
  src.environment["FTI_SLA_API_P99_MS"] = "250";
  auto c = fti::load_config(src);
  REQUIRE(c.ok());
  CHECK((*c)->sla.window_seconds == 60);
  CHECK((*c)->sla.cleanup_p95_seconds == 90);
  CHECK((*c)->sla.api_p99_ms == 250);

  src.environment["FTI_SLA_API_AVAILABILITY"] = "101";
  auto bad = fti::load_config(src);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("sla.api.availability") != std::string::npos);
  src.environment.erase("FTI_SLA_API_AVAILABILITY");
  src.file = write_temp("[sla.api]\np999_ms = 900\n");
  CHECK_FALSE(fti::load_config(src).ok());
}

TEST_CASE("config: shedding.trusted_proxies takes addresses and ranges, and names a bad one", "[config]") {
  fti::ConfigSources sources;
  sources.environment = {{"FTI_SHEDDING_TRUSTED_PROXIES", "10.0.0.0/8,::1,192.168.1.7"}};
  auto ok = fti::load_config(sources);
  REQUIRE(ok.ok());
  CHECK((*ok)->shedding.trusted_proxies.size() == 3);
  sources.environment = {{"FTI_SHEDDING_TRUSTED_PROXIES", "10.0.0.0/33"}};
  auto bad = fti::load_config(sources);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("shedding.trusted_proxies") != std::string::npos);
}

TEST_CASE("ip ranges: v4 and v6 prefixes; a range of one; not an address", "[config]") {
  auto eight = fti::IpRange::parse("10.0.0.0/8");
  REQUIRE(eight.ok());
  CHECK(eight->contains("10.255.1.2"));
  CHECK_FALSE(eight->contains("11.0.0.1"));
  CHECK_FALSE(eight->contains("::1"));
  CHECK_FALSE(eight->contains("not-an-ip"));
  auto one = fti::IpRange::parse("192.168.1.7");
  REQUIRE(one.ok());
  CHECK(one->contains("192.168.1.7"));
  CHECK_FALSE(one->contains("192.168.1.8"));
  auto v6 = fti::IpRange::parse("fd00::/8");
  REQUIRE(v6.ok());
  CHECK(v6->contains("fd12:3456::1"));
  CHECK_FALSE(v6->contains("fe80::1"));
  auto odd = fti::IpRange::parse("10.0.0.0/12");
  REQUIRE(odd.ok());
  CHECK(odd->contains("10.15.255.255"));
  CHECK_FALSE(odd->contains("10.16.0.0"));
  CHECK_FALSE(fti::IpRange::parse("10.0.0.0/x").ok());
  CHECK_FALSE(fti::IpRange::parse("example.com").ok());
}

TEST_CASE("config/default.toml lists every key the loader knows", "[core][config]") {
  std::ifstream in(std::string(FTI_SOURCE_DIR) + "/config/default.toml");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string section;
  std::set<std::string> listed;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind('[', 0) == 0) {
      section = line.substr(1, line.find(']') - 1);
    } else if (!line.empty() && line[0] != '#' && line.find('=') != std::string::npos) {
      auto key = line.substr(0, line.find_first_of(" ="));
      listed.insert(section + "." + key);
    }
  }
  for (const auto& key : fti::config_keys()) {
    INFO(key << " is missing from config/default.toml");
    CHECK(listed.count(key) == 1);
  }
}
