// Pure parsing of the HTTP API's request bodies and query strings (docs/API.md).
//
// Contract (a libFuzzer target runs against these): every function takes any bytes, never
// throws, never crashes, never recurses on attacker-controlled nesting (JSON deeper than
// kJsonDepthMax is rejected by a flat scan before it is parsed), and returns either the typed
// request or an Error whose message starts with the offending field: "priority: must be a number
// in [0,1]". Unknown fields are errors too, so a typo ("priorty") is not silently ignored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/propagation/propagation.hpp"
#include "myco/result.hpp"
#include "myco/types.hpp"

namespace myco::api {

// Nesting of objects/arrays a request (or a payload shown in an event) may have.
inline constexpr size_t kJsonDepthMax = 64;
// Entries of destination_nodes / target_nodes / addresses.
inline constexpr size_t kListEntriesMax = 256;
inline constexpr size_t kTypeBytesMax = 256;        // information / discovery type
inline constexpr size_t kAddressBytesMax = 261;     // "host:port", host up to 255
inline constexpr uint32_t kTtlMax = 255;            // the core narrows this to its ttl_max
inline constexpr size_t kKnowledgeLimitMax = 1000;  // ?limit= of GET /v1/knowledge
inline constexpr size_t kKnowledgeLimitDefault = 100;

// The deepest nesting of arrays/objects in `text` (a flat scan that understands strings and
// escapes; it does not validate the JSON).
size_t JsonNestingDepth(std::string_view text);

// POST /v1/messages: {type, payload, priority, ttl, destination_nodes, propagation_rules,
// selector, mode}. Only `type` is required; defaults are those of myco::PublishRequest.
Result<PublishRequest> ParsePublishRequest(std::string_view body);

// POST /v1/knowledge: {type, data, target_nodes}.
struct ShareRequest {
  std::string discovery_type;
  std::string data_json = "{}";  // a JSON object, compact
  std::vector<NodeId> targets;
};
Result<ShareRequest> ParseShareRequest(std::string_view body);

// POST /v1/connect: {addresses: ["host:port", ...]} (at least one).
struct ConnectRequest {
  std::vector<std::string> addresses;
};
Result<ConnectRequest> ParseConnectRequest(std::string_view body);

// A request target split into its path and decoded query parameters ("+" is a space, %XX is a
// byte; a repeated key keeps its last value). Fails on a bad %-escape.
struct Target {
  std::string path;
  std::map<std::string, std::string> query;
};
Result<Target> ParseTarget(std::string_view target);

// GET /v1/knowledge?type=T&q=text&limit=N.
struct KnowledgeQuery {
  std::string type;
  std::string text;
  size_t limit = kKnowledgeLimitDefault;
};
Result<KnowledgeQuery> ParseKnowledgeQuery(const std::map<std::string, std::string>& query);

// GET /v1/topology?format=json|dot (json by default).
enum class TopologyFormat { kJson, kDot };
Result<TopologyFormat> ParseTopologyFormat(const std::map<std::string, std::string>& query);

// "host:port" with a non-empty host and a port in 1..65535 ("[v6]:port" accepted).
Status CheckAddress(std::string_view address);

}  // namespace myco::api
