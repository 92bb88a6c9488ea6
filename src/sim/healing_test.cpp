// Healing under mass failure, run on the simulator with many seeds (issue "must show" #4):
// on 1,000 nodes, crash 30% at random; within 10 heartbeat periods the live nodes form one
// connected component. A failing seed prints the command that replays it.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/topology/membership.hpp"
#include "metrics/graph.hpp"
#include "sim/simulator.hpp"

namespace myco {
namespace {

struct Grown {
  std::unique_ptr<Simulator> sim;
  TopologyConfig topology;
};

Grown GrowNetwork(uint64_t seed, uint32_t nodes) {
  SimConfig config;
  config.seed = seed;
  Grown g{std::make_unique<Simulator>(config), TopologyConfig{}};
  g.topology.map_flood_radius = 0;
  Rng rng(seed ^ 0x5eed);
  g.sim->AddNode("n0", g.topology, {});
  for (uint32_t i = 1; i < nodes; ++i) {
    g.sim->AddNode("n" + std::to_string(i), g.topology, {static_cast<uint32_t>(rng.Uniform(i))});
    g.sim->RunFor(Milliseconds(5));
  }
  g.sim->RunFor(Seconds(20));
  return g;
}

Components LiveComponents(const Simulator& sim) {
  std::vector<bool> alive(sim.node_count());
  for (uint32_t i = 0; i < sim.node_count(); ++i) alive[i] = sim.alive(i);
  return ConnectedComponents(sim.ActiveGraph(), alive);
}

TEST(HealingTest, ThirtyPercentCrashHealsWithinTenHeartbeats) {
  constexpr uint32_t kNodes = 1000;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Grown g = GrowNetwork(seed, kNodes);
    Simulator& sim = *g.sim;
    ASSERT_TRUE(LiveComponents(sim).connected()) << "grown network not connected, seed " << seed;

    Rng rng(seed * 7919);
    std::vector<uint32_t> order(kNodes);
    for (uint32_t i = 0; i < kNodes; ++i) order[i] = i;
    for (uint32_t i = 0; i < kNodes * 3 / 10; ++i) {
      std::swap(order[i], order[i + rng.Uniform(kNodes - i)]);
      sim.Crash(order[i]);
    }
    sim.RunFor(g.topology.heartbeat_period * 10);
    const Components c = LiveComponents(sim);
    EXPECT_TRUE(c.connected()) << "seed " << seed << ": " << c.count << " components, largest "
                               << c.largest_size << " of " << c.vertices_considered
                               << " live nodes (replay: this test's seed " << seed << ")";
    uint32_t isolated = 0;
    for (uint32_t i = 0; i < kNodes; ++i) {
      if (sim.alive(i) && sim.node(i).membership().ActiveCount() == 0) ++isolated;
    }
    EXPECT_EQ(isolated, 0u) << "seed " << seed;
  }
}

TEST(HealingTest, PartitionReMergesAfterItHeals) {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    Grown g = GrowNetwork(seed, 300);
    Simulator& sim = *g.sim;
    std::vector<uint32_t> group(sim.node_count());
    for (uint32_t i = 0; i < sim.node_count(); ++i) group[i] = i % 2;
    sim.SetPartition(group);
    sim.RunFor(Seconds(30));
    sim.HealPartition();
    sim.RunFor(Seconds(90));
    EXPECT_TRUE(LiveComponents(sim).connected()) << "seed " << seed;
  }
}

}  // namespace
}  // namespace myco
