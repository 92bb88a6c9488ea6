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
#include "core/propagation/config.hpp"
#include "core/topology/config.hpp"
#include "myco/identity.hpp"
#include "myco/rng.hpp"
#include "myco/time.hpp"
#include "myco/types.hpp"

namespace myco {

// ---- inputs ----
struct Tick {};
struct Received {
  NodeId peer;
  Message message;
  uint32_t bytes = 0;  // its size on the wire, if the driver has it (0: the core estimates it)
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
// The driver has written `messages_total` messages to `peer`'s connection since it came up
// (cumulative, so reports may be coalesced). Sent when a Send asked for it (report_written).
struct Written {
  NodeId peer;
  uint64_t messages_total = 0;
};
struct JoinCommand {
  std::vector<std::string> addresses;  // bootstrap addresses (connect_to_network)
};
struct LeaveCommand {};  // stop_network_operations: say goodbye to every peer
using Command = std::variant<JoinCommand, LeaveCommand>;

using Input = std::variant<Tick, Received, LinkUp, LinkDown, DialFailed, Written, Command>;

// ---- effects ----
// Priority of protocol control traffic (heartbeats, handshakes, announcements): above any
// packet, so a saturated link never starves failure detection.
inline constexpr double kControlPriority = 2.0;

struct Send {
  NodeId peer;
  Message message;
  double priority = kControlPriority;
  // Ask the driver for a Written report once this message is on the wire.
  bool report_written = false;
  // EstimatedWireBytes(message), set by the core before the driver sees the Send (computed
  // once: the core counts it for link utilisation, the simulator for bandwidth).
  uint32_t bytes = 0;
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
// A packet delivered to this node's application (it passed verification, dedup and selection).
struct InformationDelivered {
  std::shared_ptr<const PacketBody> packet;
  uint32_t hops = 0;
  NodeId from;  // the neighbour it came from
};
// A targeted packet was acknowledged by its destination.
struct DeliveryAcked {
  PacketId id;
  NodeId destination;
  uint32_t retries = 0;
  bool alternative_path = false;  // the ack came over a path other than the first choice
  Duration round_trip;
};
// A targeted packet was not acknowledged after every retry.
struct DeliveryFailed {
  PacketId id;
  NodeId destination;
  std::string why;
};
// A resource_discovery packet found a node that can serve.
struct DiscoveryAnswered {
  PacketId id;
  NodeId server;
  uint32_t hops = 0;  // hops the discovery took to reach the server
};
// Something for the application (the daemon's event stream, the simulator's recorder).
using AppEvent = std::variant<PeerUp, PeerDown, InformationDelivered, DeliveryAcked, DeliveryFailed,
                              DiscoveryAnswered>;
struct Deliver {
  AppEvent event;
};
using Effect = std::variant<Send, Dial, Close, Deliver>;

class Membership;
class Propagation;
class PacketVerifier;
class LinkQueues;
struct PublishRequest;

struct NodeOptions {
  TopologyConfig topology;
  PropagationConfig propagation;
  // Shared verifier (the simulator's memoizing one); null: every signature is checked for real.
  PacketVerifier* verifier = nullptr;
};

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
  // A node that signs what it publishes. REQUIRES: identity.id() == info.id.
  Node(std::shared_ptr<const Identity> identity, NodeInfo info, NodeOptions options, Rng rng);
  // A node without a signing key: it runs the topology protocol and relays, but cannot publish.
  Node(NodeInfo info, TopologyConfig config, Rng rng);
  ~Node();
  Node(Node&&) noexcept;
  Node& operator=(Node&&) noexcept;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  void Handle(TimePoint now, Input input);
  // propagate_information: the packets' ids, or why nothing was sent. Effects as for Handle.
  Result<std::vector<PacketId>> Publish(TimePoint now, PublishRequest request);
  // share_knowledge_discovery: the discovery id.
  Result<std::string> ShareKnowledge(TimePoint now, const std::string& discovery_type,
                                     const std::string& knowledge_json,
                                     const std::vector<NodeId>& targets);

  std::vector<Effect>& effects() { return effects_; }
  void ClearEffects() { effects_.clear(); }

  // The latest time by which the driver must call Handle(t, Tick{}).
  TimePoint NextDeadline() const;

  const NodeInfo& info() const;
  const NodeId& id() const;
  const Membership& membership() const { return *membership_; }
  const Propagation& propagation() const { return *propagation_; }
  const LinkQueues& link_queues() const { return *queues_; }
  TopologyStatus Status(TimePoint now) const;

 private:
  void Dispatch(TimePoint now, Input&& input);
  void DispatchMessage(TimePoint now, const NodeId& peer, Message&& message, uint32_t bytes);
  // Moves staged protocol effects to effects_: neighbour changes reach propagation, sends go
  // through the link queues, a Close flushes its link's queue first.
  void Settle(TimePoint now);

  std::shared_ptr<const Identity> identity_;
  std::unique_ptr<Membership> membership_;
  std::unique_ptr<Propagation> propagation_;
  std::unique_ptr<LinkQueues> queues_;
  std::vector<Effect> staged_;
  std::vector<Effect> effects_;
};

}  // namespace myco
