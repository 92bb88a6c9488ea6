#include "io/api/requests.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <exception>
#include <nlohmann/json.hpp>
#include <utility>

namespace myco::api {
namespace {

using nlohmann::json;

Error Bad(std::string_view field, std::string_view why) {
  return MakeError(ErrorCode::kInvalidArgument, std::string(field) + ": " + std::string(why));
}

// At most 64 bytes of user text in an error message, with control bytes shown as '?', so an
// error line stays one short line whatever was sent.
std::string Quote(std::string_view text) {
  std::string out = "'";
  for (size_t i = 0; i < text.size() && i < 64; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
  }
  if (text.size() > 64) out += "...";
  return out + "'";
}

// Parses a request body that must be a JSON object no deeper than kJsonDepthMax.
Result<json> ParseObject(std::string_view body) {
  if (JsonNestingDepth(body) > kJsonDepthMax) {
    return Bad("body", "JSON nested deeper than " + std::to_string(kJsonDepthMax) + " levels");
  }
  json parsed = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return Bad("body", "not valid JSON");
  if (!parsed.is_object()) return Bad("body", "must be a JSON object");
  return parsed;
}

Status CheckKnownFields(const json& object, std::initializer_list<std::string_view> known,
                        std::string_view prefix = "") {
  for (const auto& [key, value] : object.items()) {
    bool found = false;
    for (std::string_view k : known) found = found || key == k;
    if (!found) {
      return MakeError(ErrorCode::kInvalidArgument,
                       std::string(prefix) + key.substr(0, 64) + ": unknown field");
    }
  }
  return Status::Ok();
}

// Compact JSON text, never throwing (strings that came through the parser are valid UTF-8, but
// replace keeps this total anyway).
std::string Dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<std::string> RequiredString(const json& object, std::string_view field, size_t max_bytes) {
  const auto it = object.find(field);
  if (it == object.end()) return Bad(field, "required");
  if (!it->is_string()) return Bad(field, "must be a string");
  const auto& text = it->get_ref<const std::string&>();
  if (text.empty() || text.size() > max_bytes) {
    return Bad(field, "must be 1.." + std::to_string(max_bytes) + " bytes");
  }
  return text;
}

// `key` in `object`, reported as `field` in errors.
Result<std::string> OptionalString(const json& object, std::string_view key, std::string_view field,
                                   size_t max_bytes) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::string();
  if (!it->is_string()) return Bad(field, "must be a string");
  const auto& text = it->get_ref<const std::string&>();
  if (text.size() > max_bytes) {
    return Bad(field, "must be at most " + std::to_string(max_bytes) + " bytes");
  }
  return text;
}

// An optional JSON object field, as compact text ("{}" when absent).
Result<std::string> OptionalObjectText(const json& object, std::string_view field) {
  const auto it = object.find(field);
  if (it == object.end() || it->is_null()) return std::string("{}");
  if (!it->is_object()) return Bad(field, "must be a JSON object");
  return Dump(*it);
}

Result<std::vector<NodeId>> NodeIdList(const json& object, std::string_view field) {
  std::vector<NodeId> ids;
  const auto it = object.find(field);
  if (it == object.end() || it->is_null()) return ids;
  if (!it->is_array()) return Bad(field, "must be an array of 64-hex-digit node ids");
  if (it->size() > kListEntriesMax) {
    return Bad(field, "at most " + std::to_string(kListEntriesMax) + " entries");
  }
  for (size_t i = 0; i < it->size(); ++i) {
    const json& entry = (*it)[i];
    const std::string where = std::string(field) + "[" + std::to_string(i) + "]";
    if (!entry.is_string()) return Bad(where, "must be a 64-hex-digit node id string");
    auto id = NodeId::FromHex(entry.get_ref<const std::string&>());
    if (!id.ok()) return Bad(where, id.error().message);
    for (const NodeId& seen : ids) {
      if (seen == id.value()) return Bad(where, "duplicate node id");
    }
    ids.push_back(id.value());
  }
  return ids;
}

Result<double> NumberIn(const json& value, std::string_view field, double min, double max) {
  char range[64];
  std::snprintf(range, sizeof range, "[%g,%g]", min, max);
  const std::string why = std::string("must be a number in ") + range;
  if (!value.is_number()) return Bad(field, why);
  const double v = value.get<double>();
  if (!std::isfinite(v) || v < min || v > max) return Bad(field, why);
  return v;
}

Result<bool> Boolean(const json& value, std::string_view field) {
  if (!value.is_boolean()) return Bad(field, "must be true or false");
  return value.get<bool>();
}

Result<PropagationMode> ParseMode(const json& value) {
  constexpr std::string_view kWhy = "must be one of broadcast, flood, gossip, targeted, gradient";
  if (!value.is_string()) return Bad("mode", kWhy);
  const auto& name = value.get_ref<const std::string&>();
  for (PropagationMode mode :
       {PropagationMode::kBroadcast, PropagationMode::kFlood, PropagationMode::kGossip,
        PropagationMode::kTargeted, PropagationMode::kGradient}) {
    if (name == PropagationModeName(mode)) return mode;
  }
  return Bad("mode", std::string(kWhy) + ", got " + Quote(name));
}

Status ParseRules(const json& object, PropagationRules& rules) {
  const auto it = object.find("propagation_rules");
  if (it == object.end() || it->is_null()) return Status::Ok();
  if (!it->is_object()) return Bad("propagation_rules", "must be a JSON object");
  if (Status s = CheckKnownFields(
          *it, {"follow_gradient", "resource", "amount_min", "prefer_specialists", "max_cost"},
          "propagation_rules.");
      !s.ok()) {
    return s;
  }
  for (const auto& [key, value] : it->items()) {
    const std::string field = "propagation_rules." + key;
    if (key == "follow_gradient" || key == "prefer_specialists") {
      auto b = Boolean(value, field);
      if (!b.ok()) return b.error();
      (key == "follow_gradient" ? rules.follow_gradient : rules.prefer_specialists) = b.value();
    } else if (key == "resource") {
      if (!value.is_string()) return Bad(field, "must be a resource type name");
      auto type = ParseResourceType(value.get_ref<const std::string&>());
      if (!type.ok()) {
        return Bad(field, "unknown resource type " + Quote(value.get_ref<const std::string&>()));
      }
      rules.resource = type.value();
    } else if (key == "amount_min") {
      auto v = NumberIn(value, field, 0, 1e15);
      if (!v.ok()) return v.error();
      rules.amount_min = v.value();
    } else if (key == "max_cost") {
      // -1 means "no limit", as in the core.
      auto v = NumberIn(value, field, -1, 1e15);
      if (!v.ok()) return v.error();
      rules.max_cost = v.value();
    }
  }
  return Status::Ok();
}

Status ParseSelector(const json& object, Selector& selector) {
  const auto it = object.find("selector");
  if (it == object.end() || it->is_null()) return Status::Ok();
  if (!it->is_object()) return Bad("selector", "must be a JSON object");
  if (Status s = CheckKnownFields(*it, {"node_type", "specialization"}, "selector."); !s.ok()) {
    return s;
  }
  auto node_type = OptionalString(*it, "node_type", "selector.node_type", kTypeBytesMax);
  if (!node_type.ok()) return node_type.error();
  auto specialization =
      OptionalString(*it, "specialization", "selector.specialization", kTypeBytesMax);
  if (!specialization.ok()) return specialization.error();
  selector.node_type = std::move(node_type).value();
  selector.specialization = std::move(specialization).value();
  return Status::Ok();
}

Result<PublishRequest> ParsePublishUnguarded(std::string_view body) {
  auto parsed = ParseObject(body);
  if (!parsed.ok()) return parsed.error();
  const json& object = parsed.value();
  if (Status s =
          CheckKnownFields(object, {"type", "payload", "priority", "ttl", "destination_nodes",
                                    "propagation_rules", "selector", "mode"});
      !s.ok()) {
    return s.error();
  }
  PublishRequest request;
  auto type = RequiredString(object, "type", kTypeBytesMax);
  if (!type.ok()) return type.error();
  request.information_type = std::move(type).value();

  auto payload = OptionalObjectText(object, "payload");
  if (!payload.ok()) return payload.error();
  request.payload = std::move(payload).value();

  if (auto it = object.find("priority"); it != object.end() && !it->is_null()) {
    auto priority = NumberIn(*it, "priority", 0, 1);
    if (!priority.ok()) return priority.error();
    request.priority = priority.value();
  }
  if (auto it = object.find("ttl"); it != object.end() && !it->is_null()) {
    const std::string why = "must be an integer in [1," + std::to_string(kTtlMax) + "]";
    if (!it->is_number_integer()) return Bad("ttl", why);
    // number_unsigned covers large positives; get<int64_t> of a huge unsigned wraps, so check
    // the sign-aware representation.
    if (it->is_number_unsigned()) {
      const uint64_t v = it->get<uint64_t>();
      if (v < 1 || v > kTtlMax) return Bad("ttl", why);
      request.ttl = static_cast<uint32_t>(v);
    } else {
      const int64_t v = it->get<int64_t>();
      if (v < 1 || v > kTtlMax) return Bad("ttl", why);
      request.ttl = static_cast<uint32_t>(v);
    }
  }
  auto destinations = NodeIdList(object, "destination_nodes");
  if (!destinations.ok()) return destinations.error();
  request.destinations = std::move(destinations).value();
  if (Status s = ParseRules(object, request.rules); !s.ok()) return s.error();
  if (Status s = ParseSelector(object, request.selector); !s.ok()) return s.error();
  if (auto it = object.find("mode"); it != object.end() && !it->is_null()) {
    auto mode = ParseMode(*it);
    if (!mode.ok()) return mode.error();
    request.mode = mode.value();
  }
  return request;
}

Result<ShareRequest> ParseShareUnguarded(std::string_view body) {
  auto parsed = ParseObject(body);
  if (!parsed.ok()) return parsed.error();
  const json& object = parsed.value();
  if (Status s = CheckKnownFields(object, {"type", "data", "target_nodes"}); !s.ok()) {
    return s.error();
  }
  ShareRequest request;
  auto type = RequiredString(object, "type", kTypeBytesMax);
  if (!type.ok()) return type.error();
  request.discovery_type = std::move(type).value();
  auto data = OptionalObjectText(object, "data");
  if (!data.ok()) return data.error();
  request.data_json = std::move(data).value();
  auto targets = NodeIdList(object, "target_nodes");
  if (!targets.ok()) return targets.error();
  request.targets = std::move(targets).value();
  return request;
}

Result<ConnectRequest> ParseConnectUnguarded(std::string_view body) {
  auto parsed = ParseObject(body);
  if (!parsed.ok()) return parsed.error();
  const json& object = parsed.value();
  if (Status s = CheckKnownFields(object, {"addresses"}); !s.ok()) return s.error();
  const auto it = object.find("addresses");
  if (it == object.end()) return Bad("addresses", "required");
  if (!it->is_array() || it->empty()) {
    return Bad("addresses", "must be a non-empty array of \"host:port\" strings");
  }
  if (it->size() > kListEntriesMax) {
    return Bad("addresses", "at most " + std::to_string(kListEntriesMax) + " entries");
  }
  ConnectRequest request;
  for (size_t i = 0; i < it->size(); ++i) {
    const json& entry = (*it)[i];
    const std::string where = "addresses[" + std::to_string(i) + "]";
    if (!entry.is_string()) return Bad(where, "must be a \"host:port\" string");
    const auto& address = entry.get_ref<const std::string&>();
    if (Status s = CheckAddress(address); !s.ok()) return Bad(where, s.error().message);
    request.addresses.push_back(address);
  }
  return request;
}

// nlohmann's API can throw (e.g. type_error) in cases the checks above are meant to rule out;
// the parsers are total anyway: any escaped exception becomes an error value.
template <typename F>
auto Guard(F&& parse, std::string_view body) -> decltype(parse(body)) {
  try {
    return parse(body);
  } catch (const std::exception& e) {
    return Bad("body", std::string("cannot be parsed (") + e.what() + ")");
  }
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> Unescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%') {
      const int hi = i + 1 < text.size() ? HexDigit(text[i + 1]) : -1;
      const int lo = i + 2 < text.size() ? HexDigit(text[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return MakeError(ErrorCode::kInvalidArgument, "query: bad or truncated %-escape");
      }
      out += static_cast<char>(hi << 4 | lo);
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace

size_t JsonNestingDepth(std::string_view text) {
  size_t depth = 0;
  size_t deepest = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

Result<PublishRequest> ParsePublishRequest(std::string_view body) {
  return Guard(ParsePublishUnguarded, body);
}

Result<ShareRequest> ParseShareRequest(std::string_view body) {
  return Guard(ParseShareUnguarded, body);
}

Result<ConnectRequest> ParseConnectRequest(std::string_view body) {
  return Guard(ParseConnectUnguarded, body);
}

Result<Target> ParseTarget(std::string_view target) {
  Target out;
  const size_t question = target.find('?');
  auto path = Unescape(target.substr(0, question));
  if (!path.ok()) return path.error();
  out.path = std::move(path).value();
  if (question == std::string_view::npos) return out;
  std::string_view rest = target.substr(question + 1);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    auto key = Unescape(pair.substr(0, eq));
    if (!key.ok()) return key.error();
    auto value = Unescape(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (!value.ok()) return value.error();
    out.query[std::move(key).value()] = std::move(value).value();
  }
  return out;
}

Result<KnowledgeQuery> ParseKnowledgeQuery(const std::map<std::string, std::string>& query) {
  KnowledgeQuery out;
  for (const auto& [key, value] : query) {
    if (key == "type") {
      if (value.size() > kTypeBytesMax) return Bad("type", "too long");
      out.type = value;
    } else if (key == "q") {
      if (value.size() > kTypeBytesMax) return Bad("q", "too long");
      out.text = value;
    } else if (key == "limit") {
      size_t limit = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), limit);
      const std::string why =
          "must be an integer in [1," + std::to_string(kKnowledgeLimitMax) + "]";
      if (ec != std::errc() || end != value.data() + value.size() || limit < 1 ||
          limit > kKnowledgeLimitMax) {
        return Bad("limit", why);
      }
      out.limit = limit;
    } else {
      return Bad(key.substr(0, 64), "unknown query parameter (type, q, limit)");
    }
  }
  return out;
}

Result<TopologyFormat> ParseTopologyFormat(const std::map<std::string, std::string>& query) {
  TopologyFormat format = TopologyFormat::kJson;
  for (const auto& [key, value] : query) {
    if (key != "format") return Bad(key.substr(0, 64), "unknown query parameter (format)");
    if (value == "json") {
      format = TopologyFormat::kJson;
    } else if (value == "dot") {
      format = TopologyFormat::kDot;
    } else {
      return Bad("format", "must be json or dot, got " + Quote(value));
    }
  }
  return format;
}

Status CheckAddress(std::string_view address) {
  if (address.empty() || address.size() > kAddressBytesMax) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "must be \"host:port\" of 3.." + std::to_string(kAddressBytesMax) + " bytes");
  }
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return MakeError(ErrorCode::kInvalidArgument, "must be \"host:port\", got " + Quote(address));
  }
  std::string_view host = address.substr(0, colon);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') {
      return MakeError(ErrorCode::kInvalidArgument, "bad [IPv6] host in " + Quote(address));
    }
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "an IPv6 host must be in brackets, got " + Quote(address));
  }
  for (const char c : host) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '/' || c == '@') {
      return MakeError(ErrorCode::kInvalidArgument, "bad host in " + Quote(address));
    }
  }
  const std::string_view port_text = address.substr(colon + 1);
  uint32_t port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port < 1 || port > 65535) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "port must be an integer in [1,65535], got " + Quote(address));
  }
  return Status::Ok();
}

}  // namespace myco::api
