// Packet signing: what the signature covers (every body field), what breaks it, and that it
// survives the wire codec. Also the names of modes and resource types.
#include "core/propagation/packet.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cctype>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "wire/codec.hpp"

namespace myco {
namespace {

Identity MakeIdentity(uint8_t seed_byte) {
  std::array<uint8_t, 32> seed{};
  seed.fill(seed_byte);
  auto identity = Identity::FromSeed(seed);
  EXPECT_TRUE(identity.ok());
  return std::move(identity).value();
}

NodeId SomeNode(uint8_t byte) {
  NodeId id;
  id.bytes.fill(byte);
  return id;
}

PacketBody UnsignedBody(const Identity& origin) {
  PacketBody body;
  body.id = {origin.id(), 0x1234'5678'9abc'def0};
  body.information_type = "threat_alert";
  body.created_at_ms = 1'718'000'000'123;
  body.ttl_max = 15;
  body.priority = 0.75;
  body.mode = PropagationMode::kTargeted;
  body.destinations = {SomeNode(7)};
  body.selector = {"compute", "gpu_inference"};
  body.rules = {true, ResourceType::kMemoryCapacity, 16, true, 2.5};
  body.payload = R"({"threat":"port_scan","source":"10.0.3.99"})";
  return body;
}

PacketBody SignedBody(const Identity& origin) {
  PacketBody body = UnsignedBody(origin);
  SignPacket(body, origin);
  return body;
}

// Every field of the body but the signature, each changed in one way. The signature must cover
// all of them: any change an attacker can make in flight must make verification fail.
std::vector<std::pair<const char*, std::function<void(PacketBody&)>>> FieldChanges() {
  return {
      {"id.origin", [](PacketBody& b) { b.id.origin.bytes[31] ^= 1; }},
      {"id.seq", [](PacketBody& b) { ++b.id.seq; }},
      {"information_type", [](PacketBody& b) { b.information_type = "threat_alerts"; }},
      {"created_at_ms", [](PacketBody& b) { b.created_at_ms += 1; }},
      {"ttl_max", [](PacketBody& b) { b.ttl_max = 64; }},
      {"priority", [](PacketBody& b) { b.priority = 1.0; }},
      {"priority sign", [](PacketBody& b) { b.priority = -0.0; }},
      {"mode", [](PacketBody& b) { b.mode = PropagationMode::kBroadcast; }},
      {"destinations changed", [](PacketBody& b) { b.destinations[0] = SomeNode(8); }},
      {"destinations added", [](PacketBody& b) { b.destinations.push_back(SomeNode(9)); }},
      {"destinations removed", [](PacketBody& b) { b.destinations.clear(); }},
      {"selector.node_type", [](PacketBody& b) { b.selector.node_type = "storage"; }},
      {"selector.specialization", [](PacketBody& b) { b.selector.specialization.clear(); }},
      {"rules.follow_gradient", [](PacketBody& b) { b.rules.follow_gradient = false; }},
      {"rules.resource", [](PacketBody& b) { b.rules.resource = ResourceType::kKnowledgeBase; }},
      {"rules.amount_min", [](PacketBody& b) { b.rules.amount_min = 16.000001; }},
      {"rules.prefer_specialists", [](PacketBody& b) { b.rules.prefer_specialists = false; }},
      {"rules.max_cost", [](PacketBody& b) { b.rules.max_cost = -1; }},
      {"payload", [](PacketBody& b) { b.payload += " "; }},
      {"payload_hash", [](PacketBody& b) { b.payload_hash[0] ^= 0x80; }},
  };
}

TEST(Packet, SignThenVerify) {
  const Identity origin = MakeIdentity(1);
  const PacketBody body = SignedBody(origin);
  EXPECT_TRUE(VerifyPacketSignature(body));
  // Signing is deterministic (Ed25519): the same body signs to the same bytes.
  EXPECT_EQ(SignedBody(origin).signature, body.signature);
}

TEST(Packet, SignFillsThePayloadHash) {
  const Identity origin = MakeIdentity(1);
  PacketBody body = UnsignedBody(origin);
  body.payload = "abc";
  SignPacket(body, origin);
  // SHA-256("abc"), FIPS 180-2 appendix B.1.
  const std::array<uint8_t, 32> expected = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
                                            0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
                                            0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
                                            0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
  EXPECT_EQ(body.payload_hash, expected);
  EXPECT_TRUE(VerifyPacketSignature(body));
}

TEST(Packet, TamperedPayloadFailsOnTheHash) {
  const Identity origin = MakeIdentity(1);
  PacketBody body = SignedBody(origin);
  body.payload[2] = 'T';
  EXPECT_FALSE(VerifyPacketSignature(body));
}

TEST(Packet, TamperedPayloadWithRecomputedHashFailsOnTheSignature) {
  const Identity origin = MakeIdentity(1);
  const Identity forger = MakeIdentity(2);
  PacketBody body = SignedBody(origin);
  body.payload = R"({"threat":"none"})";
  // The forger can recompute the hash (SignPacket does so) but only sign with its own key.
  PacketBody resigned = body;
  resigned.id.origin = forger.id();
  SignPacket(resigned, forger);
  body.payload_hash = resigned.payload_hash;
  EXPECT_FALSE(VerifyPacketSignature(body));
  // Splicing the forger's signature in does not help either: it covers another origin.
  body.signature = resigned.signature;
  EXPECT_FALSE(VerifyPacketSignature(body));
}

TEST(Packet, WrongSignerFails) {
  const Identity origin = MakeIdentity(1);
  const Identity other = MakeIdentity(2);
  PacketBody body = SignedBody(origin);
  body.id.origin = other.id();
  EXPECT_FALSE(VerifyPacketSignature(body));
  // A body signed by `other` with `origin` claimed as its origin (SignPacket forbids this, so the
  // signature is made by hand) fails as well.
  PacketBody claimed = SignedBody(origin);
  const std::string canonical = claimed.CanonicalBytes();
  claimed.signature = other.Sign(std::span<const uint8_t>(
      reinterpret_cast<const uint8_t*>(canonical.data()), canonical.size()));
  EXPECT_FALSE(VerifyPacketSignature(claimed));
}

TEST(Packet, AnyChangedFieldFails) {
  const Identity origin = MakeIdentity(1);
  const PacketBody signed_body = SignedBody(origin);
  for (const auto& [field, change] : FieldChanges()) {
    PacketBody body = signed_body;
    change(body);
    EXPECT_FALSE(VerifyPacketSignature(body)) << field;
  }
  PacketBody body = signed_body;
  body.signature[63] ^= 1;
  EXPECT_FALSE(VerifyPacketSignature(body)) << "signature";
}

TEST(Packet, CanonicalBytesAreDeterministicAndCoverEveryField) {
  const Identity origin = MakeIdentity(1);
  const PacketBody body = SignedBody(origin);
  const std::string canonical = body.CanonicalBytes();
  EXPECT_EQ(body.CanonicalBytes(), canonical);
  PacketBody copy = body;
  EXPECT_EQ(copy.CanonicalBytes(), canonical);
  // The signature is not part of what it signs.
  copy.signature.fill(0);
  EXPECT_EQ(copy.CanonicalBytes(), canonical);

  std::set<std::string> seen = {canonical};
  for (const auto& [field, change] : FieldChanges()) {
    PacketBody changed = body;
    change(changed);
    const std::string bytes = changed.CanonicalBytes();
    EXPECT_NE(bytes, canonical) << field;
    EXPECT_TRUE(seen.insert(bytes).second) << field << " collides with another change";
  }
  // Bytes moved between adjacent text fields change the encoding (length prefixes).
  PacketBody shifted = body;
  shifted.selector = {"computeg", "pu_inference"};
  EXPECT_NE(shifted.CanonicalBytes(), canonical);
  // The domain comes first, so these bytes cannot be mistaken for another signed structure.
  EXPECT_EQ(canonical.substr(4, 14), "myco.packet.v1");
}

std::string Hex(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (const char c : bytes) {
    hex += kDigits[static_cast<uint8_t>(c) >> 4];
    hex += kDigits[static_cast<uint8_t>(c) & 0xf];
  }
  return hex;
}

TEST(Packet, CanonicalBytesAreFrozen) {
  // Nodes of every version must agree on what was signed. The expected bytes were written from
  // canonical.hpp's layout by an independent encoder. If this fails, the layout changed: bump the
  // domain ("myco.packet.v2") rather than silently invalidating every signature in flight.
  PacketBody body;
  body.id = {SomeNode(0xaa), 2};
  body.information_type = "x";
  body.created_at_ms = -1;
  body.ttl_max = 3;
  body.priority = 1.0;
  body.mode = PropagationMode::kGradient;
  body.payload = "{}";
  EXPECT_EQ(Hex(body.CanonicalBytes()),
            "0000000e"  // domain length
            "6d79636f2e7061636b65742e7631"
            "0100000020"  // origin: tag 1, length 32
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            "020000000000000002"  // seq
            "030000000178"        // information_type "x"
            "04ffffffffffffffff"  // created_at_ms -1
            "0500000003"          // ttl_max
            "063ff0000000000000"  // priority 1.0
            "0704"                // mode kGradient
            "0800000000"          // no destinations
            "0a00000000"          // selector.node_type ""
            "0b00000000"          // selector.specialization ""
            "0c00"                // rules.follow_gradient
            "0d00"                // rules.resource
            "0e0000000000000000"  // rules.amount_min 0.0
            "0f00"                // rules.prefer_specialists
            "10bff0000000000000"  // rules.max_cost -1.0
            "11000000027b7d"      // payload "{}"
            "1200000020"          // payload_hash (unsigned: zeros)
            "0000000000000000000000000000000000000000000000000000000000000000");
}

TEST(Packet, SignatureSurvivesTheWireCodec) {
  const Identity origin = MakeIdentity(1);
  // Edge values that a lossy codec would alter: -0.0, the smallest subnormal, extreme times.
  PacketBody body = UnsignedBody(origin);
  body.priority = -0.0;
  body.rules.amount_min = 4.9e-324;
  body.created_at_ms = std::numeric_limits<int64_t>::min();
  body.id.seq = UINT64_MAX;
  for (const bool with_selector : {true, false}) {
    if (!with_selector) body.selector = {};
    SignPacket(body, origin);
    const auto shared = std::make_shared<const PacketBody>(body);
    auto decoded =
        DecodeMessage(EncodeMessage(PacketMsg{shared, 4, 1, {origin.id(), SomeNode(7)}}));
    ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
    const auto& packet = std::get<PacketMsg>(*decoded);
    ASSERT_NE(packet.body, nullptr);
    EXPECT_EQ(packet.body->CanonicalBytes(), body.CanonicalBytes());
    EXPECT_TRUE(VerifyPacketSignature(*packet.body));
    EXPECT_EQ(packet.ttl, 4u);
    EXPECT_EQ(packet.hops, 1u);
  }
}

TEST(Packet, TamperingOnTheWireFails) {
  const Identity origin = MakeIdentity(1);
  const auto body = std::make_shared<const PacketBody>(SignedBody(origin));
  const std::string bytes = EncodeMessage(PacketMsg{body, 4, 1, {}});
  const size_t payload_at = bytes.find("port_scan");
  ASSERT_NE(payload_at, std::string::npos);
  std::string tampered = bytes;
  tampered[payload_at] = 'P';
  auto decoded = DecodeMessage(tampered);
  ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();  // well-formed, but...
  EXPECT_FALSE(VerifyPacketSignature(*std::get<PacketMsg>(*decoded).body));
}

TEST(Packet, Names) {
  EXPECT_STREQ(PropagationModeName(PropagationMode::kBroadcast), "broadcast");
  EXPECT_STREQ(PropagationModeName(PropagationMode::kAck), "ack");
  EXPECT_STREQ(PropagationModeName(static_cast<PropagationMode>(42)), "unknown");

  const char* const names[] = {"COMPUTATIONAL_POWER", "MEMORY_CAPACITY",      "KNOWLEDGE_BASE",
                               "PROCESSING_QUEUE",    "CONSCIOUSNESS_STATE",  "LEARNED_PATTERNS",
                               "THREAT_INTELLIGENCE", "OPTIMIZATION_INSIGHTS"};
  static_assert(std::size(names) == kResourceTypeCount);
  for (size_t i = 0; i < kResourceTypeCount; ++i) {
    const auto type = static_cast<ResourceType>(i);
    EXPECT_STREQ(ResourceTypeName(type), names[i]);
    auto parsed = ParseResourceType(names[i]);
    ASSERT_TRUE(parsed.ok()) << names[i];
    EXPECT_EQ(*parsed, type);
    std::string lower = names[i];
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    parsed = ParseResourceType(lower);
    ASSERT_TRUE(parsed.ok()) << lower;
    EXPECT_EQ(*parsed, type);
  }
  EXPECT_STREQ(ResourceTypeName(static_cast<ResourceType>(8)), "UNKNOWN");
  auto mixed = ParseResourceType("Threat_Intelligence");
  ASSERT_TRUE(mixed.ok());
  EXPECT_EQ(*mixed, ResourceType::kThreatIntelligence);
  for (const char* bad : {"", "cpu", "COMPUTATIONAL POWER", "computational_power ", "MEMORY"}) {
    auto parsed = ParseResourceType(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(parsed.error().message.find("MEMORY_CAPACITY"), std::string::npos);
  }
}

TEST(Packet, IdToString) {
  const PacketId id{SomeNode(0xab), 0x1f};
  EXPECT_EQ(id.ToString(), "abababab:000000000000001f");
  EXPECT_NE(PacketIdHash{}(id), PacketIdHash{}(PacketId{id.origin, 0x20}));
}

}  // namespace
}  // namespace myco
