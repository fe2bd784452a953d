#pragma once
// A Beast WebSocket client for tests, with a deadline on every step. Included by the tests
// that talk WebSocket (the server's and the end-to-end ones), so Beast stays out of the rest.
#include <catch2/catch.hpp>

#include "fti/core/asio.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace fti::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;

// A WebSocket client whose every step has a deadline: each operation runs asynchronously on
// the client's own io_context for at most kDeadline.
class WsClient {
 public:
  explicit WsClient(std::uint16_t port, std::chrono::seconds deadline = std::chrono::seconds(10))
      : deadline_(deadline), ws_(ioc_) {
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
    REQUIRE_FALSE(ec);
  }

  // `subprotocols`: a Sec-WebSocket-Protocol list, as a browser sends it ("a, b").
  beast::error_code handshake(const std::string& target, const std::string& authorization = {},
                              const std::string& subprotocols = {}) {
    if (!authorization.empty() || !subprotocols.empty()) {
      ws_.set_option(websocket::stream_base::decorator([authorization, subprotocols](websocket::request_type& req) {
        if (!authorization.empty()) req.set(beast::http::field::authorization, authorization);
        if (!subprotocols.empty()) req.set(beast::http::field::sec_websocket_protocol, subprotocols);
      }));
    }
    return wait([&](beast::error_code& ec, bool& done) {
      ws_.async_handshake(response, "127.0.0.1", target, [&](beast::error_code e) {
        ec = e;
        done = true;
      });
    });
  }

  // The next message, or nullopt once the connection has ended (error() says how).
  std::optional<std::string> read() {
    beast::flat_buffer buffer;
    error_ = wait([&](beast::error_code& ec, bool& done) {
      ws_.async_read(buffer, [&](beast::error_code e, std::size_t) {
        ec = e;
        done = true;
      });
    });
    if (error_) return std::nullopt;
    return beast::buffers_to_string(buffer.data());
  }

  // Reads until the connection ends; returns every message received on the way.
  std::vector<std::string> read_all() {
    std::vector<std::string> out;
    while (auto m = read()) out.push_back(*m);
    return out;
  }

  beast::error_code close() {
    return wait([&](beast::error_code& ec, bool& done) {
      ws_.async_close(websocket::close_code::normal, [&](beast::error_code e) {
        ec = e;
        done = true;
      });
    });
  }

  beast::error_code error() const { return error_; }
  websocket::close_reason close_reason() const { return ws_.reason(); }

  websocket::response_type response;

 private:
  template <class Start>
  beast::error_code wait(Start start) {
    beast::error_code ec;
    bool done = false;
    start(ec, done);
    ioc_.restart();
    ioc_.run_for(deadline_);
    if (done) return ec;
    FAIL_CHECK("the WebSocket operation did not finish in time");
    beast::get_lowest_layer(ws_).close();
    ioc_.restart();
    ioc_.run();
    return asio::error::timed_out;
  }

  std::chrono::seconds deadline_;
  asio::io_context ioc_;
  websocket::stream<beast::tcp_stream> ws_;
  beast::error_code error_;
};

}  // namespace fti::testing
