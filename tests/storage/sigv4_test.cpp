// SigV4 against published vectors: AWS's SigV4 test suite (service "service", 2015-08-30) and
// the worked examples of the S3 documentation (examplebucket, 2013-05-24). The expected
// signatures are AWS's, not ours: a wrong canonical form cannot pass them.
#include <catch2/catch.hpp>

#include "../../src/storage/sigv4.hpp"
#include "fti/core/ids.hpp"

using namespace fti::storage;

namespace {

// The test suite's credentials and scope.
const sigv4::Credentials kSuite{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
const sigv4::Scope kSuiteScope{"us-east-1", "service"};
constexpr const char* kSuiteDate = "20150830T123600Z";

// The S3 documentation's example credentials and scope.
const sigv4::Credentials kS3Docs{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
const sigv4::Scope kS3Scope{"us-east-1", "s3"};
constexpr const char* kS3Date = "20130524T000000Z";

sigv4::Request suite_request(std::string method, std::string path, sigv4::Pairs query = {},
                             sigv4::Pairs extra_headers = {}, std::string_view body = "") {
  sigv4::Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.query = std::move(query);
  r.headers = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", kSuiteDate}};
  for (auto& h : extra_headers) r.headers.push_back(std::move(h));
  r.payload_hash = fti::sha256_hex(body);
  return r;
}

std::string signature_of(const std::string& authorization) {
  auto at = authorization.find("Signature=");
  return at == std::string::npos ? std::string() : authorization.substr(at + 10);
}

std::string suite_signature(const sigv4::Request& r) {
  return signature_of(sigv4::authorization(r, kSuite, kSuiteScope, kSuiteDate));
}

sigv4::Request s3_request(std::string method, std::string path, sigv4::Pairs query, sigv4::Pairs headers,
                          std::string payload_hash) {
  sigv4::Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.query = std::move(query);
  r.headers = {{"host", "examplebucket.s3.amazonaws.com"}, {"x-amz-date", kS3Date},
               {"x-amz-content-sha256", payload_hash}};
  for (auto& h : headers) r.headers.push_back(std::move(h));
  r.payload_hash = std::move(payload_hash);
  return r;
}

}  // namespace

TEST_CASE("SigV4 test suite: get-vanilla, whole canonical request and header", "[storage][sigv4]") {
  auto r = suite_request("GET", "/");
  CHECK(sigv4::canonical_request(r) ==
        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sigv4::string_to_sign(kSuiteDate, kSuiteScope, sigv4::canonical_request(r)) ==
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
        "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
  CHECK(sigv4::authorization(r, kSuite, kSuiteScope, kSuiteDate) ==
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=host;x-amz-date, "
        "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST_CASE("SigV4 test suite: query strings are sorted by name, then value, and encoded", "[storage][sigv4]") {
  auto key_case = suite_request("GET", "/", {{"Param2", "value2"}, {"Param1", "value1"}});
  CHECK(sigv4::canonical_query(key_case.query) == "Param1=value1&Param2=value2");
  CHECK(suite_signature(key_case) == "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");

  auto value_order = suite_request("GET", "/", {{"Param1", "value2"}, {"Param1", "value1"}});
  CHECK(suite_signature(value_order) == "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694");

  std::string unreserved = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  auto kept = suite_request("GET", "/", {{unreserved, unreserved}});
  CHECK(suite_signature(kept) == "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197");

  auto utf8 = suite_request("GET", "/", {{"\xE1\x88\xB4", "bar"}});
  CHECK(sigv4::canonical_query(utf8.query) == "%E1%88%B4=bar");
  CHECK(suite_signature(utf8) == "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04");

  auto post_query = suite_request("POST", "/", {{"Param1", "value1"}});
  CHECK(suite_signature(post_query) == "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11");
}

TEST_CASE("SigV4 test suite: paths are encoded once, UTF-8 as upper-case hex", "[storage][sigv4]") {
  auto utf8 = suite_request("GET", "/\xE1\x88\xB4");
  CHECK(sigv4::canonical_request(utf8).rfind("GET\n/%E1%88%B4\n", 0) == 0);
  CHECK(suite_signature(utf8) == "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85");

  auto space = suite_request("GET", "/example space/");
  CHECK(suite_signature(space) == "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741");

  auto unreserved = suite_request("GET", "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
  CHECK(suite_signature(unreserved) == "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f");
}

TEST_CASE("SigV4 test suite: header names fold, values trim, repeats join in order", "[storage][sigv4]") {
  auto duplicate = suite_request("GET", "/", {},
                                 {{"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}});
  CHECK(sigv4::canonical_request(duplicate).find("\nmy-header1:value2,value2,value1\n") != std::string::npos);
  CHECK(suite_signature(duplicate) == "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea");

  auto trim = suite_request("GET", "/", {}, {{"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}});
  CHECK(sigv4::canonical_request(trim).find("\nmy-header2:\"a b c\"\n") != std::string::npos);
  CHECK(suite_signature(trim) == "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736");

  auto value_case = suite_request("POST", "/", {}, {{"My-Header1", "VALUE1"}});
  CHECK(suite_signature(value_case) == "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d");
}

TEST_CASE("SigV4 test suite: post-vanilla, a form body, a session token", "[storage][sigv4]") {
  CHECK(suite_signature(suite_request("POST", "/")) ==
        "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");

  auto form = suite_request("POST", "/", {}, {{"Content-Type", "application/x-www-form-urlencoded"}},
                            "Param1=value1");
  CHECK(form.payload_hash == "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
  CHECK(sigv4::signed_header_names(form) == "content-type;host;x-amz-date");
  CHECK(suite_signature(form) == "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");

  const std::string token =
      "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfI"
      "eoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0"
      "wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDr"
      "ypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";
  auto sts = suite_request("POST", "/", {}, {{"X-Amz-Security-Token", token}});
  CHECK(sigv4::signed_header_names(sts) == "host;x-amz-date;x-amz-security-token");
  CHECK(suite_signature(sts) == "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead");
}

TEST_CASE("S3 documentation: GET object with a Range header", "[storage][sigv4]") {
  auto r = s3_request("GET", "/test.txt", {}, {{"range", "bytes=0-9"}}, std::string(sigv4::kEmptyPayloadHash));
  CHECK(sigv4::signed_header_names(r) == "host;range;x-amz-content-sha256;x-amz-date");
  CHECK(signature_of(sigv4::authorization(r, kS3Docs, kS3Scope, kS3Date)) ==
        "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST_CASE("S3 documentation: PUT object encodes '$' in the key and signs the payload", "[storage][sigv4]") {
  std::string hash = fti::sha256_hex("Welcome to Amazon S3.");
  CHECK(hash == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  auto r = s3_request("PUT", "/test$file.text", {},
                      {{"date", "Fri, 24 May 2013 00:00:00 GMT"}, {"x-amz-storage-class", "REDUCED_REDUNDANCY"}}, hash);
  CHECK(sigv4::canonical_request(r).rfind("PUT\n/test%24file.text\n", 0) == 0);
  CHECK(signature_of(sigv4::authorization(r, kS3Docs, kS3Scope, kS3Date)) ==
        "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST_CASE("S3 documentation: list objects and a sub-resource without a value", "[storage][sigv4]") {
  auto list = s3_request("GET", "/", {{"prefix", "J"}, {"max-keys", "2"}}, {}, std::string(sigv4::kEmptyPayloadHash));
  CHECK(signature_of(sigv4::authorization(list, kS3Docs, kS3Scope, kS3Date)) ==
        "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
  auto lifecycle = s3_request("GET", "/", {{"lifecycle", ""}}, {}, std::string(sigv4::kEmptyPayloadHash));
  CHECK(sigv4::canonical_query(lifecycle.query) == "lifecycle=");
  CHECK(signature_of(sigv4::authorization(lifecycle, kS3Docs, kS3Scope, kS3Date)) ==
        "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST_CASE("S3 documentation: a presigned GET URL for a day", "[storage][sigv4]") {
  sigv4::Request r;
  r.method = "GET";
  r.path = "/test.txt";
  r.headers = {{"host", "examplebucket.s3.amazonaws.com"}};
  CHECK(sigv4::presigned_query(r, kS3Docs, kS3Scope, kS3Date, 86400) ==
        "X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
        "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
        "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
}

TEST_CASE("a presigned URL with a session token signs the token too", "[storage][sigv4]") {
  sigv4::Request r;
  r.method = "GET";
  r.path = "/test.txt";
  r.headers = {{"host", "examplebucket.s3.amazonaws.com"}};
  auto with_token = kS3Docs;
  with_token.session_token = "token/with+chars=";
  auto q = sigv4::presigned_query(r, with_token, kS3Scope, kS3Date, 60);
  CHECK(q.find("&X-Amz-Security-Token=token%2Fwith%2Bchars%3D&") != std::string::npos);
  CHECK(q.find("X-Amz-Signature=aeeed9bb") == std::string::npos);
}

TEST_CASE("dates come from the clock's milliseconds, in UTC", "[storage][sigv4]") {
  CHECK(sigv4::amz_date(1440938160000) == "20150830T123600Z");
  CHECK(sigv4::amz_date(1369353600999) == "20130524T000000Z");
}

TEST_CASE("URI encoding keeps unreserved bytes and, for paths, slashes", "[storage][sigv4]") {
  CHECK(sigv4::uri_encode("a b+c/d", false) == "a%20b%2Bc/d");
  CHECK(sigv4::uri_encode("a b+c/d", true) == "a%20b%2Bc%2Fd");
  CHECK(sigv4::uri_encode("A-z._~09", true) == "A-z._~09");
  CHECK(sigv4::uri_encode("=&?#%", true) == "%3D%26%3F%23%25");
}
