// The messages of the topology protocol, as typed values. The core and the simulator pass
// these in memory; src/wire encodes them to protobuf frames for real links (and the
// simulator can route every message through that codec to prove the two paths agree).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "core/propagation/packet.hpp"
#include "myco/types.hpp"

namespace myco {

// Why a Hello was sent. A dialer states its intent; the listener answers with an accept.
enum class HelloIntent : uint8_t {
  kJoin = 0,        // "I am new: start random walks for me" (temporary link, not an active one)
  kNeighbor = 1,    // "be my active neighbour"
  kAccept = 2,      // reply to kNeighbor: the link is now active on both sides
  kAcceptJoin = 3,  // reply to kJoin: walks started, PeerExchange follows
};

// A known peer as exchanged by PEX: who, where, and how connected it was when last heard of.
struct PeerRecord {
  NodeId id;
  std::string address;
  uint32_t degree = 0;

  bool operator==(const PeerRecord&) const = default;
};

struct Hello {
  std::shared_ptr<const NodeInfo> info;  // shared: Hello is copied along walks and queues
  HelloIntent intent = HelloIntent::kNeighbor;
  uint32_t degree = 0;  // sender's active-view size, for preferential attachment
};

struct PeerExchange {
  std::vector<PeerRecord> peers;
  bool reply_wanted = false;  // a shuffle request; the answer carries reply_wanted = false
};

struct Ping {
  uint64_t seq = 0;
  int64_t rtt_us = -1;  // the sender's current RTT estimate for this link (-1: none yet)
};

struct Pong {
  uint64_t seq = 0;
};

enum class DisconnectReason : uint8_t {
  kShutdown = 0,     // the sender is leaving the network
  kFull = 1,         // the sender is at max_connections
  kDuplicate = 2,    // already linked through another connection
  kTimeout = 3,      // heartbeat or handshake timeout
  kProtocol = 4,     // the peer broke the protocol (bad message, wrong version)
  kNotAdmitted = 5,  // admission failed
  kJoinDone = 6,     // the temporary join link is no longer needed
};

const char* DisconnectReasonName(DisconnectReason reason);

struct Disconnect {
  DisconnectReason reason = DisconnectReason::kShutdown;
  std::string detail;
  std::vector<PeerRecord> alternatives;  // where the dialer may try instead (on kFull)
};

// A random walk that finds a new neighbour for `origin` (HyParView's ForwardJoin, used here for
// preferential attachment: a walk on the graph ends at a node with probability proportional to
// its degree + 1, because every node has one virtual self-loop).
struct Walk {
  NodeId origin;
  std::string origin_address;
  uint32_t ttl = 0;              // steps left
  uint32_t extensions_left = 0;  // extra steps allowed when the endpoint cannot accept
};

// One node's neighbour list, flooded within a radius to build topology maps.
struct NeighbourList {
  NodeId origin;
  uint64_t version = 0;  // larger is newer; the origin increments it on every change
  uint32_t hops_left = 0;
  std::vector<NodeId> neighbours;
};

// ---- propagation (src/core/propagation) ----

// A packet on one hop: the shared signed body plus the fields each hop changes.
struct PacketMsg {
  std::shared_ptr<const PacketBody> body;
  uint32_t ttl = 0;   // hops it may still take
  uint32_t hops = 0;  // hops taken so far (1 on arrival at the origin's neighbour)
  // kTargeted / kAck: the source route, origin first, destination last (the packet is at
  // route[hops]). kGradient: the trail of nodes visited so far, origin first. kBroadcast
  // (Plumtree): the two ends of the heaviest link on the path so far
  // (core/propagation/broadcast.hpp).
  std::vector<NodeId> route;
  // kBroadcast: the weight of that heaviest link, as the node that found it heaviest weighed it
  // (weights follow the nodes' distances to the tree root, which only the link's ends know).
  uint64_t route_weight = 0;
  // kBroadcast: the tree the origin chose for this packet (TreeRoot::Tag of its root; 0: none,
  // forward along the eager links). See core/propagation/tree_root.hpp, "Several trees".
  uint64_t tree = 0;
};

// Plumtree's lazy push: "I have these packets", batched per link.
struct IHaveEntry {
  PacketId id;
  uint32_t hops = 0;  // hops the announcer's copy took (for tree optimisation)
  bool operator==(const IHaveEntry&) const = default;
};
struct IHave {
  std::vector<IHaveEntry> entries;
};

// "Send me these, and be an eager (tree) link from now on."
struct Graft {
  std::vector<PacketId> ids;
};

// "I got that twice: be a lazy link from now on."
struct Prune {};

// A node's view of where resources lie: for each resource type, the best amount reachable
// through it (already decayed by distance) and in how many hops.
struct GradientEntry {
  ResourceType type = ResourceType::kComputationalPower;
  double amount = 0;
  uint32_t hops = 0;
  bool operator==(const GradientEntry&) const = default;
};
struct GradientUpdate {
  std::vector<GradientEntry> entries;  // full vector; types absent have nothing in range
};

// A node's place in one broadcast tree (core/propagation/tree_root.hpp): the tree's root, that
// root's rank, the root's latest refresh number and the sender's hops from the root.
struct TreeRecord {
  NodeId root;
  uint32_t root_rank = 0;
  uint64_t seq = 0;
  uint32_t dist = 0;
  bool parent = false;  // the receiver is the sender's parent in this tree (a tree link)
  uint32_t height = 0;  // hops from the sender to the farthest node of its subtree
  // When the receiver is the sender's child: hops from the receiver to the farthest node outside
  // its own subtree (through the sender). With `height`, a node knows its eccentricity in the tree.
  uint32_t up = 0;
  bool operator==(const TreeRecord&) const = default;
};
// A node's place in the broadcast trees it keeps, best root first (at most kTreesMax).
struct TreeBeacon {
  static constexpr size_t kTreesMax = 16;
  std::vector<TreeRecord> trees;
  uint32_t degree_rank = 0;  // the sender's own bit_width(active links), for its neighbours' rank
  bool operator==(const TreeBeacon&) const = default;
};

using Message = std::variant<Hello, PeerExchange, Ping, Pong, Disconnect, Walk, NeighbourList,
                             PacketMsg, IHave, Graft, Prune, GradientUpdate, TreeBeacon>;

const char* MessageName(const Message& message);

// An estimate of the encoded size in bytes (used for traffic accounting and link bandwidth in the
// simulator without running the codec).
uint32_t EstimatedWireBytes(const Message& message);

}  // namespace myco
