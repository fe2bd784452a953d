#pragma once
// Requests for the API tests: a body held in memory, handed out in pieces of at most
// 10,000 bytes as a socket would deliver them, and a request split as the server splits it.
#include <algorithm>
#include <map>
#include <optional>
#include <string>

#include "fti/http/message.hpp"

namespace fti::testing {

// A request as the server has it before routing: the target split into a percent-decoded
// path and a parsed query.
inline http::Request request_for(const std::string& method, const std::string& target,
                                 std::map<std::string, std::string> headers = {}) {
  http::Request req;
  req.method = method;
  req.target = target;
  const auto q = target.find('?');
  req.path = http::percent_decode(target.substr(0, q));
  if (q != std::string::npos) req.query = http::parse_query(target.substr(q + 1));
  req.headers = std::move(headers);
  return req;
}

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
