#include "sigv4.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <fmt/format.h>
#include <map>
#include <stdexcept>

#include "fti/core/ids.hpp"

namespace fti::storage::sigv4 {
namespace {

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

std::string to_hex(const unsigned char* bytes, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(n * 2, '\0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 15];
  }
  return out;
}

// Raw 32-byte HMAC-SHA256.
std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
            reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len)) {
    throw std::runtime_error("HMAC-SHA256 failed");  // only when OpenSSL itself is broken
  }
  return std::string(reinterpret_cast<const char*>(md), len);
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Leading and trailing blanks dropped, inner runs of spaces made one (as AWS canonicalises).
std::string trim_value(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\t') c = ' ';
    if (c == ' ' && !out.empty() && out.back() == ' ') continue;
    out.push_back(c);
  }
  return out;
}

// Lower-cased names in order, each with its values joined by ',' in the order given.
std::map<std::string, std::string> canonical_headers(const Pairs& headers) {
  std::map<std::string, std::string> out;
  for (const auto& [name, value] : headers) {
    auto [it, inserted] = out.try_emplace(to_lower(name), trim_value(value));
    if (!inserted) it->second += "," + trim_value(value);
  }
  return out;
}

std::string date_part(std::string_view amz_date) { return std::string(amz_date.substr(0, 8)); }

std::string signature(const Request& request, const Credentials& credentials, const Scope& scope,
                      std::string_view amz_date) {
  auto sts = string_to_sign(amz_date, scope, canonical_request(request));
  return hmac_sha256_hex(signing_key(credentials.secret_access_key, amz_date, scope), sts);
}

}  // namespace

std::string uri_encode(std::string_view s, bool encode_slash) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (is_unreserved(c) || (c == '/' && !encode_slash)) {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::string canonical_query(const Pairs& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (const auto& [name, value] : query) encoded.emplace_back(uri_encode(name, true), uri_encode(value, true));
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) {
    if (!out.empty()) out += '&';
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

std::string amz_date(TimeMs t) {
  std::time_t secs = static_cast<std::time_t>(t / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string signed_header_names(const Request& request) {
  std::string out;
  for (const auto& [name, value] : canonical_headers(request.headers)) {
    if (!out.empty()) out += ';';
    out += name;
  }
  return out;
}

std::string canonical_request(const Request& request) {
  std::string out = request.method + '\n';
  out += request.path.empty() ? std::string("/") : uri_encode(request.path, false);
  out += '\n';
  out += canonical_query(request.query);
  out += '\n';
  for (const auto& [name, value] : canonical_headers(request.headers)) {
    out += name;
    out += ':';
    out += value;
    out += '\n';
  }
  out += '\n';
  out += signed_header_names(request);
  out += '\n';
  out += request.payload_hash;
  return out;
}

std::string credential_scope(std::string_view amz_date, const Scope& scope) {
  return fmt::format("{}/{}/{}/aws4_request", date_part(amz_date), scope.region, scope.service);
}

std::string string_to_sign(std::string_view amz_date, const Scope& scope, std::string_view canonical) {
  return fmt::format("{}\n{}\n{}\n{}", kAlgorithm, amz_date, credential_scope(amz_date, scope),
                     sha256_hex(canonical));
}

std::string signing_key(std::string_view secret, std::string_view amz_date, const Scope& scope) {
  std::string key = hmac_sha256("AWS4" + std::string(secret), date_part(amz_date));
  key = hmac_sha256(key, scope.region);
  key = hmac_sha256(key, scope.service);
  return hmac_sha256(key, "aws4_request");
}

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
  auto mac = hmac_sha256(key, data);
  return to_hex(reinterpret_cast<const unsigned char*>(mac.data()), mac.size());
}

std::string authorization(const Request& request, const Credentials& credentials, const Scope& scope,
                          std::string_view amz_date) {
  return fmt::format("{} Credential={}/{}, SignedHeaders={}, Signature={}", kAlgorithm,
                     credentials.access_key_id, credential_scope(amz_date, scope),
                     signed_header_names(request), signature(request, credentials, scope, amz_date));
}

std::string presigned_query(const Request& request, const Credentials& credentials, const Scope& scope,
                            std::string_view amz_date, std::int64_t expires_seconds) {
  Request signed_request = request;
  signed_request.payload_hash = std::string(kUnsignedPayload);
  auto& q = signed_request.query;
  q.emplace_back("X-Amz-Algorithm", std::string(kAlgorithm));
  q.emplace_back("X-Amz-Credential", credentials.access_key_id + "/" + credential_scope(amz_date, scope));
  q.emplace_back("X-Amz-Date", std::string(amz_date));
  q.emplace_back("X-Amz-Expires", std::to_string(expires_seconds));
  q.emplace_back("X-Amz-SignedHeaders", signed_header_names(signed_request));
  if (!credentials.session_token.empty()) q.emplace_back("X-Amz-Security-Token", credentials.session_token);
  return canonical_query(q) + "&X-Amz-Signature=" + signature(signed_request, credentials, scope, amz_date);
}

}  // namespace fti::storage::sigv4
