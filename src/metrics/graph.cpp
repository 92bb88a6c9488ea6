#include "metrics/graph.hpp"

#include <algorithm>
#include <cassert>
#include <functional>
#include <numeric>

namespace myco {

namespace {

// Edges as one 64-bit key (smaller id high) so that normalising, sorting and deduplicating is a
// plain integer sort: several times faster than sorting pairs at 300k edges.
uint64_t EdgeKey(uint32_t a, uint32_t b) {
  const uint32_t lo = std::min(a, b);
  const uint32_t hi = std::max(a, b);
  return (static_cast<uint64_t>(lo) << 32) | hi;
}

// BFS state reused across sources, so that thousands of BFS runs allocate nothing. A vertex is
// visited in the current run when stamp_[v] == run_; bumping run_ clears all marks in O(1).
class LevelBfs {
 public:
  explicit LevelBfs(const Graph& g)
      : g_(g), stamp_(g.vertex_count(), 0), queue_(g.vertex_count()) {}

  // Visits the component of `source` level by level and calls on_level(depth_hops, vertices)
  // once per depth >= 1 that holds at least one vertex, in increasing depth.
  template <typename OnLevel>
  void Run(uint32_t source, OnLevel&& on_level) {
    assert(source < g_.vertex_count());
    if (++run_ == 0) {
      // 2^32 runs: the stamps could alias an old run, so clear them once.
      std::fill(stamp_.begin(), stamp_.end(), 0);
      run_ = 1;
    }
    size_t head = 0;
    size_t tail = 0;
    queue_[tail++] = source;
    stamp_[source] = run_;
    uint32_t depth_hops = 0;
    while (head < tail) {
      const size_t level_end = tail;
      ++depth_hops;
      for (; head < level_end; ++head) {
        for (const uint32_t w : g_.neighbours(queue_[head])) {
          if (stamp_[w] != run_) {
            stamp_[w] = run_;
            queue_[tail++] = w;
          }
        }
      }
      if (tail > level_end) on_level(depth_hops, static_cast<uint64_t>(tail - level_end));
    }
    assert(tail <= queue_.size());
  }

 private:
  const Graph& g_;
  std::vector<uint32_t> stamp_;
  std::vector<uint32_t> queue_;
  uint32_t run_ = 0;
};

// Shared by both alive-mask overloads; `considered(v)` says whether v takes part.
template <typename Considered>
Components ComponentsOf(const Graph& g, Considered considered) {
  const uint32_t n = g.vertex_count();
  Components result;
  result.component_of.assign(n, Components::kNone);
  std::vector<uint32_t> queue(n);
  for (uint32_t root = 0; root < n; ++root) {
    if (!considered(root) || result.component_of[root] != Components::kNone) continue;
    const uint32_t id = result.count++;
    size_t head = 0;
    size_t tail = 0;
    queue[tail++] = root;
    result.component_of[root] = id;
    while (head < tail) {
      for (const uint32_t w : g.neighbours(queue[head++])) {
        if (considered(w) && result.component_of[w] == Components::kNone) {
          result.component_of[w] = id;
          queue[tail++] = w;
        }
      }
    }
    const auto size = static_cast<uint32_t>(tail);
    result.sizes.push_back(size);
    result.largest_size = std::max(result.largest_size, size);
    result.vertices_considered += size;
  }
  assert(result.sizes.size() == result.count);
  assert(result.vertices_considered <= n);
  return result;
}

// Sources drawn uniformly without replacement: the first k slots of a partial Fisher–Yates.
std::vector<uint32_t> SampleSources(uint32_t n, uint32_t k, Rng& rng) {
  assert(k <= n);
  std::vector<uint32_t> ids(n);
  std::iota(ids.begin(), ids.end(), 0u);
  for (uint32_t i = 0; i < k; ++i) {
    const auto j = static_cast<uint32_t>(i + rng.Uniform(n - i));
    std::swap(ids[i], ids[j]);
  }
  ids.resize(k);
  return ids;
}

}  // namespace

Graph Graph::FromEdges(uint32_t vertex_count, std::vector<Edge> edges) {
  assert(vertex_count < UINT32_MAX);  // UINT32_MAX is a sentinel in the metrics.
  std::vector<uint64_t> keys;
  keys.reserve(edges.size());
  for (const auto& [a, b] : edges) {
    assert(a < vertex_count && b < vertex_count);
    if (a != b) keys.push_back(EdgeKey(a, b));
  }
  edges = {};  // Free the caller's copy before the CSR arrays are allocated.
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());

  Graph g;
  g.offsets_.assign(static_cast<size_t>(vertex_count) + 1, 0);
  for (const uint64_t key : keys) {
    ++g.offsets_[(key >> 32) + 1];
    ++g.offsets_[(key & 0xffffffffu) + 1];
  }
  for (uint32_t v = 0; v < vertex_count; ++v) {
    g.max_degree_ = std::max(g.max_degree_, static_cast<uint32_t>(g.offsets_[v + 1]));
    g.offsets_[v + 1] += g.offsets_[v];
  }
  g.adjacency_.resize(keys.size() * 2);
  std::vector<uint64_t> fill(g.offsets_.begin(), g.offsets_.end() - 1);
  // Keys are sorted by (lo, hi), so each list receives its smaller neighbours (while their own
  // lo is scanned) before its larger ones, each group ascending: the lists come out sorted.
  for (const uint64_t key : keys) {
    const auto lo = static_cast<uint32_t>(key >> 32);
    const auto hi = static_cast<uint32_t>(key & 0xffffffffu);
    g.adjacency_[fill[lo]++] = hi;
    g.adjacency_[fill[hi]++] = lo;
  }
  for (uint32_t v = 0; v < vertex_count; ++v) {
    const auto list = g.neighbours(v);
    assert(std::adjacent_find(list.begin(), list.end(), std::greater_equal<>()) == list.end());
    assert(fill[v] == g.offsets_[v + 1]);
  }
  return g;
}

uint32_t Graph::degree(uint32_t v) const {
  assert(v < vertex_count());
  return static_cast<uint32_t>(offsets_[v + 1] - offsets_[v]);
}

std::span<const uint32_t> Graph::neighbours(uint32_t v) const {
  assert(v < vertex_count());
  return {adjacency_.data() + offsets_[v], adjacency_.data() + offsets_[v + 1]};
}

std::vector<uint32_t> Degrees(const Graph& g) {
  std::vector<uint32_t> degrees(g.vertex_count());
  for (uint32_t v = 0; v < g.vertex_count(); ++v) degrees[v] = g.degree(v);
  return degrees;
}

std::vector<uint64_t> DegreeHistogram(const Graph& g) {
  if (g.vertex_count() == 0) return {};
  std::vector<uint64_t> histogram(static_cast<size_t>(g.max_degree()) + 1, 0);
  for (uint32_t v = 0; v < g.vertex_count(); ++v) ++histogram[g.degree(v)];
  assert(histogram.back() > 0);
  return histogram;
}

double AverageClustering(const Graph& g) {
  const uint32_t n = g.vertex_count();
  if (n == 0) return 0;
  // mark[u] == v while v's neighbourhood is being scanned; no reset needed between vertices.
  std::vector<uint32_t> mark(n, UINT32_MAX);
  double sum = 0;
  for (uint32_t v = 0; v < n; ++v) {
    const uint64_t k = g.degree(v);
    if (k < 2) continue;
    for (const uint32_t u : g.neighbours(v)) mark[u] = v;
    // Each edge between two neighbours of v is seen from both of its ends.
    uint64_t neighbour_links_twice = 0;
    for (const uint32_t u : g.neighbours(v)) {
      for (const uint32_t w : g.neighbours(u)) neighbour_links_twice += (mark[w] == v);
    }
    assert(neighbour_links_twice <= k * (k - 1));
    sum += static_cast<double>(neighbour_links_twice) / static_cast<double>(k * (k - 1));
  }
  return sum / n;
}

Components ConnectedComponents(const Graph& g) {
  return ComponentsOf(g, [](uint32_t) { return true; });
}

Components ConnectedComponents(const Graph& g, const std::vector<bool>& alive) {
  assert(alive.size() == g.vertex_count());
  return ComponentsOf(g, [&alive](uint32_t v) { return static_cast<bool>(alive[v]); });
}

Components ConnectedComponents(const Graph& g, std::span<const uint8_t> alive) {
  assert(alive.size() == g.vertex_count());
  return ComponentsOf(g, [alive](uint32_t v) { return alive[v] != 0; });
}

PathStats ComputePathStats(const Graph& g, uint32_t sources_max, Rng& rng) {
  assert(sources_max > 0);
  const uint32_t n = g.vertex_count();
  PathStats stats;
  stats.exact = n <= sources_max;
  std::vector<uint32_t> sources;
  if (stats.exact) {
    sources.resize(n);
    std::iota(sources.begin(), sources.end(), 0u);
  } else {
    sources = SampleSources(n, sources_max, rng);
  }
  stats.sources = static_cast<uint32_t>(sources.size());

  LevelBfs bfs(g);
  uint64_t hops_sum = 0;
  double inverse_hops_sum = 0;
  for (const uint32_t source : sources) {
    bfs.Run(source, [&](uint32_t depth_hops, uint64_t vertices) {
      hops_sum += depth_hops * vertices;
      inverse_hops_sum += static_cast<double>(vertices) / depth_hops;
      stats.reachable_pairs += vertices;
      stats.max_depth_hops = std::max(stats.max_depth_hops, depth_hops);
    });
  }
  if (stats.reachable_pairs > 0) {
    stats.average_path_length_hops =
        static_cast<double>(hops_sum) / static_cast<double>(stats.reachable_pairs);
  }
  if (n >= 2) {
    stats.global_efficiency = inverse_hops_sum / (static_cast<double>(stats.sources) * (n - 1));
  }
  assert(stats.global_efficiency >= 0 && stats.global_efficiency <= 1 + 1e-12);
  assert(stats.reachable_pairs <= static_cast<uint64_t>(stats.sources) * n);
  return stats;
}

uint32_t Eccentricity(const Graph& g, uint32_t v) {
  assert(v < g.vertex_count());
  uint32_t eccentricity_hops = 0;
  LevelBfs bfs(g);
  bfs.Run(v, [&](uint32_t depth_hops, uint64_t) { eccentricity_hops = depth_hops; });
  return eccentricity_hops;
}

}  // namespace myco
