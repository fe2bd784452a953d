#pragma once
// API keys for auth.mode = "api_key": created, listed and revoked by `finishthisidea keys`.
// Only a key's SHA-256 is stored (table api_keys), so the key itself is shown once, at
// creation; the auth middleware (src/api/auth.cpp) looks bearer keys up by that hash.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fti/core/clock.hpp"
#include "fti/core/result.hpp"

namespace fti::db {
class Database;
}

namespace fti::api {

// One key as operators see it: never the key or its hash.
struct ApiKeyInfo {
  std::string id;                   // what `keys revoke` takes
  std::string tenant;               // whose jobs the key sees
  bool is_admin = false;            // may call /api/v1/admin/...
  TimeMs created_at = 0;
  std::optional<TimeMs> revoked_at;  // set: the key no longer authenticates
};

// A key just created: `key` is the secret, available only here.
struct CreatedApiKey {
  ApiKeyInfo info;
  std::string key;
};

class ApiKeyStore {
 public:
  virtual ~ApiKeyStore() = default;
  // A new random key for `tenant` (bad_request when the name is not valid_tenant_name).
  virtual Result<CreatedApiKey> create(const std::string& tenant, bool is_admin) = 0;
  // Every key, revoked ones included, oldest first.
  virtual Result<std::vector<ApiKeyInfo>> list() = 0;
  // Revokes the key with this id and returns it; revoking it again keeps the first time.
  // not_found for an unknown id.
  virtual Result<ApiKeyInfo> revoke(const std::string& id) = 0;
};

// The store on the project's database (migrated: table api_keys).
std::unique_ptr<ApiKeyStore> make_sql_api_key_store(db::Database& database, const Clock& clock);

// Tenant names: 1 to 64 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit;
// "anonymous" (auth.mode open) and "system" (internal jobs) are reserved. bad_request with
// a message saying what is allowed otherwise.
Status validate_tenant_name(std::string_view tenant);

// A new secret key: "fti_" then 32 random bytes (OpenSSL RAND_bytes) in lowercase base32,
// 56 characters in all.
std::string new_api_key();

}  // namespace fti::api
