#pragma once
// Notifications between instances sharing one PostgreSQL database (LISTEN/NOTIFY): a job
// enqueued on one instance wakes idle workers on all of them, and job events published on
// one reach WebSockets opened on another. SQLite has one process, so nothing to carry.
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fti/core/result.hpp"
#include "fti/db/database.hpp"

namespace fti::db {

// NOTIFY payloads are limited to 8000 bytes by the server.
inline constexpr std::size_t kMaxNotifyPayload = 7999;

// Sends `payload` on `channel` when the surrounding transaction commits (at once outside
// one). A no-op on SQLite. Payloads over kMaxNotifyPayload are refused with too_large.
Status notify(Connection& conn, const std::string& channel, const std::string& payload);

// A dedicated session that LISTENs on channels and hands each notification to a callback
// on its own thread. When the session is lost it reconnects with backoff and calls
// `on_reconnect` once listening again: notifications sent meanwhile were missed, so the
// caller catches up (re-reads what it would have been told).
class NotificationListener {
 public:
  using OnNotify = std::function<void(const std::string& channel, const std::string& payload)>;
  using OnReconnect = std::function<void()>;

  virtual ~NotificationListener() = default;
  // True while the session is connected and listening (diagnostics, tests).
  virtual bool listening() const = 0;
};

struct ListenerOptions {
  std::chrono::milliseconds reconnect_min{100};
  std::chrono::milliseconds reconnect_max{5000};
};

// Connects and LISTENs before returning, so no notification sent after this returns is
// missed. `url` must be a postgres:// URL.
Result<std::unique_ptr<NotificationListener>> listen(const std::string& url, std::vector<std::string> channels,
                                                     NotificationListener::OnNotify on_notify,
                                                     NotificationListener::OnReconnect on_reconnect = {},
                                                     ListenerOptions options = {});

}  // namespace fti::db
