#include <catch2/catch.hpp>

#include "fti/api/multipart.hpp"

using fti::Result;
using fti::api::multipart_boundary;
using fti::api::MultipartFileReader;

namespace {

// A body that arrives `chunk` bytes at a time, like a slow network.
class ChunkedBody final : public fti::http::BodyStream {
 public:
  ChunkedBody(std::string data, std::size_t chunk) : data_(std::move(data)), chunk_(chunk) {}
  Result<std::size_t> read(char* buffer, std::size_t capacity) override {
    std::size_t n = std::min({capacity, chunk_, data_.size() - offset_});
    std::copy_n(data_.data() + offset_, n, buffer);
    offset_ += n;
    return n;
  }
  std::optional<std::int64_t> content_length() const override { return static_cast<std::int64_t>(data_.size()); }
  bool fully_read() const { return offset_ == data_.size(); }

 private:
  std::string data_;
  std::size_t chunk_;
  std::size_t offset_ = 0;
};

struct Extracted {
  std::string bytes;
  std::string filename;
  std::string error;
  std::size_t largest_read = 0;
};

Extracted extract(const std::string& body, const std::string& boundary, std::size_t chunk, std::size_t capacity) {
  ChunkedBody source(body, chunk);
  MultipartFileReader reader(source, boundary);
  Extracted out;
  std::string buffer(capacity, '\0');
  while (true) {
    auto n = reader.read(buffer.data(), buffer.size());
    if (!n.ok()) {
      out.error = n.error().code + ": " + n.error().message;
      return out;
    }
    if (*n == 0) break;
    out.largest_read = std::max(out.largest_read, *n);
    out.bytes.append(buffer.data(), *n);
  }
  out.filename = reader.filename();
  CHECK(source.fully_read());  // the rest of the body was drained
  return out;
}

const std::string kBoundary = "----fti-Boundary7MA4YWxk";

// File content full of near-misses: CRLFs, dashes and most of the delimiter.
std::string tricky_content() {
  std::string s = "PK\x03\x04 binary\r\n\r\n--\r\n-- not it\r\n--" + kBoundary.substr(0, 10) + "x\r\n";
  s += std::string("\0\xff\r", 3);
  for (int i = 0; i < 300; ++i) s += static_cast<char>(i % 256);
  s += "\r\n--" + kBoundary.substr(0, kBoundary.size() - 1);  // one char short of a delimiter
  return s;
}

std::string form(const std::string& content) {
  return "preamble to ignore\r\n"
         "--" + kBoundary + "\r\n"
         "Content-Disposition: form-data; name=\"note\"\r\n\r\n"
         "not the file\r\n"
         "--" + kBoundary + "\r\n"
         "Content-Disposition: form-data; name=\"file\"; filename=\"my \\\"code\\\".zip\"\r\n"
         "Content-Type: application/zip\r\n\r\n" +
         content + "\r\n"
         "--" + kBoundary + "\r\n"
         "Content-Disposition: form-data; name=\"after\"\r\n\r\n"
         "later field\r\n"
         "--" + kBoundary + "--\r\n"
         "epilogue";
}

}  // namespace

TEST_CASE("the file part comes out whole whatever the chunk boundaries", "[api][multipart]") {
  std::string content = tricky_content();
  std::string body = form(content);
  for (std::size_t chunk : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{7}, std::size_t{13},
                            std::size_t{kBoundary.size() + 3}, std::size_t{64}, std::size_t{1000}, body.size()}) {
    for (std::size_t capacity : {std::size_t{1}, std::size_t{5}, std::size_t{4096}}) {
      INFO("chunk " << chunk << ", capacity " << capacity);
      auto out = extract(body, kBoundary, chunk, capacity);
      CHECK(out.error.empty());
      CHECK(out.bytes == content);
      CHECK(out.filename == "my \"code\".zip");
      CHECK(out.largest_read <= capacity);
    }
  }
}

TEST_CASE("every split point of the delimiter is handled", "[api][multipart]") {
  std::string content(200, 'A');
  std::string body = "--" + kBoundary + "\r\nContent-Disposition: form-data; name=file\r\n\r\n" + content +
                     "\r\n--" + kBoundary + "--\r\n";
  // Chunk sizes that put a chunk edge at each offset inside the closing delimiter.
  for (std::size_t chunk = 150; chunk < 280; ++chunk) {
    INFO("chunk " << chunk);
    auto out = extract(body, kBoundary, chunk, 4096);
    CHECK(out.error.empty());
    CHECK(out.bytes == content);
    CHECK(out.filename.empty());
  }
}

TEST_CASE("an empty file part and a part with no headers", "[api][multipart]") {
  std::string body = "--b\r\n\r\nheaderless\r\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"e.zip\"\r\n\r\n\r\n--b--";
  auto out = extract(body, "b", 3, 16);
  CHECK(out.error.empty());
  CHECK(out.bytes.empty());
  CHECK(out.filename == "e.zip");
}

TEST_CASE("malformed forms are refused with bad_request", "[api][multipart]") {
  SECTION("no file field") {
    std::string body = "--b\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n--b--\r\n";
    auto out = extract(body, "b", 5, 64);
    CHECK(out.error.rfind("bad_request", 0) == 0);
    CHECK(out.error.find("'file'") != std::string::npos);
  }
  SECTION("the body ends inside the file") {
    std::string body = "--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\ntruncated";
    auto out = extract(body, "b", 4, 64);
    CHECK(out.error.rfind("bad_request", 0) == 0);
  }
  SECTION("no boundary at all") {
    auto out = extract("just text", "b", 4, 64);
    CHECK(out.error.rfind("bad_request", 0) == 0);
  }
}

TEST_CASE("the boundary comes from the Content-Type", "[api][multipart]") {
  CHECK(*multipart_boundary("multipart/form-data; boundary=abc") == "abc");
  CHECK(*multipart_boundary("Multipart/Form-Data;charset=utf-8; BOUNDARY=\"a b;c\"") == "a b;c");
  CHECK_FALSE(multipart_boundary("multipart/form-data").ok());
  CHECK_FALSE(multipart_boundary("multipart/form-data; boundary=").ok());
  CHECK_FALSE(multipart_boundary("application/zip; boundary=x").ok());
  CHECK_FALSE(multipart_boundary("multipart/form-data; boundary=" + std::string(71, 'x')).ok());
  CHECK(multipart_boundary("text/plain").error().code == "bad_request");
}
