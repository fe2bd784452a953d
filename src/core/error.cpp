#include "fti/core/error.hpp"

#include <algorithm>
#include <array>

namespace fti {

bool is_stable_error_code(std::string_view code) {
  static constexpr std::array kCodes = {
      errc::bad_request, errc::bad_config, errc::not_found, errc::conflict, errc::too_large,
      errc::unsupported_media_type, errc::unauthorized, errc::bad_archive, errc::unsafe_archive,
      errc::archive_limits, errc::timeout, errc::resource_limit, errc::cancelled, errc::io_error,
      errc::db_error, errc::db_busy, errc::storage_error, errc::network_error, errc::process_error,
      errc::internal, errc::unavailable, errc::method_not_allowed,
      errc::llm_unavailable, errc::llm_budget, errc::llm_disabled, errc::forbidden, errc::rate_limited,
      errc::overloaded, errc::diff_unavailable};
  return std::find(kCodes.begin(), kCodes.end(), code) != kCodes.end();
}

}  // namespace fti
