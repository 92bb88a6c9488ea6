// Transport: the daemon's LinkDriver. TCP + TLS 1.3 links on the daemon's single asio event loop,
// carrying varint-length-prefixed protobuf frames (src/wire) between authenticated, admitted
// peers. docs/ARCHITECTURE.md ("The io driver") describes the whole life of a connection.
//
// Life of a connection (each step bounded by `handshake_timeout`, from accept or dial until the
// peer's first Hello has arrived):
//   1. TCP accept / resolve + connect (dials only).
//   2. TLS 1.3 handshake, mutual; the peer's certificate key is its NodeId (crypto/tls.hpp). A
//      dial with an `expected` id whose certificate shows another key fails (DialFailed).
//   3. Admission: both ends send an admission frame (a proof of the network secret, bound to the
//      TLS session), check the other's (secret, allowlist) and send a verdict. A refusal is sent
//      before closing, so the refused end can say why; both ends log one line. The core hears
//      nothing of a refused inbound connection (a refused dial: DialFailed).
//   4. Linked: LinkUp to the core. Every Hello the peer sends must carry its certificate's key,
//      or the link is closed (LinkDown). The handshake deadline ends at the first Hello.
// Garbage, a frame over the cap, an undecodable message or a stalled handshake close only that
// connection (counted by reason); everything else keeps being served.
//
// One connection per peer: a second authenticated connection to the same peer replaces the first
// (the core's LinkUp semantics), except in a simultaneous-dial race (two connections in opposite
// directions within one handshake timeout), where both ends keep the one dialled by the lower
// NodeId, so they agree without talking.
//
// Writes: Send encodes at once and appends to the connection's buffer; all pending frames go out
// in one async_write (gathered), and a Written report follows when a Send asked for one. The
// core's LinkQueues keep at most a window of messages in this buffer, so it stays small; the hard
// bound (write_buffer_bytes_max) closes a link whose peer stopped reading (LinkDown "write buffer
// overflow").
//
// Bounds: at most `connections_max` connections in any state and at most `handshakes_max` of
// them before Linked. At a bound an accepted socket is closed at once (counted as
// connections_refused{reason="connection_limit"}) and a Dial fails ("connection limit").
//
// Inputs reach the core through `sink`, always from an asio completion handler or a posted
// function, never from inside Send/Dial/Close (the host is in the middle of running effects).
// REQUIRES: every call on the io_context's thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/node.hpp"
#include "io/node_host.hpp"
#include "myco/identity.hpp"
#include "myco/result.hpp"
#include "myco/time.hpp"
#include "myco/types.hpp"
#include "wire/frame.hpp"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace myco {

// TEST ONLY: a fault layer on outgoing frames, so real-process tests can model delay and loss
// (these machines have no netem). Not reachable from the config file; `myco node` exposes it only
// through flags named --test-*.
struct TransportFaults {
  Duration delay;               // added one-way delay of every outgoing frame (FIFO kept)
  double drop_probability = 0;  // each outgoing message is lost with this probability
  uint64_t seed = 1;            // of the Rng that draws the losses

  bool active() const { return delay.ns > 0 || drop_probability > 0; }
};

struct TransportOptions {
  std::string listen = "127.0.0.1:0";  // host:port; port 0 lets the OS pick
  std::string network_secret;          // empty: no secret proof is required from peers
  std::vector<NodeId> allowed_nodes;   // non-empty: only these peers are admitted
  // From accept/dial until the peer's first Hello. Tests use ~200 ms.
  Duration handshake_timeout = Seconds(5);
  // A closing connection gets this long to flush and see the peer's close.
  Duration close_timeout = Seconds(1);
  uint32_t connections_max = 264;  // the daemon uses max_connections * 2 + 64
  uint32_t handshakes_max = 64;
  uint32_t frame_bytes_max = kFrameBytesMax;
  size_t write_buffer_bytes_max = 16 << 20;
  // One line per event of interest (refusals, protocol errors), at most 50 per 10 s (the rest
  // are counted in one line); null: stderr.
  std::function<void(const std::string&)> log;

  // ---- test only ----
  TransportFaults faults;
  NodeId test_hello_id;  // non-zero: every Hello this node sends claims this id (a liar)
};

struct TransportCounters {
  uint64_t frames_in = 0;  // core messages received on linked connections
  uint64_t frames_out = 0;
  uint64_t bytes_in = 0;  // frame bytes (TLS records excluded), admission frames included
  uint64_t bytes_out = 0;
  uint64_t accepted = 0;
  uint64_t dialled = 0;
  uint64_t links_up = 0;
  uint64_t links_down = 0;
  std::map<std::string, uint64_t> refused;  // connections refused or closed early, by reason
  std::map<std::string, uint64_t> dropped;  // frames not delivered/sent, by reason
};

class Transport final : public LinkDriver {
 public:
  using InputSink = std::function<void(Input)>;

  Transport(boost::asio::io_context& io, std::shared_ptr<const Identity> identity,
            TransportOptions options, InputSink sink);
  ~Transport() override;
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Builds the TLS context and binds the listener; returns the bound "host:port".
  Result<std::string> Start();

  // LinkDriver.
  void Send(const NodeId& peer, const Message& message, bool report_written) override;
  void Dial(const std::string& address, const NodeId& expected) override;
  void Close(const NodeId& peer) override;

  // Graceful stop: no more accepts or dials, handshakes aborted, links flushed and closed (each
  // within close_timeout). `done` runs once no connection is left (at once if none is). No input
  // reaches the sink after this call.
  void Shutdown(std::function<void()> done);
  // Closes every socket now. Idempotent; the destructor calls it.
  void Abort();

  const NodeId& id() const;
  std::string listen_address() const;
  size_t connection_count() const;  // in any state
  size_t link_count() const;        // linked (LinkUp given to the core)
  bool linked(const NodeId& peer) const;
  const TransportCounters& counters() const;
  // Prometheus text lines: frames/bytes in and out, connections, refusals and drops by reason,
  // write-buffer depths.
  void AppendMetrics(std::string& out) const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace myco
