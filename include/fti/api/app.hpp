#pragma once
// App: the `serve` command's object graph. Builds every room from the Config, runs the HTTP
// server and the worker pool, and drains them on SIGTERM/SIGINT.
#include <memory>

#include "fti/core/config.hpp"
#include "fti/core/result.hpp"

namespace fti::api {

class App {
 public:
  explicit App(std::shared_ptr<const Config> config);
  ~App();
  // Opens storage and database, migrates, binds the listener. Start-up errors are values.
  Status start();
  // Blocks until a signal asks to stop (or stop() is called), then drains.
  void run();
  void stop();
  std::uint16_t port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fti::api
