// TreeRoot: where this node sits in the network's broadcast trees. Sans-IO.
//
// Why. Plumtree's eager links converge to the minimum spanning tree of the link weights
// (broadcast.hpp, "Pruning"). With weights that ignore hop counts that tree is a random one, and
// its paths are long: at 10,000 nodes the last delivery came 29 hops (mean) after the source's
// eccentricity. Here a link weighs, first, the sum of its two ends' distances to one root node
// (the primary tree's), and only then a per-link hash. With distances from a breadth-first
// search, every link joins nodes whose distances differ by at most one, and Kruskal's algorithm
// takes each node's lightest link to the level above before any link within a level: the minimum
// spanning tree is a shortest-path tree from the root. Every path in it is at most d(source,
// root) + the root's eccentricity.
//
// How (a distance-vector protocol in the spirit of the spanning tree protocol):
// - Rank. Every node is a candidate; its rank is bit_width(active links) (hubs rank highest, and
//   a degree must double before it changes: no churn on every new link), then the number of its
//   neighbours whose own bit_width is at least one less (a hub linked to many hubs is central).
//   A node keeps the trees of the tree_count highest (rank, id) roots it hears of, itself
//   included; the first is the primary tree.
// - Beacons. A node sends TreeBeacon{a TreeRecord{root, root's rank, root's refresh number, own
//   distance, parent?, height, up} per tree} to each new neighbour, and to every neighbour when a
//   root, rank, distance or parent changed (within a millisecond) or a refresh number did (within
//   a tenth of a refresh period); a new height goes to the tree's parent alone and a new `up` to
//   its children alone, the only neighbours that read them (rounds at least
//   tree_update_min_interval apart). Its distance is 1 + the least distance a neighbour
//   advertises for the same root; its parent is that neighbour (ties: the lighter link). The
//   record to the parent says so, so both ends of a tree link know it is one.
// - Eccentricity. `height` is the sender's subtree height; `up`, in the record to a child, is the
//   child's distance to the farthest node outside its subtree. A node's eccentricity in a tree is
//   max(height, up): what BestTree compares.
// - Liveness. A root raises its refresh number every tree_refresh_period, on multiples of the
//   period (roots that share a clock refresh together: their waves share rounds); the number
//   spreads with the beacons. A node whose root's number has not grown for tree_root_timeout
//   takes the root for dead and ignores it for another tree_root_timeout, so the reflections of a
//   dead root's beacons cannot keep it alive; a record whose number lags the newest by more than
//   two refreshes is stale and is ignored. Distances above tree_dist_max are not accepted, which
//   bounds counting to infinity.
//
// Several trees (tree_count, 16 by default). A tree from one root bounds a broadcast's path by
// d(source, root) + the root's eccentricity, and on a scale-free graph a few peripheral nodes
// make every hub's eccentricity one more than most nodes need: measured on 10,000-node graphs,
// 15-20% of sources then had a node 3 hops beyond their own eccentricity. So a node keeps the
// trees of the tree_count best-ranked roots at once (a k-best distance vector: each beacon
// carries a record per tree, and a root ranked below the k-th a node knows is dropped there;
// once ranks settle the same k roots are kept everywhere). A broadcast follows one tree, the
// one in which its origin's eccentricity is least (PacketMsg::tree names it; BestTree): its last
// delivery comes exactly that many hops out: with 8 trees 1 source in 900 was still 3 hops over
// its own eccentricity, with 16 none in three 10,000-node runs (docs/PERFORMANCE.md). Still one
// tree per packet: no redundant copies (with real latencies a redundant copy that arrives first
// often took more hops, and it would then be the one forwarded).
//
// Holds. No distance grows without a newer refresh number: a node that would have to follow a
// farther neighbour drops the tree and holds its root off until a newer number comes (Babel's
// feasibility condition), so the parent links never loop while a dead root's distances count up.
//
// Bounded: one entry per active neighbour, each with at most TreeBeacon::kTreesMax records; at
// most tree_count trees; at most kDeadRootsMax roots remembered as dead and as many held (the
// oldest forgotten).
// REQUIRES: external synchronization. Inputs arrive through Propagation.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
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

  // A neighbour's distance when it is not in the tree or has not said: far beyond any real one.
  static constexpr uint32_t kFar = 1024;
  static constexpr size_t kDeadRootsMax = 2 * TreeBeacon::kTreesMax;
  // Heights and eccentricities are capped here (the wire's bound on hop counts).
  static constexpr uint32_t kHeightMax = 255;

  struct Counters {
    uint64_t beacons_sent = 0;
    uint64_t beacons_received = 0;
    uint64_t root_changes = 0;    // the primary tree's root changed
    uint64_t parent_changes = 0;  // the parent in the primary tree changed
    uint64_t roots_expired = 0;   // roots given up for silence (any tree)
    uint64_t holds = 0;           // trees dropped until a newer refresh (a distance grew)
  };

  TreeRoot(const PropagationConfig& config, const NodeId& self);

  void OnBeacon(TimePoint now, const NodeId& from, const TreeBeacon& beacon);
  void OnNeighbourUp(TimePoint now, const NodeId& peer);
  void OnNeighbourDown(TimePoint now, const NodeId& peer);
  // Raises the refresh number (if this node roots a tree), checks the roots' liveness, then sends
  // a round of beacons if one is due.
  void OnTick(TimePoint now, Out& out);
  TimePoint NextDeadline() const;

  // ---- the primary tree (the best-ranked root): Plumtree's eager links follow it ----
  // This node's record in it (what it last computed).
  const TreeRecord& beacon() const { return trees_.front().mine; }
  bool IsRoot() const { return trees_.front().mine.root == self_; }
  // The neighbour one hop closer to the root; zero for the root itself.
  const NodeId& parent() const { return trees_.front().parent; }
  // `peer`'s distance to the primary root, kFar if it is not in that tree or has not said.
  uint32_t PeerDist(const NodeId& peer) const { return PeerDist(0, peer); }
  // Both ends are in the primary tree and know each other's distance (PeerDist is not kFar).
  bool Settled(const NodeId& peer) const { return PeerDist(peer) != kFar; }
  // The link to `peer` is in the primary tree: `peer` is our parent, or said we are its parent.
  bool IsTreeLink(const NodeId& peer) const { return IsTreeLink(0, peer); }
  // Set when the primary parent changed since the last call (then cleared).
  bool TakeParentChanged();

  // ---- every tree, best-ranked root first (index 0 is the primary) ----
  size_t tree_count() const { return trees_.size(); }
  const TreeRecord& record(size_t tree) const { return trees_[tree].mine; }
  const NodeId& parent(size_t tree) const { return trees_[tree].parent; }
  // (`cursor`, optional: as TreeLinkOf's.)
  uint32_t PeerDist(size_t tree, const NodeId& peer, size_t* cursor = nullptr) const;
  bool IsTreeLink(size_t tree, const NodeId& peer) const;
  // Whether the link to `peer` is in `tree`, if known: not before `peer` has said where it sits
  // in that tree (a new neighbour, or one that keeps other trees).
  // `cursor` (optional) speeds up a walk over peers in increasing order: start it at 0.
  std::optional<bool> TreeLinkOf(size_t tree, const NodeId& peer, size_t* cursor = nullptr) const;
  // The tree whose root has this tag, if this node keeps it.
  std::optional<size_t> FindTree(uint64_t tag) const;
  // This node's eccentricity in a tree (hops to the farthest node along it): the larger of its
  // subtree's height and the farthest node outside it, as its parent reports. 0 until known.
  uint32_t TreeEccentricity(size_t tree) const;
  // The tree for this node's own broadcasts: the least eccentricity in it (the hop count of the
  // last delivery), then the nearest root, then the better rank.
  size_t BestTree() const;
  // A root's tag (what PacketMsg::tree carries): 64 bits of its id, never 0.
  static uint64_t Tag(const NodeId& root);

  // The per-link tie-breaker, the same at both ends: a hash of the two ids (48 bits).
  static uint64_t LinkHash(const NodeId& a, const NodeId& b);
  const Counters& counters() const { return counters_; }
  // Test support: recomputes every tree from the neighbours' records alone. The beacon fast path
  // must always leave what this leaves (tree_root_test.cpp checks it on growing and failing
  // networks).
  void RecomputeForTest(TimePoint now) { Recompute(now); }

 private:
  // What a neighbour said. The parts every forwarded packet reads (the tags of its trees and
  // whether we are its parent in each) sit in the entry itself: no pointer to follow.
  struct Entry {
    NodeId peer;
    uint64_t link_hash = 0;    // LinkHash(self, peer)
    uint16_t parent_bits = 0;  // bit i: beacon.trees[i].parent
    uint8_t count = 0;         // beacon.trees.size()
    bool heard = false;        // a beacon came since the link is up
    bool owed = true;          // has not been sent our beacon since the link came up
    // What Evaluate, PeerDist and the rounds read of each of beacon.trees, beside its tag: one
    // cache line or two of the entry itself rather than a pointer to follow to the records.
    struct Hot {
      uint64_t tag = 0;  // Tag(root)
      uint64_t seq = 0;
      uint32_t root_rank = 0;
      uint16_t dist = 0;
      uint8_t height = 0;  // (heights and `up` are at most kHeightMax)
      uint8_t up = 0;
    };
    std::array<Hot, TreeBeacon::kTreesMax> hot{};
    TreeBeacon beacon;
    // The index of the record of the tree whose root has tag `tag`, looked for at index `hint`
    // first; -1 if none. (A tag is 64 bits of a root's id, itself a hash: two roots share one
    // only by a 2^-64 chance, or by grinding 2^64 keys.)
    int Index(uint64_t tag, size_t hint) const;
    bool Parent(int index) const { return ((parent_bits >> index) & 1u) != 0; }
    // Refreshes hot, parent_bits and count from beacon.trees.
    void Index();
  };
  struct Tree {
    TreeRecord mine;   // parent flag and up unused; height: this node's subtree's
    uint64_t tag = 0;  // Tag(mine.root)
    NodeId parent;
    uint32_t up = 0;  // hops to the farthest node outside this node's subtree (the parent says)
    // The tallest child (its height + 1 is mine.height) and the second tallest's height + 1:
    // what each child is told about the rest of the tree.
    NodeId tallest_child;
    uint32_t second_height = 0;
    // When the root's refresh number last grew (or the tree was adopted).
    TimePoint fresh_at;
  };
  struct DeadRoot {
    NodeId root;
    TimePoint until;
  };
  struct HeldRoot {
    NodeId root;
    uint64_t seq = 0;  // refresh numbers up to this one are ignored
    TimePoint until;
  };
  struct Candidate {
    NodeId root;
    uint64_t tag = 0;
    uint32_t rank = 0;
    uint64_t seq = 0;
  };

  Entry* Find(const NodeId& peer);
  const Entry* Find(const NodeId& peer) const;
  // Find for peers looked up in increasing order: `cursor` (start it at 0) walks the entries.
  const Entry* Walk(const NodeId& peer, size_t& cursor) const;
  bool IsDead(const NodeId& root, TimePoint now) const;
  bool IsHeld(const NodeId& root, uint64_t seq, TimePoint now) const;
  void Hold(const NodeId& root, uint64_t seq, TimePoint now);
  bool RootsAnyTree() const;
  // This node's rank as a root, from its degree and its neighbours' degree ranks.
  uint32_t OwnRank() const;
  // Recomputes the trees (roots, distances, parents) from the entries; marks a round due on any
  // change.
  void Recompute(TimePoint now);
  // Sets t's parent, distance, height and up from the entries (`hint`: where neighbours likely
  // list the tree). False if no neighbour qualifies as the parent (t is then unchanged but for
  // its height).
  // `seen` (optional): the root's newest refresh number among the neighbours' records, with the
  // highest rank any of them gives it at that number (what Recompute takes for its candidacy).
  struct Seen {
    uint64_t seq = 0;
    uint32_t rank = 0;
  };
  bool Evaluate(size_t hint, Tree& t, Seen* seen = nullptr) const;
  // Takes `next` as the trees: liveness times, counters, and a round if anything changed.
  // (`urgent_anyway`: something else the beacons carry changed.)
  void Commit(TimePoint now, std::vector<Tree>&& next, bool urgent_anyway = false);
  // A round is due (urgent: within a millisecond; else within a tenth of a refresh period), not
  // before the last one's interval has passed, and not at `now` itself.
  void Schedule(TimePoint now, bool urgent);
  // The next refresh time after `now`.
  TimePoint NextRefresh(TimePoint now) const;

  const PropagationConfig& config_;
  NodeId self_;
  uint32_t own_rank_ = 0;
  uint32_t degree_rank_ = 0;
  uint64_t own_seq_ = 1;
  std::vector<Tree> trees_;                             // never empty: at least this node's own
  std::array<uint64_t, TreeBeacon::kTreesMax> tags_{};  // trees_[i].tag, for FindTree
  bool parent_changed_ = false;
  TimePoint next_refresh_at_;
  TimePoint expiry_at_ = TimePoint::Max();  // the earliest tree's fresh_at + tree_root_timeout
  std::vector<Entry> entries_;              // sorted by peer; one per active neighbour
  std::vector<DeadRoot> dead_;
  std::vector<HeldRoot> held_;      // at most kDeadRootsMax
  std::vector<Candidate> scratch_;  // Recompute's, kept to save allocations
  std::vector<TreeRecord> before_;  // OnBeacon's: a neighbour's previous records
  std::vector<Tree> next_;          // OnBeacon's: the trees it changes
  std::vector<Entry*> owe_;         // Commit's: the neighbours a round must reach
  bool changed_ = false;            // a record changed since the last round
  uint32_t owed_ = 0;               // entries with `owed` set
  TimePoint next_round_at_;
  TimePoint last_round_at_{std::numeric_limits<int64_t>::min() / 2};  // long ago at first
  bool started_ = false;
  Counters counters_;
};

}  // namespace myco
