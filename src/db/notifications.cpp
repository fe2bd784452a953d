// LISTEN/NOTIFY over libpq: notify() is one statement on the caller's connection; the
// listener is a thread that waits on its session's socket (and an eventfd that stop uses)
// and reconnects with backoff when the session is lost.
#include "fti/db/notifications.hpp"

#include <libpq-fe.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <thread>

#include "fti/core/log.hpp"
#include "postgres_database.hpp"

namespace fti::db {

Status notify(Connection& conn, const std::string& channel, const std::string& payload) {
  if (conn.dialect() != Dialect::postgres) return ok_status();
  if (payload.size() > kMaxNotifyPayload) {
    return Error(errc::too_large, fmt::format("a notification on {} holds {} bytes; PostgreSQL takes at most {}",
                                              channel, payload.size(), kMaxNotifyPayload));
  }
  auto sent = conn.query("SELECT pg_notify($1, $2)", {Value(channel), Value(payload)});
  if (!sent.ok()) return sent.error();
  return ok_status();
}

namespace {

std::string trimmed_error(PGconn* conn) {
  std::string why = conn ? PQerrorMessage(conn) : "out of memory";
  while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
  return why;
}

class PgListener final : public NotificationListener {
 public:
  PgListener(std::string url, std::vector<std::string> channels, OnNotify on_notify, OnReconnect on_reconnect,
             ListenerOptions options)
      : url_(std::move(url)),
        channels_(std::move(channels)),
        on_notify_(std::move(on_notify)),
        on_reconnect_(std::move(on_reconnect)),
        options_(options),
        wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

  ~PgListener() override {
    stop_ = true;
    const std::uint64_t one = 1;
    if (wake_fd_ >= 0) (void)!::write(wake_fd_, &one, sizeof one);
    if (thread_.joinable()) thread_.join();
    if (conn_) PQfinish(conn_);
    if (wake_fd_ >= 0) ::close(wake_fd_);
  }
  PgListener(const PgListener&) = delete;
  PgListener& operator=(const PgListener&) = delete;

  bool listening() const override { return listening_; }

  // The first session is opened by the caller's thread, so start-up errors reach it.
  Status start() {
    if (wake_fd_ < 0) return Error(errc::internal, "eventfd failed: cannot build the notification listener");
    FTI_TRY(connect());
    thread_ = std::thread([this] { run(); });
    return ok_status();
  }

 private:
  Status connect() {
    // Keepalives notice a server that vanished without closing the socket within ~30 s.
    const char* keywords[] = {"dbname", "application_name", "keepalives_idle", "keepalives_interval",
                              "keepalives_count", "connect_timeout", nullptr};
    const char* values[] = {url_.c_str(), "finishthisidea-listener", "10", "5", "3", "10", nullptr};
    PGconn* conn = PQconnectdbParams(keywords, values, 1);
    if (!conn || PQstatus(conn) != CONNECTION_OK) {
      Error e(errc::db_busy, fmt::format("cannot connect to PostgreSQL at {} to listen: {}", redacted_url(url_),
                                         trimmed_error(conn)));
      if (conn) PQfinish(conn);
      return e;
    }
    for (const auto& channel : channels_) {
      char* quoted = PQescapeIdentifier(conn, channel.c_str(), channel.size());
      PGresult* res = PQexec(conn, (std::string("LISTEN ") + (quoted ? quoted : "")).c_str());
      const bool ok = quoted && PQresultStatus(res) == PGRES_COMMAND_OK;
      PQclear(res);
      PQfreemem(quoted);
      if (!ok) {
        Error e(errc::db_error, fmt::format("LISTEN {} failed: {}", channel, trimmed_error(conn)));
        PQfinish(conn);
        return e;
      }
    }
    route_notices_to_log(conn);
    conn_ = conn;
    listening_ = true;
    return ok_status();
  }

  void run() {
    auto delay = options_.reconnect_min;
    while (!stop_) {
      if (!conn_) {
        if (!sleep_unless_stopped(delay)) return;
        if (auto st = connect(); !st.ok()) {
          log::get("db")->warn("{}; retrying in {} ms", st.error().message, delay.count());
          delay = std::min(delay * 2, options_.reconnect_max);
          continue;
        }
        delay = options_.reconnect_min;
        log::get("db")->info("listening for notifications again");
        if (on_reconnect_) on_reconnect_();
      }
      if (!wait_and_deliver()) drop_session();
    }
  }

  // False when the session is lost.
  bool wait_and_deliver() {
    pollfd fds[2] = {{PQsocket(conn_), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) return errno == EINTR;
    if (stop_) return true;
    if (PQconsumeInput(conn_) == 0 || PQstatus(conn_) != CONNECTION_OK) return false;
    while (PGnotify* n = PQnotifies(conn_)) {
      const std::string channel = n->relname ? n->relname : "";
      const std::string payload = n->extra ? n->extra : "";
      PQfreemem(n);
      deliver(channel, payload);
    }
    return true;
  }

  void deliver(const std::string& channel, const std::string& payload) {
    try {
      on_notify_(channel, payload);
    } catch (const std::exception& e) {
      log::get("db")->error("a notification handler on {} threw: {}", channel, e.what());
    }
  }

  void drop_session() {
    log::get("db")->warn("the notification session was lost: {}", trimmed_error(conn_));
    listening_ = false;
    PQfinish(conn_);
    conn_ = nullptr;
  }

  // False when stop was asked for during the wait.
  bool sleep_unless_stopped(std::chrono::milliseconds delay) {
    pollfd fd{wake_fd_, POLLIN, 0};
    ::poll(&fd, 1, static_cast<int>(delay.count()));
    return !stop_;
  }

  const std::string url_;
  const std::vector<std::string> channels_;
  const OnNotify on_notify_;
  const OnReconnect on_reconnect_;
  const ListenerOptions options_;
  const int wake_fd_;  // written once by the destructor to end poll()
  std::atomic<bool> stop_{false};
  std::atomic<bool> listening_{false};
  PGconn* conn_ = nullptr;  // used by the listener thread only, once started
  std::thread thread_;
};

}  // namespace

Result<std::unique_ptr<NotificationListener>> listen(const std::string& url, std::vector<std::string> channels,
                                                     NotificationListener::OnNotify on_notify,
                                                     NotificationListener::OnReconnect on_reconnect,
                                                     ListenerOptions options) {
  if (url.rfind("postgres://", 0) != 0 && url.rfind("postgresql://", 0) != 0) {
    return Error(errc::bad_config, "notifications need a PostgreSQL database.url");
  }
  auto listener = std::make_unique<PgListener>(url, std::move(channels), std::move(on_notify),
                                               std::move(on_reconnect), options);
  FTI_TRY(listener->start());
  return std::unique_ptr<NotificationListener>(std::move(listener));
}

}  // namespace fti::db
