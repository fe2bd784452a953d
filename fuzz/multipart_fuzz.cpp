// libFuzzer target for the streaming multipart reader. The first bytes choose how the body
// is cut into reads (the network decides that in real life) and how big the caller's buffer
// is; the rest is the body, parsed with a fixed boundary. The reader must end with bytes or
// an Error, never crash, loop or hold more than its bounded buffer.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "fti/api/multipart.hpp"

namespace {

// Hands out `body` in pieces whose sizes cycle through `cuts` (1 to 256 bytes each).
class ChoppedBody final : public fti::http::BodyStream {
 public:
  ChoppedBody(std::string_view body, std::vector<std::size_t> cuts) : body_(body), cuts_(std::move(cuts)) {}

  fti::Result<std::size_t> read(char* buffer, std::size_t capacity) override {
    std::size_t n = std::min({capacity, body_.size() - at_, cuts_[next_++ % cuts_.size()]});
    std::memcpy(buffer, body_.data() + at_, n);
    at_ += n;
    return n;
  }
  std::optional<std::int64_t> content_length() const override { return std::nullopt; }

 private:
  std::string_view body_;
  std::vector<std::size_t> cuts_;
  std::size_t at_ = 0;
  std::size_t next_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 5) return 0;
  std::vector<std::size_t> cuts;
  for (int i = 0; i < 4; ++i) cuts.push_back(1 + data[i]);
  const std::size_t capacity = 1 + data[4] % 64;
  std::string_view body(reinterpret_cast<const char*>(data + 5), size - 5);

  // The boundary parser sees the first line of the body as a Content-Type, too.
  (void)fti::api::multipart_boundary(body.substr(0, body.find('\n')));

  ChoppedBody stream(body, cuts);
  fti::api::MultipartFileReader reader(stream, "fuzzbound");
  std::vector<char> buffer(capacity);
  std::size_t total = 0;
  // Every read hands out at least one byte or ends: more reads than body bytes is a loop.
  for (std::size_t reads = 0; reads <= body.size() + 2; ++reads) {
    auto n = reader.read(buffer.data(), buffer.size());
    if (!n.ok() || *n == 0) return 0;
    total += *n;
    if (total > body.size()) std::abort();  // more out than in
  }
  std::abort();
}
