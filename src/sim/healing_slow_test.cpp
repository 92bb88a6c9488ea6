// The healing claim over many more seeds than the default suite runs (label `slow`:
// ./run test --slow). Same scenario as healing_test.cpp: 1,000 nodes, 30% crash silently,
// one live component within 10 heartbeat periods.
#include <gtest/gtest.h>

#include "core/topology/membership.hpp"
#include "metrics/graph.hpp"
#include "sim/simulator.hpp"

namespace myco {
namespace {

TEST(HealingSlowTest, ThirtyPercentCrashHealsWithinTenHeartbeatsOverSeeds21To120) {
  constexpr uint32_t kNodes = 1000;
  uint32_t failures = 0;
  for (uint64_t seed = 21; seed <= 120; ++seed) {
    SimConfig config;
    config.seed = seed;
    Simulator sim(config);
    TopologyConfig topology;
    topology.map_flood_radius = 0;
    Rng rng(seed ^ 0x5eed);
    sim.AddNode("n0", topology, {});
    for (uint32_t i = 1; i < kNodes; ++i) {
      sim.AddNode("n" + std::to_string(i), topology, {static_cast<uint32_t>(rng.Uniform(i))});
      sim.RunFor(Milliseconds(5));
    }
    sim.RunFor(Seconds(20));
    Rng crash_rng(seed * 7919);
    std::vector<uint32_t> order(kNodes);
    for (uint32_t i = 0; i < kNodes; ++i) order[i] = i;
    for (uint32_t i = 0; i < kNodes * 3 / 10; ++i) {
      std::swap(order[i], order[i + crash_rng.Uniform(kNodes - i)]);
      sim.Crash(order[i]);
    }
    sim.RunFor(topology.heartbeat_period * 10);
    std::vector<bool> alive(kNodes);
    for (uint32_t i = 0; i < kNodes; ++i) alive[i] = sim.alive(i);
    const Components c = ConnectedComponents(sim.ActiveGraph(), alive);
    if (!c.connected()) ++failures;
    EXPECT_TRUE(c.connected()) << "seed " << seed << ": " << c.count << " components, largest "
                               << c.largest_size << " of " << c.vertices_considered;
  }
  EXPECT_EQ(failures, 0u);
}

}  // namespace
}  // namespace myco
