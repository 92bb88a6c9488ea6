#include "io/config.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cassert>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <utility>

namespace myco {
namespace {

// ---- reading one value ----

// Why a value was refused, and where. `suffix` extends the key path (e.g. "[2]" for a list item).
struct Problem {
  std::string why;
  toml::source_region region;
  std::string suffix;
};
using Check = std::optional<Problem>;

Problem At(const toml::node& node, std::string why, std::string suffix = {}) {
  return Problem{std::move(why), node.source(), std::move(suffix)};
}

const char* TypeWithArticle(toml::node_type type) {
  switch (type) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

Problem WrongType(const toml::node& node, const char* expected) {
  return At(node, std::string("expected ") + expected + ", got " + TypeWithArticle(node.type()));
}

std::string FormatDouble(double v) {
  char buffer[64];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v);
  assert(ec == std::errc());
  std::string text(buffer, end);
  // TOML floats need a fraction or an exponent to stay floats when read back.
  if (std::isfinite(v) && text.find_first_of(".e") == std::string::npos) text += ".0";
  return text;
}

Check ReadInteger(const toml::node& node, int64_t min, int64_t max, int64_t& out) {
  const auto* value = node.as_integer();
  if (value == nullptr) return WrongType(node, "an integer");
  const int64_t v = value->get();
  if (v < min || v > max) {
    return At(node, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                        ", got " + std::to_string(v));
  }
  out = v;
  return std::nullopt;
}

template <typename T>
Check ReadUnsigned(const toml::node& node, int64_t min, int64_t max, T& out) {
  int64_t v = 0;
  if (Check problem = ReadInteger(node, min, max, v)) return problem;
  out = static_cast<T>(v);
  return std::nullopt;
}

Check ReadMilliseconds(const toml::node& node, int64_t min_ms, int64_t max_ms, Duration& out) {
  int64_t v = 0;
  if (Check problem = ReadInteger(node, min_ms, max_ms, v)) return problem;
  out = Milliseconds(v);
  return std::nullopt;
}

// Integers are accepted where a number is expected: "cpu_capacity = 8" means 8.0.
Check ReadNumber(const toml::node& node, double min, double max, double& out) {
  double v = 0;
  if (const auto* f = node.as_floating_point()) {
    v = f->get();
  } else if (const auto* i = node.as_integer()) {
    v = static_cast<double>(i->get());
  } else {
    return WrongType(node, "a number");
  }
  if (!std::isfinite(v) || v < min || v > max) {
    return At(node, "must be between " + FormatDouble(min) + " and " + FormatDouble(max) +
                        ", got " + FormatDouble(v));
  }
  out = v;
  return std::nullopt;
}

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

// Names show up in tables, logs and exported graph files, where whitespace or quotes would
// break columns, so they are restricted to a safe alphabet.
std::optional<std::string> NameProblem(std::string_view name) {
  if (name.empty()) return "must not be empty";
  if (name.size() > kConfigNameCharsMax) {
    return "must be at most " + std::to_string(kConfigNameCharsMax) + " characters, got " +
           std::to_string(name.size());
  }
  if (!std::all_of(name.begin(), name.end(), IsNameChar)) {
    return "must contain only letters, digits, '_', '-' and '.', got '" + std::string(name) + "'";
  }
  return std::nullopt;
}

Check ReadName(const toml::node& node, std::string& out) {
  const auto* value = node.as_string();
  if (value == nullptr) return WrongType(node, "a string");
  if (auto why = NameProblem(value->get())) return At(node, *why);
  out = value->get();
  return std::nullopt;
}

// An array of strings, each checked by `item_problem`; duplicates refused since every list here
// is a set.
Check ReadStringList(const toml::node& node,
                     const std::function<std::optional<std::string>(std::string_view)>& problem,
                     std::vector<std::string>& out) {
  const auto* array = node.as_array();
  if (array == nullptr) return WrongType(node, "an array of strings");
  if (array->size() > kConfigListItemsMax) {
    return At(node, "must have at most " + std::to_string(kConfigListItemsMax) + " items, got " +
                        std::to_string(array->size()));
  }
  std::vector<std::string> items;
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::node& item = *array->get(i);
    const std::string index = "[" + std::to_string(i) + "]";
    const auto* text = item.as_string();
    if (text == nullptr) return At(item, WrongType(item, "a string").why, index);
    if (auto why = problem(text->get())) return At(item, *why, index);
    if (std::find(items.begin(), items.end(), text->get()) != items.end()) {
      return At(item, "duplicate '" + text->get() + "'", index);
    }
    items.push_back(text->get());
  }
  out = std::move(items);
  return std::nullopt;
}

std::optional<std::string> AddressProblem(std::string_view text, bool allow_port_zero) {
  Result<HostPort> parsed = ParseHostPort(text, allow_port_zero);
  if (parsed.ok()) return std::nullopt;
  return parsed.error().message;
}

Check ReadAddress(const toml::node& node, bool allow_port_zero, std::string& out) {
  const auto* value = node.as_string();
  if (value == nullptr) return WrongType(node, "a string (host:port)");
  if (auto why = AddressProblem(value->get(), allow_port_zero)) return At(node, *why);
  out = value->get();
  return std::nullopt;
}

bool HasControlChar(std::string_view text) {
  return std::any_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

// ---- the schema: one entry per key, in the order docs/CONFIG.md lists them ----

using Apply = std::function<Check(const toml::node&, NodeConfig&)>;
struct KeySpec {
  std::string_view name;
  Apply apply;
};

// Lists are ranges of specs so a table's known keys can be searched for suggestions.
const std::vector<KeySpec>& LocationKeys() {
  static const std::vector<KeySpec> kKeys = {
      {"region", [](const toml::node& n, NodeConfig& c) { return ReadName(n, c.location.region); }},
      {"datacenter",
       [](const toml::node& n, NodeConfig& c) { return ReadName(n, c.location.datacenter); }},
  };
  return kKeys;
}

const std::vector<KeySpec>& TopologyKeys() {
  constexpr int64_t kDayMs = 86'400'000;
  static const std::vector<KeySpec> kKeys = {
      {"target_degree",
       [](const toml::node& n, NodeConfig& c) {
         return ReadUnsigned(n, 1, 100'000, c.topology.target_degree);
       }},
      {"passive_view_max",
       [](const toml::node& n, NodeConfig& c) {
         return ReadUnsigned(n, 0, 100'000, c.topology.passive_view_max);
       }},
      {"walk_length", [](const toml::node& n,
                         NodeConfig& c) { return ReadUnsigned(n, 1, 64, c.topology.walk_length); }},
      {"walk_extensions_max",
       [](const toml::node& n, NodeConfig& c) {
         return ReadUnsigned(n, 0, 64, c.topology.walk_extensions_max);
       }},
      {"pex_sample_size",
       [](const toml::node& n, NodeConfig& c) {
         return ReadUnsigned(n, 1, 1024, c.topology.pex_sample_size);
       }},
      {"dials_in_flight_max",
       [](const toml::node& n, NodeConfig& c) {
         return ReadUnsigned(n, 1, 1024, c.topology.dials_in_flight_max);
       }},
      {"dial_failures_max",
       [](const toml::node& n, NodeConfig& c) {
         return ReadUnsigned(n, 1, 1000, c.topology.dial_failures_max);
       }},
      {"heartbeat_ms",
       [](const toml::node& n, NodeConfig& c) {
         return ReadMilliseconds(n, 10, 3'600'000, c.topology.heartbeat_period);
       }},
      {"failure_timeout_ms",
       [](const toml::node& n, NodeConfig& c) {
         return ReadMilliseconds(n, 10, kDayMs, c.topology.failure_timeout);
       }},
      {"handshake_timeout_ms",
       [](const toml::node& n, NodeConfig& c) {
         return ReadMilliseconds(n, 100, 600'000, c.topology.handshake_timeout);
       }},
      {"shuffle_period_ms",
       [](const toml::node& n, NodeConfig& c) {
         return ReadMilliseconds(n, 100, kDayMs, c.topology.shuffle_period);
       }},
      {"redial_backoff_ms",
       [](const toml::node& n, NodeConfig& c) {
         return ReadMilliseconds(n, 10, kDayMs, c.topology.redial_backoff);
       }},
      {"map_flood_radius",
       [](const toml::node& n, NodeConfig& c) {
         return ReadUnsigned(n, 0, 64, c.topology.map_flood_radius);
       }},
      {"map_entries_max",
       [](const toml::node& n, NodeConfig& c) {
         return ReadUnsigned(n, 1, 10'000'000, c.topology.map_entries_max);
       }},
      {"map_refresh_period_ms",
       [](const toml::node& n, NodeConfig& c) {
         return ReadMilliseconds(n, 1000, kDayMs, c.topology.map_refresh_period);
       }},
      {"link_bandwidth_bytes_per_s",
       [](const toml::node& n, NodeConfig& c) {
         return ReadNumber(n, 1, 1e12, c.topology.link_bandwidth_bytes_per_s);
       }},
  };
  return kKeys;
}

const std::vector<KeySpec>& TopLevelKeys() {
  static const std::vector<KeySpec> kKeys = {
      {"node_id", [](const toml::node& n, NodeConfig& c) { return ReadName(n, c.node_id); }},
      {"node_type", [](const toml::node& n, NodeConfig& c) { return ReadName(n, c.node_type); }},
      {"location", nullptr},  // a table, handled by ApplyTable
      {"cpu_capacity",
       [](const toml::node& n, NodeConfig& c) {
         return ReadNumber(n, 0, kConfigCapacityMax, c.cpu_capacity);
       }},
      {"memory_capacity",
       [](const toml::node& n, NodeConfig& c) {
         return ReadNumber(n, 0, kConfigCapacityMax, c.memory_capacity);
       }},
      {"knowledge_capacity",
       [](const toml::node& n, NodeConfig& c) {
         return ReadNumber(n, 0, kConfigCapacityMax, c.knowledge_capacity);
       }},
      {"max_connections",
       [](const toml::node& n, NodeConfig& c) {
         return ReadUnsigned(n, 1, 100'000, c.max_connections);
       }},
      {"specializations",
       [](const toml::node& n, NodeConfig& c) {
         return ReadStringList(n, NameProblem, c.specializations);
       }},
      {"interests", [](const toml::node& n,
                       NodeConfig& c) { return ReadStringList(n, NameProblem, c.interests); }},
      {"listen", [](const toml::node& n, NodeConfig& c) { return ReadAddress(n, true, c.listen); }},
      {"api", [](const toml::node& n, NodeConfig& c) { return ReadAddress(n, true, c.api); }},
      {"bootstrap",
       [](const toml::node& n, NodeConfig& c) {
         return ReadStringList(
             n, [](std::string_view a) { return AddressProblem(a, false); }, c.bootstrap);
       }},
      {"data_dir",
       [](const toml::node& n, NodeConfig& c) -> Check {
         const auto* value = n.as_string();
         if (value == nullptr) return WrongType(n, "a string");
         const std::string& dir = value->get();
         if (dir.empty()) return At(n, "must not be empty");
         if (dir.size() > 4096) return At(n, "must be at most 4096 bytes");
         if (HasControlChar(dir)) return At(n, "must not contain control characters");
         c.data_dir = dir;
         return std::nullopt;
       }},
      {"network_secret",
       [](const toml::node& n, NodeConfig& c) -> Check {
         const auto* value = n.as_string();
         if (value == nullptr) return WrongType(n, "a string");
         const size_t size = value->get().size();
         // The secret is never echoed back, only its length.
         if (size != 0 && (size < kNetworkSecretCharsMin || size > kNetworkSecretCharsMax)) {
           return At(n, "must be empty or " + std::to_string(kNetworkSecretCharsMin) + " to " +
                            std::to_string(kNetworkSecretCharsMax) + " characters, got " +
                            std::to_string(size));
         }
         c.network_secret = value->get();
         return std::nullopt;
       }},
      {"allowed_nodes",
       [](const toml::node& n, NodeConfig& c) -> Check {
         const auto* array = n.as_array();
         if (array == nullptr) return WrongType(n, "an array of node ids (64 hex characters)");
         if (array->size() > kAllowedNodesMax) {
           return At(n, "must have at most " + std::to_string(kAllowedNodesMax) + " items, got " +
                            std::to_string(array->size()));
         }
         std::vector<NodeId> ids;
         for (size_t i = 0; i < array->size(); ++i) {
           const toml::node& item = *array->get(i);
           const std::string index = "[" + std::to_string(i) + "]";
           const auto* text = item.as_string();
           if (text == nullptr) return At(item, WrongType(item, "a string").why, index);
           Result<NodeId> id = NodeId::FromHex(text->get());
           if (!id.ok() || text->get().size() != 64) {
             return At(
                 item,
                 "expected a node id of 64 hex characters, got '" + text->get().substr(0, 80) + "'",
                 index);
           }
           if (std::find(ids.begin(), ids.end(), *id) != ids.end()) {
             return At(item, "duplicate '" + text->get() + "'", index);
           }
           ids.push_back(*id);
         }
         c.allowed_nodes = std::move(ids);
         return std::nullopt;
       }},
      {"topology", nullptr},
  };
  return kKeys;
}

struct TableSchema {
  std::string_view path;  // "" for the root
  const std::vector<KeySpec>* keys;
};

std::vector<TableSchema> AllTables() {
  return {{"", &TopLevelKeys()}, {"location", &LocationKeys()}, {"topology", &TopologyKeys()}};
}

std::string JoinPath(std::string_view table, std::string_view key) {
  if (table.empty()) return std::string(key);
  return std::string(table) + "." + std::string(key);
}

// The closest known key in this table, or an exact match of the bare name in another table
// (a topology knob written at the top level, say).
std::string Suggestion(std::string_view table, std::string_view key) {
  const std::vector<TableSchema> tables = AllTables();
  size_t best_distance = SIZE_MAX;
  std::string best;
  for (const TableSchema& schema : tables) {
    if (schema.path != table) continue;
    for (const KeySpec& spec : *schema.keys) {
      const size_t d = EditDistance(key, spec.name);
      if (d < best_distance) {
        best_distance = d;
        best = JoinPath(table, spec.name);
      }
    }
  }
  // Two edits, or a third of the key, still reads as a typo rather than another word.
  if (best_distance <= std::max<size_t>(2, key.size() / 3)) return best;
  for (const TableSchema& schema : tables) {
    for (const KeySpec& spec : *schema.keys) {
      if (spec.name == key) return JoinPath(schema.path, spec.name);
    }
  }
  return {};
}

class ConfigReader {
 public:
  explicit ConfigReader(std::string_view source) : source_(source) {}

  Status Read(const toml::table& root, NodeConfig& config) {
    if (Status s = ApplyTable(root, "", TopLevelKeys(), config); !s.ok()) return s;
    config.topology.max_connections = config.max_connections;
    config.topology.bootstrap = config.bootstrap;
    return CrossCheck(config);
  }

 private:
  Status ApplyTable(const toml::table& table, std::string_view path,
                    const std::vector<KeySpec>& keys, NodeConfig& config) {
    // Report the first problem in file order, not in the table's (alphabetical) order.
    std::vector<std::pair<const toml::key*, const toml::node*>> entries;
    for (const auto& [key, node] : table) entries.emplace_back(&key, &node);
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
      const auto& l = a.first->source().begin;
      const auto& r = b.first->source().begin;
      return std::pair(l.line, l.column) < std::pair(r.line, r.column);
    });
    for (const auto& [key, node] : entries) {
      const std::string_view name = key->str();
      const std::string full = JoinPath(path, name);
      const auto spec = std::find_if(keys.begin(), keys.end(),
                                     [name](const KeySpec& s) { return s.name == name; });
      if (spec == keys.end()) {
        std::string message = "unknown key '" + full + "'";
        if (std::string hint = Suggestion(path, key->str()); !hint.empty()) {
          message += " (did you mean '" + hint + "'?)";
        }
        return Fail(key->source(), message);
      }
      regions_[full] = node->source();
      if (spec->apply == nullptr) {
        const auto* sub = node->as_table();
        if (sub == nullptr)
          return Fail(node->source(), full + ": " + WrongType(*node, "a table").why);
        const auto& sub_keys = key->str() == "location" ? LocationKeys() : TopologyKeys();
        if (Status s = ApplyTable(*sub, full, sub_keys, config); !s.ok()) return s;
        continue;
      }
      if (Check problem = spec->apply(*node, config)) {
        return Fail(problem->region, full + problem->suffix + ": " + problem->why);
      }
    }
    return Status::Ok();
  }

  // Bounds that involve two keys, reported at the key the user most likely got wrong.
  Status CrossCheck(const NodeConfig& config) {
    const TopologyConfig& t = config.topology;
    if (t.target_degree > config.max_connections) {
      return Fail(RegionOf("topology.target_degree", "max_connections"),
                  "topology.target_degree: must be at most max_connections (" +
                      std::to_string(config.max_connections) + "), got " +
                      std::to_string(t.target_degree));
    }
    if (t.failure_timeout < t.heartbeat_period) {
      return Fail(RegionOf("topology.failure_timeout_ms", "topology.heartbeat_ms"),
                  "topology.failure_timeout_ms: must be at least topology.heartbeat_ms (" +
                      std::to_string(t.heartbeat_period.ns / 1'000'000) + "), got " +
                      std::to_string(t.failure_timeout.ns / 1'000'000));
    }
    // The protocol's own check is the last word, in case it learns bounds this file does not.
    if (Status s = t.Validate(); !s.ok()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       std::string(source_) + ": topology: " + s.error().message);
    }
    return Status::Ok();
  }

  std::optional<toml::source_region> RegionOf(const std::string& first,
                                              const std::string& second) const {
    if (auto it = regions_.find(first); it != regions_.end()) return it->second;
    if (auto it = regions_.find(second); it != regions_.end()) return it->second;
    return std::nullopt;
  }

  Error Fail(const std::optional<toml::source_region>& region, const std::string& message) const {
    std::string where(source_);
    if (region.has_value() && region->begin.line > 0) {
      where +=
          ":" + std::to_string(region->begin.line) + ":" + std::to_string(region->begin.column);
    }
    return MakeError(ErrorCode::kInvalidArgument, where + ": " + message);
  }

  std::string_view source_;
  std::map<std::string, toml::source_region> regions_;
};

// ---- writing ----

std::string TomlString(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\u%04x", u);
      out += escape;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string TomlStringArray(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ", ";
    out += TomlString(items[i]);
  }
  return out + "]";
}

std::string Ms(Duration d) { return std::to_string(d.ns / 1'000'000); }

}  // namespace

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

Result<HostPort> ParseHostPort(std::string_view text, bool allow_port_zero) {
  auto bad = [&] {
    return MakeError(ErrorCode::kInvalidArgument,
                     "expected host:port, got '" + std::string(text) + "'");
  };
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) return bad();
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return bad();
    host = host.substr(1, host.size() - 2);
    const bool ipv6_chars = std::all_of(host.begin(), host.end(), [](char c) {
      return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
    });
    if (!ipv6_chars) return bad();
  } else {
    // A bare IPv6 address is ambiguous with its port; it needs brackets.
    const bool name_chars = std::all_of(host.begin(), host.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
    });
    if (!name_chars || host.size() > 253) return bad();
  }
  uint32_t port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port_text.size() > 5) {
    return bad();
  }
  const uint32_t port_min = allow_port_zero ? 0 : 1;
  if (port < port_min || port > 65535) {
    return MakeError(ErrorCode::kInvalidArgument, "port must be between " +
                                                      std::to_string(port_min) +
                                                      " and 65535, got " + std::string(port_text));
  }
  return HostPort{.host = std::string(host), .port = static_cast<uint16_t>(port)};
}

Result<NodeConfig> ParseNodeConfig(std::string_view toml_text, std::string_view source_name) {
  NodeConfig config;
  try {
    const toml::table root = toml::parse(toml_text, source_name);
    ConfigReader reader(source_name);
    if (Status s = reader.Read(root, config); !s.ok()) return s.error();
  } catch (const toml::parse_error& e) {
    const auto& begin = e.source().begin;
    return MakeError(ErrorCode::kParse, std::string(source_name) + ":" +
                                            std::to_string(begin.line) + ":" +
                                            std::to_string(begin.column) +
                                            ": syntax error: " + std::string(e.description()));
  } catch (const std::exception& e) {
    return MakeError(ErrorCode::kInternal,
                     std::string(source_name) + ": cannot parse: " + std::string(e.what()));
  }
  return config;
}

Status ValidateNodeConfig(NodeConfig& c) {
  auto fail = [](std::string_view key, const std::string& why) -> Status {
    return MakeError(ErrorCode::kInvalidArgument, std::string(key) + ": " + why);
  };
  const std::pair<std::string_view, const std::string*> names[] = {
      {"node_id", &c.node_id},
      {"node_type", &c.node_type},
      {"location.region", &c.location.region},
      {"location.datacenter", &c.location.datacenter}};
  for (const auto& [key, value] : names) {
    if (auto why = NameProblem(*value)) return fail(key, *why);
  }
  for (const auto* list : {&c.specializations, &c.interests}) {
    const std::string_view key = list == &c.specializations ? "specializations" : "interests";
    if (list->size() > kConfigListItemsMax) {
      return fail(key, "must have at most " + std::to_string(kConfigListItemsMax) + " items");
    }
    for (const std::string& item : *list) {
      if (auto why = NameProblem(item)) return fail(key, *why);
    }
  }
  for (const double v : {c.cpu_capacity, c.memory_capacity, c.knowledge_capacity}) {
    if (!std::isfinite(v) || v < 0 || v > kConfigCapacityMax) {
      return fail("capacity", "must be between 0 and " + FormatDouble(kConfigCapacityMax) +
                                  ", got " + FormatDouble(v));
    }
  }
  if (c.max_connections < 1 || c.max_connections > 100'000) {
    return fail("max_connections",
                "must be between 1 and 100000, got " + std::to_string(c.max_connections));
  }
  if (auto why = AddressProblem(c.listen, true)) return fail("listen", *why);
  if (auto why = AddressProblem(c.api, true)) return fail("api", *why);
  if (c.bootstrap.size() > kConfigListItemsMax) {
    return fail("bootstrap", "must have at most " + std::to_string(kConfigListItemsMax) + " items");
  }
  for (size_t i = 0; i < c.bootstrap.size(); ++i) {
    if (auto why = AddressProblem(c.bootstrap[i], false)) return fail("bootstrap", *why);
    for (size_t j = 0; j < i; ++j) {
      if (c.bootstrap[j] == c.bootstrap[i]) {
        return fail("bootstrap", "duplicate '" + c.bootstrap[i] + "'");
      }
    }
  }
  if (c.data_dir.empty()) return fail("data_dir", "must not be empty");
  if (c.data_dir.size() > 4096) return fail("data_dir", "must be at most 4096 bytes");
  if (HasControlChar(c.data_dir)) return fail("data_dir", "must not contain control characters");
  const size_t secret = c.network_secret.size();
  if (secret != 0 && (secret < kNetworkSecretCharsMin || secret > kNetworkSecretCharsMax)) {
    return fail("network_secret", "must be empty or " + std::to_string(kNetworkSecretCharsMin) +
                                      " to " + std::to_string(kNetworkSecretCharsMax) +
                                      " characters, got " + std::to_string(secret));
  }
  if (c.allowed_nodes.size() > kAllowedNodesMax) {
    return fail("allowed_nodes",
                "must have at most " + std::to_string(kAllowedNodesMax) + " items");
  }
  c.topology.max_connections = c.max_connections;
  c.topology.bootstrap = c.bootstrap;
  const TopologyConfig& t = c.topology;
  if (t.target_degree > c.max_connections) {
    return fail("topology.target_degree", "must be at most max_connections (" +
                                              std::to_string(c.max_connections) + "), got " +
                                              std::to_string(t.target_degree));
  }
  if (Status s = t.Validate(); !s.ok()) return fail("topology", s.error().message);
  return Status::Ok();
}

Result<NodeConfig> LoadNodeConfig(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return MakeError(ErrorCode::kNotFound, "cannot read '" + path + "': " + std::strerror(errno));
  }
  std::string text;
  char buffer[8192];
  size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof buffer, file)) > 0) {
    text.append(buffer, got);
    if (text.size() > kConfigFileBytesMax) {
      std::fclose(file);
      return MakeError(ErrorCode::kTooLarge, "'" + path + "' is larger than " +
                                                 std::to_string(kConfigFileBytesMax) +
                                                 " bytes; not a config file?");
    }
  }
  const bool failed = std::ferror(file) != 0;
  const int read_errno = errno;
  std::fclose(file);
  if (failed) {
    return MakeError(ErrorCode::kNotFound,
                     "cannot read '" + path + "': " + std::strerror(read_errno));
  }
  return ParseNodeConfig(text, path);
}

std::string FormatNodeConfig(const NodeConfig& c) {
  const TopologyConfig& t = c.topology;
  std::string out;
  auto line = [&out](std::string_view key, const std::string& value) {
    out.append(key).append(" = ").append(value).append("\n");
  };
  line("node_id", TomlString(c.node_id));
  line("node_type", TomlString(c.node_type));
  line("cpu_capacity", FormatDouble(c.cpu_capacity));
  line("memory_capacity", FormatDouble(c.memory_capacity));
  line("knowledge_capacity", FormatDouble(c.knowledge_capacity));
  line("max_connections", std::to_string(c.max_connections));
  line("specializations", TomlStringArray(c.specializations));
  line("interests", TomlStringArray(c.interests));
  line("listen", TomlString(c.listen));
  line("api", TomlString(c.api));
  line("bootstrap", TomlStringArray(c.bootstrap));
  line("data_dir", TomlString(c.data_dir));
  std::vector<std::string> allowed;
  for (const NodeId& id : c.allowed_nodes) allowed.push_back(id.Hex());
  line("allowed_nodes", TomlStringArray(allowed));
  if (c.network_secret.empty()) {
    out += "# network_secret is not set: any node may join\n";
  } else {
    out += "# network_secret is set (" + std::to_string(c.network_secret.size()) +
           " characters, not shown)\n";
  }
  out += "\n[location]\n";
  line("region", TomlString(c.location.region));
  line("datacenter", TomlString(c.location.datacenter));
  out += "\n[topology]\n";
  line("target_degree", std::to_string(t.target_degree));
  line("passive_view_max", std::to_string(t.passive_view_max));
  line("walk_length", std::to_string(t.walk_length));
  line("walk_extensions_max", std::to_string(t.walk_extensions_max));
  line("pex_sample_size", std::to_string(t.pex_sample_size));
  line("dials_in_flight_max", std::to_string(t.dials_in_flight_max));
  line("dial_failures_max", std::to_string(t.dial_failures_max));
  line("heartbeat_ms", Ms(t.heartbeat_period));
  line("failure_timeout_ms", Ms(t.failure_timeout));
  line("handshake_timeout_ms", Ms(t.handshake_timeout));
  line("shuffle_period_ms", Ms(t.shuffle_period));
  line("redial_backoff_ms", Ms(t.redial_backoff));
  line("map_flood_radius", std::to_string(t.map_flood_radius));
  line("map_entries_max", std::to_string(t.map_entries_max));
  line("map_refresh_period_ms", Ms(t.map_refresh_period));
  line("link_bandwidth_bytes_per_s", FormatDouble(t.link_bandwidth_bytes_per_s));
  return out;
}

}  // namespace myco
