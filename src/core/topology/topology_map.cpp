#include "core/topology/topology_map.hpp"

#include <algorithm>
#include <cassert>
#include <deque>
#include <set>

namespace myco {

bool TopologyMap::Update(const NodeId& origin, uint64_t version, std::vector<NodeId> neighbours,
                         TimePoint now) {
  auto it = entries_.find(origin);
  if (it != entries_.end()) {
    if (version <= it->second.version) return false;
  } else {
    if (entries_max_ == 0) return false;
    if (entries_.size() >= entries_max_) {
      // Evict the entry heard of longest ago; ties go to the smallest id (std::map order).
      auto oldest = entries_.begin();
      for (auto e = entries_.begin(); e != entries_.end(); ++e) {
        if (e->second.heard_at < oldest->second.heard_at) oldest = e;
      }
      entries_.erase(oldest);
    }
    it = entries_.emplace(origin, Entry{}).first;
  }
  std::sort(neighbours.begin(), neighbours.end());
  neighbours.erase(std::unique(neighbours.begin(), neighbours.end()), neighbours.end());
  it->second = Entry{version, std::move(neighbours), now};
  ++generation_;
  assert(entries_.size() <= entries_max_);
  return true;
}

void TopologyMap::Expire(TimePoint now, Duration expiry) {
  if (std::erase_if(entries_, [&](const auto& kv) { return now - kv.second.heard_at > expiry; })) {
    ++generation_;
  }
}

const TopologyMap::Entry* TopologyMap::Find(const NodeId& origin) const {
  auto it = entries_.find(origin);
  return it == entries_.end() ? nullptr : &it->second;
}

bool TopologyMap::Confirmed(const NodeId& u, const NodeId& v) const {
  const Entry* ev = Find(v);
  if (ev == nullptr) return true;
  return std::binary_search(ev->neighbours.begin(), ev->neighbours.end(), u);
}

std::vector<NodeId> TopologyMap::Reachable(const NodeId& self) const {
  std::vector<NodeId> order{self};
  std::set<NodeId> seen{self};
  for (size_t i = 0; i < order.size(); ++i) {
    const NodeId u = order[i];
    const Entry* e = Find(u);
    if (e == nullptr) continue;
    for (const NodeId& v : e->neighbours) {
      if (seen.count(v) != 0 || !Confirmed(u, v)) continue;
      seen.insert(v);
      order.push_back(v);
    }
  }
  return order;
}

std::map<NodeId, std::vector<NodeId>> TopologyMap::ConfirmedAdjacency(const NodeId& self) const {
  std::map<NodeId, std::vector<NodeId>> adjacency;
  for (const NodeId& u : Reachable(self)) {
    auto& out = adjacency[u];
    if (const Entry* e = Find(u)) {
      for (const NodeId& v : e->neighbours) {
        if (Confirmed(u, v)) out.push_back(v);
      }
    }
  }
  return adjacency;
}

}  // namespace myco
