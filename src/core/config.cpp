#include "fti/core/config.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <fmt/format.h>
#include <functional>
#include <variant>

#include "fti/core/ip_range.hpp"

extern char** environ;

namespace fti {
namespace {

// A value as it arrives from any source, before it is checked against the key's type.
using RawValue = std::variant<std::string, std::int64_t, double, bool, std::vector<std::string>>;

struct KeySpec {
  std::string name;
  // Applies the value or returns why it is bad (without the key's name).
  std::function<std::optional<std::string>(Config&, const RawValue&)> apply;
};

std::string describe(const RawValue& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>) return fmt::format("\"{}\"", x);
        else if constexpr (std::is_same_v<T, std::vector<std::string>>) return "a list";
        else return fmt::format("{}", x);
      },
      v);
}

std::optional<std::int64_t> parse_int(std::string_view s) {
  std::int64_t out = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return out;
}

std::optional<double> parse_double(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return std::nullopt;
  return d;
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    auto comma = s.find(',', start);
    auto item = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) out.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}



template <class Section>
KeySpec str(std::string name, Section Config::*section, std::string Section::*field,
            std::vector<std::string> allowed = {}) {
  return {std::move(name), [=](Config& c, const RawValue& v) -> std::optional<std::string> {
            const auto* s = std::get_if<std::string>(&v);
            if (!s) return fmt::format("expected a string, got {}", describe(v));
            if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), *s) == allowed.end()) {
              return fmt::format("\"{}\" is not one of: {}", *s, fmt::join(allowed, ", "));
            }
            (c.*section).*field = *s;
            return std::nullopt;
          }};
}

template <class Section, class Int>
KeySpec integer(std::string name, Section Config::*section, Int Section::*field, std::int64_t min,
                std::int64_t max) {
  return {std::move(name), [=](Config& c, const RawValue& v) -> std::optional<std::string> {
            std::optional<std::int64_t> n;
            if (auto* i = std::get_if<std::int64_t>(&v)) n = *i;
            if (auto* s = std::get_if<std::string>(&v)) n = parse_int(*s);
            if (!n) return fmt::format("expected an integer, got {}", describe(v));
            if (*n < min || *n > max) return fmt::format("{} is outside {}..{}", *n, min, max);
            (c.*section).*field = static_cast<Int>(*n);
            return std::nullopt;
          }};
}

template <class Section>
KeySpec real(std::string name, Section Config::*section, double Section::*field, double min, double max) {
  return {std::move(name), [=](Config& c, const RawValue& v) -> std::optional<std::string> {
            std::optional<double> d;
            if (auto* x = std::get_if<double>(&v)) d = *x;
            if (auto* i = std::get_if<std::int64_t>(&v)) d = static_cast<double>(*i);
            if (auto* s = std::get_if<std::string>(&v)) d = parse_double(*s);
            if (!d) return fmt::format("expected a number, got {}", describe(v));
            if (*d < min || *d > max) return fmt::format("{} is outside {}..{}", *d, min, max);
            (c.*section).*field = *d;
            return std::nullopt;
          }};
}

template <class Section>
KeySpec boolean(std::string name, Section Config::*section, bool Section::*field) {
  return {std::move(name), [=](Config& c, const RawValue& v) -> std::optional<std::string> {
            std::optional<bool> b;
            if (auto* x = std::get_if<bool>(&v)) b = *x;
            if (auto* t = std::get_if<std::string>(&v)) {
              if (*t == "true" || *t == "1") b = true;
              if (*t == "false" || *t == "0") b = false;
            }
            if (!b) return fmt::format("expected true or false, got {}", describe(v));
            (c.*section).*field = *b;
            return std::nullopt;
          }};
}

template <class Section>
KeySpec list(std::string name, Section Config::*section, std::vector<std::string> Section::*field) {
  return {std::move(name), [=](Config& c, const RawValue& v) -> std::optional<std::string> {
            if (auto* l = std::get_if<std::vector<std::string>>(&v)) {
              (c.*section).*field = *l;
            } else if (auto* s = std::get_if<std::string>(&v)) {
              (c.*section).*field = split_list(*s);
            } else {
              return fmt::format("expected a list of strings, got {}", describe(v));
            }
            return std::nullopt;
          }};
}

const std::vector<KeySpec>& key_specs() {
  static const std::vector<KeySpec> specs = [] {
    constexpr std::int64_t kMaxI = std::numeric_limits<std::int64_t>::max();
    std::vector<KeySpec> k;
    k.push_back(str("server.listen", &Config::server, &ServerConfig::listen));
    k.push_back(str("server.data_dir", &Config::server, &ServerConfig::data_dir));
    k.push_back(integer("server.max_upload_bytes", &Config::server, &ServerConfig::max_upload_bytes, 1, kMaxI));
    k.push_back(integer("server.threads", &Config::server, &ServerConfig::threads, 1, 256));
    k.push_back(integer("server.blocking_threads", &Config::server, &ServerConfig::blocking_threads, 1, 1024));
    k.push_back(integer("server.request_threads", &Config::server, &ServerConfig::request_threads, 1, 1024));
    k.push_back(integer("server.request_timeout_seconds", &Config::server, &ServerConfig::request_timeout_seconds, 1, 3600));
    k.push_back(integer("server.drain_seconds", &Config::server, &ServerConfig::drain_seconds, 0, 3600));
    k.push_back(integer("server.status_cache_ms", &Config::server, &ServerConfig::status_cache_ms, 0, 60000));
    k.push_back(str("auth.mode", &Config::auth, &AuthConfig::mode, {"open", "api_key"}));
    k.push_back(str("database.url", &Config::database, &DatabaseConfig::url));
    k.push_back(list("database.replica_urls", &Config::database, &DatabaseConfig::replica_urls));
    k.push_back(list("database.shards", &Config::database, &DatabaseConfig::shards));
    k.push_back(integer("database.pool_size", &Config::database, &DatabaseConfig::pool_size, 1, 1024));
    k.push_back(integer("database.busy_timeout_ms", &Config::database, &DatabaseConfig::busy_timeout_ms, 0, 600000));
    k.push_back(integer("database.statement_timeout_ms", &Config::database, &DatabaseConfig::statement_timeout_ms, 0,
                        86400000));
    k.push_back(str("storage.url", &Config::storage, &StorageConfig::url));
    k.push_back(list("storage.replicas", &Config::storage, &StorageConfig::replicas));
    k.push_back(str("storage.cold_url", &Config::storage, &StorageConfig::cold_url));
    k.push_back(integer("storage.cold_after_hours", &Config::storage, &StorageConfig::cold_after_hours, 1, 24 * 3650));
    k.push_back(integer("storage.upload_retention_hours", &Config::storage, &StorageConfig::upload_retention_hours, 1,
                        24 * 3650));
    k.push_back(integer("jobs.max_attempts", &Config::jobs, &JobsConfig::max_attempts, 1, 100));
    k.push_back(integer("jobs.backoff_base_ms", &Config::jobs, &JobsConfig::backoff_base_ms, 0, 3600000));
    k.push_back(integer("jobs.lease_ms", &Config::jobs, &JobsConfig::lease_ms, 100, 3600000));
    k.push_back(integer("jobs.retention_hours", &Config::jobs, &JobsConfig::retention_hours, 1, 24 * 365));
    k.push_back(integer("jobs.failed_retention_hours", &Config::jobs, &JobsConfig::failed_retention_hours, 1, 24 * 365));
    k.push_back(integer("jobs.aging_ms", &Config::jobs, &JobsConfig::aging_ms, 1, 86400000));
    k.push_back(integer("workers.min", &Config::workers, &WorkersConfig::min, 1, 1024));
    k.push_back(integer("workers.max", &Config::workers, &WorkersConfig::max, 1, 1024));
    k.push_back(integer("workers.target_queue_seconds", &Config::workers, &WorkersConfig::target_queue_seconds, 1, 86400));
    k.push_back(integer("limits.job_memory_bytes", &Config::limits, &LimitsConfig::job_memory_bytes, 16LL << 20, kMaxI));
    k.push_back(integer("limits.job_timeout_seconds", &Config::limits, &LimitsConfig::job_timeout_seconds, 1, 86400));
    k.push_back(integer("limits.max_files", &Config::limits, &LimitsConfig::max_files, 1, kMaxI));
    k.push_back(integer("limits.max_unpacked_bytes", &Config::limits, &LimitsConfig::max_unpacked_bytes, 1, kMaxI));
    k.push_back(real("limits.max_ratio", &Config::limits, &LimitsConfig::max_ratio, 1.0, 1e9));
    k.push_back(integer("limits.max_file_bytes", &Config::limits, &LimitsConfig::max_file_bytes, 1, kMaxI));
    k.push_back(integer("limits.max_diff_bytes", &Config::limits, &LimitsConfig::max_diff_bytes, 4096, kMaxI));
    k.push_back(str("llm.mode", &Config::llm, &LlmConfig::mode, {"off", "auto", "fast"}));
    k.push_back(list("llm.ollama_urls", &Config::llm, &LlmConfig::ollama_urls));
    k.push_back(str("llm.ollama_model", &Config::llm, &LlmConfig::ollama_model));
    k.push_back(real("llm.confidence_threshold", &Config::llm, &LlmConfig::confidence_threshold, 0.0, 1.0));
    k.push_back(str("llm.openai_base_url", &Config::llm, &LlmConfig::openai_base_url));
    k.push_back(str("llm.openai_api_key", &Config::llm, &LlmConfig::openai_api_key));
    k.push_back(list("llm.openai_models", &Config::llm, &LlmConfig::openai_models));
    k.push_back(str("llm.anthropic_base_url", &Config::llm, &LlmConfig::anthropic_base_url));
    k.push_back(str("llm.anthropic_api_key", &Config::llm, &LlmConfig::anthropic_api_key));
    k.push_back(str("llm.anthropic_model", &Config::llm, &LlmConfig::anthropic_model));
    k.push_back(integer("llm.cache_ttl_seconds", &Config::llm, &LlmConfig::cache_ttl_seconds, 0, 365 * 86400));
    k.push_back(real("llm.max_cost_per_job_usd", &Config::llm, &LlmConfig::max_cost_per_job_usd, 0.0, 1e6));
    k.push_back(boolean("llm.allow_cloud", &Config::llm, &LlmConfig::allow_cloud));
    k.push_back(list("llm.prices", &Config::llm, &LlmConfig::prices));
    k.push_back(integer("llm.connect_timeout_ms", &Config::llm, &LlmConfig::connect_timeout_ms, 1, 600000));
    k.push_back(integer("llm.first_byte_timeout_ms", &Config::llm, &LlmConfig::first_byte_timeout_ms, 1, 3600000));
    k.push_back(integer("llm.request_timeout_seconds", &Config::llm, &LlmConfig::request_timeout_seconds, 1, 3600));
    k.push_back(integer("llm.max_retries", &Config::llm, &LlmConfig::max_retries, 0, 10));
    k.push_back(integer("llm.cooldown_seconds", &Config::llm, &LlmConfig::cooldown_seconds, 0, 86400));
    k.push_back(integer("llm.max_files_per_job", &Config::llm, &LlmConfig::max_files_per_job, 0, 100000));
    k.push_back(integer("shedding.max_in_flight", &Config::shedding, &SheddingConfig::max_in_flight, 0, 1000000));
    k.push_back(real("shedding.client_rate", &Config::shedding, &SheddingConfig::client_rate, 0.0, 1e9));
    k.push_back(integer("shedding.client_burst", &Config::shedding, &SheddingConfig::client_burst, 1, 1000000000));
    k.push_back(real("shedding.tenant_rate", &Config::shedding, &SheddingConfig::tenant_rate, 0.0, 1e9));
    k.push_back(integer("shedding.tenant_burst", &Config::shedding, &SheddingConfig::tenant_burst, 1, 1000000000));
    k.push_back(integer("shedding.max_queue_depth", &Config::shedding, &SheddingConfig::max_queue_depth, 0, kMaxI));
    k.push_back(list("shedding.trusted_proxies", &Config::shedding, &SheddingConfig::trusted_proxies));
    k.push_back(integer("shedding.retry_after_seconds", &Config::shedding, &SheddingConfig::retry_after_seconds, 1, 3600));
    k.push_back(real("surge.factor", &Config::surge, &SurgeConfig::factor, 1.0, 1000.0));
    k.push_back(real("surge.exit_factor", &Config::surge, &SurgeConfig::exit_factor, 0.0, 1000.0));
    k.push_back(real("surge.min_rate", &Config::surge, &SurgeConfig::min_rate, 0.0, 1e9));
    k.push_back(integer("surge.min_seconds", &Config::surge, &SurgeConfig::min_seconds, 0, 86400));
    k.push_back(integer("surge.baseline_minutes", &Config::surge, &SurgeConfig::baseline_minutes, 1, 24 * 60));
    k.push_back(real("surge.cache_ttl_factor", &Config::surge, &SurgeConfig::cache_ttl_factor, 1.0, 1000.0));
    k.push_back(str("surge.webhook_url", &Config::surge, &SurgeConfig::webhook_url));
    k.push_back(boolean("flags.llm_readme", &Config::flags, &FlagsConfig::llm_readme));
    k.push_back(boolean("flags.report_extras", &Config::flags, &FlagsConfig::report_extras));
    k.push_back(integer("sla.window_seconds", &Config::sla, &SlaConfig::window_seconds, 10, 24 * 3600));
    auto sla_real = [&k](const char* name, double SlaConfig::*field, double max) {
      k.push_back(real(name, &Config::sla, field, 0.0, max));
    };
    sla_real("sla.api.availability", &SlaConfig::api_availability, 100.0);
    sla_real("sla.api.p50_ms", &SlaConfig::api_p50_ms, 3.6e6);
    sla_real("sla.api.p95_ms", &SlaConfig::api_p95_ms, 3.6e6);
    sla_real("sla.api.p99_ms", &SlaConfig::api_p99_ms, 3.6e6);
    sla_real("sla.api.sustained_rps", &SlaConfig::api_sustained_rps, 1e9);
    sla_real("sla.api.peak_rps", &SlaConfig::api_peak_rps, 1e9);
    sla_real("sla.api.error_rate", &SlaConfig::api_error_rate, 100.0);
    sla_real("sla.cleanup.availability", &SlaConfig::cleanup_availability, 100.0);
    sla_real("sla.cleanup.p50_seconds", &SlaConfig::cleanup_p50_seconds, 86400.0);
    sla_real("sla.cleanup.p95_seconds", &SlaConfig::cleanup_p95_seconds, 86400.0);
    sla_real("sla.cleanup.p99_seconds", &SlaConfig::cleanup_p99_seconds, 86400.0);
    sla_real("sla.cleanup.error_rate", &SlaConfig::cleanup_error_rate, 100.0);
    sla_real("sla.websocket.p50_ms", &SlaConfig::websocket_p50_ms, 3.6e6);
    sla_real("sla.websocket.p95_ms", &SlaConfig::websocket_p95_ms, 3.6e6);
    sla_real("sla.websocket.p99_ms", &SlaConfig::websocket_p99_ms, 3.6e6);
    k.push_back(integer("format.timeout_seconds", &Config::format, &FormatConfig::timeout_seconds, 1, 3600));
    k.push_back(str("format.tools_dir", &Config::format, &FormatConfig::tools_dir));
    k.push_back(str("log.level", &Config::log, &LogConfig::level, {"trace", "debug", "info", "warn", "error", "off"}));
    k.push_back(str("log.format", &Config::log, &LogConfig::format, {"text", "json"}));
    return k;
  }();
  return specs;
}

const KeySpec* find_key(std::string_view name) {
  for (const auto& k : key_specs()) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

std::string env_name(std::string_view key) {
  std::string out = "FTI_";
  for (char c : key) out.push_back(c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return out;
}

Status apply(Config& config, std::string_view key, const RawValue& value, std::string_view source) {
  const KeySpec* spec = find_key(key);
  if (!spec) {
    return Error(errc::bad_config, fmt::format("{}: unknown configuration key (from {}); see the "
                                               "README's list of keys", key, source));
  }
  if (auto why = spec->apply(config, value)) {
    return Error(errc::bad_config, fmt::format("{}: {} (from {})", key, *why, source));
  }
  return {};
}

std::optional<RawValue> from_toml(const toml::node& node) {
  if (auto s = node.as_string()) return RawValue(s->get());
  if (auto i = node.as_integer()) return RawValue(i->get());
  if (auto d = node.as_floating_point()) return RawValue(d->get());
  if (auto b = node.as_boolean()) return RawValue(b->get());
  if (auto a = node.as_array()) {
    std::vector<std::string> items;
    for (const auto& e : *a) {
      auto s = e.as_string();
      if (!s) return std::nullopt;
      items.push_back(s->get());
    }
    return RawValue(std::move(items));
  }
  return std::nullopt;
}

Status apply_table(Config& config, const toml::table& table, const std::string& prefix,
                   const std::string& file) {
  for (const auto& [k, node] : table) {
    std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (auto sub = node.as_table()) {
      FTI_TRY(apply_table(config, *sub, key, file));
      continue;
    }
    auto value = from_toml(node);
    if (!value) {
      return Error(errc::bad_config, fmt::format("{}: unsupported value type (from {})", key, file));
    }
    FTI_TRY(apply(config, key, *value, file));
  }
  return {};
}

Status apply_file(Config& config, const std::string& path) {
  toml::table table;
  try {
    // Debian's toml++ is built with exceptions: a parse error throws.
    table = toml::parse_file(path);
  } catch (const toml::parse_error& err) {
    return Error(errc::bad_config, fmt::format("{}:{}:{}: {}", path, err.source().begin.line,
                                               err.source().begin.column, err.description()));
  }
  return apply_table(config, table, "", path);
}

Status apply_environment(Config& config, const std::map<std::string, std::string>& env) {
  for (const auto& [name, value] : env) {
    if (name.rfind("FTI_", 0) != 0) continue;
    const KeySpec* match = nullptr;
    for (const auto& k : key_specs()) {
      if (env_name(k.name) == name) match = &k;
    }
    if (!match) {
      return Error(errc::bad_config, fmt::format("{}: no configuration key has this name; unset "
                                                 "it or see the README's list of keys", name));
    }
    FTI_TRY(apply(config, match->name, RawValue(value), "environment " + name));
  }
  return {};
}

bool is_postgres_url(const std::string& url) {
  return url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0;
}

bool is_database_url(const std::string& url) { return url.rfind("sqlite:", 0) == 0 || is_postgres_url(url); }

Status validate_replicas_and_shards(const DatabaseConfig& d, bool main_is_postgres) {
  for (const auto& url : d.replica_urls) {
    if (!is_postgres_url(url)) {
      return Error(errc::bad_config, fmt::format("database.replica_urls: \"{}\" must be a postgres:// URL (a streaming "
                                                 "replica of database.url)", url));
    }
  }
  if (!d.replica_urls.empty() && !main_is_postgres) {
    return Error(errc::bad_config, "database.replica_urls needs database.url to be PostgreSQL");
  }
  if (!d.replica_urls.empty() && !d.shards.empty()) {
    return Error(errc::bad_config, "database.replica_urls and database.shards together are not supported yet: "
                                   "use one or the other");
  }
  for (const auto& url : d.shards) {
    if (!is_database_url(url)) {
      return Error(errc::bad_config, fmt::format("database.shards: \"{}\" must start with sqlite: or postgres://", url));
    }
  }
  return {};
}

Status validate(const Config& c) {
  FTI_TRY(parse_host_port(c.server.listen));
  for (const auto& proxy : c.shedding.trusted_proxies) {
    if (auto range = IpRange::parse(proxy); !range) {
      return Error(errc::bad_config, "shedding.trusted_proxies: " + range.error().message);
    }
  }
  if (c.surge.exit_factor > c.surge.factor) {
    return Error(errc::bad_config, fmt::format("surge.exit_factor: {} is above surge.factor ({}); it must be at most "
                                               "that, or surge mode would turn off as soon as it turns on",
                                               c.surge.exit_factor, c.surge.factor));
  }
  const auto& hook = c.surge.webhook_url;
  if (!hook.empty() && hook.rfind("http://", 0) != 0 && hook.rfind("https://", 0) != 0) {
    return Error(errc::bad_config, fmt::format("surge.webhook_url: \"{}\" must start with http:// or https://", hook));
  }
  if (c.workers.max < c.workers.min) {
    return Error(errc::bad_config, fmt::format("workers.max: {} is below workers.min ({})",
                                               c.workers.max, c.workers.min));
  }
  auto db = c.database_url();
  if (!is_database_url(db)) {
    return Error(errc::bad_config, fmt::format("database.url: \"{}\" must start with sqlite: or postgres://", db));
  }
  FTI_TRY(validate_replicas_and_shards(c.database, is_postgres_url(db)));
  auto is_store_url = [](const std::string& url) { return url.rfind("file:", 0) == 0 || url.rfind("s3://", 0) == 0; };
  auto st = c.storage_url();
  if (!is_store_url(st)) {
    return Error(errc::bad_config, fmt::format("storage.url: \"{}\" must start with file: or s3://", st));
  }
  for (const auto& url : c.storage.replicas) {
    if (!is_store_url(url)) {
      return Error(errc::bad_config, fmt::format("storage.replicas: \"{}\" must start with file: or s3://", url));
    }
  }
  if (!c.storage.cold_url.empty() && !is_store_url(c.storage.cold_url)) {
    return Error(errc::bad_config,
                 fmt::format("storage.cold_url: \"{}\" must start with file: or s3://", c.storage.cold_url));
  }
  return {};
}

}  // namespace

std::string Config::database_url() const {
  return database.url.empty() ? "sqlite:" + server.data_dir + "/fti.db" : database.url;
}

std::string Config::storage_url() const {
  return storage.url.empty() ? "file:" + server.data_dir + "/blobs" : storage.url;
}

std::map<std::string, std::string> fti_environment() {
  std::map<std::string, std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    if (entry.rfind("FTI_", 0) != 0) continue;
    auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    out.emplace(entry.substr(0, eq), entry.substr(eq + 1));
  }
  return out;
}

Result<std::shared_ptr<const Config>> load_config(const ConfigSources& sources) {
  auto config = std::make_shared<Config>();
  if (sources.file) FTI_TRY(apply_file(*config, *sources.file));
  FTI_TRY(apply_environment(*config, sources.environment));
  for (const auto& [key, value] : sources.overrides) {
    FTI_TRY(apply(*config, key, RawValue(value), "command line"));
  }
  FTI_TRY(validate(*config));
  return std::shared_ptr<const Config>(std::move(config));
}

std::vector<std::string> config_keys() {
  std::vector<std::string> out;
  for (const auto& k : key_specs()) out.push_back(k.name);
  return out;
}

Result<HostPort> parse_host_port(std::string_view s) {
  auto colon = s.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return Error(errc::bad_config, fmt::format("server.listen: \"{}\" is not HOST:PORT (e.g. 127.0.0.1:8080)", s));
  }
  std::string host(s.substr(0, colon));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  auto port = parse_int(s.substr(colon + 1));
  if (!port || *port < 0 || *port > 65535) {
    return Error(errc::bad_config, fmt::format("server.listen: \"{}\" has no valid port (0-65535)", s));
  }
  return HostPort{host, static_cast<std::uint16_t>(*port)};
}

bool is_loopback_host(std::string_view host) {
  if (host == "localhost") return true;
  std::string h(host);
  in_addr v4{};
  if (::inet_pton(AF_INET, h.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return ::inet_pton(AF_INET6, h.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

}  // namespace fti
