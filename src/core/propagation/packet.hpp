// The information packet (MISSION.md §3, ORIGINAL_DESIGN.md "Secure Information Propagation").
//
// A packet has an immutable, signed body — shared by pointer between every copy a node holds or
// forwards, so a broadcast to 10,000 nodes allocates one body per node that decoded it, and none
// in the simulator — and per-hop fields (ttl left, hops taken, the route) that travel beside it.
//
// Security: the body carries the SHA-256 of its payload and the origin's Ed25519 signature over
// the canonical bytes of every body field (src/wire/canonical.hpp). The signed `ttl_max` bounds
// the per-hop ttl: a packet whose hops + ttl exceed it was inflated and is dropped.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "myco/identity.hpp"
#include "myco/result.hpp"
#include "myco/time.hpp"
#include "myco/types.hpp"

namespace myco {

// Unique per packet: the origin and a per-origin sequence number. A node starts its sequence at
// a random 64-bit value, so ids do not repeat across restarts.
struct PacketId {
  NodeId origin;
  uint64_t seq = 0;

  auto operator<=>(const PacketId&) const = default;
  std::string ToString() const;  // "<origin short>:<seq hex>"
};

struct PacketIdHash {
  size_t operator()(const PacketId& id) const {
    return NodeIdHash{}(id.origin) ^ (id.seq * 0x9e3779b97f4a7c15ULL);
  }
};

enum class PropagationMode : uint8_t {
  kBroadcast = 0,  // epidemic broadcast tree (Plumtree): eager push on tree links, lazy IHave
  kFlood = 1,      // baseline: forward once to every neighbour but the sender
  kGossip = 2,     // baseline: push to `gossip_fanout` random neighbours
  kTargeted = 3,   // source-routed to one destination, acknowledged end to end
  kGradient = 4,   // climbs a resource gradient to a node that can serve
  kAck = 5,        // acknowledgement of a targeted or gradient packet, source-routed back
};

const char* PropagationModeName(PropagationMode mode);

// The eight resource types of MISSION.md §2 (the market will use the same enum).
enum class ResourceType : uint8_t {
  kComputationalPower = 0,
  kMemoryCapacity = 1,
  kKnowledgeBase = 2,
  kProcessingQueue = 3,
  kConsciousnessState = 4,
  kLearnedPatterns = 5,
  kThreatIntelligence = 6,
  kOptimizationInsights = 7,
};
inline constexpr size_t kResourceTypeCount = 8;
const char* ResourceTypeName(ResourceType type);  // "COMPUTATIONAL_POWER", ...
Result<ResourceType> ParseResourceType(std::string_view name);

// Which nodes a packet is for, beyond explicit destinations. Empty fields match every node.
struct Selector {
  std::string node_type;
  std::string specialization;

  bool empty() const { return node_type.empty() && specialization.empty(); }
  bool operator==(const Selector&) const = default;
};

// propagation_rules of ORIGINAL_DESIGN.md, typed.
struct PropagationRules {
  bool follow_gradient = false;  // gradient mode: which resource to climb
  ResourceType resource = ResourceType::kComputationalPower;
  double amount_min = 0;            // a node serves if it holds at least this much
  bool prefer_specialists = false;  // break gradient ties toward selector.specialization
  double max_cost = -1;             // per unit; -1: no limit
  bool operator==(const PropagationRules&) const = default;
};

struct PacketBody {
  PacketId id;
  std::string information_type;  // "threat_alert", "consciousness_sync", "resource_discovery"...
  int64_t created_at_ms = 0;     // origin's clock (virtual time in the simulator)
  uint32_t ttl_max = 0;          // the ttl the origin gave it
  double priority = 0.5;         // [0,1]; 1.0 is critical
  PropagationMode mode = PropagationMode::kBroadcast;
  std::vector<NodeId> destinations;  // targeted: exactly one; ack: the acked packet's origin
  Selector selector;
  PropagationRules rules;
  std::string payload;                     // a JSON object, as bytes
  std::array<uint8_t, 32> payload_hash{};  // SHA-256(payload)
  Signature signature{};                   // origin's Ed25519 over CanonicalBytes()

  // Everything but the signature, in the canonical encoding that is signed.
  std::string CanonicalBytes() const;
  bool operator==(const PacketBody&) const = default;
};

// Fills payload_hash and signature. REQUIRES: body.id.origin == identity.id().
void SignPacket(PacketBody& body, const Identity& identity);
// Checks the payload hash and the origin's signature (the real, uncached check).
bool VerifyPacketSignature(const PacketBody& body);

}  // namespace myco
