// The finishthisidea command line (ARCHITECTURE.md section 4).
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <iostream>

#include "fti/api/api_keys.hpp"
#include "fti/api/app.hpp"
#include "fti/cleanup/pipeline.hpp"
#include "fti/client/submit.hpp"
#include "fti/core/config.hpp"
#include "fti/core/ids.hpp"
#include "fti/core/log.hpp"
#include "fti/core/progress.hpp"
#include "fti/db/database.hpp"
#include "fti/db/migrations.hpp"
#include "fti/jobs/bench.hpp"
#include "fti/llm/cache.hpp"
#include "fti/llm/cost.hpp"
#include "fti/llm/pipe_client.hpp"
#include "fti/llm/router.hpp"

namespace fs = std::filesystem;

namespace {

constexpr int kExitOk = 0;
constexpr int kExitJobFailed = 1;
constexpr int kExitUsage = 2;

int usage_error(const std::string& message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  return kExitUsage;
}

fti::Result<std::shared_ptr<const fti::Config>> load(const std::string& config_file,
                                                     std::map<std::string, std::string> overrides) {
  fti::ConfigSources sources;
  if (!config_file.empty()) sources.file = config_file;
  sources.environment = fti::fti_environment();
  sources.overrides = std::move(overrides);
  return fti::load_config(sources);
}

// --- serve ---

struct ServeArgs {
  std::string config_file, listen, data_dir;
};

int run_serve(const ServeArgs& args) {
  std::map<std::string, std::string> overrides;
  if (!args.listen.empty()) overrides["server.listen"] = args.listen;
  if (!args.data_dir.empty()) overrides["server.data_dir"] = args.data_dir;
  auto config = load(args.config_file, overrides);
  if (!config) return usage_error(config.error().message);
  fti::log::init((*config)->log.level, (*config)->log.format == "json" ? fti::log::Format::json
                                                                      : fti::log::Format::text);
  fti::api::App app(*config);
  if (auto st = app.start(); !st) {
    std::fprintf(stderr, "error: %s\n", st.error().message.c_str());
    return st.error().code == fti::errc::bad_config ? kExitUsage : kExitJobFailed;
  }
  app.run();
  return kExitOk;
}

// --- clean ---

struct CleanArgs {
  std::string input, output, report, report_md, profile, config_file, progress = "auto", work_dir;
  std::string diff;  // the unified diff of the whole change
  std::optional<std::int64_t> max_diff_bytes;
  bool no_llm = false;
  bool no_format = false;
  bool no_llm_readme = false;     // feature flag llm_readme off (the server's surge mode)
  bool no_report_extras = false;  // feature flag report_extras off
  std::string llm;  // "pipe": ask the server's router over stdout/stdin (a server's child)
  std::optional<double> llm_threshold;
  std::optional<std::int64_t> llm_max_files;
  std::optional<std::int64_t> max_files, max_unpacked_bytes, max_file_bytes;
  std::optional<double> max_ratio;
  std::optional<int> format_timeout;  // seconds; a server's child gets format.* as flags
  std::optional<std::string> tools_dir;
};

// Messages can quote names from the upload; one message must stay one line.
std::string one_line(std::string text) {
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return text;
}

bool write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  return static_cast<bool>(out);
}

// Who answers the LLM passes: the server's router through the pipe (a server's child), a
// router of our own built from the configuration (offline), or nobody.
struct CleanLlm {
  fti::SystemClock clock;
  fti::llm::MemoryLlmCache cache;
  fti::llm::MemoryCostLedger ledger;
  std::unique_ptr<fti::llm::LlmClient> client;
};

fti::Status make_clean_llm(const CleanArgs& args, const fti::Config& config, CleanLlm& out) {
  if (args.no_llm) return {};
  if (args.llm == "pipe") {
    out.client = std::make_unique<fti::llm::PipeLlmClient>(stdout, stdin);
    return {};
  }
  if (config.llm.mode == "off") return {};
  FTI_ASSIGN_OR_RETURN(auto router, fti::llm::make_router(config.llm, out.clock, &out.cache, &out.ledger, nullptr));
  out.client = std::move(router);
  return {};
}

int run_clean(CleanArgs args) {
  if (!fs::exists(args.input)) return usage_error(fmt::format("{} does not exist; give a folder or an archive", args.input));
  auto config = load(args.config_file, {});
  if (!config) return usage_error(config.error().message);
  fti::log::init("warn", fti::log::Format::text);
  const auto& limits = (*config)->limits;

  fti::cleanup::PipelineOptions options;
  options.limits.max_files = args.max_files.value_or(limits.max_files);
  options.limits.max_unpacked_bytes = args.max_unpacked_bytes.value_or(limits.max_unpacked_bytes);
  options.limits.max_file_bytes = args.max_file_bytes.value_or(limits.max_file_bytes);
  options.limits.max_ratio = args.max_ratio.value_or(limits.max_ratio);
  options.profile = args.profile;
  options.formatters = !args.no_format;
  options.diff_path = args.diff;
  options.max_diff_bytes = args.max_diff_bytes.value_or(limits.max_diff_bytes);
  if (auto profile = fti::cleanup::find_style_profile(args.profile); !profile) {
    // A server's child says why in its own words too (jobs queued before a profile was removed).
    if (args.progress == "lines") std::printf("error %s %s\n", profile.error().code.c_str(), profile.error().message.c_str());
    return usage_error(profile.error().message);
  }
  options.format.timeout = std::chrono::seconds(args.format_timeout.value_or((*config)->format.timeout_seconds));
  options.format.tools_dir = args.tools_dir.value_or((*config)->format.tools_dir);
  options.work_dir = args.work_dir.empty() ? fs::temp_directory_path() : fs::path(args.work_dir);
  fti::ProgressDisplay progress(*fti::parse_progress_mode(args.progress, ::isatty(STDERR_FILENO)));
  options.on_progress = progress.stage_callback();
  CleanLlm llm;
  if (auto st = make_clean_llm(args, **config, llm); !st.ok()) return usage_error(st.error().message);
  options.llm.client = llm.client.get();
  // Offline runs have a budget scope of their own (the server sets the job's in pipe mode).
  options.llm.job_id = "offline-" + fti::new_request_id();
  options.llm.confidence_threshold = args.llm_threshold.value_or((*config)->llm.confidence_threshold);
  options.llm.max_files = args.llm_max_files.value_or((*config)->llm.max_files_per_job);
  options.llm.write_readme = (*config)->flags.llm_readme && !args.no_llm_readme;
  options.llm.suggest_structure = (*config)->flags.report_extras && !args.no_report_extras;
  if (args.output.empty()) args.output = fti::client::default_output_path(args.input);

  auto out = fti::cleanup::run_pipeline(args.input, args.output, options);
  progress.finish();
  if (!out) {
    if (args.progress == "lines") {
      std::printf("error %s %s\n", out.error().code.c_str(), one_line(out.error().message).c_str());
    }
    std::fprintf(stderr, "error: %s: %s\n", out.error().code.c_str(), one_line(out.error().message).c_str());
    return kExitJobFailed;
  }
  const auto& report = out->report;
  if (!args.report.empty() && !write_text(args.report, report.to_json())) {
    std::fprintf(stderr, "error: io_error: cannot write %s\n", args.report.c_str());
    return kExitJobFailed;
  }
  if (!args.report_md.empty() && !write_text(args.report_md, report.to_markdown())) {
    std::fprintf(stderr, "error: io_error: cannot write %s\n", args.report_md.c_str());
    return kExitJobFailed;
  }
  if (args.progress == "lines") {
    std::printf("result %s\n", report.result_json().c_str());
  } else {
    std::fprintf(stderr, "%s\nwrote %s\n", report.summary().c_str(), args.output.c_str());
  }
  return kExitOk;
}

// --- submit: the same job on a running server ---

// Ctrl-C during submit: stop waiting, clean up, say where the job is. A second one kills.
std::atomic<bool> submit_interrupted{false};
extern "C" void on_submit_interrupt(int) { submit_interrupted = true; }

struct SubmitArgs {
  fti::client::SubmitOptions options;
  std::string progress = "auto", api_key_file;
  int timeout_seconds = 3600;
};

int run_submit(SubmitArgs args) {
  if (!args.api_key_file.empty()) {
    std::ifstream in(args.api_key_file);
    if (!std::getline(in, args.options.api_key)) return usage_error("cannot read an API key from " + args.api_key_file);
  }
  args.options.timeout = std::chrono::seconds(args.timeout_seconds);
  struct sigaction interrupt {};
  interrupt.sa_handler = on_submit_interrupt;
  interrupt.sa_flags = SA_RESETHAND;
  ::sigaction(SIGINT, &interrupt, nullptr);
  ::sigaction(SIGTERM, &interrupt, nullptr);
  args.options.interrupted = [] { return submit_interrupted.load(); };
  fti::ProgressDisplay progress(*fti::parse_progress_mode(args.progress, ::isatty(STDERR_FILENO)));
  auto outcome = fti::client::submit(args.options, progress);
  if (outcome.error) {
    if (args.progress == "lines") {
      std::printf("error %s %s\n", outcome.error->code.c_str(), one_line(outcome.error->message).c_str());
    }
    std::fprintf(stderr, "error: %s: %s\n", outcome.error->code.c_str(), one_line(outcome.error->message).c_str());
    if (outcome.interrupted) return 128 + SIGINT;
    return outcome.usage_error ? kExitUsage : kExitJobFailed;
  }
  if (args.progress == "lines") {
    std::printf("result %s\n", outcome.result_json.c_str());
  } else {
    std::fprintf(stderr, "job %s: %s\nwrote %s\n", outcome.job_id.c_str(), outcome.summary.c_str(),
                 outcome.output.c_str());
  }
  return kExitOk;
}

// --- migrate and keys: the database of the configuration `serve` would use ---

struct DatabaseArgs {
  std::string config_file, data_dir;
};

struct OpenedDatabase {
  std::shared_ptr<const fti::Config> config;
  std::unique_ptr<fti::db::Database> database;
  int applied = 0;  // migrations applied by this open
};

// Loads the configuration as `serve` does, opens database.url and migrates it, so keys can be
// made before the first `serve` (e.g. in a fresh container volume). The exit code on failure:
// 2 for a bad configuration, 1 when the database cannot be opened or migrated.
fti::Result<OpenedDatabase> open_configured_database(const DatabaseArgs& args, int& exit_code) {
  std::map<std::string, std::string> overrides;
  if (!args.data_dir.empty()) overrides["server.data_dir"] = args.data_dir;
  auto config = load(args.config_file, overrides);
  exit_code = kExitUsage;
  if (!config) return config.error();
  fti::log::init("warn", fti::log::Format::text);
  OpenedDatabase out;
  out.config = *config;
  exit_code = kExitJobFailed;
  if (out.config->database.url.empty()) {  // the default SQLite file lives in data_dir
    std::error_code ec;
    fs::create_directories(out.config->server.data_dir, ec);
    if (ec) {
      return fti::Error(fti::errc::io_error,
                        fmt::format("cannot create server.data_dir {}: {}", out.config->server.data_dir, ec.message()));
    }
  }
  fti::db::OpenOptions options;
  options.pool_size = 2;
  options.busy_timeout_ms = out.config->database.busy_timeout_ms;
  options.statement_timeout_ms = out.config->database.statement_timeout_ms;
  const std::string url = out.config->database_url();
  auto database = fti::db::open_database(url, options);
  if (!database) return database.error();
  out.database = std::move(database).value();
  auto applied = fti::db::migrate(*out.database);
  if (!applied) return applied.error();
  out.applied = *applied;
  exit_code = kExitOk;
  return out;
}

int database_error(const fti::Error& error, int exit_code) {
  std::fprintf(stderr, "error: %s: %s\n", error.code.c_str(), one_line(error.message).c_str());
  return exit_code;
}

int run_migrate(const DatabaseArgs& args) {
  int exit_code = kExitOk;
  auto opened = open_configured_database(args, exit_code);
  if (!opened) return database_error(opened.error(), exit_code);
  const int latest = fti::db::all_migrations().back().version;
  const auto& config = *opened->config;
  std::printf("%s: applied %d migration%s; schema at version %d\n",
              fti::db::redacted_url(config.database_url()).c_str(), opened->applied, opened->applied == 1 ? "" : "s",
              latest);
  // Jobs may live in shards; `serve` migrates them too, so `migrate` must as well.
  for (const auto& url : config.database.shards) {
    fti::db::OpenOptions options;
    options.pool_size = 1;
    options.busy_timeout_ms = config.database.busy_timeout_ms;
    options.statement_timeout_ms = config.database.statement_timeout_ms;
    auto shard = fti::db::open_database(url, options);
    if (!shard) return database_error(shard.error(), kExitJobFailed);
    auto applied = fti::db::migrate(**shard);
    if (!applied) return database_error(applied.error(), kExitJobFailed);
    std::printf("%s: applied %d migration%s; schema at version %d\n", fti::db::redacted_url(url).c_str(), *applied,
                *applied == 1 ? "" : "s", latest);
  }
  return kExitOk;
}

struct KeysArgs {
  DatabaseArgs database;
  std::string tenant, id;
  bool admin = false;
};

int run_keys_create(const KeysArgs& args) {
  // A bad name is bad usage: say so before touching the database.
  if (auto valid = fti::api::validate_tenant_name(args.tenant); !valid) return usage_error(valid.error().message);
  int exit_code = kExitOk;
  auto opened = open_configured_database(args.database, exit_code);
  if (!opened) return database_error(opened.error(), exit_code);
  fti::SystemClock clock;
  auto store = fti::api::make_sql_api_key_store(*opened->database, clock);
  auto created = store->create(args.tenant, args.admin);
  if (!created) return database_error(created.error(), kExitJobFailed);
  std::printf("id      %s\ntenant  %s\nadmin   %s\nkey     %s\n", created->info.id.c_str(),
              created->info.tenant.c_str(), created->info.is_admin ? "yes" : "no", created->key.c_str());
  std::printf("The key cannot be shown again (only its hash is stored): keep it now. "
              "Send it as 'Authorization: Bearer KEY'.\n");
  if (opened->config->auth.mode != "api_key") {
    std::fprintf(stderr, "note: auth.mode is \"%s\"; keys are checked only with auth.mode = \"api_key\" "
                         "(FTI_AUTH_MODE=api_key)\n", opened->config->auth.mode.c_str());
  }
  return kExitOk;
}

int run_keys_list(const KeysArgs& args) {
  int exit_code = kExitOk;
  auto opened = open_configured_database(args.database, exit_code);
  if (!opened) return database_error(opened.error(), exit_code);
  fti::SystemClock clock;
  auto keys = fti::api::make_sql_api_key_store(*opened->database, clock)->list();
  if (!keys) return database_error(keys.error(), kExitJobFailed);
  std::size_t tenant_width = 6;
  for (const auto& k : *keys) tenant_width = std::max(tenant_width, k.tenant.size());
  std::printf("%-26s  %-*s  %-5s  %-20s  %s\n", "ID", static_cast<int>(tenant_width), "TENANT", "ADMIN", "CREATED",
              "REVOKED");
  for (const auto& k : *keys) {
    std::printf("%-26s  %-*s  %-5s  %-20s  %s\n", k.id.c_str(), static_cast<int>(tenant_width), k.tenant.c_str(),
                k.is_admin ? "yes" : "no", fti::format_rfc3339(k.created_at).c_str(),
                k.revoked_at ? fti::format_rfc3339(*k.revoked_at).c_str() : "-");
  }
  if (keys->empty()) std::fprintf(stderr, "no API keys yet; create one with `finishthisidea keys create --tenant NAME`\n");
  return kExitOk;
}

int run_keys_revoke(const KeysArgs& args) {
  int exit_code = kExitOk;
  auto opened = open_configured_database(args.database, exit_code);
  if (!opened) return database_error(opened.error(), exit_code);
  fti::SystemClock clock;
  auto revoked = fti::api::make_sql_api_key_store(*opened->database, clock)->revoke(args.id);
  if (!revoked) return database_error(revoked.error(), kExitJobFailed);
  std::printf("revoked key %s (tenant %s) at %s\n", revoked->id.c_str(), revoked->tenant.c_str(),
              fti::format_rfc3339(revoked->revoked_at.value_or(0)).c_str());
  return kExitOk;
}

// --- bench ---

struct BenchArgs {
  fti::jobs::BenchOptions options;
  bool json = false;
};

int run_bench_jobs(const BenchArgs& args) {
  if (args.options.enqueue_only && args.options.work_only) {
    return usage_error("--enqueue-only and --work-only exclude each other");
  }
  fti::log::init("warn", fti::log::Format::text);
  auto result = fti::jobs::run_jobs_bench(args.options);
  if (!result) {
    std::fprintf(stderr, "error: %s: %s\n", result.error().code.c_str(), result.error().message.c_str());
    return kExitJobFailed;
  }
  std::printf("%s\n", args.json ? result->to_json().c_str() : result->to_text().c_str());
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"FinishThisIdea: upload a messy codebase, get it back clean."};
  app.require_subcommand(1);

  ServeArgs serve;
  auto* serve_cmd = app.add_subcommand("serve", "Run the HTTP service (defaults: 127.0.0.1:8080, ./data)");
  serve_cmd->add_option("--config", serve.config_file, "TOML configuration file")->check(CLI::ExistingFile);
  serve_cmd->add_option("--listen", serve.listen, "HOST:PORT to listen on");
  serve_cmd->add_option("--data-dir", serve.data_dir, "Folder for the SQLite file and blobs");

  CleanArgs clean;
  auto* clean_cmd = app.add_subcommand("clean", "Clean a folder or archive offline");
  clean_cmd->add_option("INPUT", clean.input, "Folder or archive (.zip, .tar, .tar.gz, .tgz)")->required();
  clean_cmd->add_option("-o,--output", clean.output, "Cleaned archive to write (default: INPUT-clean.zip)");
  clean_cmd->add_option("--report", clean.report, "Write the JSON report here");
  clean_cmd->add_option("--report-md", clean.report_md, "Write the Markdown report here");
  clean_cmd->add_option("--diff", clean.diff, "Write a unified diff of the whole change here");
  clean_cmd->add_option("--profile", clean.profile, "Style profile name");
  clean_cmd->add_flag("--no-llm", clean.no_llm, "Never call a language model");
  clean_cmd->add_flag("--no-format", clean.no_format, "Do not run the language formatters");
  clean_cmd->add_option("--config", clean.config_file, "TOML configuration file")->check(CLI::ExistingFile);
  clean_cmd->add_option("--progress", clean.progress, "auto | bar | plain | lines | none")
      ->check(CLI::IsMember({"auto", "bar", "plain", "lines", "none"}));
  clean_cmd->add_option("--work-dir", clean.work_dir, "Scratch folder")->group("");
  clean_cmd->add_option("--llm", clean.llm)->check(CLI::IsMember({"pipe"}))->group("");
  clean_cmd->add_option("--llm-threshold", clean.llm_threshold)->group("");
  clean_cmd->add_option("--llm-max-files", clean.llm_max_files)->group("");
  clean_cmd->add_flag("--no-llm-readme", clean.no_llm_readme)->group("");
  clean_cmd->add_flag("--no-report-extras", clean.no_report_extras)->group("");
  clean_cmd->add_option("--max-files", clean.max_files)->group("");
  clean_cmd->add_option("--max-unpacked-bytes", clean.max_unpacked_bytes)->group("");
  clean_cmd->add_option("--max-ratio", clean.max_ratio)->group("");
  clean_cmd->add_option("--max-file-bytes", clean.max_file_bytes)->group("");
  clean_cmd->add_option("--max-diff-bytes", clean.max_diff_bytes)->group("");
  clean_cmd->add_option("--format-timeout", clean.format_timeout)->check(CLI::Range(1, 3600))->group("");
  clean_cmd->add_option("--tools-dir", clean.tools_dir)->group("");

  SubmitArgs submit;
  auto* submit_cmd = app.add_subcommand("submit", "Clean a folder or archive on a running server");
  submit_cmd->add_option("INPUT", submit.options.input, "Folder or archive (.zip, .tar, .tar.gz, .tgz)")->required();
  submit_cmd->add_option("--server", submit.options.server, "The server, e.g. http://localhost:8080")->required();
  submit_cmd->add_option("--api-key", submit.options.api_key, "API key (when the server has auth.mode = \"api_key\")");
  submit_cmd->add_option("--api-key-file", submit.api_key_file, "Read the API key from this file's first line")
      ->check(CLI::ExistingFile)->excludes("--api-key");
  submit_cmd->add_option("--ca-file", submit.options.ca_file, "https: trust this PEM file's certificates")
      ->check(CLI::ExistingFile);
  submit_cmd->add_option("-o,--output", submit.options.output, "Cleaned archive to write (default: INPUT-clean.zip)");
  submit_cmd->add_option("--report", submit.options.report, "Write the JSON report here");
  submit_cmd->add_option("--type", submit.options.type, "Job type: cleanup | template | enterprise | priority");
  submit_cmd->add_option("--profile", submit.options.profile, "Style profile name");
  submit_cmd->add_option("--priority", submit.options.priority, "high | normal | low")
      ->check(CLI::IsMember({"high", "normal", "low"}));
  submit_cmd->add_option("--timeout", submit.timeout_seconds, "Give up after this many seconds (default 3600)")
      ->check(CLI::PositiveNumber);
  submit_cmd->add_option("--progress", submit.progress, "auto | bar | plain | lines | none")
      ->check(CLI::IsMember({"auto", "bar", "plain", "lines", "none"}));

  BenchArgs bench;
  auto* bench_cmd = app.add_subcommand("bench", "Measure the job engine");
  auto* bench_jobs = bench_cmd->add_subcommand("jobs", "No-op jobs: enqueue, drain, pickup latency");
  bench_cmd->require_subcommand(1);
  bench_jobs->add_option("--db", bench.options.db_url, "Database URL, e.g. sqlite:/tmp/bench.db")->required();
  bench_jobs->add_option("--jobs", bench.options.jobs, "Number of jobs")->check(CLI::PositiveNumber);
  bench_jobs->add_option("--workers", bench.options.workers, "Concurrent workers")->check(CLI::Range(1, 1024));
  bench_jobs->add_flag("--enqueue-only", bench.options.enqueue_only, "Only enqueue");
  bench_jobs->add_flag("--work-only", bench.options.work_only, "Only drain jobs already in the database");
  bench_jobs->add_flag("--json", bench.json, "Print one JSON object");
  bench_jobs->add_option("--latency-samples", bench.options.latency_samples, "Pickup latency samples");
  bench_jobs->add_option("--executions-file", bench.options.executions_file, "Append each run's job id here")->group("");
  bench_jobs->add_option("--lease-ms", bench.options.lease_ms, "Lease length")->group("");
  bench_jobs->add_option("--prefill-finished", bench.options.prefill_finished,
                         "First fill the table with this many finished jobs");

  // keys and migrate read the configuration as serve does (--config, FTI_* variables).
  auto add_database_options = [](CLI::App* cmd, DatabaseArgs& args) {
    cmd->add_option("--config", args.config_file, "TOML configuration file")->check(CLI::ExistingFile);
    cmd->add_option("--data-dir", args.data_dir, "Folder of the default SQLite file (server.data_dir)");
  };
  DatabaseArgs migrate;
  auto* migrate_cmd = app.add_subcommand("migrate", "Apply the database migrations of database.url");
  add_database_options(migrate_cmd, migrate);

  KeysArgs keys;
  auto* keys_cmd = app.add_subcommand("keys", "Manage API keys (auth.mode = \"api_key\")");
  keys_cmd->require_subcommand(1);
  auto* keys_create = keys_cmd->add_subcommand("create", "Create a key for a tenant and print it once");
  keys_create->add_option("--tenant", keys.tenant, "Tenant the key acts for")->required();
  keys_create->add_flag("--admin", keys.admin, "The key may call the admin endpoints");
  auto* keys_list = keys_cmd->add_subcommand("list", "List keys: id, tenant, admin, created, revoked");
  auto* keys_revoke = keys_cmd->add_subcommand("revoke", "Revoke a key by its id");
  keys_revoke->add_option("ID", keys.id, "The key's id, as `keys list` shows it")->required();
  for (auto* cmd : {keys_cmd, keys_create, keys_list, keys_revoke}) add_database_options(cmd, keys.database);

  auto* version_cmd = app.add_subcommand("version", "Print the version");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "error: %s (see finishthisidea --help)\n", e.what());
    return kExitUsage;
  }

  if (serve_cmd->parsed()) return run_serve(serve);
  if (clean_cmd->parsed()) return run_clean(clean);
  if (submit_cmd->parsed()) return run_submit(submit);
  if (bench_jobs->parsed()) return run_bench_jobs(bench);
  if (migrate_cmd->parsed()) return run_migrate(migrate);
  if (keys_create->parsed()) return run_keys_create(keys);
  if (keys_list->parsed()) return run_keys_list(keys);
  if (keys_revoke->parsed()) return run_keys_revoke(keys);
  if (version_cmd->parsed()) {
    std::printf("finishthisidea %s\n", FTI_VERSION);
    return kExitOk;
  }
  return kExitUsage;
}
