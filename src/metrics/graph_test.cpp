#include "metrics/graph.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "myco/rng.hpp"

namespace myco {
namespace {

using Edges = std::vector<Graph::Edge>;

// Standard Barabási–Albert: a clique on m + 1 vertices, then each new vertex links to m distinct
// targets drawn uniformly from the list of edge endpoints (that is, in proportion to degree).
Edges BarabasiAlbertEdges(uint32_t n, uint32_t m, Rng& rng) {
  Edges edges;
  std::vector<uint32_t> endpoints;
  for (uint32_t a = 0; a <= m; ++a) {
    for (uint32_t b = a + 1; b <= m; ++b) {
      edges.emplace_back(a, b);
      endpoints.insert(endpoints.end(), {a, b});
    }
  }
  std::vector<uint32_t> targets;
  for (uint32_t v = m + 1; v < n; ++v) {
    targets.clear();
    while (targets.size() < m) {
      const uint32_t t = endpoints[rng.Uniform(endpoints.size())];
      if (std::find(targets.begin(), targets.end(), t) == targets.end()) targets.push_back(t);
    }
    for (const uint32_t t : targets) {
      edges.emplace_back(v, t);
      endpoints.insert(endpoints.end(), {v, t});
    }
  }
  return edges;
}

Graph Complete(uint32_t n) {
  Edges edges;
  for (uint32_t a = 0; a < n; ++a) {
    for (uint32_t b = a + 1; b < n; ++b) edges.emplace_back(a, b);
  }
  return Graph::FromEdges(n, edges);
}

PathStats ExactPathStats(const Graph& g) {
  Rng rng(1);
  return ComputePathStats(g, std::max<uint32_t>(g.vertex_count(), 1), rng);
}

std::vector<uint32_t> Neighbours(const Graph& g, uint32_t v) {
  const auto span = g.neighbours(v);
  return {span.begin(), span.end()};
}

TEST(GraphTest, FromEdgesMergesDuplicatesDropsSelfLoopsAndSortsLists) {
  const Graph g = Graph::FromEdges(5, {{3, 1}, {1, 3}, {2, 2}, {1, 0}, {4, 1}, {0, 1}, {1, 2}});
  EXPECT_EQ(g.vertex_count(), 5u);
  EXPECT_EQ(g.edge_count(), 4u);
  EXPECT_EQ(Neighbours(g, 1), (std::vector<uint32_t>{0, 2, 3, 4}));
  EXPECT_EQ(Neighbours(g, 2), (std::vector<uint32_t>{1}));
  EXPECT_EQ(g.degree(1), 4u);
  EXPECT_EQ(g.max_degree(), 4u);
  EXPECT_EQ(Degrees(g), (std::vector<uint32_t>{1, 4, 1, 1, 1}));
  EXPECT_EQ(DegreeHistogram(g), (std::vector<uint64_t>{0, 4, 0, 0, 1}));
}

TEST(GraphTest, Triangle) {
  const Graph g = Complete(3);
  EXPECT_DOUBLE_EQ(AverageClustering(g), 1.0);
  const PathStats stats = ExactPathStats(g);
  EXPECT_TRUE(stats.exact);
  EXPECT_EQ(stats.sources, 3u);
  EXPECT_DOUBLE_EQ(stats.average_path_length_hops, 1.0);
  EXPECT_DOUBLE_EQ(stats.global_efficiency, 1.0);
  EXPECT_EQ(stats.max_depth_hops, 1u);
  EXPECT_EQ(stats.reachable_pairs, 6u);
}

TEST(GraphTest, StarWithFiveLeaves) {
  const Graph g = Graph::FromEdges(6, {{0, 1}, {0, 2}, {0, 3}, {0, 4}, {0, 5}});
  EXPECT_DOUBLE_EQ(AverageClustering(g), 0.0);
  const PathStats stats = ExactPathStats(g);
  // 10 ordered centre–leaf pairs at 1 hop, 20 leaf–leaf pairs at 2 hops.
  EXPECT_DOUBLE_EQ(stats.average_path_length_hops, (5 * 1 * 2 + 20 * 2) / 30.0);
  EXPECT_DOUBLE_EQ(stats.global_efficiency, (10 * 1.0 + 20 * 0.5) / 30.0);
  EXPECT_EQ(stats.max_depth_hops, 2u);
  EXPECT_EQ(Eccentricity(g, 0), 1u);
  EXPECT_EQ(Eccentricity(g, 3), 2u);
  EXPECT_EQ(DegreeHistogram(g), (std::vector<uint64_t>{0, 5, 0, 0, 0, 1}));
}

TEST(GraphTest, PathOfFour) {
  const Graph g = Graph::FromEdges(4, {{0, 1}, {1, 2}, {2, 3}});
  EXPECT_DOUBLE_EQ(AverageClustering(g), 0.0);
  const PathStats stats = ExactPathStats(g);
  EXPECT_DOUBLE_EQ(stats.average_path_length_hops, 20.0 / 12.0);
  // Unordered: three pairs at 1, two at 2, one at 3.
  EXPECT_DOUBLE_EQ(stats.global_efficiency, 2 * (3 + 2 / 2.0 + 1 / 3.0) / 12.0);
  EXPECT_EQ(stats.max_depth_hops, 3u);
  EXPECT_EQ(Eccentricity(g, 0), 3u);
  EXPECT_EQ(Eccentricity(g, 1), 2u);
}

TEST(GraphTest, CompleteGraphK5) {
  const Graph g = Complete(5);
  EXPECT_EQ(g.edge_count(), 10u);
  EXPECT_DOUBLE_EQ(AverageClustering(g), 1.0);
  const PathStats stats = ExactPathStats(g);
  EXPECT_DOUBLE_EQ(stats.average_path_length_hops, 1.0);
  EXPECT_DOUBLE_EQ(stats.global_efficiency, 1.0);
  EXPECT_EQ(stats.max_depth_hops, 1u);
  EXPECT_TRUE(ConnectedComponents(g).connected());
}

TEST(GraphTest, TwoDisjointTriangles) {
  const Graph g = Graph::FromEdges(6, {{0, 1}, {1, 2}, {2, 0}, {3, 4}, {4, 5}, {5, 3}});
  const Components c = ConnectedComponents(g);
  EXPECT_EQ(c.count, 2u);
  EXPECT_FALSE(c.connected());
  EXPECT_EQ(c.largest_size, 3u);
  EXPECT_EQ(c.sizes, (std::vector<uint32_t>{3, 3}));
  EXPECT_EQ(c.component_of, (std::vector<uint32_t>{0, 0, 0, 1, 1, 1}));
  EXPECT_DOUBLE_EQ(AverageClustering(g), 1.0);
  const PathStats stats = ExactPathStats(g);
  EXPECT_DOUBLE_EQ(stats.average_path_length_hops, 1.0);  // Over the 12 reachable pairs only.
  EXPECT_EQ(stats.reachable_pairs, 12u);
  EXPECT_DOUBLE_EQ(stats.global_efficiency, 12.0 / 30.0);  // 18 unreachable pairs add 0.
}

TEST(GraphTest, EmptyGraphHasDefinedResults) {
  for (const Graph& g : {Graph(), Graph::FromEdges(0, {})}) {
    EXPECT_EQ(g.vertex_count(), 0u);
    EXPECT_EQ(g.edge_count(), 0u);
    EXPECT_TRUE(DegreeHistogram(g).empty());
    EXPECT_EQ(AverageClustering(g), 0.0);
    const Components c = ConnectedComponents(g);
    EXPECT_EQ(c.count, 0u);
    EXPECT_EQ(c.largest_size, 0u);
    EXPECT_FALSE(c.connected());
    Rng rng(7);
    const PathStats stats = ComputePathStats(g, 10, rng);
    EXPECT_TRUE(stats.exact);
    EXPECT_EQ(stats.sources, 0u);
    EXPECT_EQ(stats.average_path_length_hops, 0.0);
    EXPECT_EQ(stats.global_efficiency, 0.0);
    EXPECT_EQ(stats.max_depth_hops, 0u);
  }
}

TEST(GraphTest, SingleVertexHasDefinedResults) {
  const Graph g = Graph::FromEdges(1, {{0, 0}});
  EXPECT_EQ(g.edge_count(), 0u);
  EXPECT_EQ(DegreeHistogram(g), (std::vector<uint64_t>{1}));
  EXPECT_EQ(AverageClustering(g), 0.0);
  EXPECT_TRUE(ConnectedComponents(g).connected());
  EXPECT_EQ(Eccentricity(g, 0), 0u);
  const PathStats stats = ExactPathStats(g);
  EXPECT_EQ(stats.sources, 1u);
  EXPECT_EQ(stats.reachable_pairs, 0u);
  EXPECT_EQ(stats.average_path_length_hops, 0.0);
  EXPECT_EQ(stats.global_efficiency, 0.0);
}

TEST(GraphTest, ClusteringCountsLowDegreeVerticesAsZero) {
  // Triangle 0-1-2 with a pendant 3 on 2: C = (1 + 1 + 1/3 + 0) / 4, as NetworkX gives.
  const Graph g = Graph::FromEdges(4, {{0, 1}, {1, 2}, {2, 0}, {2, 3}});
  EXPECT_DOUBLE_EQ(AverageClustering(g), (1 + 1 + 1.0 / 3) / 4);
}

// Known answers from NetworkX 3.6 on Zachary's karate club.
TEST(GraphTest, KarateClubMatchesNetworkX) {
  const Edges edges = {
      {0, 1},   {0, 2},   {0, 3},   {0, 4},   {0, 5},   {0, 6},   {0, 7},   {0, 8},   {0, 10},
      {0, 11},  {0, 12},  {0, 13},  {0, 17},  {0, 19},  {0, 21},  {0, 31},  {1, 2},   {1, 3},
      {1, 7},   {1, 13},  {1, 17},  {1, 19},  {1, 21},  {1, 30},  {2, 3},   {2, 7},   {2, 8},
      {2, 9},   {2, 13},  {2, 27},  {2, 28},  {2, 32},  {3, 7},   {3, 12},  {3, 13},  {4, 6},
      {4, 10},  {5, 6},   {5, 10},  {5, 16},  {6, 16},  {8, 30},  {8, 32},  {8, 33},  {9, 33},
      {13, 33}, {14, 32}, {14, 33}, {15, 32}, {15, 33}, {18, 32}, {18, 33}, {19, 33}, {20, 32},
      {20, 33}, {22, 32}, {22, 33}, {23, 25}, {23, 27}, {23, 29}, {23, 32}, {23, 33}, {24, 25},
      {24, 27}, {24, 31}, {25, 31}, {26, 29}, {26, 33}, {27, 33}, {28, 31}, {28, 33}, {29, 32},
      {29, 33}, {30, 32}, {30, 33}, {31, 32}, {31, 33}, {32, 33}};
  const Graph g = Graph::FromEdges(34, edges);
  EXPECT_EQ(g.edge_count(), 78u);
  EXPECT_NEAR(AverageClustering(g), 0.5706384782076823, 1e-12);
  const PathStats stats = ExactPathStats(g);
  EXPECT_NEAR(stats.average_path_length_hops, 2.408199643493761, 1e-12);
  EXPECT_NEAR(stats.global_efficiency, 0.4920083184789052, 1e-12);
  EXPECT_EQ(stats.max_depth_hops, 5u);  // The diameter.
  EXPECT_EQ(Eccentricity(g, 0), 3u);
  EXPECT_EQ(Eccentricity(g, 33), 4u);
}

TEST(GraphTest, AliveMaskSplitsAtDeadVertices) {
  const Graph g = Graph::FromEdges(5, {{0, 1}, {1, 2}, {2, 3}, {3, 4}});
  const std::vector<bool> alive = {true, true, false, true, true};
  const Components c = ConnectedComponents(g, alive);
  EXPECT_EQ(c.count, 2u);
  EXPECT_EQ(c.vertices_considered, 4u);
  EXPECT_EQ(c.component_of, (std::vector<uint32_t>{0, 0, Components::kNone, 1, 1}));
  EXPECT_FALSE(c.connected());

  const std::vector<uint8_t> alive_bytes = {0, 1, 1, 1, 1};
  const Components tail = ConnectedComponents(g, alive_bytes);
  EXPECT_TRUE(tail.connected());
  EXPECT_EQ(tail.largest_size, 4u);
  EXPECT_EQ(tail.component_of[0], Components::kNone);

  const Components none = ConnectedComponents(g, std::vector<bool>(5, false));
  EXPECT_EQ(none.count, 0u);
  EXPECT_FALSE(none.connected());
}

TEST(GraphTest, SampledPathStatsTrackExactOnBarabasiAlbert) {
  Rng graph_rng(42);
  const Graph g = Graph::FromEdges(2000, BarabasiAlbertEdges(2000, 3, graph_rng));
  EXPECT_TRUE(ConnectedComponents(g).connected());
  const PathStats exact = ExactPathStats(g);
  ASSERT_TRUE(exact.exact);

  Rng rng(2024);
  const PathStats sampled = ComputePathStats(g, 200, rng);
  EXPECT_FALSE(sampled.exact);
  EXPECT_EQ(sampled.sources, 200u);
  EXPECT_EQ(sampled.reachable_pairs, 200u * 1999u);
  // Over 200 seeds the worst relative error was 1.7% (length) and 2.0% (efficiency).
  EXPECT_NEAR(sampled.average_path_length_hops, exact.average_path_length_hops,
              0.03 * exact.average_path_length_hops);
  EXPECT_NEAR(sampled.global_efficiency, exact.global_efficiency, 0.03 * exact.global_efficiency);
  EXPECT_LE(sampled.max_depth_hops, exact.max_depth_hops);
  EXPECT_GE(sampled.max_depth_hops + 2, exact.max_depth_hops);

  // The same seed reproduces the estimate exactly.
  Rng replay(2024);
  const PathStats again = ComputePathStats(g, 200, replay);
  EXPECT_EQ(again.average_path_length_hops, sampled.average_path_length_hops);
  EXPECT_EQ(again.global_efficiency, sampled.global_efficiency);
  EXPECT_EQ(again.max_depth_hops, sampled.max_depth_hops);
}

}  // namespace
}  // namespace myco
