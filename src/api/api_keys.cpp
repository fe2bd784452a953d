// API keys on the database: the key is random, only its SHA-256 is kept.
#include "fti/api/api_keys.hpp"

#include <openssl/rand.h>

#include <array>
#include <stdexcept>

#include "fti/core/ids.hpp"
#include "fti/db/database.hpp"

namespace fti::api {

namespace {

constexpr std::size_t kMaxTenantLength = 64;
constexpr std::size_t kKeyBytes = 32;

bool tenant_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-';
}

bool alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// The name as a message may quote it: one line, bounded.
std::string shown(std::string_view tenant) {
  std::string out(tenant.substr(0, kMaxTenantLength));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return tenant.size() > kMaxTenantLength ? out + "..." : out;
}

ApiKeyInfo info_from(const db::Row& row) {
  ApiKeyInfo info;
  info.id = row.get_text(0);
  info.tenant = row.get_text(1);
  info.is_admin = row.get_int(2) != 0;
  info.created_at = row.get_int(3);
  info.revoked_at = row.opt_int(4);
  return info;
}

constexpr const char* kSelectColumns = "SELECT id, tenant, is_admin, created_at, revoked_at FROM api_keys";

class SqlApiKeyStore final : public ApiKeyStore {
 public:
  SqlApiKeyStore(db::Database& database, const Clock& clock) : database_(database), clock_(clock) {}

  Result<CreatedApiKey> create(const std::string& tenant, bool is_admin) override {
    FTI_TRY(validate_tenant_name(tenant));
    CreatedApiKey created;
    created.key = new_api_key();
    created.info.tenant = tenant;
    created.info.is_admin = is_admin;
    created.info.created_at = clock_.now_ms();
    created.info.id = new_job_id(created.info.created_at);
    FTI_TRY(database_.transact(db::TxMode::write, [&](db::Connection& conn) -> Status {
      FTI_TRY(conn.execute(
          "INSERT INTO api_keys (id, tenant, key_hash, is_admin, created_at, revoked_at) "
          "VALUES ($1, $2, $3, $4, $5, NULL)",
          {db::Value(created.info.id), db::Value(tenant), db::Value(sha256_hex(created.key)),
           db::Value(std::int64_t{is_admin ? 1 : 0}), db::Value(created.info.created_at)}));
      return ok_status();
    }));
    return created;
  }

  Result<std::vector<ApiKeyInfo>> list() override {
    FTI_ASSIGN_OR_RETURN(auto conn, database_.acquire());
    FTI_ASSIGN_OR_RETURN(db::Rows rows, conn->query(std::string(kSelectColumns) + " ORDER BY created_at, id"));
    std::vector<ApiKeyInfo> keys;
    keys.reserve(rows.size());
    for (const auto& row : rows) keys.push_back(info_from(row));
    return keys;
  }

  Result<ApiKeyInfo> revoke(const std::string& id) override {
    std::optional<ApiKeyInfo> found;
    FTI_TRY(database_.transact(db::TxMode::write, [&](db::Connection& conn) -> Status {
      found.reset();
      // Only a live key gets a time: revoking twice keeps the first one.
      FTI_TRY(conn.execute("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                           {db::Value(clock_.now_ms()), db::Value(id)}));
      FTI_ASSIGN_OR_RETURN(db::Rows rows, conn.query(std::string(kSelectColumns) + " WHERE id = $1", {db::Value(id)}));
      if (!rows.empty()) found = info_from(rows[0]);
      return ok_status();
    }));
    if (!found) {
      return Error(errc::not_found, "no API key has the id '" + id + "'; `finishthisidea keys list` shows them");
    }
    return *found;
  }

 private:
  db::Database& database_;
  const Clock& clock_;
};

}  // namespace

std::unique_ptr<ApiKeyStore> make_sql_api_key_store(db::Database& database, const Clock& clock) {
  return std::make_unique<SqlApiKeyStore>(database, clock);
}

Status validate_tenant_name(std::string_view tenant) {
  const std::string rule = "a tenant name is 1 to 64 characters of letters, digits, '.', '_' and '-', "
                           "starting with a letter or digit";
  bool valid = !tenant.empty() && tenant.size() <= kMaxTenantLength && alnum(tenant.front());
  for (char c : tenant) valid = valid && tenant_char(c);
  if (!valid) return Error(errc::bad_request, "bad tenant name '" + shown(tenant) + "': " + rule);
  if (tenant == "anonymous" || tenant == "system") {
    return Error(errc::bad_request, "the tenant name '" + std::string(tenant) +
                                        "' is reserved (anonymous: auth.mode open; system: internal jobs); pick another");
  }
  return ok_status();
}

std::string new_api_key() {
  constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";  // RFC 4648 base32, lowercase
  std::array<unsigned char, kKeyBytes> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) throw std::runtime_error("RAND_bytes failed");
  std::string key = "fti_";
  unsigned buffer = 0;
  int bits = 0;
  for (unsigned char b : bytes) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      key.push_back(kAlphabet[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) key.push_back(kAlphabet[(buffer << (5 - bits)) & 31]);
  return key;
}

}  // namespace fti::api
