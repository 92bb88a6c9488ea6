// Propagation: the information propagation engine of one node (sans-IO), MISSION.md §3.
//
// Pipeline for every packet that arrives (in this order, so the costly step runs once):
//   1. sanity: a body, hops + ttl within the signed ttl_max (an inflated ttl is dropped and
//      counted against the link), not older than seen_expiry (a replay), a valid route;
//   2. dedup by id BEFORE verifying (a duplicate costs a hash lookup, not a signature check);
//   3. verify the payload hash and the origin's signature once per packet per node (invalid:
//      dropped, never forwarded, counted against the link it came from);
//   4. deliver to the application if the node is interested (selective propagation: interests
//      and the packet's selector), store knowledge discoveries;
//   5. forward as the mode says: broadcast tree / flood / gossip, source route, or gradient.
//
// REQUIRES: external synchronization. Inputs arrive through Node.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/messages.hpp"
#include "core/propagation/config.hpp"
#include "core/propagation/packet.hpp"
#include "myco/identity.hpp"
#include "myco/rng.hpp"
#include "myco/time.hpp"

namespace myco {

class Membership;
struct Send;
struct Dial;
struct Close;
struct Deliver;
class Broadcast;
class TreeRoot;
class TargetedRouter;
class GradientTable;
class KnowledgeBase;
class SeenCache;

// propagate_information's arguments.
struct PublishRequest {
  std::string information_type;
  std::string payload = "{}";  // a JSON object
  double priority = 0.5;
  uint32_t ttl = 15;
  std::vector<NodeId> destinations;  // targeted: one acknowledged packet per destination
  Selector selector;                 // only matching nodes deliver (all relay)
  PropagationRules rules;            // follow_gradient: climb the resource gradient
  // Defaults: targeted with destinations, gradient with rules.follow_gradient, else broadcast.
  std::optional<PropagationMode> mode;
};

// Verifies packet bodies. The daemon checks every signature for real (RealPacketVerifier); the
// simulator shares one that memoizes verdicts of immutable bodies (identical verdicts, far less
// CPU: a broadcast to N nodes costs N-1 verifications).
class PacketVerifier {
 public:
  virtual ~PacketVerifier() = default;
  virtual bool Verify(const std::shared_ptr<const PacketBody>& body) = 0;
};

class RealPacketVerifier final : public PacketVerifier {
 public:
  bool Verify(const std::shared_ptr<const PacketBody>& body) override {
    return body != nullptr && VerifyPacketSignature(*body);
  }
};

class Propagation {
 public:
  using Out = std::vector<std::variant<Send, Dial, Close, Deliver>>;

  struct Counters {
    uint64_t published = 0;
    uint64_t packets_received = 0;  // payload-carrying messages received, duplicates included
    uint64_t duplicates = 0;
    uint64_t delivered = 0;          // handed to the application
    uint64_t not_interested = 0;     // relayed but not delivered (selective propagation)
    uint64_t forwarded = 0;          // payload-carrying messages sent
    uint64_t invalid_signature = 0;  // dropped: bad hash or signature
    uint64_t invalid_ttl = 0;        // dropped: hops + ttl above the signed ttl_max
    uint64_t replayed = 0;           // dropped: older than seen_expiry
    uint64_t malformed = 0;          // dropped: bad route, missing body, wrong mode
    uint64_t ttl_expired = 0;        // not forwarded further: ttl reached 0
  };

  // `identity` may be null (then Publish fails); `verifier` null means RealPacketVerifier.
  Propagation(const Membership& membership, const Identity* identity, PropagationConfig config,
              Rng rng, PacketVerifier* verifier);
  ~Propagation();
  Propagation(const Propagation&) = delete;
  Propagation& operator=(const Propagation&) = delete;

  // propagate_information. Returns the ids of the packets sent (one per destination when
  // targeted). Invalid requests (ttl 0 or above ttl_max, priority outside [0,1], payload too
  // large or not a JSON object, unknown destination format) are errors; nothing is sent.
  Result<std::vector<PacketId>> Publish(TimePoint now, PublishRequest request, Out& out);
  // share_knowledge_discovery: stores the discovery locally and spreads it (targeted when
  // `targets` is non-empty, else broadcast). Returns the discovery id.
  Result<std::string> ShareKnowledge(TimePoint now, const std::string& discovery_type,
                                     const std::string& knowledge_json,
                                     const std::vector<NodeId>& targets, Out& out);

  void OnPacket(TimePoint now, const NodeId& from, PacketMsg&& packet, Out& out);
  void OnIHave(TimePoint now, const NodeId& from, IHave&& ihave, Out& out);
  void OnGraft(TimePoint now, const NodeId& from, Graft&& graft, Out& out);
  void OnPrune(TimePoint now, const NodeId& from);
  void OnGradientUpdate(TimePoint now, const NodeId& from, GradientUpdate&& update, Out& out);
  void OnTreeBeacon(TimePoint now, const NodeId& from, const TreeBeacon& beacon, Out& out);
  void OnNeighbourUp(TimePoint now, const NodeId& peer, Out& out);
  void OnNeighbourDown(TimePoint now, const NodeId& peer, Out& out);
  void OnTick(TimePoint now, Out& out);
  TimePoint NextDeadline() const;

  const Counters& counters() const { return counters_; }
  // Invalid packets (bad signature or hash, inflated ttl, replay, malformed route) received from
  // a neighbour while it is one: the evidence the trust score will weigh.
  uint64_t InvalidFrom(const NodeId& peer) const {
    auto it = invalid_by_peer_.find(peer);
    return it == invalid_by_peer_.end() ? 0 : it->second;
  }
  const Broadcast& broadcast() const { return *broadcast_; }
  const TargetedRouter& targeted() const { return *targeted_; }
  const GradientTable& gradient() const { return *gradient_; }
  const TreeRoot& tree() const { return *tree_; }
  const KnowledgeBase& knowledge() const { return *knowledge_; }
  const PropagationConfig& config() const { return config_; }

 private:
  bool Interested(const PacketBody& body) const;
  void DeliverLocally(TimePoint now, const std::shared_ptr<const PacketBody>& body, uint32_t hops,
                      const NodeId& from, Out& out);
  void HandleFlooded(TimePoint now, const NodeId& from, PacketMsg&& packet, Out& out);
  void HandleRouted(TimePoint now, const NodeId& from, PacketMsg&& packet, Out& out);
  void HandleGradient(TimePoint now, const NodeId& from, PacketMsg&& packet, Out& out);
  std::shared_ptr<const PacketBody> MakeBody(TimePoint now, const PublishRequest& request,
                                             PropagationMode mode,
                                             std::vector<NodeId> destinations);
  // Answers `packet` along `path` (the way it came, ending here) reversed.
  void SendAck(TimePoint now, const PacketMsg& packet, const std::vector<NodeId>& path, Out& out);
  void HandleAck(TimePoint now, const PacketBody& ack, const std::vector<NodeId>& ack_route,
                 Out& out);
  // Verifies a packet's body unless its verdict is already in the seen cache.
  bool CheckOnce(TimePoint now, const NodeId& from, const PacketMsg& packet);
  // Grafts the tree root's new parent link, if the parent changed.
  void FollowParent(Out& out);

  const Membership& membership_;
  const Identity* identity_;
  PropagationConfig config_;
  Rng rng_;
  RealPacketVerifier real_verifier_;
  PacketVerifier* verifier_;
  uint64_t next_seq_;
  std::unordered_map<PacketId, TimePoint, PacketIdHash> discoveries_;  // gradient queries we sent
  // Bounded by the active view: entries go when the neighbour does.
  std::unordered_map<NodeId, uint64_t, NodeIdHash> invalid_by_peer_;
  void Blame(const NodeId& peer) { ++invalid_by_peer_[peer]; }

  // How often eager links are trimmed to the tree (Broadcast::Trim).
  static constexpr Duration kTrimPeriod = Seconds(1);
  TimePoint trim_at_;
  std::unique_ptr<SeenCache> seen_;
  std::unique_ptr<TreeRoot> tree_;  // before broadcast_, which weighs links with it
  std::unique_ptr<Broadcast> broadcast_;
  std::unique_ptr<TargetedRouter> targeted_;
  std::unique_ptr<GradientTable> gradient_;
  std::unique_ptr<KnowledgeBase> knowledge_;
  Counters counters_;
};

}  // namespace myco
