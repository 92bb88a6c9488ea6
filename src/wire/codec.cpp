// Conversion between typed messages and the protobuf Envelope, with the decoder's validation.
// See codec.hpp for the guarantees. Decoding is parse (protobuf, which bounds nesting and never
// reads past the buffer) -> structural checks while converting (ids, enums, oneof, list counts
// before any list is copied) -> ValidateMessage on the typed result (text, hops, numbers).
#include "wire/codec.hpp"

#include <array>
#include <cassert>
#include <climits>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>

#include "wire/frame.hpp"
#include "wire/myco.pb.h"

namespace myco {

namespace {

// ---- field names in errors, built only when a check fails ----

// A dotted path such as "peer_exchange.peers[3].address".
struct FieldName {
  static constexpr size_t kNoIndex = std::numeric_limits<size_t>::max();

  const char* base;
  size_t index = kNoIndex;
  const char* leaf = nullptr;

  std::string str() const {
    std::string out = base;
    if (index != kNoIndex) out += "[" + std::to_string(index) + "]";
    if (leaf != nullptr) out += std::string(".") + leaf;
    return out;
  }
};

Error FieldError(ErrorCode code, const FieldName& name, const std::string& what) {
  return MakeError(code, name.str() + ": " + what);
}

// ---- checks shared by decoding and ValidateMessage ----

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. Text ends up in logs,
// the JSON API and the dashboard, which all need valid UTF-8.
bool IsValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<uint8_t>(text[i]);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    size_t length;
    uint32_t code_point;
    uint32_t code_point_min;
    if ((lead & 0xe0) == 0xc0) {
      length = 2, code_point = lead & 0x1f, code_point_min = 0x80;
    } else if ((lead & 0xf0) == 0xe0) {
      length = 3, code_point = lead & 0x0f, code_point_min = 0x800;
    } else if ((lead & 0xf8) == 0xf0) {
      length = 4, code_point = lead & 0x07, code_point_min = 0x10000;
    } else {
      return false;
    }
    if (text.size() - i < length) return false;
    for (size_t k = 1; k < length; ++k) {
      const auto next = static_cast<uint8_t>(text[i + k]);
      if ((next & 0xc0) != 0x80) return false;
      code_point = code_point << 6 | (next & 0x3f);
    }
    if (code_point < code_point_min || code_point > 0x10ffff ||
        (code_point >= 0xd800 && code_point <= 0xdfff)) {
      return false;
    }
    i += length;
  }
  return true;
}

Status CheckText(std::string_view text, size_t bytes_max, const FieldName& name) {
  if (text.size() > bytes_max) {
    return FieldError(ErrorCode::kTooLarge, name,
                      std::to_string(text.size()) + " bytes, max " + std::to_string(bytes_max));
  }
  if (!IsValidUtf8(text)) return FieldError(ErrorCode::kParse, name, "not valid UTF-8");
  return {};
}

Status CheckCount(size_t count, size_t count_max, const FieldName& name) {
  if (count <= count_max) return {};
  return FieldError(ErrorCode::kTooLarge, name,
                    std::to_string(count) + " entries, max " + std::to_string(count_max));
}

Status CheckTexts(const std::vector<std::string>& texts, const char* name) {
  if (auto s = CheckCount(texts.size(), kNodeInfoListItemsMax, {name}); !s) return s;
  for (size_t i = 0; i < texts.size(); ++i) {
    if (auto s = CheckText(texts[i], kTextBytesMax, {name, i}); !s) return s;
  }
  return {};
}

Status CheckHops(uint32_t hops, const FieldName& name) {
  if (hops <= kHopsMax) return {};
  return FieldError(ErrorCode::kTooLarge, name,
                    std::to_string(hops) + ", max " + std::to_string(kHopsMax));
}

// Capacities feed scores and sums; a NaN or infinity would poison every one of them.
Status CheckCapacity(double capacity, const FieldName& name) {
  if (std::isfinite(capacity) && capacity >= 0) return {};
  return FieldError(ErrorCode::kParse, name, "must be finite and >= 0");
}

Status CheckPeers(const std::vector<PeerRecord>& peers, const char* name) {
  if (auto s = CheckCount(peers.size(), kPeerRecordsMax, {name}); !s) return s;
  for (size_t i = 0; i < peers.size(); ++i) {
    if (auto s = CheckText(peers[i].address, kTextBytesMax, {name, i, "address"}); !s) return s;
  }
  return {};
}

Status CheckNodeInfo(const NodeInfo& info) {
  const std::pair<std::string_view, const char*> texts[] = {
      {info.name, "hello.info.name"},
      {info.node_type, "hello.info.node_type"},
      {info.location.region, "hello.info.location.region"},
      {info.location.datacenter, "hello.info.location.datacenter"},
  };
  for (const auto& [text, name] : texts) {
    if (auto s = CheckText(text, kTextBytesMax, {name}); !s) return s;
  }
  const std::pair<double, const char*> capacities[] = {
      {info.cpu_capacity, "hello.info.cpu_capacity"},
      {info.memory_capacity, "hello.info.memory_capacity"},
      {info.knowledge_capacity, "hello.info.knowledge_capacity"},
  };
  for (const auto& [capacity, name] : capacities) {
    if (auto s = CheckCapacity(capacity, {name}); !s) return s;
  }
  if (auto s = CheckTexts(info.specializations, "hello.info.specializations"); !s) return s;
  if (auto s = CheckTexts(info.interests, "hello.info.interests"); !s) return s;
  if (auto s = CheckTexts(info.listen_addresses, "hello.info.listen_addresses"); !s) return s;
  if (info.protocol_version == 0) {
    return FieldError(ErrorCode::kParse, {"hello.info.protocol_version"}, "missing (0)");
  }
  return {};
}

Status CheckPacketBody(const PacketBody& body) {
  if (auto s = CheckText(body.information_type, kTextBytesMax, {"packet.body.information_type"});
      !s) {
    return s;
  }
  if (auto s = CheckHops(body.ttl_max, {"packet.body.ttl_max"}); !s) return s;
  // Priorities order link queues; a NaN would make that order meaningless.
  if (!(std::isfinite(body.priority) && body.priority >= 0 && body.priority <= 1)) {
    return FieldError(ErrorCode::kParse, {"packet.body.priority"}, "must be finite, in [0, 1]");
  }
  if (body.mode > PropagationMode::kAck) {
    return FieldError(ErrorCode::kParse, {"packet.body.mode"}, "out of range");
  }
  if (auto s = CheckCount(body.destinations.size(), kDestinationsMax, {"packet.body.destinations"});
      !s) {
    return s;
  }
  if (auto s =
          CheckText(body.selector.node_type, kTextBytesMax, {"packet.body.selector.node_type"});
      !s) {
    return s;
  }
  if (auto s = CheckText(body.selector.specialization, kTextBytesMax,
                         {"packet.body.selector.specialization"});
      !s) {
    return s;
  }
  if (body.rules.resource > ResourceType::kOptimizationInsights) {
    return FieldError(ErrorCode::kParse, {"packet.body.rules.resource"}, "out of range");
  }
  if (auto s = CheckCapacity(body.rules.amount_min, {"packet.body.rules.amount_min"}); !s) return s;
  // -1 is the documented "no limit"; any other negative value is a bug or a forgery.
  if (!(std::isfinite(body.rules.max_cost) &&
        (body.rules.max_cost >= 0 || body.rules.max_cost == -1))) {
    return FieldError(ErrorCode::kParse, {"packet.body.rules.max_cost"},
                      "must be finite and >= 0, or -1");
  }
  if (body.payload.size() > kPayloadBytesMax) {
    return FieldError(
        ErrorCode::kTooLarge, {"packet.body.payload"},
        std::to_string(body.payload.size()) + " bytes, max " + std::to_string(kPayloadBytesMax));
  }
  return {};
}

struct Validator {
  Status operator()(const Hello& m) const {
    if (!m.info) return FieldError(ErrorCode::kParse, {"hello.info"}, "missing");
    if (m.intent > HelloIntent::kAcceptJoin) {
      return FieldError(ErrorCode::kParse, {"hello.intent"}, "out of range");
    }
    return CheckNodeInfo(*m.info);
  }
  Status operator()(const PeerExchange& m) const {
    return CheckPeers(m.peers, "peer_exchange.peers");
  }
  Status operator()(const Ping& m) const {
    if (m.rtt_us >= -1) return {};
    return FieldError(ErrorCode::kParse, {"ping.rtt_us"}, "must be >= -1");
  }
  Status operator()(const Pong&) const { return {}; }
  Status operator()(const Disconnect& m) const {
    if (m.reason > DisconnectReason::kJoinDone) {
      return FieldError(ErrorCode::kParse, {"disconnect.reason"}, "out of range");
    }
    if (auto s = CheckText(m.detail, kDetailBytesMax, {"disconnect.detail"}); !s) return s;
    return CheckPeers(m.alternatives, "disconnect.alternatives");
  }
  Status operator()(const Walk& m) const {
    if (auto s = CheckText(m.origin_address, kTextBytesMax, {"walk.origin_address"}); !s) return s;
    if (auto s = CheckHops(m.ttl, {"walk.ttl"}); !s) return s;
    return CheckHops(m.extensions_left, {"walk.extensions_left"});
  }
  Status operator()(const NeighbourList& m) const {
    if (auto s = CheckHops(m.hops_left, {"neighbour_list.hops_left"}); !s) return s;
    return CheckCount(m.neighbours.size(), kNeighboursMax, {"neighbour_list.neighbours"});
  }
  Status operator()(const PacketMsg& m) const {
    if (!m.body) return FieldError(ErrorCode::kParse, {"packet.body"}, "missing");
    if (auto s = CheckPacketBody(*m.body); !s) return s;
    if (auto s = CheckHops(m.ttl, {"packet.ttl"}); !s) return s;
    if (auto s = CheckHops(m.hops, {"packet.hops"}); !s) return s;
    return CheckCount(m.route.size(), kRouteMax, {"packet.route"});
  }
  Status operator()(const IHave& m) const {
    if (auto s = CheckCount(m.entries.size(), kPacketIdsMax, {"ihave.entries"}); !s) return s;
    for (size_t i = 0; i < m.entries.size(); ++i) {
      if (auto s = CheckHops(m.entries[i].hops, {"ihave.entries", i, "hops"}); !s) return s;
    }
    return {};
  }
  Status operator()(const Graft& m) const {
    return CheckCount(m.ids.size(), kPacketIdsMax, {"graft.ids"});
  }
  Status operator()(const Prune&) const { return {}; }
  Status operator()(const TreeBeacon& m) const {
    if (auto s = CheckCount(m.trees.size(), TreeBeacon::kTreesMax, {"tree_beacon.trees"}); !s) {
      return s;
    }
    for (size_t i = 0; i < m.trees.size(); ++i) {
      if (auto s = CheckHops(m.trees[i].dist, {"tree_beacon.trees", i, "dist"}); !s) return s;
      if (auto s = CheckHops(m.trees[i].height, {"tree_beacon.trees", i, "height"}); !s) return s;
      if (auto s = CheckHops(m.trees[i].up, {"tree_beacon.trees", i, "up"}); !s) return s;
    }
    return {};
  }
  Status operator()(const GradientUpdate& m) const {
    if (auto s = CheckCount(m.entries.size(), kGradientEntriesMax, {"gradient_update.entries"});
        !s) {
      return s;
    }
    static_assert(kResourceTypeCount <= 32);
    uint32_t types_seen = 0;
    for (size_t i = 0; i < m.entries.size(); ++i) {
      const GradientEntry& entry = m.entries[i];
      if (entry.type > ResourceType::kOptimizationInsights) {
        return FieldError(ErrorCode::kParse, {"gradient_update.entries", i, "type"},
                          "out of range");
      }
      // Two values for one type would make the update's meaning depend on which one a node reads.
      const uint32_t bit = 1u << static_cast<uint32_t>(entry.type);
      if ((types_seen & bit) != 0) {
        return FieldError(ErrorCode::kParse, {"gradient_update.entries", i, "type"},
                          std::string(ResourceTypeName(entry.type)) + " repeated");
      }
      types_seen |= bit;
      if (auto s = CheckCapacity(entry.amount, {"gradient_update.entries", i, "amount"}); !s) {
        return s;
      }
      if (auto s = CheckHops(entry.hops, {"gradient_update.entries", i, "hops"}); !s) return s;
    }
    return {};
  }
};

// ---- typed -> protobuf ----

void IdToWire(const NodeId& id, std::string* out) {
  out->assign(reinterpret_cast<const char*>(id.bytes.data()), id.bytes.size());
}

void PeerToWire(const PeerRecord& in, wire::PeerRecord* out) {
  IdToWire(in.id, out->mutable_id());
  out->set_address(in.address);
  out->set_degree(in.degree);
}

void TextsToWire(const std::vector<std::string>& in,
                 google::protobuf::RepeatedPtrField<std::string>* out) {
  out->Reserve(static_cast<int>(in.size()));
  for (const auto& text : in) *out->Add() = text;
}

void NodeInfoToWire(const NodeInfo& in, wire::NodeInfo* out) {
  IdToWire(in.id, out->mutable_id());
  out->set_name(in.name);
  out->set_node_type(in.node_type);
  out->mutable_location()->set_region(in.location.region);
  out->mutable_location()->set_datacenter(in.location.datacenter);
  out->set_cpu_capacity(in.cpu_capacity);
  out->set_memory_capacity(in.memory_capacity);
  out->set_knowledge_capacity(in.knowledge_capacity);
  out->set_max_connections(in.max_connections);
  TextsToWire(in.specializations, out->mutable_specializations());
  TextsToWire(in.interests, out->mutable_interests());
  TextsToWire(in.listen_addresses, out->mutable_listen_addresses());
  out->set_protocol_version(in.protocol_version);
}

// The wire enums put UNSPECIFIED at zero, so every typed value is shifted up by one.
template <typename WireEnum, typename Enum>
WireEnum EnumToWire(Enum value) {
  return static_cast<WireEnum>(static_cast<int>(value) + 1);
}

template <size_t N>
void BytesToWire(const std::array<uint8_t, N>& in, std::string* out) {
  out->assign(reinterpret_cast<const char*>(in.data()), in.size());
}

void PacketBodyToWire(const PacketBody& in, wire::PacketBody* out) {
  IdToWire(in.id.origin, out->mutable_origin());
  out->set_seq(in.id.seq);
  out->set_information_type(in.information_type);
  out->set_created_at_ms(in.created_at_ms);
  out->set_ttl_max(in.ttl_max);
  out->set_priority(in.priority);
  out->set_mode(EnumToWire<wire::PropagationMode>(in.mode));
  out->mutable_destinations()->Reserve(static_cast<int>(in.destinations.size()));
  for (const auto& id : in.destinations) IdToWire(id, out->add_destinations());
  // Most packets have no selector; leaving it out saves its two header bytes on every one.
  if (!in.selector.empty()) {
    out->mutable_selector()->set_node_type(in.selector.node_type);
    out->mutable_selector()->set_specialization(in.selector.specialization);
  }
  auto* rules = out->mutable_rules();
  rules->set_follow_gradient(in.rules.follow_gradient);
  rules->set_resource(EnumToWire<wire::ResourceType>(in.rules.resource));
  rules->set_amount_min(in.rules.amount_min);
  rules->set_prefer_specialists(in.rules.prefer_specialists);
  rules->set_max_cost(in.rules.max_cost);
  out->set_payload(in.payload);
  BytesToWire(in.payload_hash, out->mutable_payload_hash());
  BytesToWire(in.signature, out->mutable_signature());
}

struct ToWire {
  wire::Envelope* envelope;

  void operator()(const Hello& m) const {
    auto* out = envelope->mutable_hello();
    // A Hello without info is a bug upstream; it is sent as is and the receiver rejects it.
    if (m.info) NodeInfoToWire(*m.info, out->mutable_info());
    out->set_intent(EnumToWire<wire::HelloIntent>(m.intent));
    out->set_degree(m.degree);
  }
  void operator()(const PeerExchange& m) const {
    auto* out = envelope->mutable_peer_exchange();
    out->mutable_peers()->Reserve(static_cast<int>(m.peers.size()));
    for (const auto& peer : m.peers) PeerToWire(peer, out->add_peers());
    out->set_reply_wanted(m.reply_wanted);
  }
  void operator()(const Ping& m) const {
    auto* out = envelope->mutable_ping();
    out->set_seq(m.seq);
    out->set_rtt_us(m.rtt_us);
  }
  void operator()(const Pong& m) const { envelope->mutable_pong()->set_seq(m.seq); }
  void operator()(const Disconnect& m) const {
    auto* out = envelope->mutable_disconnect();
    out->set_reason(EnumToWire<wire::DisconnectReason>(m.reason));
    out->set_detail(m.detail);
    out->mutable_alternatives()->Reserve(static_cast<int>(m.alternatives.size()));
    for (const auto& peer : m.alternatives) PeerToWire(peer, out->add_alternatives());
  }
  void operator()(const Walk& m) const {
    auto* out = envelope->mutable_walk();
    IdToWire(m.origin, out->mutable_origin());
    out->set_origin_address(m.origin_address);
    out->set_ttl(m.ttl);
    out->set_extensions_left(m.extensions_left);
  }
  void operator()(const NeighbourList& m) const {
    auto* out = envelope->mutable_neighbour_list();
    IdToWire(m.origin, out->mutable_origin());
    out->set_version(m.version);
    out->set_hops_left(m.hops_left);
    out->mutable_neighbours()->Reserve(static_cast<int>(m.neighbours.size()));
    for (const auto& id : m.neighbours) IdToWire(id, out->add_neighbours());
  }
  void operator()(const PacketMsg& m) const {
    auto* out = envelope->mutable_packet();
    // A packet without a body is a bug upstream; it is sent as is and the receiver rejects it.
    if (m.body) PacketBodyToWire(*m.body, out->mutable_body());
    out->set_ttl(m.ttl);
    out->set_hops(m.hops);
    out->mutable_route()->Reserve(static_cast<int>(m.route.size()));
    for (const auto& id : m.route) IdToWire(id, out->add_route());
    out->set_route_weight(m.route_weight);
    out->set_tree(m.tree);
  }
  void operator()(const IHave& m) const {
    auto* out = envelope->mutable_ihave();
    out->mutable_entries()->Reserve(static_cast<int>(m.entries.size()));
    for (const auto& entry : m.entries) {
      auto* wire_entry = out->add_entries();
      IdToWire(entry.id.origin, wire_entry->mutable_origin());
      wire_entry->set_seq(entry.id.seq);
      wire_entry->set_hops(entry.hops);
    }
  }
  void operator()(const Graft& m) const {
    auto* out = envelope->mutable_graft();
    out->mutable_ids()->Reserve(static_cast<int>(m.ids.size()));
    for (const auto& id : m.ids) {
      auto* wire_id = out->add_ids();
      IdToWire(id.origin, wire_id->mutable_origin());
      wire_id->set_seq(id.seq);
    }
  }
  void operator()(const Prune&) const { envelope->mutable_prune(); }
  void operator()(const TreeBeacon& m) const {
    auto* out = envelope->mutable_tree_beacon();
    out->mutable_trees()->Reserve(static_cast<int>(m.trees.size()));
    for (const TreeRecord& r : m.trees) {
      auto* record = out->add_trees();
      IdToWire(r.root, record->mutable_root());
      record->set_root_rank(r.root_rank);
      record->set_seq(r.seq);
      record->set_dist(r.dist);
      record->set_parent(r.parent);
      record->set_height(r.height);
      record->set_up(r.up);
    }
    out->set_degree_rank(m.degree_rank);
  }
  void operator()(const GradientUpdate& m) const {
    auto* out = envelope->mutable_gradient_update();
    out->mutable_entries()->Reserve(static_cast<int>(m.entries.size()));
    for (const auto& entry : m.entries) {
      auto* wire_entry = out->add_entries();
      wire_entry->set_type(EnumToWire<wire::ResourceType>(entry.type));
      wire_entry->set_amount(entry.amount);
      wire_entry->set_hops(entry.hops);
    }
  }
};

void MessageToWire(const Message& message, wire::Envelope& envelope) {
  envelope.set_version(kWireVersion);
  std::visit(ToWire{&envelope}, message);
}

// ---- protobuf -> typed (structural checks; limits come after, in ValidateMessage) ----

template <size_t N>
Status FixedBytesFromWire(const std::string& in, std::array<uint8_t, N>& out,
                          const FieldName& name) {
  if (in.size() != N) {
    return FieldError(ErrorCode::kParse, name,
                      std::to_string(in.size()) + " bytes, must be " + std::to_string(N));
  }
  std::memcpy(out.data(), in.data(), N);
  return {};
}

Status IdFromWire(const std::string& in, NodeId& out, const FieldName& name) {
  return FixedBytesFromWire(in, out.bytes, name);
}

// Counts before copying, so an oversized list costs no allocation here.
Status IdsFromWire(const google::protobuf::RepeatedPtrField<std::string>& in, size_t count_max,
                   std::vector<NodeId>& out, const char* name) {
  const auto count = static_cast<size_t>(in.size());
  if (auto s = CheckCount(count, count_max, {name}); !s) return s;
  out.resize(count);
  for (size_t i = 0; i < count; ++i) {
    if (auto s = IdFromWire(in[static_cast<int>(i)], out[i], {name, i}); !s) return s;
  }
  return {};
}

Status PeersFromWire(const google::protobuf::RepeatedPtrField<wire::PeerRecord>& in,
                     std::vector<PeerRecord>& out, const char* name) {
  // Counted before copying, so an oversized list costs no allocation here.
  if (auto s = CheckCount(static_cast<size_t>(in.size()), kPeerRecordsMax, {name}); !s) return s;
  out.resize(static_cast<size_t>(in.size()));
  for (size_t i = 0; i < out.size(); ++i) {
    const auto& peer = in[static_cast<int>(i)];
    if (auto s = IdFromWire(peer.id(), out[i].id, {name, i, "id"}); !s) return s;
    out[i].address = peer.address();
    out[i].degree = peer.degree();
  }
  return {};
}

Status TextsFromWire(const google::protobuf::RepeatedPtrField<std::string>& in,
                     std::vector<std::string>& out, const char* name) {
  const auto count = static_cast<size_t>(in.size());
  if (auto s = CheckCount(count, kNodeInfoListItemsMax, {name}); !s) return s;
  out.assign(in.begin(), in.end());
  return {};
}

// Maps a wire enum (UNSPECIFIED = 0, then the typed values shifted by one) to its typed value.
template <typename Enum>
Status EnumFromWire(int wire_value, Enum last, Enum& out, const FieldName& name) {
  if (wire_value == 0) return FieldError(ErrorCode::kParse, name, "missing (UNSPECIFIED)");
  if (wire_value < 0 || wire_value - 1 > static_cast<int>(last)) {
    return FieldError(ErrorCode::kParse, name,
                      "value " + std::to_string(wire_value) + " out of range");
  }
  out = static_cast<Enum>(wire_value - 1);
  return {};
}

Status NodeInfoFromWire(const wire::NodeInfo& in, NodeInfo& out) {
  if (auto s = IdFromWire(in.id(), out.id, {"hello.info.id"}); !s) return s;
  out.name = in.name();
  out.node_type = in.node_type();
  out.location.region = in.location().region();
  out.location.datacenter = in.location().datacenter();
  out.cpu_capacity = in.cpu_capacity();
  out.memory_capacity = in.memory_capacity();
  out.knowledge_capacity = in.knowledge_capacity();
  out.max_connections = in.max_connections();
  if (auto s =
          TextsFromWire(in.specializations(), out.specializations, "hello.info.specializations");
      !s) {
    return s;
  }
  if (auto s = TextsFromWire(in.interests(), out.interests, "hello.info.interests"); !s) return s;
  if (auto s =
          TextsFromWire(in.listen_addresses(), out.listen_addresses, "hello.info.listen_addresses");
      !s) {
    return s;
  }
  out.protocol_version = in.protocol_version();
  return {};
}

Status HelloFromWire(const wire::Hello& in, Message& message) {
  Hello& out = message.emplace<Hello>();
  if (!in.has_info()) return FieldError(ErrorCode::kParse, {"hello.info"}, "missing");
  auto info = std::make_shared<NodeInfo>();
  if (auto s = NodeInfoFromWire(in.info(), *info); !s) return s;
  out.info = std::move(info);
  if (auto s = EnumFromWire(in.intent(), HelloIntent::kAcceptJoin, out.intent, {"hello.intent"});
      !s) {
    return s;
  }
  out.degree = in.degree();
  return {};
}

Status DisconnectFromWire(const wire::Disconnect& in, Message& message) {
  Disconnect& out = message.emplace<Disconnect>();
  if (auto s =
          EnumFromWire(in.reason(), DisconnectReason::kJoinDone, out.reason, {"disconnect.reason"});
      !s) {
    return s;
  }
  out.detail = in.detail();
  return PeersFromWire(in.alternatives(), out.alternatives, "disconnect.alternatives");
}

Status WalkFromWire(const wire::Walk& in, Message& message) {
  Walk& out = message.emplace<Walk>();
  if (auto s = IdFromWire(in.origin(), out.origin, {"walk.origin"}); !s) return s;
  out.origin_address = in.origin_address();
  out.ttl = in.ttl();
  out.extensions_left = in.extensions_left();
  return {};
}

Status NeighbourListFromWire(const wire::NeighbourList& in, Message& message) {
  NeighbourList& out = message.emplace<NeighbourList>();
  if (auto s = IdFromWire(in.origin(), out.origin, {"neighbour_list.origin"}); !s) return s;
  out.version = in.version();
  out.hops_left = in.hops_left();
  const auto count = static_cast<size_t>(in.neighbours_size());
  if (auto s = CheckCount(count, kNeighboursMax, {"neighbour_list.neighbours"}); !s) return s;
  out.neighbours.resize(count);
  for (size_t i = 0; i < count; ++i) {
    const auto& id = in.neighbours(static_cast<int>(i));
    if (auto s = IdFromWire(id, out.neighbours[i], {"neighbour_list.neighbours", i}); !s) {
      return s;
    }
  }
  return {};
}

Status PacketBodyFromWire(const wire::PacketBody& in, PacketBody& out) {
  if (auto s = IdFromWire(in.origin(), out.id.origin, {"packet.body.origin"}); !s) return s;
  out.id.seq = in.seq();
  out.information_type = in.information_type();
  out.created_at_ms = in.created_at_ms();
  out.ttl_max = in.ttl_max();
  out.priority = in.priority();
  if (auto s = EnumFromWire(in.mode(), PropagationMode::kAck, out.mode, {"packet.body.mode"}); !s) {
    return s;
  }
  if (auto s = IdsFromWire(in.destinations(), kDestinationsMax, out.destinations,
                           "packet.body.destinations");
      !s) {
    return s;
  }
  out.selector.node_type = in.selector().node_type();
  out.selector.specialization = in.selector().specialization();
  // Rules are always sent (their resource is never UNSPECIFIED), so absent rules are rejected.
  const wire::PropagationRules& rules = in.rules();
  out.rules.follow_gradient = rules.follow_gradient();
  if (auto s = EnumFromWire(rules.resource(), ResourceType::kOptimizationInsights,
                            out.rules.resource, {"packet.body.rules.resource"});
      !s) {
    return s;
  }
  out.rules.amount_min = rules.amount_min();
  out.rules.prefer_specialists = rules.prefer_specialists();
  out.rules.max_cost = rules.max_cost();
  // Checked here as well as in ValidateMessage, so an oversized payload is never copied.
  if (in.payload().size() > kPayloadBytesMax) {
    return FieldError(
        ErrorCode::kTooLarge, {"packet.body.payload"},
        std::to_string(in.payload().size()) + " bytes, max " + std::to_string(kPayloadBytesMax));
  }
  out.payload = in.payload();
  if (auto s =
          FixedBytesFromWire(in.payload_hash(), out.payload_hash, {"packet.body.payload_hash"});
      !s) {
    return s;
  }
  return FixedBytesFromWire(in.signature(), out.signature, {"packet.body.signature"});
}

Status PacketFromWire(const wire::Packet& in, Message& message) {
  PacketMsg& out = message.emplace<PacketMsg>();
  if (!in.has_body()) return FieldError(ErrorCode::kParse, {"packet.body"}, "missing");
  PacketBody body;
  if (auto s = PacketBodyFromWire(in.body(), body); !s) return s;
  // Immutable from here on: every copy the node forwards or caches shares this one body.
  out.body = std::make_shared<const PacketBody>(std::move(body));
  out.ttl = in.ttl();
  out.hops = in.hops();
  out.route_weight = in.route_weight();
  out.tree = in.tree();
  return IdsFromWire(in.route(), kRouteMax, out.route, "packet.route");
}

Status TreeBeaconFromWire(const wire::TreeBeacon& in, Message& message) {
  TreeBeacon& out = message.emplace<TreeBeacon>();
  out.degree_rank = in.degree_rank();
  if (auto s = CheckCount(static_cast<size_t>(in.trees_size()), TreeBeacon::kTreesMax,
                          {"tree_beacon.trees"});
      !s) {
    return s;
  }
  out.trees.resize(static_cast<size_t>(in.trees_size()));
  for (int i = 0; i < in.trees_size(); ++i) {
    const wire::TreeRecord& r = in.trees(i);
    TreeRecord& record = out.trees[static_cast<size_t>(i)];
    record.root_rank = r.root_rank();
    record.seq = r.seq();
    record.dist = r.dist();
    record.parent = r.parent();
    record.height = r.height();
    record.up = r.up();
    if (auto s = IdFromWire(r.root(), record.root,
                            {"tree_beacon.trees", static_cast<size_t>(i), "root"});
        !s) {
      return s;
    }
  }
  return {};
}

Status IHaveFromWire(const wire::IHave& in, Message& message) {
  IHave& out = message.emplace<IHave>();
  const auto count = static_cast<size_t>(in.entries_size());
  if (auto s = CheckCount(count, kPacketIdsMax, {"ihave.entries"}); !s) return s;
  out.entries.resize(count);
  for (size_t i = 0; i < count; ++i) {
    const auto& entry = in.entries(static_cast<int>(i));
    if (auto s =
            IdFromWire(entry.origin(), out.entries[i].id.origin, {"ihave.entries", i, "origin"});
        !s) {
      return s;
    }
    out.entries[i].id.seq = entry.seq();
    out.entries[i].hops = entry.hops();
  }
  return {};
}

Status GraftFromWire(const wire::Graft& in, Message& message) {
  Graft& out = message.emplace<Graft>();
  const auto count = static_cast<size_t>(in.ids_size());
  if (auto s = CheckCount(count, kPacketIdsMax, {"graft.ids"}); !s) return s;
  out.ids.resize(count);
  for (size_t i = 0; i < count; ++i) {
    const auto& id = in.ids(static_cast<int>(i));
    if (auto s = IdFromWire(id.origin(), out.ids[i].origin, {"graft.ids", i, "origin"}); !s) {
      return s;
    }
    out.ids[i].seq = id.seq();
  }
  return {};
}

Status GradientUpdateFromWire(const wire::GradientUpdate& in, Message& message) {
  GradientUpdate& out = message.emplace<GradientUpdate>();
  const auto count = static_cast<size_t>(in.entries_size());
  if (auto s = CheckCount(count, kGradientEntriesMax, {"gradient_update.entries"}); !s) return s;
  out.entries.resize(count);
  for (size_t i = 0; i < count; ++i) {
    const auto& entry = in.entries(static_cast<int>(i));
    if (auto s = EnumFromWire(entry.type(), ResourceType::kOptimizationInsights,
                              out.entries[i].type, {"gradient_update.entries", i, "type"});
        !s) {
      return s;
    }
    out.entries[i].amount = entry.amount();
    out.entries[i].hops = entry.hops();
  }
  return {};
}

Status BodyFromWire(const wire::Envelope& envelope, Message& message) {
  switch (envelope.body_case()) {
    case wire::Envelope::kHello: return HelloFromWire(envelope.hello(), message);
    case wire::Envelope::kPeerExchange: {
      auto& out = message.emplace<PeerExchange>();
      out.reply_wanted = envelope.peer_exchange().reply_wanted();
      return PeersFromWire(envelope.peer_exchange().peers(), out.peers, "peer_exchange.peers");
    }
    case wire::Envelope::kPing:
      message = Ping{envelope.ping().seq(), envelope.ping().rtt_us()};
      return {};
    case wire::Envelope::kPong: message = Pong{envelope.pong().seq()}; return {};
    case wire::Envelope::kDisconnect: return DisconnectFromWire(envelope.disconnect(), message);
    case wire::Envelope::kWalk: return WalkFromWire(envelope.walk(), message);
    case wire::Envelope::kNeighbourList:
      return NeighbourListFromWire(envelope.neighbour_list(), message);
    case wire::Envelope::kPacket: return PacketFromWire(envelope.packet(), message);
    case wire::Envelope::kIhave: return IHaveFromWire(envelope.ihave(), message);
    case wire::Envelope::kGraft: return GraftFromWire(envelope.graft(), message);
    case wire::Envelope::kPrune: message = Prune{}; return {};
    case wire::Envelope::kTreeBeacon: return TreeBeaconFromWire(envelope.tree_beacon(), message);
    case wire::Envelope::kGradientUpdate:
      return GradientUpdateFromWire(envelope.gradient_update(), message);
    case wire::Envelope::BODY_NOT_SET: break;
  }
  // A body from a newer schema lands in the unknown fields and looks exactly like no body.
  return FieldError(ErrorCode::kParse, {"envelope.body"}, "empty or of an unknown message type");
}

}  // namespace

std::string EncodeMessage(const Message& message) {
  wire::Envelope envelope;
  MessageToWire(message, envelope);
  return envelope.SerializeAsString();
}

std::string EncodeFrame(const Message& message) {
  std::string out;
  AppendMessageFrame(out, message);
  return out;
}

void AppendMessageFrame(std::string& out, const Message& message) {
  wire::Envelope envelope;
  MessageToWire(message, envelope);
  const size_t payload_bytes = envelope.ByteSizeLong();
  assert(payload_bytes <= std::numeric_limits<uint32_t>::max());
  AppendFrameHeader(out, static_cast<uint32_t>(payload_bytes));
  const size_t start = out.size();
  out.resize(start + payload_bytes);
  // Serializes in place after the header: one buffer, no intermediate copy of the payload.
  auto* begin = reinterpret_cast<uint8_t*>(out.data() + start);
  const uint8_t* end = envelope.SerializeWithCachedSizesToArray(begin);
  assert(static_cast<size_t>(end - begin) == payload_bytes);
  (void)end;
}

Result<Message> DecodeMessage(std::string_view bytes) {
  if (bytes.size() > static_cast<size_t>(INT_MAX)) {
    return MakeError(ErrorCode::kTooLarge, "envelope: " + std::to_string(bytes.size()) + " bytes");
  }
  wire::Envelope envelope;
  if (!envelope.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return MakeError(ErrorCode::kParse, "envelope: not a valid protobuf encoding");
  }
  if (envelope.version() != kWireVersion) {
    return MakeError(ErrorCode::kParse,
                     envelope.version() == 0
                         ? std::string("envelope.version: missing (0)")
                         : "envelope.version: " + std::to_string(envelope.version()) +
                               " is not supported (this node speaks " +
                               std::to_string(kWireVersion) + ")");
  }
  Message message;
  if (auto s = BodyFromWire(envelope, message); !s) return s.error();
  if (auto s = ValidateMessage(message); !s) return s.error();
  return message;
}

Status ValidateMessage(const Message& message) { return std::visit(Validator{}, message); }

}  // namespace myco
