// Packet names, canonical signing bytes, signing and verification (see packet.hpp).
//
// The signature covers every body field but itself, in the deterministic encoding of
// src/wire/canonical.hpp: protobuf bytes are not canonical, so a body that went through any
// encoder (or none, in the simulator) must give the same signed bytes.
#include "core/propagation/packet.hpp"

#include <sodium.h>

#include <cassert>
#include <cinttypes>
#include <cstdio>
#include <limits>
#include <span>

#include "wire/canonical.hpp"

namespace myco {

namespace {

// Tags of the canonical packet encoding. Each tag always carries the same type (canonical.hpp's
// condition for injectivity); numbers are never reused, a new field takes a new tag, and any
// change to the meaning of an existing one bumps the domain.
constexpr std::string_view kPacketDomain = "myco.packet.v1";
enum CanonicalTag : uint8_t {
  kTagOrigin = 1,
  kTagSeq = 2,
  kTagInformationType = 3,
  kTagCreatedAtMs = 4,
  kTagTtlMax = 5,
  kTagPriority = 6,
  kTagMode = 7,
  kTagDestinationCount = 8,
  kTagDestination = 9,
  kTagSelectorNodeType = 10,
  kTagSelectorSpecialization = 11,
  kTagRulesFollowGradient = 12,
  kTagRulesResource = 13,
  kTagRulesAmountMin = 14,
  kTagRulesPreferSpecialists = 15,
  kTagRulesMaxCost = 16,
  kTagPayload = 17,
  kTagPayloadHash = 18,
};

constexpr const char* kResourceTypeNames[kResourceTypeCount] = {
    "COMPUTATIONAL_POWER", "MEMORY_CAPACITY",  "KNOWLEDGE_BASE",      "PROCESSING_QUEUE",
    "CONSCIOUSNESS_STATE", "LEARNED_PATTERNS", "THREAT_INTELLIGENCE", "OPTIMIZATION_INSIGHTS",
};

char AsciiUpper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

bool EqualsIgnoringAsciiCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiUpper(a[i]) != AsciiUpper(b[i])) return false;
  }
  return true;
}

std::array<uint8_t, 32> Sha256(std::string_view bytes) {
  static_assert(crypto_hash_sha256_BYTES == 32);
  std::array<uint8_t, 32> hash{};
  crypto_hash_sha256(hash.data(), reinterpret_cast<const unsigned char*>(bytes.data()),
                     bytes.size());
  return hash;
}

std::span<const uint8_t> AsBytes(const std::string& text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

}  // namespace

std::string PacketId::ToString() const {
  char seq_hex[17];
  std::snprintf(seq_hex, sizeof seq_hex, "%016" PRIx64, seq);
  return origin.Short() + ":" + seq_hex;
}

const char* PropagationModeName(PropagationMode mode) {
  switch (mode) {
    case PropagationMode::kBroadcast: return "broadcast";
    case PropagationMode::kFlood: return "flood";
    case PropagationMode::kGossip: return "gossip";
    case PropagationMode::kTargeted: return "targeted";
    case PropagationMode::kGradient: return "gradient";
    case PropagationMode::kAck: return "ack";
  }
  return "unknown";
}

const char* ResourceTypeName(ResourceType type) {
  const auto index = static_cast<size_t>(type);
  return index < kResourceTypeCount ? kResourceTypeNames[index] : "UNKNOWN";
}

Result<ResourceType> ParseResourceType(std::string_view name) {
  // Case-insensitive, so the config's and the API's lowercase snake_case names parse too.
  for (size_t i = 0; i < kResourceTypeCount; ++i) {
    if (EqualsIgnoringAsciiCase(name, kResourceTypeNames[i])) return static_cast<ResourceType>(i);
  }
  std::string known;
  for (const char* candidate : kResourceTypeNames) {
    known += known.empty() ? "" : ", ";
    known += candidate;
  }
  return MakeError(ErrorCode::kInvalidArgument,
                   "unknown resource type '" + std::string(name) + "' (one of " + known + ")");
}

std::string PacketBody::CanonicalBytes() const {
  assert(destinations.size() <= std::numeric_limits<uint32_t>::max());
  CanonicalWriter writer(kPacketDomain);
  writer.AddNodeId(kTagOrigin, id.origin);
  writer.AddU64(kTagSeq, id.seq);
  writer.AddBytes(kTagInformationType, information_type);
  writer.AddI64(kTagCreatedAtMs, created_at_ms);
  writer.AddU32(kTagTtlMax, ttl_max);
  writer.AddDouble(kTagPriority, priority);
  writer.AddU8(kTagMode, static_cast<uint8_t>(mode));
  writer.AddU32(kTagDestinationCount, static_cast<uint32_t>(destinations.size()));
  for (const NodeId& destination : destinations) writer.AddNodeId(kTagDestination, destination);
  writer.AddBytes(kTagSelectorNodeType, selector.node_type);
  writer.AddBytes(kTagSelectorSpecialization, selector.specialization);
  writer.AddBool(kTagRulesFollowGradient, rules.follow_gradient);
  writer.AddU8(kTagRulesResource, static_cast<uint8_t>(rules.resource));
  writer.AddDouble(kTagRulesAmountMin, rules.amount_min);
  writer.AddBool(kTagRulesPreferSpecialists, rules.prefer_specialists);
  writer.AddDouble(kTagRulesMaxCost, rules.max_cost);
  writer.AddBytes(kTagPayload, payload);
  writer.AddBytes(kTagPayloadHash, std::span<const uint8_t>(payload_hash));
  return std::move(writer).Take();
}

void SignPacket(PacketBody& body, const Identity& identity) {
  assert(body.id.origin == identity.id());
  body.payload_hash = Sha256(body.payload);
  body.signature = identity.Sign(AsBytes(body.CanonicalBytes()));
}

bool VerifyPacketSignature(const PacketBody& body) {
  // libsodium wants sodium_init before use; after the first call this is one static check.
  if (!InitCrypto()) return false;
  const std::array<uint8_t, 32> hash = Sha256(body.payload);
  // Constant time, as everything compared against attacker-chosen bytes on a signing path is.
  if (sodium_memcmp(hash.data(), body.payload_hash.data(), hash.size()) != 0) return false;
  return VerifySignature(body.id.origin, AsBytes(body.CanonicalBytes()), body.signature);
}

}  // namespace myco
