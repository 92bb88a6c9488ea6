// The client commands: `myco status | peers | topology | publish | share | knowledge | connect |
// watch` talk to a running node's HTTP API (docs/API.md). Human tables by default, the API's JSON
// with --json; every failure is one "myco: error:" line and a non-zero exit (cli.hpp).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cli/cli.hpp"
#include "cli/client.hpp"
#include "myco/types.hpp"

namespace myco::cli {
namespace {

using nlohmann::json;

constexpr const char* kDefaultApi = "127.0.0.1:7301";

// Flags every client command takes.
struct Common {
  std::string api;  // empty: $MYCO_API, else kDefaultApi
  std::string token;
  std::string data_dir = "myco-data";
  bool json = false;

  std::string Api() const {
    if (!api.empty()) return api;
    if (const char* env = std::getenv("MYCO_API"); env != nullptr && *env != '\0') return env;
    return kDefaultApi;
  }
  ApiClient Client() const { return ApiClient(Api(), ResolveToken(token, data_dir)); }
};

void AddCommonFlags(CLI::App* command, Common& common, bool json_flag = true) {
  command->add_option("--api", common.api,
                      "The node's API as HOST:PORT (default: $MYCO_API, else 127.0.0.1:7301)");
  command->add_option("--token", common.token,
                      "API token for changes (default: $MYCO_TOKEN, else DATA_DIR/api.token)");
  command
      ->add_option("--data-dir", common.data_dir,
                   "The node's data directory, where api.token lives")
      ->default_str("myco-data");
  if (json_flag)
    command->add_flag("--json", common.json, "Print the API's JSON instead of a table");
}

std::string Dump(const json& value, int indent = -1) {
  return value.dump(indent, ' ', false, json::error_handler_t::replace);
}

// GET or POST, then the reply's JSON; any failure is the one line to print and its exit code.
struct Outcome {
  json body;
  std::string text;  // the raw body (for non-JSON pages)
  int exit_code = kExitOk;
  std::string error;
  bool ok() const { return error.empty(); }
};

Outcome Call(const ApiClient& client, bool post, const std::string& target,
             const std::string& body = "") {
  Outcome outcome;
  auto reply = post ? client.Post(target, body) : client.Get(target);
  if (!reply.ok()) {
    outcome.exit_code =
        reply.error().code == ErrorCode::kInvalidArgument ? kExitUsage : kExitRuntime;
    outcome.error = reply.error().message;
    return outcome;
  }
  if (reply->status < 200 || reply->status >= 300) {
    outcome.exit_code = reply->status == 400 ? kExitUsage : kExitRuntime;
    outcome.error = DescribeHttpError(reply.value());
    return outcome;
  }
  outcome.text = reply->body;
  if (reply->content_type.rfind("application/json", 0) == 0) {
    outcome.body = json::parse(reply->body, nullptr, /*allow_exceptions=*/false);
    if (outcome.body.is_discarded()) {
      outcome.exit_code = kExitRuntime;
      outcome.error = "node API at " + client.address() + " sent malformed JSON";
    }
  }
  return outcome;
}

std::string Str(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return "-";
  return Dump(value);
}

std::string Fixed(const json& value, int decimals) {
  if (!value.is_number()) return "-";
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", decimals, value.get<double>());
  return text;
}

std::string ShortId(const json& value) {
  const std::string id = Str(value);
  return id.size() > 8 ? id.substr(0, 8) : id;
}

std::string HumanDuration(double seconds) {
  const auto total = static_cast<long long>(seconds);
  char text[48];
  if (total >= 3600) {
    std::snprintf(text, sizeof text, "%lldh %02lldm %02llds", total / 3600, total / 60 % 60,
                  total % 60);
  } else if (total >= 60) {
    std::snprintf(text, sizeof text, "%lldm %02llds", total / 60, total % 60);
  } else {
    std::snprintf(text, sizeof text, "%.1fs", seconds);
  }
  return text;
}

// A left-aligned text table; columns as wide as their widest cell.
void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    std::cout << line << '\n';
  }
  std::cout << std::flush;
}

std::string Truncated(std::string text, size_t max) {
  if (text.size() > max) text = text.substr(0, max - 3) + "...";
  return text;
}

std::string UrlEncoded(std::string_view text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

// A JSON-object command-line argument, checked before anything is sent.
Result<json> ObjectArgument(std::string_view name, const std::string& text) {
  const json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string(name) + " is not valid JSON: " + Truncated(text, 60));
  }
  if (!value.is_object()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string(name) + " must be a JSON object like '{\"key\": 1}', got " +
                         Truncated(text, 60));
  }
  return value;
}

Result<json> NodeIdList(const std::vector<std::string>& ids) {
  json list = json::array();
  for (const std::string& id : ids) {
    if (auto parsed = NodeId::FromHex(id); !parsed.ok()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "--to " + Truncated(id, 70) + ": " + parsed.error().message);
    }
    list.push_back(id);
  }
  return list;
}

std::string LocalTime(const json& at_ns) {
  if (!at_ns.is_number_integer()) return "--:--:--.---";
  const int64_t ns = at_ns.get<int64_t>();
  const std::time_t seconds = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm parts{};
  localtime_r(&seconds, &parts);
  char text[32];
  std::snprintf(text, sizeof text, "%02d:%02d:%02d.%03d", parts.tm_hour, parts.tm_min, parts.tm_sec,
                static_cast<int>(ns / 1'000'000 % 1000));
  return text;
}

// One human line per event of /v1/events.
std::string DescribeEvent(const json& e) {
  const std::string kind = Str(e.value("kind", json()));
  std::string line = LocalTime(e.value("at_ns", json())) + "  " + kind;
  if (kind == "delivery") {
    line += "  " + Str(e.value("type", json())) + "  id " + Str(e.value("id", json())) + "  from " +
            ShortId(e.value("origin", json())) + "  hops " + Str(e.value("hops", json()));
    const json payload = e.value("payload", e.value("payload_raw", json()));
    line += "  " + Truncated(Str(payload), 120);
  } else if (kind == "peer_up") {
    line += "  " + ShortId(e.value("peer", json()));
  } else if (kind == "peer_down") {
    line += "  " + ShortId(e.value("peer", json())) + "  (" + Str(e.value("why", json())) + ")";
  } else if (kind == "acked") {
    line += "  id " + Str(e.value("id", json())) + "  by " +
            ShortId(e.value("destination", json())) + "  retries " +
            Str(e.value("retries", json())) + "  rtt " +
            Fixed(e.value("round_trip_ms", json()), 1) + " ms";
  } else if (kind == "failed") {
    line += "  id " + Str(e.value("id", json())) + "  to " +
            ShortId(e.value("destination", json())) + "  (" + Str(e.value("why", json())) + ")";
  } else if (kind == "discovery_answered") {
    line += "  id " + Str(e.value("id", json())) + "  server " +
            ShortId(e.value("server", json())) + "  hops " + Str(e.value("hops", json()));
  } else if (kind == "overflow") {
    line += "  this client fell behind; the node dropped " + Str(e.value("dropped", json())) +
            " events and closed the stream";
  }
  return line;
}

// ---- the commands ----

int RunStatus(const Common& common) {
  const Outcome out = Call(common.Client(), false, "/v1/status");
  if (!out.ok()) return PrintError(out.exit_code, out.error);
  if (common.json) {
    std::cout << Dump(out.body) << std::endl;
    return kExitOk;
  }
  const json& s = out.body;
  const json c = s.value("counters", json::object());
  PrintTable({
      {"node",
       Str(s.value("name", json())) + " (" + ShortId(s.value("local_node_id", json())) + ")"},
      {"id", Str(s.value("local_node_id", json()))},
      {"network", "~" + Str(s.value("network_size_estimate", json())) + " nodes"},
      {"connections", Str(s.value("active_connections", json())) + " active, " +
                          Str(s.value("passive_peers", json())) + " passive peers known"},
      {"health", Fixed(s.value("connection_health_avg", json()), 2) + " average connection health"},
      {"uptime", s.value("uptime_s", json()).is_number()
                     ? HumanDuration(s["uptime_s"].get<double>())
                     : std::string("-")},
      {"messages", "published " + Str(c.value("published", json())) + ", delivered " +
                       Str(c.value("delivered", json())) + ", acked " +
                       Str(c.value("acked", json())) + ", failed " +
                       Str(c.value("delivery_failed", json()))},
      {"knowledge", Str(s.value("knowledge_entries", json())) + " discoveries stored"},
      {"market", Str(s.value("active_requests", json())) + " active requests, " +
                     Str(s.value("active_offers", json())) +
                     " active offers (the resource market is not built yet)"},
  });
  return kExitOk;
}

int RunPeers(const Common& common) {
  const Outcome out = Call(common.Client(), false, "/v1/peers");
  if (!out.ok()) return PrintError(out.exit_code, out.error);
  if (common.json) {
    std::cout << Dump(out.body) << std::endl;
    return kExitOk;
  }
  const json peers = out.body.value("peers", json::array());
  if (peers.empty()) {
    std::cout << "no active peers" << std::endl;
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {
      {"ID", "NAME", "ADDRESS", "DIR", "RTT_MS", "LOSS", "HEALTH", "STRENGTH", "DEGREE"}};
  for (const json& p : peers) {
    rows.push_back({ShortId(p.value("id", json())), Truncated(Str(p.value("name", json())), 24),
                    Str(p.value("address", json())),
                    Str(p.value("direction", json())) == "outbound" ? "out" : "in",
                    Fixed(p.value("rtt_ms", json()), 2), Fixed(p.value("loss", json()), 2),
                    Fixed(p.value("health", json()), 2), Str(p.value("strength", json())),
                    Str(p.value("degree", json()))});
  }
  PrintTable(rows);
  return kExitOk;
}

int RunTopology(const Common& common, const std::string& format) {
  if (format != "text" && format != "json" && format != "dot") {
    return PrintError(kExitUsage, "--format must be text, json or dot, got '" + format + "'");
  }
  const bool raw_json = common.json || format == "json";
  const std::string target = format == "dot" ? "/v1/topology?format=dot" : "/v1/topology";
  const Outcome out = Call(common.Client(), false, target);
  if (!out.ok()) return PrintError(out.exit_code, out.error);
  if (format == "dot") {
    std::cout << out.text << std::flush;
    return kExitOk;
  }
  if (raw_json) {
    std::cout << Dump(out.body) << std::endl;
    return kExitOk;
  }
  const json nodes = out.body.value("nodes", json::array());
  const json edges = out.body.value("edges", json::array());
  std::cout << nodes.size() << " nodes, " << edges.size() << " links known (size estimate: "
            << Str(out.body.value("network_size_estimate", json())) << ")\n";
  std::map<std::string, std::vector<std::string>> neighbours;  // id -> short ids of neighbours
  for (const json& e : edges) {
    const std::string a = Str(e.value("a", json()));
    const std::string b = Str(e.value("b", json()));
    neighbours[a].push_back(b.substr(0, 8));
    neighbours[b].push_back(a.substr(0, 8));
  }
  std::vector<std::vector<std::string>> rows = {{"ID", "NAME", "DEGREE", "NEIGHBOURS"}};
  for (const json& n : nodes) {
    const std::string id = Str(n.value("id", json()));
    std::string list;
    for (const std::string& other : neighbours[id]) list += (list.empty() ? "" : " ") + other;
    std::string name = Str(n.value("name", json()));
    if (n.value("self", false)) name += " (this node)";
    rows.push_back({id.substr(0, 8), name, Str(n.value("degree", json())), Truncated(list, 90)});
  }
  PrintTable(rows);
  return kExitOk;
}

struct PublishArgs {
  std::string type;
  std::string payload;
  double priority = 0.5;
  uint32_t ttl = 15;
  std::vector<std::string> to;
};

int RunPublish(const Common& common, const PublishArgs& args) {
  auto payload = ObjectArgument("JSON", args.payload);
  if (!payload.ok()) return PrintError(kExitUsage, payload.error().message);
  if (!(args.priority >= 0 && args.priority <= 1)) {
    return PrintError(kExitUsage, "--priority must be a number in [0,1]");
  }
  auto to = NodeIdList(args.to);
  if (!to.ok()) return PrintError(kExitUsage, to.error().message);
  json body{{"type", args.type},
            {"payload", payload.value()},
            {"priority", args.priority},
            {"ttl", args.ttl}};
  if (!to->empty()) body["destination_nodes"] = to.value();
  const Outcome out = Call(common.Client(), true, "/v1/messages", Dump(body));
  if (!out.ok()) return PrintError(out.exit_code, out.error);
  if (common.json) {
    std::cout << Dump(out.body) << std::endl;
    return kExitOk;
  }
  const json ids = out.body.value("ids", json::array());
  std::cout << "published " << ids.size() << (ids.size() == 1 ? " packet:" : " packets:");
  for (const json& id : ids) std::cout << ' ' << Str(id);
  std::cout << std::endl;
  return kExitOk;
}

int RunShare(const Common& common, const std::string& type, const std::string& data,
             const std::vector<std::string>& to_ids) {
  auto object = ObjectArgument("JSON", data);
  if (!object.ok()) return PrintError(kExitUsage, object.error().message);
  auto to = NodeIdList(to_ids);
  if (!to.ok()) return PrintError(kExitUsage, to.error().message);
  json body{{"type", type}, {"data", object.value()}};
  if (!to->empty()) body["target_nodes"] = to.value();
  const Outcome out = Call(common.Client(), true, "/v1/knowledge", Dump(body));
  if (!out.ok()) return PrintError(out.exit_code, out.error);
  if (common.json) {
    std::cout << Dump(out.body) << std::endl;
  } else {
    std::cout << "shared discovery " << Str(out.body.value("id", json())) << std::endl;
  }
  return kExitOk;
}

int RunKnowledge(const Common& common, const std::string& type, const std::string& query,
                 int limit) {
  std::string target = "/v1/knowledge?limit=" + std::to_string(limit);
  if (!type.empty()) target += "&type=" + UrlEncoded(type);
  if (!query.empty()) target += "&q=" + UrlEncoded(query);
  const Outcome out = Call(common.Client(), false, target);
  if (!out.ok()) return PrintError(out.exit_code, out.error);
  if (common.json) {
    std::cout << Dump(out.body) << std::endl;
    return kExitOk;
  }
  const json entries = out.body.value("entries", json::array());
  if (entries.empty()) {
    std::cout << "no matching discoveries" << std::endl;
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {{"ID", "TYPE", "ORIGIN", "DATA"}};
  for (const json& e : entries) {
    rows.push_back({Str(e.value("id", json())), Truncated(Str(e.value("type", json())), 32),
                    ShortId(e.value("origin", json())),
                    Truncated(Str(e.value("data", e.value("data_raw", json()))), 80)});
  }
  PrintTable(rows);
  return kExitOk;
}

int RunConnect(const Common& common, const std::vector<std::string>& addresses) {
  const json body{{"addresses", addresses}};
  const Outcome out = Call(common.Client(), true, "/v1/connect", Dump(body));
  if (!out.ok()) return PrintError(out.exit_code, out.error);
  if (common.json) {
    std::cout << Dump(out.body) << std::endl;
    return kExitOk;
  }
  std::cout << "dialing";
  for (const std::string& a : addresses) std::cout << ' ' << a;
  std::cout << std::endl;
  return kExitOk;
}

int RunWatch(const Common& common, int64_t count) {
  int64_t seen = 0;
  bool overflowed = false;
  const ApiClient client = common.Client();
  const Status status = client.Stream("/v1/events", [&](std::string_view data) {
    const json event = json::parse(data, nullptr, /*allow_exceptions=*/false);
    if (common.json) {
      std::cout << data << '\n' << std::flush;
    } else if (event.is_object()) {
      std::cout << DescribeEvent(event) << '\n' << std::flush;
    }
    overflowed = overflowed || (event.is_object() && event.value("kind", "") == "overflow");
    return count <= 0 || ++seen < count;
  });
  if (!status.ok()) return PrintError(kExitRuntime, status.error().message);
  if (overflowed) {
    return PrintError(kExitRuntime, "the node closed the event stream: this client fell behind");
  }
  if (count <= 0 || seen < count) {
    return PrintError(kExitRuntime, "node API at " + client.address() +
                                        " closed the event stream (node stopped?)");
  }
  return kExitOk;
}

}  // namespace

void AddClientCommands(CLI::App& app, CommandAction& action) {
  {
    auto common = std::make_shared<Common>();
    CLI::App* cmd =
        app.add_subcommand("status", "Show a running node's status (get_network_status)");
    AddCommonFlags(cmd, *common);
    cmd->callback([common, &action] { action = [common] { return RunStatus(*common); }; });
  }
  {
    auto common = std::make_shared<Common>();
    CLI::App* cmd = app.add_subcommand("peers", "List a running node's active connections");
    AddCommonFlags(cmd, *common);
    cmd->callback([common, &action] { action = [common] { return RunPeers(*common); }; });
  }
  {
    auto common = std::make_shared<Common>();
    auto format = std::make_shared<std::string>("text");
    CLI::App* cmd = app.add_subcommand("topology", "Show the network map a running node knows of");
    AddCommonFlags(cmd, *common);
    cmd->add_option("--format", *format, "text (a table), json, or dot (Graphviz)")
        ->default_str("text");
    cmd->callback([common, format, &action] {
      action = [common, format] { return RunTopology(*common, *format); };
    });
  }
  {
    auto common = std::make_shared<Common>();
    auto args = std::make_shared<PublishArgs>();
    auto priority = std::make_shared<std::string>("0.5");
    auto ttl = std::make_shared<std::string>("15");
    CLI::App* cmd = app.add_subcommand(
        "publish", "Propagate a message from a running node (propagate_information)");
    AddCommonFlags(cmd, *common);
    cmd->add_option("TYPE", args->type, "Information type, e.g. threat_alert")->required();
    cmd->add_option("JSON", args->payload, "Payload: a JSON object, e.g. '{\"level\":\"high\"}'")
        ->required();
    cmd->add_option("--priority", *priority, "0..1; 1 is critical")->default_str("0.5");
    cmd->add_option("--ttl", *ttl, "Hops the message may travel")->default_str("15");
    cmd->add_option("--to", args->to, "Destination node ids (64 hex digits): targeted delivery");
    cmd->callback([common, args, priority, ttl, &action] {
      action = [common, args, priority, ttl] {
        auto p = ParseNumberFlag("--priority", *priority);
        if (!p.ok()) return PrintError(kExitUsage, p.error().message);
        auto t = ParseIntegerFlag("--ttl", *ttl, 1, 255);
        if (!t.ok()) return PrintError(kExitUsage, t.error().message);
        args->priority = p.value();
        args->ttl = static_cast<uint32_t>(t.value());
        return RunPublish(*common, *args);
      };
    });
  }
  {
    auto common = std::make_shared<Common>();
    auto type = std::make_shared<std::string>();
    auto data = std::make_shared<std::string>();
    auto to = std::make_shared<std::vector<std::string>>();
    CLI::App* cmd = app.add_subcommand(
        "share", "Store and spread a knowledge discovery (share_knowledge_discovery)");
    AddCommonFlags(cmd, *common);
    cmd->add_option("TYPE", *type, "Discovery type, e.g. optimization_insight")->required();
    cmd->add_option("JSON", *data, "The discovery: a JSON object")->required();
    cmd->add_option("--to", *to, "Target node ids (64 hex digits); default: everyone");
    cmd->callback([common, type, data, to, &action] {
      action = [common, type, data, to] { return RunShare(*common, *type, *data, *to); };
    });
  }
  {
    auto common = std::make_shared<Common>();
    auto type = std::make_shared<std::string>();
    auto query = std::make_shared<std::string>();
    auto limit = std::make_shared<std::string>("100");
    CLI::App* cmd =
        app.add_subcommand("knowledge", "Search a running node's knowledge base, newest first");
    AddCommonFlags(cmd, *common);
    cmd->add_option("--type", *type, "Only discoveries of this type");
    cmd->add_option("--query", *query, "Only discoveries containing this text (any case)");
    cmd->add_option("--limit", *limit, "At most this many (1..1000)")->default_str("100");
    cmd->callback([common, type, query, limit, &action] {
      action = [common, type, query, limit] {
        auto n = ParseIntegerFlag("--limit", *limit, 1, 1000);
        if (!n.ok()) return PrintError(kExitUsage, n.error().message);
        return RunKnowledge(*common, *type, *query, static_cast<int>(n.value()));
      };
    });
  }
  {
    auto common = std::make_shared<Common>();
    auto addresses = std::make_shared<std::vector<std::string>>();
    CLI::App* cmd =
        app.add_subcommand("connect", "Ask a running node to join through these addresses");
    AddCommonFlags(cmd, *common);
    cmd->add_option("ADDR", *addresses, "Peer addresses, HOST:PORT")->required();
    cmd->callback([common, addresses, &action] {
      action = [common, addresses] { return RunConnect(*common, *addresses); };
    });
  }
  {
    auto common = std::make_shared<Common>();
    auto count = std::make_shared<std::string>("0");
    CLI::App* cmd = app.add_subcommand(
        "watch", "Follow a running node's deliveries and peer changes, one line per event");
    AddCommonFlags(cmd, *common);
    cmd->add_option("--count", *count, "Stop after this many events (0: follow forever)")
        ->default_str("0");
    cmd->callback([common, count, &action] {
      action = [common, count] {
        auto n = ParseIntegerFlag("--count", *count, 0, 1'000'000'000);
        if (!n.ok()) return PrintError(kExitUsage, n.error().message);
        return RunWatch(*common, n.value());
      };
    });
  }
}

}  // namespace myco::cli
