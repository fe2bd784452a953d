// Streaming multipart/form-data reader (RFC 7578 / RFC 2046 section 5.1.1).
#include "fti/api/multipart.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <vector>

namespace fti::api {

namespace {

constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kMaxPartHeaderBytes = 16 * 1024;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// `; name=value; other="quoted"` parameters after a header's main value.
std::optional<std::string> header_param(std::string_view header_value, std::string_view name) {
  std::size_t pos = header_value.find(';');
  while (pos != std::string_view::npos) {
    std::string_view rest = header_value.substr(pos + 1);
    std::size_t eq = rest.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    std::string_view key = trim(rest.substr(0, eq));
    std::string_view after = trim(rest.substr(eq + 1));
    std::string value;
    std::size_t consumed = 0;
    if (!after.empty() && after.front() == '"') {
      // Quoted string: backslash escapes the next character.
      std::size_t i = 1;
      for (; i < after.size() && after[i] != '"'; ++i) {
        if (after[i] == '\\' && i + 1 < after.size()) ++i;
        value.push_back(after[i]);
      }
      consumed = i + 1;
    } else {
      std::size_t end = after.find(';');
      value = std::string(trim(after.substr(0, end)));
      consumed = end == std::string_view::npos ? after.size() : end;
    }
    if (iequals(key, name)) return value;
    std::size_t offset = static_cast<std::size_t>(after.data() - header_value.data()) + consumed;
    pos = offset < header_value.size() ? header_value.find(';', offset) : std::string_view::npos;
  }
  return std::nullopt;
}

}  // namespace

Result<std::string> multipart_boundary(std::string_view content_type) {
  std::size_t semi = content_type.find(';');
  if (!iequals(trim(content_type.substr(0, semi)), "multipart/form-data")) {
    return Error(errc::bad_request, "expected a multipart/form-data body");
  }
  auto boundary = header_param(content_type, "boundary");
  // RFC 2046: 1 to 70 characters.
  if (!boundary || boundary->empty() || boundary->size() > 70) {
    return Error(errc::bad_request, "multipart/form-data needs a boundary parameter of 1 to 70 characters");
  }
  return *boundary;
}

MultipartFileReader::MultipartFileReader(http::BodyStream& body, std::string boundary, std::string field)
    : body_(body), delimiter_("\r\n--" + boundary), field_(std::move(field)) {
  // A virtual CRLF in front lets the first boundary (which has none) match the same delimiter.
  buffer_ = "\r\n";
}

Result<bool> MultipartFileReader::fill() {
  std::size_t old_size = buffer_.size();
  buffer_.resize(old_size + kReadChunk);
  auto n = body_.read(buffer_.data() + old_size, kReadChunk);
  if (!n.ok()) {
    buffer_.resize(old_size);
    return n.error();
  }
  buffer_.resize(old_size + *n);
  return *n > 0;
}

Result<std::size_t> MultipartFileReader::read(char* buffer, std::size_t capacity) {
  while (true) {
    bool progressed = false;
    switch (state_) {
      case State::finished:
        return std::size_t{0};
      case State::drain:
        return drain();
      case State::scan: {
        FTI_ASSIGN_OR_RETURN(std::size_t n, scan(buffer, capacity, progressed));
        if (n > 0) return n;
        break;
      }
      case State::after_delimiter:
        FTI_TRY(after_delimiter(progressed));
        break;
      case State::headers:
        FTI_TRY(headers(progressed));
        break;
    }
    if (progressed) continue;
    FTI_ASSIGN_OR_RETURN(bool more, fill());
    if (!more) return Error(errc::bad_request, "the multipart body ended before its closing boundary");
  }
}

// Hands out (or skips) part bytes up to the next delimiter. Bytes that might be the start of
// a delimiter split across chunks stay buffered until the next fill decides.
Result<std::size_t> MultipartFileReader::scan(char* buffer, std::size_t capacity, bool& progressed) {
  std::size_t found = buffer_.find(delimiter_);
  std::size_t available = found != std::string::npos
                              ? found
                              : (buffer_.size() >= delimiter_.size() ? buffer_.size() - (delimiter_.size() - 1) : 0);
  if (available > 0) {
    std::size_t n = in_field_ ? std::min(available, capacity) : available;
    if (in_field_) std::memcpy(buffer, buffer_.data(), n);
    buffer_.erase(0, n);
    progressed = true;
    return in_field_ ? n : std::size_t{0};
  }
  if (found == std::string::npos) return std::size_t{0};
  buffer_.erase(0, delimiter_.size());
  progressed = true;
  if (in_field_) {
    state_ = State::drain;
    in_field_ = false;
  } else {
    state_ = State::after_delimiter;
  }
  return std::size_t{0};
}

// After a delimiter: "--" closes the body; otherwise optional padding, CRLF, part headers.
Status MultipartFileReader::after_delimiter(bool& progressed) {
  if (buffer_.size() < 2) return ok_status();
  if (buffer_.compare(0, 2, "--") == 0) {
    if (!found_field_) {
      return Error(errc::bad_request, "the multipart body has no '" + field_ + "' field; send the archive as " +
                                          "the form field '" + field_ + "'");
    }
    state_ = State::drain;
    progressed = true;
    return ok_status();
  }
  std::size_t crlf = buffer_.find("\r\n");
  if (crlf == std::string::npos) {
    if (buffer_.size() > 1024) return Error(errc::bad_request, "malformed multipart boundary line");
    return ok_status();
  }
  if (!trim(std::string_view(buffer_).substr(0, crlf)).empty()) {
    return Error(errc::bad_request, "malformed multipart boundary line");
  }
  buffer_.erase(0, crlf + 2);
  state_ = State::headers;
  progressed = true;
  return ok_status();
}

Status MultipartFileReader::headers(bool& progressed) {
  std::size_t end = buffer_.compare(0, 2, "\r\n") == 0 ? 0 : buffer_.find("\r\n\r\n");
  if (end == std::string::npos) {
    if (buffer_.size() > kMaxPartHeaderBytes) return Error(errc::bad_request, "multipart part headers are too large");
    return ok_status();
  }
  std::string_view block = std::string_view(buffer_).substr(0, end);
  std::optional<std::string> name;
  std::string filename;
  while (!block.empty()) {
    std::size_t eol = block.find("\r\n");
    std::string_view line = block.substr(0, eol);
    block = eol == std::string_view::npos ? std::string_view() : block.substr(eol + 2);
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || !iequals(trim(line.substr(0, colon)), "content-disposition")) continue;
    std::string_view value = line.substr(colon + 1);
    name = header_param(value, "name");
    filename = header_param(value, "filename").value_or("");
  }
  buffer_.erase(0, end == 0 ? 2 : end + 4);
  in_field_ = !found_field_ && name && *name == field_;
  if (in_field_) {
    found_field_ = true;
    filename_ = std::move(filename);
  }
  state_ = State::scan;
  progressed = true;
  return ok_status();
}

// The rest of the body (closing boundary, epilogue, later fields) is read and dropped, so
// the connection ends the request cleanly and can be reused.
Result<std::size_t> MultipartFileReader::drain() {
  buffer_.clear();
  std::vector<char> scratch(kReadChunk);
  while (true) {
    FTI_ASSIGN_OR_RETURN(std::size_t n, body_.read(scratch.data(), scratch.size()));
    if (n == 0) break;
  }
  state_ = State::finished;
  return std::size_t{0};
}

}  // namespace fti::api
