// `myco simulate broadcast`: the broadcast scenario (src/sim/broadcast_scenario.hpp) for one mode
// or for Plumtree, flood and gossip side by side on the same grown network, as a table or JSON
// lines, with an optional per-broadcast CSV and topology export. docs/SIMULATION.md explains the
// figures.
//
// Output contract: with --json, stdout is a pure function of the flags (byte-identical across
// runs); wall time, events per second and memory go to stderr. The table view mixes both.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "cli/cli.hpp"
#include "core/messages.hpp"
#include "metrics/graph_export.hpp"
#include "sim/broadcast_scenario.hpp"

namespace myco::cli {
namespace {

using WallClock = std::chrono::steady_clock;
using Json = nlohmann::ordered_json;

// Flag values as typed, parsed strictly by us (see simulate_grow.cpp for why).
struct BroadcastFlags {
  std::string nodes = "1000";
  std::string messages = "100";
  std::string mode = "all";
  std::string failure_rate = "0";
  std::string seed = "1";
  std::string rate = "100";
  std::string ttl = "64";
  std::string warmup;  // empty: 10% of --messages
  std::string bandwidth = "12500000";
  bool priority_mix = false;
  std::string m = "3";
  std::string max_connections = "100";
  std::string graft_timeout_ms = "2000";
  std::string ihave_batch_ms = "500";
  std::string optimization_threshold = "0";
  std::string trees = "16";
  std::string fanout = "4";
  bool json = false;
  std::string csv_path;
  std::string export_path;
  bool quiet = false;
};

struct Parsed {
  BroadcastOptions options;
  std::vector<BroadcastMode> modes;
};

Result<Parsed> ToOptions(const BroadcastFlags& flags) {
  Parsed parsed;
  BroadcastOptions& o = parsed.options;
  int64_t nodes = 0, messages = 0, seed = 0, ttl = 0, warmup = -1, m = 0, max_connections = 0,
          graft_ms = 0, ihave_ms = 0, threshold = 0, trees = 0, fanout = 0;
  struct IntFlag {
    const char* name;
    const std::string* text;
    int64_t min;
    int64_t max;
    int64_t* out;
  };
  const std::vector<IntFlag> ints = {
      {"--nodes", &flags.nodes, 2, BroadcastOptions::kNodesMax, &nodes},
      {"--messages", &flags.messages, 1, BroadcastOptions::kMessagesMax, &messages},
      {"--seed", &flags.seed, 0, INT64_MAX, &seed},
      {"--ttl", &flags.ttl, 1, 64, &ttl},
      // --warmup and --m depend on other flags: checked by Validate once all are known.
      {"--warmup", &flags.warmup, INT64_MIN, INT64_MAX, &warmup},
      {"--m", &flags.m, INT64_MIN, INT64_MAX, &m},
      {"--max-connections", &flags.max_connections, 1, BroadcastOptions::kMaxConnectionsMax,
       &max_connections},
      {"--graft-timeout", &flags.graft_timeout_ms, 1, 60'000, &graft_ms},
      {"--ihave-batch", &flags.ihave_batch_ms, 1, 10'000, &ihave_ms},
      {"--optimization-threshold", &flags.optimization_threshold, 0, 64, &threshold},
      {"--trees", &flags.trees, 1, static_cast<int64_t>(TreeBeacon::kTreesMax), &trees},
      {"--fanout", &flags.fanout, 1, 1000, &fanout},
  };
  for (const IntFlag& flag : ints) {
    if (flag.out == &warmup && flag.text->empty()) continue;
    Result<int64_t> value = ParseIntegerFlag(flag.name, *flag.text, flag.min, flag.max);
    if (!value.ok()) return value.error();
    *flag.out = *value;
  }
  if (!flags.warmup.empty() && (warmup < 0 || warmup >= messages)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--warmup must be between 0 and --messages - 1 (" +
                         std::to_string(messages - 1) + "), got " + flags.warmup);
  }
  if (m < 1 || m > max_connections) {
    return MakeError(ErrorCode::kInvalidArgument, "--m must be between 1 and --max-connections (" +
                                                      std::to_string(max_connections) + "), got " +
                                                      std::to_string(m));
  }
  struct NumberFlag {
    const char* name;
    const std::string* text;
    double* out;
  };
  for (const NumberFlag& flag :
       {NumberFlag{"--failure-rate", &flags.failure_rate, &o.failure_rate},
        NumberFlag{"--rate", &flags.rate, &o.rate_per_s},
        NumberFlag{"--bandwidth", &flags.bandwidth, &o.bandwidth_bytes_per_s}}) {
    Result<double> value = ParseNumberFlag(flag.name, *flag.text);
    if (!value.ok()) return value.error();
    *flag.out = *value;
  }
  if (flags.mode == "all") {
    parsed.modes = {BroadcastMode::kPlumtree, BroadcastMode::kFlood, BroadcastMode::kGossip};
  } else {
    Result<BroadcastMode> mode = ParseBroadcastMode(flags.mode);
    if (!mode.ok()) return mode.error();
    parsed.modes = {*mode};
  }
  o.nodes = static_cast<uint32_t>(nodes);
  o.messages = static_cast<uint32_t>(messages);
  o.seed = static_cast<uint64_t>(seed);
  o.ttl = static_cast<uint32_t>(ttl);
  o.warmup = warmup;
  o.priority_mix = flags.priority_mix;
  o.m = static_cast<uint32_t>(m);
  o.max_connections = static_cast<uint32_t>(max_connections);
  o.propagation.graft_timeout = Milliseconds(graft_ms);
  o.propagation.ihave_batch_interval = Milliseconds(ihave_ms);
  o.propagation.optimization_threshold_hops = static_cast<uint32_t>(threshold);
  o.propagation.tree_count = static_cast<uint32_t>(trees);
  o.propagation.gossip_fanout = static_cast<uint32_t>(fanout);
  o.mode = parsed.modes.front();
  if (Status s = o.Validate(); !s.ok()) return s.error();
  return parsed;
}

// ---- formatting ----

double Round6(double v) { return std::round(v * 1e6) / 1e6; }

double PerBroadcast(uint64_t total, const BroadcastReport& r) {
  return static_cast<double>(total) / r.options.messages;
}

Json LatencyJson(const LatencyStats& l) {
  return Json{{"samples", l.samples},
              {"p50_ms", Round6(l.p50_ms)},
              {"p99_ms", Round6(l.p99_ms)},
              {"max_ms", Round6(l.max_ms)}};
}

Json ReportJson(const BroadcastReport& r) {
  const BroadcastOptions& o = r.options;
  const BroadcastSummary& s = r.summary;
  const BroadcastTraffic& t = r.traffic;
  Json j;
  j["type"] = "broadcast";
  j["mode"] = BroadcastModeName(o.mode);
  j["seed"] = o.seed;
  j["nodes"] = o.nodes;
  j["messages"] = o.messages;
  j["rate_per_s"] = o.rate_per_s;
  j["ttl"] = o.ttl;
  j["warmup"] = o.warmup;
  j["failure_rate"] = o.failure_rate;
  j["bandwidth_bytes_per_s"] = o.bandwidth_bytes_per_s;
  j["priority_mix"] = o.priority_mix;
  j["m"] = o.m;
  j["max_connections"] = o.max_connections;
  j["graft_timeout_ms"] = o.propagation.graft_timeout.ns / 1'000'000;
  j["ihave_batch_ms"] = o.propagation.ihave_batch_interval.ns / 1'000'000;
  j["optimization_threshold_hops"] = o.propagation.optimization_threshold_hops;
  j["trees"] = o.propagation.tree_count;
  j["gossip_fanout"] = o.propagation.gossip_fanout;
  j["crashed"] = r.crashed;
  j["live_nodes"] = r.live_nodes;
  j["edges"] = r.edges;
  j["delivery_ratio_mean"] = Round6(s.delivery_ratio_mean);
  j["delivery_ratio_min"] = Round6(s.delivery_ratio_min);
  j["complete_broadcasts"] = s.complete;
  j["delivery_ratio_steady_mean"] = Round6(s.delivery_ratio_steady_mean);
  j["rmr"] = Round6(s.rmr);
  j["rmr_steady"] = Round6(s.rmr_steady);
  j["hop_excess_max"] = s.hop_excess_max;
  j["hop_excess_mean"] = Round6(s.hop_excess_mean);
  j["last_hop_mean"] = Round6(s.last_hop_mean);
  j["eccentricity_mean"] = Round6(s.eccentricity_mean);
  j["latency"] = LatencyJson(s.latency);
  if (o.priority_mix) {
    j["latency_priority_high"] = LatencyJson(s.latency_high);
    j["latency_priority_low"] = LatencyJson(s.latency_low);
  }
  j["per_broadcast"] = Json{
      {"payload_messages", Round6(PerBroadcast(t.payload_messages, r))},
      {"ihave_messages", Round6(PerBroadcast(t.ihave_messages, r))},
      {"ihave_entries", Round6(PerBroadcast(t.ihave_entries, r))},
      {"graft_messages", Round6(PerBroadcast(t.graft_messages, r))},
      {"prune_messages", Round6(PerBroadcast(t.prune_messages, r))},
      {"payload_bytes", Round6(PerBroadcast(t.payload_bytes, r))},
      {"control_bytes", Round6(PerBroadcast(t.control_bytes, r))},
      {"membership_bytes", Round6(PerBroadcast(t.membership_bytes, r))},
  };
  j["traffic"] =
      Json{{"payload_messages", t.payload_messages}, {"payload_bytes", t.payload_bytes},
           {"ihave_messages", t.ihave_messages},     {"ihave_entries", t.ihave_entries},
           {"graft_messages", t.graft_messages},     {"prune_messages", t.prune_messages},
           {"control_bytes", t.control_bytes},       {"membership_messages", t.membership_messages},
           {"membership_bytes", t.membership_bytes}};
  if (!r.failure_buckets.empty()) {
    Json buckets = Json::array();
    for (const FailureBucket& b : r.failure_buckets) {
      buckets.push_back(
          Json{{"first_period", b.first_period},
               {"last_period", b.last_period == UINT32_MAX ? Json(nullptr) : Json(b.last_period)},
               {"broadcasts", b.broadcasts},
               {"delivery_ratio_mean", Round6(b.delivery_ratio_mean)},
               {"delivery_ratio_min", Round6(b.delivery_ratio_min)},
               {"complete", b.complete}});
    }
    j["failure_buckets"] = std::move(buckets);
  }
  const BroadcastTotals& tot = r.totals;
  j["events"] = tot.events;
  j["messages_total"] = tot.messages;
  j["message_bytes_total"] = tot.message_bytes;
  j["verifications"] = tot.verifications;
  j["link_queue_drops"] = tot.link_queue_drops;
  j["build_virtual_s"] = Round6(tot.build_virtual_s);
  j["virtual_time_s"] = Round6(tot.virtual_time_s);
  const BroadcastTree& tree = r.tree;
  j["tree"] = Json{{"roots", tree.roots},
                   {"root_followers", tree.root_followers},
                   {"root_eccentricity", tree.root_eccentricity},
                   {"distance_exact", tree.distance_exact},
                   {"eager_links", tree.eager_links},
                   {"one_sided_links", tree.one_sided_links},
                   {"parent_links_eager", tree.parent_links_eager}};
  return j;
}

void PrintHeader(const BroadcastOptions& o, const std::vector<BroadcastMode>& modes) {
  std::string names;
  for (const BroadcastMode mode : modes) {
    if (!names.empty()) names += ", ";
    names += BroadcastModeName(mode);
  }
  std::printf(
      "simulate broadcast: seed %llu, %u nodes, %u broadcasts of %u bytes at %g/s, ttl %u, "
      "warmup %u, failure rate %g, bandwidth %g B/s%s; modes: %s\n",
      static_cast<unsigned long long>(o.seed), o.nodes, o.messages, BroadcastOptions::kPayloadBytes,
      o.rate_per_s, o.ttl, o.EffectiveWarmup(), o.failure_rate, o.bandwidth_bytes_per_s,
      o.priority_mix ? ", priority mix" : "", names.c_str());
  std::fflush(stdout);
}

void PrintTable(const std::vector<BroadcastReport>& reports, const std::vector<double>& wall_s) {
  std::printf("%-9s %9s %9s %8s %8s %5s %6s %9s %9s %9s %8s %9s %9s %7s\n", "mode", "delivery",
              "min", "RMR", "RMR_ss", "hop+", "hop+~", "p50_ms", "p99_ms", "payload/b", "ctrl/b",
              "ihave_e/b", "bytes/b", "wall_s");
  for (size_t i = 0; i < reports.size(); ++i) {
    const BroadcastReport& r = reports[i];
    const BroadcastSummary& s = r.summary;
    const BroadcastTraffic& t = r.traffic;
    const uint64_t control = t.ihave_messages + t.graft_messages + t.prune_messages;
    std::printf(
        "%-9s %9.6f %9.6f %8.4f %8.4f %5d %6.2f %9.1f %9.1f %9.1f %8.1f %9.1f %9.0f %7.1f\n",
        BroadcastModeName(r.options.mode), s.delivery_ratio_mean, s.delivery_ratio_min, s.rmr,
        s.rmr_steady, s.hop_excess_max, s.hop_excess_mean, s.latency.p50_ms, s.latency.p99_ms,
        PerBroadcast(t.payload_messages, r), PerBroadcast(control, r),
        PerBroadcast(t.ihave_entries, r), PerBroadcast(t.payload_bytes + t.control_bytes, r),
        wall_s[i]);
  }
  std::printf(
      "delivery: reached / live nodes (mean, min over broadcasts); RMR: payload / (reached - 1) "
      "- 1, all and steady state (after the warmup); hop+: last hop - source eccentricity (max, "
      "mean; steady state); p50/p99: delivery latency (steady state); per broadcast (/b): "
      "payload messages, control messages (IHave + Graft + Prune), IHave entries, payload + "
      "control bytes\n");
  for (const BroadcastReport& r : reports) {
    const BroadcastTotals& t = r.totals;
    std::printf(
        "%s: %u live of %u nodes, %llu edges; %u/%u broadcasts complete; last hop %.2f vs "
        "eccentricity %.2f (mean); membership traffic %.0f bytes/broadcast; %llu link-queue "
        "drops; %llu events, %llu real verifications, virtual %.1f s (build %.1f s)\n",
        BroadcastModeName(r.options.mode), r.live_nodes, r.options.nodes,
        static_cast<unsigned long long>(r.edges), r.summary.complete, r.options.messages,
        r.summary.last_hop_mean, r.summary.eccentricity_mean,
        PerBroadcast(r.traffic.membership_bytes, r),
        static_cast<unsigned long long>(t.link_queue_drops),
        static_cast<unsigned long long>(t.events), static_cast<unsigned long long>(t.verifications),
        t.virtual_time_s, t.build_virtual_s);
    if (r.options.mode == BroadcastMode::kPlumtree) {
      const BroadcastTree& tree = r.tree;
      std::printf(
          "%s tree at the end: %u root(s), %u of %u live nodes follow the main one "
          "(eccentricity %u), %u at their hop distance to it; %llu eager links (a spanning tree "
          "has %u), %llu one-sided; %llu parent links eager\n",
          BroadcastModeName(r.options.mode), tree.roots, tree.root_followers, r.live_nodes,
          tree.root_eccentricity, tree.distance_exact,
          static_cast<unsigned long long>(tree.eager_links), r.live_nodes - 1,
          static_cast<unsigned long long>(tree.one_sided_links),
          static_cast<unsigned long long>(tree.parent_links_eager));
    }
  }
}

void PrintFailureBuckets(const BroadcastReport& r) {
  std::printf(
      "\n%s after crashing %u of %u nodes at once: delivery ratio over the %u live nodes by the "
      "heartbeat period in which a broadcast was sent\n",
      BroadcastModeName(r.options.mode), r.crashed, r.options.nodes, r.live_nodes);
  std::printf("%8s %11s %10s %10s %9s\n", "period", "broadcasts", "mean", "min", "complete");
  for (const FailureBucket& b : r.failure_buckets) {
    char period[16];
    if (b.last_period == UINT32_MAX) {
      std::snprintf(period, sizeof period, "%u+", b.first_period);
    } else {
      std::snprintf(period, sizeof period, "%u", b.first_period);
    }
    std::printf("%8s %11u %10.6f %10.6f %9u\n", period, b.broadcasts, b.delivery_ratio_mean,
                b.delivery_ratio_min, b.complete);
  }
}

void PrintPriorities(const BroadcastReport& r) {
  const BroadcastSummary& s = r.summary;
  std::printf("\n%s priority classes (steady-state deliveries; %llu link-queue drops)\n",
              BroadcastModeName(r.options.mode),
              static_cast<unsigned long long>(r.totals.link_queue_drops));
  std::printf("%9s %11s %10s %10s %10s\n", "priority", "deliveries", "p50_ms", "p99_ms", "max_ms");
  for (const auto& [priority, l] : {std::pair{BroadcastOptions::kHighPriority, s.latency_high},
                                    std::pair{BroadcastOptions::kLowPriority, s.latency_low}}) {
    std::printf("%9.1f %11llu %10.1f %10.1f %10.1f\n", priority,
                static_cast<unsigned long long>(l.samples), l.p50_ms, l.p99_ms, l.max_ms);
  }
  if (s.latency_high.p99_ms > 0) {
    std::printf("p99 ratio (0.1 / 1.0): %.2f\n", s.latency_low.p99_ms / s.latency_high.p99_ms);
  }
}

// ---- files ----

Status WriteRecords(const std::vector<BroadcastReport>& reports, const std::string& path) {
  // Written beside the target and renamed, so the file is complete or absent.
  const std::string tmp = path + ".tmp";
  std::FILE* file = std::fopen(tmp.c_str(), "w");
  if (file == nullptr) {
    return MakeError(ErrorCode::kUnavailable,
                     "cannot write --csv file '" + path + "': " + std::strerror(errno));
  }
  std::fputs(
      "mode,broadcast,source,sent_at_s,priority,live_nodes,reached,delivery_ratio,"
      "payload_received,rmr,last_hop,eccentricity\n",
      file);
  for (const BroadcastReport& r : reports) {
    for (size_t i = 0; i < r.records.size(); ++i) {
      const BroadcastRecord& b = r.records[i];
      const double rmr =
          b.reached > 1 ? static_cast<double>(b.payload_received) / (b.reached - 1) - 1 : 0.0;
      std::fprintf(file, "%s,%zu,%u,%.6f,%.1f,%u,%u,%.6f,%llu,%.6f,%u,%u\n",
                   BroadcastModeName(r.options.mode), i, b.source, b.sent_at_ns / 1e9, b.priority,
                   b.live_nodes, b.reached, b.delivery_ratio(),
                   static_cast<unsigned long long>(b.payload_received), rmr, b.last_hop,
                   b.eccentricity);
    }
  }
  const bool failed = std::fflush(file) != 0 || std::ferror(file) != 0;
  if (std::fclose(file) != 0 || failed) {
    std::remove(tmp.c_str());
    return MakeError(ErrorCode::kUnavailable, "cannot write --csv file '" + path + "'");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    return MakeError(ErrorCode::kUnavailable,
                     "cannot write --csv file '" + path + "': " + ec.message());
  }
  return Status::Ok();
}

// Where one mode's final topology goes. With one mode, FILE itself; with several (--mode all:
// three runs, each ending with its own network) the mode's name goes before the extension, so
// grow's rule still applies: topo.graphml -> topo.plumtree.graphml, edges -> edges.flood.
std::string ExportPath(const std::string& path, BroadcastMode mode, bool several_modes) {
  if (!several_modes) return path;
  const std::filesystem::path p(path);
  const std::string name =
      p.stem().string() + "." + BroadcastModeName(mode) + p.extension().string();
  return (p.parent_path() / name).string();
}

// ---- the command ----

class ProgressPrinter {
 public:
  ProgressPrinter(bool quiet, BroadcastMode mode) : quiet_(quiet), mode_(mode) {}

  void operator()(const BroadcastProgress& p) {
    if (quiet_ || !throttle_.Due()) return;
    const double wall_s = throttle_.elapsed_s();
    const double slice_s = throttle_.slice_s();
    std::fprintf(stderr,
                 "myco: broadcast: %s: %s %u/%u, virtual %.1f s, wall %.0f s, %.0f events/s\n",
                 BroadcastModeName(mode_), BroadcastPhaseName(p.phase), p.done, p.total,
                 p.virtual_time_s, wall_s, static_cast<double>(p.events - last_events_) / slice_s);
    last_events_ = p.events;
  }

 private:
  const bool quiet_;
  const BroadcastMode mode_;
  ProgressThrottle throttle_;
  uint64_t last_events_ = 0;
};

int RunSimulateBroadcast(const BroadcastFlags& flags) {
  Result<Parsed> parsed = ToOptions(flags);
  if (!parsed.ok()) return PrintError(kExitUsage, parsed.error().message);
  const bool several_modes = parsed->modes.size() > 1;
  // Output paths are checked before the run: a typo should not cost a long simulation. FILE
  // itself too with several modes, so that a directory is refused rather than filled with
  // ".plumtree"-style files.
  std::vector<std::pair<const char*, std::string>> outputs;
  if (!flags.csv_path.empty()) outputs.emplace_back("--csv", flags.csv_path);
  if (!flags.export_path.empty()) {
    outputs.emplace_back("--export", flags.export_path);
    if (several_modes) {
      for (const BroadcastMode mode : parsed->modes) {
        outputs.emplace_back("--export", ExportPath(flags.export_path, mode, true));
      }
    }
  }
  for (const auto& [flag, path] : outputs) {
    if (Status s = CheckWritablePath(flag, path); !s.ok()) {
      return PrintError(kExitRuntime, s.error().message);
    }
  }
  const bool table = !flags.json;
  if (table) PrintHeader(parsed->options, parsed->modes);

  std::vector<BroadcastReport> reports;
  std::vector<double> wall_s;
  for (const BroadcastMode mode : parsed->modes) {
    BroadcastOptions options = parsed->options;
    options.mode = mode;
    ProgressPrinter printer(flags.quiet, mode);
    const auto start = WallClock::now();
    Result<BroadcastReport> report =
        RunBroadcast(options, [&printer](const BroadcastProgress& p) { printer(p); });
    const double wall = std::chrono::duration<double>(WallClock::now() - start).count();
    if (!report.ok()) return PrintError(kExitRuntime, report.error().message);
    if (flags.json) std::cout << ReportJson(*report).dump() << '\n' << std::flush;
    if (!flags.quiet) {
      std::fprintf(stderr,
                   "myco: broadcast: %s: %llu events in %.2f s wall (%.0f events/s); peak RSS "
                   "%.1f MB\n",
                   BroadcastModeName(mode), static_cast<unsigned long long>(report->totals.events),
                   wall, wall > 0 ? static_cast<double>(report->totals.events) / wall : 0.0,
                   static_cast<double>(PeakRssBytes()) / 1e6);
    }
    reports.push_back(std::move(report).value());
    wall_s.push_back(wall);
  }

  if (table) {
    PrintTable(reports, wall_s);
    for (const BroadcastReport& r : reports) {
      if (!r.failure_buckets.empty()) PrintFailureBuckets(r);
    }
    for (const BroadcastReport& r : reports) {
      if (r.options.priority_mix) PrintPriorities(r);
    }
    std::printf("peak RSS: %.1f MB\n", static_cast<double>(PeakRssBytes()) / 1e6);
    std::fflush(stdout);
  }
  int exit_code = kExitOk;
  if (!flags.csv_path.empty()) {
    if (Status s = WriteRecords(reports, flags.csv_path); !s.ok()) {
      exit_code = PrintError(kExitRuntime, s.error().message);
    }
  }
  if (!flags.export_path.empty()) {
    for (const BroadcastReport& r : reports) {
      const std::string path = ExportPath(flags.export_path, r.options.mode, several_modes);
      if (Status s = WriteGraph(r.graph, r.names, path); !s.ok()) {
        exit_code = PrintError(kExitRuntime, "--export: " + s.error().message);
      }
    }
  }
  return exit_code;
}

}  // namespace

void AddSimulateBroadcastCommand(CLI::App& simulate, CommandAction& action) {
  CLI::App* cmd = simulate.add_subcommand(
      "broadcast",
      "Broadcast over a grown network: delivery, redundancy (RMR), hops and latency of Plumtree, "
      "flood and gossip (docs/SIMULATION.md)");
  auto flags = std::make_shared<BroadcastFlags>();
  const auto option = [&](const char* name, std::string& value, const char* help,
                          const char* type) {
    cmd->add_option(name, value, help)->type_name(type)->capture_default_str();
  };
  option("--nodes", flags->nodes, "Nodes grown before the broadcasts, 2..1000000", "N");
  option("--messages", flags->messages, "Broadcasts sent (K), 1..10000000", "K");
  option("--mode", flags->mode, "plumtree, flood, gossip, or all (the three on one network)",
         "MODE");
  option("--failure-rate", flags->failure_rate,
         "Share of nodes crashed at once when the broadcasts start, [0, 1)", "F");
  option("--seed", flags->seed, "Seed of every random draw (same seed, same output)", "S");
  option("--rate", flags->rate, "Broadcasts per virtual second", "R");
  option("--ttl", flags->ttl, "Hops a broadcast may take, 1..64", "T");
  cmd->add_option("--warmup", flags->warmup,
                  "Broadcasts left out of the steady-state figures [default: 10% of --messages]")
      ->type_name("W");
  option("--bandwidth", flags->bandwidth, "Link bandwidth per direction, bytes per second",
         "BYTES_PER_S");
  cmd->add_flag("--priority-mix", flags->priority_mix,
                "10% of broadcasts at priority 1.0, 90% at 0.1; latency per class");
  option("--m", flags->m, "Links each newcomer opens while the network grows", "N");
  option("--max-connections", flags->max_connections, "Per-node link cap, 1..100000", "N");
  option("--graft-timeout", flags->graft_timeout_ms,
         "Plumtree: wait this long (ms) for the eager copy before grafting", "MS");
  option("--ihave-batch", flags->ihave_batch_ms,
         "Plumtree: IHave announcements are batched per link this long (ms)", "MS");
  option("--optimization-threshold", flags->optimization_threshold,
         "Plumtree: swap tree links when an announcement is this many hops shorter", "HOPS");
  option("--trees", flags->trees,
         "Plumtree: broadcast trees each node keeps (best-ranked roots), 1..16", "N");
  option("--fanout", flags->fanout, "Gossip: neighbours each packet is pushed to", "N");
  cmd->add_flag("--json", flags->json, "One JSON line per mode on stdout (deterministic)");
  cmd->add_option("--csv", flags->csv_path, "Write one CSV line per broadcast and mode to FILE")
      ->type_name("FILE");
  cmd->add_option("--export", flags->export_path,
                  "Write the final topology of the live nodes (crashed ones left out): GraphML if "
                  "FILE ends in .graphml, else an edge list; with several modes one file per "
                  "mode, the mode's name before the extension")
      ->type_name("FILE");
  cmd->add_flag("-q,--quiet", flags->quiet, "No progress or timing lines on stderr");
  cmd->callback([flags, &action] { action = [flags] { return RunSimulateBroadcast(*flags); }; });
}

}  // namespace myco::cli
