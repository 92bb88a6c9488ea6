// Names of messages and reasons, and the simulator's size estimate of an encoded frame.
//
// EstimatedWireBytes mirrors the protobuf layout of src/wire/myco.proto by arithmetic alone (no
// allocation, no protobuf), so the simulator can account traffic per message at the cost of a
// few additions. It currently computes the exact frame size; codec_test checks the two agree, so
// a schema change that forgets this file fails a test rather than skewing bandwidth figures.
#include "core/messages.hpp"

#include <bit>
#include <cstring>
#include <iterator>
#include <type_traits>

namespace myco {

const char* DisconnectReasonName(DisconnectReason reason) {
  switch (reason) {
    case DisconnectReason::kShutdown: return "shutdown";
    case DisconnectReason::kFull: return "full";
    case DisconnectReason::kDuplicate: return "duplicate";
    case DisconnectReason::kTimeout: return "timeout";
    case DisconnectReason::kProtocol: return "protocol";
    case DisconnectReason::kNotAdmitted: return "not admitted";
    case DisconnectReason::kJoinDone: return "join done";
  }
  return "unknown";
}

const char* MessageName(const Message& message) {
  struct Namer {
    const char* operator()(const Hello&) const { return "Hello"; }
    const char* operator()(const PeerExchange&) const { return "PeerExchange"; }
    const char* operator()(const Ping&) const { return "Ping"; }
    const char* operator()(const Pong&) const { return "Pong"; }
    const char* operator()(const Disconnect&) const { return "Disconnect"; }
    const char* operator()(const Walk&) const { return "Walk"; }
    const char* operator()(const NeighbourList&) const { return "NeighbourList"; }
    const char* operator()(const PacketMsg&) const { return "Packet"; }
    const char* operator()(const IHave&) const { return "IHave"; }
    const char* operator()(const Graft&) const { return "Graft"; }
    const char* operator()(const Prune&) const { return "Prune"; }
    const char* operator()(const GradientUpdate&) const { return "GradientUpdate"; }
    const char* operator()(const TreeBeacon&) const { return "TreeBeacon"; }
  };
  return std::visit(Namer{}, message);
}

namespace {

constexpr uint32_t VarintBytes(uint64_t value) {
  return static_cast<uint32_t>((std::bit_width(value | 1) + 6) / 7);
}

// Protobuf size arithmetic. Every field number inside the messages is below 16, so each of their
// tags is one byte; only Envelope's body fields may be larger (see kEnvelopeFieldNumbers).
constexpr uint32_t kTagBytes = 1;

// Envelope's oneof field number of each Message alternative, in variant order (myco.proto).
constexpr uint32_t kEnvelopeFieldNumbers[] = {2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 16, 13};
static_assert(std::size(kEnvelopeFieldNumbers) == std::variant_size_v<Message>);

constexpr uint32_t TagBytes(uint32_t field_number) {
  return VarintBytes(static_cast<uint64_t>(field_number) << 3);
}

// A proto3 scalar is omitted when it equals zero.
constexpr uint32_t VarintField(uint64_t value) {
  return value == 0 ? 0 : kTagBytes + VarintBytes(value);
}

constexpr uint32_t ZigZagField(int64_t value) {
  const uint64_t zigzag = (static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63);
  return VarintField(zigzag);
}

// A fixed64 field: 8 bytes, omitted when zero.
constexpr uint32_t Fixed64Field(uint64_t value) { return value == 0 ? 0 : kTagBytes + 8; }

// Protobuf emits a double unless its bit pattern is all zeros (so -0.0 is sent).
uint32_t DoubleField(double value) {
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits == 0 ? 0 : kTagBytes + 8;
}

// A length-delimited element that is always present: a repeated entry or a set sub-message.
constexpr uint32_t Delimited(size_t length) {
  return kTagBytes + VarintBytes(length) + static_cast<uint32_t>(length);
}

// A singular bytes field, omitted when empty.
constexpr uint32_t BytesField(size_t length) { return length == 0 ? 0 : Delimited(length); }

constexpr uint32_t kNodeIdBytes = sizeof(NodeId::bytes);

uint32_t RepeatedText(const std::vector<std::string>& values) {
  uint32_t total = 0;
  for (const auto& value : values) total += Delimited(value.size());
  return total;
}

uint32_t PeerRecordBytes(const PeerRecord& peer) {
  return BytesField(kNodeIdBytes) + BytesField(peer.address.size()) + VarintField(peer.degree);
}

uint32_t RepeatedPeers(const std::vector<PeerRecord>& peers) {
  uint32_t total = 0;
  for (const auto& peer : peers) total += Delimited(PeerRecordBytes(peer));
  return total;
}

uint32_t NodeInfoBytes(const NodeInfo& info) {
  const uint32_t location =
      BytesField(info.location.region.size()) + BytesField(info.location.datacenter.size());
  return BytesField(kNodeIdBytes) + BytesField(info.name.size()) +
         BytesField(info.node_type.size()) + Delimited(location) + DoubleField(info.cpu_capacity) +
         DoubleField(info.memory_capacity) + DoubleField(info.knowledge_capacity) +
         VarintField(info.max_connections) + RepeatedText(info.specializations) +
         RepeatedText(info.interests) + RepeatedText(info.listen_addresses) +
         VarintField(info.protocol_version);
}

// The enums are shifted by one on the wire (zero is UNSPECIFIED), so they are never omitted.
template <typename Enum>
constexpr uint32_t EnumField(Enum value) {
  return VarintField(static_cast<uint64_t>(value) + 1);
}

uint32_t PacketBodyBytes(const PacketBody& body) {
  const size_t selector =
      BytesField(body.selector.node_type.size()) + BytesField(body.selector.specialization.size());
  const uint32_t rules = VarintField(body.rules.follow_gradient ? 1 : 0) +
                         EnumField(body.rules.resource) + DoubleField(body.rules.amount_min) +
                         VarintField(body.rules.prefer_specialists ? 1 : 0) +
                         DoubleField(body.rules.max_cost);
  return BytesField(kNodeIdBytes) + Fixed64Field(body.id.seq) +
         BytesField(body.information_type.size()) + ZigZagField(body.created_at_ms) +
         VarintField(body.ttl_max) + DoubleField(body.priority) + EnumField(body.mode) +
         static_cast<uint32_t>(body.destinations.size()) * Delimited(kNodeIdBytes) +
         BytesField(selector) +  // the codec leaves an empty selector out
         Delimited(rules) + BytesField(body.payload.size()) +
         BytesField(sizeof(body.payload_hash)) + BytesField(sizeof(body.signature));
}

uint32_t PacketIdBytes(const PacketId& id) {
  return BytesField(kNodeIdBytes) + Fixed64Field(id.seq);
}

struct BodyBytes {
  uint32_t operator()(const Hello& m) const {
    const uint32_t info = m.info ? Delimited(NodeInfoBytes(*m.info)) : 0;
    return info + EnumField(m.intent) + VarintField(m.degree);
  }
  uint32_t operator()(const PeerExchange& m) const {
    return RepeatedPeers(m.peers) + VarintField(m.reply_wanted ? 1 : 0);
  }
  uint32_t operator()(const Ping& m) const { return VarintField(m.seq) + ZigZagField(m.rtt_us); }
  uint32_t operator()(const Pong& m) const { return VarintField(m.seq); }
  uint32_t operator()(const Disconnect& m) const {
    return EnumField(m.reason) + BytesField(m.detail.size()) + RepeatedPeers(m.alternatives);
  }
  uint32_t operator()(const Walk& m) const {
    return BytesField(kNodeIdBytes) + BytesField(m.origin_address.size()) + VarintField(m.ttl) +
           VarintField(m.extensions_left);
  }
  uint32_t operator()(const NeighbourList& m) const {
    return BytesField(kNodeIdBytes) + VarintField(m.version) + VarintField(m.hops_left) +
           static_cast<uint32_t>(m.neighbours.size()) * Delimited(kNodeIdBytes);
  }
  uint32_t operator()(const PacketMsg& m) const {
    const uint32_t body = m.body ? Delimited(PacketBodyBytes(*m.body)) : 0;
    return body + VarintField(m.ttl) + VarintField(m.hops) +
           static_cast<uint32_t>(m.route.size()) * Delimited(kNodeIdBytes) +
           VarintField(m.route_weight) + (m.tree != 0 ? 9u : 0u);
  }
  uint32_t operator()(const IHave& m) const {
    uint32_t total = 0;
    for (const auto& entry : m.entries) {
      total += Delimited(PacketIdBytes(entry.id) + VarintField(entry.hops));
    }
    return total;
  }
  uint32_t operator()(const Graft& m) const {
    uint32_t total = 0;
    for (const auto& id : m.ids) total += Delimited(PacketIdBytes(id));
    return total;
  }
  uint32_t operator()(const Prune&) const { return 0; }
  uint32_t operator()(const TreeBeacon& m) const {
    uint32_t total = VarintField(m.degree_rank);
    for (const TreeRecord& r : m.trees) {
      total += Delimited(BytesField(kNodeIdBytes) + VarintField(r.root_rank) + VarintField(r.seq) +
                         VarintField(r.dist) + VarintField(r.parent ? 1 : 0) +
                         VarintField(r.height) + VarintField(r.up));
    }
    return total;
  }
  uint32_t operator()(const GradientUpdate& m) const {
    uint32_t total = 0;
    for (const auto& entry : m.entries) {
      total +=
          Delimited(EnumField(entry.type) + DoubleField(entry.amount) + VarintField(entry.hops));
    }
    return total;
  }
};

}  // namespace

uint32_t EstimatedWireBytes(const Message& message) {
  // Envelope = version field (tag + version 1, one varint byte) + the oneof body, which is
  // present even when the body itself is empty.
  constexpr uint32_t kVersionFieldBytes = 2;
  const uint32_t body = std::visit(BodyBytes{}, message);
  const uint32_t envelope = kVersionFieldBytes + TagBytes(kEnvelopeFieldNumbers[message.index()]) +
                            VarintBytes(body) + body;
  return VarintBytes(envelope) + envelope;  // the frame's length prefix
}

}  // namespace myco
