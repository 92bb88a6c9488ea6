// Membership: the topology protocol of one node (sans-IO).
//
// What it guarantees
// - An active view of live links: the node opens `target_degree` (m) links itself and accepts
//   inbound ones up to `max_connections`, never more. A full node refuses a new neighbour politely
//   (Disconnect{kFull} carrying alternatives) instead of swapping out a weak link: swapping makes
//   hubs churn and every swap costs the evicted peer a link it must heal, while refusing lets the
//   newcomer attach elsewhere at the cost of one round trip.
// - Preferential attachment: a joining node's bootstrap peer starts m random walks for it; each
//   step picks uniformly among the current node's active peers and one virtual self-loop, so a
//   walk ends at a node with probability ~ (degree + 1) — the BA rule, without global knowledge.
//   The walk's endpoint dials the newcomer. Replacements from the passive view are drawn with
//   weight (degree + 1) / (1 + recent dial failures), i.e. weighted by health.
// - Failure detection: the peer with the smaller NodeId pings every heartbeat period; any message
//   counts as a sign of life; silence for `failure_timeout` closes the link. RTT is an EWMA of
//   ping/pong times, loss an EWMA of pings that went unanswered (or were skipped, seen by seq).
// - Healing: every lost active link is replaced from the passive view at once (bounded dials in
//   flight); a node with no neighbours rejoins through its bootstrap addresses with backoff.
//   Passive peers that failed are retried with exponential backoff before being forgotten, which
//   is also what re-merges a partition once it heals.
// - A topology map from neighbour lists flooded within `map_flood_radius` hops, and a size
// estimate.
//
// REQUIRES: external synchronization. Inputs arrive through Node.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/messages.hpp"
#include "core/topology/config.hpp"
#include "core/topology/strength.hpp"
#include "core/topology/topology_map.hpp"
#include "myco/rng.hpp"
#include "myco/time.hpp"
#include "myco/types.hpp"

namespace myco {

struct Send;
struct Dial;
struct Close;
struct Deliver;

enum class LinkState : uint8_t {
  kAwaitHello = 0,   // inbound, waiting for the dialer's Hello
  kAwaitAccept = 1,  // outbound, our Hello sent, waiting for the answer
  kJoin = 2,         // temporary bootstrap link (not in the active view)
  kActive = 3,
};

struct Link {
  NodeId peer;
  std::string address;  // where the peer can be dialled (empty if unknown)
  LinkState state = LinkState::kAwaitHello;
  bool outbound = false;
  HelloIntent intent = HelloIntent::kNeighbor;  // what we asked for, when outbound
  TimePoint since;
  TimePoint last_heard;
  std::shared_ptr<const NodeInfo> info;
  uint32_t peer_degree = 0;

  // Heartbeats.
  uint64_t ping_seq = 0;
  TimePoint ping_sent_at;
  bool ping_outstanding = false;
  uint64_t last_ping_seq_seen = 0;
  double rtt_us_ewma = -1;  // -1 until the first sample
  double loss_ewma = 0;     // in [0,1]

  // Traffic since the last heartbeat tick, and its smoothed utilisation.
  uint64_t bytes_in_window = 0;
  uint64_t bytes_out_window = 0;
  double bytes_in_ewma = 0;  // bytes per second
  double bytes_out_ewma = 0;
  double utilisation = 0;
  ConnectionStrength strength = ConnectionStrength::kDormant;

  // Health in [0,1]: 1 for a silent-loss-free low-latency link, lower with loss and latency.
  double Health() const;
};

struct PassivePeer {
  PeerRecord record;
  uint32_t failures = 0;
  TimePoint retry_after;  // not dialled before this
};

class Membership {
 public:
  using Out = std::vector<std::variant<Send, Dial, Close, Deliver>>;

  Membership(NodeInfo info, TopologyConfig config, Rng rng);

  void OnTick(TimePoint now, Out& out);
  void OnReceived(TimePoint now, const NodeId& peer, Message&& message, Out& out);
  void OnLinkUp(TimePoint now, const NodeId& peer, const std::string& address, bool outbound,
                Out& out);
  void OnLinkDown(TimePoint now, const NodeId& peer, const std::string& why, Out& out);
  void OnDialFailed(TimePoint now, const std::string& address, const std::string& why, Out& out);
  void Join(TimePoint now, const std::vector<std::string>& addresses, Out& out);
  // Traffic of another protocol: proof of life, and bytes for utilisation, if it came on an
  // active link. False (and nothing noted) if not: such traffic is not to be accepted.
  bool NoteTraffic(TimePoint now, const NodeId& peer, uint32_t bytes);
  void NoteSent(const NodeId& peer, uint32_t bytes);
  void Leave(TimePoint now, Out& out);

  TimePoint NextDeadline() const { return next_tick_; }

  // ---- queries ----
  const NodeInfo& info() const { return *info_; }
  const NodeId& id() const { return info_->id; }
  const TopologyConfig& config() const { return config_; }
  // Every link, sorted by peer id (active ones have state kActive).
  const std::vector<Link>& links() const { return links_; }
  const std::vector<PassivePeer>& passive() const { return passive_; }
  size_t ActiveCount() const { return active_count_; }
  std::vector<NodeId> ActivePeerIds() const;  // sorted
  const Link* FindLink(const NodeId& peer) const;
  const TopologyMap& map() const { return map_; }
  // Exact (the reachable part of the map) while the map covers the network; see docs/PROTOCOL.md.
  size_t SizeEstimate() const;
  double AverageHealth() const;
  bool left() const { return left_; }

  struct Counters {
    uint64_t walks_started = 0;
    uint64_t walks_forwarded = 0;
    uint64_t walks_dropped = 0;
    uint64_t dials = 0;
    uint64_t dials_failed = 0;
    uint64_t refused_full = 0;
    uint64_t links_failed = 0;  // heartbeat timeouts
    uint64_t protocol_errors = 0;
    uint64_t shuffles = 0;       // PeerExchange requests sent
    uint64_t peers_learned = 0;  // records that entered the passive view
  };
  const Counters& counters() const { return counters_; }

 private:
  struct PendingDial {
    std::string address;
    NodeId expected;
    HelloIntent intent;
    TimePoint started;
  };

  Link* FindLinkMut(const NodeId& peer);
  // links_'s index of the link to `peer`, links_.size() if none.
  size_t LinkIndex(const NodeId& peer) const;
  Link& InsertLink(Link link);
  void RemoveLink(const NodeId& peer);
  void Activate(TimePoint now, Link& link, Out& out);
  void DropLink(TimePoint now, const NodeId& peer, const std::string& why, bool close, Out& out);

  void HandleHello(TimePoint now, Link& link, const Hello& hello, Out& out);
  void HandlePeerExchange(TimePoint now, Link& link, PeerExchange&& pex, Out& out);
  void HandlePing(TimePoint now, Link& link, const Ping& ping, Out& out);
  void HandlePong(TimePoint now, Link& link, const Pong& pong);
  void HandleDisconnect(TimePoint now, Link& link, Disconnect&& disconnect, Out& out);
  void HandleWalk(TimePoint now, Walk&& walk, Out& out);
  void HandleNeighbourList(TimePoint now, const NodeId& from, NeighbourList&& list, Out& out);

  void StartWalks(TimePoint now, const NodeId& origin, const std::string& origin_address,
                  uint32_t count, Out& out);
  bool CanAcceptNeighbour(const NodeId& peer) const;
  void Maintain(TimePoint now, Out& out);
  bool DialPeer(TimePoint now, const std::string& address, const NodeId& expected,
                HelloIntent intent, Out& out);
  void Heartbeat(TimePoint now, Out& out);
  void Shuffle(TimePoint now, Out& out);
  void FloodOwnEntry(TimePoint now, Out& out);

  void LearnPeers(TimePoint now, const std::vector<PeerRecord>& peers);
  std::vector<PeerRecord> SamplePeers(const NodeId& exclude, uint32_t count);
  std::optional<size_t> ChoosePassive(TimePoint now);
  void NotePassiveFailure(TimePoint now, const std::string& address, const NodeId& id);
  PassivePeer* FindPassive(const NodeId& id);
  void RemovePassive(const NodeId& id);
  std::shared_ptr<const NodeInfo> HelloInfo() const { return info_; }
  uint32_t DialsInFlight() const { return static_cast<uint32_t>(pending_dials_.size()); }
  void SendMessage(const NodeId& peer, Message message, Out& out);

  std::shared_ptr<const NodeInfo> info_;
  TopologyConfig config_;
  Rng rng_;

  std::vector<Link> links_;          // sorted by peer id
  std::vector<uint64_t> link_keys_;  // LinkKey of each of links_, in the same order
  size_t active_count_ = 0;
  std::vector<PassivePeer> passive_;
  std::vector<PendingDial> pending_dials_;
  std::vector<std::string> bootstrap_;
  TimePoint bootstrap_retry_after_;
  uint32_t bootstrap_failures_ = 0;
  size_t bootstrap_next_ = 0;
  uint32_t replacements_owed_ = 0;  // lost links not yet replaced

  TimePoint next_tick_;
  TimePoint next_shuffle_;
  TimePoint next_map_refresh_;
  bool started_ = false;
  bool left_ = false;

  TopologyMap map_;
  uint64_t map_version_ = 0;
  bool map_dirty_ = false;

  Counters counters_;
};

}  // namespace myco
