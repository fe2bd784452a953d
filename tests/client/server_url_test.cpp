#include <catch2/catch.hpp>

#include "fti/client/server_url.hpp"
#include "fti/client/submit.hpp"

using fti::client::parse_server_url;

TEST_CASE("--server gives the HTTP and the matching WebSocket URLs", "[client][url]") {
  struct Case {
    const char* given;
    const char* http;
    const char* websocket;
    const char* authority;
  };
  const Case cases[] = {
      {"http://localhost:8080", "http://localhost:8080/api/v1/jobs", "ws://localhost:8080/api/v1/jobs", "localhost:8080"},
      {"http://127.0.0.1:8080/", "http://127.0.0.1:8080/api/v1/jobs", "ws://127.0.0.1:8080/api/v1/jobs", "127.0.0.1:8080"},
      {"https://fti.example.com", "https://fti.example.com:443/api/v1/jobs", "wss://fti.example.com:443/api/v1/jobs",
       "fti.example.com:443"},
      {"http://example.com", "http://example.com:80/api/v1/jobs", "ws://example.com:80/api/v1/jobs", "example.com:80"},
      {"https://example.com/fti//", "https://example.com:443/fti/api/v1/jobs", "wss://example.com:443/fti/api/v1/jobs",
       "example.com:443"},
      {"http://[::1]:9000", "http://[::1]:9000/api/v1/jobs", "ws://[::1]:9000/api/v1/jobs", "[::1]:9000"},
  };
  for (const auto& c : cases) {
    INFO(c.given);
    auto url = parse_server_url(c.given);
    REQUIRE(url.ok());
    CHECK(url->http("/api/v1/jobs") == c.http);
    CHECK(url->websocket("/api/v1/jobs") == c.websocket);
    CHECK(url->authority() == c.authority);
  }
  auto prefixed = parse_server_url("https://example.com/fti");
  REQUIRE(prefixed.ok());
  CHECK(prefixed->target("/api/v1/jobs/1/events") == "/fti/api/v1/jobs/1/events");
  CHECK(prefixed->host == "example.com");
}

TEST_CASE("a --server that is not an http(s) URL is refused with what a good one looks like", "[client][url]") {
  struct Case {
    const char* given;
    const char* says;
  };
  const Case cases[] = {
      {"localhost:8080", "must start with http:// or https://"},
      {"ws://localhost:8080", "must start with http:// or https://"},
      {"http://", "no host"},
      {"http://:8080", "no host"},
      {"http://localhost:0", "port must be a number from 1 to 65535"},
      {"http://localhost:99999", "port must be a number from 1 to 65535"},
      {"http://localhost:80x", "port must be a number from 1 to 65535"},
      {"http://user:pw@localhost", "give a key with --api-key"},
      {"http://localhost/?a=b", "no query or fragment"},
      {"http://[::1", "closing ]"},
  };
  for (const auto& c : cases) {
    INFO(c.given);
    auto url = parse_server_url(c.given);
    REQUIRE_FALSE(url.ok());
    CHECK(url.error().code == "bad_request");
    CHECK(url.error().message.find(c.says) != std::string::npos);
    CHECK(url.error().message.find("http://localhost:8080") != std::string::npos);
  }
}

TEST_CASE("query values are percent-encoded", "[client][url]") {
  CHECK(fti::client::encode_query_value("my project.zip") == "my%20project.zip");
  CHECK(fti::client::encode_query_value("a&b=c/d") == "a%26b%3Dc%2Fd");
  CHECK(fti::client::encode_query_value("ok-_.~AZ09") == "ok-_.~AZ09");
  CHECK(fti::client::encode_query_value("\xc3\xa9") == "%C3%A9");
}

TEST_CASE("the default output is named after the input, as clean names it", "[client][url]") {
  using fti::client::default_output_path;
  CHECK(default_output_path("messy.zip") == "messy-clean.zip");
  CHECK(default_output_path("/tmp/x/messy.tar.gz") == "messy-clean.zip");
  CHECK(default_output_path("messy.tgz") == "messy-clean.zip");
  CHECK(default_output_path("messy.tar") == "messy-clean.zip");
  CHECK(default_output_path("some/project/") == "project-clean.zip");
  CHECK(default_output_path("some/project/.") == "project-clean.zip");
  CHECK(default_output_path(".zip") == ".zip-clean.zip");
}
