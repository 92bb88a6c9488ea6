#include "core/propagation/tree_root.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>
#include <cstring>
#include <tuple>

#include "core/node.hpp"

namespace myco {

TreeRoot::TreeRoot(const PropagationConfig& config, const NodeId& self)
    : config_(config), self_(self) {
  Tree own;
  own.mine.root = self_;
  own.mine.seq = own_seq_;
  own.tag = Tag(self_);
  trees_.push_back(own);
  tags_[0] = own.tag;
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

uint64_t TreeRoot::Tag(const NodeId& root) {
  uint64_t tag;
  std::memcpy(&tag, root.bytes.data(), sizeof tag);
  return tag == 0 ? 1 : tag;
}

int TreeRoot::Entry::Index(uint64_t tag, size_t hint) const {
  // Neighbours list the trees in much the same order as we do: look at the same place first.
  if (hint < count && hot[hint].tag == tag) return static_cast<int>(hint);
  for (size_t i = 0; i < count; ++i) {
    if (hot[i].tag == tag) return static_cast<int>(i);
  }
  return -1;
}

void TreeRoot::Entry::Index() {
  count = static_cast<uint8_t>(beacon.trees.size());
  parent_bits = 0;
  for (size_t i = 0; i < count; ++i) {
    const TreeRecord& r = beacon.trees[i];
    hot[i] = Hot{Tag(r.root),
                 r.seq,
                 r.root_rank,
                 static_cast<uint16_t>(std::min(r.dist, kFar)),
                 static_cast<uint8_t>(std::min(r.height, kHeightMax)),
                 static_cast<uint8_t>(std::min(r.up, kHeightMax))};
    if (r.parent) parent_bits |= static_cast<uint16_t>(1u << i);
  }
}

TreeRoot::Entry* TreeRoot::Find(const NodeId& peer) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), peer,
                             [](const Entry& e, const NodeId& k) { return e.peer < k; });
  return (it != entries_.end() && it->peer == peer) ? &*it : nullptr;
}

const TreeRoot::Entry* TreeRoot::Find(const NodeId& peer) const {
  return const_cast<TreeRoot*>(this)->Find(peer);
}

const TreeRoot::Entry* TreeRoot::Walk(const NodeId& peer, size_t& cursor) const {
  while (cursor < entries_.size() && entries_[cursor].peer < peer) ++cursor;
  return (cursor < entries_.size() && entries_[cursor].peer == peer) ? &entries_[cursor] : nullptr;
}

bool TreeRoot::IsDead(const NodeId& root, TimePoint now) const {
  return std::any_of(dead_.begin(), dead_.end(),
                     [&](const DeadRoot& d) { return d.root == root && d.until > now; });
}

bool TreeRoot::RootsAnyTree() const {
  return std::any_of(trees_.begin(), trees_.end(),
                     [&](const Tree& t) { return t.mine.root == self_; });
}

void TreeRoot::Schedule(TimePoint now, bool urgent) {
  // Changes within a millisecond (a burst of beacons, a tick that drops several links) go out in
  // one round; it also keeps the round after the call that caused it, never at `now` itself, and
  // rounds are tree_update_min_interval apart. A change of refresh numbers alone (every root's,
  // every period) waits a tenth of a period: the waves of several roots then share rounds, and
  // liveness needs no haste (a root is given up after tree_root_timeout).
  const Duration delay = urgent ? Milliseconds(1) : config_.tree_refresh_period / 10;
  const TimePoint due = std::max(last_round_at_ + config_.tree_update_min_interval, now + delay);
  next_round_at_ = (changed_ || owed_ > 0) ? std::min(next_round_at_, due) : due;
}

void TreeRoot::OnNeighbourUp(TimePoint now, const NodeId& peer) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), peer,
                             [](const Entry& e, const NodeId& k) { return e.peer < k; });
  if (it != entries_.end() && it->peer == peer) return;
  Entry entry;
  entry.peer = peer;
  entry.link_hash = LinkHash(self_, peer);
  entries_.insert(it, std::move(entry));
  Schedule(now, true);
  ++owed_;
  // Until it speaks, the new neighbour counts only in our degree: the rest stays as it is.
  if (started_ && std::bit_width(entries_.size()) != degree_rank_) Recompute(now);
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
  for (const TreeRecord& r : beacon.trees) {
    if (r.root == self_ && r.seq > own_seq_) {
      // Our own refresh numbers from before a restart still echo: continue above them, or our
      // new beacons would look stale to everyone.
      own_seq_ = r.seq + 1;
    }
  }
  const size_t n = std::min(beacon.trees.size(), TreeBeacon::kTreesMax);  // the codec refuses more
  // What the neighbour said before (nothing, for its first beacon since the link came up).
  const bool was_heard = entry->heard;
  const uint32_t old_degree_rank = entry->beacon.degree_rank;
  const size_t old_count = was_heard ? entry->count : 0;
  std::array<uint64_t, TreeBeacon::kTreesMax> old_tags{};
  for (size_t k = 0; k < old_count; ++k) old_tags[k] = entry->hot[k].tag;
  before_.swap(entry->beacon.trees);  // (both keep their buffers: no allocation per beacon)
  entry->beacon.trees.assign(beacon.trees.begin(),
                             beacon.trees.begin() + static_cast<ptrdiff_t>(n));
  entry->beacon.degree_rank = beacon.degree_rank;
  entry->Index();
  entry->heard = true;
  if (!started_) return;
  // Our rank counts the neighbours whose degree rank is about ours.
  if ((!was_heard || old_degree_rank != beacon.degree_rank) && OwnRank() != own_rank_) {
    Recompute(now);
    return;
  }
  // Most beacons change a few records of trees we keep (a refresh wave, a distance, parent,
  // height or rank), add or drop a few roots, or list a root we do not keep and that ranks below
  // ours: only the trees whose records changed need their parent chosen again. A kept root whose
  // rank rises stays kept (its tree moves up); a root that outranks our last tree takes its
  // place. Anything else that may change which trees are kept (a rank that fell, a tree no
  // neighbour qualifies as parent for, a distance that would grow, our own rank) takes the full
  // recomputation. Each tree evaluated here ends with the root's newest refresh number and rank
  // among the neighbours' records, as the full recomputation would have it; a test checks that
  // the two always agree (TheBeaconFastPathAgreesWithAFullRecomputation).
  auto old_index = [&](uint64_t tag, size_t hint) -> int {
    if (hint < old_count && old_tags[hint] == tag) return static_cast<int>(hint);
    for (size_t k = 0; k < old_count; ++k) {
      if (old_tags[k] == tag) return static_cast<int>(k);
    }
    return -1;
  };
  next_ = trees_;  // kept sorted by (rank, root), best first, as trees_ is
  bool any = false;
  auto find_next = [&](uint64_t tag) -> std::optional<size_t> {
    for (size_t j = 0; j < next_.size(); ++j) {
      if (next_[j].tag == tag) return j;
    }
    return std::nullopt;
  };
  auto by_rank = [](const Tree& a, const Tree& b) {
    return std::tie(a.mine.root_rank, a.mine.root) > std::tie(b.mine.root_rank, b.mine.root);
  };
  // Chooses tree j's parent again; false if only the full recomputation can settle it.
  auto evaluate = [&](size_t j) {
    Tree& t = next_[j];
    Seen seen;
    if (!Evaluate(j, t, &seen)) return false;  // no neighbour qualifies as the parent any more
    if (t.mine.root == self_) return true;
    // The distance grew without a newer refresh number (the hold is the full pass's to place),
    // or the newest refresh number or rank we know was this neighbour's alone.
    const std::optional<size_t> was = FindTree(t.tag);
    return !(was && t.mine.seq == trees_[*was].mine.seq && t.mine.dist > trees_[*was].mine.dist) &&
           seen.seq == t.mine.seq && seen.rank == t.mine.root_rank;
  };
  for (size_t i = 0; i < n; ++i) {
    const TreeRecord& r = entry->beacon.trees[i];
    const int k = old_index(entry->hot[i].tag, i);
    const TreeRecord* old = k < 0 ? nullptr : &before_[static_cast<size_t>(k)];
    if (old != nullptr && r == *old) continue;
    const std::optional<size_t> j = find_next(entry->hot[i].tag);
    if (!j) {
      // A root we do not keep: it may deserve a place now (one new here, held until a newer
      // refresh, no longer remembered as dead, fewer trees than tree_count). It takes the
      // place of the last tree if it outranks it with the newest refresh number and rank any
      // neighbour gives it (what the full recomputation would take), and is neither dead nor
      // held; anything less plain is the full recomputation's.
      const Tree& last = next_.back();
      if (r.dist + 1 > config_.tree_dist_max ||
          (next_.size() >= config_.tree_count &&
           std::tie(r.root_rank, r.root) <= std::tie(last.mine.root_rank, last.mine.root))) {
        continue;
      }
      if (r.root == self_) {  // (our own rank is ours to say)
        Recompute(now);
        return;
      }
      if (IsDead(r.root, now)) continue;
      Tree fresh;
      fresh.tag = entry->hot[i].tag;
      fresh.mine.root = r.root;
      fresh.mine.root_rank = r.root_rank;
      fresh.mine.seq = r.seq;
      Seen seen;
      if (!Evaluate(i, fresh, &seen) || seen.seq != r.seq || seen.rank != r.root_rank) {
        Recompute(now);
        return;
      }
      if (IsHeld(r.root, r.seq, now)) continue;
      next_.insert(std::upper_bound(next_.begin(), next_.end(), fresh, by_rank), fresh);
      if (next_.size() > config_.tree_count) next_.pop_back();
      any = true;
      continue;
    }
    size_t at = *j;
    if (next_[at].mine.root != r.root) continue;  // (a tag names a root: Entry::Index)
    const TreeRecord& known = next_[at].mine;
    if (r.root != self_ && ((r.seq > known.seq && r.root_rank != known.root_rank) ||
                            (r.seq == known.seq && r.root_rank > known.root_rank))) {
      // The root's rank as of its newest refresh is not the one we know. A rise keeps the root
      // among the trees we keep (the common case while a network grows: hubs gain links); a
      // fall may change which are kept.
      if (r.root_rank < known.root_rank) {
        Recompute(now);
        return;
      }
      next_[at].mine.root_rank = r.root_rank;
      any = true;
      if (at > 0 && by_rank(next_[at], next_[at - 1])) {
        // A rise: the tree moves up, the others keep their order.
        std::stable_sort(next_.begin(), next_.begin() + static_cast<ptrdiff_t>(at) + 1, by_rank);
        at = *find_next(entry->hot[i].tag);
      }
    }
    Tree& t = next_[at];
    if (r.seq > t.mine.seq && r.root != self_ && r.dist + 1 <= config_.tree_dist_max) {
      t.mine.seq = r.seq;  // (other neighbours' records may be stale now)
    } else if (old != nullptr) {
      // What Evaluate reads of this record: its distance and whether it is stale (the parent),
      // whether it names us its parent and then its height (ours), its `up` if it is our
      // parent's, and its refresh number and rank (the root's newest, as Recompute takes it).
      const bool stale = r.seq + 2 < t.mine.seq;
      const bool same_place = r.dist == old->dist && r.parent == old->parent &&
                              stale == (old->seq + 2 < t.mine.seq) &&
                              (!r.parent || r.height == old->height);
      const bool same_newest =
          old->seq != t.mine.seq || (r.seq == old->seq && r.root_rank >= old->root_rank);
      if (same_place && same_newest) {
        // A newer refresh number, a rank we already know, a height that is not ours to count:
        // nothing we derive changes, but for the farthest node outside our subtree.
        if (from == t.parent && !stale && r.up != old->up) {
          t.up = std::min(r.up, kHeightMax);  // (as Entry::Hot keeps it)
          any = true;
        }
        continue;
      }
    }
    any = true;
    if (!evaluate(at)) {
      Recompute(now);
      return;
    }
  }
  // Trees the neighbour no longer lists: it no longer counts as their parent or child here.
  for (size_t k = 0; k < old_count; ++k) {
    if (entry->Index(old_tags[k], k) >= 0) continue;
    const std::optional<size_t> j = find_next(old_tags[k]);
    if (!j || next_[*j].mine.root != before_[k].root) continue;
    any = true;
    if (!evaluate(*j)) {
      Recompute(now);
      return;
    }
  }
  if (any) Commit(now, std::move(next_));
}

uint32_t TreeRoot::PeerDist(size_t tree, const NodeId& peer, size_t* cursor) const {
  const Tree& t = trees_[tree];
  const Entry* entry = cursor != nullptr ? Walk(peer, *cursor) : Find(peer);
  if (entry == nullptr || !entry->heard) return kFar;
  const int i = entry->Index(t.tag, tree);
  if (i < 0) return kFar;
  const Entry::Hot& r = entry->hot[static_cast<size_t>(i)];
  return r.seq + 2 < t.mine.seq ? kFar : r.dist;
}

bool TreeRoot::IsTreeLink(size_t tree, const NodeId& peer) const {
  const Tree& t = trees_[tree];
  if (peer == t.parent && !t.parent.IsZero()) return true;
  const Entry* entry = Find(peer);
  if (entry == nullptr || !entry->heard) return false;
  const int i = entry->Index(t.tag, tree);
  return i >= 0 && entry->Parent(i);
}

std::optional<bool> TreeRoot::TreeLinkOf(size_t tree, const NodeId& peer, size_t* cursor) const {
  const Tree& t = trees_[tree];
  if (peer == t.parent && !t.parent.IsZero()) return true;
  const Entry* entry = cursor != nullptr ? Walk(peer, *cursor) : Find(peer);
  if (entry == nullptr || !entry->heard) return std::nullopt;
  const int i = entry->Index(t.tag, tree);
  if (i < 0) return std::nullopt;
  return entry->Parent(i);
}

std::optional<size_t> TreeRoot::FindTree(uint64_t tag) const {
  for (size_t i = 0; i < trees_.size(); ++i) {
    if (tags_[i] == tag) return i;
  }
  return std::nullopt;
}

uint32_t TreeRoot::TreeEccentricity(size_t tree) const {
  return std::max(trees_[tree].mine.height, trees_[tree].up);
}

size_t TreeRoot::BestTree() const {
  size_t best = 0;
  for (size_t i = 1; i < trees_.size(); ++i) {
    if (std::tuple(TreeEccentricity(i), trees_[i].mine.dist) <
        std::tuple(TreeEccentricity(best), trees_[best].mine.dist)) {
      best = i;
    }
  }
  return best;
}

bool TreeRoot::TakeParentChanged() {
  const bool changed = parent_changed_;
  parent_changed_ = false;
  return changed;
}

uint32_t TreeRoot::OwnRank() const {
  // bit_width of the degree first, so it changes only when the degree doubles or halves; then
  // how many neighbours rank about as high (a hub among hubs is central: measured on
  // 10,000-node graphs, the tree from such a root has eccentricity 4 where a random hub's has 5,
  // and last deliveries +0.9 hops over the source's eccentricity instead of +1.8).
  const auto degree_rank = static_cast<uint32_t>(std::bit_width(entries_.size()));
  uint32_t hubs = 0;
  for (const Entry& e : entries_) {
    if (e.heard && e.beacon.degree_rank + 1 >= degree_rank) ++hubs;
  }
  return (degree_rank << 16) | std::min<uint32_t>(hubs, 0xffff);
}

void TreeRoot::Recompute(TimePoint now) {
  // Neighbours rank themselves by our degree rank: a new one goes out like any change.
  const auto degree_rank = static_cast<uint32_t>(std::bit_width(entries_.size()));
  const bool degree_changed = degree_rank != degree_rank_;
  degree_rank_ = degree_rank;
  own_rank_ = OwnRank();

  // The candidate roots: this node, and every live root in reach a neighbour keeps, with the
  // newest refresh number any neighbour knows and the highest rank seen with it. Neighbours
  // mostly keep the same few roots: a linear search by tag is cheaper than sorting them all.
  std::vector<Candidate>& candidates = scratch_;
  candidates.clear();
  candidates.push_back(Candidate{self_, Tag(self_), own_rank_, own_seq_});
  for (const Entry& e : entries_) {
    if (!e.heard) continue;
    for (size_t i = 0; i < e.count; ++i) {
      const TreeRecord& r = e.beacon.trees[i];
      if (r.dist + 1 > config_.tree_dist_max) continue;
      // Neighbours list the same roots in much the same order: try the same place first.
      auto c = candidates.begin() + static_cast<ptrdiff_t>(std::min(i + 1, candidates.size()));
      // (A tag names a root: Entry::Index.)
      if (c == candidates.end() || c->tag != e.hot[i].tag) {
        c = std::find_if(candidates.begin(), candidates.end(),
                         [&](const Candidate& c) { return c.tag == e.hot[i].tag; });
      }
      if (c == candidates.end()) {
        candidates.push_back(Candidate{r.root, e.hot[i].tag, r.root_rank, r.seq});
      } else if (c != candidates.begin()) {  // (our own record is ours to say)
        if (r.seq > c->seq) {
          c->seq = r.seq;
          c->rank = r.root_rank;
        } else if (r.seq == c->seq) {
          c->rank = std::max(c->rank, r.root_rank);
        }
      }
    }
  }
  std::erase_if(candidates, [&](const Candidate& c) {
    return IsDead(c.root, now) || IsHeld(c.root, c.seq, now);
  });
  // The best tree_count by (rank, id).
  const size_t keep = std::min<size_t>(config_.tree_count, candidates.size());
  std::partial_sort(candidates.begin(), candidates.begin() + static_cast<ptrdiff_t>(keep),
                    candidates.end(), [](const Candidate& a, const Candidate& b) {
                      return std::tie(a.rank, a.root) > std::tie(b.rank, b.root);
                    });
  candidates.resize(keep);

  std::vector<Tree> next(keep);
  for (size_t j = 0; j < keep; ++j) {
    next[j].tag = candidates[j].tag;
    next[j].mine.root = candidates[j].root;
    next[j].mine.root_rank = candidates[j].rank;
    next[j].mine.seq = candidates[j].seq;
    [[maybe_unused]] const bool ok = Evaluate(j, next[j]);
    assert(ok);  // the record that carried the tree's refresh number qualifies
  }
  // No distance grows without a newer refresh number: a node that lost its way to a root waits
  // for the root's next refresh instead of following a neighbour that may lead back through
  // itself (counting to infinity, with the parent links in loops meanwhile). The root is held
  // off at this number; a live root's next refresh brings the tree back.
  bool held = false;
  for (const Tree& t : next) {
    for (const Tree& old : trees_) {
      if (old.mine.root == t.mine.root && old.mine.seq == t.mine.seq &&
          t.mine.dist > old.mine.dist && t.mine.root != self_) {
        Hold(t.mine.root, t.mine.seq, now);
        held = true;
      }
    }
  }
  if (held) {
    Recompute(now);  // without the held roots (each pass holds one more at least: bounded)
    return;
  }
  Commit(now, std::move(next), degree_changed);
}

bool TreeRoot::IsHeld(const NodeId& root, uint64_t seq, TimePoint now) const {
  return std::any_of(held_.begin(), held_.end(), [&](const HeldRoot& h) {
    return h.root == root && seq <= h.seq && h.until > now;
  });
}

void TreeRoot::Hold(const NodeId& root, uint64_t seq, TimePoint now) {
  std::erase_if(held_, [&](const HeldRoot& h) { return h.root == root || h.until <= now; });
  if (held_.size() >= kDeadRootsMax) held_.erase(held_.begin());
  held_.push_back(HeldRoot{root, seq, now + config_.tree_root_timeout});
  ++counters_.holds;
}

bool TreeRoot::Evaluate(size_t hint, Tree& t, Seen* seen) const {
  // Parent: the least distance among neighbours whose record is not stale, then the lighter
  // link. Height: 1 + the tallest child's (children: neighbours that say we are their parent).
  const bool root = t.mine.root == self_;
  const Entry* up = nullptr;
  const Entry::Hot* up_record = nullptr;
  uint32_t tallest = 0;
  uint32_t second = 0;
  NodeId tallest_child;
  for (const Entry& e : entries_) {
    if (!e.heard) continue;
    const int i = e.Index(t.tag, hint);
    if (i < 0) continue;
    const Entry::Hot* r = &e.hot[static_cast<size_t>(i)];
    if (seen != nullptr && r->dist + 1u <= config_.tree_dist_max) {
      // (What Recompute takes for the root's candidacy.)
      if (r->seq > seen->seq) {
        *seen = Seen{r->seq, r->root_rank};
      } else if (r->seq == seen->seq) {
        seen->rank = std::max(seen->rank, r->root_rank);
      }
    }
    if (r->seq + 2 < t.mine.seq) continue;
    if (e.Parent(i)) {
      const uint32_t h = std::min<uint32_t>(r->height + 1u, kHeightMax);
      if (h > tallest) {
        second = tallest;
        tallest = h;
        tallest_child = e.peer;
      } else if (h > second) {
        second = h;
      }
    }
    if (root || r->dist + 1u > config_.tree_dist_max) continue;
    if (up == nullptr || r->dist < up_record->dist ||
        (r->dist == up_record->dist && e.link_hash < up->link_hash)) {
      up = &e;
      up_record = r;
    }
  }
  t.mine.height = tallest;
  t.tallest_child = tallest_child;
  t.second_height = second;
  if (root) {
    t.mine.dist = 0;
    t.parent = NodeId{};
    t.up = 0;
    return true;
  }
  if (up == nullptr) return false;
  t.mine.dist = up_record->dist + 1;
  t.parent = up->peer;
  t.up = up_record->up;
  return true;
}

void TreeRoot::Commit(TimePoint now, std::vector<Tree>&& next, bool urgent_anyway) {
  for (Tree& t : next) {
    // Liveness: the tree's refresh number grew, or the tree is new here.
    t.fresh_at = now;
    for (const Tree& old : trees_) {
      if (old.mine.root == t.mine.root) {
        if (t.mine.seq <= old.mine.seq) t.fresh_at = old.fresh_at;
        break;
      }
    }
  }
  assert(!next.empty());  // this node is always a candidate

  if (next.front().mine.root != trees_.front().mine.root) ++counters_.root_changes;
  if (next.front().parent != trees_.front().parent) {
    parent_changed_ = true;
    ++counters_.parent_changes;
  }
  // A node that starts to root a tree (any time: a neighbour went down) refreshes a period on.
  const bool was_root = RootsAnyTree();
  // Every neighbour hears of a new root, rank, distance, parent (urgent: the old and the new
  // parent must hear it too) or refresh number (not urgent). A new height matters to the parent
  // alone, a new distance to the farthest node outside the subtree to the children alone: the
  // round then goes to them only (a change deep in a tree climbs to its root, or runs down its
  // subtree, rather than reaching every neighbour of every node on its way).
  bool all = next.size() != trees_.size() || urgent_anyway;
  bool urgent = all;
  std::vector<Entry*>& owe = owe_;
  owe.clear();
  for (size_t i = 0; !all && i < next.size(); ++i) {
    const Tree& a = next[i];
    const Tree& b = trees_[i];
    urgent = a.mine.root != b.mine.root || a.mine.root_rank != b.mine.root_rank ||
             a.mine.dist != b.mine.dist || a.parent != b.parent;
    all = urgent || a.mine.seq != b.mine.seq;
    if (all) break;
    if (a.mine.height != b.mine.height && !a.parent.IsZero()) {
      if (Entry* e = Find(a.parent)) owe.push_back(e);
    }
    if (a.up != b.up || a.second_height != b.second_height || a.tallest_child != b.tallest_child) {
      for (Entry& e : entries_) {
        const int k = e.heard ? e.Index(a.tag, i) : -1;
        if (k >= 0 && e.Parent(k)) owe.push_back(&e);
      }
    }
  }
  trees_.swap(next);  // (`next` keeps the old buffer: OnBeacon's scratch reuses it)
  for (size_t i = 0; i < trees_.size(); ++i) tags_[i] = trees_[i].tag;
  expiry_at_ = TimePoint::Max();
  for (const Tree& t : trees_) {
    if (t.mine.root != self_)
      expiry_at_ = std::min(expiry_at_, t.fresh_at + config_.tree_root_timeout);
  }
  if (!was_root && RootsAnyTree()) next_refresh_at_ = NextRefresh(now);
  if (all || !owe.empty()) Schedule(now, urgent);  // (before the flags: it reads them)
  if (all) {
    changed_ = true;
  } else {
    for (Entry* e : owe) {
      if (!e->owed) {
        e->owed = true;
        ++owed_;
      }
    }
  }
}

void TreeRoot::OnTick(TimePoint now, Out& out) {
  if (!started_) {
    started_ = true;
    next_refresh_at_ = NextRefresh(now);
    Recompute(now);
  }
  std::erase_if(dead_, [&](const DeadRoot& d) { return d.until <= now; });
  bool expired = false;
  for (const Tree& t : trees_) {
    if (t.mine.root == self_ || now - t.fresh_at < config_.tree_root_timeout) continue;
    // The root's refresh number stopped growing: it is gone (or cut off). Its beacons still echo
    // between the nodes in its tree, so it is ignored for a while.
    ++counters_.roots_expired;
    if (dead_.size() >= kDeadRootsMax) dead_.erase(dead_.begin());
    dead_.push_back(DeadRoot{t.mine.root, now + config_.tree_root_timeout});
    expired = true;
  }
  if (expired) Recompute(now);
  // (After the liveness check: a node that has just come to root a tree refreshes at once.)
  if (now >= next_refresh_at_) {
    next_refresh_at_ = NextRefresh(now);
    if (RootsAnyTree()) {
      ++own_seq_;
      Recompute(now);
    }
  }
  if ((changed_ || owed_ > 0) && now >= next_round_at_) {
    for (Entry& e : entries_) {
      if (!changed_ && !e.owed) continue;
      e.owed = false;
      ++counters_.beacons_sent;
      TreeBeacon beacon;
      beacon.degree_rank = degree_rank_;
      beacon.trees.reserve(trees_.size());
      for (size_t j = 0; j < trees_.size(); ++j) {
        const Tree& t = trees_[j];
        TreeRecord r = t.mine;
        r.parent = e.peer == t.parent;
        r.up = 0;
        if (const int k = e.heard ? e.Index(t.tag, j) : -1; k >= 0 && e.Parent(k)) {
          // A child: the farthest node outside its subtree is through us.
          const uint32_t others = e.peer == t.tallest_child ? t.second_height : t.mine.height;
          r.up = std::min(1 + std::max(t.up, others), kHeightMax);
        }
        beacon.trees.push_back(r);
      }
      out.push_back(Send{e.peer, std::move(beacon)});
    }
    owed_ = 0;
    changed_ = false;
    last_round_at_ = now;
  }
}

TimePoint TreeRoot::NextRefresh(TimePoint now) const {
  // On multiples of the period: roots that share a clock (the simulator; hosts in step) refresh
  // at once, and their waves share beacon rounds.
  const int64_t period = config_.tree_refresh_period.ns;
  return TimePoint{(now.ns / period + 1) * period};
}

TimePoint TreeRoot::NextDeadline() const {
  if (!started_) return TimePoint{};
  TimePoint next = std::min(next_refresh_at_, expiry_at_);
  if (changed_ || owed_ > 0) next = std::min(next, next_round_at_);
  return next;
}

}  // namespace myco
