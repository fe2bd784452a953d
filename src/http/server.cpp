// The Beast listener and sessions. This is the only translation unit that includes Beast
// (each one costs ~25 s to compile); everything else sees plain Request/Response structs.
//
// Threads: each of the N I/O threads runs an io_context of its own, and accepted connections
// are dealt to them in turn (sharing one io_context cost 12% more CPU per cached status read,
// in its reactor's locks and wake-ups); every connection has its own strand. Handlers
// and middlewares run on a separate thread pool, because they touch the database and disk.
// A route with a quick handler (answers from memory, e.g. the job status cache) is tried on
// the strand first: two thread hand-overs cost more than such an answer, and skipping them
// doubles status reads (docs/architecture.md, "Status reads").
// Request bodies for streaming routes are handed over chunk by chunk: the handler's read()
// blocks its pool thread while the session reads the next chunk on the strand, so memory stays
// bounded whatever the upload size. Streamed responses work the same way in reverse.
//
// WebSockets: a request with "Upgrade: websocket" on a WebSocket route runs the middlewares
// and the route's handler on the pool like any request; if the handler accepts, the
// connection's socket moves from its HTTP Session to a WebSocketSession on the same strand.
// Handlers talk to it through a WebSocketChannel, a thread-safe bounded queue of messages.
#include "fti/http/server.hpp"

#include "fti/core/asio.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <tuple>
#include <vector>

#include <fmt/format.h>

#include "fti/core/clock.hpp"
#include "fti/core/ids.hpp"
#include "fti/core/log.hpp"
#include "fti/ops/metrics.hpp"

namespace fti::http {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;
using beast::error_code;
// Each connection runs on its own strand, named by its concrete type: Beast's default
// tcp_stream type-erases the executor, which costs reference counting and an indirect call
// on every completion (a few per cent of a cached status read).
using Strand = asio::strand<asio::io_context::executor_type>;
using Socket = asio::basic_stream_socket<tcp, Strand>;
using Stream = beast::basic_stream<tcp, Strand>;

constexpr std::size_t kChunkBytes = 64 * 1024;
// How long a closing connection keeps discarding an unread request body, so the client
// reads our response instead of a reset.
constexpr auto kLingerTime = std::chrono::seconds(2);
// A WebSocket client this many messages behind is too slow to keep: it is disconnected.
constexpr std::size_t kMaxQueuedMessages = 1024;
// What a client may send us over a WebSocket (we ignore it; the bound keeps memory in check).
constexpr std::uint64_t kMaxClientMessageBytes = 64 * 1024;
// Which instance answered (ServerOptions::node_id).
constexpr char kNodeHeader[] = "X-FTI-Node";

// RFC 6455 limits a close frame's reason to 123 bytes.
constexpr std::size_t kMaxCloseReasonBytes = 123;

// Beast 1.74 speaks boost::string_view; the rest of the project speaks std::string_view.
std::string_view to_std(beast::string_view s) { return {s.data(), s.size()}; }

std::string to_lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Incoming ids are echoed into logs and headers, so only short, plain ones are trusted.
bool is_sane_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_' || c == '.';
  });
}

// Request ids correlate log lines with answers: they must be unique, not secret. A random
// prefix per thread and a counter cost nothing, where a RAND_bytes call per request showed in
// the status-read profile. 16 hex digits, like new_request_id().
std::string next_request_id() {
  thread_local const std::string prefix = new_request_id().substr(0, 8);
  thread_local std::uint32_t counter = 0;
  return prefix + fmt::format("{:08x}", ++counter);
}

// Metric labels must stay low-cardinality even when clients send odd methods.
constexpr std::string_view kMethodLabels[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER"};

std::size_t method_index(const std::string& method) {
  constexpr std::size_t kOther = std::size(kMethodLabels) - 1;
  for (std::size_t i = 0; i < kOther; ++i) {
    if (kMethodLabels[i] == method) return i;
  }
  return kOther;
}

// The hand-over point between a session (strand side) and a handler (pool side) for one
// streamed request body. At most one chunk is buffered.
class UploadChannel final : public BodyStream {
 public:
  UploadChannel(std::function<void()> request_more, std::optional<std::int64_t> content_length,
                std::chrono::seconds wait_limit)
      : request_more_(std::move(request_more)), content_length_(content_length), wait_limit_(wait_limit) {}

  Result<std::size_t> read(char* buffer, std::size_t capacity) override {
    std::unique_lock lock(mutex_);
    while (true) {
      if (offset_ < data_.size()) {
        std::size_t n = std::min(capacity, data_.size() - offset_);
        std::copy_n(data_.data() + offset_, n, buffer);
        offset_ += n;
        return n;
      }
      if (error_) return *error_;
      if (done_) return std::size_t{0};
      if (!waiting_) {
        waiting_ = true;
        lock.unlock();
        request_more_();
        lock.lock();
        continue;
      }
      // The strand read has its own timeout; this bound only guards against a server that
      // stopped running its io_context under us.
      if (!cv_.wait_for(lock, wait_limit_, [this] { return !waiting_; })) {
        return Error(errc::timeout, "timed out waiting for the request body");
      }
    }
  }

  std::optional<std::int64_t> content_length() const override { return content_length_; }

  void deliver(std::string_view bytes, bool done) {
    {
      std::lock_guard lock(mutex_);
      data_.assign(bytes.data(), bytes.size());
      offset_ = 0;
      done_ = done;
      waiting_ = false;
    }
    cv_.notify_all();
  }

  void fail(Error error) {
    {
      std::lock_guard lock(mutex_);
      error_ = std::move(error);
      waiting_ = false;
    }
    cv_.notify_all();
  }

 private:
  std::function<void()> request_more_;
  std::optional<std::int64_t> content_length_;
  std::chrono::seconds wait_limit_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::string data_;
  std::size_t offset_ = 0;
  bool done_ = false;
  bool waiting_ = false;
  std::optional<Error> error_;
};

// The hand-over point between a WebSocket route's handler (any thread) and its connection
// (the strand): outgoing messages wait here, at most kMaxQueuedMessages of them.
class QueuedChannel final : public WebSocketChannel {
 public:
  void send_text(std::string message) override {
    std::function<void()> wake;
    {
      std::lock_guard lock(mutex_);
      if (state_ != State::open) return;
      if (queue_.size() >= kMaxQueuedMessages) {
        state_ = State::overflowed;
        queue_.clear();
      } else {
        queue_.push_back({std::move(message), std::chrono::steady_clock::now()});
      }
      wake = wake_;
    }
    if (wake) wake();
  }

  void close(std::string reason) override {
    std::function<void()> wake;
    {
      std::lock_guard lock(mutex_);
      if (state_ != State::open) return;
      state_ = State::closing;
      if (reason.size() > kMaxCloseReasonBytes) reason.resize(kMaxCloseReasonBytes);
      close_reason_ = std::move(reason);
      wake = wake_;
    }
    if (wake) wake();
  }

  bool is_open() const override {
    std::lock_guard lock(mutex_);
    return state_ == State::open;
  }

  void on_closed(std::function<void()> fn) override {
    {
      std::lock_guard lock(mutex_);
      if (!ended_) {
        closed_callbacks_.push_back(std::move(fn));
        return;
      }
    }
    fn();
  }

  // ---- the connection's side ----

  // `wake` is called (from any thread) whenever there is something new to take().
  void attach(std::function<void()> wake) {
    std::lock_guard lock(mutex_);
    wake_ = std::move(wake);
  }

  struct Next {
    enum class Kind { nothing, message, close, drop } kind = Kind::nothing;
    std::string text;  // the message, or the close reason
    std::chrono::steady_clock::time_point queued_at{};  // a message: when send_text took it
  };

  Next take() {
    std::lock_guard lock(mutex_);
    if (state_ == State::overflowed) return {Next::Kind::drop, {}};
    if (!queue_.empty()) {
      Next next{Next::Kind::message, std::move(queue_.front().text), queue_.front().queued_at};
      queue_.pop_front();
      return next;
    }
    if (state_ == State::closing) return {Next::Kind::close, close_reason_};
    return {};
  }

  // The connection is ending: nothing more is accepted, and the on_closed callbacks run.
  // Queued messages stay for take() (a normal close sends them first).
  void mark_ended() {
    std::vector<std::function<void()>> callbacks;
    {
      std::lock_guard lock(mutex_);
      if (ended_) return;
      ended_ = true;
      if (state_ == State::open) state_ = State::ended;
      wake_ = nullptr;
      callbacks.swap(closed_callbacks_);
    }
    for (auto& fn : callbacks) fn();
  }

 private:
  enum class State { open, closing, overflowed, ended };
  mutable std::mutex mutex_;
  State state_ = State::open;
  bool ended_ = false;
  struct Queued {
    std::string text;
    std::chrono::steady_clock::time_point queued_at;  // for the delivery latency
  };
  std::deque<Queued> queue_;
  std::string close_reason_;
  std::function<void()> wake_;
  std::vector<std::function<void()>> closed_callbacks_;
};

// One request/response exchange on a connection. Counts as in flight while it lives.
struct Exchange {
  explicit Exchange(std::atomic<std::int64_t>& counter) : in_flight(counter) { ++in_flight; }
  ~Exchange() { --in_flight; }
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  std::atomic<std::int64_t>& in_flight;
  Request request;
  const Route* route = nullptr;
  std::string_view route_label = "unmatched";  // the route's pattern, which the Router keeps
  Stopwatch stopwatch;
  unsigned version = 11;
  bool keep_alive = true;
  bool head = false;
  bool expect_continue = false;
  bool continue_sent = false;
  bool force_close = false;  // the body stream failed: the connection state is unknown
  bool recorded = false;
  bool streamed = false;  // an upload or a streamed response: its time is the body's, not the service's
  int status = 0;
  std::uint64_t body_bytes = 0;
  std::shared_ptr<UploadChannel> upload;
};

// Where a request's run on the pool starts: after what already ran on the I/O thread.
struct Resume {
  std::size_t middleware = 0;  // the first middleware still to run
  bool quick_tried = false;    // the quick handler ran and declined
};

// A live connection, as stop() sees it.
class Connection {
 public:
  virtual ~Connection() = default;
  // Called from any thread when the server stops.
  virtual void request_stop() = 0;
};

// State shared by the listener and every session.
struct ServerCore {
  ServerCore(ServerOptions o, const Router& r, ops::Metrics& m)
      : options(std::move(o)),
        router(r),
        metrics(m),
        log(log::get("http")),
        ioc(1),
        acceptor(asio::make_strand(ioc)),
        pool(static_cast<std::size_t>(std::max(1, options.blocking_threads))),
        quick_pool(static_cast<std::size_t>(std::max(1, options.request_threads))) {
    for (int i = 1; i < options.io_threads; ++i) {
      more.push_back(std::make_unique<asio::io_context>(1));
      more_work.push_back(asio::make_work_guard(*more.back()));
    }
  }

  std::chrono::seconds timeout() const { return std::chrono::seconds(std::max(1, options.io_timeout_seconds)); }

  Response handle(Request& request, const Route& route, Resume from = {});
  // On the I/O thread, for a route with a quick handler: the answer, or nullopt with `from`
  // saying where the pool takes over.
  std::optional<Response> try_inline(Request& request, const Route& route, Resume& from);
  std::optional<Response> handle_upgrade(Request& request, const Route& route,
                                         std::shared_ptr<WebSocketChannel> channel);
  void websocket_opened() { count_websockets(+1); }
  void websocket_closed() { count_websockets(-1); }
  void count_websockets(int delta) {
    std::lock_guard lock(websockets_mutex);
    websockets += delta;
    metrics.set("fti_websocket_connections", {}, static_cast<double>(websockets));
  }
  void record(Exchange& exchange, const std::string& remote);
  // The fti_http_requests_total and fti_http_request_duration_seconds series of an exchange,
  // looked up once per (route, method, status): the registry's lookups and label strings cost
  // more than the rest of a cached status read.
  struct RequestSeries {
    ops::Metrics::CounterHandle requests;
    ops::Metrics::HistogramHandle duration;
  };
  RequestSeries series_of(const Exchange& exchange);
  // The first answer of the middlewares from `next` on, which ends at the one that answered
  // (a deferral counts: the caller knows what it means where it runs).
  std::optional<Response> run_middlewares(Request& request, const Route& route, std::size_t& next) const;
  void do_accept();
  void on_accept(error_code ec, Socket socket);
  void stop();
  void add_session(const std::shared_ptr<Connection>& session, std::uint64_t id);
  void remove_session(std::uint64_t id);

  ServerOptions options;
  const Router& router;
  ops::Metrics& metrics;
  std::vector<Middleware> middlewares;
  std::shared_ptr<spdlog::logger> log;
  std::atomic<bool> stopping{false};
  std::atomic<std::int64_t> in_flight{0};
  std::atomic<std::uint64_t> next_session_id{1};
  // Declared before the io_context: sessions unregister while it destroys them.
  std::mutex sessions_mutex;
  std::map<std::uint64_t, std::weak_ptr<Connection>> sessions;
  std::mutex websockets_mutex;
  std::int64_t websockets = 0;  // open WebSocket connections, under websockets_mutex
  std::mutex series_mutex;  // guards request_series; keys: (route (null: unmatched), method, status)
  std::map<std::tuple<const Route*, std::size_t, int>, RequestSeries> request_series;
  asio::io_context ioc;
  // One more single-threaded io_context per further I/O thread; connections are dealt round.
  std::vector<std::unique_ptr<asio::io_context>> more;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> more_work;
  std::size_t next_context = 0;
  asio::io_context& context_for_next() {
    std::size_t i = next_context++ % (more.size() + 1);
    return i == 0 ? ioc : *more[i - 1];
  }
  tcp::acceptor acceptor;
  // Declared after the io_context: their queued jobs hold work on it and must go first.
  asio::thread_pool pool;        // long: uploads, upgrades, streamed bodies
  asio::thread_pool quick_pool;  // short: every other request
};

// One accepted WebSocket: writes the channel's messages one at a time, keeps a read pending
// (to answer pings and notice the client's close), and closes with "going away" when the
// server stops. Runs on the strand its HTTP Session had.
class WebSocketSession : public Connection, public std::enable_shared_from_this<WebSocketSession> {
 public:
  WebSocketSession(Stream&& stream, ServerCore& core, std::uint64_t id,
                   std::shared_ptr<QueuedChannel> channel, std::string target)
      : core_(core),
        id_(id),
        executor_(stream.get_executor()),
        ws_(std::move(stream)),
        channel_(std::move(channel)),
        target_(std::move(target)) {}

  ~WebSocketSession() override {
    if (accepted_) core_.websocket_closed();
    channel_->mark_ended();
    core_.remove_session(id_);
  }

  // On the strand: answers the upgrade request with 101 and starts the message loops.
  // `protocol`: the subprotocol the 101 selects (Request::websocket_protocol), or empty.
  void run(bhttp::request<bhttp::empty_body> upgrade, std::string protocol) {
    upgrade_ = std::move(upgrade);
    // The WebSocket stream keeps its own timeouts; the TCP layer's would cut idle sockets.
    beast::get_lowest_layer(ws_).expires_never();
    auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::server);
    timeouts.handshake_timeout = core_.timeout();  // opening and closing handshakes
    ws_.set_option(timeouts);
    ws_.set_option(websocket::stream_base::decorator(
        [node = core_.options.node_id, protocol = std::move(protocol)](websocket::response_type& res) {
          res.set(bhttp::field::server, "finishthisidea");
          if (!node.empty()) res.set(kNodeHeader, node);
          if (!protocol.empty()) res.set(bhttp::field::sec_websocket_protocol, protocol);
        }));
    ws_.read_message_max(kMaxClientMessageBytes);
    ws_.async_accept(upgrade_, beast::bind_front_handler(&WebSocketSession::on_accept, shared_from_this()));
  }

  void request_stop() override {
    asio::post(executor_, beast::bind_front_handler(&WebSocketSession::on_server_stop, shared_from_this()));
  }

 private:
  void on_accept(error_code ec) {
    if (ec) {
      core_.log->info("WebSocket handshake for {} failed: {}", target_, ec.message());
      end();
      return;
    }
    accepted_ = true;
    accepted_at_ = std::chrono::steady_clock::now();
    core_.websocket_opened();
    std::weak_ptr<WebSocketSession> weak = weak_from_this();
    channel_->attach([weak] {
      if (auto self = weak.lock()) {
        asio::post(self->executor_, beast::bind_front_handler(&WebSocketSession::flush, self));
      }
    });
    if (core_.stopping) going_away_ = true;
    do_read();
    flush();
  }

  void on_server_stop() {
    going_away_ = true;
    channel_->mark_ended();
    flush();
  }

  // ---- writing ---------------------------------------------------------------------------

  void flush() {
    if (!accepted_ || writing_ || closing_ || ended_) return;
    if (going_away_) {
      start_close(websocket::close_code::going_away, "server shutting down");
      return;
    }
    QueuedChannel::Next next = channel_->take();
    switch (next.kind) {
      case QueuedChannel::Next::Kind::nothing:
        return;
      case QueuedChannel::Next::Kind::drop:
        core_.log->warn("WebSocket {} dropped: the client fell {} messages behind", target_, kMaxQueuedMessages);
        end();
        return;
      case QueuedChannel::Next::Kind::close:
        start_close(websocket::close_code::normal, next.text);
        return;
      case QueuedChannel::Next::Kind::message:
        writing_ = true;
        outgoing_ = std::move(next.text);
        // Delivery is timed from the hand-over, or from the handshake for what waited for it.
        outgoing_since_ = std::max(next.queued_at, accepted_at_);
        ws_.text(true);
        ws_.async_write(asio::buffer(outgoing_),
                        beast::bind_front_handler(&WebSocketSession::on_write, shared_from_this()));
        return;
    }
  }

  void on_write(error_code ec, std::size_t) {
    writing_ = false;
    if (ec) {
      end();
      return;
    }
    ++messages_sent_;
    if (core_.options.on_websocket_sent) {
      core_.options.on_websocket_sent(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - outgoing_since_).count());
    }
    flush();
  }

  void start_close(websocket::close_code code, const std::string& reason) {
    closing_ = true;
    channel_->mark_ended();
    ws_.async_close(websocket::close_reason(code, reason),
                    beast::bind_front_handler(&WebSocketSession::on_close_sent, shared_from_this()));
  }

  // The pending read completes with error::closed once the client answers the close frame.
  void on_close_sent(error_code ec) {
    if (ec) end();
  }

  // ---- reading: client messages are ignored; the read notices close, pings and timeouts --

  void do_read() {
    ws_.async_read(incoming_, beast::bind_front_handler(&WebSocketSession::on_read, shared_from_this()));
  }

  void on_read(error_code ec, std::size_t) {
    if (ec) {
      if (ec != websocket::error::closed && ec != asio::error::operation_aborted) {
        core_.log->info("WebSocket {} ended: {}", target_, ec.message());
      }
      end();
      return;
    }
    incoming_.consume(incoming_.size());
    do_read();
  }

  // Ends the connection at once (error, slow client, done); no close frame is sent.
  void end() {
    if (ended_) return;
    ended_ = true;
    channel_->mark_ended();
    error_code ignored;
    beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(ws_).close();
    if (accepted_) core_.log->debug("WebSocket {} closed after {} message(s)", target_, messages_sent_);
  }

  ServerCore& core_;
  std::uint64_t id_;
  Strand executor_;  // the connection's strand
  websocket::stream<Stream> ws_;
  std::shared_ptr<QueuedChannel> channel_;
  std::string target_;
  bhttp::request<bhttp::empty_body> upgrade_;
  beast::flat_buffer incoming_;
  std::string outgoing_;  // the message being written
  std::chrono::steady_clock::time_point outgoing_since_{};  // when its delivery began
  std::chrono::steady_clock::time_point accepted_at_{};     // the handshake's end
  std::uint64_t messages_sent_ = 0;
  bool accepted_ = false;    // the handshake completed
  bool writing_ = false;     // a message write is in flight
  bool closing_ = false;     // our close frame is on its way
  bool going_away_ = false;  // the server is stopping
  bool ended_ = false;       // the socket is closed
};

class Session : public Connection, public std::enable_shared_from_this<Session> {
 public:
  Session(Socket&& socket, ServerCore& core, std::uint64_t id)
      : core_(core), id_(id), stream_(std::move(socket)), chunk_(kChunkBytes), out_chunk_(kChunkBytes) {
    error_code ec;
    auto endpoint = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = endpoint.address().to_string();
    // Beast sizes each socket read by the buffer's spare capacity (512 bytes at least); a
    // small buffer would turn a large upload into hundreds of thousands of tiny reads.
    buffer_.reserve(kChunkBytes);
  }
  ~Session() override { core_.remove_session(id_); }

  void start() {
    asio::dispatch(executor_, beast::bind_front_handler(&Session::do_read_header, shared_from_this()));
  }

  // Called from any thread by stop(): idle keep-alive connections close now, busy ones
  // after their response.
  void request_stop() override {
    // executor_, not stream_: the stream may have moved to a WebSocketSession.
    asio::post(executor_, beast::bind_front_handler(&Session::on_server_stop, shared_from_this()));
  }

 private:
  using Step = void (Session::*)();

  void on_server_stop() {
    if (idle_) close();
  }

  // ---- reading the request -------------------------------------------------------------

  void do_read_header() {
    exchange_.reset();
    source_.reset();
    string_res_.reset();
    stream_sr_.reset();
    stream_res_.reset();
    continue_res_.reset();
    if (closed_ || core_.stopping) {
      close();
      return;
    }
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(core_.options.max_header_bytes));
    // Beast 1.74 treats an empty optional as "0 allowed" for Content-Length, so the header
    // stage gets the largest value; the route's limit is applied once the route is known.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    idle_ = true;
    stream_.expires_after(core_.timeout());
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             beast::bind_front_handler(&Session::on_read_header, shared_from_this()));
  }

  void on_read_header(error_code ec, std::size_t) {
    idle_ = false;
    bool http_error = ec && ec.category() == bhttp::make_error_code(bhttp::error::end_of_stream).category();
    if (closed_ || (ec && !http_error) || ec == bhttp::error::end_of_stream ||
        ec == bhttp::error::partial_message) {
      // The client went away, the connection idled out, or we are closing it.
      close();
      return;
    }
    exchange_ = std::make_shared<Exchange>(core_.in_flight);
    if (ec) {
      // A malformed request: answer once, then close, since the stream position is lost.
      exchange_->request.request_id = next_request_id();
      exchange_->request.method = "OTHER";
      exchange_->keep_alive = false;
      int status = ec == bhttp::error::header_limit ? 431 : 400;
      send_response(Response::problem(status, errc::bad_request, "malformed HTTP request: " + ec.message()));
      return;
    }
    begin_request();
  }

  void fill_request(Request& req) {
    auto& hdr = parser_->get();
    req.method = std::string(hdr.method_string());
    req.target = std::string(hdr.target());
    std::string_view target = to_std(hdr.target());
    std::size_t q = target.find('?');
    req.path = percent_decode(target.substr(0, q));
    if (q != std::string_view::npos) req.query = parse_query(target.substr(q + 1));
    for (const auto& field : hdr) {
      std::string name = to_lower(to_std(field.name_string()));
      auto [it, inserted] = req.headers.emplace(name, std::string(field.value()));
      if (!inserted) it->second += ", " + std::string(field.value());
    }
    req.remote_address = remote_;
    std::string incoming = req.header("x-request-id");
    req.request_id = is_sane_request_id(incoming) ? incoming : next_request_id();
  }

  void begin_request() {
    Exchange& ex = *exchange_;
    Request& req = ex.request;
    fill_request(req);
    ex.version = parser_->get().version();
    ex.keep_alive = parser_->get().keep_alive();
    ex.head = req.method == "HEAD";
    ex.expect_continue = beast::iequals(req.header("expect"), "100-continue");

    RouteMatch match = core_.router.match(req.method, req.path);
    if (!match.route) {
      answer_unmatched(match);
      return;
    }
    ex.route = match.route;
    ex.route_label = match.route->pattern;
    req.params = std::move(match.params);
    if (match.route->options.websocket && websocket::is_upgrade(parser_->get())) {
      decide_upgrade();
      return;
    }

    bool streaming = match.route->options.streaming_body;
    std::int64_t limit = streaming ? core_.options.max_upload_bytes : core_.options.max_body_bytes;
    auto length = parser_->content_length();
    if (length && *length > static_cast<std::uint64_t>(limit)) {
      // Refused before reading a byte; without 100 Continue a well-behaved client never sends.
      ex.keep_alive = false;
      send_response(Response::problem(
          413, errc::too_large, fmt::format("the request body is {} bytes; the limit is {} bytes", *length, limit)));
      return;
    }
    parser_->body_limit(static_cast<std::uint64_t>(limit));
    if (streaming) {
      start_streaming_body(length);
      return;
    }
    if (parser_->is_done()) {
      dispatch_to_pool();
      return;
    }
    if (ex.expect_continue) {
      send_continue(&Session::read_small_body);
      return;
    }
    read_small_body();
  }

  // ---- WebSocket upgrades ----------------------------------------------------------------

  // Middlewares and the route's handler decide on the pool, as for any request.
  void decide_upgrade() {
    if (!parser_->is_done()) {
      exchange_->keep_alive = false;
      send_response(Response::problem(400, errc::bad_request, "a WebSocket upgrade request has no body"));
      return;
    }
    auto self = shared_from_this();
    auto exchange = exchange_;
    auto channel = std::make_shared<QueuedChannel>();
    asio::post(core_.pool, [self, exchange, channel, work = asio::make_work_guard(executor_)]() mutable {
      std::optional<Response> refusal = self->core_.handle_upgrade(exchange->request, *exchange->route, channel);
      asio::post(self->executor_, [self, channel, refusal = std::move(refusal)]() mutable {
        self->on_upgrade_decided(std::move(channel), std::move(refusal));
      });
      exchange.reset();  // before the work guard, as in dispatch_to_pool
      self.reset();
      work.reset();
    });
  }

  void on_upgrade_decided(std::shared_ptr<QueuedChannel> channel, std::optional<Response> refusal) {
    if (refusal || closed_ || core_.stopping) {
      channel->mark_ended();
      if (!refusal) refusal = Response::problem(503, errc::unavailable, "the server is shutting down");
      send_response(std::move(*refusal));
      return;
    }
    exchange_->status = 101;
    core_.record(*exchange_, remote_);
    bhttp::request<bhttp::empty_body> upgrade(parser_->get().base());
    std::uint64_t id = core_.next_session_id++;
    auto ws = std::make_shared<WebSocketSession>(std::move(stream_), core_, id, std::move(channel),
                                                 exchange_->request.target);
    core_.add_session(ws, id);
    // The socket belongs to the WebSocket now; this session ends when this call returns.
    closed_ = true;
    std::string protocol = std::move(exchange_->request.websocket_protocol);
    exchange_.reset();
    ws->run(std::move(upgrade), std::move(protocol));
  }

  void answer_unmatched(const RouteMatch& match) {
    const Request& req = exchange_->request;
    if (match.path_matched_other_method) {
      std::string allow;
      for (const auto& m : match.allowed_methods) allow += (allow.empty() ? "" : ", ") + m;
      auto res = Response::problem(405, errc::method_not_allowed,
                                   fmt::format("{} is not allowed on {}; allowed: {}", req.method, req.path, allow));
      res.set_header("Allow", allow);
      send_response(std::move(res));
      return;
    }
    send_response(Response::problem(404, errc::not_found, fmt::format("no such resource: {}", req.path)));
  }

  void start_streaming_body(boost::optional<std::uint64_t> length) {
    std::optional<std::int64_t> content_length;
    if (length) content_length = static_cast<std::int64_t>(*length);
    std::weak_ptr<Session> weak = weak_from_this();
    auto request_more = [weak] {
      if (auto self = weak.lock()) {
        asio::post(self->stream_.get_executor(), beast::bind_front_handler(&Session::read_upload_chunk, self));
      }
    };
    exchange_->upload = std::make_shared<UploadChannel>(std::move(request_more), content_length,
                                                        core_.timeout() + std::chrono::seconds(5));
    exchange_->request.body_stream = exchange_->upload.get();
    exchange_->streamed = true;
    dispatch_to_pool(core_.pool);  // the handler reads the body as it arrives: long
  }

  void start_body_read(void (Session::*handler)(error_code, std::size_t)) {
    auto& body = parser_->get().body();
    body.data = chunk_.data();
    body.size = chunk_.size();
    stream_.expires_after(core_.timeout());
    bhttp::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(handler, shared_from_this()));
  }

  std::size_t chunk_bytes_read() const { return chunk_.size() - parser_->get().body().size; }

  void read_small_body() { start_body_read(&Session::on_small_body); }

  void on_small_body(error_code ec, std::size_t) {
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec == bhttp::error::body_limit) {
      exchange_->keep_alive = false;
      send_response(Response::problem(
          413, errc::too_large,
          fmt::format("the request body is over the limit of {} bytes", core_.options.max_body_bytes)));
      return;
    }
    if (ec) {
      close();
      return;
    }
    exchange_->request.body.append(chunk_.data(), chunk_bytes_read());
    if (parser_->is_done()) {
      dispatch_to_pool();
      return;
    }
    read_small_body();
  }

  // Runs on the strand when the handler's read() wants the next chunk.
  void read_upload_chunk() {
    if (!exchange_ || !exchange_->upload) return;
    if (parser_->is_done()) {
      exchange_->upload->deliver({}, true);
      return;
    }
    if (exchange_->expect_continue && !exchange_->continue_sent) {
      send_continue(&Session::read_upload_chunk);
      return;
    }
    start_body_read(&Session::on_upload_chunk);
  }

  void on_upload_chunk(error_code ec, std::size_t) {
    if (!exchange_ || !exchange_->upload) return;
    UploadChannel& upload = *exchange_->upload;
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec == bhttp::error::body_limit) {
      exchange_->force_close = true;
      upload.fail(Error(errc::too_large,
                        fmt::format("the upload is over the limit of {} bytes", core_.options.max_upload_bytes)));
      return;
    }
    if (ec) {
      exchange_->force_close = true;
      upload.fail(Error(ec == beast::error::timeout ? errc::timeout : errc::io_error,
                        "reading the request body failed: " + ec.message()));
      return;
    }
    upload.deliver(std::string_view(chunk_.data(), chunk_bytes_read()), parser_->is_done());
  }

  // "Expect: 100-continue": the client waits for this before sending the body.
  void send_continue(Step next) {
    exchange_->continue_sent = true;
    continue_res_.emplace(bhttp::status::continue_, exchange_->version);
    stream_.expires_after(core_.timeout());
    bhttp::async_write(stream_, *continue_res_, [self = shared_from_this(), next](error_code ec, std::size_t) {
      if (!ec) {
        (self.get()->*next)();
        return;
      }
      if (self->exchange_ && self->exchange_->upload) {
        self->exchange_->force_close = true;
        self->exchange_->upload->fail(Error(errc::io_error, "sending 100 Continue failed: " + ec.message()));
        return;
      }
      self->close();
    });
  }

  // The request is complete: answered here by a quick handler, else on a pool.
  void dispatch_to_pool() {
    const Route& route = *exchange_->route;
    Resume from;
    if (route.options.quick && !route.options.blocking) {
      if (auto answer = core_.try_inline(exchange_->request, route, from)) {
        send_response(std::move(*answer));
        return;
      }
    }
    dispatch_to_pool(route.options.blocking ? core_.pool : core_.quick_pool, from);
  }

  void dispatch_to_pool(asio::thread_pool& pool, Resume from = {}) {
    auto self = shared_from_this();
    auto exchange = exchange_;
    asio::post(pool, [self, exchange, from, work = asio::make_work_guard(executor_)]() mutable {
      Response response = self->core_.handle(exchange->request, *exchange->route, from);
      asio::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
        self->send_response(std::move(response));
      });
      // The exchange's count must drop before the work guard lets run() return (the order in
      // which a lambda's captures are destroyed is unspecified).
      exchange.reset();
      self.reset();
      work.reset();
    });
  }

  // ---- writing the response ------------------------------------------------------------

  template <class Message>
  void apply_headers(Message& msg, const Response& res, std::string_view default_type) {
    msg.result(static_cast<unsigned>(res.status));
    msg.version(exchange_->version);
    bool has_type = false;
    for (const auto& [name, value] : res.headers) {
      if (beast::iequals(name, "content-type")) has_type = true;
      msg.insert(name, value);
    }
    if (!has_type) msg.set(bhttp::field::content_type, std::string(default_type));
    msg.set("X-Request-Id", exchange_->request.request_id);
    msg.set(bhttp::field::server, "finishthisidea");
    if (!core_.options.node_id.empty()) msg.set(kNodeHeader, core_.options.node_id);
  }

  void send_response(Response res) {
    if (!exchange_ || closed_) return;
    Exchange& ex = *exchange_;
    // An unread body leaves the stream mid-message, so the connection cannot be reused.
    bool body_unread = parser_ && parser_->is_header_done() && !parser_->is_done();
    ex.keep_alive = ex.keep_alive && !ex.force_close && !body_unread && !core_.stopping;
    ex.status = res.status;
    if (ex.head && res.stream) {
      std::int64_t size = std::max<std::int64_t>(0, res.stream->size());
      res.stream.reset();
      write_string(std::move(res), static_cast<std::uint64_t>(size));
      return;
    }
    if (res.stream) {
      write_stream(std::move(res));
      return;
    }
    write_string(std::move(res), std::nullopt);
  }

  void write_string(Response res, std::optional<std::uint64_t> head_length) {
    Exchange& ex = *exchange_;
    string_res_.emplace();
    apply_headers(*string_res_, res, "text/plain; charset=utf-8");
    std::uint64_t size = head_length ? *head_length : res.body.size();
    if (!ex.head) string_res_->body() = std::move(res.body);
    if (ex.head) {
      string_res_->content_length(size);
    } else {
      string_res_->prepare_payload();
    }
    string_res_->keep_alive(ex.keep_alive);
    ex.body_bytes = ex.head ? 0 : size;
    stream_.expires_after(core_.timeout());
    bhttp::async_write(stream_, *string_res_, beast::bind_front_handler(&Session::on_write, shared_from_this()));
  }

  void write_stream(Response res) {
    Exchange& ex = *exchange_;
    source_ = std::move(res.stream);
    exchange_->streamed = true;
    stream_res_.emplace();
    apply_headers(*stream_res_, res, "application/octet-stream");
    std::int64_t size = source_->size();
    if (size >= 0) {
      stream_res_->content_length(static_cast<std::uint64_t>(size));
    } else {
      stream_res_->chunked(true);
    }
    stream_res_->keep_alive(ex.keep_alive);
    stream_res_->body().data = nullptr;
    stream_res_->body().more = true;
    stream_sr_.emplace(*stream_res_);
    stream_.expires_after(core_.timeout());
    bhttp::async_write_header(stream_, *stream_sr_,
                              beast::bind_front_handler(&Session::on_stream_write, shared_from_this()));
  }

  void on_stream_write(error_code ec, std::size_t) {
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) {
      on_write(ec, 0);
      return;
    }
    if (stream_sr_->is_done()) {
      on_write({}, 0);
      return;
    }
    pump_stream();
  }

  // Reads the next response chunk on the pool (the source may be a disk or S3 read).
  void pump_stream() {
    auto self = shared_from_this();
    asio::post(core_.pool, [self, work = asio::make_work_guard(executor_)]() mutable {
      Result<std::size_t> n = self->source_->read(self->out_chunk_.data(), self->out_chunk_.size());
      asio::post(self->stream_.get_executor(),
                 [self, n = std::move(n)]() mutable { self->on_stream_chunk(std::move(n)); });
      self.reset();  // before the work guard, as in dispatch_to_pool
      work.reset();
    });
  }

  void on_stream_chunk(Result<std::size_t> n) {
    if (!n.ok()) {
      // Headers are gone already; all we can do is cut the connection so the client sees a
      // short body rather than a silently truncated "complete" one.
      core_.log->warn("response body for {} failed: {}", exchange_->request.target, n.error().message);
      exchange_->keep_alive = false;
      core_.record(*exchange_, remote_);
      close();
      return;
    }
    auto& body = stream_res_->body();
    if (*n == 0) {
      body.data = nullptr;
      body.size = 0;
      body.more = false;
    } else {
      body.data = out_chunk_.data();
      body.size = *n;
      body.more = true;
      exchange_->body_bytes += *n;
    }
    stream_.expires_after(core_.timeout());
    bhttp::async_write(stream_, *stream_sr_, beast::bind_front_handler(&Session::on_stream_write, shared_from_this()));
  }

  void on_write(error_code ec, std::size_t) {
    core_.record(*exchange_, remote_);
    if (ec) {
      close();
      return;
    }
    if (!exchange_->keep_alive) {
      shutdown_gracefully();
      return;
    }
    do_read_header();
  }

  // ---- closing -------------------------------------------------------------------------

  void shutdown_gracefully() {
    bool body_unread = parser_ && parser_->is_header_done() && !parser_->is_done();
    exchange_.reset();
    error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec || !body_unread) {
      close();
      return;
    }
    // Closing with unread bytes makes the kernel send a reset, which can destroy the
    // response in flight; discard what the client still sends, for a bounded time.
    stream_.expires_after(kLingerTime);
    linger();
  }

  void linger() {
    stream_.async_read_some(asio::buffer(chunk_), beast::bind_front_handler(&Session::on_linger, shared_from_this()));
  }

  void on_linger(error_code ec, std::size_t) {
    if (ec) {
      close();
      return;
    }
    linger();
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

  ServerCore& core_;
  std::uint64_t id_;
  Stream stream_;
  Strand executor_{stream_.get_executor()};  // the connection's strand
  beast::flat_buffer buffer_;
  std::string remote_;
  std::optional<bhttp::request_parser<bhttp::buffer_body>> parser_;
  std::vector<char> chunk_;      // request body bytes land here, one chunk at a time
  std::vector<char> out_chunk_;  // response body bytes, one chunk at a time
  std::shared_ptr<Exchange> exchange_;
  std::unique_ptr<BodySource> source_;
  std::optional<bhttp::response<bhttp::string_body>> string_res_;
  std::optional<bhttp::response<bhttp::buffer_body>> stream_res_;
  std::optional<bhttp::response_serializer<bhttp::buffer_body>> stream_sr_;
  std::optional<bhttp::response<bhttp::empty_body>> continue_res_;
  bool idle_ = false;    // waiting for the next request's header
  bool closed_ = false;
};

std::optional<Response> ServerCore::run_middlewares(Request& request, const Route& route, std::size_t& next) const {
  for (; next < middlewares.size(); ++next) {
    if (auto early = middlewares[next](request, route)) return early;
  }
  return std::nullopt;
}

Response internal_error(const Request& request) {
  return Response::problem(500, errc::internal,
                           "internal error; quote request id " + request.request_id + " when reporting it");
}

std::optional<Response> ServerCore::handle_upgrade(Request& request, const Route& route,
                                                   std::shared_ptr<WebSocketChannel> channel) {
  log::ScopedLogContext context(request.request_id);
  try {
    std::size_t next = 0;
    if (auto early = run_middlewares(request, route, next)) {
      if (!early->is_deferred()) return early;
      log->error("middleware {} deferred the WebSocket {}, which runs on the pool", next, route.pattern);
      return internal_error(request);
    }
    if (!route.websocket_handler) {
      return Response::problem(500, errc::internal, "the WebSocket route " + route.pattern + " has no handler");
    }
    return route.websocket_handler(request, std::move(channel));
  } catch (const std::exception& e) {
    log->error("WebSocket handler for {} threw: {}", route.pattern, e.what());
    return internal_error(request);
  }
}

Response ServerCore::handle(Request& request, const Route& route, Resume from) {
  log::ScopedLogContext context(request.request_id);
  request.on_io_thread = false;
  try {
    std::size_t next = from.middleware;
    if (auto early = run_middlewares(request, route, next)) {
      if (!early->is_deferred()) return std::move(*early);
      log->error("middleware {} deferred {} on the pool, where it may block", next, route.pattern);
      return internal_error(request);
    }
    if (route.options.quick && !from.quick_tried) {
      if (auto answer = route.options.quick(request)) return std::move(*answer);
    }
    return route.handler(request);
  } catch (const std::exception& e) {
    log->error("handler for {} {} threw: {}", request.method, route.pattern, e.what());
    return internal_error(request);
  }
}

std::optional<Response> ServerCore::try_inline(Request& request, const Route& route, Resume& from) {
  log::ScopedLogContext context(request.request_id);
  request.on_io_thread = true;
  try {
    // A deferral leaves from.middleware at the deferring one: it runs again on the pool.
    if (auto early = run_middlewares(request, route, from.middleware)) {
      if (early->is_deferred()) return std::nullopt;
      return early;
    }
    from.quick_tried = true;
    return route.options.quick(request);
  } catch (const std::exception& e) {
    log->error("quick handler for {} {} threw: {}", request.method, route.pattern, e.what());
    return internal_error(request);
  }
}

void ServerCore::record(Exchange& exchange, const std::string& remote) {
  if (exchange.recorded) return;
  exchange.recorded = true;
  double seconds = exchange.stopwatch.seconds();
  const Request& req = exchange.request;
  const RequestSeries series = series_of(exchange);
  series.requests.inc();
  series.duration.observe(seconds);
  // The API SLA is about answers, not transfers: a 500 MB upload or download would count as
  // a slow request however fast the service was.
  if (options.on_exchange && !exchange.streamed) options.on_exchange(exchange.status, seconds);
  if (!log->should_log(spdlog::level::info)) return;
  log::ScopedLogContext context(req.request_id);
  log->info("{} {} {} {}B {:.1f}ms {}", req.method, req.target, exchange.status, exchange.body_bytes,
            seconds * 1000.0, remote);
}

ServerCore::RequestSeries ServerCore::series_of(const Exchange& exchange) {
  const std::size_t method = method_index(exchange.request.method);
  const auto key = std::make_tuple(exchange.route, method, exchange.status);
  std::lock_guard lock(series_mutex);
  auto it = request_series.find(key);
  if (it == request_series.end()) {
    const std::string route(exchange.route_label);
    RequestSeries series{
        metrics.counter("fti_http_requests_total", {{"method", std::string(kMethodLabels[method])},
                                                    {"route", route},
                                                    {"status", std::to_string(exchange.status)}}),
        metrics.histogram("fti_http_request_duration_seconds", {{"route", route}})};
    it = request_series.emplace(key, series).first;
  }
  return it->second;
}

void ServerCore::do_accept() {
  acceptor.async_accept(Strand(context_for_next().get_executor()), beast::bind_front_handler(&ServerCore::on_accept, this));
}

void ServerCore::on_accept(error_code ec, Socket socket) {
  if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
  if (ec) {
    // Running out of descriptors is transient; keep accepting.
    log->warn("accept failed: {}", ec.message());
  } else if (!stopping) {
    std::uint64_t id = next_session_id++;
    auto session = std::make_shared<Session>(std::move(socket), *this, id);
    add_session(session, id);
    session->start();
  }
  if (!stopping) do_accept();
}

void ServerCore::add_session(const std::shared_ptr<Connection>& session, std::uint64_t id) {
  std::lock_guard lock(sessions_mutex);
  sessions.emplace(id, session);
}

void ServerCore::remove_session(std::uint64_t id) {
  std::lock_guard lock(sessions_mutex);
  sessions.erase(id);
}

void ServerCore::stop() {
  bool expected = false;
  if (!stopping.compare_exchange_strong(expected, true)) return;
  for (auto& w : more_work) w.reset();
  asio::post(acceptor.get_executor(), [this] {
    error_code ec;
    acceptor.close(ec);
  });
  std::vector<std::shared_ptr<Connection>> live;
  {
    std::lock_guard lock(sessions_mutex);
    for (auto& [id, weak] : sessions) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) s->request_stop();
}

}  // namespace

struct HttpServer::Impl {
  Impl(ServerOptions options, const Router& router, ops::Metrics& metrics)
      : core(std::move(options), router, metrics) {}
  ServerCore core;
};

HttpServer::HttpServer(ServerOptions options, const Router& router, ops::Metrics& metrics)
    : impl_(std::make_unique<Impl>(std::move(options), router, metrics)) {}

HttpServer::~HttpServer() {
  stop();
  impl_->core.pool.join();
  impl_->core.quick_pool.join();
}

void HttpServer::use(Middleware middleware) { impl_->core.middlewares.push_back(std::move(middleware)); }

Result<std::uint16_t> HttpServer::listen() {
  ServerCore& core = impl_->core;
  const auto& opts = core.options;
  error_code ec;
  tcp::resolver resolver(core.ioc);
  auto results = resolver.resolve(opts.host, std::to_string(opts.port), ec);
  if (ec || results.empty()) {
    return Error(errc::bad_config, fmt::format("cannot resolve listen host '{}': {}", opts.host, ec.message()));
  }
  tcp::endpoint endpoint = results.begin()->endpoint();
  auto fail = [&](std::string_view what) {
    return Error(errc::io_error, fmt::format("cannot {} {}:{}: {} (is another server on that port?)", what,
                                             opts.host, opts.port, ec.message()));
  };
  if (core.acceptor.open(endpoint.protocol(), ec); ec) return fail("open a socket for");
  if (core.acceptor.set_option(asio::socket_base::reuse_address(true), ec); ec) return fail("configure");
  if (core.acceptor.bind(endpoint, ec); ec) return fail("bind");
  if (core.acceptor.listen(asio::socket_base::max_listen_connections, ec); ec) return fail("listen on");
  std::uint16_t port = core.acceptor.local_endpoint(ec).port();
  core.do_accept();
  core.log->info("listening on {}:{}", opts.host, port);
  return port;
}

void HttpServer::run() {
  ServerCore& core = impl_->core;
  auto run_loop = [&core](asio::io_context& ioc) {
    while (true) {
      try {
        ioc.run();
        return;
      } catch (const std::exception& e) {
        core.log->error("I/O thread caught: {}", e.what());
      }
    }
  };
  std::vector<std::thread> threads;
  for (auto& c : core.more) threads.emplace_back(run_loop, std::ref(*c));
  run_loop(core.ioc);
  for (auto& t : threads) t.join();
}

void HttpServer::stop() { impl_->core.stop(); }

std::int64_t HttpServer::in_flight() const { return impl_->core.in_flight.load(); }

}  // namespace fti::http
