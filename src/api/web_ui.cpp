// The web page at GET / and its script and style sheet: three files from src/api/web/, embedded
// at build time (cmake/embed.cmake), so the binary serves them without reading the disk. They
// are public like /healthz: the page itself holds nothing; the API calls it makes are
// authenticated as any other client's.
#include <string>
#include <string_view>

#include "fti/core/ids.hpp"
#include "handlers.hpp"

namespace fti::api {

// The embedded files (generated sources, see CMakeLists.txt).
std::string_view web_index_html();
std::string_view web_app_js();
std::string_view web_app_css();

namespace {

// Only the page's own script and style run; nothing may frame it (clickjacking), and it talks
// to this origin only (the WebSocket included: 'self' covers ws: and wss: on it). The icon is
// an empty data: URL, so the browser asks for no /favicon.ico.
constexpr const char* kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

struct StaticFile {
  std::string_view body;
  const char* content_type;
  std::string etag;  // a strong validator: the content's hash, so a rebuilt page is fetched anew
};

StaticFile make_file(std::string_view body, const char* content_type) {
  return {body, content_type, "\"" + sha256_hex(body).substr(0, 32) + "\""};
}

const StaticFile& index_file() {
  static const StaticFile file = make_file(web_index_html(), "text/html; charset=utf-8");
  return file;
}
const StaticFile& script_file() {
  static const StaticFile file = make_file(web_app_js(), "text/javascript; charset=utf-8");
  return file;
}
const StaticFile& style_file() {
  static const StaticFile file = make_file(web_app_css(), "text/css; charset=utf-8");
  return file;
}

// If-None-Match as a list of validators ("*" matches anything).
bool matches_etag(const std::string& if_none_match, const std::string& etag) {
  if (if_none_match.empty()) return false;
  if (if_none_match.find('*') != std::string::npos) return true;
  return if_none_match.find(etag) != std::string::npos;
}

http::Response serve(const StaticFile& file, const http::Request& req) {
  http::Response res;
  if (matches_etag(req.header("if-none-match"), file.etag)) {
    res.status = 304;
  } else {
    res = http::Response::text(200, std::string(file.body), file.content_type);
  }
  res.set_header("ETag", file.etag);
  // The URLs carry no version, so the browser revalidates each time: a 304 costs a few bytes,
  // and an upgraded server's page is never mixed with the old script.
  res.set_header("Cache-Control", "no-cache");
  res.set_header("Content-Security-Policy", kContentSecurityPolicy);
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("X-Frame-Options", "DENY");  // frame-ancestors for browsers without CSP 2
  res.set_header("Cross-Origin-Opener-Policy", "same-origin");
  return res;
}

}  // namespace

http::Response handle_web_index(const ApiDeps&, http::Request& req) { return serve(index_file(), req); }
http::Response handle_web_script(const ApiDeps&, http::Request& req) { return serve(script_file(), req); }
http::Response handle_web_style(const ApiDeps&, http::Request& req) { return serve(style_file(), req); }

}  // namespace fti::api
