// The protobuf codec of myco messages (schema: src/wire/myco.proto).
//
// Guarantees: DecodeMessage never throws and never crashes, whatever the bytes; it returns a
// Message only if the Envelope parses, its version is kWireVersion, exactly one known body is set
// and every field is within the limits below (node ids exactly 32 bytes, enums in range, text
// valid UTF-8 and bounded, lists bounded, hop counts bounded, capacities finite and >= 0; for
// packets also: payload, hash and signature sizes, priority in [0, 1], amounts finite).
// Otherwise its Error names the offending field, e.g. "peer_exchange.peers[3].id: 31 bytes, must
// be 32". Every Message it returns re-encodes to bytes that decode to the same Message.
//
// A decoded Packet owns a fresh immutable body (std::make_shared<const PacketBody>). Decoding
// checks the body's shape, not its signature: that costs 40 µs and is done once per packet id by
// the core (after dedup), never per copy here.
//
// EncodeMessage does not check limits: the core builds its messages within them (ValidateMessage
// says whether it did), and a peer receiving one that is not rejects it.
//
// These functions live in namespace myco; namespace myco::wire holds the generated protobuf code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/messages.hpp"
#include "myco/result.hpp"

namespace myco {

// Envelope.version: the wire major version, bumped only for changes old peers cannot parse.
inline constexpr uint32_t kWireVersion = 1;

// Limits shared by every node; a receiver rejects a message over any of them.
// Names, node types, regions, datacenters, addresses, specializations, interests.
inline constexpr size_t kTextBytesMax = 256;
// Disconnect.detail: room for a sentence of diagnosis, not for a payload.
inline constexpr size_t kDetailBytesMax = 1024;
// PeerExchange.peers, Disconnect.alternatives: a PEX sample is 8; this leaves a wide margin.
inline constexpr size_t kPeerRecordsMax = 1024;
// NeighbourList.neighbours: above any sane max_connections.
inline constexpr size_t kNeighboursMax = 1024;
// NodeInfo.specializations, .interests, .listen_addresses (each list).
inline constexpr size_t kNodeInfoListItemsMax = 64;
// Walk.ttl, Walk.extensions_left, NeighbourList.hops_left: configs use 6, 8 and 16; the bound
// caps the work one forged packet can cause.
inline constexpr uint32_t kHopsMax = 255;

// ---- propagation ----
// PacketBody.payload: the hard wire cap; PropagationConfig.payload_bytes_max may be lower.
inline constexpr size_t kPayloadBytesMax = 64 * 1024;
// PacketBody.destinations: a targeted packet has one; selective multicast stays well below.
inline constexpr size_t kDestinationsMax = 1024;
// Packet.route: a source route or gradient trail; hop counts are capped at kHopsMax anyway.
inline constexpr size_t kRouteMax = 256;
// IHave.entries, Graft.ids: far above a 50 ms batch of announcements on one link (the core
// sends at most PropagationConfig::ihave_entries_per_message_max, 256 by default).
inline constexpr size_t kPacketIdsMax = 4096;
// GradientUpdate.entries: one per resource type; a repeated type is rejected.
inline constexpr size_t kGradientEntriesMax = kResourceTypeCount;
// PacketBody.ttl_max, Packet.ttl and .hops, IHave.entries[].hops and GradientUpdate.entries[].hops
// use kHopsMax; PacketBody.information_type and the Selector texts use kTextBytesMax.

// The Envelope bytes of `message`, without the frame length prefix.
std::string EncodeMessage(const Message& message);

// EncodeMessage framed for a stream (see frame.hpp).
std::string EncodeFrame(const Message& message);

// Appends the frame of `message` to `out`, so a link can batch several messages in one write.
void AppendMessageFrame(std::string& out, const Message& message);

// Parses and validates Envelope bytes (a frame payload). kParse for malformed or invalid content,
// kTooLarge for a field or list over its limit.
Result<Message> DecodeMessage(std::string_view bytes);

// Checks a typed message against the limits above, as DecodeMessage does after parsing.
Status ValidateMessage(const Message& message);

}  // namespace myco
