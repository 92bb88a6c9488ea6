#include "sim/discovery.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "metrics/graph.hpp"

namespace myco {
namespace {

// 0 - 1 - 2 - 3 - 4, and 5 alone.
Graph Path5PlusIsolated() { return Graph::FromEdges(6, {{0, 1}, {1, 2}, {2, 3}, {3, 4}}); }

TEST(DistanceToNearestTest, TakesTheNearestOfSeveralSources) {
  const std::vector<uint32_t> d = DistanceToNearest(Path5PlusIsolated(), {0, 4});
  EXPECT_EQ(d, (std::vector<uint32_t>{0, 1, 2, 1, 0, UINT32_MAX}));
}

TEST(DistanceToNearestTest, NeverPassesThroughDeadVertices) {
  const std::vector<bool> alive = {true, true, false, true, true, true};
  const std::vector<uint32_t> d = DistanceToNearest(Path5PlusIsolated(), {0}, alive);
  EXPECT_EQ(d, (std::vector<uint32_t>{0, 1, UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX}));
}

TEST(DistanceToNearestTest, NoSourcesMeansNothingReachable) {
  const std::vector<uint32_t> d = DistanceToNearest(Path5PlusIsolated(), {});
  EXPECT_EQ(d, std::vector<uint32_t>(6, UINT32_MAX));
}

// The must-show, scaled down: the gradient leads a discovery to a nearest holder.
TEST(DiscoveryTest, FiveHundredNodesFindANearHolder) {
  DiscoveryOptions o;
  o.nodes = 500;
  o.queries = 100;
  o.holders_fraction = 0.02;
  o.rate_per_s = 200;
  o.seed = 1;
  Result<DiscoveryReport> report = RunDiscovery(o);
  ASSERT_TRUE(report.ok()) << report.error().message;
  const DiscoveryReport& r = *report;
  EXPECT_EQ(r.nodes, 500u);
  EXPECT_EQ(r.holders, 10u);
  EXPECT_EQ(r.queries, 100u);
  EXPECT_GE(r.answered_ratio, 0.95);
  EXPECT_EQ(r.unreachable, 0u);
  EXPECT_EQ(r.compared, r.answered);
  EXPECT_LE(r.ratio_median, 1.5);
  EXPECT_GE(r.ratio_median, 1.0);  // never shorter than the shortest path
  EXPECT_GE(r.within_1_5_share, 0.9);
  uint64_t histogram = 0;
  for (const uint64_t count : r.hops_histogram) histogram += count;
  EXPECT_EQ(histogram, r.answered);
}

TEST(DiscoveryTest, ValidateNamesTheFlag) {
  DiscoveryOptions o;
  o.holders_fraction = 0;
  EXPECT_NE(o.Validate().error().message.find("--holders"), std::string::npos);
  o = DiscoveryOptions{};
  o.queries = 0;
  EXPECT_NE(o.Validate().error().message.find("--queries"), std::string::npos);
  EXPECT_TRUE(DiscoveryOptions{}.Validate().ok());
  o = DiscoveryOptions{};
  o.nodes = 10000;
  EXPECT_EQ(o.HolderCount(), 100u);
  o.holders_fraction = 1e-9;
  EXPECT_EQ(o.HolderCount(), 1u);
}

}  // namespace
}  // namespace myco
