#include "fti/core/ids.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <stdexcept>
#include <utility>

namespace fti {
namespace {

constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr char kHex[] = "0123456789abcdef";

void random_bytes(unsigned char* out, int n) {
  if (RAND_bytes(out, n) != 1) throw std::runtime_error("RAND_bytes failed");
}

std::string to_hex(const unsigned char* bytes, std::size_t n) {
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(kHex[bytes[i] >> 4]);
    out.push_back(kHex[bytes[i] & 0x0f]);
  }
  return out;
}

}  // namespace

std::string new_job_id(std::int64_t now_ms) {
  // 48-bit time then 80 random bits, 5 bits per character: 10 + 16 characters.
  std::string id(26, '0');
  auto t = static_cast<std::uint64_t>(now_ms);
  for (int i = 9; i >= 0; --i) {
    id[i] = kCrockford[t & 31];
    t >>= 5;
  }
  std::array<unsigned char, 10> r{};
  random_bytes(r.data(), static_cast<int>(r.size()));
  unsigned __int128 bits = 0;
  for (auto b : r) bits = (bits << 8) | b;
  for (int i = 25; i >= 10; --i) {
    id[i] = kCrockford[static_cast<unsigned>(bits & 31)];
    bits >>= 5;
  }
  return id;
}

std::string new_request_id() {
  std::array<unsigned char, 8> r{};
  random_bytes(r.data(), static_cast<int>(r.size()));
  return to_hex(r.data(), r.size());
}

struct Sha256::State {
  EVP_MD_CTX* ctx = nullptr;
};

namespace {

// Fetched once: OpenSSL 3 otherwise looks the algorithm up in its provider store, under a
// lock, on every initialisation (most of a short hash's cost under many threads).
const EVP_MD* sha256_md() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

// One context kept per thread for the next hash: a new one costs an allocation of the
// context and of the provider's state on every hash (about 1 us of a short hash's 2).
// Hashes nested in one thread take a fresh context.
struct SpareContext {
  EVP_MD_CTX* ctx = nullptr;
  ~SpareContext() { EVP_MD_CTX_free(ctx); }
};
thread_local SpareContext spare_context;

}  // namespace

Sha256::Sha256() : state_(new State) {
  state_->ctx = std::exchange(spare_context.ctx, nullptr);
  if (!state_->ctx) state_->ctx = EVP_MD_CTX_new();
  if (!state_->ctx || !sha256_md() || EVP_DigestInit_ex(state_->ctx, sha256_md(), nullptr) != 1) {
    EVP_MD_CTX_free(state_->ctx);
    delete state_;
    throw std::runtime_error("cannot initialise SHA-256");
  }
}

Sha256::~Sha256() {
  if (!spare_context.ctx) {
    spare_context.ctx = state_->ctx;
  } else {
    EVP_MD_CTX_free(state_->ctx);
  }
  delete state_;
}

void Sha256::update(std::string_view bytes) {
  EVP_DigestUpdate(state_->ctx, bytes.data(), bytes.size());
}

std::string Sha256::hex_digest() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(state_->ctx, md, &len);
  return to_hex(md, len);
}

std::string sha256_hex(std::string_view bytes) {
  Sha256 h;
  h.update(bytes);
  return h.hex_digest();
}

}  // namespace fti
