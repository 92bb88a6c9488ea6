#include "sim/grow.hpp"

#include <cassert>
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>

#include "core/topology/config.hpp"
#include "core/topology/membership.hpp"
#include "sim/simulator.hpp"

namespace myco {
namespace {

// Distinct tags keep the join choices and each row's BFS sampling on independent streams, and
// both independent of the simulator's own streams (which it derives from the bare seed).
constexpr uint64_t kJoinStreamTag = 0x6a6f696e;  // "join"
constexpr uint64_t kPathStreamTag = 0x70617468;  // "path"

// Settle slices: progress is reported (and the caller may print) at least this often in
// virtual time while the simulator runs without arrivals.
constexpr Duration kSettleSlice = Milliseconds(100);

uint64_t StreamSeed(uint64_t seed, uint64_t tag, uint64_t index) {
  // splitmix64 finaliser over the three words: adjacent steps get unrelated streams.
  uint64_t z = seed ^ (tag * 0x9e3779b97f4a7c15ULL) ^ (index * 0xbf58476d1ce4e5b9ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// "0.001", "1e-09", "nan": what the user typed, near enough, unlike std::to_string's "%f".
std::string ShortNumber(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", v);
  return text;
}

TopologyConfig MakeTopologyConfig(const GrowOptions& options) {
  TopologyConfig config;
  config.target_degree = options.m;
  config.max_connections = options.max_connections;
  config.map_flood_radius = options.map_flood_radius;
  return config;
}

Duration ArrivalGap(const GrowOptions& options) {
  // Validate bounds the rate to (0, 1e9], so the gap is at least 1 ns and fits in int64.
  const int64_t gap_ns = std::llround(1e9 / options.join_rate_per_s);
  return Nanoseconds(std::max<int64_t>(1, gap_ns));
}

uint32_t PathSourcesMax(const GrowOptions& options, uint32_t node_count, bool final_row) {
  if (options.path_sources_max > 0) return options.path_sources_max;
  if (node_count <= GrowOptions::kExactPathNodesMax) return std::max<uint32_t>(1, node_count);
  return final_row ? GrowOptions::kFinalPathSources : GrowOptions::kSampledPathSources;
}

// The graph of the nodes that have finished joining (at least one active link), relabelled
// densely. Newcomers still mid-join (about half a virtual second at the default join rate) would
// otherwise each count as a component of their own and drag every metric toward zero.
Graph LinkedSubgraph(const Graph& graph) {
  std::vector<uint32_t> index(graph.vertex_count(), UINT32_MAX);
  uint32_t linked = 0;
  for (uint32_t v = 0; v < graph.vertex_count(); ++v) {
    if (graph.degree(v) > 0) index[v] = linked++;
  }
  std::vector<std::pair<uint32_t, uint32_t>> edges;
  edges.reserve(graph.edge_count());
  for (uint32_t v = 0; v < graph.vertex_count(); ++v) {
    for (uint32_t u : graph.neighbours(v)) {
      if (v < u) edges.emplace_back(index[v], index[u]);
    }
  }
  return Graph::FromEdges(linked, std::move(edges));
}

GrowRow MeasureRow(const Simulator& sim, const GrowOptions& options, uint64_t step,
                   bool final_row) {
  const Graph all = sim.ActiveGraph();
  const Graph graph = LinkedSubgraph(all);
  GrowRow row;
  row.step = step;
  row.node_count = all.vertex_count();
  row.joining_nodes = all.vertex_count() - graph.vertex_count();
  row.edge_count = graph.edge_count();
  row.average_degree = graph.vertex_count() == 0 ? 0.0
                                                 : 2.0 * static_cast<double>(row.edge_count) /
                                                       static_cast<double>(graph.vertex_count());
  row.max_degree = graph.max_degree();
  row.clustering_coefficient = AverageClustering(graph);
  Rng path_rng(StreamSeed(options.seed, kPathStreamTag, step));
  const PathStats paths =
      ComputePathStats(graph, PathSourcesMax(options, graph.vertex_count(), final_row), path_rng);
  row.average_path_length = paths.average_path_length_hops;
  row.path_exact = paths.exact;
  row.path_sources = paths.sources;
  row.global_efficiency = paths.global_efficiency;
  row.components = ConnectedComponents(graph).count;
  row.degree_distribution = DegreeHistogram(all);
  row.virtual_time_s = sim.now().seconds();
  row.events = sim.counters().events;
  return row;
}

// Runs the simulator to `until` in slices, reporting progress after each.
void SettleUntil(Simulator& sim, TimePoint until, GrowProgress progress,
                 const GrowProgressFn& report) {
  while (sim.now() < until && !sim.budget_exhausted()) {
    sim.RunUntil(std::min(until, sim.now() + kSettleSlice));
    if (report) {
      progress.virtual_time_s = sim.now().seconds();
      progress.events = sim.counters().events;
      report(progress);
    }
  }
}

class GrowRun {
 public:
  GrowRun(const GrowOptions& options, const GrowProgressFn& progress)
      : options_(options),
        progress_(progress),
        sim_(SimConfig{.seed = options.seed}),
        topology_(MakeTopologyConfig(options)),
        join_rng_(StreamSeed(options.seed, kJoinStreamTag, 0)),
        gap_(ArrivalGap(options)),
        every_(options.EffectiveEvery()) {}

  Result<GrowReport> Run() {
    GrowReport report;
    report.options = options_;
    report.options.every_steps = every_;
    SeedPhase();
    if (sim_.budget_exhausted()) return BudgetError();
    Record(0, GrowPhase::kSeeding, report);
    GrowPhaseLoop(report);
    if (sim_.budget_exhausted()) return BudgetError();
    Finish(report);
    if (sim_.budget_exhausted()) return BudgetError();
    return report;
  }

 private:
  void SeedPhase() {
    for (uint32_t i = 0; i < options_.initial_nodes; ++i) {
      sim_.RunUntil(TimePoint{} + gap_ * i);
      // Seeds start within milliseconds of each other, before any has joined; like a fleet
      // whose config names one bootstrap node, they all join through the first seed (joining
      // through a seed that is itself mid-join would only form an island with it).
      std::vector<uint32_t> bootstrap;
      if (i > 0) bootstrap.push_back(0);
      sim_.AddNode("seed-" + std::to_string(i), topology_, bootstrap);
      Report(GrowPhase::kSeeding, 0, nullptr);
    }
    SettleUntil(sim_, sim_.now() + options_.settle, Progress(GrowPhase::kSettling, 0, nullptr),
                progress_);
  }

  // The simulator stops at SimConfig::events_max so a livelocked core cannot hang the run.
  Error BudgetError() const {
    return MakeError(ErrorCode::kTooLarge, "the simulator stopped after " +
                                               std::to_string(sim_.counters().events) +
                                               " events (its events_max budget) at virtual time " +
                                               std::to_string(sim_.now().seconds()) + " s; seed " +
                                               std::to_string(options_.seed));
  }

  void GrowPhaseLoop(GrowReport& report) {
    const TimePoint start = sim_.now();
    for (uint64_t step = 1; step <= options_.steps && !sim_.budget_exhausted(); ++step) {
      // Arrival `step` happens at start + (step - 1) gaps; RunUntil is a no-op when the previous
      // iteration already ran the simulator that far.
      sim_.RunUntil(start + gap_ * static_cast<int64_t>(step - 1));
      const uint32_t index = sim_.node_count();
      const uint32_t bootstrap = PickLiveNode();
      sim_.AddNode("node-" + std::to_string(index), topology_, {bootstrap});
      if (step < options_.steps) {
        // Let the network work until the next arrival, then measure what that newcomer finds.
        sim_.RunUntil(start + gap_ * static_cast<int64_t>(step));
        if (step % every_ == 0) {
          Record(step, GrowPhase::kGrowing, report);
          continue;
        }
      }
      Report(GrowPhase::kGrowing, step, nullptr);
    }
  }

  void Finish(GrowReport& report) {
    // With no steps, row 0 already shows the settled network.
    if (options_.steps > 0) {
      SettleUntil(sim_, sim_.now() + options_.settle,
                  Progress(GrowPhase::kSettling, options_.steps, nullptr), progress_);
      Record(options_.steps, GrowPhase::kSettling, report);
    }
    report.graph = sim_.ActiveGraph();
    report.names = sim_.names();
    assert(report.names.size() == report.graph.vertex_count());
    PowerLawFitOptions fit_options;
    fit_options.x_max_exclusive = options_.max_connections;
    const std::vector<uint32_t> degrees = Degrees(report.graph);
    Result<PowerLawFit> fit = FitDiscretePowerLaw(degrees, fit_options);
    if (fit.ok()) {
      report.power_law = fit.value();
    } else {
      report.power_law_error = fit.error().message;
    }
    const SimCounters& counters = sim_.counters();
    report.totals = GrowTotals{.events = counters.events,
                               .messages = counters.messages,
                               .message_bytes = counters.message_bytes,
                               .dials = counters.dials,
                               .dials_failed = counters.dials_failed,
                               .virtual_time_s = sim_.now().seconds()};
  }

  // A newcomer is given the address of an established node (live, with at least one link), as
  // an operator would hand out; a node that is itself mid-join would only form an island with
  // it. The draw is retried a bounded number of times before falling back to a scan.
  uint32_t PickLiveNode() {
    const uint32_t count = sim_.node_count();
    assert(count > 0);
    constexpr int kDrawsMax = 64;
    for (int draw = 0; draw < kDrawsMax; ++draw) {
      const auto candidate = static_cast<uint32_t>(join_rng_.Uniform(count));
      if (sim_.alive(candidate) && sim_.node(candidate).membership().ActiveCount() > 0) {
        return candidate;
      }
    }
    for (uint32_t i = 0; i < count; ++i) {
      if (sim_.alive(i)) return i;
    }
    assert(false && "grow: no live node to bootstrap through");
    return 0;
  }

  void Record(uint64_t step, GrowPhase phase, GrowReport& report) {
    if (progress_) {
      GrowProgress before = Progress(phase, step, nullptr);
      before.measuring = true;
      progress_(before);
    }
    const bool final_row = phase == GrowPhase::kSettling && step == options_.steps;
    report.rows.push_back(MeasureRow(sim_, options_, step, final_row));
    Report(phase, step, &report.rows.back());
  }

  GrowProgress Progress(GrowPhase phase, uint64_t step, const GrowRow* row) const {
    return GrowProgress{.phase = phase,
                        .step = step,
                        .steps = options_.steps,
                        .node_count = sim_.node_count(),
                        .virtual_time_s = sim_.now().seconds(),
                        .events = sim_.counters().events,
                        .row = row};
  }

  void Report(GrowPhase phase, uint64_t step, const GrowRow* row) const {
    if (progress_) progress_(Progress(phase, step, row));
  }

  const GrowOptions& options_;
  const GrowProgressFn& progress_;
  Simulator sim_;
  const TopologyConfig topology_;
  Rng join_rng_;
  const Duration gap_;
  const uint64_t every_;
};

}  // namespace

const char* GrowPhaseName(GrowPhase phase) {
  switch (phase) {
    case GrowPhase::kSeeding: return "seeding";
    case GrowPhase::kGrowing: return "growing";
    case GrowPhase::kSettling: return "settling";
  }
  return "?";
}

Status GrowOptions::Validate() const {
  auto invalid = [](std::string message) {
    return Status(MakeError(ErrorCode::kInvalidArgument, std::move(message)));
  };
  if (initial_nodes < 1 || initial_nodes > kInitialNodesMax) {
    return invalid("--initial must be between 1 and " + std::to_string(kInitialNodesMax) +
                   ", got " + std::to_string(initial_nodes));
  }
  if (steps > kStepsMax) {
    return invalid("--steps must be between 0 and " + std::to_string(kStepsMax) + ", got " +
                   std::to_string(steps));
  }
  if (max_connections < 1 || max_connections > kMaxConnectionsMax) {
    return invalid("--max-connections must be between 1 and " + std::to_string(kMaxConnectionsMax) +
                   ", got " + std::to_string(max_connections));
  }
  if (m < 1 || m > max_connections) {
    return invalid("--m must be between 1 and --max-connections (" +
                   std::to_string(max_connections) + "), got " + std::to_string(m));
  }
  if (!std::isfinite(join_rate_per_s) || join_rate_per_s <= 0 ||
      join_rate_per_s > kJoinRateMaxPerS) {
    return invalid("--join-rate must be a number of joins per virtual second in (0, 1e9], got " +
                   ShortNumber(join_rate_per_s));
  }
  const double arrivals = static_cast<double>(initial_nodes) + static_cast<double>(steps);
  if (arrivals / join_rate_per_s > kArrivalSpanMaxS) {
    return invalid("--join-rate " + ShortNumber(join_rate_per_s) + " is too low for " +
                   std::to_string(static_cast<uint64_t>(arrivals)) +
                   " arrivals: they would span more than 1e9 virtual seconds");
  }
  if (settle < Duration{} || settle > Seconds(1'000'000)) {
    return invalid("settle must be between 0 and 1000000 virtual seconds");
  }
  if (Status topology = MakeTopologyConfig(*this).Validate(); !topology.ok()) {
    return invalid("topology: " + topology.error().message);
  }
  return Status::Ok();
}

Result<GrowReport> RunGrow(const GrowOptions& options, const GrowProgressFn& progress) {
  if (Status valid = options.Validate(); !valid.ok()) return valid.error();
  GrowRun run(options, progress);
  return run.Run();
}

}  // namespace myco
