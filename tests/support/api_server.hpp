#pragma once
// The API's routes behind a real HTTP server on a free loopback port, with the auth middleware
// as `serve` installs it, for tests that go over the wire. Stops and joins when destroyed.
#include <catch2/catch.hpp>

#include <cstdint>
#include <memory>
#include <thread>

#include "fti/api/api.hpp"
#include "fti/http/server.hpp"
#include "fti/ops/metrics.hpp"

namespace fti::testing {

class ApiServer {
 public:
  // `deps.metrics` must be set: the server counts its requests there.
  explicit ApiServer(const api::ApiDeps& deps) {
    REQUIRE(deps.metrics);
    api::register_routes(router_, deps);
    http::ServerOptions options;
    options.port = 0;
    options.io_threads = 1;
    options.blocking_threads = 2;
    server_ = std::make_unique<http::HttpServer>(options, router_, *deps.metrics);
    server_->use(api::make_auth_middleware(deps));
    auto port = server_->listen();
    REQUIRE(port.ok());
    port_ = *port;
    io_ = std::thread([this] { server_->run(); });
  }
  ~ApiServer() {
    server_->stop();
    io_.join();
  }
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  std::uint16_t port() const { return port_; }

 private:
  http::Router router_;
  std::unique_ptr<http::HttpServer> server_;
  std::uint16_t port_ = 0;
  std::thread io_;
};

}  // namespace fti::testing
