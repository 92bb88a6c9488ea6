// TopologyMap: what one node knows of the network's shape, built from the neighbour lists that
// nodes flood within `map_flood_radius` hops (link-state, as in OSPF, but bounded).
//
// Guarantees: at most `entries_max` entries (at the bound the entry heard of longest ago goes);
// an entry is replaced only by a newer version from the same origin; entries not refreshed for
// `expiry` are dropped by Expire(). An edge u–v counts only when it is confirmed: u lists v and v
// either lists u or has no entry yet, so a crashed node's stale entry cannot keep it "reachable"
// once its neighbours have reported it gone.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "myco/time.hpp"
#include "myco/types.hpp"

namespace myco {

class TopologyMap {
 public:
  struct Entry {
    uint64_t version = 0;
    std::vector<NodeId> neighbours;  // sorted
    TimePoint heard_at;
  };

  explicit TopologyMap(uint32_t entries_max) : entries_max_(entries_max) {}

  // Stores the entry if it is newer than what we hold. Returns true if it was stored.
  bool Update(const NodeId& origin, uint64_t version, std::vector<NodeId> neighbours,
              TimePoint now);
  void Remove(const NodeId& origin) {
    if (entries_.erase(origin) != 0) ++generation_;
  }
  void Expire(TimePoint now, Duration expiry);

  const Entry* Find(const NodeId& origin) const;
  // Incremented by every change, so users can cache what they derive from the map.
  uint64_t generation() const { return generation_; }
  size_t size() const { return entries_.size(); }
  bool full() const { return entries_.size() >= entries_max_; }
  // Sorted by origin, so whatever iterates it is deterministic.
  const std::map<NodeId, Entry>& entries() const { return entries_; }

  // Nodes reachable from `self` over confirmed edges, self included, in BFS order.
  std::vector<NodeId> Reachable(const NodeId& self) const;
  // Confirmed adjacency of the reachable part: node -> neighbours.
  std::map<NodeId, std::vector<NodeId>> ConfirmedAdjacency(const NodeId& self) const;

 private:
  bool Confirmed(const NodeId& u, const NodeId& v) const;

  uint32_t entries_max_;
  std::map<NodeId, Entry> entries_;
  uint64_t generation_ = 0;
};

}  // namespace myco
