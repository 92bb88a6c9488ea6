// The topology protocol; see membership.hpp for what it guarantees and docs/PROTOCOL.md for the
// message flow. Handlers appear in the order a link lives: up, hello, traffic, heartbeats, down.
#include "core/topology/membership.hpp"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstring>

#include "core/node.hpp"

namespace myco {

namespace {

constexpr double kRttAlpha = 0.25;
constexpr double kLossAlpha = 0.2;
constexpr double kTrafficAlpha = 0.3;
// An RTT of this many microseconds halves a link's health score.
constexpr double kHealthRttHalfUs = 200'000;
constexpr Duration kBackoffMax = Seconds(60);

Duration Backoff(Duration base, uint32_t failures) {
  Duration d = base;
  for (uint32_t i = 1; i < failures && d < kBackoffMax; ++i) d = d * 2;
  return std::min(d, kBackoffMax);
}

bool IdLess(const Link& link, const NodeId& id) { return link.peer < id; }

}  // namespace

double Link::Health() const {
  double h = 1.0 - loss_ewma;
  if (rtt_us_ewma > 0) h *= 1.0 / (1.0 + rtt_us_ewma / kHealthRttHalfUs);
  return std::clamp(h, 0.0, 1.0);
}

Membership::Membership(NodeInfo info, TopologyConfig config, Rng rng)
    : config_(std::move(config)), rng_(rng), map_(config_.map_entries_max) {
  info.max_connections = config_.max_connections;
  info_ = std::make_shared<const NodeInfo>(std::move(info));
  bootstrap_ = config_.bootstrap;
}

// ---------------------------------------------------------------- link table

namespace {
// The first eight bytes of an id as a big-endian word: sorted like the ids themselves.
uint64_t LinkKey(const NodeId& id) {
  uint64_t key;
  std::memcpy(&key, id.bytes.data(), sizeof key);
  if constexpr (std::endian::native == std::endian::little) key = __builtin_bswap64(key);
  return key;
}
}  // namespace

size_t Membership::LinkIndex(const NodeId& peer) const {
  // Every message in or out looks its link up: the search runs over the compact keys (a cache
  // line or two) rather than over the links themselves (a miss per step). Ids are uniformly
  // random, so two sharing their first eight bytes is a 2^-64 event; it is still handled.
  const uint64_t key = LinkKey(peer);
  auto it = std::lower_bound(link_keys_.begin(), link_keys_.end(), key);
  for (; it != link_keys_.end() && *it == key; ++it) {
    const auto i = static_cast<size_t>(it - link_keys_.begin());
    if (links_[i].peer == peer) return i;
  }
  return links_.size();
}

Link* Membership::FindLinkMut(const NodeId& peer) {
  const size_t i = LinkIndex(peer);
  return i < links_.size() ? &links_[i] : nullptr;
}

const Link* Membership::FindLink(const NodeId& peer) const {
  const size_t i = LinkIndex(peer);
  return i < links_.size() ? &links_[i] : nullptr;
}

Link& Membership::InsertLink(Link link) {
  auto it = std::lower_bound(links_.begin(), links_.end(), link.peer, IdLess);
  assert(it == links_.end() || it->peer != link.peer);
  const auto at = it - links_.begin();
  link_keys_.insert(link_keys_.begin() + at, LinkKey(link.peer));
  return *links_.insert(it, std::move(link));
}

void Membership::RemoveLink(const NodeId& peer) {
  const size_t i = LinkIndex(peer);
  if (i == links_.size()) return;
  links_.erase(links_.begin() + static_cast<ptrdiff_t>(i));
  link_keys_.erase(link_keys_.begin() + static_cast<ptrdiff_t>(i));
}

std::vector<NodeId> Membership::ActivePeerIds() const {
  std::vector<NodeId> ids;
  ids.reserve(active_count_);
  for (const Link& l : links_) {
    if (l.state == LinkState::kActive) ids.push_back(l.peer);
  }
  return ids;
}

void Membership::SendMessage(const NodeId& peer, Message message, Out& out) {
  const uint32_t bytes = EstimatedWireBytes(message);  // (the Send carries it: counted once)
  if (Link* l = FindLinkMut(peer)) l->bytes_out_window += bytes;
  out.push_back(Send{peer, std::move(message), kControlPriority, false, bytes});
}

bool Membership::NoteTraffic(TimePoint now, const NodeId& peer, uint32_t bytes) {
  Link* l = FindLinkMut(peer);
  if (l == nullptr || l->state != LinkState::kActive) return false;
  l->last_heard = now;
  l->bytes_in_window += bytes;
  return true;
}

void Membership::NoteSent(const NodeId& peer, uint32_t bytes) {
  if (Link* l = FindLinkMut(peer)) l->bytes_out_window += bytes;
}

// ---------------------------------------------------------------- commands

void Membership::Join(TimePoint now, const std::vector<std::string>& addresses, Out& out) {
  if (left_) return;
  for (const auto& a : addresses) {
    if (std::find(bootstrap_.begin(), bootstrap_.end(), a) == bootstrap_.end()) {
      bootstrap_.push_back(a);
    }
  }
  bootstrap_retry_after_ = now;
  Maintain(now, out);
}

void Membership::Leave(TimePoint /*now*/, Out& out) {
  if (left_) return;
  for (const Link& l : links_) {
    out.push_back(Send{l.peer, Disconnect{DisconnectReason::kShutdown, "leaving", {}}});
    out.push_back(Close{l.peer});
  }
  links_.clear();
  link_keys_.clear();
  active_count_ = 0;
  pending_dials_.clear();
  left_ = true;
  next_tick_ = TimePoint::Max();
}

// ---------------------------------------------------------------- link events

void Membership::OnLinkUp(TimePoint now, const NodeId& peer, const std::string& address,
                          bool outbound, Out& out) {
  // Find what we dialled this address for, whatever happens next.
  HelloIntent intent = HelloIntent::kNeighbor;
  if (outbound) {
    auto it = std::find_if(pending_dials_.begin(), pending_dials_.end(),
                           [&](const PendingDial& p) { return p.address == address; });
    if (it != pending_dials_.end()) {
      intent = it->intent;
      pending_dials_.erase(it);
    }
  }
  if (left_ || peer == id()) {
    out.push_back(Close{peer});
    return;
  }
  // The driver is the authority on connections: a new one to a known peer means the old is gone.
  if (FindLink(peer) != nullptr) DropLink(now, peer, "replaced by a new connection", false, out);

  Link link;
  link.peer = peer;
  link.address = address;
  link.outbound = outbound;
  link.intent = intent;
  link.since = now;
  link.last_heard = now;
  if (outbound) {
    link.state = LinkState::kAwaitAccept;
    InsertLink(std::move(link));
    SendMessage(peer, Hello{HelloInfo(), intent, static_cast<uint32_t>(active_count_)}, out);
  } else {
    link.state = LinkState::kAwaitHello;
    InsertLink(std::move(link));
  }
}

void Membership::OnDialFailed(TimePoint now, const std::string& address, const std::string&,
                              Out& out) {
  auto it = std::find_if(pending_dials_.begin(), pending_dials_.end(),
                         [&](const PendingDial& p) { return p.address == address; });
  if (it == pending_dials_.end()) return;
  const PendingDial dial = *it;
  pending_dials_.erase(it);
  ++counters_.dials_failed;
  if (dial.intent == HelloIntent::kJoin) {
    ++bootstrap_failures_;
    bootstrap_retry_after_ = now + Backoff(config_.redial_backoff, bootstrap_failures_);
  } else {
    NotePassiveFailure(now, dial.address, dial.expected);
  }
  Maintain(now, out);
}

void Membership::OnLinkDown(TimePoint now, const NodeId& peer, const std::string& why, Out& out) {
  if (FindLink(peer) == nullptr) return;
  DropLink(now, peer, why, /*close=*/false, out);
  Maintain(now, out);
}

void Membership::DropLink(TimePoint now, const NodeId& peer, const std::string& why, bool close,
                          Out& out) {
  Link* l = FindLinkMut(peer);
  if (l == nullptr) return;
  const bool was_active = l->state == LinkState::kActive;
  const PeerRecord record{peer, l->address, l->peer_degree};
  if (close) out.push_back(Close{peer});
  RemoveLink(peer);
  if (!was_active) return;
  assert(active_count_ > 0);
  --active_count_;
  map_dirty_ = true;
  out.push_back(Deliver{PeerDown{peer, why}});
  if (left_) return;
  // Replace every lost link (bounded): it is what keeps islands from forming after failures.
  replacements_owed_ = std::min(replacements_owed_ + 1, config_.target_degree);
  // Remember the peer as a failed passive candidate: if it was only cut off (a partition), the
  // backoff retries are what re-merge the two sides once the partition heals.
  if (!record.address.empty()) {
    LearnPeers(now, {record});
    NotePassiveFailure(now, record.address, peer);
  }
}

void Membership::Activate(TimePoint now, Link& link, Out& out) {
  assert(link.state != LinkState::kActive);
  assert(active_count_ < config_.max_connections);
  link.state = LinkState::kActive;
  link.last_heard = now;
  ++active_count_;
  map_dirty_ = true;
  if (replacements_owed_ > 0) --replacements_owed_;
  bootstrap_failures_ = 0;
  const NodeId peer = link.peer;
  RemovePassive(peer);
  out.push_back(Deliver{PeerUp{peer}});
  // A new neighbour gets a sample of whom we know at once: a newcomer's passive view would
  // otherwise stay empty until its first shuffle, and a node whose neighbours all fail before
  // then has nobody to heal through.
  SendMessage(peer, PeerExchange{SamplePeers(peer, config_.pex_sample_size), false}, out);
}

// ---------------------------------------------------------------- messages

void Membership::OnReceived(TimePoint now, const NodeId& peer, Message&& message, Out& out) {
  Link* link = FindLinkMut(peer);
  if (link == nullptr || left_) return;  // a straggler on a link we already closed
  link->last_heard = now;
  link->bytes_in_window += EstimatedWireBytes(message);
  switch (message.index()) {
    case 0: HandleHello(now, *link, std::get<Hello>(message), out); break;
    case 1: HandlePeerExchange(now, *link, std::get<PeerExchange>(std::move(message)), out); break;
    case 2: HandlePing(now, *link, std::get<Ping>(message), out); break;
    case 3: HandlePong(now, *link, std::get<Pong>(message)); break;
    case 4: HandleDisconnect(now, *link, std::get<Disconnect>(std::move(message)), out); break;
    case 5: HandleWalk(now, std::get<Walk>(std::move(message)), out); break;
    case 6: HandleNeighbourList(now, peer, std::get<NeighbourList>(std::move(message)), out); break;
    default: assert(false && "unhandled message type");
  }
}

bool Membership::CanAcceptNeighbour(const NodeId& peer) const {
  if (peer == id() || active_count_ >= config_.max_connections) return false;
  const Link* l = FindLink(peer);
  return l == nullptr || l->state != LinkState::kActive;
}

void Membership::HandleHello(TimePoint now, Link& link, const Hello& hello, Out& out) {
  const NodeId peer = link.peer;
  if (!hello.info || hello.info->id != peer) {
    ++counters_.protocol_errors;
    SendMessage(peer, Disconnect{DisconnectReason::kProtocol, "hello id mismatch", {}}, out);
    DropLink(now, peer, "protocol error", true, out);
    return;
  }
  if (hello.info->protocol_version != kProtocolVersion) {
    ++counters_.protocol_errors;
    SendMessage(peer,
                Disconnect{DisconnectReason::kProtocol,
                           "protocol version " + std::to_string(hello.info->protocol_version) +
                               " not supported (want " + std::to_string(kProtocolVersion) + ")",
                           {}},
                out);
    DropLink(now, peer, "protocol version mismatch", true, out);
    return;
  }
  link.info = hello.info;
  link.peer_degree = hello.degree;
  if (!link.outbound && !hello.info->listen_addresses.empty()) {
    link.address = hello.info->listen_addresses.front();
  }
  switch (hello.intent) {
    case HelloIntent::kJoin: {
      if (link.state != LinkState::kAwaitHello) return;
      link.state = LinkState::kJoin;
      link.intent = HelloIntent::kJoin;  // becomes kNeighbor if a walk ends here (an upgrade)
      const std::string origin_address = link.address;
      SendMessage(
          peer, Hello{HelloInfo(), HelloIntent::kAcceptJoin, static_cast<uint32_t>(active_count_)},
          out);
      SendMessage(peer, PeerExchange{SamplePeers(peer, config_.pex_sample_size), false}, out);
      StartWalks(now, peer, origin_address, config_.target_degree, out);
      return;
    }
    case HelloIntent::kNeighbor: {
      if (link.state == LinkState::kActive || link.state == LinkState::kAwaitAccept) return;
      if (CanAcceptNeighbour(peer)) {
        SendMessage(peer,
                    Hello{HelloInfo(), HelloIntent::kAccept, static_cast<uint32_t>(active_count_)},
                    out);
        Activate(now, link, out);
      } else {
        ++counters_.refused_full;
        SendMessage(peer,
                    Disconnect{DisconnectReason::kFull, "at max_connections",
                               SamplePeers(peer, config_.pex_sample_size)},
                    out);
        DropLink(now, peer, "refused: full", true, out);
      }
      return;
    }
    case HelloIntent::kAccept: {
      const bool asked =
          (link.state == LinkState::kAwaitAccept && link.intent == HelloIntent::kNeighbor) ||
          (link.state == LinkState::kJoin && link.intent == HelloIntent::kNeighbor);
      if (!asked) return;
      if (active_count_ >= config_.max_connections) {
        SendMessage(peer, Disconnect{DisconnectReason::kFull, "filled up meanwhile", {}}, out);
        DropLink(now, peer, "full", true, out);
        return;
      }
      Activate(now, link, out);
      return;
    }
    case HelloIntent::kAcceptJoin: {
      if (link.state == LinkState::kAwaitAccept && link.intent == HelloIntent::kJoin) {
        link.state = LinkState::kJoin;
        link.since = now;
        bootstrap_failures_ = 0;
      }
      return;
    }
  }
}

void Membership::HandlePeerExchange(TimePoint now, Link& link, PeerExchange&& pex, Out& out) {
  const NodeId peer = link.peer;
  LearnPeers(now, pex.peers);
  if (pex.reply_wanted) {
    SendMessage(peer, PeerExchange{SamplePeers(peer, config_.pex_sample_size), false}, out);
  }
}

void Membership::HandlePing(TimePoint, Link& link, const Ping& ping, Out& out) {
  // Pings are numbered, so a gap is a ping that never came: loss as the pinged side sees it.
  if (link.last_ping_seq_seen != 0 && ping.seq > link.last_ping_seq_seen + 1) {
    const uint64_t missed = std::min<uint64_t>(ping.seq - link.last_ping_seq_seen - 1, 8);
    for (uint64_t i = 0; i < missed; ++i) link.loss_ewma += kLossAlpha * (1 - link.loss_ewma);
  } else if (ping.seq > link.last_ping_seq_seen) {
    link.loss_ewma *= 1 - kLossAlpha;
  }
  link.last_ping_seq_seen = std::max(link.last_ping_seq_seen, ping.seq);
  if (ping.rtt_us >= 0) link.rtt_us_ewma = static_cast<double>(ping.rtt_us);
  SendMessage(link.peer, Pong{ping.seq}, out);
}

void Membership::HandlePong(TimePoint now, Link& link, const Pong& pong) {
  if (!link.ping_outstanding || pong.seq != link.ping_seq) return;
  const double sample_us = static_cast<double>((now - link.ping_sent_at).us());
  link.rtt_us_ewma = link.rtt_us_ewma < 0
                         ? sample_us
                         : link.rtt_us_ewma + kRttAlpha * (sample_us - link.rtt_us_ewma);
  link.loss_ewma *= 1 - kLossAlpha;
  link.ping_outstanding = false;
}

void Membership::HandleDisconnect(TimePoint now, Link& link, Disconnect&& disconnect, Out& out) {
  const NodeId peer = link.peer;
  const std::string address = link.address;
  LearnPeers(now, disconnect.alternatives);
  const bool was_active = link.state == LinkState::kActive;
  out.push_back(Close{peer});
  RemoveLink(peer);
  if (was_active) {
    --active_count_;
    map_dirty_ = true;
    out.push_back(Deliver{PeerDown{peer, DisconnectReasonName(disconnect.reason)}});
    if (disconnect.reason != DisconnectReason::kShutdown) {
      replacements_owed_ = std::min(replacements_owed_ + 1, config_.target_degree);
    }
  }
  if (disconnect.reason == DisconnectReason::kShutdown) {
    RemovePassive(peer);
  } else if (disconnect.reason == DisconnectReason::kFull) {
    NotePassiveFailure(now, address, peer);
  }
  Maintain(now, out);
}

// ---------------------------------------------------------------- preferential attachment

void Membership::StartWalks(TimePoint now, const NodeId& origin, const std::string& origin_address,
                            uint32_t count, Out& out) {
  if (origin_address.empty()) return;  // nobody could dial it back
  for (uint32_t i = 0; i < count; ++i) {
    ++counters_.walks_started;
    HandleWalk(now, Walk{origin, origin_address, config_.walk_length, config_.walk_extensions_max},
               out);
  }
}

void Membership::HandleWalk(TimePoint now, Walk&& walk, Out& out) {
  if (walk.origin == id()) {
    ++counters_.walks_dropped;
    return;
  }
  // Each step moves to a uniformly chosen active peer (never back to the origin) or stays here
  // through the virtual self-loop; bounded by ttl + extensions_left iterations.
  for (;;) {
    if (walk.ttl > 0) {
      --walk.ttl;
      const Link* origin_link = FindLink(walk.origin);
      const bool origin_active = origin_link && origin_link->state == LinkState::kActive;
      const size_t choices = active_count_ - (origin_active ? 1 : 0);
      const uint64_t pick = rng_.Uniform(choices + 1);
      if (pick == choices) continue;  // the self-loop
      size_t seen = 0;
      for (const Link& l : links_) {
        if (l.state != LinkState::kActive || l.peer == walk.origin) continue;
        if (seen++ == pick) {
          ++counters_.walks_forwarded;
          SendMessage(l.peer, std::move(walk), out);
          return;
        }
      }
      assert(false && "walk step out of range");
      return;
    }
    // The endpoint: link up with the origin if we can, else walk a little further.
    Link* existing = FindLinkMut(walk.origin);
    const bool pending =
        std::any_of(pending_dials_.begin(), pending_dials_.end(),
                    [&](const PendingDial& p) { return p.expected == walk.origin; });
    const bool upgradable = existing && existing->state == LinkState::kJoin &&
                            existing->intent != HelloIntent::kNeighbor;
    if (CanAcceptNeighbour(walk.origin) && !pending && (existing == nullptr || upgradable) &&
        DialsInFlight() < 2 * config_.dials_in_flight_max) {
      if (upgradable) {
        existing->intent = HelloIntent::kNeighbor;
        SendMessage(
            walk.origin,
            Hello{HelloInfo(), HelloIntent::kNeighbor, static_cast<uint32_t>(active_count_)}, out);
      } else {
        DialPeer(now, walk.origin_address, walk.origin, HelloIntent::kNeighbor, out);
      }
      return;
    }
    if (walk.extensions_left == 0) {
      ++counters_.walks_dropped;
      return;
    }
    --walk.extensions_left;
    walk.ttl = 1;
  }
}

// ---------------------------------------------------------------- passive view

PassivePeer* Membership::FindPassive(const NodeId& id) {
  for (auto& p : passive_) {
    if (p.record.id == id) return &p;
  }
  return nullptr;
}

void Membership::RemovePassive(const NodeId& id) {
  std::erase_if(passive_, [&](const PassivePeer& p) { return p.record.id == id; });
}

void Membership::LearnPeers(TimePoint, const std::vector<PeerRecord>& peers) {
  for (const PeerRecord& r : peers) {
    if (r.id == id() || r.address.empty() || r.id.IsZero()) continue;
    if (const Link* l = FindLink(r.id); l && l->state == LinkState::kActive) continue;
    if (PassivePeer* p = FindPassive(r.id)) {
      p->record.degree = r.degree;
      p->record.address = r.address;
      continue;
    }
    if (config_.passive_view_max == 0) continue;
    if (passive_.size() >= config_.passive_view_max) {
      // Random eviction keeps the view a fresh, unbiased sample (HyParView does the same).
      passive_.erase(passive_.begin() + static_cast<ptrdiff_t>(rng_.Uniform(passive_.size())));
    }
    passive_.push_back(PassivePeer{r, 0, TimePoint{}});
    ++counters_.peers_learned;
  }
  assert(passive_.size() <= config_.passive_view_max);
}

std::vector<PeerRecord> Membership::SamplePeers(const NodeId& exclude, uint32_t count) {
  std::vector<PeerRecord> pool;
  pool.reserve(active_count_ + passive_.size() + 1);
  if (!info_->listen_addresses.empty()) {
    pool.push_back(
        PeerRecord{id(), info_->listen_addresses.front(), static_cast<uint32_t>(active_count_)});
  }
  for (const Link& l : links_) {
    if (l.state == LinkState::kActive && l.peer != exclude && !l.address.empty()) {
      pool.push_back(PeerRecord{l.peer, l.address, l.peer_degree});
    }
  }
  for (const PassivePeer& p : passive_) {
    if (p.failures == 0 && p.record.id != exclude) pool.push_back(p.record);
  }
  // Partial Fisher–Yates: the first `count` entries become a uniform sample.
  const size_t n = std::min<size_t>(count, pool.size());
  for (size_t i = 0; i < n; ++i) {
    std::swap(pool[i], pool[i + rng_.Uniform(pool.size() - i)]);
  }
  pool.resize(n);
  return pool;
}

std::optional<size_t> Membership::ChoosePassive(TimePoint now) {
  double total = 0;
  std::vector<double> weights(passive_.size(), 0.0);
  for (size_t i = 0; i < passive_.size(); ++i) {
    const PassivePeer& p = passive_[i];
    if (p.retry_after > now || FindLink(p.record.id) != nullptr) continue;
    const bool pending =
        std::any_of(pending_dials_.begin(), pending_dials_.end(),
                    [&](const PendingDial& d) { return d.expected == p.record.id; });
    if (pending) continue;
    weights[i] = (p.record.degree + 1.0) / (1.0 + p.failures);
    total += weights[i];
  }
  if (total <= 0) return std::nullopt;
  double r = rng_.UniformDouble() * total;
  for (size_t i = 0; i < passive_.size(); ++i) {
    if (weights[i] <= 0) continue;
    if (r < weights[i]) return i;
    r -= weights[i];
  }
  for (size_t i = passive_.size(); i-- > 0;) {
    if (weights[i] > 0) return i;  // rounding left r just above the last weight
  }
  return std::nullopt;
}

void Membership::NotePassiveFailure(TimePoint now, const std::string& address, const NodeId& id) {
  PassivePeer* p = id.IsZero() ? nullptr : FindPassive(id);
  if (p == nullptr) {
    for (auto& q : passive_) {
      if (q.record.address == address) p = &q;
    }
  }
  if (p == nullptr) return;
  ++p->failures;
  if (p->failures > config_.dial_failures_max) {
    RemovePassive(p->record.id);
    return;
  }
  p->retry_after = now + Backoff(config_.redial_backoff, p->failures);
}

// ---------------------------------------------------------------- maintenance

bool Membership::DialPeer(TimePoint now, const std::string& address, const NodeId& expected,
                          HelloIntent intent, Out& out) {
  if (address.empty() || expected == id()) return false;
  if (!expected.IsZero() && FindLink(expected) != nullptr) return false;
  for (const PendingDial& p : pending_dials_) {
    if (p.address == address) return false;
  }
  pending_dials_.push_back(PendingDial{address, expected, intent, now});
  ++counters_.dials;
  out.push_back(Dial{address, expected});
  return true;
}

void Membership::Maintain(TimePoint now, Out& out) {
  if (left_ || !started_) return;
  bool joining = false;
  for (const Link& l : links_) {
    if (l.outbound && l.intent == HelloIntent::kJoin &&
        (l.state == LinkState::kJoin || l.state == LinkState::kAwaitAccept) &&
        now - l.since < config_.handshake_timeout) {
      joining = true;
    }
  }
  const bool join_dial_pending =
      std::any_of(pending_dials_.begin(), pending_dials_.end(),
                  [](const PendingDial& p) { return p.intent == HelloIntent::kJoin; });
  // While a join is in flight the walks find our neighbours; dialling passive peers now would
  // bypass preferential attachment.
  if (joining || join_dial_pending) return;

  uint32_t want = 0;
  if (active_count_ < config_.target_degree) {
    want = config_.target_degree - static_cast<uint32_t>(active_count_);
  }
  want = std::max(want, replacements_owed_);
  uint32_t in_flight = 0;
  for (const PendingDial& p : pending_dials_) {
    if (p.intent == HelloIntent::kNeighbor) ++in_flight;
  }
  uint32_t needed = want > in_flight ? want - in_flight : 0;
  while (needed > 0 && DialsInFlight() < config_.dials_in_flight_max &&
         active_count_ + in_flight < config_.max_connections) {
    const auto pick = ChoosePassive(now);
    if (!pick) break;
    const PeerRecord record = passive_[*pick].record;
    if (!DialPeer(now, record.address, record.id, HelloIntent::kNeighbor, out)) break;
    ++in_flight;
    --needed;
  }
  // Retry one peer that failed before, once its backoff has passed, even when we need nobody:
  // if it was cut off by a partition that has healed, this link is what re-merges the two sides.
  if (DialsInFlight() < config_.dials_in_flight_max &&
      active_count_ + in_flight < config_.max_connections) {
    for (const PassivePeer& p : passive_) {
      if (p.failures == 0 || p.retry_after > now) continue;
      if (DialPeer(now, p.record.address, p.record.id, HelloIntent::kNeighbor, out)) {
        ++in_flight;
        break;
      }
    }
  }
  // Isolated and nobody to dial: go back to the bootstrap addresses, with backoff.
  if (active_count_ == 0 && in_flight == 0 && !bootstrap_.empty() &&
      now >= bootstrap_retry_after_) {
    const std::string address = bootstrap_[bootstrap_next_++ % bootstrap_.size()];
    if (DialPeer(now, address, NodeId{}, HelloIntent::kJoin, out)) {
      bootstrap_retry_after_ = now + Backoff(config_.redial_backoff, bootstrap_failures_ + 1);
    }
  }
}

void Membership::Heartbeat(TimePoint now, Out& out) {
  const double period_s = config_.heartbeat_period.seconds();
  // A dial the driver never answered is given up (drivers should always answer; this bounds it).
  for (size_t i = 0; i < pending_dials_.size();) {
    if (now - pending_dials_[i].started > config_.handshake_timeout * 2) {
      const PendingDial dial = pending_dials_[i];
      pending_dials_.erase(pending_dials_.begin() + static_cast<ptrdiff_t>(i));
      if (dial.intent != HelloIntent::kJoin) NotePassiveFailure(now, dial.address, dial.expected);
    } else {
      ++i;
    }
  }
  std::vector<std::pair<NodeId, const char*>> drops;
  for (Link& l : links_) {
    if (l.state == LinkState::kActive) {
      if (now - l.last_heard > config_.failure_timeout) {
        drops.emplace_back(l.peer, "heartbeat timeout");
        continue;
      }
      l.bytes_in_ewma +=
          kTrafficAlpha * (static_cast<double>(l.bytes_in_window) / period_s - l.bytes_in_ewma);
      l.bytes_out_ewma +=
          kTrafficAlpha * (static_cast<double>(l.bytes_out_window) / period_s - l.bytes_out_ewma);
      l.bytes_in_window = 0;
      l.bytes_out_window = 0;
      l.utilisation = (l.bytes_in_ewma + l.bytes_out_ewma) / config_.link_bandwidth_bytes_per_s;
      l.strength = StrengthFrom(l.utilisation, MutualBenefit(l.bytes_in_ewma, l.bytes_out_ewma));
      if (id() < l.peer) {  // the smaller id pings, so a link carries one ping per period
        if (l.ping_outstanding) l.loss_ewma += kLossAlpha * (1 - l.loss_ewma);
        ++l.ping_seq;
        l.ping_sent_at = now;
        l.ping_outstanding = true;
        const int64_t rtt = l.rtt_us_ewma < 0 ? -1 : static_cast<int64_t>(l.rtt_us_ewma);
        SendMessage(l.peer, Ping{l.ping_seq, rtt}, out);
      }
    } else if (l.state == LinkState::kJoin) {
      // The newcomer ends its join link once it has neighbours; the other side only bounds it.
      const bool done =
          l.outbound && l.intent == HelloIntent::kJoin &&
          (active_count_ >= config_.target_degree || now - l.since > config_.handshake_timeout);
      const bool stale = now - l.since > config_.handshake_timeout * 4;
      if (done || stale) drops.emplace_back(l.peer, "join done");
    } else if (now - l.since > config_.handshake_timeout) {
      drops.emplace_back(l.peer, "handshake timeout");
    }
  }
  for (const auto& [peer, why] : drops) {
    if (std::string_view(why) == "heartbeat timeout") {
      ++counters_.links_failed;
    } else if (std::string_view(why) == "join done") {
      SendMessage(peer, Disconnect{DisconnectReason::kJoinDone, "", {}}, out);
    } else {
      SendMessage(peer, Disconnect{DisconnectReason::kTimeout, why, {}}, out);
    }
    DropLink(now, peer, why, true, out);
  }
}

void Membership::Shuffle(TimePoint, Out& out) {
  if (active_count_ == 0) return;
  const uint64_t pick = rng_.Uniform(active_count_);
  size_t seen = 0;
  for (const Link& l : links_) {
    if (l.state != LinkState::kActive) continue;
    if (seen++ == pick) {
      const NodeId peer = l.peer;
      ++counters_.shuffles;
      SendMessage(peer, PeerExchange{SamplePeers(peer, config_.pex_sample_size), true}, out);
      return;
    }
  }
}

void Membership::OnTick(TimePoint now, Out& out) {
  if (left_) return;
  if (!started_) {
    started_ = true;
    // Random phases keep a fleet that started together from ticking in lockstep.
    const auto jitter = [&](Duration d) {
      return Duration{static_cast<int64_t>(rng_.Uniform(static_cast<uint64_t>(d.ns) + 1))};
    };
    next_tick_ = now + jitter(config_.heartbeat_period);
    next_shuffle_ = now + config_.shuffle_period / 2 + jitter(config_.shuffle_period);
    next_map_refresh_ = now + jitter(config_.map_refresh_period);
    Maintain(now, out);
    return;
  }
  if (now < next_tick_) return;
  next_tick_ = now + config_.heartbeat_period;
  Heartbeat(now, out);
  Maintain(now, out);
  if (now >= next_shuffle_) {
    // An under-filled passive view (a newcomer, or after mass failures) refills every few
    // heartbeats instead of waiting a whole shuffle period.
    const bool hungry = passive_.size() * 2 < config_.passive_view_max;
    next_shuffle_ = now + (hungry ? std::min(config_.shuffle_period, config_.heartbeat_period * 2)
                                  : config_.shuffle_period);
    Shuffle(now, out);
  }
  if (config_.map_flood_radius > 0) {
    if (now >= next_map_refresh_) {
      next_map_refresh_ = now + config_.map_refresh_period;
      map_.Expire(now, config_.map_refresh_period * 3);
      map_dirty_ = true;
    }
    if (map_dirty_) FloodOwnEntry(now, out);
  }
}

// ---------------------------------------------------------------- topology map

void Membership::FloodOwnEntry(TimePoint now, Out& out) {
  map_dirty_ = false;
  ++map_version_;
  std::vector<NodeId> neighbours = ActivePeerIds();
  map_.Update(id(), map_version_, neighbours, now);
  for (const Link& l : links_) {
    if (l.state != LinkState::kActive) continue;
    SendMessage(l.peer, NeighbourList{id(), map_version_, config_.map_flood_radius - 1, neighbours},
                out);
  }
}

void Membership::HandleNeighbourList(TimePoint now, const NodeId& from, NeighbourList&& list,
                                     Out& out) {
  if (config_.map_flood_radius == 0 || list.origin == id()) return;
  if (!map_.Update(list.origin, list.version, list.neighbours, now)) return;
  if (list.hops_left == 0) return;
  --list.hops_left;
  for (const Link& l : links_) {
    if (l.state != LinkState::kActive || l.peer == from || l.peer == list.origin) continue;
    SendMessage(l.peer, list, out);
  }
}

size_t Membership::SizeEstimate() const {
  if (config_.map_flood_radius == 0) {
    // Without map gossip all we know is whom we know: a lower bound.
    return 1 + active_count_ + passive_.size();
  }
  // The map lags a new link by one neighbour-list round; the live links are certain.
  return std::max(map_.Reachable(id()).size(), 1 + active_count_);
}

double Membership::AverageHealth() const {
  if (active_count_ == 0) return 0;
  double sum = 0;
  for (const Link& l : links_) {
    if (l.state == LinkState::kActive) sum += l.Health();
  }
  return sum / static_cast<double>(active_count_);
}

}  // namespace myco
