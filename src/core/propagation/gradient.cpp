// The resource gradient; see gradient.hpp for what it guarantees. Handlers appear in the order
// information flows: own holdings, neighbour vectors, the send round, then the climb.
#include "core/propagation/gradient.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

#include "core/node.hpp"
#include "core/topology/membership.hpp"

namespace myco {

namespace {

size_t Index(ResourceType type) {
  const auto i = static_cast<size_t>(type);
  assert(i < kResourceTypeCount);
  return i;
}

bool PeerLess(const auto& entry, const NodeId& id) { return entry.peer < id; }

bool IsActive(const Link& link) { return link.state == LinkState::kActive; }

bool HasSpecialization(const Link& link, const std::string& specialization) {
  if (link.info == nullptr) return false;
  const auto& specs = link.info->specializations;
  return std::find(specs.begin(), specs.end(), specialization) != specs.end();
}

}  // namespace

GradientTable::GradientTable(const PropagationConfig& config)
    : decay_(config.gradient_decay),
      radius_hops_(config.gradient_radius_hops),
      min_interval_(config.gradient_update_min_interval) {
  // decay > 1 would let reflected values grow; decay 1 is still safe (the radius ends them).
  assert(decay_ > 0 && decay_ <= 1);
  assert(radius_hops_ < kAbsent);
  assert(min_interval_ >= Duration{});
  static_assert(sizeof(NeighbourVector) <= 76, "keep per-neighbour state compact");
}

// ---------------------------------------------------------------- own holdings

void GradientTable::SetOwn(ResourceType type, double amount) {
  assert(std::isfinite(amount) && amount >= 0);
  own_[Index(type)] = amount;
  Recompute();
}

double GradientTable::Own(ResourceType type) const { return own_[Index(type)]; }

// ---------------------------------------------------------------- neighbour vectors

GradientTable::NeighbourVector* GradientTable::Find(const NodeId& peer) {
  auto it =
      std::lower_bound(neighbours_.begin(), neighbours_.end(), peer, PeerLess<NeighbourVector>);
  return (it != neighbours_.end() && it->peer == peer) ? &*it : nullptr;
}

const GradientTable::NeighbourVector* GradientTable::Find(const NodeId& peer) const {
  auto it =
      std::lower_bound(neighbours_.begin(), neighbours_.end(), peer, PeerLess<NeighbourVector>);
  return (it != neighbours_.end() && it->peer == peer) ? &*it : nullptr;
}

GradientTable::NeighbourVector& GradientTable::FindOrInsert(const NodeId& peer) {
  auto it =
      std::lower_bound(neighbours_.begin(), neighbours_.end(), peer, PeerLess<NeighbourVector>);
  if (it != neighbours_.end() && it->peer == peer) return *it;
  NeighbourVector fresh;
  fresh.peer = peer;
  fresh.hops.fill(kAbsent);
  fresh.owed_vector = true;
  ++vectors_owed_;
  return *neighbours_.insert(it, fresh);
}

void GradientTable::OnUpdate(TimePoint /*now*/, const NodeId& from, const GradientUpdate& update) {
  ++counters_.updates_received;
  // An update can only come over a link, and Reconcile trims vectors of peers that are not
  // active at the next tick, so accepting it here (rather than dropping an update that raced
  // ahead of OnNeighbourUp and might never be repeated) keeps the table bounded.
  NeighbourVector& n = FindOrInsert(from);
  n.amount.fill(0);
  n.hops.fill(kAbsent);
  for (const GradientEntry& e : update.entries) {
    const auto type = static_cast<size_t>(e.type);
    // No honest node sends these; counted so the caller can hold it against the link.
    if (type >= kResourceTypeCount || !std::isfinite(e.amount) || e.amount <= 0) {
      ++counters_.entries_rejected;
      continue;
    }
    // A neighbour may advertise up to the radius: it may not re-advertise it, but we may climb
    // toward it. Beyond, it is useless here (a neighbour with a larger configured radius is not
    // at fault), as is an amount too small for a float.
    const auto amount =
        static_cast<float>(std::min<double>(e.amount, std::numeric_limits<float>::max()));
    if (e.hops > radius_hops_ || amount <= 0) continue;
    // A duplicated type keeps its best entry, as if the sender had sent only that one.
    if (n.hops[type] == kAbsent || amount > n.amount[type] ||
        (amount == n.amount[type] && e.hops < n.hops[type])) {
      n.amount[type] = amount;
      n.hops[type] = static_cast<uint8_t>(e.hops);
    }
  }
  Recompute();
}

void GradientTable::OnNeighbourUp(TimePoint /*now*/, const NodeId& peer) {
  NeighbourVector& n = FindOrInsert(peer);
  // A re-announced neighbour may have lost our vector (a new connection): send it again.
  if (!n.owed_vector) {
    n.owed_vector = true;
    ++vectors_owed_;
  }
}

void GradientTable::OnNeighbourDown(TimePoint /*now*/, const NodeId& peer) {
  auto it =
      std::lower_bound(neighbours_.begin(), neighbours_.end(), peer, PeerLess<NeighbourVector>);
  if (it == neighbours_.end() || it->peer != peer) return;
  if (it->owed_vector) --vectors_owed_;
  neighbours_.erase(it);
  Recompute();
}

// The advertised value of every type from scratch: 8 × degree comparisons, cheaper than
// tracking which neighbour each value came from.
void GradientTable::Recompute() {
  std::array<Advertised, kResourceTypeCount> next{};
  for (size_t t = 0; t < kResourceTypeCount; ++t) {
    Advertised best;
    if (own_[t] > 0) best = {own_[t], 0, true};
    for (const NeighbourVector& n : neighbours_) {
      if (n.hops[t] == kAbsent) continue;
      const uint32_t hops = n.hops[t] + 1u;
      const double value = decay_ * n.amount[t];
      if (hops > radius_hops_ || value <= 0) continue;
      if (!best.present || value > best.amount || (value == best.amount && hops < best.hops)) {
        best = {value, hops, true};
      }
    }
    assert(!best.present || best.hops <= radius_hops_);
    next[t] = best;
  }
  if (next != advertised_) {
    advertised_ = next;
    changed_ = true;
  }
}

// ---------------------------------------------------------------- send rounds

void GradientTable::Reconcile(const Membership& membership) {
  // Merge of two id-sorted lists: the active links and our vectors.
  const std::vector<Link>& links = membership.links();
  std::vector<NodeId> greet;
  bool dropped = false;
  auto link = links.begin();
  auto it = neighbours_.begin();
  while (it != neighbours_.end()) {
    while (link != links.end() && link->peer < it->peer) {
      if (IsActive(*link)) greet.push_back(link->peer);
      ++link;
    }
    const bool active = link != links.end() && link->peer == it->peer && IsActive(*link);
    if (link != links.end() && link->peer == it->peer) ++link;
    if (active) {
      ++it;
      continue;
    }
    if (it->owed_vector) --vectors_owed_;
    it = neighbours_.erase(it);
    dropped = true;
  }
  for (; link != links.end(); ++link) {
    if (IsActive(*link)) greet.push_back(link->peer);
  }
  // Normally empty: Propagation announces neighbours. Kept so a missed announcement cannot leave
  // a neighbour without our vector for good.
  for (const NodeId& peer : greet) FindOrInsert(peer);
  if (dropped) Recompute();
  assert(neighbours_.size() <= membership.ActiveCount());
}

bool GradientTable::AnythingAdvertised() const {
  return std::any_of(advertised_.begin(), advertised_.end(),
                     [](const Advertised& a) { return a.present; });
}

// A new neighbour is owed our vector only if it has something in it: absent means empty.
bool GradientTable::Pending() const {
  return changed_ || (vectors_owed_ > 0 && AnythingAdvertised());
}

GradientUpdate GradientTable::BuildUpdate() const {
  GradientUpdate update;
  for (size_t t = 0; t < kResourceTypeCount; ++t) {
    const Advertised& a = advertised_[t];
    if (a.present) update.entries.push_back({static_cast<ResourceType>(t), a.amount, a.hops});
  }
  return update;
}

void GradientTable::OnTick(TimePoint now, const Membership& membership, Out& out) {
  Reconcile(membership);
  if (now < next_round_at_ || !Pending()) return;
  const GradientUpdate update = BuildUpdate();
  uint64_t sent = 0;
  // changed_: everyone's copy is stale. Otherwise only new neighbours lack our vector.
  for (NeighbourVector& n : neighbours_) {
    if (changed_ || (n.owed_vector && !update.entries.empty())) {
      out.push_back(Send{n.peer, update, kControlPriority});
      ++sent;
    }
    n.owed_vector = false;
  }
  vectors_owed_ = 0;
  changed_ = false;
  counters_.updates_sent += sent;
  if (sent > 0) next_round_at_ = now + min_interval_;
  assert(!Pending());
}

TimePoint GradientTable::NextDeadline() const {
  return Pending() ? next_round_at_ : TimePoint::Max();
}

// ---------------------------------------------------------------- the climb

bool GradientTable::CanServe(const PropagationRules& rules) const {
  const double own = Own(rules.resource);
  return own > 0 && own >= rules.amount_min;
}

std::optional<NodeId> GradientTable::NextHop(const PropagationRules& rules,
                                             const Selector& selector,
                                             const std::vector<NodeId>& trail,
                                             const Membership& membership) const {
  const size_t t = Index(rules.resource);
  const bool prefer_specialists = rules.prefer_specialists && !selector.specialization.empty();
  struct Best {
    const Link* link = nullptr;
    float amount = 0;
    uint8_t hops = kAbsent;
    bool specialist = false;
  } best;
  // Links are sorted by id, so on a full tie the first (smaller) id is kept.
  for (const Link& link : membership.links()) {
    if (!IsActive(link)) continue;
    const NeighbourVector* n = Find(link.peer);
    if (n == nullptr || n->hops[t] == kAbsent) continue;
    const float amount = n->amount[t];
    const uint8_t hops = n->hops[t];
    const bool specialist = prefer_specialists && HasSpecialization(link, selector.specialization);
    bool better = best.link == nullptr || amount > best.amount;
    if (!better && amount == best.amount) {
      better = (specialist != best.specialist) ? specialist : hops < best.hops;
    }
    // The trail (at most ttl_max ids) is searched only for a candidate that would win.
    if (!better || std::find(trail.begin(), trail.end(), link.peer) != trail.end()) continue;
    best = {&link, amount, hops, specialist};
  }
  if (best.link == nullptr) return std::nullopt;
  assert(best.amount > 0 && best.link->peer != membership.id());
  return best.link->peer;
}

size_t GradientTable::MemoryBytes() const {
  return sizeof(*this) + neighbours_.capacity() * sizeof(NeighbourVector);
}

}  // namespace myco
