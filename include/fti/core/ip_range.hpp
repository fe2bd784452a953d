#pragma once
// An IPv4 or IPv6 address range ("10.0.0.0/8", "::1", "192.168.1.7"), for the proxies whose
// X-Forwarded-For the service trusts (shedding.trusted_proxies).
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "fti/core/result.hpp"

namespace fti {

class IpRange {
 public:
  // An address alone is a range of one. bad_config names what is wrong.
  static Result<IpRange> parse(std::string_view text);
  bool contains(std::string_view address) const;  // false for anything that is not an address

 private:
  bool v6_ = false;
  std::array<std::uint8_t, 16> bytes_{};
  int prefix_bits_ = 0;
};

}  // namespace fti
