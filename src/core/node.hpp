// Node: the sans-IO core of one myco node. It composes the protocols and is the only thing a
// driver (the asio daemon or the simulator) talks to, in the style of quinn-proto:
//
//   node.Handle(now, input);            // feed one input
//   for (auto& e : node.effects()) ...  // carry out what it asks, then node.ClearEffects()
//   node.NextDeadline();                // call Handle(deadline, Tick{}) no later than this
//
// The core never reads a clock, never touches a socket and draws randomness only from the Rng
// it owns (seeded by the driver), so a simulation replays bit for bit from its seed.
// REQUIRES: external synchronization.
#pragma once

#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "core/messages.hpp"
#include "core/topology/config.hpp"
#include "myco/rng.hpp"
#include "myco/time.hpp"
#include "myco/types.hpp"

namespace myco {

// ---- inputs ----
struct Tick {};
struct Received {
  NodeId peer;
  Message message;
};
// A connection is established and authenticated (TLS gives the peer's key; the simulator knows it).
struct LinkUp {
  NodeId peer;
  std::string address;  // the dialled address (outbound) or the remote address (inbound)
  bool outbound = false;
};
// The connection to `peer` is gone (closed by the remote, reset, or broken). Not sent for a
// connection the core itself asked to Close.
struct LinkDown {
  NodeId peer;
  std::string why;
};
// A Dial effect did not produce a link.
struct DialFailed {
  std::string address;
  std::string why;
};
struct JoinCommand {
  std::vector<std::string> addresses;  // bootstrap addresses (connect_to_network)
};
struct LeaveCommand {};  // stop_network_operations: say goodbye to every peer
using Command = std::variant<JoinCommand, LeaveCommand>;

using Input = std::variant<Tick, Received, LinkUp, LinkDown, DialFailed, Command>;

// ---- effects ----
struct Send {
  NodeId peer;
  Message message;
};
struct Dial {
  std::string address;
  NodeId expected;  // the NodeId we expect there, or all-zero when unknown (bootstrap)
};
// Close the connection to `peer` after flushing what was sent before. No LinkDown follows.
struct Close {
  NodeId peer;
};
struct PeerUp {
  NodeId peer;
};
struct PeerDown {
  NodeId peer;
  std::string why;
};
// Something for the application (the daemon's event stream, the simulator's recorder).
using AppEvent = std::variant<PeerUp, PeerDown>;
struct Deliver {
  AppEvent event;
};
using Effect = std::variant<Send, Dial, Close, Deliver>;

class Membership;

// What get_network_status reports about topology.
struct TopologyStatus {
  NodeId local_node_id;
  std::string local_name;
  size_t network_size_estimate = 1;
  size_t active_connections = 0;
  size_t passive_peers = 0;
  double connection_health_avg = 0;  // in [0,1]
};

class Node {
 public:
  Node(NodeInfo info, TopologyConfig config, Rng rng);
  ~Node();
  Node(Node&&) noexcept;
  Node& operator=(Node&&) noexcept;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  void Handle(TimePoint now, Input input);

  std::vector<Effect>& effects() { return effects_; }
  void ClearEffects() { effects_.clear(); }

  // The latest time by which the driver must call Handle(t, Tick{}).
  TimePoint NextDeadline() const;

  const NodeInfo& info() const;
  const NodeId& id() const;
  const Membership& membership() const { return *membership_; }
  TopologyStatus Status(TimePoint now) const;

 private:
  std::unique_ptr<Membership> membership_;
  std::vector<Effect> effects_;
};

}  // namespace myco
