// Graph metrics for the simulator: an immutable undirected simple graph in CSR form and the
// measures we report on it (degrees, clustering, components, path lengths, efficiency).
//
// Guarantees:
//  - Graph: vertices are dense ids 0..n-1; every adjacency list is sorted ascending, holds no
//    self loop and no duplicate, and u is in neighbours(v) exactly when v is in neighbours(u).
//  - Every metric is a pure function of its arguments (and of the Rng stream, for sampled path
//    statistics), so a seeded run reproduces the same numbers bit for bit.
//  - Every metric is defined on the empty graph and on a single vertex (no division by zero);
//    the value used there is stated on each function.
//  - Cost: O(n + m) per BFS; clustering is O(sum of deg^2). For 100k vertices and 300k edges the
//    whole set (with a few hundred sampled BFS sources) runs in about a second on one core.
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "myco/rng.hpp"

namespace myco {

// REQUIRES: external synchronization only for assignment; const methods are safe to share.
class Graph {
 public:
  using Edge = std::pair<uint32_t, uint32_t>;

  // The empty graph (no vertices).
  Graph() = default;

  // Builds the simple graph on vertices 0..vertex_count-1 from an undirected edge list: (a, b)
  // and (b, a) are the same edge, duplicates are merged and self loops dropped, because
  // simulator snapshots list each link from both ends.
  // REQUIRES: every id < vertex_count; vertex_count < UINT32_MAX.
  static Graph FromEdges(uint32_t vertex_count, std::vector<Edge> edges);

  uint32_t vertex_count() const { return static_cast<uint32_t>(offsets_.size() - 1); }
  uint64_t edge_count() const { return adjacency_.size() / 2; }
  uint32_t degree(uint32_t v) const;
  uint32_t max_degree() const { return max_degree_; }
  // Sorted ascending. Valid as long as the graph is alive and unmodified.
  std::span<const uint32_t> neighbours(uint32_t v) const;

  // Same vertices, same edges (the CSR form is canonical, so member-wise equality is exact).
  bool operator==(const Graph&) const = default;

 private:
  // offsets_[v]..offsets_[v+1] delimit v's list in adjacency_; size is n+1, so never empty.
  std::vector<uint64_t> offsets_ = {0};
  std::vector<uint32_t> adjacency_;
  uint32_t max_degree_ = 0;
};

// Degree of every vertex, indexed by vertex id (the input of a power-law fit).
std::vector<uint32_t> Degrees(const Graph& g);

// histogram[k] = number of vertices of degree k; size max_degree+1, or 0 for the empty graph.
std::vector<uint64_t> DegreeHistogram(const Graph& g);

// Mean over ALL vertices of the local clustering coefficient 2 T(v) / (deg(v) (deg(v) - 1)),
// where T(v) is the number of triangles through v. Vertices of degree < 2 count as 0 and stay
// in the denominator, as NetworkX's average_clustering does (count_zeros=True). 0 for n == 0.
double AverageClustering(const Graph& g);

struct Components {
  // component_of[v] for a vertex left out by an alive mask.
  static constexpr uint32_t kNone = UINT32_MAX;

  // Component id per vertex, numbered 0.. in order of each component's smallest vertex id.
  std::vector<uint32_t> component_of;
  // Vertices in each component, indexed by component id.
  std::vector<uint32_t> sizes;
  uint32_t count = 0;
  uint32_t largest_size = 0;
  // Vertices taken into account: n, or the number of alive vertices.
  uint32_t vertices_considered = 0;

  // "Do the considered vertices form one component?" False when there are none.
  bool connected() const { return count == 1; }
};

// Connected components of the whole graph.
Components ConnectedComponents(const Graph& g);
// Components of the subgraph induced by the alive vertices: dead vertices get kNone and paths
// never pass through them. REQUIRES: alive.size() == g.vertex_count().
Components ConnectedComponents(const Graph& g, const std::vector<bool>& alive);
Components ConnectedComponents(const Graph& g, std::span<const uint8_t> alive);

struct PathStats {
  // Mean shortest-path length in hops over ordered pairs (u, v), u != v, that are connected
  // (unreachable pairs are left out, not counted as infinite). 0 when no pair is connected.
  double average_path_length_hops = 0;
  // Latora–Marchiori global efficiency: sum of 1/d(u, v) over ordered pairs u != v divided by
  // n (n - 1), unreachable pairs contributing 0. 0 when n < 2 (NetworkX does the same).
  double global_efficiency = 0;
  // Largest BFS depth seen: the diameter of the largest-diameter component when exact, else a
  // lower bound of it.
  uint32_t max_depth_hops = 0;
  // True when every vertex was a BFS source; false when `sources` were sampled.
  bool exact = true;
  // BFS sources used.
  uint32_t sources = 0;
  // Connected ordered pairs (source, target) seen from those sources.
  uint64_t reachable_pairs = 0;
};

// Path statistics by BFS: exact (from every vertex) when n <= sources_max, otherwise estimated
// from sources_max sources drawn uniformly without replacement from `rng`. The sampled
// efficiency is an unbiased estimate (sum over the sampled sources divided by sources (n - 1));
// the sampled average path length is the ratio estimate over the pairs those sources reach.
// Cost: min(n, sources_max) BFS runs of O(n + m) each. REQUIRES: sources_max > 0.
PathStats ComputePathStats(const Graph& g, uint32_t sources_max, Rng& rng);

// Greatest distance in hops from v to any vertex it can reach (its eccentricity within its own
// component; NetworkX would call a disconnected graph's eccentricity infinite). 0 for an
// isolated vertex. REQUIRES: v < g.vertex_count().
uint32_t Eccentricity(const Graph& g, uint32_t v);

}  // namespace myco
