#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fti/core/http_client.hpp"

namespace {
// A socket that listens but never accepts: connects succeed, answers never come.
struct SilentListener {
  int fd = -1;
  int port = 0;
  SilentListener() {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd, 8);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~SilentListener() { ::close(fd); }
};

int free_port() {
  SilentListener l;
  return l.port;  // closed on return: nothing listens there any more
}
}  // namespace

TEST_CASE("http client reports a refused connection as a network error", "[core][http_client]") {
  fti::HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(free_port()) + "/";
  auto r = fti::HttpClient().send(req);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == "network_error");
}

TEST_CASE("http client gives up on a server that never answers", "[core][http_client]") {
  SilentListener silent;
  fti::HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(silent.port) + "/";
  req.total_timeout = std::chrono::milliseconds(300);
  auto r = fti::HttpClient().send(req);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == "timeout");
}
