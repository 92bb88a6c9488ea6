// Broadcast: epidemic broadcast in the spirit of Plumtree (Leitão, Pereira, Rodrigues 2007), with
// flood and gossip baselines.
//
// Plumtree keeps, per neighbour, a flag: eager (a tree link: packets are pushed in full) or lazy
// (only "I have" announcements, batched per link every ihave_batch_interval). Every link starts
// eager, so the first broadcast floods; duplicates prune links (lazy on both sides), so the eager
// links converge to a spanning tree and redundancy falls close to zero. A node that hears of a
// packet only through an announcement waits graft_timeout for the eager copy, then grafts an
// announcer (one whose link is already eager if there is one: that adds no link): the link
// becomes eager and the packet is sent — the reliability of flooding whenever the tree breaks.
//
// Pruning. Plumtree prunes the link a duplicate came on. With one broadcast at a time that cuts
// each cycle of eager links once; with many in flight (100/s from random sources at 10,000
// nodes) each cuts the same cycle where its own copies meet, so cycles are cut in several places,
// the eager graph falls apart, and grafts that rejoin the pieces close new cycles: measured, the
// eager links of 1,000 nodes stayed split in ~500 pieces and RMR near 0.9 for the whole run.
// Here a prune needs the cycle's heaviest link instead. Every link has a weight both ends compute
// (LinkWeight: the ends' distances to the tree root, then a hash of the two ids); every eager
// copy carries, in PacketMsg::route and route_weight, the two ends and the weight of the heaviest
// link of its path so far. The two copies of a packet that meet at a node share
// their path up to where it forks (a first-arrival tree), so the rest of both paths is a simple
// cycle, and the heavier of the two carried maxima is its heaviest link — unless both carry the
// same link, which then lies on the shared part: no prune. The node prunes only if that heaviest
// link is one of its own two links (the duplicate's or the first copy's); otherwise a later
// broadcast that meets at the owner does. The heaviest link of a cycle is never in the minimum
// spanning tree, so no prune ever cuts that tree, however many broadcasts run at once: the eager
// links always connect the network, and they converge to that tree. With distances from one root
// first in the weight, that tree is a shortest-path tree from the root (tree_root.hpp), so its
// paths are short; while the distances settle the ends of a link may weigh it differently, a
// prune may then cut the tree, and grafts repair it as after any loss. A node's new parent link
// is grafted (EnsureEager), so the tree follows the distances when they change. A graft answer
// carries an "unknown path" marker (route {answerer, answerer}, the heaviest weight), so it never
// justifies a prune. A duplicate on a link we already made lazy means the peer still pushes (a
// Prune and a Graft crossed): it is pruned again, at most once per graft_timeout.
//
// Named trees. A packet may name one of the trees TreeRoot keeps (PacketMsg::tree, chosen by its
// origin: tree_root.hpp, "Several trees"). A node that keeps that tree pushes it along the tree's
// links (a neighbour that has not said where it sits in the tree: by the eager flag) and
// announces it on the others, whatever the eager flags say, and its duplicates prune nothing. A
// node that does not keep the tree forwards it as a packet naming none, from there on. The eager
// flags keep following the primary tree (Trim) for packets naming no tree.
//
// Tree optimisation (off by default, optimization_threshold_hops 0): when an announcement shows
// a path at least that many hops shorter than the eager copy took, the announcing link is
// grafted and the eager one pruned. It can cut the minimum spanning tree (a swap is not a
// heaviest-link prune), and with random sources it churns.
//
// Bounded: announcements per message, missing ids tracked (missing_entries_max, oldest dropped),
// announcers remembered per missing id (8), how each packet arrived is kept in the SeenCache.
// REQUIRES: external synchronization.
#pragma once

#include <deque>
#include <limits>
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
class TreeRoot;
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
    uint64_t prunes_kept = 0;      // duplicates whose cycle's heaviest link is not ours to prune
    uint64_t missing_dropped = 0;  // gave up on an announced packet (no announcer left)
    uint64_t trims = 0;            // eager links pruned because they are not tree links
  };

  // `tree` (may be null: every node at distance 0) gives the distances link weights start with.
  explicit Broadcast(const PropagationConfig& config, const TreeRoot* tree = nullptr)
      : config_(config), tree_(tree) {}

  struct PathMax;
  // Forwards a packet this node accepted (first copy, verified) or originated (`from` zero).
  // `packet` carries the ttl and hops as received (as created, for an own packet). `arrived`
  // (broadcast mode, optional): PathMaxOf(packet, WeightTo(self, from)), if the caller has it.
  void Spread(TimePoint now, const NodeId& from, const PacketMsg& packet,
              const Membership& membership, Rng& rng, Out& out, const PathMax* arrived = nullptr);
  // A copy of a packet already seen arrived from `from`; `first` is how its first copy came (the
  // SeenCache entry), `self` this node's id.
  void OnDuplicate(TimePoint now, const NodeId& from, const PacketMsg& packet, const NodeId& self,
                   const SeenCache& seen, Out& out);

  // The heaviest link on the path a broadcast copy took, given the weight of its last link
  // (`own`): the link carried in packet.route (weighing packet.route_weight), or the last one if
  // heavier. See "Pruning" above.
  struct PathMax {
    uint64_t weight = 0;
    bool last = false;  // the heaviest link is the last one (from -> self)
  };
  static PathMax PathMaxOf(const PacketMsg& packet, uint64_t own);
  // A link's weight: the sum of its ends' distances to the tree root first (tree_root.hpp: the
  // minimum spanning tree is then a shortest-path tree from the root), then a hash of the two ids
  // (distinct per link bar 2^-48 collisions). The same at both ends while they agree on their
  // distances. A link from a node to itself (the marker of a graft answer, whose path is not
  // known) weighs the most.
  static uint64_t LinkWeight(const NodeId& a, const NodeId& b, uint32_t dist_sum = 0);
  // The weight of the link from `self` to `peer` with the distances this node knows. `cursor`
  // (optional) speeds up calls for peers in increasing order (TreeRoot::TreeLinkOf's).
  uint64_t WeightTo(const NodeId& self, const NodeId& peer, size_t* cursor = nullptr) const;
  // Makes the link to `peer` eager at both ends (a Graft without ids) if it is lazy: the tree
  // root's protocol calls it for a node's new parent, whose link is in the new minimum spanning
  // tree; the cycle it closes is pruned at its heaviest link by the next broadcasts.
  void EnsureEager(const NodeId& peer, Out& out);
  // Brings the eager links in line with the tree root's tree: prunes eager links that are not
  // tree links (once both ends agree on their distances, and not within 2 × graft_timeout of a
  // graft: a graft repairs a break the tree has not healed yet), and grafts the parent link if
  // it is lazy. Duplicates alone leave a cycle uncut when its copies never meet at the owner of
  // its heaviest link; each such extra link is a shortcut that sends copies on longer paths.
  void Trim(TimePoint now, Out& out);
  void OnIHave(TimePoint now, const NodeId& from, const IHave& ihave, SeenCache& seen, Out& out);
  // `self` is this node's id (the answer is marked as having an unknown path).
  void OnGraft(TimePoint now, const NodeId& from, const Graft& graft, const NodeId& self,
               const SeenCache& seen, Out& out);
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
    // When we last sent this peer a Prune (long ago at first; half the range, so that now minus
    // it cannot overflow).
    TimePoint pruned_at{std::numeric_limits<int64_t>::min() / 2};
    // When a graft made it eager (ours or the peer's); Trim leaves it alone for a while.
    TimePoint grafted_at{std::numeric_limits<int64_t>::min() / 2};
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
  void SendPrune(TimePoint now, PeerState& peer, Out& out);
  void Announce(TimePoint now, PeerState& peer, const PacketId& id, uint32_t hops);
  void Lower(TimePoint t) { deadline_ = std::min(deadline_, t); }

  const PropagationConfig& config_;
  const TreeRoot* tree_;
  std::vector<PeerState> peers_;  // sorted by id
  std::unordered_map<PacketId, Missing, PacketIdHash> missing_;
  std::deque<PacketId> missing_order_;
  TimePoint deadline_ = TimePoint::Max();
  Counters counters_;
};

}  // namespace myco
