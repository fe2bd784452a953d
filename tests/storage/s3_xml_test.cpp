// The S3 XML reader on documents shaped as S3 sends them (ListObjectsV2 pages, error bodies,
// multipart answers), including the entity and edge cases a naive reader gets wrong.
#include <catch2/catch.hpp>

#include "../../src/storage/s3_xml.hpp"

using namespace fti::storage;

TEST_CASE("a ListObjectsV2 page: keys decoded, sizes, times, the continuation token", "[storage][s3]") {
  const std::string page = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name><Prefix>results/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>
  <IsTruncated>true</IsTruncated>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=&amp;x</NextContinuationToken>
  <Contents>
    <Key>results/a&amp;b &lt;1&gt; &#233;&#x20AC;.zip</Key>
    <LastModified>2009-10-12T17:50:30.000Z</LastModified>
    <ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag>
    <Size>434234</Size>
    <StorageClass>STANDARD</StorageClass>
  </Contents>
  <Contents><Key>results/2.zip</Key><LastModified>2009-10-12T17:50:31.250Z</LastModified><Size>0</Size></Contents>
</ListBucketResult>)";
  auto parsed = s3xml::parse_list_objects_v2(page);
  REQUIRE(parsed.ok());
  REQUIRE(parsed->objects.size() == 2);
  CHECK(parsed->objects[0].key == "results/a&b <1> \xC3\xA9\xE2\x82\xAC.zip");
  CHECK(parsed->objects[0].size == 434234);
  CHECK(parsed->objects[0].modified_ms == 1255369830000);
  CHECK(parsed->objects[1].key == "results/2.zip");
  CHECK(parsed->objects[1].modified_ms == 1255369831250);
  CHECK(parsed->truncated);
  CHECK(parsed->next_token == "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=&x");
}

TEST_CASE("the last page, an empty page, and a page that is not a listing", "[storage][s3]") {
  auto last = s3xml::parse_list_objects_v2(
      "<ListBucketResult><IsTruncated>false</IsTruncated><KeyCount>0</KeyCount><Prefix/></ListBucketResult>");
  REQUIRE(last.ok());
  CHECK(last->objects.empty());
  CHECK_FALSE(last->truncated);

  auto no_token = s3xml::parse_list_objects_v2("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>");
  REQUIRE_FALSE(no_token.ok());
  CHECK(no_token.error().code == "storage_error");

  auto html = s3xml::parse_list_objects_v2("<html><body>502 Bad Gateway</body></html>");
  REQUIRE_FALSE(html.ok());
  CHECK(html.error().code == "storage_error");
}

TEST_CASE("similar tag names are not confused: <Key> is not <KeyCount>", "[storage][s3]") {
  CHECK(s3xml::text("<KeyCount>3</KeyCount><Key>k</Key>", "Key") == "k");
  CHECK(s3xml::text("<KeyCount>3</KeyCount>", "Key") == std::nullopt);
  CHECK(s3xml::text("<Key attr=\"1\">v</Key>", "Key") == "v");
  CHECK(s3xml::text("<Key/>", "Key") == "");
  CHECK(s3xml::elements("<P>1</P><P>2</P><P/>", "P").size() == 3);
}

TEST_CASE("S3 error bodies give their code and message", "[storage][s3]") {
  auto e = s3xml::parse_error(R"(<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided. Check your key &amp; signing method.</Message><StringToSign>AWS4-HMAC-SHA256...</StringToSign><RequestId>4442587FB7D0A2F9</RequestId></Error>)");
  REQUIRE(e);
  CHECK(e->code == "SignatureDoesNotMatch");
  CHECK(e->message ==
        "The request signature we calculated does not match the signature you provided. Check your key & signing method.");
  CHECK_FALSE(s3xml::parse_error(""));  // HEAD answers have no body
  CHECK_FALSE(s3xml::parse_error("<CompleteMultipartUploadResult><ETag>x</ETag></CompleteMultipartUploadResult>"));
}

TEST_CASE("entities: numeric ones become UTF-8, unknown or broken ones stay as written", "[storage][s3]") {
  CHECK(s3xml::decode_text("a&#65;&#x42;&#x1F600;") == "aAB\xF0\x9F\x98\x80");
  CHECK(s3xml::decode_text("&nbsp; & &amp &#xD800; &#0;") == "&nbsp; & &amp &#xD800; &#0;");
  CHECK(s3xml::decode_text("<![CDATA[<raw & kept>]]>!") == "<raw & kept>!");
  CHECK(s3xml::escape("a<b>&\"'") == "a&lt;b&gt;&amp;&quot;&apos;");
}

TEST_CASE("multipart: the upload id, and the completion body in part order", "[storage][s3]") {
  auto id = s3xml::parse_upload_id(
      "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>VXBsb2FkIElE</UploadId>"
      "</InitiateMultipartUploadResult>");
  REQUIRE(id.ok());
  CHECK(*id == "VXBsb2FkIElE");
  CHECK_FALSE(s3xml::parse_upload_id("<InitiateMultipartUploadResult/>").ok());
  CHECK(s3xml::complete_multipart_body({"\"a\"", "\"b\""}) ==
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&quot;a&quot;</ETag></Part>"
        "<Part><PartNumber>2</PartNumber><ETag>&quot;b&quot;</ETag></Part></CompleteMultipartUpload>");
}

TEST_CASE("ISO 8601 times with and without a fraction", "[storage][s3]") {
  CHECK(s3xml::parse_iso8601("2009-10-12T17:50:30.000Z") == 1255369830000);
  CHECK(s3xml::parse_iso8601("2009-10-12T17:50:30Z") == 1255369830000);
  CHECK(s3xml::parse_iso8601("yesterday") == std::nullopt);
}
