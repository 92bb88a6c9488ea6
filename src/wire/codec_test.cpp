// The codec: round trips of every message type, the size estimate, every rejection naming its
// field, and seeded fuzzing (random bytes and mutated valid encodings).
#include "wire/codec.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "myco/identity.hpp"
#include "myco/rng.hpp"
#include "wire/frame.hpp"
#include "wire/myco.pb.h"

namespace myco {
namespace {

uint64_t TestSeed() {
  const char* env = std::getenv("MYCO_WIRE_SEED");
  return env != nullptr ? std::strtoull(env, nullptr, 10) : 20240611;
}

// ---- message builders ----

NodeId RandomId(Rng& rng) {
  NodeId id;
  for (auto& b : id.bytes) b = static_cast<uint8_t>(rng.Uniform(256));
  return id;
}

std::shared_ptr<const NodeInfo> RealisticInfo(Rng& rng) {
  auto info = std::make_shared<NodeInfo>();
  info->id = RandomId(rng);
  info->name = "genesis_prime_node_" + std::to_string(rng.Uniform(10000));
  info->node_type = "compute";
  info->location = {"eu-west", "eu-west-1a"};
  info->cpu_capacity = 16;
  info->memory_capacity = 64.5;
  info->knowledge_capacity = 1000;
  info->max_connections = 100;
  info->specializations = {"gpu_inference", "storage", "weather_models"};
  info->interests = {"climate", "genomics"};
  info->listen_addresses = {"10.0.3.17:7946", "[2001:db8::17]:7946"};
  return info;
}

PeerRecord RealisticPeer(Rng& rng) {
  return {
      RandomId(rng),
      "10.0." + std::to_string(rng.Uniform(256)) + "." + std::to_string(rng.Uniform(256)) + ":7946",
      static_cast<uint32_t>(1 + rng.Uniform(40))};
}

std::vector<PeerRecord> RealisticPeers(Rng& rng, size_t count) {
  std::vector<PeerRecord> peers;
  for (size_t i = 0; i < count; ++i) peers.push_back(RealisticPeer(rng));
  return peers;
}

// A packet as Propagation publishes it: a JSON payload, signed by a real key.
std::shared_ptr<const PacketBody> RealisticPacketBody(Rng& rng, PropagationMode mode) {
  std::array<uint8_t, 32> seed{};
  for (auto& b : seed) b = static_cast<uint8_t>(rng.Uniform(256));
  auto identity = Identity::FromSeed(seed);
  EXPECT_TRUE(identity.ok());
  PacketBody body;
  body.id = {identity->id(), rng.Next()};
  body.information_type = "threat_alert";
  body.created_at_ms = 1'718'000'000'000 + static_cast<int64_t>(rng.Uniform(1'000'000));
  body.ttl_max = 15;
  body.priority = 0.9;
  body.mode = mode;
  if (mode == PropagationMode::kTargeted) body.destinations = {RandomId(rng)};
  if (mode == PropagationMode::kGradient) {
    body.rules = {true, ResourceType::kMemoryCapacity, 32, true, 2.5};
    body.selector = {"compute", "gpu_inference"};
  }
  body.payload = R"({"threat":"port_scan","source":"10.0.3.99","confidence":0.87})";
  SignPacket(body, *identity);
  return std::make_shared<const PacketBody>(std::move(body));
}

std::vector<NodeId> RandomIds(Rng& rng, size_t count) {
  std::vector<NodeId> ids(count);
  for (auto& id : ids) id = RandomId(rng);
  return ids;
}

// One or more realistic instances of every message type, as the topology protocol sends them.
std::vector<Message> RealisticMessages(Rng& rng) {
  std::vector<Message> messages;
  for (auto intent : {HelloIntent::kJoin, HelloIntent::kNeighbor, HelloIntent::kAccept,
                      HelloIntent::kAcceptJoin}) {
    Hello hello{RealisticInfo(rng), intent, static_cast<uint32_t>(rng.Uniform(50))};
    messages.emplace_back(std::move(hello));
  }
  messages.push_back(PeerExchange{RealisticPeers(rng, 8), true});
  messages.push_back(PeerExchange{RealisticPeers(rng, 8), false});
  messages.push_back(Ping{rng.Next() >> 40, -1});
  messages.push_back(Ping{12345, 850});
  messages.push_back(Pong{12345});
  messages.push_back(
      Disconnect{DisconnectReason::kFull, "at max_connections (100)", RealisticPeers(rng, 5)});
  messages.push_back(Disconnect{DisconnectReason::kShutdown, "", {}});
  messages.push_back(Disconnect{DisconnectReason::kProtocol, "bad frame: envelope.body", {}});
  messages.push_back(Walk{RandomId(rng), "10.0.3.17:7946", 6, 8});
  std::vector<NodeId> neighbours;
  for (int i = 0; i < 6; ++i) neighbours.push_back(RandomId(rng));
  messages.push_back(NeighbourList{RandomId(rng), 42, 16, neighbours});

  messages.push_back(PacketMsg{RealisticPacketBody(rng, PropagationMode::kBroadcast), 14, 1, {}});
  messages.push_back(PacketMsg{RealisticPacketBody(rng, PropagationMode::kBroadcast), 14, 3,
                               RandomIds(rng, 2), rng.Next()});
  messages.push_back(PacketMsg{
      RealisticPacketBody(rng, PropagationMode::kBroadcast), 14, 3, {}, 0, rng.Next() | 1});
  auto targeted = RealisticPacketBody(rng, PropagationMode::kTargeted);
  std::vector<NodeId> route = RandomIds(rng, 4);
  route.front() = targeted->id.origin;
  route.back() = targeted->destinations.front();
  messages.push_back(PacketMsg{targeted, 12, 2, route});
  auto gradient = RealisticPacketBody(rng, PropagationMode::kGradient);
  messages.push_back(PacketMsg{gradient, 10, 3, {gradient->id.origin, RandomId(rng)}});
  IHave ihave;
  for (int i = 0; i < 20; ++i) {
    ihave.entries.push_back({{RandomId(rng), rng.Next()}, static_cast<uint32_t>(rng.Uniform(8))});
  }
  messages.push_back(std::move(ihave));
  messages.push_back(Graft{{{RandomId(rng), rng.Next()}, {RandomId(rng), rng.Next()}}});
  messages.push_back(Prune{});
  GradientUpdate update;
  for (size_t t = 0; t < kResourceTypeCount; ++t) {
    update.entries.push_back({static_cast<ResourceType>(t), rng.UniformDouble() * 100,
                              static_cast<uint32_t>(rng.Uniform(9))});
  }
  messages.push_back(std::move(update));
  messages.push_back(GradientUpdate{});
  TreeBeacon beacon;
  beacon.degree_rank = 5;
  beacon.trees.push_back(TreeRecord{RandomId(rng), 7, rng.Next(), 12, true, 3, 9});
  beacon.trees.push_back(TreeRecord{RandomId(rng), 0, 1, 0});
  messages.push_back(beacon);
  beacon.trees.resize(TreeBeacon::kTreesMax, beacon.trees.back());
  messages.push_back(std::move(beacon));
  messages.push_back(TreeBeacon{});
  return messages;
}

std::string RandomText(Rng& rng, size_t bytes_max) {
  static const char* const kPieces[] = {"a", "Z", "9", ":", " ", "é", "東", "😀", "\x7f"};
  std::string text;
  const size_t length = rng.Uniform(bytes_max + 1);
  while (true) {
    const char* piece = kPieces[rng.Uniform(std::size(kPieces))];
    if (text.size() + std::strlen(piece) > length) break;
    text += piece;
  }
  return text;
}

std::vector<std::string> RandomTexts(Rng& rng) {
  std::vector<std::string> texts(rng.Uniform(5));
  for (auto& t : texts) t = RandomText(rng, 40);
  return texts;
}

std::string RandomBytes(Rng& rng, size_t count) {
  std::string bytes(count, '\0');
  for (auto& b : bytes) b = static_cast<char>(rng.Uniform(256));
  return bytes;
}

// Any valid packet body, not signed (the codec does not verify), with edge values common.
std::shared_ptr<const PacketBody> RandomPacketBody(Rng& rng) {
  auto pick = [&](std::initializer_list<double> values) {
    return values.begin()[rng.Uniform(values.size())];
  };
  PacketBody body;
  body.id = {RandomId(rng), rng.Bernoulli(0.2) ? 0 : rng.Next() >> rng.Uniform(64)};
  body.information_type = RandomText(rng, rng.Bernoulli(0.1) ? kTextBytesMax : 20);
  const int64_t times[] = {0,
                           -1,
                           1,
                           std::numeric_limits<int64_t>::min(),
                           std::numeric_limits<int64_t>::max(),
                           1'718'000'000'000};
  body.created_at_ms = times[rng.Uniform(std::size(times))];
  body.ttl_max = static_cast<uint32_t>(rng.Uniform(kHopsMax + 1));
  body.priority = pick({0.0, -0.0, 1.0, 0.5, 4.9e-324, rng.UniformDouble()});
  body.mode = static_cast<PropagationMode>(rng.Uniform(6));
  body.destinations = RandomIds(rng, rng.Uniform(4));
  if (rng.Bernoulli(0.5)) body.selector = {RandomText(rng, 12), RandomText(rng, 12)};
  body.rules.follow_gradient = rng.Bernoulli(0.5);
  body.rules.resource = static_cast<ResourceType>(rng.Uniform(kResourceTypeCount));
  body.rules.amount_min = pick({0.0, -0.0, 1.5, 1e300, 4.9e-324});
  body.rules.prefer_specialists = rng.Bernoulli(0.5);
  body.rules.max_cost = pick({-1.0, 0.0, -0.0, 7.25, 1e300});
  // Payload bytes need not be UTF-8: the hash, not the codec, vouches for them.
  body.payload = RandomBytes(rng, rng.Bernoulli(0.01) ? kPayloadBytesMax : rng.Uniform(300));
  for (auto& b : body.payload_hash) b = static_cast<uint8_t>(rng.Uniform(256));
  for (auto& b : body.signature) b = static_cast<uint8_t>(rng.Uniform(256));
  return std::make_shared<const PacketBody>(std::move(body));
}

// Any valid message, with edge values (zeros, maxima, empty strings) common, for properties that
// must hold beyond the realistic cases.
Message RandomValidMessage(Rng& rng) {
  auto u32 = [&] {
    return static_cast<uint32_t>(rng.Bernoulli(0.3) ? 0 : rng.Next() >> rng.Uniform(64));
  };
  auto u64 = [&] { return rng.Bernoulli(0.3) ? 0 : rng.Next() >> rng.Uniform(64); };
  auto hops = [&] { return static_cast<uint32_t>(rng.Uniform(kHopsMax + 1)); };
  auto peers = [&] {
    std::vector<PeerRecord> out(rng.Uniform(6));
    for (auto& p : out) p = {RandomId(rng), RandomText(rng, 30), u32()};
    return out;
  };
  auto packet_id = [&] {
    return PacketId{RandomId(rng), rng.Bernoulli(0.2) ? 0 : rng.Next() >> rng.Uniform(64)};
  };
  switch (rng.Uniform(12)) {
    case 0: {
      auto info = std::make_shared<NodeInfo>();
      info->id = RandomId(rng);
      info->name = RandomText(rng, kTextBytesMax);
      info->node_type = RandomText(rng, 10);
      info->location = {RandomText(rng, 10), RandomText(rng, 10)};
      const double capacities[] = {0.0, -0.0, 1.5, 1e300, 4.9e-324};
      info->cpu_capacity = capacities[rng.Uniform(5)];
      info->memory_capacity = capacities[rng.Uniform(5)];
      info->knowledge_capacity = rng.UniformDouble() * 1e6;
      info->max_connections = u32();
      info->specializations = RandomTexts(rng);
      info->interests = RandomTexts(rng);
      info->listen_addresses = RandomTexts(rng);
      info->protocol_version = 1 + static_cast<uint32_t>(rng.Uniform(1000));
      return Hello{info, static_cast<HelloIntent>(rng.Uniform(4)), u32()};
    }
    case 1: return PeerExchange{peers(), rng.Bernoulli(0.5)};
    case 2: {
      const int64_t rtts[] = {-1, 0, 1, 63, 64, std::numeric_limits<int64_t>::max()};
      return Ping{u64(), rtts[rng.Uniform(6)]};
    }
    case 3: return Pong{u64()};
    case 4:
      return Disconnect{static_cast<DisconnectReason>(rng.Uniform(7)),
                        RandomText(rng, kDetailBytesMax), peers()};
    case 5: return Walk{RandomId(rng), RandomText(rng, 40), hops(), hops()};
    case 6: {
      std::vector<NodeId> neighbours(rng.Uniform(20));
      for (auto& id : neighbours) id = RandomId(rng);
      return NeighbourList{RandomId(rng), u64(), hops(), neighbours};
    }
    case 7: return PacketMsg{RandomPacketBody(rng), hops(), hops(), RandomIds(rng, rng.Uniform(6))};
    case 8: {
      IHave ihave;
      ihave.entries.resize(rng.Uniform(20));
      for (auto& entry : ihave.entries) entry = {packet_id(), hops()};
      return ihave;
    }
    case 9: {
      Graft graft;
      graft.ids.resize(rng.Uniform(5));
      for (auto& id : graft.ids) id = packet_id();
      return graft;
    }
    case 10: return Prune{};
    default: {
      // Distinct types in a random order: a prefix of a shuffled list of all of them.
      std::vector<ResourceType> types;
      for (size_t t = 0; t < kResourceTypeCount; ++t) types.push_back(static_cast<ResourceType>(t));
      for (size_t i = types.size() - 1; i > 0; --i) std::swap(types[i], types[rng.Uniform(i + 1)]);
      GradientUpdate update;
      update.entries.resize(rng.Uniform(kResourceTypeCount + 1));
      for (size_t i = 0; i < update.entries.size(); ++i) {
        const double amounts[] = {0.0, -0.0, 1.0, 1e300, rng.UniformDouble() * 1e3};
        update.entries[i] = {types[i], amounts[rng.Uniform(std::size(amounts))], hops()};
      }
      return update;
    }
  }
}

// ---- equality (messages.hpp defines none; Hello holds its info by pointer) ----

bool SameBits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

bool SameInfo(const NodeInfo& a, const NodeInfo& b) {
  return a.id == b.id && a.name == b.name && a.node_type == b.node_type &&
         a.location.region == b.location.region && a.location.datacenter == b.location.datacenter &&
         SameBits(a.cpu_capacity, b.cpu_capacity) &&
         SameBits(a.memory_capacity, b.memory_capacity) &&
         SameBits(a.knowledge_capacity, b.knowledge_capacity) &&
         a.max_connections == b.max_connections && a.specializations == b.specializations &&
         a.interests == b.interests && a.listen_addresses == b.listen_addresses &&
         a.protocol_version == b.protocol_version;
}

// Bit-exact: the canonical bytes hold every field but the signature, doubles by their bits.
bool SameBody(const PacketBody& a, const PacketBody& b) {
  return a == b && a.CanonicalBytes() == b.CanonicalBytes() && a.signature == b.signature;
}

bool SameGradientEntries(const std::vector<GradientEntry>& a, const std::vector<GradientEntry>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].type != b[i].type || !SameBits(a[i].amount, b[i].amount) || a[i].hops != b[i].hops) {
      return false;
    }
  }
  return true;
}

struct SameAs {
  const Message& other;

  bool operator()(const Hello& a) const {
    const auto& b = std::get<Hello>(other);
    if (!a.info || !b.info) return a.info == b.info;
    return SameInfo(*a.info, *b.info) && a.intent == b.intent && a.degree == b.degree;
  }
  bool operator()(const PeerExchange& a) const {
    const auto& b = std::get<PeerExchange>(other);
    return a.peers == b.peers && a.reply_wanted == b.reply_wanted;
  }
  bool operator()(const Ping& a) const {
    const auto& b = std::get<Ping>(other);
    return a.seq == b.seq && a.rtt_us == b.rtt_us;
  }
  bool operator()(const Pong& a) const { return a.seq == std::get<Pong>(other).seq; }
  bool operator()(const Disconnect& a) const {
    const auto& b = std::get<Disconnect>(other);
    return a.reason == b.reason && a.detail == b.detail && a.alternatives == b.alternatives;
  }
  bool operator()(const Walk& a) const {
    const auto& b = std::get<Walk>(other);
    return a.origin == b.origin && a.origin_address == b.origin_address && a.ttl == b.ttl &&
           a.extensions_left == b.extensions_left;
  }
  bool operator()(const NeighbourList& a) const {
    const auto& b = std::get<NeighbourList>(other);
    return a.origin == b.origin && a.version == b.version && a.hops_left == b.hops_left &&
           a.neighbours == b.neighbours;
  }
  bool operator()(const PacketMsg& a) const {
    const auto& b = std::get<PacketMsg>(other);
    if (!a.body || !b.body) return a.body == b.body;
    return SameBody(*a.body, *b.body) && a.ttl == b.ttl && a.hops == b.hops && a.route == b.route &&
           a.route_weight == b.route_weight && a.tree == b.tree;
  }
  bool operator()(const IHave& a) const { return a.entries == std::get<IHave>(other).entries; }
  bool operator()(const Graft& a) const { return a.ids == std::get<Graft>(other).ids; }
  bool operator()(const Prune&) const { return true; }
  bool operator()(const GradientUpdate& a) const {
    return SameGradientEntries(a.entries, std::get<GradientUpdate>(other).entries);
  }
  bool operator()(const TreeBeacon& a) const { return a == std::get<TreeBeacon>(other); }
};

bool SameMessage(const Message& a, const Message& b) {
  return a.index() == b.index() && std::visit(SameAs{b}, a);
}

// ---- helpers for hand-made invalid encodings ----

wire::Envelope ToEnvelope(const Message& message) {
  wire::Envelope envelope;
  EXPECT_TRUE(envelope.ParseFromString(EncodeMessage(message)));
  return envelope;
}

// Decodes `envelope`, expects rejection with `code`, and returns the error message.
std::string ExpectRejected(const wire::Envelope& envelope, ErrorCode code) {
  auto decoded = DecodeMessage(envelope.SerializeAsString());
  EXPECT_FALSE(decoded.ok());
  if (decoded.ok()) return "";
  EXPECT_EQ(decoded.error().code, code) << decoded.error().ToString();
  return decoded.error().message;
}

#define EXPECT_REJECTS(envelope, code, field)                                  \
  do {                                                                         \
    const std::string message_ = ExpectRejected(envelope, code);               \
    EXPECT_NE(message_.find(field), std::string::npos) << "got: " << message_; \
  } while (0)

Hello SomeHello() {
  Rng rng(1);
  return Hello{RealisticInfo(rng), HelloIntent::kNeighbor, 3};
}

// ---- round trips ----

TEST(Codec, EveryMessageTypeRoundTrips) {
  Rng rng(TestSeed());
  const auto messages = RealisticMessages(rng);
  std::vector<bool> seen(std::variant_size_v<Message>);
  for (const auto& message : messages) {
    SCOPED_TRACE(MessageName(message));
    seen[message.index()] = true;
    ASSERT_TRUE(ValidateMessage(message).ok());
    auto decoded = DecodeMessage(EncodeMessage(message));
    ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
    EXPECT_TRUE(SameMessage(*decoded, message));
  }
  for (size_t i = 0; i < seen.size(); ++i) EXPECT_TRUE(seen[i]) << "type index " << i;
}

TEST(Codec, FramesRoundTripThroughTheFrameDecoder) {
  Rng rng(TestSeed());
  const auto messages = RealisticMessages(rng);
  std::string stream;
  for (const auto& message : messages) AppendMessageFrame(stream, message);
  FrameDecoder decoder;
  // One byte at a time: every message is cut at every possible point on the way.
  size_t decoded_count = 0;
  for (char byte : stream) {
    ASSERT_EQ(decoder.Feed(std::string_view(&byte, 1)), 1u);
    auto next = decoder.Next();
    ASSERT_TRUE(next.ok()) << next.error().ToString();
    if (!next->has_value()) continue;
    auto message = DecodeMessage(**next);
    ASSERT_TRUE(message.ok()) << message.error().ToString();
    ASSERT_LT(decoded_count, messages.size());
    EXPECT_TRUE(SameMessage(*message, messages[decoded_count]));
    ++decoded_count;
  }
  EXPECT_EQ(decoded_count, messages.size());
}

TEST(Codec, EncodeFrameIsTheFramedEncoding) {
  Rng rng(7);
  for (const auto& message : RealisticMessages(rng)) {
    std::string expected;
    AppendFrame(expected, EncodeMessage(message));
    EXPECT_EQ(EncodeFrame(message), expected) << MessageName(message);
  }
}

TEST(Codec, RandomValidMessagesRoundTrip) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  Rng rng(seed);
  for (int i = 0; i < 3000; ++i) {
    const Message message = RandomValidMessage(rng);
    ASSERT_TRUE(ValidateMessage(message).ok()) << "case " << i;
    auto decoded = DecodeMessage(EncodeMessage(message));
    ASSERT_TRUE(decoded.ok()) << "case " << i << ": " << decoded.error().ToString();
    ASSERT_TRUE(SameMessage(*decoded, message)) << "case " << i << " " << MessageName(message);
  }
}

// ---- the simulator's size estimate ----

TEST(Codec, EstimateIsWithinAQuarterOfTheRealFrame) {
  Rng rng(TestSeed());
  for (const auto& message : RealisticMessages(rng)) {
    const double real = static_cast<double>(EncodeFrame(message).size());
    const double estimate = EstimatedWireBytes(message);
    EXPECT_GE(estimate, 0.75 * real) << MessageName(message);
    EXPECT_LE(estimate, 1.25 * real) << MessageName(message);
  }
}

// Stronger than the contract: the estimate mirrors the schema exactly today. If this fails after
// a schema change, update src/core/messages.cpp (the simulator's bandwidth figures depend on it).
TEST(Codec, EstimateIsExactForTheCurrentSchema) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  Rng rng(seed);
  for (const auto& message : RealisticMessages(rng)) {
    EXPECT_EQ(EstimatedWireBytes(message), EncodeFrame(message).size()) << MessageName(message);
  }
  for (int i = 0; i < 3000; ++i) {
    const Message message = RandomValidMessage(rng);
    ASSERT_EQ(EstimatedWireBytes(message), EncodeFrame(message).size())
        << "case " << i << " " << MessageName(message);
  }
  // The largest messages the limits allow still fit a frame.
  PeerExchange pex;
  for (size_t i = 0; i < kPeerRecordsMax; ++i) {
    pex.peers.push_back({RandomId(rng), std::string(kTextBytesMax, 'a'), UINT32_MAX});
  }
  EXPECT_EQ(EstimatedWireBytes(pex), EncodeFrame(pex).size());
  EXPECT_LT(EstimatedWireBytes(pex), kFrameBytesMax);

  PacketBody body = *RandomPacketBody(rng);
  body.information_type = std::string(kTextBytesMax, 'i');
  body.destinations = RandomIds(rng, kDestinationsMax);
  body.selector = {std::string(kTextBytesMax, 'n'), std::string(kTextBytesMax, 's')};
  body.payload = RandomBytes(rng, kPayloadBytesMax);
  body.created_at_ms = std::numeric_limits<int64_t>::min();
  body.id.seq = UINT64_MAX;
  const PacketMsg packet{std::make_shared<const PacketBody>(std::move(body)), kHopsMax, kHopsMax,
                         RandomIds(rng, kRouteMax)};
  ASSERT_TRUE(ValidateMessage(packet).ok());
  EXPECT_EQ(EstimatedWireBytes(packet), EncodeFrame(packet).size());
  EXPECT_LT(EstimatedWireBytes(packet), kFrameBytesMax);

  IHave ihave;
  for (size_t i = 0; i < kPacketIdsMax; ++i)
    ihave.entries.push_back({{RandomId(rng), UINT64_MAX}, kHopsMax});
  EXPECT_EQ(EstimatedWireBytes(ihave), EncodeFrame(ihave).size());
  EXPECT_LT(EstimatedWireBytes(ihave), kFrameBytesMax);

  // Envelope field 16 takes a two-byte tag; the estimate must know.
  EXPECT_EQ(EstimatedWireBytes(GradientUpdate{}), EncodeFrame(GradientUpdate{}).size());
  EXPECT_EQ(EstimatedWireBytes(Prune{}), EncodeFrame(Prune{}).size());
}

// The simulator charges every hop of a packet the same bandwidth while ttl and hops stay small.
TEST(Codec, EstimateOfAPacketIsTheSameForEveryHop) {
  Rng rng(11);
  const auto body = RealisticPacketBody(rng, PropagationMode::kBroadcast);
  const uint32_t first = EstimatedWireBytes(PacketMsg{body, 15, 1, {}});
  // ttl and hops in [1, 127] take one varint byte each, so moving on one hop keeps the size.
  EXPECT_EQ(EstimatedWireBytes(PacketMsg{body, 14, 2, {}}), first);
  EXPECT_EQ(EstimatedWireBytes(PacketMsg{body, 1, 15, {}}), first);
  // The payload plus origin, hash and signature, plus a few dozen bytes of small fields.
  EXPECT_GT(first, body->payload.size() + 32 + 32 + 64);
  EXPECT_LT(first, body->payload.size() + 32 + 32 + 64 + 80);
}

// ---- rejections, each naming its field ----

TEST(Codec, RejectsWrongSizeNodeIds) {
  Rng rng(3);
  auto hello = ToEnvelope(SomeHello());
  hello.mutable_hello()->mutable_info()->mutable_id()->resize(31);
  EXPECT_REJECTS(hello, ErrorCode::kParse, "hello.info.id: 31 bytes, must be 32");

  auto pex = ToEnvelope(PeerExchange{RealisticPeers(rng, 4), false});
  pex.mutable_peer_exchange()->mutable_peers(2)->mutable_id()->append("x");
  EXPECT_REJECTS(pex, ErrorCode::kParse, "peer_exchange.peers[2].id: 33 bytes");

  auto disconnect = ToEnvelope(Disconnect{DisconnectReason::kFull, "", RealisticPeers(rng, 1)});
  disconnect.mutable_disconnect()->mutable_alternatives(0)->clear_id();
  EXPECT_REJECTS(disconnect, ErrorCode::kParse, "disconnect.alternatives[0].id: 0 bytes");

  auto walk = ToEnvelope(Walk{RandomId(rng), "a:1", 6, 0});
  walk.mutable_walk()->clear_origin();
  EXPECT_REJECTS(walk, ErrorCode::kParse, "walk.origin");

  auto list = ToEnvelope(NeighbourList{RandomId(rng), 1, 2, {RandomId(rng), RandomId(rng)}});
  list.mutable_neighbour_list()->mutable_neighbours(1)->resize(64);
  EXPECT_REJECTS(list, ErrorCode::kParse, "neighbour_list.neighbours[1]: 64 bytes");
  list = ToEnvelope(NeighbourList{RandomId(rng), 1, 2, {}});
  list.mutable_neighbour_list()->mutable_origin()->resize(8);
  EXPECT_REJECTS(list, ErrorCode::kParse, "neighbour_list.origin");
}

TEST(Codec, RejectsEmptyOrUnknownBody) {
  wire::Envelope empty;
  empty.set_version(kWireVersion);
  EXPECT_REJECTS(empty, ErrorCode::kParse, "envelope.body");

  // A body from a future schema (field 200) parses as an unknown field, so as no body.
  std::string future = empty.SerializeAsString();
  future += "\xc2\x0c\x02\x08\x01";  // field 200, length-delimited, 2 bytes
  auto decoded = DecodeMessage(future);
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.error().message.find("envelope.body"), std::string::npos);

  // An empty but present body is a valid message with default fields.
  wire::Envelope pong;
  pong.set_version(kWireVersion);
  pong.mutable_pong();
  auto ok = DecodeMessage(pong.SerializeAsString());
  ASSERT_TRUE(ok.ok()) << ok.error().ToString();
  EXPECT_EQ(std::get<Pong>(*ok).seq, 0u);
}

TEST(Codec, RejectsMissingAndUnknownVersions) {
  auto envelope = ToEnvelope(Pong{1});
  envelope.set_version(0);
  EXPECT_REJECTS(envelope, ErrorCode::kParse, "envelope.version: missing");
  envelope.set_version(2);
  EXPECT_REJECTS(envelope, ErrorCode::kParse, "envelope.version: 2 is not supported");
  envelope.set_version(UINT32_MAX);
  EXPECT_REJECTS(envelope, ErrorCode::kParse, "envelope.version");
}

TEST(Codec, RejectsEnumsOutOfRange) {
  auto hello = ToEnvelope(SomeHello());
  hello.mutable_hello()->set_intent(wire::HELLO_INTENT_UNSPECIFIED);
  EXPECT_REJECTS(hello, ErrorCode::kParse, "hello.intent: missing");
  hello.mutable_hello()->set_intent(static_cast<wire::HelloIntent>(5));
  EXPECT_REJECTS(hello, ErrorCode::kParse, "hello.intent: value 5 out of range");
  hello.mutable_hello()->set_intent(static_cast<wire::HelloIntent>(-7));
  EXPECT_REJECTS(hello, ErrorCode::kParse, "hello.intent: value -7 out of range");

  auto disconnect = ToEnvelope(Disconnect{});
  disconnect.mutable_disconnect()->set_reason(static_cast<wire::DisconnectReason>(8));
  EXPECT_REJECTS(disconnect, ErrorCode::kParse, "disconnect.reason: value 8 out of range");
  disconnect.mutable_disconnect()->set_reason(wire::DISCONNECT_REASON_JOIN_DONE);
  auto decoded = DecodeMessage(disconnect.SerializeAsString());
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(std::get<Disconnect>(*decoded).reason, DisconnectReason::kJoinDone);
}

TEST(Codec, RejectsTextOverItsBound) {
  auto hello = ToEnvelope(SomeHello());
  hello.mutable_hello()->mutable_info()->set_name(std::string(kTextBytesMax, 'n'));
  EXPECT_TRUE(DecodeMessage(hello.SerializeAsString()).ok());
  hello.mutable_hello()->mutable_info()->set_name(std::string(kTextBytesMax + 1, 'n'));
  EXPECT_REJECTS(hello, ErrorCode::kTooLarge, "hello.info.name: 257 bytes, max 256");

  hello = ToEnvelope(SomeHello());
  hello.mutable_hello()->mutable_info()->mutable_location()->set_datacenter(std::string(300, 'd'));
  EXPECT_REJECTS(hello, ErrorCode::kTooLarge, "hello.info.location.datacenter");

  hello = ToEnvelope(SomeHello());
  *hello.mutable_hello()->mutable_info()->mutable_listen_addresses(1) = std::string(257, 'a');
  EXPECT_REJECTS(hello, ErrorCode::kTooLarge, "hello.info.listen_addresses[1]: 257 bytes");

  Rng rng(5);
  auto walk = ToEnvelope(Walk{RandomId(rng), "", 1, 1});
  walk.mutable_walk()->set_origin_address(std::string(1000, 'w'));
  EXPECT_REJECTS(walk, ErrorCode::kTooLarge, "walk.origin_address");

  auto disconnect = ToEnvelope(Disconnect{});
  disconnect.mutable_disconnect()->set_detail(std::string(kDetailBytesMax + 1, '!'));
  EXPECT_REJECTS(disconnect, ErrorCode::kTooLarge, "disconnect.detail");
}

TEST(Codec, RejectsTreeBeaconsOverTheirBounds) {
  Rng rng(7);
  TreeBeacon full;
  full.trees.assign(TreeBeacon::kTreesMax, TreeRecord{RandomId(rng), 1, 2, 3});
  auto beacon = ToEnvelope(full);
  EXPECT_TRUE(DecodeMessage(beacon.SerializeAsString()).ok());
  *beacon.mutable_tree_beacon()->add_trees() = beacon.tree_beacon().trees(0);
  EXPECT_REJECTS(beacon, ErrorCode::kTooLarge, "tree_beacon.trees: 17");
  beacon = ToEnvelope(full);
  beacon.mutable_tree_beacon()->mutable_trees(2)->set_height(256);
  EXPECT_REJECTS(beacon, ErrorCode::kTooLarge, "tree_beacon.trees[2].height: 256, max 255");
  beacon = ToEnvelope(full);
  beacon.mutable_tree_beacon()->mutable_trees(1)->set_root("short");
  EXPECT_REJECTS(beacon, ErrorCode::kParse, "tree_beacon.trees[1].root");
}

TEST(Codec, RejectsInvalidUtf8) {
  Rng rng(6);
  auto pex = ToEnvelope(PeerExchange{RealisticPeers(rng, 1), false});
  const std::vector<std::string> bad = {
      "\xff",              // never valid
      "\xc0\xaf",          // overlong '/'
      "\xe0\x80\xaf",      // overlong '/'
      "\xed\xa0\x80",      // a UTF-16 surrogate
      "\xf4\x90\x80\x80",  // above U+10FFFF
      "\xe2\x82",          // truncated
      "ok\x80",            // stray continuation byte
  };
  for (const auto& text : bad) {
    pex.mutable_peer_exchange()->mutable_peers(0)->set_address(text);
    EXPECT_REJECTS(pex, ErrorCode::kParse, "peer_exchange.peers[0].address: not valid UTF-8");
  }
  for (const std::string good : {"Zürich:1", "東京:7946", "😀", "\x7f", ""}) {
    pex.mutable_peer_exchange()->mutable_peers(0)->set_address(good);
    EXPECT_TRUE(DecodeMessage(pex.SerializeAsString()).ok()) << good;
  }
}

TEST(Codec, RejectsListsOverTheirBound) {
  Rng rng(8);
  auto pex = ToEnvelope(PeerExchange{RealisticPeers(rng, kPeerRecordsMax), false});
  EXPECT_TRUE(DecodeMessage(pex.SerializeAsString()).ok());
  *pex.mutable_peer_exchange()->add_peers() = pex.peer_exchange().peers(0);
  EXPECT_REJECTS(pex, ErrorCode::kTooLarge, "peer_exchange.peers: 1025 entries, max 1024");

  auto disconnect =
      ToEnvelope(Disconnect{DisconnectReason::kFull, "", RealisticPeers(rng, kPeerRecordsMax + 1)});
  EXPECT_REJECTS(disconnect, ErrorCode::kTooLarge, "disconnect.alternatives: 1025 entries");

  auto list = ToEnvelope(NeighbourList{RandomId(rng), 1, 1, {}});
  for (size_t i = 0; i <= kNeighboursMax; ++i) list.mutable_neighbour_list()->add_neighbours();
  EXPECT_REJECTS(list, ErrorCode::kTooLarge, "neighbour_list.neighbours: 1025 entries");

  auto hello = ToEnvelope(SomeHello());
  auto* info = hello.mutable_hello()->mutable_info();
  for (size_t i = info->specializations_size(); i <= kNodeInfoListItemsMax; ++i) {
    info->add_specializations("x");
  }
  EXPECT_REJECTS(hello, ErrorCode::kTooLarge, "hello.info.specializations: 65 entries, max 64");
  hello = ToEnvelope(SomeHello());
  for (size_t i = 0; i <= kNodeInfoListItemsMax; ++i) {
    hello.mutable_hello()->mutable_info()->add_interests("y");
  }
  EXPECT_REJECTS(hello, ErrorCode::kTooLarge, "hello.info.interests");
}

TEST(Codec, RejectsHopCountsOverTheirBound) {
  Rng rng(9);
  auto walk = ToEnvelope(Walk{RandomId(rng), "a:1", kHopsMax, kHopsMax});
  EXPECT_TRUE(DecodeMessage(walk.SerializeAsString()).ok());
  walk.mutable_walk()->set_ttl(kHopsMax + 1);
  EXPECT_REJECTS(walk, ErrorCode::kTooLarge, "walk.ttl: 256, max 255");
  walk.mutable_walk()->set_ttl(1);
  walk.mutable_walk()->set_extensions_left(UINT32_MAX);
  EXPECT_REJECTS(walk, ErrorCode::kTooLarge, "walk.extensions_left");
  auto list = ToEnvelope(NeighbourList{RandomId(rng), 1, 1, {}});
  list.mutable_neighbour_list()->set_hops_left(1000);
  EXPECT_REJECTS(list, ErrorCode::kTooLarge, "neighbour_list.hops_left");
}

TEST(Codec, RejectsBadNumbersAndMissingInfo) {
  auto hello = ToEnvelope(SomeHello());
  hello.mutable_hello()->mutable_info()->set_cpu_capacity(std::nan(""));
  EXPECT_REJECTS(hello, ErrorCode::kParse, "hello.info.cpu_capacity: must be finite");
  hello.mutable_hello()->mutable_info()->set_cpu_capacity(1);
  hello.mutable_hello()->mutable_info()->set_memory_capacity(-1);
  EXPECT_REJECTS(hello, ErrorCode::kParse, "hello.info.memory_capacity");
  hello.mutable_hello()->mutable_info()->set_memory_capacity(1);
  hello.mutable_hello()->mutable_info()->set_knowledge_capacity(HUGE_VAL);
  EXPECT_REJECTS(hello, ErrorCode::kParse, "hello.info.knowledge_capacity");
  hello.mutable_hello()->mutable_info()->set_knowledge_capacity(1);
  hello.mutable_hello()->mutable_info()->set_protocol_version(0);
  EXPECT_REJECTS(hello, ErrorCode::kParse, "hello.info.protocol_version: missing");

  hello.mutable_hello()->clear_info();
  EXPECT_REJECTS(hello, ErrorCode::kParse, "hello.info: missing");
  EXPECT_FALSE(ValidateMessage(Hello{nullptr, HelloIntent::kJoin, 0}).ok());
  // Encoding a Hello without info does not crash; the receiver rejects it.
  EXPECT_FALSE(DecodeMessage(EncodeMessage(Hello{})).ok());

  auto ping = ToEnvelope(Ping{1, -1});
  ping.mutable_ping()->set_rtt_us(-2);
  EXPECT_REJECTS(ping, ErrorCode::kParse, "ping.rtt_us");
}

// ---- rejections of propagation messages ----

PacketMsg SomePacket() {
  Rng rng(12);
  auto body = RealisticPacketBody(rng, PropagationMode::kTargeted);
  return PacketMsg{body, 5, 1, {body->id.origin, body->destinations.front()}};
}

TEST(Codec, RejectsPacketsWithWrongSizeBytes) {
  auto packet = ToEnvelope(SomePacket());
  EXPECT_TRUE(DecodeMessage(packet.SerializeAsString()).ok());
  packet.mutable_packet()->mutable_body()->mutable_origin()->resize(31);
  EXPECT_REJECTS(packet, ErrorCode::kParse, "packet.body.origin: 31 bytes, must be 32");

  packet = ToEnvelope(SomePacket());
  packet.mutable_packet()->mutable_body()->mutable_destinations(0)->append("x");
  EXPECT_REJECTS(packet, ErrorCode::kParse, "packet.body.destinations[0]: 33 bytes");
  packet = ToEnvelope(SomePacket());
  packet.mutable_packet()->mutable_route(1)->clear();
  EXPECT_REJECTS(packet, ErrorCode::kParse, "packet.route[1]: 0 bytes, must be 32");

  packet = ToEnvelope(SomePacket());
  packet.mutable_packet()->mutable_body()->mutable_payload_hash()->resize(20);
  EXPECT_REJECTS(packet, ErrorCode::kParse, "packet.body.payload_hash: 20 bytes, must be 32");
  packet.mutable_packet()->mutable_body()->clear_payload_hash();
  EXPECT_REJECTS(packet, ErrorCode::kParse, "packet.body.payload_hash: 0 bytes");

  packet = ToEnvelope(SomePacket());
  packet.mutable_packet()->mutable_body()->mutable_signature()->resize(65);
  EXPECT_REJECTS(packet, ErrorCode::kParse, "packet.body.signature: 65 bytes, must be 64");
  packet.mutable_packet()->mutable_body()->clear_signature();
  EXPECT_REJECTS(packet, ErrorCode::kParse, "packet.body.signature: 0 bytes");

  Rng rng(13);
  auto ihave = ToEnvelope(IHave{{{{RandomId(rng), 1}, 1}, {{RandomId(rng), 2}, 1}}});
  ihave.mutable_ihave()->mutable_entries(1)->mutable_origin()->resize(16);
  EXPECT_REJECTS(ihave, ErrorCode::kParse, "ihave.entries[1].origin: 16 bytes");
  auto graft = ToEnvelope(Graft{{{RandomId(rng), 1}}});
  graft.mutable_graft()->mutable_ids(0)->clear_origin();
  EXPECT_REJECTS(graft, ErrorCode::kParse, "graft.ids[0].origin: 0 bytes");
}

TEST(Codec, RejectsPacketsWithoutBodyOrRules) {
  auto packet = ToEnvelope(SomePacket());
  packet.mutable_packet()->clear_body();
  EXPECT_REJECTS(packet, ErrorCode::kParse, "packet.body: missing");
  EXPECT_FALSE(ValidateMessage(PacketMsg{}).ok());
  // Encoding a packet without a body does not crash; the receiver rejects it.
  EXPECT_FALSE(DecodeMessage(EncodeMessage(PacketMsg{})).ok());

  packet = ToEnvelope(SomePacket());
  packet.mutable_packet()->mutable_body()->clear_rules();
  EXPECT_REJECTS(packet, ErrorCode::kParse, "packet.body.rules.resource: missing");
}

TEST(Codec, RejectsPacketEnumsOutOfRange) {
  auto packet = ToEnvelope(SomePacket());
  auto* body = packet.mutable_packet()->mutable_body();
  body->set_mode(wire::PROPAGATION_MODE_UNSPECIFIED);
  EXPECT_REJECTS(packet, ErrorCode::kParse, "packet.body.mode: missing");
  body->set_mode(static_cast<wire::PropagationMode>(7));
  EXPECT_REJECTS(packet, ErrorCode::kParse, "packet.body.mode: value 7 out of range");
  body->set_mode(wire::PROPAGATION_MODE_ACK);
  auto decoded = DecodeMessage(packet.SerializeAsString());
  ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
  EXPECT_EQ(std::get<PacketMsg>(*decoded).body->mode, PropagationMode::kAck);

  body->mutable_rules()->set_resource(static_cast<wire::ResourceType>(9));
  EXPECT_REJECTS(packet, ErrorCode::kParse, "packet.body.rules.resource: value 9 out of range");
  body->mutable_rules()->set_resource(wire::RESOURCE_TYPE_OPTIMIZATION_INSIGHTS);
  EXPECT_TRUE(DecodeMessage(packet.SerializeAsString()).ok());

  auto update = ToEnvelope(GradientUpdate{{{ResourceType::kKnowledgeBase, 1, 1}}});
  update.mutable_gradient_update()->mutable_entries(0)->set_type(wire::RESOURCE_TYPE_UNSPECIFIED);
  EXPECT_REJECTS(update, ErrorCode::kParse, "gradient_update.entries[0].type: missing");
  update.mutable_gradient_update()->mutable_entries(0)->set_type(
      static_cast<wire::ResourceType>(-1));
  EXPECT_REJECTS(update, ErrorCode::kParse, "gradient_update.entries[0].type: value -1");
}

TEST(Codec, RejectsPacketTextAndPayloadOverTheirBound) {
  auto packet = ToEnvelope(SomePacket());
  auto* body = packet.mutable_packet()->mutable_body();
  body->set_information_type(std::string(kTextBytesMax, 't'));
  EXPECT_TRUE(DecodeMessage(packet.SerializeAsString()).ok());
  body->set_information_type(std::string(kTextBytesMax + 1, 't'));
  EXPECT_REJECTS(packet, ErrorCode::kTooLarge, "packet.body.information_type: 257 bytes, max 256");
  body->set_information_type("ok\xc0\xaf");
  EXPECT_REJECTS(packet, ErrorCode::kParse, "packet.body.information_type: not valid UTF-8");
  body->set_information_type("threat_alert");

  body->mutable_selector()->set_node_type(std::string(300, 'n'));
  EXPECT_REJECTS(packet, ErrorCode::kTooLarge, "packet.body.selector.node_type");
  body->mutable_selector()->set_node_type("compute");
  body->mutable_selector()->set_specialization("\xff");
  EXPECT_REJECTS(packet, ErrorCode::kParse, "packet.body.selector.specialization: not valid");
  body->clear_selector();

  body->set_payload(std::string(kPayloadBytesMax, '\xff'));  // any bytes: not checked as text
  EXPECT_TRUE(DecodeMessage(packet.SerializeAsString()).ok());
  body->set_payload(std::string(kPayloadBytesMax + 1, ' '));
  EXPECT_REJECTS(packet, ErrorCode::kTooLarge, "packet.body.payload: 65537 bytes, max 65536");
}

TEST(Codec, RejectsPropagationListsOverTheirBound) {
  Rng rng(14);
  auto packet = ToEnvelope(SomePacket());
  auto* body = packet.mutable_packet()->mutable_body();
  while (body->destinations_size() < static_cast<int>(kDestinationsMax)) {
    body->add_destinations(std::string(32, 'd'));
  }
  EXPECT_TRUE(DecodeMessage(packet.SerializeAsString()).ok());
  body->add_destinations(std::string(32, 'd'));
  EXPECT_REJECTS(packet, ErrorCode::kTooLarge, "packet.body.destinations: 1025 entries, max 1024");

  packet = ToEnvelope(SomePacket());
  while (packet.packet().route_size() < static_cast<int>(kRouteMax)) {
    packet.mutable_packet()->add_route(std::string(32, 'r'));
  }
  EXPECT_TRUE(DecodeMessage(packet.SerializeAsString()).ok());
  packet.mutable_packet()->add_route(std::string(32, 'r'));
  EXPECT_REJECTS(packet, ErrorCode::kTooLarge, "packet.route: 257 entries, max 256");

  IHave ihave;
  for (size_t i = 0; i < kPacketIdsMax; ++i) ihave.entries.push_back({{RandomId(rng), i}, 1});
  auto ihave_envelope = ToEnvelope(ihave);
  EXPECT_TRUE(DecodeMessage(ihave_envelope.SerializeAsString()).ok());
  *ihave_envelope.mutable_ihave()->add_entries() = ihave_envelope.ihave().entries(0);
  EXPECT_REJECTS(ihave_envelope, ErrorCode::kTooLarge, "ihave.entries: 4097 entries, max 4096");
  ihave.entries.push_back({});
  EXPECT_FALSE(ValidateMessage(ihave).ok());

  Graft graft;
  for (size_t i = 0; i <= kPacketIdsMax; ++i) graft.ids.push_back({RandomId(rng), i});
  EXPECT_REJECTS(ToEnvelope(graft), ErrorCode::kTooLarge, "graft.ids: 4097 entries");

  GradientUpdate update;
  for (size_t t = 0; t <= kResourceTypeCount; ++t) {
    update.entries.push_back({static_cast<ResourceType>(t % kResourceTypeCount), 1, 1});
  }
  EXPECT_REJECTS(ToEnvelope(update), ErrorCode::kTooLarge, "gradient_update.entries: 9 entries");
  update.entries.resize(3);
  update.entries[2].type = update.entries[0].type;
  EXPECT_REJECTS(ToEnvelope(update), ErrorCode::kParse,
                 "gradient_update.entries[2].type: COMPUTATIONAL_POWER repeated");
}

TEST(Codec, RejectsPropagationHopCountsOverTheirBound) {
  auto packet = ToEnvelope(SomePacket());
  packet.mutable_packet()->set_ttl(kHopsMax);
  packet.mutable_packet()->set_hops(kHopsMax);
  packet.mutable_packet()->mutable_body()->set_ttl_max(kHopsMax);
  EXPECT_TRUE(DecodeMessage(packet.SerializeAsString()).ok());
  packet.mutable_packet()->set_ttl(kHopsMax + 1);
  EXPECT_REJECTS(packet, ErrorCode::kTooLarge, "packet.ttl: 256, max 255");
  packet.mutable_packet()->set_ttl(1);
  packet.mutable_packet()->set_hops(UINT32_MAX);
  EXPECT_REJECTS(packet, ErrorCode::kTooLarge, "packet.hops");
  packet.mutable_packet()->set_hops(1);
  packet.mutable_packet()->mutable_body()->set_ttl_max(1000);
  EXPECT_REJECTS(packet, ErrorCode::kTooLarge, "packet.body.ttl_max: 1000, max 255");

  Rng rng(15);
  auto ihave = ToEnvelope(IHave{{{{RandomId(rng), 1}, 1}, {{RandomId(rng), 2}, 1}}});
  ihave.mutable_ihave()->mutable_entries(1)->set_hops(256);
  EXPECT_REJECTS(ihave, ErrorCode::kTooLarge, "ihave.entries[1].hops: 256");
  auto update = ToEnvelope(GradientUpdate{{{ResourceType::kKnowledgeBase, 1, 1}}});
  update.mutable_gradient_update()->mutable_entries(0)->set_hops(300);
  EXPECT_REJECTS(update, ErrorCode::kTooLarge, "gradient_update.entries[0].hops: 300");
}

TEST(Codec, RejectsBadPacketNumbers) {
  auto packet = ToEnvelope(SomePacket());
  auto* body = packet.mutable_packet()->mutable_body();
  for (double bad : {std::nan(""), HUGE_VAL, -HUGE_VAL, -0.01, 1.0000001, 2.0}) {
    body->set_priority(bad);
    EXPECT_REJECTS(packet, ErrorCode::kParse, "packet.body.priority: must be finite, in [0, 1]");
  }
  for (double good : {0.0, -0.0, 1.0, 0.25}) {
    body->set_priority(good);
    EXPECT_TRUE(DecodeMessage(packet.SerializeAsString()).ok()) << good;
  }

  auto* rules = body->mutable_rules();
  for (double bad : {std::nan(""), HUGE_VAL, -1.0, -4.9e-324}) {
    rules->set_amount_min(bad);
    EXPECT_REJECTS(packet, ErrorCode::kParse, "packet.body.rules.amount_min: must be finite");
  }
  rules->set_amount_min(0);
  for (double bad : {std::nan(""), HUGE_VAL, -0.5, -2.0, -HUGE_VAL}) {
    rules->set_max_cost(bad);
    EXPECT_REJECTS(packet, ErrorCode::kParse, "packet.body.rules.max_cost");
  }
  for (double good : {-1.0, 0.0, 3.5}) {
    rules->set_max_cost(good);
    EXPECT_TRUE(DecodeMessage(packet.SerializeAsString()).ok()) << good;
  }

  auto update = ToEnvelope(GradientUpdate{{{ResourceType::kKnowledgeBase, 1, 1}}});
  for (double bad : {std::nan(""), HUGE_VAL, -3.0}) {
    update.mutable_gradient_update()->mutable_entries(0)->set_amount(bad);
    EXPECT_REJECTS(update, ErrorCode::kParse, "gradient_update.entries[0].amount: must be finite");
  }
}

// A decoded packet owns a fresh immutable body; re-encoding it gives back the same bytes.
TEST(Codec, DecodedPacketsShareNothingWithTheSender) {
  const PacketMsg sent = SomePacket();
  const std::string bytes = EncodeMessage(sent);
  auto decoded = DecodeMessage(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
  const auto& received = std::get<PacketMsg>(*decoded);
  ASSERT_NE(received.body, nullptr);
  EXPECT_NE(received.body.get(), sent.body.get());
  EXPECT_EQ(received.body.use_count(), 1);
  EXPECT_TRUE(SameBody(*received.body, *sent.body));
  EXPECT_EQ(EncodeMessage(*decoded), bytes);
}

TEST(Codec, RejectsMalformedProtobuf) {
  for (const std::string& bad :
       {std::string("\x08"), std::string("\x12\x05\x01"),
        std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"), std::string(1, '\0')}) {
    auto decoded = DecodeMessage(bad);
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.error().code, ErrorCode::kParse) << decoded.error().ToString();
  }
  EXPECT_FALSE(DecodeMessage("").ok());  // no version
}

TEST(Codec, Names) {
  EXPECT_STREQ(MessageName(Ping{}), "Ping");
  EXPECT_STREQ(MessageName(NeighbourList{}), "NeighbourList");
  EXPECT_STREQ(MessageName(PacketMsg{}), "Packet");
  EXPECT_STREQ(MessageName(IHave{}), "IHave");
  EXPECT_STREQ(MessageName(Graft{}), "Graft");
  EXPECT_STREQ(MessageName(Prune{}), "Prune");
  EXPECT_STREQ(MessageName(GradientUpdate{}), "GradientUpdate");
  EXPECT_STREQ(MessageName(TreeBeacon{}), "TreeBeacon");
  EXPECT_STREQ(DisconnectReasonName(DisconnectReason::kFull), "full");
  EXPECT_STREQ(DisconnectReasonName(DisconnectReason::kJoinDone), "join done");
  EXPECT_STREQ(DisconnectReasonName(static_cast<DisconnectReason>(99)), "unknown");
}

// ---- fuzzing ----

// Random bytes, half of them behind a valid version field and a known body tag, so the decoder's
// conversion and validation run as well as protobuf's parser.
TEST(Codec, RandomBytesNeverCrash) {
  const uint64_t seed = TestSeed();
  std::fprintf(stderr, "[ wire fuzz ] Codec.RandomBytesNeverCrash seed=%llu (MYCO_WIRE_SEED)\n",
               static_cast<unsigned long long>(seed));
  SCOPED_TRACE("seed=" + std::to_string(seed));
  Rng rng(seed);
  constexpr int kCases = 200000;
  int accepted = 0;
  std::string input;
  for (int i = 0; i < kCases; ++i) {
    input.clear();
    const size_t random_bytes = rng.Uniform(64);
    if (rng.Bernoulli(0.5)) {
      // Every Envelope body field, 16 included (a two-byte tag).
      constexpr uint32_t kBodyFields[] = {2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 16};
      const uint32_t tag = kBodyFields[rng.Uniform(std::size(kBodyFields))] << 3 | 2;
      input += '\x08';  // version = 1
      input += '\x01';
      if (tag < 0x80) {
        input += static_cast<char>(tag);
      } else {
        input += static_cast<char>(0x80 | (tag & 0x7f));
        input += static_cast<char>(tag >> 7);
      }
      input += static_cast<char>(random_bytes);
    }
    for (size_t k = 0; k < random_bytes; ++k) input += static_cast<char>(rng.Uniform(256));
    auto decoded = DecodeMessage(input);
    if (!decoded.ok()) {
      ASSERT_FALSE(decoded.error().message.empty()) << "case " << i;
      continue;
    }
    ++accepted;
    ASSERT_TRUE(ValidateMessage(*decoded).ok()) << "case " << i;
  }
  RecordProperty("accepted", accepted);
  EXPECT_GT(accepted, 0);
}

// Valid encodings with random damage; whatever still decodes must be a fixed point of the codec.
TEST(Codec, MutatedEncodingsNeverCrashAndSurvivorsReencode) {
  const uint64_t seed = TestSeed();
  std::fprintf(stderr, "[ wire fuzz ] Codec.MutatedEncodings seed=%llu (MYCO_WIRE_SEED)\n",
               static_cast<unsigned long long>(seed));
  SCOPED_TRACE("seed=" + std::to_string(seed));
  Rng rng(seed);
  std::vector<std::string> corpus;
  for (const auto& message : RealisticMessages(rng)) corpus.push_back(EncodeMessage(message));
  for (int i = 0; i < 200; ++i) corpus.push_back(EncodeMessage(RandomValidMessage(rng)));

  constexpr int kCases = 60000;
  int survivors = 0;
  for (int i = 0; i < kCases; ++i) {
    std::string bytes = corpus[rng.Uniform(corpus.size())];
    const int mutations = 1 + static_cast<int>(rng.Uniform(4));
    for (int m = 0; m < mutations && !bytes.empty(); ++m) {
      const size_t at = rng.Uniform(bytes.size());
      switch (rng.Uniform(4)) {
        case 0: bytes[at] = static_cast<char>(bytes[at] ^ (1 << rng.Uniform(8))); break;
        case 1: bytes[at] = static_cast<char>(rng.Uniform(256)); break;
        case 2: bytes.resize(at); break;
        default: bytes.insert(at, 1, static_cast<char>(rng.Uniform(256))); break;
      }
    }
    auto decoded = DecodeMessage(bytes);
    if (!decoded.ok()) continue;
    ++survivors;
    const std::string reencoded = EncodeMessage(*decoded);
    auto again = DecodeMessage(reencoded);
    ASSERT_TRUE(again.ok()) << "case " << i << ": " << again.error().ToString();
    ASSERT_TRUE(SameMessage(*again, *decoded)) << "case " << i;
    ASSERT_EQ(EncodeMessage(*again), reencoded) << "case " << i;
  }
  // Many single-bit flips land in payload bytes and survive; zero survivors would mean the
  // property above was never exercised.
  RecordProperty("survivors", survivors);
  EXPECT_GT(survivors, kCases / 20);
}

}  // namespace
}  // namespace myco
