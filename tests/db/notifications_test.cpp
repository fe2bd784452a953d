// LISTEN/NOTIFY between sessions of a real PostgreSQL ([postgres]: ctest's db_pg), and the
// no-op on SQLite.
#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <random>
#include <vector>

#include "fti/db/notifications.hpp"
#include "support/test_database.hpp"

using namespace fti;
using namespace fti::db;

namespace {

// What a listener received, with a wait for the next arrival.
class Inbox {
 public:
  void add(const std::string& channel, const std::string& payload) {
    {
      std::lock_guard lock(mutex_);
      got_.push_back(channel + ":" + payload);
    }
    cv_.notify_all();
  }
  void reconnected() {
    {
      std::lock_guard lock(mutex_);
      ++reconnects_;
    }
    cv_.notify_all();
  }
  // True when `entry` arrived within the deadline (generous: a loaded machine is slow).
  bool wait_for(const std::string& entry, std::chrono::seconds deadline = std::chrono::seconds(20)) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, deadline, [&] { return std::count(got_.begin(), got_.end(), entry) > 0; });
  }
  bool wait_for_reconnect(std::chrono::seconds deadline = std::chrono::seconds(20)) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, deadline, [&] { return reconnects_ > 0; });
  }
  bool has(const std::string& entry) {
    std::lock_guard lock(mutex_);
    return std::count(got_.begin(), got_.end(), entry) > 0;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::string> got_;
  int reconnects_ = 0;
};

std::string unique_channel() {
  std::random_device rd;
  return "fti_test_" + std::to_string(rd());
}

std::unique_ptr<NotificationListener> listen_or_fail(const std::string& url, std::vector<std::string> channels,
                                                     Inbox& inbox) {
  auto l = listen(
      url, std::move(channels), [&](const std::string& c, const std::string& p) { inbox.add(c, p); },
      [&] { inbox.reconnected(); }, ListenerOptions{std::chrono::milliseconds(20), std::chrono::milliseconds(200)});
  INFO((l.ok() ? std::string() : l.error().message));
  REQUIRE(l.ok());
  return std::move(l).value();
}

}  // namespace

TEST_CASE("notifications: delivered when the transaction commits, never when it rolls back", "[db][postgres]") {
  REQUIRE(testing::testing_postgres());
  testing::TestDatabase test_db;
  auto db = test_db.open();
  const std::string channel = unique_channel();
  const std::string marker = channel + "_marker";
  Inbox inbox;
  auto listener = listen_or_fail(test_db.url(), {channel, marker}, inbox);
  CHECK(listener->listening());

  auto writer = db->acquire();
  REQUIRE(writer.ok());
  REQUIRE((*writer)->begin(TxMode::write).ok());
  REQUIRE(notify(**writer, channel, "job-1").ok());
  // A marker sent after it but committed first arrives alone: the first waits for COMMIT.
  {
    auto other = db->acquire();
    REQUIRE(other.ok());
    REQUIRE(notify(**other, marker, "m1").ok());
  }
  REQUIRE(inbox.wait_for(marker + ":m1"));
  CHECK_FALSE(inbox.has(channel + ":job-1"));
  REQUIRE((*writer)->commit().ok());
  CHECK(inbox.wait_for(channel + ":job-1"));

  REQUIRE((*writer)->begin(TxMode::write).ok());
  REQUIRE(notify(**writer, channel, "job-2").ok());
  REQUIRE((*writer)->rollback().ok());
  REQUIRE(notify(**writer, marker, "m2").ok());
  REQUIRE(inbox.wait_for(marker + ":m2"));
  CHECK_FALSE(inbox.has(channel + ":job-2"));
}

TEST_CASE("notifications: a lost listening session reconnects and says so", "[db][postgres]") {
  REQUIRE(testing::testing_postgres());
  testing::TestDatabase test_db;
  auto db = test_db.open();
  const std::string channel = unique_channel();
  Inbox inbox;
  auto listener = listen_or_fail(test_db.url(), {channel}, inbox);
  auto admin = db->acquire();
  REQUIRE(admin.ok());
  // The listener's last statement was its LISTEN on our unique channel.
  auto killed = (*admin)->query(
      "SELECT pg_terminate_backend(pid)::integer FROM pg_stat_activity WHERE query LIKE $1",
      {Value("LISTEN %" + channel + "%")});
  REQUIRE(killed.ok());
  REQUIRE(killed->size() == 1);
  REQUIRE(inbox.wait_for_reconnect());
  CHECK(listener->listening());
  REQUIRE(notify(**admin, channel, "after").ok());
  CHECK(inbox.wait_for(channel + ":after"));
}

TEST_CASE("notifications: payloads over PostgreSQL's limit are refused; SQLite has nothing to send", "[db]") {
  testing::TestDatabase test_db;
  auto db = test_db.open();
  auto conn = db->acquire();
  REQUIRE(conn.ok());
  auto big = notify(**conn, "c", std::string(kMaxNotifyPayload + 1, 'x'));
  if (test_db.is_postgres()) {
    REQUIRE_FALSE(big.ok());
    CHECK(big.error().code == errc::too_large);
  } else {
    CHECK(big.ok());  // one process: nobody else to tell
  }
  auto not_pg = listen(test_db.dir().sqlite_url(), {"c"}, [](const std::string&, const std::string&) {});
  REQUIRE_FALSE(not_pg.ok());
  CHECK(not_pg.error().code == errc::bad_config);
}
