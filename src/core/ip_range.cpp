#include "fti/core/ip_range.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <fmt/format.h>

namespace fti {

namespace {

// The address's bytes (4 or 16) and whether it is IPv6; false when it is not an address.
bool parse_address(std::string_view text, std::array<std::uint8_t, 16>& bytes, bool& v6) {
  const std::string s(text);
  if (inet_pton(AF_INET, s.c_str(), bytes.data()) == 1) {
    v6 = false;
    return true;
  }
  if (inet_pton(AF_INET6, s.c_str(), bytes.data()) == 1) {
    v6 = true;
    return true;
  }
  return false;
}

}  // namespace

Result<IpRange> IpRange::parse(std::string_view text) {
  IpRange r;
  const auto slash = text.find('/');
  if (!parse_address(text.substr(0, slash), r.bytes_, r.v6_)) {
    return Error(errc::bad_config, fmt::format("\"{}\" is not an IP address or a range such as 10.0.0.0/8", text));
  }
  const int max_bits = r.v6_ ? 128 : 32;
  r.prefix_bits_ = max_bits;
  if (slash != std::string_view::npos) {
    const auto bits = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), r.prefix_bits_);
    if (ec != std::errc() || end != bits.data() + bits.size() || r.prefix_bits_ < 0 || r.prefix_bits_ > max_bits) {
      return Error(errc::bad_config, fmt::format("\"{}\": the prefix length must be 0 to {}", text, max_bits));
    }
  }
  return r;
}

bool IpRange::contains(std::string_view address) const {
  std::array<std::uint8_t, 16> bytes{};
  bool v6 = false;
  if (!parse_address(address, bytes, v6) || v6 != v6_) return false;
  int bits = prefix_bits_;
  for (std::size_t i = 0; bits > 0; ++i, bits -= 8) {
    const auto mask = static_cast<std::uint8_t>(bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff);
    if ((bytes[i] & mask) != (bytes_[i] & mask)) return false;
  }
  return true;
}

}  // namespace fti
