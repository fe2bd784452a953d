#pragma once
// Small helpers for the driver tests: each fails the test with the driver's message.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <string_view>

#include "fti/db/database.hpp"

namespace fti::testing {

inline std::unique_ptr<db::Database> open_or_fail(const std::string& url, db::OpenOptions options = {}) {
  auto db = db::open_database(url, options);
  INFO((db.ok() ? std::string() : db.error().message));
  REQUIRE(db.ok());
  return std::move(db).value();
}

inline void exec_ok(db::Connection& c, std::string_view sql, const db::Params& params = {}) {
  auto r = c.execute(sql, params);
  INFO((r.ok() ? std::string() : r.error().message));
  REQUIRE(r.ok());
}

inline db::Rows query_ok(db::Connection& c, std::string_view sql, const db::Params& params = {}) {
  auto r = c.query(sql, params);
  INFO((r.ok() ? std::string() : r.error().message));
  REQUIRE(r.ok());
  return std::move(r).value();
}

}  // namespace fti::testing
