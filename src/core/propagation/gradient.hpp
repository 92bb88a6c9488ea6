// GradientTable: the resource gradient of one node, which resource_discovery packets climb
// (MISSION.md §3, ORIGINAL_DESIGN.md "Gradient-Based Routing"). Sans-IO.
//
// What it guarantees
// - Diffusion: for each of the 8 resource types a node advertises
//     value = max(own amount, decay × best value advertised by any active neighbour)
//   with hops 0 for its own holding and the neighbour's hops + 1 otherwise (ties in value: fewer
//   hops). A value is never advertised beyond `gradient_radius_hops`.
// - No counting to infinity: every reflection of a stale value adds a hop, so once a holder drops
//   its amount (or departs) the values it caused are gone after at most radius + 1 update rounds.
// - Climbing: NextHop picks the active neighbour (not on the packet's trail) advertising the
//   highest value for the sought type. With equal holder amounts the values fall by `decay` per
//   hop, so each step moves one hop closer to the nearest holder: a shortest path.
// - Traffic: a full vector (the types with something in range) goes to every active neighbour
//   when the advertised vector changed, and to each new neighbour; at most one round of sends
//   per `gradient_update_min_interval` (changes in between are coalesced into the next round).
// - Memory: one compact vector per active neighbour (76 bytes: id, 8 float amounts, 8 hop
//   bytes), reconciled with the membership's active view on every tick; nothing else grows.
//
// Trust: a neighbour may lie about its amounts and attract discoveries. Entries are sanitised here
// (known type, finite positive amount, hops within radius) and malformed ones counted; what a
// liar costs is the trust layer's job.
// REQUIRES: external synchronization. Inputs arrive through Propagation.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <variant>
#include <vector>

#include "core/messages.hpp"
#include "core/propagation/config.hpp"
#include "core/propagation/packet.hpp"
#include "myco/time.hpp"
#include "myco/types.hpp"

namespace myco {

class Membership;
struct Send;
struct Dial;
struct Close;
struct Deliver;

class GradientTable {
 public:
  using Out = std::vector<std::variant<Send, Dial, Close, Deliver>>;

  // What this node advertises for one resource type.
  struct Advertised {
    double amount = 0;  // already decayed by `hops`
    uint32_t hops = 0;  // to the holder the amount comes from; 0: this node holds it
    bool present = false;
    bool operator==(const Advertised&) const = default;
  };

  struct Counters {
    uint64_t updates_sent = 0;  // GradientUpdate messages, one per neighbour per round
    uint64_t updates_received = 0;
    // Received entries no honest node sends: unknown type, amount not finite or not positive.
    uint64_t entries_rejected = 0;
  };

  // REQUIRES: 0 < gradient_decay <= 1, gradient_radius_hops < 255 (hops are stored in a byte).
  explicit GradientTable(const PropagationConfig& config);

  // This node's holding of `type`. REQUIRES: amount finite and >= 0 (0: holds none).
  void SetOwn(ResourceType type, double amount);
  double Own(ResourceType type) const;

  // Replaces `from`'s vector (types absent from `update` have nothing in range through it).
  void OnUpdate(TimePoint now, const NodeId& from, const GradientUpdate& update);
  // The new neighbour gets our vector in the next send round.
  void OnNeighbourUp(TimePoint now, const NodeId& peer);
  // Forgets the neighbour's vector; what it caused is withdrawn in the next send round.
  void OnNeighbourDown(TimePoint now, const NodeId& peer);

  // Reconciles the neighbour vectors with the active view (drops vectors of peers that are no
  // longer active, greets active peers never announced), then runs a send round if one is due.
  void OnTick(TimePoint now, const Membership& membership, Out& out);
  // When a pending update may go out (possibly in the past: due now); Max() if none is pending.
  TimePoint NextDeadline() const;

  // The node serves a discovery itself: it holds some of rules.resource, at least amount_min.
  bool CanServe(const PropagationRules& rules) const;
  // Next hop for a discovery at this node (own holdings are not considered): the active neighbour
  // not in `trail` advertising the highest value for rules.resource; ties go to a neighbour whose
  // specializations contain selector.specialization (with rules.prefer_specialists), then to
  // fewer hops, then to the smaller NodeId. nullopt when no such neighbour advertises anything.
  std::optional<NodeId> NextHop(const PropagationRules& rules, const Selector& selector,
                                const std::vector<NodeId>& trail,
                                const Membership& membership) const;

  const std::array<Advertised, kResourceTypeCount>& advertised() const { return advertised_; }
  const Counters& counters() const { return counters_; }
  size_t NeighbourCount() const { return neighbours_.size(); }
  // Heap and inline bytes this table holds (for the simulator's memory accounting).
  size_t MemoryBytes() const;

 private:
  // hops value of an absent entry.
  static constexpr uint8_t kAbsent = 0xff;

  // One neighbour's advertised vector. Floats and hop bytes keep it at 76 bytes: the simulator
  // holds one per link end (10,000 nodes × degree 6 ≈ 4.5 MB).
  struct NeighbourVector {
    NodeId peer;
    std::array<float, kResourceTypeCount> amount{};
    std::array<uint8_t, kResourceTypeCount> hops;  // kAbsent where nothing is advertised
    bool owed_vector = true;  // has not yet been sent our vector since it became a neighbour
  };

  NeighbourVector* Find(const NodeId& peer);
  const NeighbourVector* Find(const NodeId& peer) const;
  NeighbourVector& FindOrInsert(const NodeId& peer);
  void Recompute();
  void Reconcile(const Membership& membership);
  bool AnythingAdvertised() const;
  bool Pending() const;
  GradientUpdate BuildUpdate() const;

  // The three config fields used, not the whole config: this object exists once per node.
  double decay_;
  uint32_t radius_hops_;
  Duration min_interval_;

  std::array<double, kResourceTypeCount> own_{};
  std::array<Advertised, kResourceTypeCount> advertised_{};
  std::vector<NeighbourVector> neighbours_;  // sorted by peer; at most one per active neighbour
  uint32_t vectors_owed_ = 0;                // neighbours with owed_vector set
  bool changed_ = false;  // advertised_ changed since the last round sent to everyone
  // The earliest time of the next send round. 0 at start: the first round is never delayed.
  TimePoint next_round_at_;
  Counters counters_;
};

}  // namespace myco
