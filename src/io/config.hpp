// A node's configuration file: TOML with the keys of ORIGINAL_DESIGN.md's local_config
// (node_id, node_type, location, capacities, max_connections, specializations) plus what a real
// daemon needs (addresses, data directory, admission secret, interests) and a [topology] table
// of protocol knobs. docs/CONFIG.md lists every key with its default, bound and reason.
//
// Guarantees:
//  - Every key is optional; a missing key takes its documented default, so an empty file is a
//    valid configuration.
//  - A file that loads is valid: every value is within its bounds and TopologyConfig::Validate
//    passes. Otherwise the Error is one line naming the file, line:column, key and the reason,
//    e.g. "node.toml:4:19: max_connections: must be between 1 and 100000, got -3".
//  - Unknown keys are errors (a misspelt key silently ignored is a default silently used), with
//    the closest known key suggested.
//  - No exception escapes; toml++ parse errors come back as kParse with their line:column.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/topology/config.hpp"
#include "myco/result.hpp"
#include "myco/types.hpp"

namespace myco {

struct NodeConfig {
  // The human name (local_config's node_id); the cryptographic id is the node's public key.
  std::string node_id = "myco-node";
  std::string node_type = "standard";
  Location location{.region = "default", .datacenter = "default"};
  // What this node may lend: CPU in cores, memory in GB, knowledge in stored entries.
  // 0 lends nothing, the safe default until an operator opts in.
  double cpu_capacity = 0;
  double memory_capacity = 0;
  double knowledge_capacity = 0;
  // Copied into topology.max_connections; top-level because local_config has it there.
  uint32_t max_connections = 100;
  std::vector<std::string> specializations;
  std::vector<std::string> interests;

  // host:port of the peer-to-peer listener, and of the HTTP API (loopback: it is a control
  // plane). Port 0 asks the OS for any free port.
  std::string listen = "0.0.0.0:7300";
  std::string api = "127.0.0.1:7301";
  // host:port of existing nodes to join through; empty starts a new network. Copied into
  // topology.bootstrap.
  std::vector<std::string> bootstrap;
  std::string data_dir = "myco-data";
  // Shared admission secret; empty means no admission check (a private test network only).
  std::string network_secret;
  // NodeIds (64 hex characters) allowed to link with this node; empty allows any node that
  // passes the secret check. With both set, a peer must pass both.
  std::vector<NodeId> allowed_nodes;

  TopologyConfig topology;
};

// Limits on values, shared with docs/CONFIG.md.
inline constexpr size_t kConfigNameCharsMax = 64;     // names, types, regions, tags
inline constexpr size_t kConfigListItemsMax = 64;     // the wire's NodeInfo list limit
inline constexpr double kConfigCapacityMax = 1e9;     // beyond any machine: a typo
inline constexpr size_t kNetworkSecretCharsMin = 16;  // shorter is guessable
inline constexpr size_t kNetworkSecretCharsMax = 1024;
inline constexpr size_t kConfigFileBytesMax = 1 << 20;
inline constexpr size_t kAllowedNodesMax = 10'000;  // a fleet's allowlist, not a wire list

// Parses TOML text. `source_name` (a path, or e.g. "<string>") prefixes every error message.
Result<NodeConfig> ParseNodeConfig(std::string_view toml_text, std::string_view source_name);

// Checks a configuration built or changed in code (command-line flags over a file) against the
// same bounds the file parser applies, and copies max_connections and bootstrap into topology.
// The Error names the key, e.g. "listen: expected host:port, got 'abc'".
Status ValidateNodeConfig(NodeConfig& config);

// Reads and parses a file (kNotFound when it cannot be read, kTooLarge over 1 MiB).
Result<NodeConfig> LoadNodeConfig(const std::string& path);

// The effective configuration as TOML that parses back to the same values. The network secret
// is never printed, only whether it is set.
std::string FormatNodeConfig(const NodeConfig& config);

struct HostPort {
  std::string host;  // a DNS name, dotted IPv4, or IPv6 without its brackets
  uint16_t port = 0;
};

// Parses "host:port" or "[ipv6]:port". Port 0 is accepted only when allow_port_zero.
// The message says what was expected, e.g. "expected host:port, got 'abc'".
Result<HostPort> ParseHostPort(std::string_view text, bool allow_port_zero);

// Levenshtein distance, for "did you mean" suggestions.
size_t EditDistance(std::string_view a, std::string_view b);

}  // namespace myco
