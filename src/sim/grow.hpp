// Network growth scenario (ORIGINAL_DESIGN.md's simulate_network_growth), run through the real
// protocol: every node is a full Node core inside the Simulator, and every link in the measured
// graph was made by the membership protocol's joins (preferential attachment by random walks),
// not by a graph generator.
//
// The process (docs/SIMULATION.md has the long form):
//  1. `initial_nodes` seed nodes arrive one every 1/join_rate virtual seconds; seed 0 is the
//     network's first node and seed i joins through a uniformly random earlier seed. The
//     simulator then runs for `settle`, and row 0 is measured.
//  2. Step s (1..steps) adds one node that bootstraps through one uniformly random live node,
//     1/join_rate virtual seconds after the previous arrival. The row of step s is measured
//     just before the next arrival, so it shows the network as a newcomer would find it.
//  3. After the last arrival the simulator runs for `settle` more, and the final row (step
//     `steps`) is measured on the settled network.
//
// Guarantee: the report is a function of the options alone. Two runs with the same options give
// identical rows bit for bit; the row of step s does not depend on --every (measuring never
// touches the simulation, and each row samples its BFS sources from its own seeded Rng).
// Wall-clock time appears nowhere in the report.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "metrics/graph.hpp"
#include "metrics/power_law.hpp"
#include "myco/result.hpp"
#include "myco/time.hpp"

namespace myco {

struct GrowOptions {
  // Limits: anything beyond them is a typo or would not fit in memory on one machine.
  static constexpr uint64_t kStepsMax = 10'000'000;
  static constexpr uint32_t kInitialNodesMax = 1'000'000;
  static constexpr uint32_t kMaxConnectionsMax = 100'000;
  static constexpr double kJoinRateMaxPerS = 1e9;  // one arrival per virtual nanosecond
  // Longest virtual time the arrivals may span; keeps every TimePoint far from int64 overflow.
  static constexpr double kArrivalSpanMaxS = 1e9;

  uint32_t initial_nodes = 10;
  uint64_t steps = 50;
  uint64_t seed = 1;
  // Links each newcomer opens itself (TopologyConfig::target_degree, the BA model's m).
  uint32_t m = 3;
  uint32_t max_connections = 100;
  // Arrivals per virtual second, for the seeds and the growth alike. Heartbeats cost events in
  // proportion to nodes × virtual time, so a faster arrival rate is a cheaper run; 5000/s grows
  // 100k nodes in 20 virtual seconds (alpha 3.20 there, 3.03 at 1000/s: both scale-free).
  double join_rate_per_s = 5000;
  // Record a row every this many steps; 0 means about 100 rows per run: max(1, steps / 100).
  uint64_t every_steps = 0;
  // BFS sources for path statistics; 0 means exact (every vertex) up to kExactPathNodesMax
  // nodes, and above that kSampledPathSources sampled sources for rows during growth and
  // kFinalPathSources for the final row (BFS dominates measuring at 100k nodes: ~2.5 ms each).
  uint32_t path_sources_max = 0;
  static constexpr uint32_t kExactPathNodesMax = 2000;
  static constexpr uint32_t kSampledPathSources = 32;
  static constexpr uint32_t kFinalPathSources = 256;
  // Virtual time run after the seeds and again after the last arrival, before measuring.
  Duration settle = Seconds(5);
  // TopologyConfig::map_flood_radius. 0 by default: a full map per node is O(N^2) memory, which
  // a 100k-node run cannot afford, and growth metrics do not need it.
  uint32_t map_flood_radius = 0;

  // The every_steps actually used (resolves the 0 default).
  uint64_t EffectiveEvery() const {
    return every_steps > 0 ? every_steps : std::max<uint64_t>(1, steps / 100);
  }
  // Messages name the command-line flag of the bad option, since that is what users typed.
  Status Validate() const;
};

struct GrowRow {
  uint64_t step = 0;  // nodes added after the seeds
  uint32_t node_count = 0;
  uint64_t edge_count = 0;
  double average_degree = 0;  // 2 * edges / nodes
  uint32_t max_degree = 0;
  double clustering_coefficient = 0;  // AverageClustering: mean local clustering, zeros counted
  double average_path_length = 0;     // hops, over connected ordered pairs
  bool path_exact = true;             // false: estimated from path_sources sampled BFS sources
  uint32_t path_sources = 0;
  // Latora–Marchiori global efficiency. Reported as resource_flow_efficiency too until the
  // market exists: it is the mean inverse hop distance, i.e. how cheaply anything can flow.
  double global_efficiency = 0;
  uint32_t components = 0;  // connected components of the joined nodes (1 when healthy)
  // Nodes with no active link: newcomers whose join has not completed yet (joins take a few
  // round trips, about half a virtual second), so roughly join_rate * 0.5 s during growth.
  // Every metric but node_count and degree_distribution is over the joined nodes only.
  uint32_t joining_nodes = 0;
  std::vector<uint64_t> degree_distribution;  // [k] = nodes of degree k
  double virtual_time_s = 0;
  uint64_t events = 0;  // simulator events processed so far

  bool operator==(const GrowRow&) const = default;
};

struct GrowTotals {
  uint64_t events = 0;
  uint64_t messages = 0;
  uint64_t message_bytes = 0;
  uint64_t dials = 0;
  uint64_t dials_failed = 0;
  double virtual_time_s = 0;
};

struct GrowReport {
  GrowOptions options;  // as given, with every_steps resolved
  std::vector<GrowRow> rows;
  // The settled final topology, vertex v named names[v] ("seed-<i>" or "node-<index>").
  Graph graph;
  std::vector<std::string> names;
  // CSN fit of the final degrees below max_connections (degrees at the cap are truncated by
  // the cap, not by the process). Empty, with the reason, when the tail is too small to fit.
  std::optional<PowerLawFit> power_law;
  std::string power_law_error;
  GrowTotals totals;
};

enum class GrowPhase { kSeeding, kGrowing, kSettling };
const char* GrowPhaseName(GrowPhase phase);

// Passed to the progress callback after every arrival and every settle slice, and around
// every row's measurement.
struct GrowProgress {
  GrowPhase phase = GrowPhase::kSeeding;
  uint64_t step = 0;
  uint64_t steps = 0;
  uint32_t node_count = 0;
  double virtual_time_s = 0;
  uint64_t events = 0;
  const GrowRow* row = nullptr;  // the row just recorded, else null
  // True on the call just before a row is measured; the next call carries the row. Lets a
  // caller tell simulation time from measurement time (BFS from many sources can dominate).
  bool measuring = false;
};
using GrowProgressFn = std::function<void(const GrowProgress&)>;

// Runs the growth scenario. Fails only on invalid options (kInvalidArgument, from Validate).
// `progress` may be empty; it is called often (cheap callers only) and must not throw.
Result<GrowReport> RunGrow(const GrowOptions& options, const GrowProgressFn& progress = {});

}  // namespace myco
