#include "io/api/handlers.hpp"

#include <sodium.h>

#include <algorithm>
#include <exception>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/node.hpp"
#include "core/propagation/knowledge.hpp"
#include "core/propagation/link_queue.hpp"
#include "core/propagation/propagation.hpp"
#include "core/topology/membership.hpp"
#include "core/topology/strength.hpp"
#include "io/api/requests.hpp"
#include "io/node_host.hpp"
#include "myco/identity.hpp"

namespace myco::api {
namespace {

using nlohmann::json;

std::string Dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

ApiResponse JsonResponse(unsigned status, const json& body) {
  ApiResponse response;
  response.status = status;
  response.body = Dump(body);
  response.body += '\n';
  return response;
}

unsigned StatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kParse: return 400;
    case ErrorCode::kTooLarge: return 413;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kUnavailable: return 503;
    case ErrorCode::kInternal: return 500;
  }
  return 500;
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// Keeps what Graphviz needs escaped out of a quoted DOT string.
std::string DotEscaped(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      out += '?';
    } else {
      out += c;
    }
  }
  return out;
}

std::string DotQuoted(std::string_view text) { return "\"" + DotEscaped(text) + "\""; }

struct RouteEntry {
  std::string_view path;
  std::string_view method;
};

constexpr RouteEntry kRoutes[] = {
    {"/v1/health", "GET"},    {"/v1/status", "GET"},    {"/v1/peers", "GET"},
    {"/v1/topology", "GET"},  {"/v1/knowledge", "GET"}, {"/v1/knowledge", "POST"},
    {"/v1/messages", "POST"}, {"/v1/connect", "POST"},  {"/v1/events", "GET"},
    {"/metrics", "GET"},
};

}  // namespace

ApiResponse ErrorResponse(unsigned status, std::string_view message) {
  return JsonResponse(status, json{{"error", std::string(message)}});
}

bool TokenMatches(std::string_view authorization, std::string_view expected) {
  if (expected.empty()) return false;
  constexpr std::string_view kScheme = "Bearer ";
  if (authorization.size() < kScheme.size() ||
      !IEquals(authorization.substr(0, kScheme.size()), kScheme)) {
    return false;
  }
  std::string_view given = authorization.substr(kScheme.size());
  while (!given.empty() && given.front() == ' ') given.remove_prefix(1);
  while (!given.empty() && given.back() == ' ') given.remove_suffix(1);
  // Comparing fixed-size digests in constant time hides the token's bytes and its length.
  if (!InitCrypto().ok()) return false;
  unsigned char a[32];
  unsigned char b[32];
  crypto_generichash(a, sizeof a, reinterpret_cast<const unsigned char*>(given.data()),
                     given.size(), nullptr, 0);
  crypto_generichash(b, sizeof b, reinterpret_cast<const unsigned char*>(expected.data()),
                     expected.size(), nullptr, 0);
  return sodium_memcmp(a, b, sizeof a) == 0;
}

Handlers::Handlers(NodeHost& host, std::string token,
                   std::function<void(std::string&)> extra_metrics)
    : host_(host),
      token_(std::move(token)),
      extra_metrics_(std::move(extra_metrics)),
      started_(host.Now()) {}

ApiResponse Handlers::Handle(const ApiRequest& request) {
  ++api_.requests;
  ApiResponse response;
  try {
    response = Route(request);
  } catch (const std::bad_alloc&) {
    response = ErrorResponse(500, "out of memory");
  } catch (const std::exception& e) {
    response = ErrorResponse(500, std::string("internal error: ") + e.what());
  } catch (...) {
    response = ErrorResponse(500, "internal error");
  }
  if (response.status >= 500) {
    ++api_.responses_5xx;
  } else if (response.status >= 400) {
    ++api_.responses_4xx;
  }
  return response;
}

ApiResponse Handlers::Route(const ApiRequest& request) {
  auto target = ParseTarget(request.target);
  if (!target.ok()) return ErrorResponse(400, target.error().message);
  const std::string& path = target->path;
  std::string allowed;
  bool method_ok = false;
  for (const RouteEntry& route : kRoutes) {
    if (route.path != path) continue;
    if (!allowed.empty()) allowed += ", ";
    allowed += route.method;
    method_ok = method_ok || route.method == request.method;
  }
  if (allowed.empty()) return ErrorResponse(404, "no such endpoint: " + path.substr(0, 128));
  if (!method_ok) {
    ApiResponse response =
        ErrorResponse(405, std::string(request.method.substr(0, 16)) + " not allowed on " + path +
                               " (allowed: " + allowed + ")");
    response.headers.emplace_back("Allow", allowed);
    return response;
  }
  const auto& query = target->query;

  if (request.method == "POST") {
    if (!TokenMatches(request.authorization, token_)) {
      ++api_.unauthorized;
      ApiResponse response = ErrorResponse(
          401, token_.empty() ? "this node has no API token configured; mutations are disabled"
               : request.authorization.empty() ? "missing Authorization: Bearer <token> header"
                                               : "wrong API token");
      response.headers.emplace_back("WWW-Authenticate", "Bearer");
      return response;
    }
    if (path == "/v1/messages") return Publish(request.body);
    if (path == "/v1/knowledge") return Share(request.body);
    if (path == "/v1/connect") return Connect(request.body);
  }
  // GETs take no parameters but the documented ones.
  if (path != "/v1/topology" && path != "/v1/knowledge" && !query.empty()) {
    return ErrorResponse(400, query.begin()->first.substr(0, 64) +
                                  ": unknown query parameter (this endpoint takes none)");
  }
  if (path == "/v1/health") return JsonResponse(200, json{{"status", "ok"}});
  if (path == "/v1/status") return Status();
  if (path == "/v1/peers") return Peers();
  if (path == "/v1/topology") return Topology(query);
  if (path == "/v1/knowledge") return KnowledgeGet(query);
  if (path == "/metrics") return Metrics();
  if (path == "/v1/events") {
    ApiResponse response;
    response.event_stream = true;
    return response;
  }
  return ErrorResponse(404, "no such endpoint: " + path.substr(0, 128));
}

ApiResponse Handlers::Status() {
  const Node& node = host_.node();
  const TimePoint now = host_.Now();
  const TopologyStatus s = node.Status(now);
  const HostCounters& c = host_.counters();
  json body{
      {"local_node_id", s.local_node_id.Hex()},
      {"name", s.local_name},
      {"network_size_estimate", s.network_size_estimate},
      {"active_connections", s.active_connections},
      {"passive_peers", s.passive_peers},
      {"connection_health_avg", s.connection_health_avg},
      // The resource market does not exist yet: no requests or offers can be active.
      {"active_requests", 0},
      {"active_offers", 0},
      {"uptime_s", (now - started_).seconds()},
      {"now_ns", now.ns},
      {"knowledge_entries", node.propagation().knowledge().size()},
      {"queued_messages", node.link_queues().queued_total()},
      {"counters",
       {{"published", c.published},
        {"delivered", c.delivered},
        {"acked", c.acked},
        {"delivery_failed", c.delivery_failed},
        {"discoveries", c.discoveries},
        {"peer_up", c.peer_up},
        {"peer_down", c.peer_down},
        {"sends", c.sends},
        {"sends_no_driver", c.sends_no_driver},
        {"dials", c.dials},
        {"closes", c.closes}}},
  };
  return JsonResponse(200, body);
}

ApiResponse Handlers::Peers() {
  const Membership& membership = host_.node().membership();
  const TimePoint now = host_.Now();
  json peers = json::array();
  for (const Link& link : membership.links()) {
    if (link.state != LinkState::kActive) continue;
    json degree = nullptr;
    if (const TopologyMap::Entry* entry = membership.map().Find(link.peer)) {
      degree = entry->neighbours.size();
    } else if (link.peer_degree > 0) {
      degree = link.peer_degree;
    }
    peers.push_back({
        {"id", link.peer.Hex()},
        {"name", link.info ? link.info->name : std::string()},
        {"address", link.address},
        {"direction", link.outbound ? "outbound" : "inbound"},
        {"rtt_ms", link.rtt_us_ewma < 0 ? json(nullptr) : json(link.rtt_us_ewma / 1000.0)},
        {"loss", link.loss_ewma},
        {"health", link.Health()},
        {"strength", ConnectionStrengthName(link.strength)},
        {"utilisation", link.utilisation},
        {"degree", degree},
        {"connected_s", (now - link.since).seconds()},
    });
  }
  return JsonResponse(200, json{{"count", peers.size()}, {"peers", std::move(peers)}});
}

ApiResponse Handlers::Topology(const std::map<std::string, std::string>& query) {
  auto format = ParseTopologyFormat(query);
  if (!format.ok()) return ErrorResponse(400, format.error().message);
  const Membership& membership = host_.node().membership();
  const NodeId& self = membership.id();
  std::map<NodeId, std::vector<NodeId>> adjacency = membership.map().ConfirmedAdjacency(self);
  adjacency.try_emplace(self);  // the node itself, even before any map entry exists
  // Names are known for this node and its neighbours only (from their Hello).
  std::map<NodeId, std::string> names;
  names[self] = membership.info().name;
  for (const Link& link : membership.links()) {
    if (link.info) names[link.peer] = link.info->name;
  }
  std::set<std::pair<NodeId, NodeId>> edges;
  for (const auto& [u, neighbours] : adjacency) {
    for (const NodeId& v : neighbours) edges.insert(u < v ? std::pair{u, v} : std::pair{v, u});
  }
  if (format.value() == TopologyFormat::kDot) {
    std::string dot = "graph myco {\n  node [shape=ellipse];\n";
    for (const auto& [id, neighbours] : adjacency) {
      const auto name = names.find(id);
      // DOT's "\n" inside a label is a line break: the name over the short id.
      std::string label = id.Short();
      if (name != names.end() && !name->second.empty()) {
        label = DotEscaped(name->second) + "\\n" + label;
      }
      dot += "  " + DotQuoted(id.Hex()) + " [label=\"" + label + "\"" +
             (id == self ? ", style=bold" : "") + "];\n";
    }
    for (const auto& [u, v] : edges) {
      dot += "  " + DotQuoted(u.Hex()) + " -- " + DotQuoted(v.Hex()) + ";\n";
    }
    dot += "}\n";
    ApiResponse response;
    response.content_type = "text/vnd.graphviz; charset=utf-8";
    response.body = std::move(dot);
    return response;
  }
  json nodes = json::array();
  for (const auto& [id, neighbours] : adjacency) {
    const auto name = names.find(id);
    nodes.push_back({{"id", id.Hex()},
                     {"name", name == names.end() ? json(nullptr) : json(name->second)},
                     {"degree", neighbours.size()},
                     {"self", id == self}});
  }
  json edge_list = json::array();
  for (const auto& [u, v] : edges) edge_list.push_back({{"a", u.Hex()}, {"b", v.Hex()}});
  return JsonResponse(200, json{{"self", self.Hex()},
                                {"network_size_estimate", membership.SizeEstimate()},
                                {"nodes", std::move(nodes)},
                                {"edges", std::move(edge_list)}});
}

ApiResponse Handlers::KnowledgeGet(const std::map<std::string, std::string>& query) {
  auto parsed = ParseKnowledgeQuery(query);
  if (!parsed.ok()) return ErrorResponse(400, parsed.error().message);
  const KnowledgeBase& kb = host_.node().propagation().knowledge();
  json entries = json::array();
  for (const Discovery* d : kb.Query(parsed->type, parsed->text, parsed->limit)) {
    json data;
    if (JsonNestingDepth(d->data_json) <= kJsonDepthMax) {
      data = json::parse(d->data_json, nullptr, /*allow_exceptions=*/false);
    }
    json entry{{"id", d->id},
               {"type", d->discovery_type},
               {"origin", d->origin.Hex()},
               {"created_at_ms", d->created_at_ms}};
    if (data.is_object()) {
      entry["data"] = std::move(data);
    } else {
      entry["data_raw"] = d->data_json;
    }
    entries.push_back(std::move(entry));
  }
  return JsonResponse(200, json{{"count", entries.size()},
                                {"total_stored", kb.size()},
                                {"entries", std::move(entries)}});
}

ApiResponse Handlers::Publish(std::string_view body) {
  auto request = ParsePublishRequest(body);
  if (!request.ok()) return ErrorResponse(400, request.error().message);
  const TimePoint at = host_.Now();
  auto ids = host_.Publish(std::move(request).value());
  if (!ids.ok()) return ErrorResponse(StatusFor(ids.error().code), ids.error().message);
  json list = json::array();
  for (const PacketId& id : ids.value()) list.push_back(id.ToString());
  return JsonResponse(202, json{{"ids", std::move(list)}, {"published_at_ns", at.ns}});
}

ApiResponse Handlers::Share(std::string_view body) {
  auto request = ParseShareRequest(body);
  if (!request.ok()) return ErrorResponse(400, request.error().message);
  auto id = host_.ShareKnowledge(request->discovery_type, request->data_json, request->targets);
  if (!id.ok()) return ErrorResponse(StatusFor(id.error().code), id.error().message);
  return JsonResponse(202, json{{"id", id.value()}});
}

ApiResponse Handlers::Connect(std::string_view body) {
  auto request = ParseConnectRequest(body);
  if (!request.ok()) return ErrorResponse(400, request.error().message);
  json addresses = request->addresses;
  host_.Connect(std::move(request).value().addresses);
  return JsonResponse(202, json{{"dialing", std::move(addresses)}});
}

ApiResponse Handlers::Metrics() {
  ApiResponse response;
  response.content_type = "text/plain; version=0.0.4; charset=utf-8";
  response.body = RenderMetrics(host_, started_, api_, latency_, extra_metrics_);
  return response;
}

}  // namespace myco::api
