#include "core/propagation/broadcast.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <map>
#include <optional>

#include "core/node.hpp"
#include "core/propagation/seen_cache.hpp"
#include "core/propagation/tree_root.hpp"
#include "core/topology/membership.hpp"

namespace myco {

namespace {
// Announcers remembered per missing packet: enough alternatives to graft from, bounded.
constexpr size_t kAnnouncersMax = 8;
}  // namespace

Broadcast::PeerState* Broadcast::Peer(const NodeId& id) {
  auto it = std::lower_bound(peers_.begin(), peers_.end(), id,
                             [](const PeerState& p, const NodeId& k) { return p.id < k; });
  return (it != peers_.end() && it->id == id) ? &*it : nullptr;
}

Broadcast::PeerState& Broadcast::PeerOrAdd(const NodeId& id) {
  auto it = std::lower_bound(peers_.begin(), peers_.end(), id,
                             [](const PeerState& p, const NodeId& k) { return p.id < k; });
  if (it != peers_.end() && it->id == id) return *it;
  PeerState state;
  state.id = id;
  return *peers_.insert(it, std::move(state));
}

bool Broadcast::IsEager(const NodeId& peer) const {
  for (const PeerState& p : peers_) {
    if (p.id == peer) return p.eager;
  }
  return false;
}

size_t Broadcast::eager_count() const {
  return static_cast<size_t>(
      std::count_if(peers_.begin(), peers_.end(), [](const PeerState& p) { return p.eager; }));
}

void Broadcast::OnNeighbourUp(const NodeId& peer) {
  // New links start eager: the tree must be able to grow through them.
  PeerOrAdd(peer).eager = true;
}

void Broadcast::OnNeighbourDown(const NodeId& peer) {
  std::erase_if(peers_, [&](const PeerState& p) { return p.id == peer; });
  for (auto& [id, missing] : missing_) std::erase(missing.announcers, peer);
}

void Broadcast::EnsureEager(const NodeId& peer, Out& out) {
  PeerState* p = Peer(peer);
  if (p == nullptr || p->eager) return;
  p->eager = true;
  ++counters_.grafts_sent;
  out.push_back(Send{peer, Graft{}});  // no ids: only "be a tree link"
}

void Broadcast::Trim(TimePoint now, Out& out) {
  if (tree_ == nullptr) return;
  for (PeerState& p : peers_) {
    if (!p.eager || now - p.grafted_at < config_.graft_timeout * 2) continue;
    if (!tree_->Settled(p.id) || tree_->IsTreeLink(p.id)) continue;
    ++counters_.trims;
    SendPrune(now, p, out);
  }
  const NodeId& parent = tree_->parent();
  if (!parent.IsZero() && tree_->Settled(parent)) EnsureEager(parent, out);
}

void Broadcast::OnPrune(const NodeId& from) {
  if (PeerState* p = Peer(from)) p->eager = false;
}

void Broadcast::SendPayload(const NodeId& to, const PacketMsg& packet, Out& out) {
  ++counters_.payload_sent;
  out.push_back(Send{to, packet, packet.body->priority, false});
}

void Broadcast::Announce(TimePoint now, PeerState& peer, const PacketId& id, uint32_t hops) {
  // A lazy link that cannot keep up with announcements loses the oldest reliability hint only;
  // grafts from other announcers still recover the packet.
  if (peer.pending_ihave.size() >= 4ull * config_.ihave_entries_per_message_max) return;
  peer.pending_ihave.push_back(IHaveEntry{id, hops});
  if (peer.flush_at == TimePoint::Max()) {
    peer.flush_at = now + config_.ihave_batch_interval;
    Lower(peer.flush_at);
  }
}

void Broadcast::Spread(TimePoint now, const NodeId& from, const PacketMsg& packet,
                       const Membership& membership, Rng& rng, Out& out, const PathMax* arrived) {
  const PacketBody& body = *packet.body;
  if (!missing_.empty()) missing_.erase(body.id);
  // The first copy's link is not made eager here (Plumtree does): a first copy on a lazy link
  // is a graft answer (already eager) or a push that crossed our Prune, and turning such a link
  // eager on our side alone would leave it one-sided (we push, the peer only announces).
  if (packet.ttl == 0) return;
  PacketMsg next{packet.body, packet.ttl - 1, packet.hops + 1, {}};
  next.tree = packet.tree;
  switch (body.mode) {
    case PropagationMode::kBroadcast: {
      // Each eager copy carries the heaviest link of its path so far (see "Pruning").
      const NodeId& self = membership.id();
      std::array<NodeId, 2> heaviest{};
      uint64_t heaviest_weight = 0;
      if (!from.IsZero()) {
        const PathMax max = arrived != nullptr ? *arrived : PathMaxOf(packet, WeightTo(self, from));
        heaviest_weight = max.weight;
        if (max.last || packet.route.size() != 2) {
          heaviest = {from, self};
          if (max.weight == UINT64_MAX) heaviest = {self, self};  // unknown path: stays unknown
        } else {
          heaviest = {packet.route[0], packet.route[1]};
        }
      }
      // A packet that names a tree this node keeps follows that tree's links; one without, or
      // whose tree is not (or not yet) kept here, follows the eager links. A neighbour that has
      // not said where it sits in the tree (new, or keeping other trees for now) gets it if the
      // link is eager, as every link is at first. Every copy carries its heaviest link either
      // way: where trees disagree (while they settle), the eager links carry the packet and
      // their duplicates prune as without trees.
      std::optional<size_t> tree;
      if (tree_ != nullptr && packet.tree != 0) tree = tree_->FindTree(packet.tree);
      // Past a node that does not keep the tree, the packet follows the eager links all the
      // way: a branch that mixed the two would deliver twice where they meet.
      if (!tree) next.tree = 0;
      size_t cursor = 0;  // peers_ and the tree's neighbours are both sorted by id
      for (PeerState& p : peers_) {
        if (p.id == from || p.id == body.id.origin) continue;
        const std::optional<bool> in_tree =
            tree ? tree_->TreeLinkOf(*tree, p.id, &cursor) : std::optional<bool>{};
        if (in_tree.value_or(p.eager)) {
          PacketMsg copy = next;
          const uint64_t w = WeightTo(self, p.id, &cursor);
          if (from.IsZero() || w > heaviest_weight) {
            copy.route = {self, p.id};
            copy.route_weight = w;
          } else {
            copy.route = {heaviest[0], heaviest[1]};
            copy.route_weight = heaviest_weight;
          }
          SendPayload(p.id, copy, out);
        } else {
          Announce(now, p, body.id, next.hops);
        }
      }
      break;
    }
    case PropagationMode::kFlood:
      for (const PeerState& p : peers_) {
        if (p.id != from && p.id != body.id.origin) SendPayload(p.id, next, out);
      }
      break;
    case PropagationMode::kGossip: {
      std::vector<const NodeId*> candidates;
      candidates.reserve(peers_.size());
      for (const PeerState& p : peers_) {
        if (p.id != from && p.id != body.id.origin) candidates.push_back(&p.id);
      }
      const size_t n = std::min<size_t>(config_.gossip_fanout, candidates.size());
      for (size_t i = 0; i < n; ++i) {
        std::swap(candidates[i], candidates[i + rng.Uniform(candidates.size() - i)]);
        SendPayload(*candidates[i], next, out);
      }
      break;
    }
    default: assert(false && "Spread called for a routed mode");
  }
}

uint64_t Broadcast::LinkWeight(const NodeId& a, const NodeId& b, uint32_t dist_sum) {
  if (a == b) return UINT64_MAX;
  // The distances first (a shortest-path tree from the root, tree_root.hpp), the per-link hash
  // (48 bits) breaks ties. The largest real weight stays below UINT64_MAX.
  return (static_cast<uint64_t>(std::min<uint32_t>(dist_sum, 0xfffe)) << 48) |
         TreeRoot::LinkHash(a, b);
}

uint64_t Broadcast::WeightTo(const NodeId& self, const NodeId& peer, size_t* cursor) const {
  if (tree_ == nullptr) return LinkWeight(self, peer);
  return LinkWeight(self, peer, tree_->beacon().dist + tree_->PeerDist(0, peer, cursor));
}

Broadcast::PathMax Broadcast::PathMaxOf(const PacketMsg& packet, uint64_t own) {
  // No route: the origin's own push (its one link is the whole path). Two distinct ids: the
  // heaviest link so far, with its weight. Anything else (a graft answer's {answerer, answerer}
  // marker, a malformed route) is not a path we can reason about: it weighs the most, so it
  // never justifies a prune.
  uint64_t carried = UINT64_MAX;
  if (packet.route.empty()) {
    carried = 0;
  } else if (packet.route.size() == 2 && packet.route[0] != packet.route[1]) {
    carried = std::min<uint64_t>(packet.route_weight, UINT64_MAX - 1);
  }
  if (carried == UINT64_MAX) return PathMax{UINT64_MAX, false};
  // Equal weights: the carried link is this last one (the sender found it the heaviest).
  return own >= carried ? PathMax{own, true} : PathMax{carried, false};
}

void Broadcast::SendPrune(TimePoint now, PeerState& peer, Out& out) {
  peer.eager = false;
  peer.pruned_at = now;
  ++counters_.prunes_sent;
  out.push_back(Send{peer.id, myco::Prune{}});
}

void Broadcast::OnDuplicate(TimePoint now, const NodeId& from, const PacketMsg& packet,
                            const NodeId& self, const SeenCache& seen, Out& out) {
  if (packet.body->mode != PropagationMode::kBroadcast) return;
  // A packet on a tree this node keeps came on that tree's links, whatever our eager flags say:
  // its duplicates come from trees still settling, not from cycles of eager links.
  if (packet.tree != 0 && tree_ != nullptr && tree_->FindTree(packet.tree)) return;
  PeerState* p = Peer(from);
  if (p == nullptr) return;
  if (!p->eager) {
    // The peer pushes to us, though we made the link lazy: a Prune and a Graft crossed. Only a
    // Prune makes the two ends agree again; copies in flight after it are not answered again.
    if (now - p->pruned_at >= config_.graft_timeout) SendPrune(now, *p, out);
    return;
  }
  // The two copies' paths share a prefix from the origin and then form a cycle through us. If
  // the heaviest link of that cycle is one of ours, prune it; otherwise leave the cycle to the
  // node that owns its heaviest link (a later broadcast meets there).
  const SeenCache::Entry* first = seen.Find(packet.body->id);
  PathMax first_max;  // our own packet: the first "copy" took no link
  NodeId first_from;
  if (first != nullptr && !first->from.IsZero()) {
    first_max = PathMax{first->path_max, first->path_max_last};
    first_from = first->from;
  }
  const PathMax dup_max = PathMaxOf(packet, WeightTo(self, from));
  if (dup_max.weight == first_max.weight) {
    ++counters_.prunes_kept;  // the heaviest link is on the shared prefix: no cycle seen
    return;
  }
  if (dup_max.weight > first_max.weight) {
    if (dup_max.last) {
      SendPrune(now, *p, out);
      return;
    }
  } else if (first_max.last) {
    if (PeerState* f = Peer(first_from); f != nullptr && f->eager) {
      SendPrune(now, *f, out);
      return;
    }
  }
  ++counters_.prunes_kept;
}

void Broadcast::OnIHave(TimePoint now, const NodeId& from, const IHave& ihave, SeenCache& seen,
                        Out& out) {
  PeerState* announcer = Peer(from);
  if (announcer == nullptr) return;  // not (or no longer) a neighbour
  for (const IHaveEntry& e : ihave.entries) {
    if (const SeenCache::Entry* have = seen.Find(e.id)) {
      // Tree optimisation: the announcer's path is much shorter than the one the tree used.
      if (config_.optimization_threshold_hops > 0 && !have->from.IsZero() && have->from != from &&
          e.hops + config_.optimization_threshold_hops <= have->hops && !announcer->eager) {
        PeerState* eager_sender = Peer(have->from);
        if (eager_sender != nullptr && eager_sender->eager) {
          announcer->eager = true;
          out.push_back(Send{from, Graft{}});
          eager_sender->eager = false;
          out.push_back(Send{have->from, Prune{}});
          ++counters_.optimizations;
          seen.Reroute(e.id, from, e.hops);
        }
      }
      continue;
    }
    auto [it, inserted] = missing_.try_emplace(e.id);
    if (inserted) {
      it->second.graft_at = now + config_.graft_timeout;
      Lower(it->second.graft_at);
      missing_order_.push_back(e.id);
      while (missing_.size() > config_.missing_entries_max && !missing_order_.empty()) {
        if (missing_.erase(missing_order_.front()) != 0) ++counters_.missing_dropped;
        missing_order_.pop_front();
      }
      it = missing_.find(e.id);
      if (it == missing_.end()) continue;
    }
    auto& announcers = it->second.announcers;
    if (announcers.size() < kAnnouncersMax &&
        std::find(announcers.begin(), announcers.end(), from) == announcers.end()) {
      announcers.push_back(from);
    }
  }
}

void Broadcast::OnGraft(TimePoint now, const NodeId& from, const Graft& graft, const NodeId& self,
                        const SeenCache& seen, Out& out) {
  PeerState* p = Peer(from);
  if (p == nullptr) return;
  p->eager = true;
  p->grafted_at = now;
  for (const PacketId& id : graft.ids) {
    const SeenCache::Entry* entry = seen.Find(id);
    if (entry == nullptr || !entry->valid || !entry->body || entry->ttl == 0) continue;
    ++counters_.graft_answers;
    // The answer's path is not the tree's: marked unknown (a link from us to us), it never
    // counts as evidence for a prune.
    PacketMsg answer{entry->body, entry->ttl - 1u, entry->hops + 1u, {self, self}, UINT64_MAX};
    answer.tree = entry->tree;  // the grafting node forwards it along the same tree
    SendPayload(from, answer, out);
  }
}

void Broadcast::OnTick(TimePoint now, const Membership&, Out& out) {
  TimePoint next = TimePoint::Max();
  for (PeerState& p : peers_) {
    if (p.flush_at > now) {
      next = std::min(next, p.flush_at);
      continue;
    }
    const size_t chunk = config_.ihave_entries_per_message_max;
    for (size_t i = 0; i < p.pending_ihave.size(); i += chunk) {
      const size_t end = std::min(p.pending_ihave.size(), i + chunk);
      IHave message;
      message.entries.assign(p.pending_ihave.begin() + static_cast<ptrdiff_t>(i),
                             p.pending_ihave.begin() + static_cast<ptrdiff_t>(end));
      counters_.ihave_entries += message.entries.size();
      ++counters_.ihave_messages;
      out.push_back(Send{p.id, std::move(message)});
    }
    p.pending_ihave.clear();
    p.flush_at = TimePoint::Max();
  }

  // Grafts, in the order the packets were announced (a defined order keeps runs reproducible).
  std::map<NodeId, Graft> grafts;
  std::deque<PacketId> still_missing;
  for (const PacketId& id : missing_order_) {
    auto it = missing_.find(id);
    if (it == missing_.end()) continue;  // received meanwhile
    Missing& m = it->second;
    if (m.graft_at <= now) {
      while (!m.announcers.empty() && Peer(m.announcers.front()) == nullptr) {
        m.announcers.erase(m.announcers.begin());
      }
      if (m.announcers.empty()) {
        ++counters_.missing_dropped;
        missing_.erase(it);
        continue;
      }
      // Prefer an announcer whose link is already eager (or is being grafted this tick): asking
      // it adds no link to the tree. Every new eager link that closes a cycle must be pruned
      // again somewhere, and concurrent broadcasts prune a cycle in several places at once.
      auto pick = std::find_if(m.announcers.begin(), m.announcers.end(), [&](const NodeId& a) {
        const PeerState* peer = Peer(a);
        return peer != nullptr && (peer->eager || grafts.count(a) != 0);
      });
      if (pick == m.announcers.end()) pick = m.announcers.begin();
      const NodeId target = *pick;
      m.announcers.erase(pick);
      Peer(target)->eager = true;
      Peer(target)->grafted_at = now;
      grafts[target].ids.push_back(id);
      m.graft_at = now + config_.graft_timeout;
    }
    next = std::min(next, m.graft_at);
    still_missing.push_back(id);
  }
  missing_order_ = std::move(still_missing);
  for (auto& [peer, graft] : grafts) {
    ++counters_.grafts_sent;
    out.push_back(Send{peer, std::move(graft)});
  }
  deadline_ = next;
}

}  // namespace myco
