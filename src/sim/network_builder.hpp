// BuildNetwork: grows a settled network through the real protocol, for scenarios that need one to
// work on (broadcast, stress, discovery). Every link is made by the membership protocol's joins,
// exactly as in `simulate grow` (src/sim/grow.hpp):
//  1. min(nodes, kSeedNodes) seed nodes arrive one every 1/join_rate virtual seconds; seed 0 is
//     the network's first node and every other seed joins through it (like a fleet whose config
//     names one bootstrap node). The simulator runs kSeedSettle so their joins complete.
//  2. Every later node arrives 1/join_rate after the previous one and bootstraps through one
//     uniformly random established node (live, with at least one active link).
//  3. After the last arrival the simulator runs `settle`; then the live nodes must form one
//     connected component, or BuildNetwork fails.
//
// Nodes are named "seed-<i>" and "node-<index>", as in grow. Each is built from a
// Simulator::NodeSpec, so it signs what it publishes and shares the simulator's memoizing
// verifier. Deterministic: the result is a function of the spec, the seed and the simulator's own
// SimConfig (the join choices and the info callback draw from their own streams of `seed`).
#pragma once

#include <cstdint>
#include <functional>

#include "core/propagation/config.hpp"
#include "core/topology/config.hpp"
#include "myco/result.hpp"
#include "myco/rng.hpp"
#include "myco/time.hpp"
#include "myco/types.hpp"

namespace myco {

class Simulator;

struct NetworkSpec {
  // Limits: beyond them a run would not fit on one machine, or the value is a typo.
  static constexpr uint32_t kNodesMax = 10'000'000;
  static constexpr uint32_t kMaxConnectionsMax = 100'000;
  static constexpr double kJoinRateMaxPerS = 1e9;  // one arrival per virtual nanosecond
  static constexpr double kArrivalSpanMaxS = 1e9;  // keeps every TimePoint far from overflow
  // Seeds that join through node 0 before the growth starts (grow's default --initial).
  static constexpr uint32_t kSeedNodes = 10;
  // Run after the seeds arrive: a join takes about half a virtual second, and a newcomer must
  // find established nodes to bootstrap through.
  static constexpr Duration kSeedSettle = Seconds(2);

  uint32_t nodes = 0;
  // Links each newcomer opens itself; overrides topology.target_degree.
  uint32_t m = 3;
  // Per-node link cap; overrides topology.max_connections.
  uint32_t max_connections = 100;
  // Arrivals per virtual second. Heartbeats cost events in proportion to nodes × virtual time,
  // so fast arrivals make a cheap build (10k nodes in 2 virtual seconds).
  double join_rate_per_s = 5000;
  // Run after the last arrival, before the connectivity check.
  Duration settle = Seconds(10);
  // Every other topology knob (heartbeat, failure timeout, map radius ...).
  TopologyConfig topology;
  PropagationConfig propagation;
  // Optional: the NodeInfo of node `index` (type, capacities, specializations, interests); id,
  // name, address, region and max_connections are filled in by the simulator. Called once per
  // node, in index order, with one Rng seeded from BuildNetwork's seed.
  std::function<NodeInfo(uint32_t index, Rng& rng)> info;

  // The topology config the nodes run: `topology` with m and max_connections applied.
  TopologyConfig EffectiveTopology() const;
  Status Validate() const;
};

// Grows spec.nodes nodes in `sim` (which must have none yet), then settles. Fails with
// kInvalidArgument for a bad spec or a non-empty simulator, kTooLarge when the simulator's event
// budget ran out, and kUnavailable when the live nodes are not one component after settling.
// `progress`, if set, is called after every arrival with the number of nodes added so far.
Status BuildNetwork(Simulator& sim, const NetworkSpec& spec, uint64_t seed,
                    const std::function<void(uint32_t added)>& progress = {});

}  // namespace myco
