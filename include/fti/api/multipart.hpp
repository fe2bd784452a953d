#pragma once
// A streaming reader for multipart/form-data: finds one named part (the upload's `file`
// field) and hands out its bytes as they arrive, holding at most one chunk plus a
// boundary's length in memory whatever the body size.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fti/core/result.hpp"
#include "fti/http/message.hpp"

namespace fti::api {

// The boundary parameter of a multipart Content-Type; bad_request when missing or invalid.
Result<std::string> multipart_boundary(std::string_view content_type);

class MultipartFileReader final : public http::BodyStream {
 public:
  MultipartFileReader(http::BodyStream& body, std::string boundary, std::string field = "file");

  // The named part's bytes; 0 at its end (the rest of the body is then drained). Errors:
  // bad_request for a malformed body or one without the field; the body's own errors as is.
  Result<std::size_t> read(char* buffer, std::size_t capacity) override;
  std::optional<std::int64_t> content_length() const override { return std::nullopt; }

  // The part's filename parameter, once read() has reached the part; empty if none.
  const std::string& filename() const { return filename_; }

 private:
  enum class State { scan, after_delimiter, headers, drain, finished };

  Result<bool> fill();  // false at the end of the body
  Result<std::size_t> scan(char* buffer, std::size_t capacity, bool& progressed);
  Status after_delimiter(bool& progressed);
  Status headers(bool& progressed);
  Result<std::size_t> drain();

  http::BodyStream& body_;
  std::string delimiter_;  // "\r\n--" + boundary
  std::string field_;
  std::string buffer_;     // bytes read from the body, not yet consumed
  State state_ = State::scan;
  bool in_field_ = false;  // the part being scanned is the one we hand out
  bool found_field_ = false;
  std::string filename_;
};

}  // namespace fti::api
