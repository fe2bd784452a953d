// The command line's WebSocket client: every Beast and Asio SSL template of the client room is
// instantiated here, once (they cost much compile time per translation unit).
#include "fti/client/websocket_client.hpp"

#include "fti/core/asio.hpp"

#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <fmt/format.h>

namespace fti::client {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using Deadline = WebSocketClient::Deadline;

template <bool kTls>
using StreamOf = std::conditional_t<kTls, websocket::stream<beast::ssl_stream<beast::tcp_stream>>,
                                    websocket::stream<beast::tcp_stream>>;

template <bool kTls>
class BeastWebSocket final : public WebSocketClient {
 public:
  using Stream = StreamOf<kTls>;

  BeastWebSocket() : ws_(make_stream(ioc_, tls_)) {}
  ~BeastWebSocket() override { close_socket(); }

  Status open(const ServerUrl& server, const std::string& path, const WebSocketOptions& options) {
    should_stop_ = options.should_stop;
    const Deadline deadline = std::chrono::steady_clock::now() + options.connect_timeout;
    const std::string where = server.websocket(path);
    tcp::resolver resolver(ioc_);
    tcp::resolver::results_type endpoints;
    FTI_TRY(step(
        where, "resolving the host", deadline,
        [&](auto done) {
          resolver.async_resolve(server.host, std::to_string(server.port),
                                 [&, done](beast::error_code ec, tcp::resolver::results_type r) {
                                   endpoints = std::move(r);
                                   done(ec);
                                 });
        },
        [&] { resolver.cancel(); }));
    auto& tcp_layer = beast::get_lowest_layer(ws_);
    tcp_layer.expires_after(options.connect_timeout);
    FTI_TRY(step(where, "connecting", deadline, [&](auto done) {
      tcp_layer.async_connect(endpoints, [done](beast::error_code ec, const tcp::endpoint&) { done(ec); });
    }));
    if constexpr (kTls) FTI_TRY(tls_handshake(server, options.ca_file, where, deadline));
    // From here the WebSocket's own timeouts apply (the TCP layer's would cut an idle stream).
    tcp_layer.expires_never();
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = options.connect_timeout;
    timeouts.idle_timeout = options.idle_timeout;
    timeouts.keep_alive_pings = true;
    ws_.set_option(timeouts);
    ws_.set_option(websocket::stream_base::decorator([headers = options.headers](websocket::request_type& req) {
      req.set(beast::http::field::user_agent, "finishthisidea-submit");
      for (const auto& [name, value] : headers) req.set(name, value);
    }));
    websocket::response_type response;
    beast::error_code upgrade_error;
    Status upgraded = step(where, "opening the WebSocket", deadline, [&](auto done) {
      ws_.async_handshake(response, server.authority(), server.target(path), [&upgrade_error, done](beast::error_code ec) {
        upgrade_error = ec;
        done(ec);
      });
    });
    if (upgrade_error == websocket::error::upgrade_declined) {
      return Error(errc::network_error, fmt::format("{}: the server answered the WebSocket upgrade with HTTP {}",
                                                    where, response.result_int()));
    }
    return upgraded;
  }

  Result<std::optional<std::string>> read(Deadline deadline) override {
    beast::flat_buffer buffer;
    beast::error_code error;
    bool done = false;
    ws_.async_read(buffer, [&](beast::error_code ec, std::size_t) {
      error = ec;
      done = true;
    });
    if (!run_until(done, deadline, [this] { close_socket(); })) {
      if (stopped_) return Error(errc::cancelled, "stopped while waiting for job events");
      return Error(errc::timeout, "no job event before the deadline");
    }
    if (error == websocket::error::closed) return std::optional<std::string>();
    if (error) return Error(errc::network_error, "the job's event stream dropped: " + error.message());
    return std::optional<std::string>(beast::buffers_to_string(buffer.data()));
  }

 private:
  static Stream make_stream(asio::io_context& ioc, ssl::context& tls) {
    if constexpr (kTls) {
      return Stream(ioc, tls);
    } else {
      (void)tls;
      return Stream(ioc);
    }
  }

  Status tls_handshake(const ServerUrl& server, const std::string& ca_file, const std::string& where,
                       Deadline deadline) {
    beast::error_code loaded;
    if (ca_file.empty()) {
      tls_.set_default_verify_paths(loaded);
    } else {
      tls_.load_verify_file(ca_file, loaded);
    }
    if (loaded) return Error(errc::io_error, fmt::format("cannot load the trusted certificates: {}", loaded.message()));
    auto& tls_stream = ws_.next_layer();
    tls_stream.set_verify_mode(ssl::verify_peer);
    tls_stream.set_verify_callback(ssl::host_name_verification(server.host));
    // SNI: servers with several names pick the certificate by it.
    if (!SSL_set_tlsext_host_name(tls_stream.native_handle(), server.host.c_str())) {
      return Error(errc::network_error, fmt::format("{}: cannot set the TLS server name", where));
    }
    return step(where, "the TLS handshake", deadline,
                [&](auto done) { tls_stream.async_handshake(ssl::stream_base::client, done); });
  }

  // Starts one asynchronous operation (`start` gets its completion handler) and runs the I/O
  // until it ends or the deadline passes; `cancel` then ends it early.
  template <class Start, class Cancel>
  Status step(const std::string& where, const char* what, Deadline deadline, Start start, Cancel cancel) {
    beast::error_code error;
    bool done = false;
    start([&error, &done](beast::error_code ec) {
      error = ec;
      done = true;
    });
    if (!run_until(done, deadline, cancel)) {
      if (stopped_) return Error(errc::cancelled, fmt::format("{}: stopped while {}", where, what));
      return Error(errc::timeout, fmt::format("{}: {} did not finish in time", where, what));
    }
    if (error) return Error(errc::network_error, fmt::format("{}: {} failed: {}", where, what, error.message()));
    return {};
  }

  template <class Start>
  Status step(const std::string& where, const char* what, Deadline deadline, Start start) {
    return step(where, what, deadline, start, [this] { close_socket(); });
  }

  // Runs the I/O until `done` or `deadline` (or should_stop). Then `cancel` ends the pending
  // operation, which still completes (with an error) before this returns, so no handler
  // outlives the locals it refers to.
  template <class Cancel>
  bool run_until(const bool& done, Deadline deadline, Cancel cancel) {
    constexpr auto kStopCheck = std::chrono::milliseconds(100);
    ioc_.restart();
    while (!done) {
      auto now = std::chrono::steady_clock::now();
      stopped_ = should_stop_ && should_stop_();
      if (now >= deadline || stopped_) {
        cancel();
        ioc_.restart();
        ioc_.run();
        return false;
      }
      auto slice = should_stop_ ? std::min<std::chrono::steady_clock::duration>(deadline - now, kStopCheck)
                                : deadline - now;
      if (ioc_.run_one_for(slice) == 0 && ioc_.stopped()) ioc_.restart();
    }
    return true;
  }

  void close_socket() {
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
  }

  asio::io_context ioc_;
  ssl::context tls_{ssl::context::tls_client};
  Stream ws_;
  std::function<bool()> should_stop_;
  bool stopped_ = false;  // the last run_until ended because should_stop said so
};

template <bool kTls>
Result<std::unique_ptr<WebSocketClient>> open_client(const ServerUrl& server, const std::string& path,
                                                     const WebSocketOptions& options) {
  auto client = std::make_unique<BeastWebSocket<kTls>>();
  FTI_TRY(client->open(server, path, options));
  return std::unique_ptr<WebSocketClient>(std::move(client));
}

}  // namespace

Result<std::unique_ptr<WebSocketClient>> WebSocketClient::connect(const ServerUrl& server, const std::string& path,
                                                                  const WebSocketOptions& options) {
  return server.tls ? open_client<true>(server, path, options) : open_client<false>(server, path, options);
}

}  // namespace fti::client
