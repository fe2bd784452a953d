#pragma once
// Error: a stable machine-readable code plus a message that tells a person what to do.
#include <string>
#include <string_view>

namespace fti {

// Stable error codes. Users, tests and the HTTP API rely on these strings: never rename one.
namespace errc {
inline constexpr std::string_view bad_request = "bad_request";
inline constexpr std::string_view bad_config = "bad_config";
inline constexpr std::string_view not_found = "not_found";
inline constexpr std::string_view conflict = "conflict";
inline constexpr std::string_view too_large = "too_large";
inline constexpr std::string_view unsupported_media_type = "unsupported_media_type";
inline constexpr std::string_view unauthorized = "unauthorized";
inline constexpr std::string_view bad_archive = "bad_archive";
inline constexpr std::string_view unsafe_archive = "unsafe_archive";
inline constexpr std::string_view archive_limits = "archive_limits";
inline constexpr std::string_view timeout = "timeout";
inline constexpr std::string_view resource_limit = "resource_limit";
inline constexpr std::string_view cancelled = "cancelled";
inline constexpr std::string_view io_error = "io_error";
inline constexpr std::string_view db_error = "db_error";
inline constexpr std::string_view db_busy = "db_busy";
inline constexpr std::string_view storage_error = "storage_error";
inline constexpr std::string_view network_error = "network_error";
inline constexpr std::string_view process_error = "process_error";
inline constexpr std::string_view internal = "internal";
inline constexpr std::string_view unavailable = "unavailable";
inline constexpr std::string_view method_not_allowed = "method_not_allowed";
// Language models: nothing could answer; the per-job cost cap; mode off or tier forbidden.
inline constexpr std::string_view llm_unavailable = "llm_unavailable";
inline constexpr std::string_view llm_budget = "llm_budget";
inline constexpr std::string_view llm_disabled = "llm_disabled";
inline constexpr std::string_view forbidden = "forbidden";        // authenticated, but not allowed (403)
inline constexpr std::string_view rate_limited = "rate_limited";  // over a token bucket (429, Retry-After)
inline constexpr std::string_view overloaded = "overloaded";      // shedding load (503, Retry-After)
inline constexpr std::string_view diff_unavailable = "diff_unavailable";  // a job from before diffs (404)
}  // namespace errc

// True for the codes above: the ones a user may see.
bool is_stable_error_code(std::string_view code);

struct Error {
  std::string code;     // one of errc::*
  std::string message;  // human readable; says what to do where possible

  Error() = default;
  Error(std::string_view c, std::string m) : code(c), message(std::move(m)) {}
};

}  // namespace fti
