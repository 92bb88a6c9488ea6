// Gradient discovery scenario (MISSION.md §3 "gradient-based routing toward nodes that hold a
// sought resource"): how close to the nearest holder does a resource_discovery land?
//
// The process (docs/SIMULATION.md has the long form):
//  1. Build a settled network of `nodes` nodes (BuildNetwork, sim/network_builder.hpp). A random
//     `holders_fraction` of them (at least one) hold COMPUTATIONAL_POWER: cpu_capacity
//     `holder_amount`; the others hold none. No topology maps (the gradient does not need them,
//     and a full map per node is O(N^2) memory at 10,000 nodes).
//  2. Run `converge` more virtual time so every gradient has settled.
//  3. Send `queries` discoveries (rules.follow_gradient, COMPUTATIONAL_POWER, amount_min 1) from
//     random non-holders at `rate_per_s`, then wait `answer_wait` for the answers.
//  4. For each answered query compare DiscoveryAnswered.hops with the BFS distance, in the active
//     graph at send time, from the querying node to the nearest holder.
//
// Guarantee: the report is a function of the options alone, bit for bit.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "metrics/graph.hpp"
#include "myco/result.hpp"
#include "myco/time.hpp"

namespace myco {

struct DiscoveryOptions {
  static constexpr uint32_t kNodesMax = 1'000'000;
  static constexpr uint64_t kQueriesMax = 10'000'000;
  static constexpr double kRateMaxPerS = 1e6;
  static constexpr uint32_t kMaxConnectionsMax = 100'000;
  // Longest virtual time the queries may span; keeps every TimePoint far from overflow.
  static constexpr double kQuerySpanMaxS = 1e6;

  uint32_t nodes = 1000;
  uint64_t queries = 1000;
  double holders_fraction = 0.01;  // in (0, 1); rounded, at least one holder
  double holder_amount = 64;       // a holder's cpu_capacity
  uint64_t seed = 1;
  double rate_per_s = 100;  // queries per virtual second
  uint32_t m = 3;
  uint32_t max_connections = 100;
  Duration settle = Seconds(10);      // BuildNetwork's settle time
  Duration converge = Seconds(3);     // after the build, before the first query
  Duration answer_wait = Seconds(5);  // after the last query

  uint32_t HolderCount() const;
  // Messages name the command-line flag of the bad option, since that is what users typed.
  Status Validate() const;
};

struct DiscoveryReport {
  DiscoveryOptions options;
  uint32_t nodes = 0;
  uint32_t holders = 0;
  uint64_t queries = 0;
  uint64_t answered = 0;
  // Publish refused: no neighbour advertised the resource (the querier is beyond the gradient's
  // radius from every holder, or isolated). Cause → count.
  std::map<std::string, uint64_t> refused;
  uint64_t unanswered = 0;    // sent, but no DiscoveryAnswered within answer_wait
  uint64_t unreachable = 0;   // no holder reachable in the active graph at send time
  double answered_ratio = 0;  // answered / queries

  // Over the answered queries with a reachable holder: hops taken / BFS hops to the nearest.
  uint64_t compared = 0;
  double ratio_median = 0;  // nearest-rank
  double ratio_p90 = 0;
  double ratio_max = 0;
  double within_1_5_share = 0;  // share with ratio <= 1.5
  double exact_share = 0;       // share that reached a nearest holder (ratio 1)
  double hops_mean = 0;
  double nearest_mean = 0;
  // hops_histogram[h]: answered queries that took h hops.
  std::vector<uint64_t> hops_histogram;

  uint64_t events = 0;
  uint64_t messages = 0;
  uint64_t message_bytes = 0;
  double build_virtual_s = 0;
  double virtual_time_s = 0;

  // The active graph at the end of the run, vertex v named names[v] ("seed-<i>" or
  // "node-<index>"); for `--export`. No node crashes in this scenario, so every node is in it.
  Graph graph;
  std::vector<std::string> names;
};

// Passed to the progress callback at least every 100 ms of virtual time.
struct DiscoveryProgress {
  const char* phase = "";  // "building", "converging", "querying", "answering"
  uint32_t nodes_added = 0;
  uint64_t sent = 0;
  double virtual_time_s = 0;
  uint64_t events = 0;
};
using DiscoveryProgressFn = std::function<void(const DiscoveryProgress&)>;

// Fails on invalid options (kInvalidArgument), on a network that could not be built, and when
// the simulator's event budget runs out.
Result<DiscoveryReport> RunDiscovery(const DiscoveryOptions& options,
                                     const DiscoveryProgressFn& progress = {});

// Hops from every vertex to the nearest source (multi-source BFS); UINT32_MAX where no source is
// reachable. Paths never pass through a vertex whose `alive` entry is false (empty: all alive).
std::vector<uint32_t> DistanceToNearest(const Graph& graph, const std::vector<uint32_t>& sources,
                                        const std::vector<bool>& alive = {});

}  // namespace myco
