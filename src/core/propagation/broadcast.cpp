#include "core/propagation/broadcast.hpp"

#include <algorithm>
#include <cassert>
#include <map>

#include "core/node.hpp"
#include "core/propagation/seen_cache.hpp"
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
                       const Membership& membership, Rng& rng, Out& out) {
  const PacketBody& body = *packet.body;
  missing_.erase(body.id);
  if (!from.IsZero() && body.mode == PropagationMode::kBroadcast) {
    if (PeerState* p = Peer(from)) p->eager = true;  // the first copy's link is a tree link
  }
  if (packet.ttl == 0) return;
  const PacketMsg next{packet.body, packet.ttl - 1, packet.hops + 1, {}};
  switch (body.mode) {
    case PropagationMode::kBroadcast:
      for (PeerState& p : peers_) {
        if (p.id == from || p.id == body.id.origin) continue;
        if (p.eager) {
          SendPayload(p.id, next, out);
        } else {
          Announce(now, p, body.id, next.hops);
        }
      }
      break;
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
  (void)membership;
}

void Broadcast::OnDuplicate(TimePoint, const NodeId& from, const PacketMsg& packet, Out& out) {
  if (packet.body->mode != PropagationMode::kBroadcast) return;
  PeerState* p = Peer(from);
  if (p == nullptr || !p->eager) return;
  p->eager = false;
  ++counters_.prunes_sent;
  out.push_back(Send{from, Prune{}});
}

void Broadcast::OnIHave(TimePoint now, const NodeId& from, const IHave& ihave, SeenCache& seen,
                        Out& out) {
  PeerState* announcer = Peer(from);
  if (announcer == nullptr) return;  // not (or no longer) a neighbour
  for (const IHaveEntry& e : ihave.entries) {
    if (const SeenCache::Entry* have = seen.Find(e.id)) {
      // Tree optimisation: the announcer's path is much shorter than the one the tree used.
      if (!have->from.IsZero() && have->from != from &&
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

void Broadcast::OnGraft(TimePoint, const NodeId& from, const Graft& graft, const SeenCache& seen,
                        Out& out) {
  PeerState* p = Peer(from);
  if (p == nullptr) return;
  p->eager = true;
  for (const PacketId& id : graft.ids) {
    const SeenCache::Entry* entry = seen.Find(id);
    if (entry == nullptr || !entry->valid || !entry->body || entry->ttl == 0) continue;
    ++counters_.graft_answers;
    SendPayload(from, PacketMsg{entry->body, entry->ttl - 1u, entry->hops + 1u, {}}, out);
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
      const NodeId target = m.announcers.front();
      m.announcers.erase(m.announcers.begin());
      Peer(target)->eager = true;
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
