#include <catch2/catch.hpp>

#include "fti/core/json.hpp"

using fti::json::Document;
using fti::json::Writer;

TEST_CASE("json quoting escapes what JSON requires and survives a round trip", "[core][json]") {
  struct Case {
    std::string input;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"plain", "\"plain\""},
      {"quote \" and backslash \\", "\"quote \\\" and backslash \\\\\""},
      {"line\nfeed\ttab\rcr", "\"line\\nfeed\\ttab\\rcr\""},
      {std::string("nul\0byte", 8), "\"nul\\u0000byte\""},
      {"\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\""},
      {"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\""},
      {"</script>", "\"</script>\""},
  };
  for (const auto& c : cases) {
    INFO(c.expected);
    auto quoted = fti::json::quote(c.input);
    CHECK(quoted == c.expected);
    auto doc = Document::parse(quoted);
    REQUIRE(doc.ok());
    CHECK(doc->root().as_string() == c.input);
  }
}

TEST_CASE("json quoting replaces invalid UTF-8 so the document stays valid", "[core][json]") {
  for (std::string bad : {"\xff", "a\xC3", "\xED\xA0\x80", "\xC0\xAF", "\xF5\x80\x80\x80"}) {
    auto quoted = fti::json::quote(bad);
    auto doc = Document::parse(quoted);
    REQUIRE(doc.ok());
    CHECK(doc->root().as_string()->find("\xEF\xBF\xBD") != std::string::npos);
  }
}

TEST_CASE("json writer places commas and nests containers", "[core][json]") {
  Writer w;
  w.begin_object();
  w.field("name", "x").field("n", 3).field("ok", true);
  w.key("list").begin_array().value(1).value("two").null().begin_object().end_object().end_array();
  w.key("opt").value(std::optional<int>{});
  w.field("pi", 3.5);
  w.end_object();
  CHECK(w.str() == R"({"name":"x","n":3,"ok":true,"list":[1,"two",null,{}],"opt":null,"pi":3.5})");
  auto doc = Document::parse(w.str());
  REQUIRE(doc.ok());
  auto root = doc->root();
  CHECK(root.get_string("name") == "x");
  CHECK(root.get_int("n") == 3);
  CHECK(root.get_bool("ok") == true);
  CHECK(root.get("list")->items().size() == 4);
  CHECK(root.get("opt")->is_null());
  CHECK(root.get_double("pi") == 3.5);
  CHECK_FALSE(root.get("missing").has_value());
}

TEST_CASE("json reader reports malformed input as an error", "[core][json]") {
  for (std::string bad : {"", "{", "{\"a\":}", "[1,2", "nul"}) {
    INFO(bad);
    auto doc = Document::parse(bad);
    REQUIRE_FALSE(doc.ok());
    CHECK(doc.error().code == "bad_request");
  }
}

TEST_CASE("json writer turns non-finite numbers into null", "[core][json]") {
  Writer w;
  w.begin_array().value(std::numeric_limits<double>::infinity()).value(std::nan("")).end_array();
  CHECK(w.str() == "[null,null]");
}
