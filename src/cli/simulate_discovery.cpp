// `myco simulate discovery`: how close to the nearest holder gradient discovery lands
// (src/sim/discovery.hpp), as a table or one JSON object, with an optional export of the final
// topology. docs/SIMULATION.md explains the figures.
//
// Output contract: with --json, stdout is a pure function of the flags (byte-identical across
// runs with the same seed); wall time and memory go to stderr.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/cli.hpp"
#include "metrics/graph_export.hpp"
#include "sim/discovery.hpp"

namespace myco::cli {
namespace {

using WallClock = std::chrono::steady_clock;
using Json = nlohmann::ordered_json;

// Flag values as typed, parsed strictly by us (see simulate_grow.cpp for why).
struct DiscoveryFlags {
  std::string nodes = "1000";
  std::string queries = "1000";
  std::string holders = "0.01";
  std::string seed = "1";
  std::string rate = "100";
  std::string m = "3";
  std::string max_connections = "100";
  bool json = false;
  std::string export_path;
  bool quiet = false;
};

Result<DiscoveryOptions> ToOptions(const DiscoveryFlags& flags) {
  DiscoveryOptions o;
  int64_t nodes = 0, queries = 0, seed = 0, m = 0, max_connections = 0;
  struct IntFlag {
    const char* name;
    const std::string* text;
    int64_t min;
    int64_t max;
    int64_t* out;
  };
  const std::vector<IntFlag> ints = {
      {"--nodes", &flags.nodes, 2, DiscoveryOptions::kNodesMax, &nodes},
      {"--queries", &flags.queries, 1, DiscoveryOptions::kQueriesMax, &queries},
      {"--seed", &flags.seed, 0, INT64_MAX, &seed},
      {"--max-connections", &flags.max_connections, 1, DiscoveryOptions::kMaxConnectionsMax,
       &max_connections},
      // --m's bound depends on --max-connections: Validate checks it once both are known.
      {"--m", &flags.m, 1, DiscoveryOptions::kMaxConnectionsMax, &m},
  };
  for (const IntFlag& flag : ints) {
    Result<int64_t> value = ParseIntegerFlag(flag.name, *flag.text, flag.min, flag.max);
    if (!value.ok()) return value.error();
    *flag.out = *value;
  }
  Result<double> holders = ParseNumberFlag("--holders", flags.holders);
  if (!holders.ok()) return holders.error();
  Result<double> rate = ParseNumberFlag("--rate", flags.rate);
  if (!rate.ok()) return rate.error();
  o.nodes = static_cast<uint32_t>(nodes);
  o.queries = static_cast<uint64_t>(queries);
  o.seed = static_cast<uint64_t>(seed);
  o.m = static_cast<uint32_t>(m);
  o.max_connections = static_cast<uint32_t>(max_connections);
  o.holders_fraction = *holders;
  o.rate_per_s = *rate;
  if (Status s = o.Validate(); !s.ok()) return s.error();
  return o;
}

// Six decimals: enough for every figure here, and short, stable JSON numbers.
double Round6(double v) { return std::round(v * 1e6) / 1e6; }

Json ReportJson(const DiscoveryReport& r) {
  const DiscoveryOptions& o = r.options;
  Json j;
  j["type"] = "discovery";
  j["seed"] = o.seed;
  j["nodes"] = r.nodes;
  j["holders"] = r.holders;
  j["holders_fraction"] = o.holders_fraction;
  j["holder_amount"] = o.holder_amount;
  j["m"] = o.m;
  j["max_connections"] = o.max_connections;
  j["rate_per_s"] = Round6(o.rate_per_s);
  j["queries"] = r.queries;
  j["answered"] = r.answered;
  j["answered_ratio"] = Round6(r.answered_ratio);
  Json refused = Json::object();
  for (const auto& [cause, count] : r.refused) refused[cause] = count;
  j["refused"] = refused;
  j["unanswered"] = r.unanswered;
  j["unreachable"] = r.unreachable;
  j["compared"] = r.compared;
  j["hops_over_nearest"] = Json{{"median", Round6(r.ratio_median)},
                                {"p90", Round6(r.ratio_p90)},
                                {"max", Round6(r.ratio_max)},
                                {"within_1_5_share", Round6(r.within_1_5_share)},
                                {"exact_share", Round6(r.exact_share)}};
  j["hops_mean"] = Round6(r.hops_mean);
  j["nearest_mean"] = Round6(r.nearest_mean);
  j["hops_histogram"] = r.hops_histogram;
  j["events"] = r.events;
  j["messages_sent"] = r.messages;
  j["message_bytes"] = r.message_bytes;
  j["build_virtual_s"] = Round6(r.build_virtual_s);
  j["virtual_time_s"] = Round6(r.virtual_time_s);
  return j;
}

void PrintTable(const DiscoveryReport& r, double wall_s) {
  const DiscoveryOptions& o = r.options;
  std::printf(
      "simulate discovery: seed %llu, %u nodes, %u hold COMPUTATIONAL_POWER %g (%g of nodes), "
      "%llu queries at %g/s\n",
      static_cast<unsigned long long>(o.seed), r.nodes, r.holders, o.holder_amount,
      o.holders_fraction, static_cast<unsigned long long>(r.queries), o.rate_per_s);
  std::printf(
      "answered:             %llu of %llu (%.2f%%); unanswered %llu; no holder reachable %llu\n",
      static_cast<unsigned long long>(r.answered), static_cast<unsigned long long>(r.queries),
      100 * r.answered_ratio, static_cast<unsigned long long>(r.unanswered),
      static_cast<unsigned long long>(r.unreachable));
  for (const auto& [cause, count] : r.refused) {
    std::printf("refused at publish:   %llu (%s)\n", static_cast<unsigned long long>(count),
                cause.c_str());
  }
  std::printf(
      "hops / nearest:       median %.3f, p90 %.3f, max %.3f over %llu answered queries; "
      "within 1.5x: %.2f%%; at a nearest holder: %.2f%%\n",
      r.ratio_median, r.ratio_p90, r.ratio_max, static_cast<unsigned long long>(r.compared),
      100 * r.within_1_5_share, 100 * r.exact_share);
  std::printf("hops:                 mean %.3f taken, mean %.3f to the nearest holder\n",
              r.hops_mean, r.nearest_mean);
  std::string histogram;
  for (size_t h = 0; h < r.hops_histogram.size(); ++h) {
    if (r.hops_histogram[h] == 0) continue;
    if (!histogram.empty()) histogram += ", ";
    histogram += std::to_string(h) + ": " + std::to_string(r.hops_histogram[h]);
  }
  std::printf("answers by hops:      %s\n", histogram.empty() ? "none" : histogram.c_str());
  std::printf(
      "events: %llu, messages: %llu (%.1f MB), virtual time: %.3f s (build %.3f s), wall: %.2f s, "
      "peak RSS: %.1f MB\n",
      static_cast<unsigned long long>(r.events), static_cast<unsigned long long>(r.messages),
      static_cast<double>(r.message_bytes) / 1e6, r.virtual_time_s, r.build_virtual_s, wall_s,
      static_cast<double>(PeakRssBytes()) / 1e6);
  std::fflush(stdout);
}

class ProgressPrinter {
 public:
  explicit ProgressPrinter(bool quiet) : quiet_(quiet) {}

  void operator()(const DiscoveryProgress& p) {
    if (quiet_ || !throttle_.Due()) return;
    const double wall_s = throttle_.elapsed_s();
    std::fprintf(stderr,
                 "myco: discovery: %s, %u nodes added, %llu queries sent, virtual %.1f s, wall "
                 "%.0f s, %llu events\n",
                 p.phase, p.nodes_added, static_cast<unsigned long long>(p.sent), p.virtual_time_s,
                 wall_s, static_cast<unsigned long long>(p.events));
  }

 private:
  const bool quiet_;
  ProgressThrottle throttle_;
};

int RunSimulateDiscovery(const DiscoveryFlags& flags) {
  Result<DiscoveryOptions> options = ToOptions(flags);
  if (!options.ok()) return PrintError(kExitUsage, options.error().message);
  // Checked before the run: a typo should not cost a long simulation.
  if (!flags.export_path.empty()) {
    if (Status s = CheckWritablePath("--export", flags.export_path); !s.ok()) {
      return PrintError(kExitRuntime, s.error().message);
    }
  }
  ProgressPrinter printer(flags.quiet);
  const auto start = WallClock::now();
  Result<DiscoveryReport> report =
      RunDiscovery(*options, [&printer](const DiscoveryProgress& p) { printer(p); });
  const double wall_s = std::chrono::duration<double>(WallClock::now() - start).count();
  if (!report.ok()) return PrintError(kExitRuntime, report.error().message);
  if (flags.json) {
    std::cout << ReportJson(*report).dump() << '\n' << std::flush;
    if (!flags.quiet) {
      std::fprintf(stderr, "myco: discovery: %.2f s wall, peak RSS %.1f MB\n", wall_s,
                   static_cast<double>(PeakRssBytes()) / 1e6);
    }
  } else {
    PrintTable(*report, wall_s);
  }
  if (!flags.export_path.empty()) {
    if (Status s = WriteGraph(report->graph, report->names, flags.export_path); !s.ok()) {
      return PrintError(kExitRuntime, "--export: " + s.error().message);
    }
  }
  return kExitOk;
}

}  // namespace

void AddSimulateDiscoveryCommand(CLI::App& simulate, CommandAction& action) {
  CLI::App* discovery = simulate.add_subcommand(
      "discovery",
      "Send resource discoveries up the gradient; compare their hops with the nearest holder's "
      "BFS distance (docs/SIMULATION.md)");
  auto flags = std::make_shared<DiscoveryFlags>();
  discovery->add_option("--nodes", flags->nodes, "Nodes in the network, 2..1000000")
      ->type_name("N")
      ->capture_default_str();
  discovery->add_option("--queries", flags->queries, "Discoveries sent from random non-holders")
      ->type_name("N")
      ->capture_default_str();
  discovery
      ->add_option("--holders", flags->holders,
                   "Share of nodes holding the resource (cpu_capacity 64), (0, 1)")
      ->type_name("F")
      ->capture_default_str();
  discovery->add_option("--seed", flags->seed, "Seed of every random draw (same seed, same output)")
      ->type_name("N")
      ->capture_default_str();
  discovery->add_option("--rate", flags->rate, "Queries per virtual second")
      ->type_name("R")
      ->capture_default_str();
  discovery->add_option("--m", flags->m, "Links each newcomer opens (target degree)")
      ->type_name("N")
      ->capture_default_str();
  discovery->add_option("--max-connections", flags->max_connections, "Per-node link cap")
      ->type_name("N")
      ->capture_default_str();
  discovery->add_flag("--json", flags->json, "One JSON object on stdout (deterministic)");
  discovery
      ->add_option("--export", flags->export_path,
                   "Write the final topology: GraphML if FILE ends in .graphml, else an edge list")
      ->type_name("FILE");
  discovery->add_flag("-q,--quiet", flags->quiet, "No progress or timing lines on stderr");
  discovery->callback(
      [flags, &action] { action = [flags] { return RunSimulateDiscovery(*flags); }; });
}

}  // namespace myco::cli
