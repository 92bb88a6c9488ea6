// The HTTP server around api::Handlers: accepting, reading requests within bounds, writing
// responses, and the /v1/events streams. Single-threaded on the daemon's io_context.
#include "io/api/server.hpp"

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <chrono>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "io/api/handlers.hpp"
#include "io/api/sse.hpp"
#include "io/node_host.hpp"

namespace myco {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// Bounds; docs/API.md says what a client sees at each.
constexpr uint32_t kHeaderBytesMax = 16 * 1024;  // 431 and close
constexpr uint64_t kBodyBytesMax = 1024 * 1024;  // 413 and close
constexpr size_t kConnectionsMax = 64;           // above: 503 and close
constexpr size_t kEventStreamsMax = 32;          // above: 503 (streams count as connections)
constexpr auto kIdleTimeout = std::chrono::seconds(30);        // a whole request must arrive in it
constexpr auto kWriteTimeout = std::chrono::seconds(30);       // a response/event write must finish
constexpr auto kKeepaliveInterval = std::chrono::seconds(15);  // SSE comment on a quiet stream
constexpr auto kAcceptRetry = std::chrono::milliseconds(100);  // after e.g. EMFILE

std::string EndpointText(const tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  const std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return host + ":" + std::to_string(endpoint.port());
}

}  // namespace

class ApiSession;

struct ApiServer::Impl {
  Impl(asio::io_context& io_context, NodeHost& node_host, ApiOptions api_options)
      : io(io_context),
        host(node_host),
        options(std::move(api_options)),
        handlers(node_host, options.token, options.extra_metrics),
        acceptor(io_context),
        accept_retry(io_context) {}

  void Accept(const std::shared_ptr<Impl>& self);
  void Reject(tcp::socket socket);
  void OnEvent(TimePoint at, const AppEvent& event);

  asio::io_context& io;
  NodeHost& host;
  ApiOptions options;
  api::Handlers handlers;
  tcp::acceptor acceptor;
  asio::steady_timer accept_retry;
  bool started = false;
  bool stopped = false;
  uint64_t subscription = 0;
  uint64_t next_session = 1;
  std::map<uint64_t, std::weak_ptr<ApiSession>> sessions;
  std::map<uint64_t, std::weak_ptr<ApiSession>> streams;  // sessions turned event streams
};

// One connection: a keep-alive sequence of requests, or, after GET /v1/events, an event stream.
class ApiSession : public std::enable_shared_from_this<ApiSession> {
 public:
  ApiSession(std::shared_ptr<ApiServer::Impl> impl, tcp::socket socket, uint64_t id)
      : impl_(std::move(impl)),
        stream_(std::move(socket)),
        keepalive_(stream_.get_executor()),
        id_(id) {
    ++impl_->handlers.api_counters().connections_open;
    ++impl_->handlers.api_counters().connections_accepted;
  }
  ~ApiSession() {
    api::ApiCounters& counters = impl_->handlers.api_counters();
    --counters.connections_open;
    impl_->sessions.erase(id_);
    if (streaming_) {
      --counters.event_streams_open;
      impl_->streams.erase(id_);
    }
  }

  void Start() { ReadRequest(); }

  void Close() {
    if (closed_) return;
    closed_ = true;
    keepalive_.cancel();
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

  // An event for a stream (SSE mode only). Never completes anything inline.
  void PushEvent(TimePoint at, const std::string& frame) {
    if (!streaming_ || closed_ || events_.overflowed()) return;
    if (!events_.Push(frame)) {
      ++impl_->handlers.api_counters().event_overflows;
      events_.Overflow(api::SseFrame(api::OverflowEventJson(at, events_.size() + 1)));
    }
    WriteNextEvent();
  }

 private:
  void ReadRequest() {
    if (closed_) return;
    parser_.emplace();
    parser_->header_limit(kHeaderBytesMax);
    parser_->body_limit(kBodyBytesMax);
    stream_.expires_after(kIdleTimeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    // curl sends "Expect: 100-continue" before bodies over 1 KiB and waits a second for it.
    const auto expect = parser_->get()[http::field::expect];
    if (beast::iequals(expect, "100-continue") && !parser_->is_done()) {
      auto interim =
          std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
      http::async_write(stream_, *interim,
                        [self = shared_from_this(), interim](beast::error_code wec, size_t) {
                          if (wec) return self->Close();
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    if (closed_) return;
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnBody(ec); });
  }

  void OnReadError(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      return Respond(api::ErrorResponse(413, "request body larger than " +
                                                 std::to_string(kBodyBytesMax) + " bytes"),
                     false);
    }
    if (ec == http::error::header_limit) {
      return Respond(api::ErrorResponse(431, "request header larger than " +
                                                 std::to_string(kHeaderBytesMax) + " bytes"),
                     false);
    }
    // End of stream, idle timeout, reset, server stopping: nothing to answer.
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::error::eof || ec == http::error::partial_message || closed_) {
      return Close();
    }
    Respond(api::ErrorResponse(400, "malformed HTTP request: " + ec.message()), false);
  }

  void OnBody(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    if (impl_->stopped) return Close();
    const auto& request = parser_->get();
    api::ApiRequest view;
    view.method = request.method_string();
    view.target = request.target();
    view.authorization = request[http::field::authorization];
    view.body = request.body();
    api::ApiResponse response = impl_->handlers.Handle(view);
    if (response.event_stream) return StartStream();
    Respond(std::move(response), request.keep_alive());
  }

  void Respond(api::ApiResponse response, bool keep_alive) {
    if (closed_) return;
    auto message = std::make_shared<http::response<http::string_body>>();
    message->result(response.status);
    message->version(11);
    message->set(http::field::server, "myco");
    message->set(http::field::content_type, response.content_type);
    message->set(http::field::cache_control, "no-store");
    for (const auto& [name, value] : response.headers) message->set(name, value);
    message->body() = std::move(response.body);
    message->keep_alive(keep_alive);
    message->prepare_payload();
    stream_.expires_after(kWriteTimeout);
    http::async_write(
        stream_, *message,
        [self = shared_from_this(), message, keep_alive](beast::error_code ec, size_t) {
          if (ec || !keep_alive) return self->Close();
          self->ReadRequest();
        });
  }

  // ---- event stream ----

  void StartStream() {
    if (impl_->streams.size() >= kEventStreamsMax) {
      return Respond(api::ErrorResponse(503, "too many event streams (max " +
                                                 std::to_string(kEventStreamsMax) + ")"),
                     false);
    }
    streaming_ = true;
    ++impl_->handlers.api_counters().event_streams_open;
    impl_->streams.emplace(id_, weak_from_this());
    // No Content-Length and "Connection: close": the body is the stream, ended by a close.
    events_.Push(
        "HTTP/1.1 200 OK\r\nServer: myco\r\nContent-Type: text/event-stream\r\n"
        "Cache-Control: no-store\r\nX-Accel-Buffering: no\r\nConnection: close\r\n\r\n"
        ": myco event stream\n\n");
    WriteNextEvent();
    WatchForClose();
    ScheduleKeepalive();
  }

  // A stream client never sends anything more; a read that completes means it closed (or broke
  // protocol), so the stream ends. Keeps connection counts honest between events.
  void WatchForClose() {
    stream_.socket().async_read_some(asio::buffer(sink_),
                                     [self = shared_from_this()](beast::error_code ec, size_t) {
                                       (void)ec;
                                       self->Close();
                                     });
  }

  void ScheduleKeepalive() {
    keepalive_.expires_after(kKeepaliveInterval);
    keepalive_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->closed_) return;
      if (!self->write_busy_ && self->events_.empty() && !self->events_.overflowed()) {
        self->events_.Push(": keepalive\n\n");
        self->WriteNextEvent();
      }
      self->ScheduleKeepalive();
    });
  }

  void WriteNextEvent() {
    if (closed_ || write_busy_) return;
    if (events_.empty()) {
      if (events_.overflowed()) Close();
      return;
    }
    // The frame in flight lives here, not in the buffer, which Overflow may clear meanwhile.
    writing_ = std::move(events_.front());
    events_.pop();
    write_busy_ = true;
    stream_.expires_after(kWriteTimeout);
    asio::async_write(stream_, asio::buffer(writing_),
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        self->write_busy_ = false;
                        if (ec) return self->Close();
                        if (self->writing_.rfind("data:", 0) == 0) {
                          ++self->impl_->handlers.api_counters().events_sent;
                        }
                        self->WriteNextEvent();
                      });
  }

  std::shared_ptr<ApiServer::Impl> impl_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  asio::steady_timer keepalive_;
  uint64_t id_;
  bool closed_ = false;
  bool streaming_ = false;
  bool write_busy_ = false;
  api::EventBuffer events_;
  std::string writing_;
  std::array<char, 256> sink_{};
};

void ApiServer::Impl::Accept(const std::shared_ptr<Impl>& self) {
  acceptor.async_accept(io, [self](beast::error_code ec, tcp::socket socket) {
    if (self->stopped) return;
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      // Out of descriptors or similar: try again shortly instead of spinning.
      self->accept_retry.expires_after(kAcceptRetry);
      self->accept_retry.async_wait([self](beast::error_code wec) {
        if (!wec && !self->stopped) self->Accept(self);
      });
      return;
    }
    if (self->sessions.size() >= kConnectionsMax) {
      self->Reject(std::move(socket));
    } else {
      const uint64_t id = self->next_session++;
      auto session = std::make_shared<ApiSession>(self, std::move(socket), id);
      self->sessions.emplace(id, session);
      session->Start();
    }
    self->Accept(self);
  });
}

void ApiServer::Impl::Reject(tcp::socket socket) {
  // Best effort and never blocking: the 503 fits any fresh socket's send buffer. A client still
  // sending its request may see a reset instead (the unread request is discarded on close).
  ++handlers.api_counters().connections_rejected;
  static const std::string kBusy =
      "HTTP/1.1 503 Service Unavailable\r\nServer: myco\r\nContent-Type: application/json\r\n"
      "Content-Length: 57\r\nConnection: close\r\n\r\n"
      "{\"error\":\"too many connections to the node API, retry\"}\n";
  beast::error_code ec;
  socket.non_blocking(true, ec);
  if (!ec) socket.write_some(asio::buffer(kBusy), ec);
  socket.shutdown(tcp::socket::shutdown_both, ec);
  socket.close(ec);
}

void ApiServer::Impl::OnEvent(TimePoint at, const AppEvent& event) {
  if (const auto* delivered = std::get_if<InformationDelivered>(&event);
      delivered != nullptr && delivered->packet != nullptr) {
    const double latency_s =
        static_cast<double>(at.ns - delivered->packet->created_at_ms * 1'000'000) / 1e9;
    handlers.latency().Observe(latency_s);
  }
  if (streams.empty()) return;
  const std::string frame = api::SseFrame(api::EventJson(at, event));
  std::vector<std::shared_ptr<ApiSession>> live;
  live.reserve(streams.size());
  for (auto& [id, weak] : streams) {
    if (auto session = weak.lock()) live.push_back(std::move(session));
  }
  for (auto& session : live) session->PushEvent(at, frame);
}

ApiServer::ApiServer(boost::asio::io_context& io, NodeHost& host, ApiOptions options)
    : impl_(std::make_shared<Impl>(io, host, std::move(options))) {}

ApiServer::~ApiServer() { Stop(); }

Result<std::string> ApiServer::Start() {
  Impl& impl = *impl_;
  if (impl.started) return MakeError(ErrorCode::kInternal, "the API server was already started");
  const std::string& listen = impl.options.listen;
  auto fail = [&](const std::string& why) {
    return MakeError(ErrorCode::kUnavailable, "cannot listen on " + listen + ": " + why);
  };
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) return fail("expected host:port");
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string port_text = listen.substr(colon + 1);
  uint32_t port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
    return fail("bad port '" + port_text + "'");
  }
  beast::error_code error;
  tcp::resolver resolver(impl.io);
  const auto results = resolver.resolve(host, port_text, tcp::resolver::passive, error);
  if (error || results.empty()) return fail(error ? error.message() : "no address");
  const tcp::endpoint endpoint = results.begin()->endpoint();
  impl.acceptor.open(endpoint.protocol(), error);
  if (!error) impl.acceptor.set_option(asio::socket_base::reuse_address(true), error);
  if (!error) impl.acceptor.bind(endpoint, error);
  if (!error) impl.acceptor.listen(asio::socket_base::max_listen_connections, error);
  if (error) {
    beast::error_code ignored;
    impl.acceptor.close(ignored);
    return fail(error.message());
  }
  const tcp::endpoint bound = impl.acceptor.local_endpoint(error);
  if (error) return fail(error.message());
  impl.started = true;
  Impl* raw = impl_.get();
  impl.subscription =
      impl.host.Subscribe([raw](TimePoint at, const AppEvent& event) { raw->OnEvent(at, event); });
  impl.Accept(impl_);
  return EndpointText(bound);
}

void ApiServer::Stop() {
  Impl& impl = *impl_;
  if (impl.stopped) return;
  impl.stopped = true;
  if (impl.started) impl.host.Unsubscribe(impl.subscription);
  beast::error_code ignored;
  impl.acceptor.close(ignored);
  impl.accept_retry.cancel();
  std::vector<std::shared_ptr<ApiSession>> live;
  for (auto& [id, weak] : impl.sessions) {
    if (auto session = weak.lock()) live.push_back(std::move(session));
  }
  for (auto& session : live) session->Close();
}

}  // namespace myco
