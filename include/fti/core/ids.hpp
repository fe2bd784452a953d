#pragma once
// Identifiers: job ids and request ids. Job ids sort by creation time (a ULID-like layout).
#include <cstdint>
#include <string>
#include <string_view>

namespace fti {

// 26 characters of Crockford base32: 48 bits of milliseconds, then 80 random bits.
std::string new_job_id(std::int64_t now_ms);

// Short random id for requests and workers: 16 lowercase hex characters.
std::string new_request_id();

// Lowercase hex SHA-256 of the bytes.
std::string sha256_hex(std::string_view bytes);

// Incremental SHA-256, for hashing uploads as they stream.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(std::string_view bytes);
  std::string hex_digest();  // finalises; call once

 private:
  struct State;
  State* state_;
};

}  // namespace fti
