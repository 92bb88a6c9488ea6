#include "core/propagation/tree_root.hpp"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstring>
#include <tuple>

#include "core/node.hpp"

namespace myco {

TreeRoot::TreeRoot(const PropagationConfig& config, const NodeId& self)
    : config_(config), self_(self) {
  mine_.root = self_;
  mine_.seq = own_seq_;
}

uint64_t TreeRoot::LinkHash(const NodeId& a, const NodeId& b) {
  const NodeId& lo = a < b ? a : b;
  const NodeId& hi = a < b ? b : a;
  uint64_t x;
  uint64_t y;
  std::memcpy(&x, lo.bytes.data(), sizeof x);
  std::memcpy(&y, hi.bytes.data() + 8, sizeof y);
  // splitmix64 finaliser over both ends: ids are uniformly random keys, so this is a uniformly
  // random value per link, known to both ends.
  uint64_t z = x ^ (y * 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return z >> 16;
}

TreeRoot::Entry* TreeRoot::Find(const NodeId& peer) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), peer,
                             [](const Entry& e, const NodeId& k) { return e.peer < k; });
  return (it != entries_.end() && it->peer == peer) ? &*it : nullptr;
}

const TreeRoot::Entry* TreeRoot::Find(const NodeId& peer) const {
  return const_cast<TreeRoot*>(this)->Find(peer);
}

bool TreeRoot::IsDead(const NodeId& root, TimePoint now) const {
  return std::any_of(dead_.begin(), dead_.end(),
                     [&](const DeadRoot& d) { return d.root == root && d.until > now; });
}

void TreeRoot::Coalesce(TimePoint now) {
  // Changes within a millisecond (a burst of beacons, a tick that drops several links) go out in
  // one round; it also keeps the round after the call that caused it, never at `now` itself.
  next_round_at_ = std::max(next_round_at_, now + Milliseconds(1));
}

void TreeRoot::OnNeighbourUp(TimePoint now, const NodeId& peer) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), peer,
                             [](const Entry& e, const NodeId& k) { return e.peer < k; });
  if (it != entries_.end() && it->peer == peer) return;
  Entry entry;
  entry.peer = peer;
  entries_.insert(it, entry);
  ++owed_;
  Coalesce(now);
  if (started_) Recompute(now);  // the rank may have changed
}

void TreeRoot::OnNeighbourDown(TimePoint now, const NodeId& peer) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), peer,
                             [](const Entry& e, const NodeId& k) { return e.peer < k; });
  if (it == entries_.end() || it->peer != peer) return;
  if (it->owed) --owed_;
  entries_.erase(it);
  if (started_) Recompute(now);
}

void TreeRoot::OnBeacon(TimePoint now, const NodeId& from, const TreeBeacon& beacon) {
  Entry* entry = Find(from);
  if (entry == nullptr) return;  // not (or no longer) a neighbour
  ++counters_.beacons_received;
  if (beacon.root == self_ && beacon.seq > own_seq_) {
    // Our own refresh numbers from before a restart still echo: continue above them, or our
    // new beacons would look stale to everyone.
    own_seq_ = beacon.seq + 1;
  }
  entry->beacon = beacon;
  entry->heard = true;
  if (started_) Recompute(now);
}

uint32_t TreeRoot::PeerDist(const NodeId& peer) const {
  const Entry* entry = Find(peer);
  if (entry == nullptr || !entry->heard || entry->beacon.root != mine_.root ||
      entry->beacon.seq + 2 < mine_.seq) {
    return kFar;
  }
  return entry->beacon.dist;
}

bool TreeRoot::IsTreeLink(const NodeId& peer) const {
  if (peer == parent_ && !parent_.IsZero()) return true;
  const Entry* entry = Find(peer);
  return entry != nullptr && entry->heard && entry->beacon.parent &&
         entry->beacon.root == mine_.root;
}

bool TreeRoot::TakeParentChanged() {
  const bool changed = parent_changed_;
  parent_changed_ = false;
  return changed;
}

void TreeRoot::Recompute(TimePoint now) {
  // The rank: bit_width of the degree first, so it changes only when the degree doubles or
  // halves; then how many neighbours rank about as high (a hub among hubs is central: measured
  // on 10,000-node graphs, the tree from such a root has eccentricity 4 where a random hub's
  // has 5, and last deliveries +0.9 hops over the source's eccentricity instead of +1.8).
  const auto degree_rank = static_cast<uint32_t>(std::bit_width(entries_.size()));
  uint32_t hubs = 0;
  for (const Entry& e : entries_) {
    if (e.heard && e.beacon.degree_rank + 1 >= degree_rank) ++hubs;
  }
  own_rank_ = (degree_rank << 16) | std::min<uint32_t>(hubs, 0xffff);

  // The best root any neighbour follows (highest rank, then id), among live ones in reach.
  const Entry* best = nullptr;
  for (const Entry& e : entries_) {
    if (!e.heard || e.beacon.root == self_ || e.beacon.dist + 1 > config_.tree_dist_max ||
        IsDead(e.beacon.root, now)) {
      continue;
    }
    if (best == nullptr || std::tie(e.beacon.root_rank, e.beacon.root) >
                               std::tie(best->beacon.root_rank, best->beacon.root)) {
      best = &e;
    }
  }
  TreeBeacon next;
  NodeId parent;
  if (best == nullptr ||
      std::tie(best->beacon.root_rank, best->beacon.root) < std::tie(own_rank_, self_)) {
    next = TreeBeacon{self_, own_rank_, own_seq_, 0, false, degree_rank};
  } else {
    const NodeId root = best->beacon.root;
    uint64_t seq = 0;
    uint32_t rank = 0;
    for (const Entry& e : entries_) {
      if (e.heard && e.beacon.root == root && e.beacon.dist + 1 <= config_.tree_dist_max &&
          e.beacon.seq >= seq) {
        seq = e.beacon.seq;
        rank = std::max(rank, e.beacon.root_rank);
      }
    }
    // Parent: the least distance among neighbours that are not stale, then the lighter link.
    const Entry* up = nullptr;
    uint64_t up_hash = 0;
    for (const Entry& e : entries_) {
      if (!e.heard || e.beacon.root != root || e.beacon.seq + 2 < seq ||
          e.beacon.dist + 1 > config_.tree_dist_max) {
        continue;
      }
      if (up != nullptr && e.beacon.dist > up->beacon.dist) continue;
      const uint64_t hash = LinkHash(self_, e.peer);
      if (up == nullptr || e.beacon.dist < up->beacon.dist || hash < up_hash) {
        up = &e;
        up_hash = hash;
      }
    }
    assert(up != nullptr);  // the entry that carried `seq` qualifies
    next = TreeBeacon{root, rank, seq, up->beacon.dist + 1, false, degree_rank};
    parent = up->peer;
  }
  if (next.root != mine_.root) {
    ++counters_.root_changes;
    root_fresh_at_ = now;
    // A node that becomes its own root (any time: a neighbour went down) refreshes a period on.
    if (next.root == self_) next_refresh_at_ = now + config_.tree_refresh_period;
  } else if (next.seq > mine_.seq) {
    root_fresh_at_ = now;
  }
  if (parent != parent_) {
    parent_ = parent;
    parent_changed_ = true;
    ++counters_.parent_changes;
    changed_ = true;  // the old and the new parent must hear it
    Coalesce(now);
  }
  if (!(next == mine_)) {
    mine_ = next;
    changed_ = true;
    Coalesce(now);
  }
}

void TreeRoot::OnTick(TimePoint now, Out& out) {
  if (!started_) {
    started_ = true;
    next_refresh_at_ = now + config_.tree_refresh_period;
    root_fresh_at_ = now;
    Recompute(now);
  }
  std::erase_if(dead_, [&](const DeadRoot& d) { return d.until <= now; });
  if (!IsRoot() && now - root_fresh_at_ >= config_.tree_root_timeout) {
    // The root's refresh number stopped growing: it is gone (or cut off). Its beacons still
    // echo between the nodes that followed it, so it is ignored for a while.
    ++counters_.roots_expired;
    if (dead_.size() >= kDeadRootsMax) dead_.erase(dead_.begin());
    dead_.push_back(DeadRoot{mine_.root, now + config_.tree_root_timeout});
    Recompute(now);
  }
  // (After the liveness check: a node that has just become its own root refreshes at once.)
  if (IsRoot() && now >= next_refresh_at_) {
    ++own_seq_;
    next_refresh_at_ = now + config_.tree_refresh_period;
    Recompute(now);
  }
  if ((changed_ || owed_ > 0) && now >= next_round_at_) {
    for (Entry& e : entries_) {
      if (!changed_ && !e.owed) continue;
      e.owed = false;
      ++counters_.beacons_sent;
      TreeBeacon beacon = mine_;
      beacon.parent = e.peer == parent_;
      out.push_back(Send{e.peer, beacon});
    }
    owed_ = 0;
    changed_ = false;
    next_round_at_ = now + config_.tree_update_min_interval;
  }
}

TimePoint TreeRoot::NextDeadline() const {
  if (!started_) return TimePoint{};
  TimePoint next = IsRoot() ? next_refresh_at_ : root_fresh_at_ + config_.tree_root_timeout;
  if (changed_ || owed_ > 0) next = std::min(next, next_round_at_);
  return next;
}

}  // namespace myco
