#pragma once
// A request body held in memory, handed out in pieces of at most 10,000 bytes as a socket
// would deliver them.
#include <algorithm>
#include <optional>
#include <string>

#include "fti/http/message.hpp"

namespace fti::testing {

class StringBody final : public http::BodyStream {
 public:
  explicit StringBody(std::string data) : data_(std::move(data)) {}
  Result<std::size_t> read(char* buffer, std::size_t capacity) override {
    std::size_t n = std::min({capacity, data_.size() - offset_, std::size_t{10000}});
    std::copy_n(data_.data() + offset_, n, buffer);
    offset_ += n;
    return n;
  }
  std::optional<std::int64_t> content_length() const override { return static_cast<std::int64_t>(data_.size()); }

 private:
  std::string data_;
  std::size_t offset_ = 0;
};

}  // namespace fti::testing
