// TargetedRouter: source-routed, end-to-end acknowledged delivery of a packet to one named node
// (MISSION.md §3 "targeted propagation", "acknowledgements and retries"; ARCHITECTURE.md
// "Targeted routing"; ORIGINAL_DESIGN.md find_optimal_path).
//
// What it guarantees
// - Routes come from the topology map (link-state gossip) plus this node's own live links: only an
//   active neighbour is ever a first hop, so a route never starts on a link that is gone even when
//   our own map entry is stale. A map edge u–v counts when it is confirmed (u lists v, and v lists
//   u or has no entry; TopologyMap's rule); edges are used in both directions.
// - Every route is loop-free, starts at this node, ends at the destination, has at most
//   min(ttl, kRouteNodesMax - 1) hops, and is reproducible: all iteration runs in sorted-id order,
//   so the same map and links give the same routes on every machine.
// - Candidates: the BFS shortest path, then node-disjoint alternatives (the intermediate nodes of
//   the paths found so far are removed and BFS runs again; a direct path removes the direct link),
//   at most `candidate_paths_max`. The adjacency is cached as a dense CSR graph keyed by the map's
//   generation, and the candidates per destination are cached until the map or our active links
//   change, so a send costs O(path) in a steady network and one O(V + E) BFS per candidate after a
//   change.
// - Scoring (ORIGINAL_DESIGN.md's weights), each term in [0,1], higher is better:
//     score = 0.30 * length + 0.25 * bandwidth + 0.25 * utilisation + 0.20 * compatibility
//     length        = 1 / hops
//     bandwidth     = Health() of the first-hop link. We only measure our own links; farther hops
//                     are unknown and taken as nominal, so they do not separate candidates.
//     utilisation   = 1 - the first-hop link's utilisation, clamped to [0,1].
//     compatibility = share of intermediate nodes whose specializations include
//                     selector.specialization; a node whose NodeInfo we do not know (we only know
//                     active neighbours' Hello info) counts 0.5. 1 when the selector names no
//                     specialization or the path has no intermediate node.
//   Ties keep generation order (shorter first, then the BFS's sorted-id order).
// - Reliability: each packet waits ack_timeout * 2^retries for its ack; when the ack is overdue it
//   is re-sent (same signed body, same id) on an alternative path recomputed from the current map,
//   preferring paths whose intermediate nodes avoid every node of the failed attempts and falling
//   back to the best path. After `retries_max` retries the final wait ends in DeliveryFailed.
//   Exactly one of DeliveryAcked / DeliveryFailed is emitted per accepted packet; acks after that
//   are ignored. At most `pending_acks_max` packets are in flight; Send fails beyond that.
//
// Wire conventions (the pipeline relies on them; NextHop checks them):
// - PacketMsg.route is the whole source route: the origin first, the destination last, no node
//   twice, at most kRouteNodesMax nodes.
// - The packet is at route[hops]: the origin sends hops = 1, ttl = ttl - 1 to route[1]; each
//   forwarder sends hops + 1, ttl - 1 to route[hops + 1]. So hops + ttl stays equal to the ttl the
//   origin started with (the body's signed ttl_max), and the hops still ahead,
//   route.size() - 1 - hops, never exceed ttl (the origin only picks paths of <= ttl hops).
// - Acks (mode kAck) are source-routed with the same convention (route: the acker first, the
//   origin last), so NextHop forwards them too.
// - Retries re-send the same body: forwarders must forward a targeted packet whose id they have
//   already seen, and the destination must re-acknowledge a duplicate (without re-delivering it),
//   or a lost ack could never be repaired.
//
// REQUIRES: external synchronization. `membership` must outlive the router.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "core/messages.hpp"
#include "core/propagation/config.hpp"
#include "core/propagation/packet.hpp"
#include "myco/result.hpp"
#include "myco/time.hpp"
#include "myco/types.hpp"

namespace myco {

class Membership;
class TopologyMap;
struct Send;
struct Dial;
struct Close;
struct Deliver;

// Nodes a source route may name, origin and destination included (so at most 255 hops). Bounds
// the per-packet route bytes (256 * 32 B = 8 KiB) and the work of checking a route.
inline constexpr size_t kRouteNodesMax = 256;

class TargetedRouter {
 public:
  // The same type as std::vector<Effect> (core/node.hpp), spelled so the header needs no node.hpp.
  using Out = std::vector<std::variant<myco::Send, Dial, Close, Deliver>>;

  struct Path {
    std::vector<NodeId> nodes;  // this node first, the destination last
    double score = 0;           // see the top of this file
  };

  struct Counters {
    uint64_t sent = 0;                   // packets accepted by Send and sent on a first path
    uint64_t acked = 0;                  // DeliveryAcked emitted
    uint64_t retries = 0;                // re-sends after an overdue ack
    uint64_t retries_no_route = 0;       // retries that found no route at all (nothing sent)
    uint64_t alternative_path_acks = 0;  // acked after a re-send on a path other than the first
    uint64_t failed = 0;                 // DeliveryFailed emitted
    uint64_t no_route = 0;               // Send refused: destination not reachable within ttl
    uint64_t acks_unmatched = 0;         // acks for no pending packet (late, duplicate, forged)
    uint64_t forwarded_broken = 0;       // NextHop refused: invalid route or next hop not linked
  };

  TargetedRouter(const Membership& membership, const PropagationConfig& config);
  ~TargetedRouter();
  TargetedRouter(const TargetedRouter&) = delete;
  TargetedRouter& operator=(const TargetedRouter&) = delete;

  // Up to config.candidate_paths_max loop-free paths to `destination` of at most `hops_max` hops,
  // best score first. Empty when the destination is this node or is not reachable.
  std::vector<Path> CandidatePaths(const NodeId& destination, const Selector& selector,
                                   uint32_t hops_max) const;

  // Sends a signed targeted body (mode kTargeted, one destination, originated here) along the best
  // path of at most `ttl` hops and tracks its ack. Errors (nothing sent, nothing tracked):
  // kUnavailable "no route to <short id> ..." when there is no path; kUnavailable when
  // pending_acks_max packets already await acks; kInvalidArgument for ttl 0, a destination that is
  // this node, or an id already in flight.
  Status Send(TimePoint now, std::shared_ptr<const PacketBody> body, uint32_t ttl, Out& out);

  // The pipeline verified an ack for `acked`, signed by `acker`. If `acked` is pending and
  // `acker` is its destination, emits Deliver{DeliveryAcked} and stops retrying; anything else is
  // counted in acks_unmatched and ignored. `ack_route` (optional) is the ack's source route
  // (acker first); when it is the reverse of one attempt's path, that attempt is the one
  // acknowledged, otherwise the latest attempt is assumed. DeliveryAcked.round_trip is the time
  // since Send: the round trip when retries == 0, the delivery latency including retry waits
  // otherwise. alternative_path: the acknowledged attempt used a path other than the first.
  void OnAck(TimePoint now, const PacketId& acked, const NodeId& acker, Out& out,
             std::span<const NodeId> ack_route = {});

  // Re-sends packets whose ack is overdue, or gives up on them (see the top of this file).
  void OnTick(TimePoint now, Out& out);
  // The earliest retry or give-up deadline; TimePoint::Max() when nothing is pending.
  TimePoint NextDeadline() const;

  // Forwarding at an intermediate node (targeted and ack packets): the route is valid for this
  // node (CheckRoute) and the next node, route[hops + 1], is an active neighbour → that node.
  // nullopt otherwise, and also when this node is the destination (not counted as broken).
  std::optional<NodeId> NextHop(const PacketMsg& packet) const;

  // The route part of the pipeline's sanity check for a packet that arrived at `self`: 2 to
  // kRouteNodesMax nodes, no node twice, 1 <= hops < size, route[hops] == self, and the hops
  // still ahead fit in ttl. The error says which rule failed.
  static Status CheckRoute(const PacketMsg& packet, const NodeId& self);

  size_t PendingCount() const { return pending_.size(); }
  const Counters& counters() const { return counters_; }

 private:
  struct Attempt {
    std::vector<NodeId> nodes;  // empty: no route existed at that retry, nothing was sent
    TimePoint sent_at;
  };
  struct Pending {
    std::shared_ptr<const PacketBody> body;
    uint32_t ttl = 0;
    TimePoint first_sent_at;
    TimePoint deadline;
    uint32_t retries = 0;
    std::vector<Attempt> attempts;  // at most retries_max + 1
  };

  // The map's confirmed edges as a dense, undirected CSR graph; index order is id order.
  struct Graph {
    uint64_t generation = 0;
    bool built = false;
    std::vector<NodeId> ids;                                 // sorted, unique
    std::unordered_map<NodeId, uint32_t, NodeIdHash> index;  // id -> position in ids
    std::vector<uint32_t> offsets;  // neighbours of i: edges[offsets[i] .. offsets[i + 1])
    std::vector<uint32_t> edges;    // ascending per node
  };

  static constexpr uint32_t kNoIndex = UINT32_MAX;

  const NodeId& self() const;
  const Graph& CurrentGraph() const;
  static void IndexNodes(const TopologyMap& map, const NodeId& self, Graph& g);
  static void LinkNodes(const TopologyMap& map, const NodeId& self, Graph& g);
  uint32_t IndexOf(const NodeId& id) const;
  bool IsActiveNeighbour(const NodeId& id) const;
  bool ActiveNeighboursUnchanged() const;
  // Up to candidate_paths_max node-disjoint paths (at most kRouteNodesMax - 1 hops), in the
  // order found (non-decreasing length). `avoid` are nodes no path may pass through;
  // `avoid_direct` forbids the one-hop path.
  std::vector<std::vector<NodeId>> DisjointPaths(const NodeId& destination,
                                                 const std::vector<NodeId>& avoid,
                                                 bool avoid_direct) const;
  std::vector<NodeId> ShortestPath(uint32_t destination_index) const;
  const std::vector<std::vector<NodeId>>& CachedDisjointPaths(const NodeId& destination) const;
  void ClearPathCache() const;
  std::vector<Path> Rank(const std::vector<std::vector<NodeId>>& paths, const Selector& selector,
                         uint32_t hops_max) const;
  double Score(const std::vector<NodeId>& nodes, const Selector& selector) const;
  std::optional<Path> AlternativePath(const Pending& pending) const;
  void SendAttempt(TimePoint now, Pending& pending, std::vector<NodeId> nodes, Out& out);
  void Arm(const PacketId& id, Pending& pending, TimePoint from);
  void Retry(TimePoint now, const PacketId& id, Pending& pending, Out& out);
  void Fail(const PacketId& id, const Pending& pending, Out& out);

  const Membership& membership_;
  const PropagationConfig config_;

  std::map<PacketId, Pending> pending_;                 // sorted: deterministic iteration
  std::set<std::pair<TimePoint, PacketId>> deadlines_;  // one per pending packet

  // ---- caches and scratch (derived state only, hence mutable in const queries) ----
  mutable Graph graph_;
  // Candidates per destination, valid while graph_ and the active neighbours stay the same.
  mutable std::unordered_map<NodeId, std::vector<std::vector<NodeId>>, NodeIdHash> path_cache_;
  mutable std::vector<NodeId> path_cache_neighbours_;
  mutable size_t path_cache_nodes_ = 0;  // node ids held, bounded (see targeted.cpp)
  // BFS scratch, epoch-stamped so a BFS never clears arrays of the whole graph.
  mutable std::vector<uint32_t> visited_epoch_;
  mutable std::vector<uint32_t> avoided_epoch_;
  mutable std::vector<uint32_t> parent_;
  mutable std::vector<uint32_t> depth_;
  mutable std::vector<uint32_t> queue_;
  mutable uint32_t visit_epoch_ = 0;
  mutable uint32_t avoid_epoch_ = 0;

  // Statistics only; NextHop is a const query that still counts what it refuses.
  mutable Counters counters_;
};

}  // namespace myco
