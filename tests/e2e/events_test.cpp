// Job events end to end: the real binary, a real upload, and a WebSocket client subscribed to
// the job that receives its current state, its progress and its completion.
#include <catch2/catch.hpp>

#include "fti/core/asio.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include "fixtures.hpp"
#include "support/ws_client.hpp"

using namespace fti::e2e;
using fti::testing::WsClient;

namespace {

namespace websocket = boost::beast::websocket;

constexpr auto kStepDeadline = std::chrono::seconds(60);

struct Message {
  std::string type;
  std::string text;
};

Message parse_message(const std::string& text) {
  auto doc = fti::json::Document::parse(text);
  REQUIRE(doc.ok());
  return {doc->root().get_string("type").value_or(""), text};
}

std::string job_field(const std::string& text, const std::string& key) {
  auto doc = fti::json::Document::parse(text);
  REQUIRE(doc.ok());
  auto job = doc->root().get("job");
  return job && job->is_object() ? job->get_string(key).value_or("") : "";
}

int port_of(const Server& server) {
  std::string url = server.url("");
  return std::stoi(url.substr(url.rfind(':') + 1));
}

}  // namespace

TEST_CASE("a WebSocket subscribes to a job and receives its progress and completion", "[e2e][events]") {
  const TempDir temp("e2e-events");
  const fs::path& dir = temp.path();
  auto zip = make_messy_zip(dir);
  // The job cannot finish before the client is subscribed: while "work" is a file, no attempt
  // can make its scratch folder and each one fails (retryably). Removing the file lets the
  // next attempt through, so every event the test waits for comes after the subscription.
  write_file(dir / "data" / "work", "not a folder");
  Server server(dir / "data", {"FTI_WORKERS_MIN=1", "FTI_JOBS_MAX_ATTEMPTS=6", "FTI_JOBS_BACKOFF_BASE_MS=500"});

  auto created = server.upload_file(zip, "application/zip", "?filename=messy.zip");
  REQUIRE(created.status == 201);
  auto id = json_string(created.body, "id");
  REQUIRE_FALSE(id.empty());

  WsClient client(static_cast<std::uint16_t>(port_of(server)), kStepDeadline);
  REQUIRE_FALSE(client.handshake("/api/v1/jobs/" + id + "/events"));
  CHECK(client.response.result_int() == 101);

  // The first message is the job's current state.
  auto first = client.read();
  REQUIRE(first);
  Message state = parse_message(*first);
  CHECK(state.type == "status");
  CHECK(job_field(state.text, "id") == id);
  CHECK(job_field(state.text, "status") != "succeeded");

  fs::remove(dir / "data" / "work");
  std::vector<Message> messages;
  while (auto text = client.read()) messages.push_back(parse_message(*text));
  INFO(server.log());
  REQUIRE_FALSE(messages.empty());

  // Progress moves forward, then the job completes and the server closes the stream.
  std::vector<std::int64_t> progress;
  for (const auto& m : messages) {
    if (m.type != "progress") continue;
    auto doc = fti::json::Document::parse(m.text);
    CHECK(doc->root().get_string("job_id") == id);
    progress.push_back(doc->root().get_int("progress").value_or(-1));
  }
  CHECK(progress.size() >= 2);
  CHECK(std::is_sorted(progress.begin(), progress.end()));
  const Message& last = messages.back();
  CHECK(last.type == "completed");
  CHECK(job_field(last.text, "status") == "succeeded");
  CHECK(last.text.find("\"files_in\":") != std::string::npos);  // the result, for the page to show
  CHECK(client.error() == websocket::error::closed);
  CHECK(client.close_reason().code == websocket::close_code::normal);

  // A finished job's stream is one message, its final state, then a normal close.
  WsClient again(static_cast<std::uint16_t>(port_of(server)), kStepDeadline);
  REQUIRE_FALSE(again.handshake("/api/v1/jobs/" + id + "/events"));
  auto only = again.read();
  REQUIRE(only);
  CHECK(parse_message(*only).type == "completed");
  CHECK_FALSE(again.read());
  CHECK(again.close_reason().code == websocket::close_code::normal);

  // An unknown job is refused before the upgrade, with the API's usual 404.
  WsClient unknown(static_cast<std::uint16_t>(port_of(server)), kStepDeadline);
  CHECK(unknown.handshake("/api/v1/jobs/no-such-job/events"));
  CHECK(unknown.response.result_int() == 404);

  // Every stream has ended, so the gauge drops back (once the server has seen the last close).
  CHECK(wait_until(
      [&] {
        return server.request("GET", "/metrics").body.find("fti_websocket_connections 0\n") != std::string::npos;
      },
      std::chrono::seconds(10)));
}
