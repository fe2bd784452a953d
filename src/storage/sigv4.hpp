#pragma once
// AWS Signature Version 4, as S3 uses it: a request is reduced to a canonical text, hashed,
// and signed with a key derived from the secret, the date, the region and the service.
// Private to the storage room; the S3 store and the fake S3 server both use it.
//
// Paths are signed the way S3 wants them: URI-encoded once (every byte but A-Z a-z 0-9 - . _ ~
// and '/'), never normalised ("a/./b" stays) and never encoded twice.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fti/core/clock.hpp"

namespace fti::storage::sigv4 {

using Pairs = std::vector<std::pair<std::string, std::string>>;

inline constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
// SHA-256 of no bytes: the payload hash of every request without a body.
inline constexpr std::string_view kEmptyPayloadHash =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // temporary credentials only
};

// What is signed. Names and values exactly as they go on the wire, before encoding.
struct Request {
  std::string method;   // "GET"
  std::string path;     // "/bucket/key", not yet encoded
  Pairs query;          // not yet encoded; order does not matter
  Pairs headers;        // must include "host"; repeated names are joined with ','
  std::string payload_hash;  // hex SHA-256 of the body, or kUnsignedPayload
};

struct Scope {
  std::string region;           // "us-east-1"
  std::string service = "s3";
};

// RFC 3986 percent-encoding with upper-case hex; '/' kept unless encode_slash.
std::string uri_encode(std::string_view s, bool encode_slash);
// "key=value&..." sorted by encoded name, then encoded value.
std::string canonical_query(const Pairs& query);
// "20150830T123600Z" for a time in milliseconds since the epoch.
std::string amz_date(TimeMs t);

std::string canonical_request(const Request& request);
std::string signed_header_names(const Request& request);  // "host;x-amz-date"
// "20150830/us-east-1/service/aws4_request"
std::string credential_scope(std::string_view amz_date, const Scope& scope);
std::string string_to_sign(std::string_view amz_date, const Scope& scope, std::string_view canonical);
// The derived key: HMAC chain over "AWS4" + secret, date, region, service, "aws4_request".
std::string signing_key(std::string_view secret, std::string_view amz_date, const Scope& scope);
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

// The Authorization header value for a request whose headers already carry x-amz-date (and,
// for S3, x-amz-content-sha256 and any x-amz-security-token).
std::string authorization(const Request& request, const Credentials& credentials, const Scope& scope,
                          std::string_view amz_date);

// Query-string signing (presigned URLs): returns the request's query, encoded and sorted,
// with X-Amz-Algorithm, -Credential, -Date, -Expires, -SignedHeaders (and -Security-Token)
// added and X-Amz-Signature last. The payload is UNSIGNED-PAYLOAD; `request.headers` should
// hold only "host" so that any client can use the URL.
std::string presigned_query(const Request& request, const Credentials& credentials, const Scope& scope,
                            std::string_view amz_date, std::int64_t expires_seconds);

}  // namespace fti::storage::sigv4
