// open_database: picks the driver from the URL scheme; no caller knows which one it got.
#include <filesystem>
#include <string>
#include <system_error>

#include "fti/db/database.hpp"
#include "postgres_database.hpp"
#include "sqlite_database.hpp"

namespace fti::db {

namespace {

constexpr std::string_view kSqlitePrefix = "sqlite:";

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

Result<std::unique_ptr<Database>> open_sqlite_url(std::string_view url, const OpenOptions& options) {
  const std::string path(url.substr(kSqlitePrefix.size()));
  if (path.empty()) {
    return Error(errc::bad_config, "database.url \"sqlite:\" needs a file path, e.g. sqlite:./data/fti.db");
  }
  if (path == ":memory:") return open_sqlite_database(path, options);
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) {
      return Error(errc::io_error, "cannot create the folder " + parent.string() +
                                       " for the database: " + ec.message());
    }
  }
  return open_sqlite_database(path, options);
}

}  // namespace

Result<std::unique_ptr<Database>> open_database(std::string_view url, const OpenOptions& options) {
  if (starts_with(url, kSqlitePrefix)) return open_sqlite_url(url, options);
  if (starts_with(url, "postgres://") || starts_with(url, "postgresql://")) {
    return open_postgres_database(std::string(url), options);
  }
  return Error(errc::bad_config, "database.url \"" + std::string(url) +
                                     "\" is not supported; use sqlite:PATH or postgres://...");
}

}  // namespace fti::db
