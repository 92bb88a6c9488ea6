// Public value types shared by the core, the drivers and embedders.
#pragma once

#include <array>
#include <bit>
#include <compare>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "myco/result.hpp"

namespace myco {

inline constexpr uint32_t kProtocolVersion = 1;

// A node's identity on the network: its Ed25519 public key (32 bytes).
struct NodeId {
  std::array<uint8_t, 32> bytes{};

  // Lexicographic byte order, compared as four big-endian words: NodeIds are compared on every
  // link lookup and map step, and the word compare is several times faster than memcmp.
  std::strong_ordering operator<=>(const NodeId& other) const {
    for (size_t i = 0; i < 32; i += 8) {
      uint64_t a;
      uint64_t b;
      std::memcpy(&a, bytes.data() + i, 8);
      std::memcpy(&b, other.bytes.data() + i, 8);
      if (a != b) {
        if constexpr (std::endian::native == std::endian::little) {
          a = __builtin_bswap64(a);
          b = __builtin_bswap64(b);
        }
        return a <=> b;
      }
    }
    return std::strong_ordering::equal;
  }
  bool operator==(const NodeId& other) const {
    uint64_t diff = 0;
    for (size_t i = 0; i < 32; i += 8) {
      uint64_t a;
      uint64_t b;
      std::memcpy(&a, bytes.data() + i, 8);
      std::memcpy(&b, other.bytes.data() + i, 8);
      diff |= a ^ b;
    }
    return diff == 0;
  }
  bool IsZero() const;
  std::string Hex() const;    // 64 lowercase hex characters
  std::string Short() const;  // first 8 hex characters, for logs and tables
  static Result<NodeId> FromHex(std::string_view hex);
};

struct NodeIdHash {
  size_t operator()(const NodeId& id) const {
    // Keys are uniformly random public keys, so eight of their bytes are a good hash.
    uint64_t h;
    std::memcpy(&h, id.bytes.data(), sizeof h);
    return static_cast<size_t>(h);
  }
};

struct Location {
  std::string region;
  std::string datacenter;
};

// What a node tells peers about itself in Hello (ORIGINAL_DESIGN.md's local_config keys).
struct NodeInfo {
  NodeId id;
  std::string name;  // the human node_id of the config, e.g. "genesis_prime_node_1"
  std::string node_type;
  Location location;
  double cpu_capacity = 0;
  double memory_capacity = 0;
  double knowledge_capacity = 0;
  uint32_t max_connections = 100;
  std::vector<std::string> specializations;
  std::vector<std::string> interests;
  std::vector<std::string> listen_addresses;
  uint32_t protocol_version = kProtocolVersion;
};

}  // namespace myco

template <>
struct std::hash<myco::NodeId> : myco::NodeIdHash {};
