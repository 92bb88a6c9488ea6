// TreeRoot: where this node sits in the network's broadcast tree. Sans-IO.
//
// Why. Plumtree's eager links converge to the minimum spanning tree of the link weights
// (broadcast.hpp, "Pruning"). With weights that ignore hop counts that tree is a random one, and
// its paths are long: at 10,000 nodes the last delivery came 29 hops (mean) after the source's
// eccentricity. Here a link weighs, first, the sum of its two ends' distances to one root node,
// and only then a per-link hash. With distances from a breadth-first search, every link joins
// nodes whose distances differ by at most one, and Kruskal's algorithm takes each node's lightest
// link to the level above before any link within a level: the minimum spanning tree is a
// shortest-path tree from the root. Every path in it is at most d(source, root) + the root's
// eccentricity, so with a central root (a hub) the last delivery comes close to the source's
// own eccentricity.
//
// How (a distance-vector protocol in the spirit of the spanning tree protocol):
// - Rank. Every node is a candidate; its rank is bit_width(active links) (hubs rank highest, and
//   a degree must double before it changes: no churn on every new link), then the number of its
//   neighbours whose own bit_width is at least one less (a hub linked to many hubs is central).
//   The root is the candidate with the highest (rank, id) any neighbour advertises, or the node
//   itself.
// - Beacons. A node sends TreeBeacon{root, root's rank, root's refresh number, own distance} to
//   every neighbour when any of it changes (coalesced: one round per tree_update_min_interval)
//   and to each new neighbour. Its distance is 1 + the least distance a neighbour advertises for
//   the same root; its parent is that neighbour (ties: the lighter link). The beacon to the parent
//   says so, so both ends of a tree link know it is one.
// - Liveness. The root raises its refresh number every tree_refresh_period; the number spreads
//   with the beacons. A node whose root's number has not grown for tree_root_timeout takes the
//   root for dead and ignores it for another tree_root_timeout, so the reflections of a dead
//   root's beacons cannot keep it alive; a neighbour entry whose number lags the newest by more
//   than two refreshes is stale and is ignored. Distances above tree_dist_max are not accepted,
//   which bounds counting to infinity.
//
// Bounded: one entry per active neighbour, at most kDeadRootsMax roots remembered as dead.
// REQUIRES: external synchronization. Inputs arrive through Propagation.
#pragma once

#include <cstdint>
#include <variant>
#include <vector>

#include "core/messages.hpp"
#include "core/propagation/config.hpp"
#include "myco/time.hpp"
#include "myco/types.hpp"

namespace myco {

struct Send;
struct Dial;
struct Close;
struct Deliver;

class TreeRoot {
 public:
  using Out = std::vector<std::variant<Send, Dial, Close, Deliver>>;

  // A neighbour's distance when it follows another root or has not said: far beyond any real one.
  static constexpr uint32_t kFar = 1024;
  static constexpr size_t kDeadRootsMax = 16;

  struct Counters {
    uint64_t beacons_sent = 0;
    uint64_t beacons_received = 0;
    uint64_t root_changes = 0;    // the root this node follows changed
    uint64_t parent_changes = 0;  // its parent changed
    uint64_t roots_expired = 0;   // roots given up for silence
  };

  TreeRoot(const PropagationConfig& config, const NodeId& self);

  void OnBeacon(TimePoint now, const NodeId& from, const TreeBeacon& beacon);
  void OnNeighbourUp(TimePoint now, const NodeId& peer);
  void OnNeighbourDown(TimePoint now, const NodeId& peer);
  // Raises the refresh number (if this node is root), checks the root's liveness, then sends a
  // round of beacons if one is due.
  void OnTick(TimePoint now, Out& out);
  TimePoint NextDeadline() const;

  // This node's beacon (what it last computed).
  const TreeBeacon& beacon() const { return mine_; }
  bool IsRoot() const { return mine_.root == self_; }
  // The neighbour one hop closer to the root; zero for the root itself.
  const NodeId& parent() const { return parent_; }
  // `peer`'s distance to this node's root, kFar if it follows another root or has not said.
  uint32_t PeerDist(const NodeId& peer) const;
  // Both ends follow the same root and know each other's distance (PeerDist is not kFar).
  bool Settled(const NodeId& peer) const { return PeerDist(peer) != kFar; }
  // The link to `peer` is in the tree: `peer` is our parent, or said we are its parent.
  bool IsTreeLink(const NodeId& peer) const;
  // Set when the parent changed since the last call (then cleared).
  bool TakeParentChanged();
  // The per-link tie-breaker, the same at both ends: a hash of the two ids (48 bits).
  static uint64_t LinkHash(const NodeId& a, const NodeId& b);
  const Counters& counters() const { return counters_; }

 private:
  struct Entry {
    NodeId peer;
    TreeBeacon beacon;
    bool heard = false;  // a beacon came since the link is up
    bool owed = true;    // has not been sent our beacon since the link came up
  };
  struct DeadRoot {
    NodeId root;
    TimePoint until;
  };

  Entry* Find(const NodeId& peer);
  const Entry* Find(const NodeId& peer) const;
  bool IsDead(const NodeId& root, TimePoint now) const;
  // Recomputes root, distance and parent from the entries; marks a round due on any change.
  void Recompute(TimePoint now);
  // A round is due: not before the last one's interval has passed, and not at `now` itself.
  void Coalesce(TimePoint now);

  const PropagationConfig& config_;
  NodeId self_;
  uint32_t own_rank_ = 0;
  uint64_t own_seq_ = 1;
  TreeBeacon mine_;
  NodeId parent_;
  bool parent_changed_ = false;
  // When the followed root's refresh number last grew (or the root was adopted).
  TimePoint root_fresh_at_;
  TimePoint next_refresh_at_;
  std::vector<Entry> entries_;  // sorted by peer; one per active neighbour
  std::vector<DeadRoot> dead_;
  bool changed_ = false;  // mine_ changed since the last round
  uint32_t owed_ = 0;     // entries with `owed` set
  TimePoint next_round_at_;
  bool started_ = false;
  Counters counters_;
};

}  // namespace myco
