// `myco simulate stress`: the stress scenario (src/sim/stress.hpp) — a network under node failures
// and doubled load — as a table or one JSON object, with an optional export of the final
// topology. docs/SIMULATION.md explains every figure.
//
// Output contract: with --json, stdout is a pure function of the flags (byte-identical across
// runs with the same seed); anything that depends on the machine (wall time, memory) goes to
// stderr. The table view mixes both, for humans.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/cli.hpp"
#include "metrics/graph_export.hpp"
#include "sim/stress.hpp"

namespace myco::cli {
namespace {

using WallClock = std::chrono::steady_clock;
using Json = nlohmann::ordered_json;

// Flag values as typed, parsed strictly by us (see simulate_grow.cpp for why).
struct StressFlags {
  std::string nodes = "100";
  std::string failure_rate = "0.1";
  std::string seed = "1";
  std::string messages;  // empty: 10 × nodes
  std::string rate;      // empty: the first phase spans 10 virtual seconds
  std::string broadcast_share = "0.2";
  bool targeted_only = false;
  std::string m = "3";
  std::string max_connections = "100";
  std::string map_radius = "16";
  std::string ack_timeout_ms = "2000";
  std::string retries = "3";
  bool json = false;
  std::string export_path;
  bool quiet = false;
};

Result<StressOptions> ToOptions(const StressFlags& flags) {
  StressOptions o;
  int64_t nodes = 0, seed = 0, messages = 0, m = 0, max_connections = 0, map_radius = 0,
          ack_timeout_ms = 0, retries = 0;
  struct IntFlag {
    const char* name;
    const std::string* text;
    int64_t min;
    int64_t max;
    int64_t* out;
  };
  const std::vector<IntFlag> ints = {
      {"--nodes", &flags.nodes, 3, StressOptions::kNodesMax, &nodes},
      {"--seed", &flags.seed, 0, INT64_MAX, &seed},
      {"--messages", &flags.messages, 1, StressOptions::kMessagesMax, &messages},
      {"--max-connections", &flags.max_connections, 1, StressOptions::kMaxConnectionsMax,
       &max_connections},
      // --m's bound depends on --max-connections: Validate checks it once both are known.
      {"--m", &flags.m, 1, StressOptions::kMaxConnectionsMax, &m},
      {"--map-radius", &flags.map_radius, 1, 64, &map_radius},
      {"--ack-timeout-ms", &flags.ack_timeout_ms, 1, 600'000, &ack_timeout_ms},
      {"--retries", &flags.retries, 0, StressOptions::kRetriesMax, &retries},
  };
  for (const IntFlag& flag : ints) {
    if (flag.text->empty() && flag.out == &messages) continue;
    Result<int64_t> value = ParseIntegerFlag(flag.name, *flag.text, flag.min, flag.max);
    if (!value.ok()) return value.error();
    *flag.out = *value;
  }
  Result<double> failure_rate = ParseNumberFlag("--failure-rate", flags.failure_rate);
  if (!failure_rate.ok()) return failure_rate.error();
  Result<double> share = ParseNumberFlag("--broadcast-share", flags.broadcast_share);
  if (!share.ok()) return share.error();
  double rate = 0;
  if (!flags.rate.empty()) {
    Result<double> parsed = ParseNumberFlag("--rate", flags.rate);
    if (!parsed.ok()) return parsed.error();
    if (!(*parsed > 0)) {
      return MakeError(
          ErrorCode::kInvalidArgument,
          "--rate must be a number of messages per virtual second in (0, 1e6], got " + flags.rate);
    }
    rate = *parsed;
  }
  o.nodes = static_cast<uint32_t>(nodes);
  o.failure_rate = *failure_rate;
  o.seed = static_cast<uint64_t>(seed);
  o.messages = static_cast<uint64_t>(messages);
  o.rate_per_s = rate;
  o.broadcast_share = *share;
  o.targeted_only = flags.targeted_only;
  o.m = static_cast<uint32_t>(m);
  o.max_connections = static_cast<uint32_t>(max_connections);
  o.map_flood_radius = static_cast<uint32_t>(map_radius);
  o.ack_timeout = Milliseconds(ack_timeout_ms);
  o.retries_max = static_cast<uint32_t>(retries);
  if (Status s = o.Validate(); !s.ok()) return s.error();
  return o;
}

// ---- JSON ----

// Six decimals: enough for every figure here, and short, stable JSON numbers.
double Round6(double v) { return std::round(v * 1e6) / 1e6; }

Json Optional(const std::optional<double>& v) { return v ? Json(Round6(*v)) : Json(nullptr); }

Json LatencyJson(const LatencySummary& l) {
  return Json{{"samples", l.samples},
              {"p50_ms", Round6(l.p50_ms)},
              {"p99_ms", Round6(l.p99_ms)},
              {"max_ms", Round6(l.max_ms)}};
}

Json PhaseJson(const PhaseReport& p) {
  Json j;
  j["start_s"] = Round6(p.start_s);
  j["duration_s"] = Round6(p.duration_s);
  j["rate_per_s"] = Round6(p.rate_per_s);
  j["messages"] = p.messages;
  j["fulfillment"] = Round6(p.fulfillment);
  Json t;
  t["sent"] = p.targeted;
  t["acked"] = p.targeted_acked;
  t["failed"] = p.targeted_failed;
  t["refused"] = p.targeted_refused;
  t["unresolved"] = p.targeted_unresolved;
  t["delivered"] = p.targeted_delivered;
  t["ack_ratio"] = Round6(p.ack_ratio);
  t["retries"] = p.retries;
  t["retries_per_message"] = Round6(p.retries_per_message);
  t["acked_by_retries"] = p.acked_by_retries;
  t["alternative_path_acks"] = p.alternative_path_acks;
  t["alternative_path_share"] = Round6(p.alternative_path_share);
  Json failures = Json::object();
  for (const auto& [cause, count] : p.failures) failures[cause] = count;
  t["failures"] = failures;
  t["latency"] = LatencyJson(p.targeted_latency);
  t["ack_round_trip"] = LatencyJson(p.ack_round_trip);
  j["targeted"] = t;
  Json b;
  b["sent"] = p.broadcasts;
  b["refused"] = p.broadcasts_refused;
  b["expected_deliveries"] = p.broadcast_expected;
  b["deliveries"] = p.broadcast_delivered;
  b["delivery_ratio"] = Round6(p.delivery_ratio);
  b["latency"] = LatencyJson(p.broadcast_latency);
  j["broadcast"] = b;
  return j;
}

Json ReportJson(const StressReport& r) {
  const StressOptions& o = r.options;
  Json j;
  j["type"] = "stress";
  j["seed"] = o.seed;
  j["nodes"] = r.nodes;
  j["failure_rate"] = o.failure_rate;
  j["messages"] = o.messages;
  j["rate_per_s"] = Round6(o.rate_per_s);
  j["broadcast_share"] = o.targeted_only ? 0.0 : o.broadcast_share;
  j["targeted_only"] = o.targeted_only;
  j["m"] = o.m;
  j["max_connections"] = o.max_connections;
  j["map_radius"] = o.map_flood_radius;
  j["ack_timeout_ms"] = o.ack_timeout.ns / 1'000'000;
  j["retries_max"] = o.retries_max;
  j["crashed"] = r.crashed;
  j["live"] = r.live;
  j["crash_at_s"] = Round6(r.crash_at_s);

  // ORIGINAL_DESIGN.md's resilience dictionary, under its own names.
  Json resilience;
  if (r.degradation) {
    const Degradation& d = *r.degradation;
    resilience["performance_degradation"] =
        Json{{"fulfillment_drop", Round6(d.fulfillment_drop)},
             {"targeted_ack_drop", Round6(d.targeted_ack_drop)},
             {"broadcast_delivery_drop", Round6(d.broadcast_delivery_drop)},
             {"targeted_latency_p50_rise", Round6(d.targeted_latency_p50_rise)},
             {"targeted_latency_p99_rise", Round6(d.targeted_latency_p99_rise)},
             {"broadcast_latency_p50_rise", Round6(d.broadcast_latency_p50_rise)},
             {"broadcast_latency_p99_rise", Round6(d.broadcast_latency_p99_rise)}};
  } else {
    resilience["performance_degradation"] = nullptr;
  }
  resilience["recovery_time_s"] = Optional(r.recovery.recovery_time_s);
  resilience["alternative_path_usage"] =
      Json{{"share", Round6(r.stress.alternative_path_share)},
           {"acks", r.stress.alternative_path_acks},
           {"retries_per_message", Round6(r.stress.retries_per_message)}};
  resilience["fulfillment_rate"] =
      Json{{"targeted_ack_ratio", Round6(r.stress.ack_ratio)},
           {"broadcast_delivery_ratio", Round6(r.stress.delivery_ratio)},
           {"combined", Round6(r.stress.fulfillment)}};
  j["resilience"] = resilience;

  const RecoveryReport& rec = r.recovery;
  j["recovery"] = Json{{"components_at_crash", rec.components_at_crash},
                       {"largest_component_at_crash", rec.largest_component_at_crash},
                       {"failures_detected_s", Optional(rec.failures_detected_s)},
                       {"connected_s", Optional(rec.connected_s)},
                       {"recovery_time_s", Optional(rec.recovery_time_s)},
                       {"checks", rec.checks},
                       {"probes", rec.probes}};
  j["baseline"] = r.baseline ? PhaseJson(*r.baseline) : Json(nullptr);
  j["stress"] = PhaseJson(r.stress);
  const StressTotals& t = r.totals;
  j["events"] = t.events;
  j["messages_sent"] = t.messages;
  j["message_bytes"] = t.message_bytes;
  j["build_virtual_s"] = Round6(t.build_virtual_s);
  j["virtual_time_s"] = Round6(t.virtual_time_s);
  return j;
}

// ---- the table ----

std::string Percent(double share) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f%%", 100 * share);
  return text;
}

std::string SignedPercent(double change) {
  char text[32];
  // + 0.0 turns a negative zero positive: "no change" should not print as "-0.0%".
  std::snprintf(text, sizeof text, "%+.1f%%", 100 * change + 0.0);
  return text;
}

std::string Seconds3(const std::optional<double>& s) {
  if (!s) return "never";
  char text[32];
  std::snprintf(text, sizeof text, "%.3f s", *s);
  return text;
}

// One table line: a label, then the baseline column (if any) and the stress column.
void Line(const char* label, const std::optional<PhaseReport>& base, const PhaseReport& stress,
          const std::function<std::string(const PhaseReport&)>& cell) {
  std::printf("  %-24s %14s %14s\n", label, base ? cell(*base).c_str() : "-", cell(stress).c_str());
}

std::string Count(uint64_t v) { return std::to_string(v); }

std::string Ms(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", v);
  return text;
}

std::string Fixed3(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", v);
  return text;
}

void PrintFailures(const char* name, const PhaseReport& p) {
  if (p.failures.empty()) return;
  std::printf("not acknowledged (%s):\n", name);
  for (const auto& [cause, count] : p.failures) {
    std::printf("  %8llu  %s\n", static_cast<unsigned long long>(count), cause.c_str());
  }
}

void PrintTable(const StressReport& r, double wall_s) {
  const StressOptions& o = r.options;
  std::printf("simulate stress: seed %llu, %u nodes, %u crashed (failure rate %g), %s\n",
              static_cast<unsigned long long>(o.seed), r.nodes, r.crashed, o.failure_rate,
              o.targeted_only ? "targeted messages only" : "broadcasts and targeted messages");
  const std::optional<PhaseReport>& b = r.baseline;
  const PhaseReport& s = r.stress;
  std::printf("  %-24s %14s %14s\n", "", "baseline", o.targeted_only ? "after crash" : "stress");
  Line("messages", b, s, [](const PhaseReport& p) { return Count(p.messages); });
  Line("load (messages/s)", b, s, [](const PhaseReport& p) { return Ms(p.rate_per_s); });
  Line("fulfillment", b, s, [](const PhaseReport& p) { return Percent(p.fulfillment); });
  Line("targeted sent", b, s, [](const PhaseReport& p) { return Count(p.targeted); });
  Line("  acked", b, s, [](const PhaseReport& p) { return Count(p.targeted_acked); });
  Line("  ack ratio", b, s, [](const PhaseReport& p) { return Percent(p.ack_ratio); });
  Line("  failed", b, s, [](const PhaseReport& p) { return Count(p.targeted_failed); });
  Line("  refused at publish", b, s,
       [](const PhaseReport& p) { return Count(p.targeted_refused); });
  Line("  retries per message", b, s,
       [](const PhaseReport& p) { return Fixed3(p.retries_per_message); });
  Line("  alternative-path acks", b, s,
       [](const PhaseReport& p) { return Percent(p.alternative_path_share); });
  Line("  latency p50 (ms)", b, s,
       [](const PhaseReport& p) { return Ms(p.targeted_latency.p50_ms); });
  Line("  latency p99 (ms)", b, s,
       [](const PhaseReport& p) { return Ms(p.targeted_latency.p99_ms); });
  Line("  ack round trip p99 (ms)", b, s,
       [](const PhaseReport& p) { return Ms(p.ack_round_trip.p99_ms); });
  if (!o.targeted_only) {
    Line("broadcasts", b, s, [](const PhaseReport& p) { return Count(p.broadcasts); });
    Line("  delivery ratio", b, s, [](const PhaseReport& p) { return Percent(p.delivery_ratio); });
    Line("  latency p50 (ms)", b, s,
         [](const PhaseReport& p) { return Ms(p.broadcast_latency.p50_ms); });
    Line("  latency p99 (ms)", b, s,
         [](const PhaseReport& p) { return Ms(p.broadcast_latency.p99_ms); });
  }
  std::string histogram;
  for (size_t k = 0; k < s.acked_by_retries.size(); ++k) {
    histogram += (k == 0 ? "" : ", ") + std::to_string(k) + ": " + Count(s.acked_by_retries[k]);
  }
  std::printf("acked after k retries (%s): %s; failed after %u: %llu\n", s.name.c_str(),
              histogram.c_str(), o.retries_max, static_cast<unsigned long long>(s.targeted_failed));
  if (r.degradation) {
    const Degradation& d = *r.degradation;
    std::printf(
        "performance degradation: fulfillment %s, targeted acks %s, broadcast delivery %s (drops); "
        "targeted latency p50 %s, p99 %s; broadcast latency p50 %s, p99 %s (rises)\n",
        SignedPercent(-d.fulfillment_drop).c_str(), SignedPercent(-d.targeted_ack_drop).c_str(),
        SignedPercent(-d.broadcast_delivery_drop).c_str(),
        SignedPercent(d.targeted_latency_p50_rise).c_str(),
        SignedPercent(d.targeted_latency_p99_rise).c_str(),
        SignedPercent(d.broadcast_latency_p50_rise).c_str(),
        SignedPercent(d.broadcast_latency_p99_rise).c_str());
  }
  const RecoveryReport& rec = r.recovery;
  std::printf(
      "recovery: at the crash the %u live nodes formed %u component(s), the largest of %u; "
      "crashed peers gone from every live view after %s; one component after %s; a probe "
      "broadcast reached every live node after %s (recovery_time)\n",
      r.live, rec.components_at_crash, rec.largest_component_at_crash,
      Seconds3(rec.failures_detected_s).c_str(), Seconds3(rec.connected_s).c_str(),
      Seconds3(rec.recovery_time_s).c_str());
  if (b) PrintFailures(b->name.c_str(), *b);
  PrintFailures(s.name.c_str(), s);
  const StressTotals& t = r.totals;
  std::printf(
      "events: %llu, messages: %llu (%.1f MB), virtual time: %.3f s (build %.3f s), wall: %.2f s, "
      "peak RSS: %.1f MB\n",
      static_cast<unsigned long long>(t.events), static_cast<unsigned long long>(t.messages),
      static_cast<double>(t.message_bytes) / 1e6, t.virtual_time_s, t.build_virtual_s, wall_s,
      static_cast<double>(PeakRssBytes()) / 1e6);
  std::fflush(stdout);
}

class ProgressPrinter {
 public:
  explicit ProgressPrinter(bool quiet) : quiet_(quiet) {}

  void operator()(const StressProgress& p) {
    if (quiet_ || !throttle_.Due()) return;
    const double wall_s = throttle_.elapsed_s();
    std::fprintf(stderr,
                 "myco: stress: %s, %u nodes added, %llu messages sent, virtual %.1f s, wall %.0f "
                 "s, %llu events\n",
                 p.phase, p.nodes_added, static_cast<unsigned long long>(p.sent), p.virtual_time_s,
                 wall_s, static_cast<unsigned long long>(p.events));
  }

 private:
  const bool quiet_;
  ProgressThrottle throttle_;
};

int RunSimulateStress(const StressFlags& flags) {
  Result<StressOptions> options = ToOptions(flags);
  if (!options.ok()) return PrintError(kExitUsage, options.error().message);
  // Checked before the run: a typo should not cost a long simulation.
  if (!flags.export_path.empty()) {
    if (Status s = CheckWritablePath("--export", flags.export_path); !s.ok()) {
      return PrintError(kExitRuntime, s.error().message);
    }
  }
  ProgressPrinter printer(flags.quiet);
  const auto start = WallClock::now();
  Result<StressReport> report =
      RunStress(*options, [&printer](const StressProgress& p) { printer(p); });
  const double wall_s = std::chrono::duration<double>(WallClock::now() - start).count();
  if (!report.ok()) return PrintError(kExitRuntime, report.error().message);
  if (flags.json) {
    std::cout << ReportJson(*report).dump() << '\n' << std::flush;
    if (!flags.quiet) {
      std::fprintf(stderr, "myco: stress: %.2f s wall, peak RSS %.1f MB\n", wall_s,
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

void AddSimulateStressCommand(CLI::App& simulate, CommandAction& action) {
  CLI::App* stress = simulate.add_subcommand(
      "stress",
      "Crash a share of a network under doubled load; measure degradation, recovery time, "
      "alternative paths and fulfilment (docs/SIMULATION.md)");
  auto flags = std::make_shared<StressFlags>();
  stress->add_option("--nodes", flags->nodes, "Nodes in the network, 3..4096")
      ->type_name("N")
      ->capture_default_str();
  stress
      ->add_option("--failure-rate", flags->failure_rate, "Share of nodes crashed at once, [0, 1)")
      ->type_name("F")
      ->capture_default_str();
  stress->add_option("--seed", flags->seed, "Seed of every random draw (same seed, same output)")
      ->type_name("N")
      ->capture_default_str();
  stress
      ->add_option("--messages", flags->messages,
                   "K: the baseline sends K/2, the stress phase K [default: 10 x nodes]")
      ->type_name("K");
  stress
      ->add_option("--rate", flags->rate,
                   "Baseline load in messages per virtual second (targeted-only: the rate of "
                   "the K messages) [default: the phase spans 10 s]")
      ->type_name("R");
  stress
      ->add_option("--broadcast-share", flags->broadcast_share,
                   "Share of broadcasts in the mix, [0, 1]")
      ->type_name("S")
      ->capture_default_str();
  stress->add_flag("--targeted-only", flags->targeted_only,
                   "No baseline, no broadcasts: crash, then K targeted messages at --rate");
  stress->add_option("--m", flags->m, "Links each newcomer opens (target degree)")
      ->type_name("N")
      ->capture_default_str();
  stress->add_option("--max-connections", flags->max_connections, "Per-node link cap")
      ->type_name("N")
      ->capture_default_str();
  stress->add_option("--map-radius", flags->map_radius, "Topology-map flood radius in hops, 1..64")
      ->type_name("H")
      ->capture_default_str();
  stress
      ->add_option("--ack-timeout-ms", flags->ack_timeout_ms,
                   "Targeted ack timeout (doubled on every retry)")
      ->type_name("MS")
      ->capture_default_str();
  stress->add_option("--retries", flags->retries, "Targeted retries before giving up, 0..16")
      ->type_name("N")
      ->capture_default_str();
  stress->add_flag("--json", flags->json, "One JSON object on stdout (deterministic)");
  stress
      ->add_option("--export", flags->export_path,
                   "Write the final topology of the live nodes (crashed ones left out): GraphML if "
                   "FILE ends in .graphml, else an edge list")
      ->type_name("FILE");
  stress->add_flag("-q,--quiet", flags->quiet, "No progress or timing lines on stderr");
  stress->callback([flags, &action] { action = [flags] { return RunSimulateStress(*flags); }; });
}

}  // namespace myco::cli
