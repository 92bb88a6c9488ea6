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
  switch (rng.Uniform(7)) {
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
    default: {
      std::vector<NodeId> neighbours(rng.Uniform(20));
      for (auto& id : neighbours) id = RandomId(rng);
      return NeighbourList{RandomId(rng), u64(), hops(), neighbours};
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
      const auto body_tag = static_cast<uint8_t>(((2 + rng.Uniform(7)) << 3) | 2);
      input += '\x08';  // version = 1
      input += '\x01';
      input += static_cast<char>(body_tag);
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
