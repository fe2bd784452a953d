// fake_llm_server: the in-process FakeLlmServer as a program, for the end-to-end runs and the
// router benchmark. Scripted over HTTP through its /_fake/ control endpoints.
//
//   fake_llm_server --listen 127.0.0.1:0 [--port-file FILE] [--threads N] [--no-record] [--coalesce]
//                   [--default KIND[:STATUS]] [--models a,b] [--openai-key K] [--anthropic-key K]
//
// Prints "listening on http://HOST:PORT" when ready; stops on SIGINT or SIGTERM.
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "fakes/fake_llm_server.hpp"

namespace {

// Writes `text` to `path` through a temporary file, so a reader never sees half of it.
bool write_atomically(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    if (!out.flush()) return false;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  return !ec;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"A fake Ollama / OpenAI / Anthropic server for tests"};
  std::string listen = "127.0.0.1:0";
  std::string port_file;
  int threads = 1;
  bool no_record = false;
  bool coalesce = false;
  std::string default_behavior;
  std::string models;
  fti::fakes::FakeLlmServer::Options options;
  app.add_option("--listen", listen, "HOST:PORT to listen on (port 0: any free port)");
  app.add_option("--port-file", port_file, "write the port here once listening");
  app.add_option("--threads", threads, "I/O threads")->check(CLI::Range(1, 64));
  app.add_flag("--no-record", no_record, "do not keep the requests (for benchmarks)");
  app.add_flag("--coalesce", coalesce, "write each reply in one send (for benchmarks)");
  app.add_option("--default", default_behavior, "the default behaviour: KIND[:STATUS], e.g. status:503");
  app.add_option("--models", models, "comma-separated model names for /api/tags");
  app.add_option("--openai-key", options.openai_key, "the expected OpenAI key");
  app.add_option("--anthropic-key", options.anthropic_key, "the expected Anthropic key");
  CLI11_PARSE(app, argc, argv);

  auto colon = listen.rfind(':');
  if (colon == std::string::npos) {
    std::cerr << "--listen wants HOST:PORT\n";
    return 2;
  }
  options.host = listen.substr(0, colon);
  if (options.host.size() >= 2 && options.host.front() == '[' && options.host.back() == ']') {
    options.host = options.host.substr(1, options.host.size() - 2);
  }
  try {
    int port = std::stoi(listen.substr(colon + 1));
    if (port < 0 || port > 65535) throw std::out_of_range("port");
    options.port = static_cast<std::uint16_t>(port);
  } catch (const std::exception&) {
    std::cerr << "--listen: bad port in \"" << listen << "\"\n";
    return 2;
  }
  options.threads = threads;
  options.record = !no_record;
  options.coalesce = coalesce;
  if (!models.empty()) {
    options.models.clear();
    std::size_t pos = 0;
    while (pos <= models.size()) {
      std::size_t comma = models.find(',', pos);
      std::string name = models.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
      if (!name.empty()) options.models.push_back(name);
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
  }
  fti::fakes::FakeLlmBehavior behavior;
  if (!default_behavior.empty()) {
    auto sep = default_behavior.find(':');
    auto kind = fti::fakes::parse_fake_llm_kind(default_behavior.substr(0, sep));
    if (!kind) {
      std::cerr << "--default: unknown kind \"" << default_behavior.substr(0, sep) << "\"\n";
      return 2;
    }
    behavior.kind = *kind;
    if (behavior.kind == fti::fakes::FakeLlmBehavior::Kind::status) behavior.status = 500;
    if (sep != std::string::npos) {
      try {
        behavior.status = std::stoi(default_behavior.substr(sep + 1));
      } catch (const std::exception&) {
        std::cerr << "--default: bad status in \"" << default_behavior << "\"\n";
        return 2;
      }
    }
  }

  // Block the stop signals before any thread starts, so that only sigwait below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  try {
    fti::fakes::FakeLlmServer server(options);
    server.set_default(behavior);
    if (!port_file.empty() && !write_atomically(port_file, std::to_string(server.port()) + "\n")) {
      std::cerr << "cannot write " << port_file << "\n";
      return 1;
    }
    std::cout << "listening on " << server.url() << std::endl;
    int signal = 0;
    sigwait(&stop_signals, &signal);
    std::cerr << "fake_llm_server: stopping on signal " << signal << "\n";
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  return 0;
}
