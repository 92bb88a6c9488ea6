// Broadcast: epidemic broadcast in the spirit of Plumtree (Leitão, Pereira, Rodrigues 2007), with
// flood and gossip baselines.
//
// Plumtree keeps, per neighbour, a flag: eager (a tree link: packets are pushed in full) or lazy
// (only "I have" announcements, batched per link every ihave_batch_interval). Every link starts
// eager, so the first broadcast floods; a node that receives a duplicate prunes the link it came
// on (it becomes lazy on both sides), so the eager links converge to a spanning tree and
// redundancy falls close to zero. A node that hears of a packet only through an announcement
// waits graft_timeout for the eager copy, then grafts the announcer: the link becomes eager and
// the packet is sent — the reliability of flooding whenever the tree breaks. Tree optimisation:
// when an announcement shows a path at least optimization_threshold_hops shorter than the eager
// copy took, the announcing link is grafted and the eager one pruned.
//
// Bounded: announcements per message, missing ids tracked (missing_entries_max, oldest dropped),
// announcers remembered per missing id (8), how each packet arrived is kept in the SeenCache.
// REQUIRES: external synchronization.
#pragma once

#include <deque>
#include <unordered_map>
#include <vector>

#include "core/messages.hpp"
#include "core/propagation/config.hpp"
#include "core/propagation/packet.hpp"
#include "myco/rng.hpp"
#include "myco/time.hpp"

namespace myco {

class Membership;
class SeenCache;
struct Send;
struct Dial;
struct Close;
struct Deliver;

class Broadcast {
 public:
  using Out = std::vector<std::variant<Send, Dial, Close, Deliver>>;

  struct Counters {
    uint64_t payload_sent = 0;  // PacketMsg sent (eager pushes, flood, gossip, graft answers)
    uint64_t ihave_messages = 0;
    uint64_t ihave_entries = 0;
    uint64_t grafts_sent = 0;
    uint64_t prunes_sent = 0;
    uint64_t graft_answers = 0;
    uint64_t optimizations = 0;
    uint64_t missing_dropped = 0;  // gave up on an announced packet (no announcer left)
  };

  explicit Broadcast(const PropagationConfig& config) : config_(config) {}

  // Forwards a packet this node accepted (first copy, verified) or originated (`from` zero).
  // `packet` carries the ttl and hops as received (as created, for an own packet).
  void Spread(TimePoint now, const NodeId& from, const PacketMsg& packet,
              const Membership& membership, Rng& rng, Out& out);
  // A copy of a packet already seen arrived from `from`.
  void OnDuplicate(TimePoint now, const NodeId& from, const PacketMsg& packet, Out& out);
  void OnIHave(TimePoint now, const NodeId& from, const IHave& ihave, SeenCache& seen, Out& out);
  void OnGraft(TimePoint now, const NodeId& from, const Graft& graft, const SeenCache& seen,
               Out& out);
  void OnPrune(const NodeId& from);
  void OnNeighbourUp(const NodeId& peer);
  void OnNeighbourDown(const NodeId& peer);
  void OnTick(TimePoint now, const Membership& membership, Out& out);
  TimePoint NextDeadline() const { return deadline_; }

  bool IsEager(const NodeId& peer) const;
  size_t eager_count() const;
  size_t missing_count() const { return missing_.size(); }
  const Counters& counters() const { return counters_; }

 private:
  struct PeerState {
    NodeId id;
    bool eager = true;
    std::vector<IHaveEntry> pending_ihave;
    TimePoint flush_at = TimePoint::Max();
  };
  struct Missing {
    std::vector<NodeId> announcers;  // in announcement order, at most kAnnouncersMax
    TimePoint graft_at;
  };

  PeerState* Peer(const NodeId& id);
  PeerState& PeerOrAdd(const NodeId& id);
  void SendPayload(const NodeId& to, const PacketMsg& packet, Out& out);
  void Announce(TimePoint now, PeerState& peer, const PacketId& id, uint32_t hops);
  void Lower(TimePoint t) { deadline_ = std::min(deadline_, t); }

  const PropagationConfig& config_;
  std::vector<PeerState> peers_;  // sorted by id
  std::unordered_map<PacketId, Missing, PacketIdHash> missing_;
  std::deque<PacketId> missing_order_;
  TimePoint deadline_ = TimePoint::Max();
  Counters counters_;
};

}  // namespace myco
