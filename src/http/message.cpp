// Request/Response helpers, problem+json bodies and URL decoding. No Beast here.
#include "fti/http/message.hpp"

#include <algorithm>
#include <cctype>

#include "fti/core/json.hpp"

namespace fti::http {

std::string Request::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

std::optional<std::string> Request::query_param(const std::string& name) const {
  auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return it->second;
}

Response& Response::set_header(std::string name, std::string value) {
  // Replace rather than duplicate, so a handler can override a default.
  for (auto& [n, v] : headers) {
    if (n.size() == name.size() && std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        })) {
      v = std::move(value);
      return *this;
    }
  }
  headers.emplace_back(std::move(name), std::move(value));
  return *this;
}

Response Response::json(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.set_header("Content-Type", "application/json");
  return r;
}

Response Response::text(int status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.set_header("Content-Type", std::move(content_type));
  return r;
}

Response Response::problem(int status, std::string_view code, std::string_view detail) {
  json::Writer w;
  w.begin_object();
  // A stable URL per code lets clients link to documentation; about:blank when there is none.
  w.field("type", code.empty() ? std::string("about:blank")
                               : "https://finishthisidea.dev/errors/" + std::string(code));
  w.field("title", reason_phrase(status));
  w.field("status", status);
  w.field("detail", detail);
  w.field("code", code);
  w.end_object();
  Response r;
  r.status = status;
  r.body = w.take();
  r.set_header("Content-Type", "application/problem+json");
  return r;
}

Response Response::defer() {
  Response r;
  r.status = kDeferredStatus;
  return r;
}

Response Response::from_error(const Error& error) {
  return problem(status_for_error_code(error.code), error.code, error.message);
}

int status_for_error_code(std::string_view code) {
  struct Entry {
    std::string_view code;
    int status;
  };
  static constexpr Entry kTable[] = {
      {errc::not_found, 404},
      {errc::diff_unavailable, 404},
      {errc::conflict, 409},
      {errc::too_large, 413},
      {errc::unsupported_media_type, 415},
      {errc::bad_request, 400},
      {errc::bad_archive, 400},
      {errc::unauthorized, 401},
      {errc::forbidden, 403},
      {errc::rate_limited, 429},
      {errc::unavailable, 503},
      {errc::overloaded, 503},
      {errc::db_busy, 503},
      {errc::timeout, 504},
  };
  for (const auto& e : kTable) {
    if (e.code == code) return e.status;
  }
  return 500;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 529: return "Site Overloaded";  // Anthropic's "overloaded"
    default: return "Unknown";
  }
}

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Shared by paths and query strings; only query strings turn '+' into a space.
std::string decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%' && i + 2 < s.size()) {
      int hi = hex_value(s[i + 1]);
      int lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    // A malformed escape is kept literally rather than rejected: lenient like most servers.
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

}  // namespace

std::string percent_decode(std::string_view s) { return decode(s, false); }

std::map<std::string, std::string> parse_query(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    std::size_t eq = pair.find('=');
    std::string key = decode(pair.substr(0, eq), true);
    std::string value = eq == std::string_view::npos ? std::string() : decode(pair.substr(eq + 1), true);
    // The first occurrence wins, so a repeated parameter cannot override an earlier one.
    out.emplace(std::move(key), std::move(value));
  }
  return out;
}

}  // namespace fti::http
