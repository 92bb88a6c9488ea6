#include "io/transport.hpp"

#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <cassert>
#include <chrono>
#include <cstdio>
#include <deque>
#include <exception>
#include <optional>
#include <span>
#include <unordered_map>
#include <utility>

#include "crypto/tls.hpp"
#include "io/config.hpp"
#include "io/tls_stream.hpp"
#include "myco/rng.hpp"
#include "wire/codec.hpp"

namespace myco {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using boost::system::error_code;

namespace {

// ---- the admission pre-frames ----
// Exchanged in ordinary frames between the TLS handshake and the first protocol message, in a
// fixed little format rather than in myco.proto: they are not protocol messages (the core never
// sees them), and a fixed format leaves nothing to parse loosely.
//   payload = "MYCA" | version (1) | type (1) | body
//   type 1, proof:   body = 32-byte HMAC, or empty when the sender has no network secret
//   type 2, accept:  body empty
//   type 3, refuse:  body = 1 byte, the reason code below
constexpr std::string_view kAdmissionMagic = "MYCA";
constexpr uint8_t kAdmissionVersion = 1;
constexpr size_t kAdmissionFrameBytesMax = 64;
enum class AdmissionType : uint8_t { kProof = 1, kAccept = 2, kRefuse = 3 };
enum class RefuseReason : uint8_t { kSecret = 1, kAllowlist = 2, kProtocol = 3 };

const char* RefuseReasonText(uint8_t reason) {
  switch (static_cast<RefuseReason>(reason)) {
    case RefuseReason::kSecret: return "network secret mismatch";
    case RefuseReason::kAllowlist: return "not in allowed_nodes";
    case RefuseReason::kProtocol: return "admission protocol error";
  }
  return "unknown reason";
}

const char* RefuseReasonLabel(RefuseReason reason) {
  switch (reason) {
    case RefuseReason::kSecret: return "network_secret";
    case RefuseReason::kAllowlist: return "allowlist";
    case RefuseReason::kProtocol: return "admission_protocol";
  }
  return "unknown";
}

std::string AdmissionFrame(AdmissionType type, std::string_view body) {
  std::string payload(kAdmissionMagic);
  payload += static_cast<char>(kAdmissionVersion);
  payload += static_cast<char>(type);
  payload.append(body);
  std::string frame;
  AppendFrame(frame, payload);
  return frame;
}

struct AdmissionMessage {
  AdmissionType type = AdmissionType::kProof;
  std::string body;
};

std::optional<AdmissionMessage> ParseAdmission(std::string_view payload) {
  if (payload.size() < 6 || payload.size() > kAdmissionFrameBytesMax ||
      payload.substr(0, 4) != kAdmissionMagic ||
      static_cast<uint8_t>(payload[4]) != kAdmissionVersion) {
    return std::nullopt;
  }
  AdmissionMessage message;
  message.body = std::string(payload.substr(6));
  switch (static_cast<uint8_t>(payload[5])) {
    case 1:
      if (!message.body.empty() && message.body.size() != 32) return std::nullopt;
      message.type = AdmissionType::kProof;
      return message;
    case 2:
      if (!message.body.empty()) return std::nullopt;
      message.type = AdmissionType::kAccept;
      return message;
    case 3:
      if (message.body.size() != 1) return std::nullopt;
      message.type = AdmissionType::kRefuse;
      return message;
    default: return std::nullopt;
  }
}

bool IsWildcardHost(std::string_view host) {
  return host == "0.0.0.0" || host == "::" || host == "0:0:0:0:0:0:0:0";
}

std::string FormatEndpoint(const tcp::endpoint& endpoint) {
  const asio::ip::address address = endpoint.address();
  std::string host = address.to_string();
  if (address.is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(endpoint.port());
}

// Why a read ended, in the words LinkDown carries.
std::string ReadErrorWhy(const error_code& ec) {
  if (ec == asio::error::eof || ec == ssl::error::stream_truncated) return "closed by peer";
  if (ec == asio::error::connection_reset) return "connection reset";
  return "read failed: " + ec.message();
}

enum class Phase : uint8_t {
  kConnecting,  // resolving / TCP connect (dials only)
  kTls,         // TLS handshake
  kAdmission,   // our proof sent, waiting for theirs
  kVerdict,     // we accepted them, waiting for their verdict
  kLinked,      // LinkUp given
  kClosing,     // flushing, then half-closed, waiting for the peer's close
  kClosed,
};

struct Conn : std::enable_shared_from_this<Conn> {
  Conn(tcp::socket socket, ssl::context& context)
      : stream(std::move(socket), context),
        handshake_timer(stream.get_executor()),
        close_timer(stream.get_executor()),
        delay_timer(stream.get_executor()),
        resolver(stream.get_executor()) {}

  Transport::Impl* owner = nullptr;  // null once the transport is gone or aborted
  uint64_t serial = 0;
  TlsStream stream;  // not asio::ssl::stream: 68 KB less per link (tls_stream.hpp)
  asio::steady_timer handshake_timer;
  asio::steady_timer close_timer;
  asio::steady_timer delay_timer;
  tcp::resolver resolver;

  Phase phase = Phase::kConnecting;
  bool outbound = false;
  bool dial_reported = false;  // outbound: LinkUp or DialFailed was given
  bool current = false;        // the peer's connection in peers_ (LinkUp given, no LinkDown yet)
  bool hello_seen = false;
  std::string address;  // dialled (outbound) or remote (inbound) host:port
  std::string remote_host;
  NodeId expected;
  NodeId peer;
  SteadyClock::time_point linked_at;

  std::unique_ptr<FrameDecoder> decoder;
  // Not zeroed: only the bytes a read returns are looked at, and an idle link's small frames
  // then keep just the first page of it resident.
  std::array<uint8_t, 16 * 1024> read_buffer;

  // Frames waiting for the next write, the one in flight, and (fault layer) the delayed ones.
  std::string pending;
  uint64_t pending_messages = 0;
  bool pending_report = false;
  std::string writing;
  uint64_t writing_messages = 0;
  bool writing_report = false;
  bool write_in_flight = false;
  bool send_shut = false;
  uint64_t written_total = 0;  // core messages written (or lost by the fault layer) so far
  struct Delayed {
    SteadyClock::time_point due;
    std::string frame;  // empty: a message the fault layer dropped
    bool report = false;
  };
  std::deque<Delayed> delayed;
  size_t delayed_bytes = 0;

  size_t BufferedBytes() const { return pending.size() + writing.size() + delayed_bytes; }
  bool Handshaking() const { return phase < Phase::kLinked; }
};

}  // namespace

class Transport::Impl {
 public:
  Impl(asio::io_context& io, std::shared_ptr<const Identity> identity, TransportOptions options,
       InputSink sink)
      : io_(io),
        identity_(std::move(identity)),
        options_(std::move(options)),
        sink_(std::move(sink)),
        acceptor_(io),
        accept_retry_(io),
        fault_rng_(options_.faults.seed) {}

  ~Impl() {
    Abort();
    *alive_ = false;  // handlers still queued (accept, posted work) see this and do nothing
  }

  // ------------------------------------------------------------------ start, stop

  Result<std::string> Start() {
    Result<std::unique_ptr<ssl::context>> context = MakeTlsContext(*identity_);
    if (!context.ok()) return context.error();
    context_ = std::move(context).value();
    Result<HostPort> listen = ParseHostPort(options_.listen, /*allow_port_zero=*/true);
    if (!listen.ok()) return listen.error();
    try {
      error_code ec;
      const asio::ip::address address = asio::ip::make_address(listen->host, ec);
      if (ec) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "listen address must be an IP address, got '" + listen->host + "'");
      }
      const tcp::endpoint endpoint(address, listen->port);
      acceptor_.open(endpoint.protocol());
      acceptor_.set_option(tcp::acceptor::reuse_address(true));
      acceptor_.bind(endpoint, ec);
      if (ec) {
        return MakeError(ErrorCode::kUnavailable,
                         "cannot listen on " + options_.listen + ": " + ec.message());
      }
      acceptor_.listen(asio::socket_base::max_listen_connections);
      const tcp::endpoint bound = acceptor_.local_endpoint();
      std::string host = listen->host;
      if (bound.address().is_v6()) host = "[" + host + "]";
      listen_address_ = host + ":" + std::to_string(bound.port());
    } catch (const std::exception& e) {
      return MakeError(ErrorCode::kUnavailable,
                       "cannot listen on " + options_.listen + ": " + e.what());
    }
    StartAccept();
    return listen_address_;
  }

  void Shutdown(std::function<void()> done) {
    if (stopping_) return;
    stopping_ = true;
    shutdown_done_ = std::move(done);
    error_code ignored;
    acceptor_.close(ignored);
    accept_retry_.cancel();
    std::vector<std::shared_ptr<Conn>> all;
    for (auto& [serial, conn] : conns_) all.push_back(conn);
    for (auto& conn : all) {
      if (conn->phase == Phase::kClosing || conn->phase == Phase::kClosed) continue;
      if (conn->Handshaking()) {
        Finalize(conn);
      } else {
        Unlink(*conn);
        BeginClose(conn);
      }
    }
    MaybeShutdownDone();
  }

  void Abort() {
    stopping_ = true;
    error_code ignored;
    acceptor_.close(ignored);
    accept_retry_.cancel();
    auto all = std::move(conns_);
    conns_.clear();
    peers_.clear();
    for (auto& [serial, conn] : all) {
      conn->owner = nullptr;
      conn->phase = Phase::kClosed;
      CancelTimers(*conn);
      conn->resolver.cancel();
      conn->stream.lowest_layer().close(ignored);
    }
    handshakes_ = 0;
    shutdown_done_ = nullptr;
  }

  // ------------------------------------------------------------------ LinkDriver

  void Send(const NodeId& peer, const Message& message, bool report_written) {
    auto it = peers_.find(peer);
    if (it == peers_.end()) {
      ++counters_.dropped["no_link"];
      return;
    }
    const std::shared_ptr<Conn>& conn = it->second;
    std::string frame;
    if (!options_.test_hello_id.IsZero() && std::holds_alternative<Hello>(message)) {
      Hello lie = std::get<Hello>(message);
      auto info = std::make_shared<NodeInfo>(lie.info ? *lie.info : NodeInfo{});
      info->id = options_.test_hello_id;
      lie.info = std::move(info);
      AppendMessageFrame(frame, Message{std::move(lie)});
    } else {
      AppendMessageFrame(frame, message);
    }
    const bool lost = options_.faults.drop_probability > 0 &&
                      fault_rng_.Bernoulli(options_.faults.drop_probability);
    if (lost) {
      ++counters_.dropped["fault"];
      frame.clear();  // still counted as written: it left, and the network lost it
    }
    if (options_.faults.delay.ns > 0) {
      conn->delayed_bytes += frame.size();
      conn->delayed.push_back(
          Conn::Delayed{SteadyClock::now() + std::chrono::nanoseconds(options_.faults.delay.ns),
                        std::move(frame), report_written});
      if (conn->delayed.size() == 1) ArmDelay(conn);
    } else {
      conn->pending.append(frame);
      ++conn->pending_messages;
      conn->pending_report = conn->pending_report || report_written;
      StartWrite(conn);
    }
    if (conn->BufferedBytes() > options_.write_buffer_bytes_max) {
      // The core's window keeps this far below the bound; a peer that stopped reading gets here.
      ++counters_.refused["write_overflow"];
      Log("closing link to " + Describe(*conn) + ": write buffer over " +
          std::to_string(options_.write_buffer_bytes_max) + " bytes (peer not reading)");
      std::weak_ptr<Conn> weak = conn;
      asio::post(io_, [this, weak] {
        if (auto c = weak.lock(); c && c->owner != nullptr) Fail(c, "write buffer overflow");
      });
    }
  }

  void Dial(const std::string& address, const NodeId& expected) {
    auto fail_later = [this, address](std::string why, const char* label) {
      if (label != nullptr) ++counters_.refused[label];
      Defer([this, address, why = std::move(why)] {
        if (!stopping_) sink_(DialFailed{address, why});
      });
    };
    if (stopping_) return;
    if (!expected.IsZero() && peers_.count(expected) > 0) {
      fail_later("already connected", nullptr);
      return;
    }
    if (conns_.size() >= options_.connections_max || handshakes_ >= options_.handshakes_max) {
      fail_later("connection limit", "connection_limit");
      return;
    }
    Result<HostPort> target = ParseHostPort(address, /*allow_port_zero=*/false);
    if (!target.ok()) {
      fail_later("bad address: " + target.error().message, nullptr);
      return;
    }
    auto conn = NewConn(tcp::socket(io_), /*outbound=*/true);
    conn->address = address;
    conn->expected = expected;
    ++counters_.dialled;
    // A numeric address (what `myco up`, the peer exchange and most configs give) is connected
    // to directly: asio runs every async_resolve on a thread of its own, which would then idle
    // in each node for its whole life (its stack and malloc arena are resident memory).
    error_code parse_error;
    const asio::ip::address ip = asio::ip::make_address(target->host, parse_error);
    if (!parse_error) {
      const tcp::endpoint endpoint(ip, target->port);
      conn->stream.lowest_layer().async_connect(
          endpoint, [this, conn, endpoint](const error_code& ec) {
            if (conn->owner == nullptr || conn->phase != Phase::kConnecting) return;
            OnConnected(conn, ec, endpoint);
          });
      return;
    }
    conn->resolver.async_resolve(
        target->host, std::to_string(target->port),
        [this, conn](const error_code& ec, const tcp::resolver::results_type& results) {
          if (conn->owner == nullptr || conn->phase != Phase::kConnecting) return;
          if (ec) {
            Fail(conn, "cannot resolve: " + ec.message());
            return;
          }
          asio::async_connect(conn->stream.lowest_layer(), results,
                              [this, conn](const error_code& ec2, const tcp::endpoint& endpoint) {
                                OnConnected(conn, ec2, endpoint);
                              });
        });
  }

  void Close(const NodeId& peer) {
    auto it = peers_.find(peer);
    if (it == peers_.end()) return;
    std::shared_ptr<Conn> conn = it->second;
    Unlink(*conn);
    BeginClose(conn);
  }

  // ------------------------------------------------------------------ accessors

  const NodeId& id() const { return identity_->id(); }
  const std::string& listen_address() const { return listen_address_; }
  size_t connection_count() const { return conns_.size(); }
  size_t link_count() const { return peers_.size(); }
  bool linked(const NodeId& peer) const { return peers_.count(peer) > 0; }
  const TransportCounters& counters() const { return counters_; }

  void AppendMetrics(std::string& out) const {
    auto line = [&out](const std::string& name, uint64_t value) {
      out += name + " " + std::to_string(value) + "\n";
    };
    auto type = [&out](const char* name, const char* kind, const char* help) {
      out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + kind + "\n";
    };
    type("myco_frames_in_total", "counter", "Protocol frames received on links.");
    line("myco_frames_in_total", counters_.frames_in);
    type("myco_frames_out_total", "counter", "Protocol frames written to links.");
    line("myco_frames_out_total", counters_.frames_out);
    type("myco_bytes_in_total", "counter", "Frame bytes received (TLS overhead excluded).");
    line("myco_bytes_in_total", counters_.bytes_in);
    type("myco_bytes_out_total", "counter", "Frame bytes written (TLS overhead excluded).");
    line("myco_bytes_out_total", counters_.bytes_out);
    type("myco_connections", "gauge", "Connections by state.");
    line("myco_connections{state=\"linked\"}", peers_.size());
    line("myco_connections{state=\"handshake\"}", handshakes_);
    line("myco_connections{state=\"all\"}", conns_.size());
    type("myco_connections_refused_total", "counter",
         "Connections refused or closed before or outside normal operation, by reason.");
    for (const auto& [reason, n] : counters_.refused) {
      line("myco_connections_refused_total{reason=\"" + reason + "\"}", n);
    }
    type("myco_frames_dropped_total", "counter", "Frames not delivered or not sent, by reason.");
    for (const auto& [reason, n] : counters_.dropped) {
      line("myco_frames_dropped_total{reason=\"" + reason + "\"}", n);
    }
    size_t total = 0;
    size_t largest = 0;
    for (const auto& [serial, conn] : conns_) {
      total += conn->BufferedBytes();
      largest = std::max(largest, conn->BufferedBytes());
    }
    type("myco_write_queue_bytes", "gauge", "Bytes waiting in the transport's write buffers.");
    line("myco_write_queue_bytes", total);
    type("myco_write_queue_bytes_max", "gauge", "The largest single connection's write buffer.");
    line("myco_write_queue_bytes_max", largest);
  }

 private:
  // ------------------------------------------------------------------ helpers

  // At most kLogLinesPerWindow lines per kLogWindow: a port scan or a misconfigured fleet must
  // not flood the log. The rest are counted and reported in one line when the window ends.
  void Log(const std::string& line) {
    const auto now = SteadyClock::now();
    if (now - log_window_start_ >= kLogWindow) {
      if (log_suppressed_ > 0) {
        Emit(std::to_string(log_suppressed_) + " similar transport log lines suppressed");
      }
      log_window_start_ = now;
      log_lines_ = 0;
      log_suppressed_ = 0;
    }
    if (log_lines_ >= kLogLinesPerWindow) {
      ++log_suppressed_;
      return;
    }
    ++log_lines_;
    Emit(line);
  }

  void Emit(const std::string& line) {
    if (options_.log) {
      options_.log(line);
    } else {
      std::fprintf(stderr, "myco: %s\n", line.c_str());
    }
  }

  static constexpr auto kLogWindow = std::chrono::seconds(10);
  static constexpr uint32_t kLogLinesPerWindow = 50;
  SteadyClock::time_point log_window_start_ = SteadyClock::now();
  uint32_t log_lines_ = 0;
  uint64_t log_suppressed_ = 0;

  template <typename F>
  void Defer(F&& f) {
    asio::post(io_, [alive = alive_, f = std::forward<F>(f)]() mutable {
      if (*alive) f();
    });
  }

  std::string Describe(const Conn& conn) const {
    std::string text = conn.address.empty() ? "?" : conn.address;
    if (!conn.peer.IsZero()) text += " (id " + conn.peer.Short() + ")";
    return text;
  }

  std::shared_ptr<Conn> NewConn(tcp::socket socket, bool outbound) {
    auto conn = std::make_shared<Conn>(std::move(socket), *context_);
    conn->owner = this;
    conn->serial = next_serial_++;
    conn->outbound = outbound;
    conn->decoder = std::make_unique<FrameDecoder>(options_.frame_bytes_max);
    conns_.emplace(conn->serial, conn);
    ++handshakes_;
    conn->handshake_timer.expires_after(std::chrono::nanoseconds(options_.handshake_timeout.ns));
    conn->handshake_timer.async_wait([this, conn](const error_code& ec) {
      if (ec || conn->owner == nullptr || conn->hello_seen) return;
      if (conn->phase == Phase::kClosing || conn->phase == Phase::kClosed) return;
      ++counters_.refused["handshake_timeout"];
      Log("closing " + Describe(*conn) + ": handshake not finished within " +
          std::to_string(options_.handshake_timeout.ns / 1'000'000) + " ms");
      Fail(conn, "handshake timeout");
    });
    return conn;
  }

  void CancelTimers(Conn& conn) {
    conn.handshake_timer.cancel();
    conn.close_timer.cancel();
    conn.delay_timer.cancel();
  }

  void LeaveHandshake(Conn& conn) {
    if (conn.Handshaking()) {
      assert(handshakes_ > 0);
      --handshakes_;
    }
  }

  // Removes the connection from peers_ without telling the core (it asked, or was told by a
  // replacing LinkUp).
  void Unlink(Conn& conn) {
    if (!conn.current) return;
    conn.current = false;
    auto it = peers_.find(conn.peer);
    if (it != peers_.end() && it->second.get() == &conn) peers_.erase(it);
  }

  void ReportDialFailed(Conn& conn, const std::string& why) {
    if (!conn.outbound || conn.dial_reported) return;
    conn.dial_reported = true;
    if (!stopping_) sink_(DialFailed{conn.address, why});
  }

  // Abortive close: the socket goes now; the core hears LinkDown (a link) or DialFailed (a dial).
  void Fail(const std::shared_ptr<Conn>& conn, const std::string& why) {
    if (conn->phase == Phase::kClosed) return;
    const bool was_current = conn->current;
    Unlink(*conn);
    Finalize(conn);
    if (was_current) {
      ++counters_.links_down;
      if (!stopping_) sink_(LinkDown{conn->peer, why});
    } else {
      ReportDialFailed(*conn, why);
    }
  }

  void Finalize(const std::shared_ptr<Conn>& conn) {
    if (conn->phase == Phase::kClosed) return;
    LeaveHandshake(*conn);
    conn->phase = Phase::kClosed;
    CancelTimers(*conn);
    conn->resolver.cancel();
    error_code ignored;
    conn->stream.lowest_layer().close(ignored);
    conns_.erase(conn->serial);
    MaybeShutdownDone();
  }

  void MaybeShutdownDone() {
    if (stopping_ && conns_.empty() && shutdown_done_) {
      auto done = std::move(shutdown_done_);
      shutdown_done_ = nullptr;
      done();
    }
  }

  // Graceful close: flush what is buffered, half-close (FIN after the data), then wait for the
  // peer's close or close_timeout. Frames arriving meanwhile are dropped.
  void BeginClose(const std::shared_ptr<Conn>& conn) {
    if (conn->phase == Phase::kClosing || conn->phase == Phase::kClosed) return;
    LeaveHandshake(*conn);
    const bool reading = conn->phase >= Phase::kAdmission;
    conn->phase = Phase::kClosing;
    conn->handshake_timer.cancel();
    conn->close_timer.expires_after(std::chrono::nanoseconds(options_.close_timeout.ns));
    conn->close_timer.async_wait([this, conn](const error_code& ec) {
      if (ec || conn->owner == nullptr) return;
      Finalize(conn);
    });
    // Delayed frames (fault layer) are released now: a close flushes what was sent before it.
    if (!conn->delayed.empty()) {
      conn->delay_timer.cancel();
      for (auto& d : conn->delayed) {
        conn->pending.append(d.frame);
        ++conn->pending_messages;
      }
      conn->delayed.clear();
      conn->delayed_bytes = 0;
    }
    if (!reading) {
      Finalize(conn);
      return;
    }
    StartWrite(conn);
    MaybeShutdownSend(conn);
  }

  void MaybeShutdownSend(const std::shared_ptr<Conn>& conn) {
    if (conn->phase != Phase::kClosing || conn->write_in_flight || !conn->pending.empty() ||
        conn->send_shut) {
      return;
    }
    conn->send_shut = true;
    error_code ignored;
    conn->stream.lowest_layer().shutdown(tcp::socket::shutdown_send, ignored);
  }

  // ------------------------------------------------------------------ accept, dial, TLS

  void StartAccept() {
    if (stopping_) return;
    acceptor_.async_accept([this, alive = alive_](const error_code& ec, tcp::socket socket) {
      if (!*alive || stopping_) return;
      if (ec) {
        if (ec == asio::error::operation_aborted) return;
        // Out of descriptors or similar: retry shortly rather than spin.
        Log("accept failed: " + ec.message());
        accept_retry_.expires_after(std::chrono::milliseconds(100));
        accept_retry_.async_wait([this, alive = alive_](const error_code& e) {
          if (!e && *alive) StartAccept();
        });
        return;
      }
      OnAccepted(std::move(socket));
      StartAccept();
    });
  }

  void OnAccepted(tcp::socket socket) {
    ++counters_.accepted;
    if (conns_.size() >= options_.connections_max || handshakes_ >= options_.handshakes_max) {
      ++counters_.refused["connection_limit"];
      error_code ignored;
      socket.close(ignored);
      return;
    }
    error_code ec;
    const tcp::endpoint remote = socket.remote_endpoint(ec);
    if (ec) return;  // already gone
    socket.set_option(tcp::no_delay(true), ec);
    auto conn = NewConn(std::move(socket), /*outbound=*/false);
    conn->address = FormatEndpoint(remote);
    conn->remote_host = remote.address().to_string();
    conn->phase = Phase::kTls;
    conn->stream.async_handshake(ssl::stream_base::server,
                                 [this, conn](const error_code& e) { OnTlsDone(conn, e); });
  }

  void OnConnected(const std::shared_ptr<Conn>& conn, const error_code& ec,
                   const tcp::endpoint& endpoint) {
    if (conn->owner == nullptr || conn->phase != Phase::kConnecting) return;
    if (ec) {
      Fail(conn, "connect failed: " + ec.message());
      return;
    }
    error_code ignored;
    conn->stream.lowest_layer().set_option(tcp::no_delay(true), ignored);
    conn->remote_host = endpoint.address().to_string();
    conn->phase = Phase::kTls;
    conn->stream.async_handshake(ssl::stream_base::client,
                                 [this, conn](const error_code& e) { OnTlsDone(conn, e); });
  }

  void OnTlsDone(const std::shared_ptr<Conn>& conn, const error_code& ec) {
    if (conn->owner == nullptr || conn->phase != Phase::kTls) return;
    if (ec) {
      ++counters_.refused["tls"];
      Log("TLS handshake with " + Describe(*conn) + " failed: " + ec.message());
      Fail(conn, "TLS handshake failed: " + ec.message());
      return;
    }
    Result<NodeId> peer = PeerNodeId(conn->stream.native_handle());
    if (!peer.ok()) {
      ++counters_.refused["tls"];
      Log("TLS peer " + Describe(*conn) + " refused: " + peer.error().message);
      Fail(conn, peer.error().message);
      return;
    }
    conn->peer = *peer;
    if (conn->peer == identity_->id()) {
      ++counters_.refused["self"];
      Fail(conn, "connected to self");
      return;
    }
    if (conn->outbound && !conn->expected.IsZero() && conn->expected != conn->peer) {
      ++counters_.refused["unexpected_id"];
      Log("dial " + conn->address + ": expected id " + conn->expected.Short() +
          ", certificate shows " + conn->peer.Short() + "; closing");
      Fail(conn, "unexpected peer id");
      return;
    }
    // Our proof first; theirs is read next.
    std::string proof;
    if (!options_.network_secret.empty()) {
      Result<AdmissionProof> mine =
          MakeAdmissionProof(conn->stream.native_handle(), options_.network_secret,
                             conn->outbound ? TlsRole::kDialer : TlsRole::kListener);
      if (!mine.ok()) {
        Log("admission proof for " + Describe(*conn) + ": " + mine.error().message);
        Fail(conn, mine.error().message);
        return;
      }
      proof.assign(reinterpret_cast<const char*>(mine->data()), mine->size());
    }
    conn->phase = Phase::kAdmission;
    WriteRaw(conn, AdmissionFrame(AdmissionType::kProof, proof));
    StartRead(conn);
  }

  // ------------------------------------------------------------------ admission

  // The peer's proof arrived: check it and send our verdict.
  void OnPeerProof(const std::shared_ptr<Conn>& conn, const std::string& body) {
    std::optional<RefuseReason> refuse;
    if (!options_.network_secret.empty()) {
      const TlsRole their_role = conn->outbound ? TlsRole::kListener : TlsRole::kDialer;
      Result<AdmissionProof> want =
          MakeAdmissionProof(conn->stream.native_handle(), options_.network_secret, their_role);
      AdmissionProof got{};
      const bool sized = body.size() == got.size();
      if (sized) std::copy(body.begin(), body.end(), reinterpret_cast<char*>(got.data()));
      if (!want.ok() || !sized || !AdmissionProofEquals(*want, got)) refuse = RefuseReason::kSecret;
    }
    if (!refuse && !options_.allowed_nodes.empty() &&
        std::find(options_.allowed_nodes.begin(), options_.allowed_nodes.end(), conn->peer) ==
            options_.allowed_nodes.end()) {
      refuse = RefuseReason::kAllowlist;
    }
    if (refuse) {
      Refuse(conn, *refuse);
      return;
    }
    conn->phase = Phase::kVerdict;
    WriteRaw(conn, AdmissionFrame(AdmissionType::kAccept, {}));
  }

  void Refuse(const std::shared_ptr<Conn>& conn, RefuseReason reason) {
    ++counters_.refused[RefuseReasonLabel(reason)];
    Log("refused " + Describe(*conn) + ": " + RefuseReasonText(static_cast<uint8_t>(reason)));
    WriteRaw(conn,
             AdmissionFrame(AdmissionType::kRefuse, std::string(1, static_cast<char>(reason))));
    ReportDialFailed(*conn,
                     std::string("refused: ") + RefuseReasonText(static_cast<uint8_t>(reason)));
    BeginClose(conn);
  }

  void HandleAdmissionFrame(const std::shared_ptr<Conn>& conn, const std::string& payload) {
    const std::optional<AdmissionMessage> message = ParseAdmission(payload);
    if (!message) {
      ++counters_.refused["admission_protocol"];
      Log("closing " + Describe(*conn) + ": malformed admission frame");
      Fail(conn, "admission protocol error");
      return;
    }
    if (message->type == AdmissionType::kRefuse) {
      const uint8_t reason = static_cast<uint8_t>(message->body[0]);
      ++counters_.refused["refused_by_peer"];
      Log("refused by " + Describe(*conn) + ": " + RefuseReasonText(reason));
      Fail(conn, std::string("refused by peer: ") + RefuseReasonText(reason));
      return;
    }
    if (conn->phase == Phase::kAdmission && message->type == AdmissionType::kProof) {
      OnPeerProof(conn, message->body);
      return;
    }
    if (conn->phase == Phase::kVerdict && message->type == AdmissionType::kAccept) {
      Link(conn);
      return;
    }
    ++counters_.refused["admission_protocol"];
    Log("closing " + Describe(*conn) + ": admission frame out of order");
    Fail(conn, "admission protocol error");
  }

  // Both ends admitted each other: the connection becomes the peer's link.
  void Link(const std::shared_ptr<Conn>& conn) {
    LeaveHandshake(*conn);
    conn->phase = Phase::kLinked;
    conn->linked_at = SteadyClock::now();
    auto it = peers_.find(conn->peer);
    if (it != peers_.end()) {
      std::shared_ptr<Conn> existing = it->second;
      bool keep_existing = false;
      const auto window = std::chrono::nanoseconds(options_.handshake_timeout.ns);
      if (existing->outbound != conn->outbound && conn->linked_at - existing->linked_at < window) {
        // A simultaneous-dial race: both ends keep the connection the lower id dialled.
        const NodeId& existing_dialer = existing->outbound ? identity_->id() : conn->peer;
        const NodeId& new_dialer = conn->outbound ? identity_->id() : conn->peer;
        keep_existing = existing_dialer < new_dialer;
      }
      if (keep_existing) {
        ++counters_.refused["duplicate"];
        ReportDialFailed(*conn, "already connected");
        BeginClose(conn);
        return;
      }
      Unlink(*existing);
      BeginClose(existing);
    }
    conn->current = true;
    peers_[conn->peer] = conn;
    conn->dial_reported = true;
    ++counters_.links_up;
    if (!stopping_) sink_(LinkUp{conn->peer, conn->address, conn->outbound});
  }

  // ------------------------------------------------------------------ reading

  void StartRead(const std::shared_ptr<Conn>& conn) {
    conn->stream.async_read_some(
        asio::buffer(conn->read_buffer),
        [this, conn](const error_code& ec, size_t n) { OnRead(conn, ec, n); });
  }

  void OnRead(const std::shared_ptr<Conn>& conn, const error_code& ec, size_t n) {
    if (conn->owner == nullptr || conn->phase == Phase::kClosed) return;
    if (ec) {
      if (conn->phase == Phase::kClosing) {
        Finalize(conn);
      } else {
        Fail(conn, ReadErrorWhy(ec));
      }
      return;
    }
    if (conn->phase == Phase::kClosing) {  // a straggler after we closed
      StartRead(conn);
      return;
    }
    counters_.bytes_in += n;
    std::span<const uint8_t> data(conn->read_buffer.data(), n);
    while (!data.empty() && conn->phase != Phase::kClosing && conn->phase != Phase::kClosed) {
      const size_t taken = conn->decoder->Feed(data);
      data = data.subspan(taken);
      while (conn->phase != Phase::kClosing && conn->phase != Phase::kClosed) {
        Result<std::optional<std::string>> next = conn->decoder->Next();
        if (!next.ok()) {
          const bool oversize = next.error().code == ErrorCode::kTooLarge;
          ++counters_.dropped[oversize ? "oversize" : "framing"];
          ++counters_.refused[oversize ? "oversize_frame" : "bad_framing"];
          Log("closing " + Describe(*conn) + ": " + next.error().message);
          Fail(conn, "protocol error: " + next.error().message);
          return;
        }
        if (!next->has_value()) break;
        HandleFrame(conn, **next);
      }
    }
    if (conn->phase == Phase::kClosed) return;
    StartRead(conn);
  }

  void HandleFrame(const std::shared_ptr<Conn>& conn, const std::string& payload) {
    if (conn->phase == Phase::kAdmission || conn->phase == Phase::kVerdict) {
      HandleAdmissionFrame(conn, payload);
      return;
    }
    if (conn->phase != Phase::kLinked) return;
    Result<Message> message = DecodeMessage(payload);
    if (!message.ok()) {
      ++counters_.dropped["decode"];
      ++counters_.refused["bad_message"];
      Log("closing link to " + Describe(*conn) + ": bad message: " + message.error().message);
      Fail(conn, "protocol error: " + message.error().message);
      return;
    }
    ++counters_.frames_in;
    if (auto* hello = std::get_if<Hello>(&*message)) {
      if (!hello->info || hello->info->id != conn->peer) {
        ++counters_.refused["hello_id_mismatch"];
        Log("closing link to " + Describe(*conn) + ": its Hello claims id " +
            (hello->info ? hello->info->id.Short() : std::string("(none)")) +
            " but its certificate is " + conn->peer.Short());
        Fail(conn, "hello id mismatch");
        return;
      }
      if (!conn->hello_seen) {
        conn->hello_seen = true;
        conn->handshake_timer.cancel();
      }
      RewriteWildcardAddresses(*conn, *hello);
    }
    if (!conn->current) return;  // replaced meanwhile
    sink_(Received{conn->peer, std::move(message).value()});
  }

  // A node listening on 0.0.0.0 advertises "0.0.0.0:port"; the address it reached us from is
  // the one that works, so the wildcard is replaced by it.
  void RewriteWildcardAddresses(const Conn& conn, Hello& hello) {
    bool wildcard = false;
    for (const std::string& a : hello.info->listen_addresses) {
      Result<HostPort> hp = ParseHostPort(a, true);
      if (hp.ok() && IsWildcardHost(hp->host)) wildcard = true;
    }
    if (!wildcard || conn.remote_host.empty()) return;
    auto info = std::make_shared<NodeInfo>(*hello.info);
    for (std::string& a : info->listen_addresses) {
      Result<HostPort> hp = ParseHostPort(a, true);
      if (!hp.ok() || !IsWildcardHost(hp->host)) continue;
      const bool v6 = conn.remote_host.find(':') != std::string::npos;
      a = (v6 ? "[" + conn.remote_host + "]" : conn.remote_host) + ":" + std::to_string(hp->port);
    }
    hello.info = std::move(info);
  }

  // ------------------------------------------------------------------ writing

  // An admission frame: written like the others, but not a core message (no Written count).
  void WriteRaw(const std::shared_ptr<Conn>& conn, const std::string& frame) {
    conn->pending.append(frame);
    StartWrite(conn);
  }

  void ArmDelay(const std::shared_ptr<Conn>& conn) {
    if (conn->delayed.empty()) return;
    conn->delay_timer.expires_at(conn->delayed.front().due);
    conn->delay_timer.async_wait([this, conn](const error_code& ec) {
      if (ec || conn->owner == nullptr || conn->phase != Phase::kLinked) return;
      const auto now = SteadyClock::now();
      while (!conn->delayed.empty() && conn->delayed.front().due <= now) {
        Conn::Delayed& d = conn->delayed.front();
        conn->delayed_bytes -= d.frame.size();
        conn->pending.append(d.frame);
        ++conn->pending_messages;
        conn->pending_report = conn->pending_report || d.report;
        conn->delayed.pop_front();
      }
      StartWrite(conn);
      ArmDelay(conn);
    });
  }

  void StartWrite(const std::shared_ptr<Conn>& conn) {
    if (conn->write_in_flight || conn->phase == Phase::kClosed || conn->send_shut) return;
    if (conn->pending.empty() && conn->pending_messages == 0) return;
    conn->writing.swap(conn->pending);
    conn->pending.clear();
    conn->writing_messages = conn->pending_messages;
    conn->writing_report = conn->pending_report;
    conn->pending_messages = 0;
    conn->pending_report = false;
    conn->write_in_flight = true;
    if (conn->writing.empty()) {  // only messages the fault layer lost
      Defer([this, conn] { OnWritten(conn, error_code(), 0); });
      return;
    }
    conn->stream.async_write(
        asio::buffer(conn->writing),
        [this, conn](const error_code& ec, size_t n) { OnWritten(conn, ec, n); });
  }

  void OnWritten(const std::shared_ptr<Conn>& conn, const error_code& ec, size_t n) {
    conn->write_in_flight = false;
    if (conn->owner == nullptr || conn->phase == Phase::kClosed) return;
    if (ec) {
      if (conn->phase == Phase::kClosing) {
        Finalize(conn);
      } else {
        Fail(conn, "write failed: " + ec.message());
      }
      return;
    }
    counters_.bytes_out += n;
    counters_.frames_out += conn->writing_messages;
    conn->written_total += conn->writing_messages;
    const bool report = conn->writing_report;
    conn->writing.clear();
    if (conn->writing.capacity() > 256 * 1024) std::string().swap(conn->writing);
    conn->writing_messages = 0;
    conn->writing_report = false;
    if (report && conn->current && !stopping_) {
      sink_(Written{conn->peer, conn->written_total});
      if (conn->phase == Phase::kClosed) return;
    }
    StartWrite(conn);
    MaybeShutdownSend(conn);
  }

  asio::io_context& io_;
  std::shared_ptr<const Identity> identity_;
  TransportOptions options_;
  InputSink sink_;
  std::unique_ptr<ssl::context> context_;
  tcp::acceptor acceptor_;
  asio::steady_timer accept_retry_;
  std::string listen_address_;
  Rng fault_rng_;

  std::unordered_map<uint64_t, std::shared_ptr<Conn>> conns_;
  std::unordered_map<NodeId, std::shared_ptr<Conn>, NodeIdHash> peers_;
  uint64_t next_serial_ = 1;
  size_t handshakes_ = 0;
  bool stopping_ = false;
  std::function<void()> shutdown_done_;
  TransportCounters counters_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

Transport::Transport(asio::io_context& io, std::shared_ptr<const Identity> identity,
                     TransportOptions options, InputSink sink)
    : impl_(std::make_unique<Impl>(io, std::move(identity), std::move(options), std::move(sink))) {}

Transport::~Transport() = default;

Result<std::string> Transport::Start() { return impl_->Start(); }
void Transport::Send(const NodeId& peer, const Message& message, bool report_written) {
  impl_->Send(peer, message, report_written);
}
void Transport::Dial(const std::string& address, const NodeId& expected) {
  impl_->Dial(address, expected);
}
void Transport::Close(const NodeId& peer) { impl_->Close(peer); }
void Transport::Shutdown(std::function<void()> done) { impl_->Shutdown(std::move(done)); }
void Transport::Abort() { impl_->Abort(); }
const NodeId& Transport::id() const { return impl_->id(); }
std::string Transport::listen_address() const { return impl_->listen_address(); }
size_t Transport::connection_count() const { return impl_->connection_count(); }
size_t Transport::link_count() const { return impl_->link_count(); }
bool Transport::linked(const NodeId& peer) const { return impl_->linked(peer); }
const TransportCounters& Transport::counters() const { return impl_->counters(); }
void Transport::AppendMetrics(std::string& out) const { impl_->AppendMetrics(out); }

}  // namespace myco
