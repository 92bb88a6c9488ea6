// Simulator: many Node cores in one process, in virtual time, over a modelled network.
//
// Deterministic: the whole run is a function of SimConfig (seed included) and of the calls made
// on the Simulator. Events are ordered by (time, sequence number), nodes are dense indices, and
// every random draw comes from Rngs seeded from the config seed. It drives the very same Node the
// daemon drives: Handle / effects / NextDeadline, nothing else.
//
// Link model (src/sim/link_model.hpp): each node lives in a region; a pair of nodes has a fixed
// one-way latency (intra-region or inter-region range, hashed from the seed and the pair), its
// bandwidth serialises messages FIFO per direction, and "loss" is modelled as TCP would show it: a
// lost segment arrives one retransmission timeout later (links are TCP in the daemon, so messages
// are never silently lost on a live link). Partitions drop everything between groups, FIN
// included; a crashed node is silent (a host crash: no FIN/RST reaches its peers, who must detect
// it by heartbeats) unless crash_sends_reset is set (a killed process, whose kernel resets its
// connections).
//
// Connections: at most one per unordered pair of nodes. A Dial opens one (LinkUp at the dialer,
// then at the target, one RTT later); a Close ends it at once for the closer, and the other end
// gets LinkDown one latency later, after what the closer had already sent. A connection end that
// outlived its peer (half-open) swallows what is sent on it; if a new connection to the same peer
// comes up while such an end is still open, that end gets its LinkDown first, so a core never
// holds two connections to one peer. A Send that asks for report_written gets a Written input
// once its bytes are serialised, counting messages per connection and direction from zero; the
// report comes even if the message is then lost to a partition or a dead peer, as a socket
// write would succeed.
//
// Cost: a few hundred nanoseconds of simulator work per event on top of the core's own (see
// bench/sim_bench.cpp); messages live in a pool and the queue moves 32-byte events only.
// REQUIRES: external synchronization.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/node.hpp"
#include "core/propagation/propagation.hpp"
#include "core/topology/membership.hpp"  // callers read node(i).membership()
#include "metrics/graph.hpp"
#include "myco/identity.hpp"
#include "myco/rng.hpp"
#include "myco/time.hpp"
#include "sim/event_queue.hpp"
#include "sim/link_model.hpp"
#include "sim/memo_verifier.hpp"

namespace myco {

struct SimConfig {
  uint64_t seed = 1;
  uint32_t regions = 4;
  Duration intra_region_latency_min = Milliseconds(1);
  Duration intra_region_latency_max = Milliseconds(10);
  Duration inter_region_latency_min = Milliseconds(30);
  Duration inter_region_latency_max = Milliseconds(150);
  double link_bandwidth_bytes_per_s = 12.5e6;  // 100 Mbit/s
  double loss = 0;                             // per message, shows up as one extra RTO of delay
  Duration retransmission_timeout = Milliseconds(200);
  Duration connect_timeout = Seconds(1);  // a dial to a dead or unreachable host fails after this
  bool crash_sends_reset = false;
  bool route_through_codec = false;  // encode and decode every message with src/wire
  uint64_t nodes_max = 10'000'000;
  // Events processed over the simulator's life after which RunUntil returns early and
  // budget_exhausted() turns true: a livelocked core ends a scenario instead of hanging it.
  uint64_t events_max = 2'000'000'000;
};

struct SimCounters {
  uint64_t events = 0;         // events popped, stale ones included
  uint64_t events_stale = 0;   // popped but superseded (an old timer, a closed connection, a
                               // crashed node)
  uint64_t messages = 0;       // messages put on a link (a few are then dropped on arrival)
  uint64_t message_bytes = 0;  // their estimated wire bytes
  uint64_t dials = 0;
  uint64_t dials_failed = 0;
  uint64_t messages_dropped_partition = 0;
  uint64_t messages_dropped_dead = 0;     // sent to a crashed node (or its old incarnation)
  uint64_t messages_dropped_closed = 0;   // sent on, or arriving at, an end already closed
  uint64_t messages_dropped_no_link = 0;  // the core sent to a peer it had no connection with
  uint64_t links_opened = 0;
};

class Simulator {
 public:
  explicit Simulator(SimConfig config);
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // Adds a node (its address is "sim:<index>", its key derived from the seed and index) and
  // starts it now. With bootstrap indices it joins through them (JoinCommand); a node with none
  // is the network's first node. Returns its index.
  uint32_t AddNode(const std::string& name, TopologyConfig topology,
                   const std::vector<uint32_t>& bootstrap);

  // A node with everything a propagation scenario needs: its options (topology and propagation
  // configs) and its NodeInfo (type, capacities, specializations, interests; id, name, address
  // and region are filled in by the simulator). The node keeps its derived Identity, so it can
  // publish; unless options.verifier is set it shares the simulator's MemoPacketVerifier.
  struct NodeSpec {
    std::string name;
    NodeOptions options;
    NodeInfo info;
  };
  uint32_t AddNode(NodeSpec spec, const std::vector<uint32_t>& bootstrap);

  // propagate_information / share_knowledge_discovery on a live node at the current virtual
  // time; the node's effects are carried out as for any input. REQUIRES: alive(node).
  Result<std::vector<PacketId>> Publish(uint32_t node, PublishRequest request);
  Result<std::string> ShareKnowledge(uint32_t node, const std::string& discovery_type,
                                     const std::string& knowledge_json,
                                     const std::vector<NodeId>& targets);

  // Called for every application event a node emits (InformationDelivered, DeliveryAcked,
  // DeliveryFailed, DiscoveryAnswered, PeerUp, PeerDown), at the virtual time it happens.
  // Both hooks observe only: they run while a node's effects are being carried out, so they must
  // not call Publish, ShareKnowledge, AddNode, Crash or Restart. Unset hooks cost one branch.
  void SetAppEventHook(std::function<void(uint32_t node, TimePoint at, const AppEvent&)> hook);
  // Called for every message handed to a live node (after the link model: latency, loss,
  // partitions), before the node handles it; for traffic accounting (payload vs control).
  // (`bytes`: the message's EstimatedWireBytes.)
  void SetMessageHook(
      std::function<void(uint32_t from, uint32_t to, TimePoint at, const Message&, uint32_t bytes)>
          hook);
  // The verifier shared by every node that did not bring its own (memoized verdicts).
  const MemoPacketVerifier& verifier() const;

  // REQUIRES: alive(node).
  void Crash(uint32_t node);
  // Restarts a crashed node with a fresh core (state lost, same identity) that rejoins through
  // `bootstrap`. REQUIRES: !alive(node).
  void Restart(uint32_t node, const std::vector<uint32_t>& bootstrap);
  // group[i] is node i's partition group (nodes past the end are in group 0); messages, FINs and
  // dials between groups are dropped. Connections that cross groups stay open at both ends until
  // the cores notice the silence.
  void SetPartition(std::vector<uint32_t> group);
  void HealPartition();

  // Processes every event due at or before `until`, then sets now() to `until`; stops early, with
  // now() at the last event, once counters().events reaches SimConfig::events_max. A time in the
  // past is a no-op.
  void RunUntil(TimePoint until);
  void RunFor(Duration d) { RunUntil(now_ + d); }
  TimePoint now() const { return now_; }
  bool budget_exhausted() const { return budget_exhausted_; }

  uint32_t node_count() const { return static_cast<uint32_t>(hot_.size()); }
  bool alive(uint32_t node) const;
  // REQUIRES: alive(index) (a crashed node has no core).
  const Node& node(uint32_t index) const;
  const std::string& name(uint32_t index) const;
  std::vector<std::string> names() const;
  uint32_t region(uint32_t index) const;
  // Index of a node id, or UINT32_MAX.
  uint32_t IndexOf(const NodeId& id) const;

  // The graph of active links between live nodes as both ends see them (an edge counts when
  // both endpoints have the other in their active view). Crashed nodes are isolated vertices.
  Graph ActiveGraph() const;
  // `all` (a graph over every node, crashed ones isolated, e.g. ActiveGraph()) restricted to the
  // live nodes, renumbered 0.. in index order, with their names: the final topology `--export`
  // writes.
  void LiveTopology(const Graph& all, Graph& graph, std::vector<std::string>& names) const;
  const SimCounters& counters() const { return counters_; }

  // Called after every processed (non-stale) event with the index of the node it touched (for
  // invariant checks in tests). Empty by default. The hook may Crash nodes but not add them.
  void SetEventHook(std::function<void(uint32_t node)> hook);

  // Checks the connection model's invariants — every listed connection end is open or pending at
  // the node that lists it, a node has at most one open connection per peer, a pair has at most
  // one live connection, every live node has a timer no later than its core's deadline. Empty
  // when they hold, else what is broken. O(nodes + connections): for tests, e.g. from the hook.
  std::string CheckInvariants() const;

 private:
  enum EventKind : uint32_t {
    kTick,        // aux = incarnation; live only if time == the node's scheduled wake
    kMessage,     // payload = packet slot, conn, aux = the connection's generation
    kConnect,     // at the dialer: conn, aux = generation
    kAccept,      // at the target, right after kConnect: conn, aux = generation
    kLinkDown,    // conn, aux = generation
    kDialFailed,  // payload = dial-failure slot, aux = incarnation
    kWritten,     // at the sender: payload = messages written on conn, aux = generation
  };
  // One end of a connection, as its node sees it.
  enum class End : uint8_t { kClosed, kPending, kOpen };
  enum class DownReason : uint8_t { kClosedByPeer, kReset };

  // An entry of a node's connection list. It holds the peer's whole id so a Send finds its
  // connection by scanning this short vector, with no global hash map and no second cache miss.
  struct ConnRef {
    NodeId peer_id;
    uint32_t peer;
    uint32_t conn;
  };
  // Touched on every event: kept small and apart from the cold per-node data.
  struct NodeHot {
    std::optional<Node> core;    // empty while crashed
    std::vector<ConnRef> conns;  // connections whose end here is pending or open
    int64_t wake_ns;             // time of the one live kTick, or INT64_MAX
    uint32_t incarnation;        // bumped by Crash, so old timers and dial results go stale
    uint32_t region;
  };
  // Everything needed to build the node's core again on Restart: the same spec, the same key.
  struct NodeCold {
    NodeSpec spec;  // spec.info is complete (id, name, address, region filled in)
    std::shared_ptr<const Identity> identity;
  };
  // end[0] dialled end[1]. Direction d carries messages from end[d] to end[1 - d].
  struct Connection {
    uint32_t end[2];
    uint32_t incarnation[2];  // of each end when the dial started
    uint32_t generation;      // bumped when the slot is freed: events naming the old one go stale
    uint32_t next_free;
    Duration latency;
    TimePoint dialled_at;
    int64_t busy_until_ns[2];    // the sender's serialisation queue drains at this time
    int64_t last_arrival_ns[2];  // TCP delivers in order: nothing may arrive before this
    uint64_t written[2];         // messages serialised so far (Written reports count these)
    End side[2];
    DownReason down_reason[2];  // why side[i] will be told LinkDown
  };
  struct Packet {
    Message message;
    NodeId from;  // copied at send time, when the sender's id is hot
    uint32_t next_free;
    uint32_t bytes = 0;  // EstimatedWireBytes(message)
  };
  struct DialFailure {
    std::string address;
    const char* why;
    uint32_t next_free;
  };
  static constexpr uint32_t kNoSlot = UINT32_MAX;

  void StartCore(uint32_t index, const std::vector<uint32_t>& bootstrap);
  void Dispatch(const SimEvent& event);
  // Feeds one input to a live node, then carries out its effects and reschedules its timer.
  void Feed(uint32_t index, Input input);
  void ApplyEffects(uint32_t index);
  void ScheduleWake(uint32_t index);
  void ApplySend(uint32_t index, Send& send);
  void ApplyDial(uint32_t index, const Dial& dial);
  void ApplyClose(uint32_t index, const NodeId& peer);

  // Each returns false for a stale event (nothing was fed to a core).
  bool OnTick(const SimEvent& event);
  bool OnMessage(const SimEvent& event);
  bool OnConnect(const SimEvent& event);
  bool OnAccept(const SimEvent& event);
  bool OnLinkDown(const SimEvent& event);
  bool OnDialFailed(const SimEvent& event);
  bool OnWritten(const SimEvent& event);

  void FailDial(uint32_t index, std::string address, const char* why, TimePoint at);
  // Both ends still hold it (pending or open): it counts for "one connection per pair" and
  // carries messages. Once one end closes, the other is half-open until told.
  static bool Live(const Connection& conn) {
    return conn.side[0] != End::kClosed && conn.side[1] != End::kClosed;
  }
  static int SideOf(const Connection& conn, uint32_t index) { return conn.end[0] == index ? 0 : 1; }
  // A live connection, or a dial in flight, between a and b in either direction.
  bool Linked(uint32_t a, uint32_t b) const;
  // Index of the entry for `peer` in the node's list whose end is open, or -1.
  int FindOpenEntry(uint32_t index, const NodeId& peer) const;
  void RemoveEntry(uint32_t index, uint32_t conn);
  void FreeConnection(uint32_t conn);
  // Closes end `side` of `conn`; frees the slot once both ends are closed.
  void CloseEnd(uint32_t conn, int side);
  // Tells the far end of `conn` (seen from `from_side`) that the connection is gone, after what
  // is already in flight towards it — unless a partition eats the FIN.
  void SendLinkDown(uint32_t conn, int from_side, DownReason reason);
  // Before a new connection to `peer` comes up at `index`: retires a half-open one.
  void ReplaceStaleEnd(uint32_t index, uint32_t peer);
  uint32_t AllocConnection();
  uint32_t AllocPacket(Message&& message, const NodeId& from, uint32_t bytes);
  void FreePacket(uint32_t slot);
  bool Alive(uint32_t index) const { return hot_[index].core.has_value(); }
  std::string AddressOf(uint32_t index) const { return "sim:" + std::to_string(index); }

  SimConfig config_;
  LinkModel links_;
  EventQueue queue_;
  Rng node_rng_;  // regions and per-node generators, in AddNode/Restart order only
  Rng link_rng_;  // loss draws, so traffic never shifts the node streams

  // Declared before the nodes, which hold a pointer to it: destroyed after them.
  MemoPacketVerifier verifier_;
  std::vector<NodeHot> hot_;
  std::vector<NodeCold> cold_;
  std::vector<NodeId> ids_;
  std::unordered_map<NodeId, uint32_t, NodeIdHash> index_of_;

  std::vector<Connection> conns_;
  uint32_t conn_free_ = kNoSlot;
  std::vector<Packet> packets_;
  uint32_t packet_free_ = kNoSlot;
  std::vector<DialFailure> dial_failures_;
  uint32_t dial_failure_free_ = kNoSlot;

  std::function<void(uint32_t)> hook_;
  std::function<void(uint32_t, TimePoint, const AppEvent&)> app_hook_;
  std::function<void(uint32_t, uint32_t, TimePoint, const Message&, uint32_t)> message_hook_;
  TimePoint now_;
  SimCounters counters_;
  bool budget_exhausted_ = false;
};

}  // namespace myco
