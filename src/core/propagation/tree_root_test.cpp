// Tests of the broadcast trees' root election, distances, heights and eccentricities: TreeRoots
// wired into fixed and random graphs, exchanging beacons with a fixed one-step delay in virtual
// time.
#include "core/propagation/tree_root.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <numeric>
#include <set>
#include <tuple>
#include <vector>

#include "core/node.hpp"
#include "core/propagation/broadcast.hpp"
#include "myco/rng.hpp"

namespace myco {
namespace {

NodeId IdOf(size_t i, uint64_t salt = 0) {
  NodeId id;
  Rng rng(i * 7919 + salt * 104729 + 1);
  for (auto& b : id.bytes) b = static_cast<uint8_t>(rng.Next());
  return id;
}

// Hop distances from `root` over the links `adj` (UINT32_MAX where unreachable).
std::vector<uint32_t> BfsOver(const std::vector<std::vector<size_t>>& adj, size_t root) {
  std::vector<uint32_t> dist(adj.size(), UINT32_MAX);
  std::deque<size_t> queue{root};
  dist[root] = 0;
  while (!queue.empty()) {
    const size_t v = queue.front();
    queue.pop_front();
    for (size_t u : adj[v]) {
      if (dist[u] == UINT32_MAX) {
        dist[u] = dist[v] + 1;
        queue.push_back(u);
      }
    }
  }
  return dist;
}

// A beacon with one tree's record.
TreeBeacon One(const NodeId& root, uint32_t rank, uint64_t seq, uint32_t dist, bool parent = false,
               uint32_t degree_rank = 0) {
  TreeBeacon beacon;
  beacon.trees.push_back(TreeRecord{root, rank, seq, dist, parent});
  beacon.degree_rank = degree_rank;
  return beacon;
}

class Net {
 public:
  Net(const Net&) = delete;
  Net& operator=(const Net&) = delete;
  explicit Net(size_t n, uint64_t salt = 0, uint32_t tree_count = PropagationConfig{}.tree_count)
      : adj_(n), alive_(n, true) {
    config_.tree_refresh_period = Seconds(5);
    config_.tree_root_timeout = Seconds(20);
    config_.tree_count = tree_count;
    for (size_t i = 0; i < n; ++i) {
      ids_.push_back(IdOf(i, salt));
      nodes_.emplace_back(config_, ids_.back());
    }
  }

  void Link(size_t a, size_t b) {
    if (a == b || std::count(adj_[a].begin(), adj_[a].end(), b) != 0) return;
    adj_[a].push_back(b);
    adj_[b].push_back(a);
    nodes_[a].OnNeighbourUp(now_, ids_[b]);
    nodes_[b].OnNeighbourUp(now_, ids_[a]);
  }

  // A crash: the neighbours see the links go down.
  void Kill(size_t v) {
    alive_[v] = false;
    for (size_t u : adj_[v]) {
      nodes_[u].OnNeighbourDown(now_, ids_[v]);
      std::erase(adj_[u], v);
    }
    adj_[v].clear();
  }

  // Runs `d` of virtual time in 10 ms steps; beacons arrive one step after they are sent.
  void Run(Duration d) {
    const TimePoint end = now_ + d;
    while (now_ < end) {
      std::vector<std::pair<size_t, std::pair<size_t, TreeBeacon>>> inflight;
      for (size_t i = 0; i < nodes_.size(); ++i) {
        if (!alive_[i] || nodes_[i].NextDeadline() > now_) continue;
        TreeRoot::Out out;
        nodes_[i].OnTick(now_, out);
        for (auto& e : out) {
          const Send& send = std::get<Send>(e);
          const size_t to = Index(send.peer);
          inflight.push_back({to, {i, std::get<TreeBeacon>(send.message)}});
        }
      }
      now_ = now_ + Milliseconds(10);
      for (auto& [to, msg] : inflight) {
        if (!alive_[to] || !alive_[msg.first]) continue;
        if (std::count(adj_[to].begin(), adj_[to].end(), msg.first) == 0) continue;
        nodes_[to].OnBeacon(now_, ids_[msg.first], msg.second);
      }
    }
  }

  size_t Index(const NodeId& id) const {
    return static_cast<size_t>(std::find(ids_.begin(), ids_.end(), id) - ids_.begin());
  }

  // Hop distances from `root` over live nodes.
  std::vector<uint32_t> Bfs(size_t root) const { return BfsOver(adj_, root); }

  // The live nodes by descending (rank, id): rank = (bit_width(degree), neighbours whose
  // bit_width(degree) is at least one less).
  std::vector<size_t> RankOrder() const {
    auto rank = [&](size_t i) {
      const size_t own = std::bit_width(adj_[i].size());
      size_t hubs = 0;
      for (size_t u : adj_[i]) hubs += std::bit_width(adj_[u].size()) + 1 >= own ? 1 : 0;
      return std::make_tuple(own, hubs, ids_[i]);
    };
    std::vector<size_t> order;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (alive_[i]) order.push_back(i);
    }
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return rank(a) > rank(b); });
    return order;
  }
  size_t ExpectedRoot() const { return RankOrder().front(); }

  // Every live node's eccentricity in the tree `tree` as its nodes' parent links make it (BFS
  // over those links alone).
  std::vector<uint32_t> TreeEccentricities(size_t tree) const {
    std::vector<std::vector<size_t>> links(nodes_.size());
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (!alive_[i] || nodes_[i].parent(tree).IsZero()) continue;
      const size_t p = Index(nodes_[i].parent(tree));
      links[i].push_back(p);
      links[p].push_back(i);
    }
    std::vector<uint32_t> ecc(nodes_.size(), 0);
    for (size_t s = 0; s < nodes_.size(); ++s) {
      if (!alive_[s]) continue;
      for (uint32_t d : BfsOver(links, s)) {
        if (d != UINT32_MAX) ecc[s] = std::max(ecc[s], d);
      }
    }
    return ecc;
  }

  // Every live node follows `root` at its BFS distance, through a parent one hop closer.
  void ExpectShortestPathTree(size_t root) const {
    const std::vector<uint32_t> dist = Bfs(root);
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (!alive_[i]) continue;
      const TreeRoot& t = nodes_[i];
      ASSERT_EQ(t.beacon().root, ids_[root]) << "node " << i;
      ASSERT_EQ(t.beacon().dist, dist[i]) << "node " << i;
      if (i == root) {
        EXPECT_TRUE(t.IsRoot());
        EXPECT_TRUE(t.parent().IsZero());
      } else {
        const size_t p = Index(t.parent());
        ASSERT_LT(p, nodes_.size());
        EXPECT_EQ(dist[p] + 1, dist[i]);
        EXPECT_EQ(t.PeerDist(ids_[p]), dist[p]);
      }
    }
  }

  const TreeRoot& node(size_t i) const { return nodes_[i]; }
  TimePoint now() const { return now_; }
  bool alive(size_t i) const { return alive_[i]; }
  const NodeId& id(size_t i) const { return ids_[i]; }
  const std::vector<std::vector<size_t>>& adj() const { return adj_; }
  size_t size() const { return nodes_.size(); }

 private:
  PropagationConfig config_;
  std::vector<NodeId> ids_;
  std::vector<TreeRoot> nodes_;
  std::vector<std::vector<size_t>> adj_;
  std::vector<bool> alive_;
  TimePoint now_{Seconds(1).ns};
};

// Preferential attachment: each new node links to m existing ones, chosen by degree.
void GrowScaleFree(Net& net, size_t m, uint64_t seed) {
  Rng rng(seed);
  std::vector<size_t> ends;  // every link end once: picking from it is picking by degree
  for (size_t i = 1; i <= m && i < net.size(); ++i) {
    net.Link(0, i);
    ends.push_back(0);
    ends.push_back(i);
  }
  for (size_t v = m + 1; v < net.size(); ++v) {
    std::set<size_t> picked;
    while (picked.size() < m) picked.insert(ends[rng.Uniform(ends.size())]);
    for (size_t u : picked) {
      net.Link(v, u);
      ends.push_back(u);
      ends.push_back(v);
    }
  }
}

// Grows `net` scale-free (m = 2) and runs it for `run`. (A Net is not returned by value: its
// TreeRoots refer to its config.)
void GrowAndRun(Net& net, uint64_t seed, Duration run) {
  GrowScaleFree(net, 2, seed);
  net.Run(run);
}

TEST(TreeRootTest, AStarElectsItsHubAndEveryLeafSitsOneHopBelow) {
  Net net(6);
  for (size_t i = 1; i < 6; ++i) net.Link(0, i);
  net.Run(Seconds(2));
  net.ExpectShortestPathTree(0);
}

TEST(TreeRootTest, AlonePeersRootThemselves) {
  Net net(2);
  net.Run(Seconds(1));
  EXPECT_TRUE(net.node(0).IsRoot());
  EXPECT_TRUE(net.node(1).IsRoot());
  EXPECT_EQ(net.node(0).PeerDist(net.id(1)), TreeRoot::kFar);
}

TEST(TreeRootTest, ScaleFreeGraphsConvergeToAShortestPathTreeFromTheTopRankedNode) {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    SCOPED_TRACE(seed);
    Net net(300, seed);
    GrowAndRun(net, seed, Seconds(5));
    net.ExpectShortestPathTree(net.ExpectedRoot());
  }
}

// The beacon fast path (OnBeacon re-evaluates only the trees a beacon changes, takes new roots
// and rank rises in place) must leave every node exactly where a full recomputation from its
// neighbours' records would: checked for every node every 100 ms while a network grows node by
// node, and while it heals after a fifth of it crashes.
TEST(TreeRootTest, TheBeaconFastPathAgreesWithAFullRecomputation) {
  auto expect_agreement = [](const Net& net, const char* phase) {
    for (size_t i = 0; i < net.size(); ++i) {
      if (!net.alive(i)) continue;
      const TreeRoot& fast = net.node(i);
      TreeRoot full = fast;
      full.RecomputeForTest(net.now());
      ASSERT_EQ(full.tree_count(), fast.tree_count()) << phase << ", node " << i;
      for (size_t j = 0; j < fast.tree_count(); ++j) {
        const TreeRecord& a = fast.record(j);
        const TreeRecord& b = full.record(j);
        ASSERT_EQ(std::tie(a.root, a.root_rank, a.seq, a.dist, a.height),
                  std::tie(b.root, b.root_rank, b.seq, b.dist, b.height))
            << phase << ", node " << i << ", tree " << j << " at " << net.now().seconds() << " s";
        ASSERT_EQ(fast.parent(j), full.parent(j)) << phase << ", node " << i << ", tree " << j;
        ASSERT_EQ(fast.TreeEccentricity(j), full.TreeEccentricity(j)) << phase << ", node " << i;
      }
    }
  };
  for (uint64_t seed = 1; seed <= 2; ++seed) {
    SCOPED_TRACE(seed);
    Net net(200, seed);
    Rng rng(seed);
    std::vector<size_t> ends;  // preferential attachment, as GrowScaleFree, one node at a time
    net.Link(0, 1);
    ends = {0, 1};
    for (size_t v = 2; v < net.size(); ++v) {
      std::set<size_t> picked;
      while (picked.size() < std::min<size_t>(2, v)) picked.insert(ends[rng.Uniform(ends.size())]);
      for (size_t u : picked) {
        net.Link(v, u);
        ends.push_back(u);
        ends.push_back(v);
      }
      net.Run(Milliseconds(20));
      if (v % 5 == 0) expect_agreement(net, "growing");
    }
    for (int step = 0; step < 30; ++step) {
      net.Run(Milliseconds(100));
      expect_agreement(net, "settling");
    }
    for (size_t k = 0; k < net.size() / 5; ++k) net.Kill(1 + rng.Uniform(net.size() - 1));
    for (int step = 0; step < 100; ++step) {
      net.Run(Milliseconds(100));
      expect_agreement(net, "after the crash");
    }
  }
}

// The reason for the tree root: with weights that start with the distance sum, the minimum
// spanning tree (Kruskal) is exactly the set of parent links.
TEST(TreeRootTest, MinimumSpanningTreeOfTheLinkWeightsIsTheParentLinks) {
  Net net(300, 9);
  GrowScaleFree(net, 3, 9);
  net.Run(Seconds(5));
  struct Edge {
    uint64_t w;
    size_t a, b;
  };
  std::vector<Edge> edges;
  for (size_t a = 0; a < net.size(); ++a) {
    for (size_t b : net.adj()[a]) {
      if (a >= b) continue;
      const uint64_t w = Broadcast::LinkWeight(
          net.id(a), net.id(b), net.node(a).beacon().dist + net.node(b).beacon().dist);
      // Both ends weigh the link the same.
      ASSERT_EQ(w,
                Broadcast::LinkWeight(net.id(b), net.id(a),
                                      net.node(b).PeerDist(net.id(a)) + net.node(b).beacon().dist));
      edges.push_back({w, a, b});
    }
  }
  std::sort(edges.begin(), edges.end(), [](const Edge& x, const Edge& y) { return x.w < y.w; });
  std::vector<size_t> parent(net.size());
  std::iota(parent.begin(), parent.end(), 0);
  auto find = [&](size_t v) {
    while (parent[v] != v) v = parent[v] = parent[parent[v]];
    return v;
  };
  std::set<std::pair<size_t, size_t>> mst;
  for (const Edge& e : edges) {
    const size_t ra = find(e.a), rb = find(e.b);
    if (ra == rb) continue;
    parent[ra] = rb;
    mst.insert({e.a, e.b});
  }
  std::set<std::pair<size_t, size_t>> parents;
  for (size_t i = 0; i < net.size(); ++i) {
    if (net.node(i).IsRoot()) continue;
    const size_t p = net.Index(net.node(i).parent());
    parents.insert({std::min(i, p), std::max(i, p)});
  }
  EXPECT_EQ(mst.size(), net.size() - 1);
  EXPECT_EQ(mst, parents);
}

TEST(TreeRootTest, ADeadRootIsReplacedAndDistancesFollowTheSurvivors) {
  Net net(200, 4);
  GrowScaleFree(net, 3, 4);
  net.Run(Seconds(5));
  const size_t root = net.ExpectedRoot();
  net.ExpectShortestPathTree(root);
  net.Kill(root);
  // Its beacons echo between the survivors, each echo one hop longer, until they pass
  // tree_dist_max or the root timeout ends them; then the next candidate wins.
  net.Run(Seconds(45));
  const size_t next = net.ExpectedRoot();
  ASSERT_NE(next, root);
  net.ExpectShortestPathTree(next);
  // Every other tree too: the eight best-ranked survivors, at their distances.
  const std::vector<size_t> order = net.RankOrder();
  for (size_t j = 0; j < 8; ++j) {
    const std::vector<uint32_t> dist = net.Bfs(order[j]);
    for (size_t i = 0; i < net.size(); ++i) {
      if (i == root) continue;
      ASSERT_EQ(net.node(i).record(j).root, net.id(order[j]))
          << "node " << i << " tree " << j << " kept " << net.node(i).tree_count() << " index "
          << net.Index(net.node(i).record(j).root) << " expected " << order[j] << " dead " << root;
      ASSERT_EQ(net.node(i).record(j).dist, dist[i]) << "node " << i << " tree " << j;
    }
  }
}

TEST(TreeRootTest, ASilentRootIsGivenUpAfterTheRootTimeout) {
  PropagationConfig config;
  const NodeId self = IdOf(1), peer = IdOf(2), root = IdOf(3);
  TreeRoot tree(config, self);
  TreeRoot::Out out;
  tree.OnNeighbourUp(TimePoint{}, peer);
  tree.OnTick(TimePoint{}, out);
  // The peer follows a root of rank 5 (a hub we do not see), and keeps saying so, never with a
  // newer refresh number: the root is gone, the peer only echoes it.
  tree.OnBeacon(TimePoint{}, peer, One(root, 5u << 16, 7, 1));
  ASSERT_EQ(tree.beacon().root, root);
  EXPECT_EQ(tree.beacon().dist, 2u);
  EXPECT_EQ(tree.parent(), peer);
  const TimePoint late{(config.tree_root_timeout + Seconds(1)).ns};
  tree.OnBeacon(late, peer, One(root, 5u << 16, 7, 1));
  tree.OnTick(late, out);
  EXPECT_EQ(tree.counters().roots_expired, 1u);
  EXPECT_TRUE(tree.IsRoot());
  // Still ignored while it is remembered as dead, accepted again with a newer number later.
  tree.OnBeacon(late, peer, One(root, 5u << 16, 7, 1));
  EXPECT_TRUE(tree.IsRoot());
  const TimePoint later = late + config.tree_root_timeout + Seconds(1);
  tree.OnTick(later, out);
  tree.OnBeacon(later, peer, One(root, 5u << 16, 8, 1));
  EXPECT_EQ(tree.beacon().root, root);
}

TEST(TreeRootTest, ARestartedRootContinuesAboveItsOldRefreshNumbers) {
  PropagationConfig config;
  const NodeId self = IdOf(1), peer = IdOf(2);
  TreeRoot tree(config, self);
  TreeRoot::Out out;
  tree.OnNeighbourUp(TimePoint{}, peer);
  tree.OnTick(TimePoint{}, out);
  ASSERT_TRUE(tree.IsRoot());  // it has heard no other candidate
  // The peer still echoes our previous life's beacon, numbered 50.
  tree.OnBeacon(TimePoint{}, peer, One(self, 1, 50, 1));
  EXPECT_TRUE(tree.IsRoot());
  EXPECT_GT(tree.beacon().seq, 50u);
  out.clear();
  tree.OnTick(TimePoint{Seconds(10).ns}, out);  // the refresh, and the round owed the new peer
  EXPECT_GT(tree.beacon().seq, 51u);
  ASSERT_FALSE(out.empty());
  const TreeBeacon& sent = std::get<TreeBeacon>(std::get<Send>(out.back()).message);
  ASSERT_FALSE(sent.trees.empty());
  EXPECT_EQ(sent.trees.front().root, self);
  EXPECT_EQ(sent.trees.front().seq, tree.beacon().seq);
}

TEST(TreeRootTest, BeaconsGoOutOnlyOnChangeAndToNewNeighbours) {
  Net net(3);
  net.Link(0, 1);
  net.Link(1, 2);
  net.Run(Seconds(2));
  uint64_t sent = 0;
  for (size_t i = 0; i < 3; ++i) sent += net.node(i).counters().beacons_sent;
  net.Run(Seconds(1));  // nothing changes within a refresh period
  uint64_t later = 0;
  for (size_t i = 0; i < 3; ++i) later += net.node(i).counters().beacons_sent;
  EXPECT_EQ(sent, later);
  // A refresh reaches everyone: each node roots a tree here, and the three roots refresh at the
  // same time (on multiples of the period), so their waves mostly share rounds: at most one
  // more beacon per link end and tree.
  net.Run(Seconds(5));
  uint64_t refreshed = 0;
  for (size_t i = 0; i < 3; ++i) refreshed += net.node(i).counters().beacons_sent;
  EXPECT_GT(refreshed, later);
  EXPECT_LE(refreshed - later, 4u * 3);
}

// Several trees: every node keeps the tree_count best-ranked roots, each tree a shortest-path
// tree whose links both ends know, and knows its own eccentricity in each (heights go up the
// tree, the rest of the tree comes down from the parent) - what BestTree picks a broadcast's
// tree by.
TEST(TreeRootTest, EveryNodeKeepsTheBestRankedTreesAndKnowsItsEccentricityInEach) {
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    SCOPED_TRACE(seed);
    Net net(300, seed);
    GrowAndRun(net, seed, Seconds(12));
    const std::vector<size_t> order = net.RankOrder();
    const size_t kept = PropagationConfig{}.tree_count;  // the default, 16
    for (size_t j = 0; j < kept; ++j) {
      SCOPED_TRACE(j);
      const size_t root = order[j];
      const std::vector<uint32_t> dist = net.Bfs(root);
      const std::vector<uint32_t> ecc = net.TreeEccentricities(j);
      for (size_t i = 0; i < net.size(); ++i) {
        const TreeRoot& t = net.node(i);
        ASSERT_EQ(t.tree_count(), kept);
        ASSERT_EQ(t.record(j).root, net.id(root)) << "node " << i;
        ASSERT_EQ(t.record(j).dist, dist[i]) << "node " << i;
        if (i != root) {
          const size_t p = net.Index(t.parent(j));
          ASSERT_LT(p, net.size());
          EXPECT_EQ(dist[p] + 1, dist[i]);
          EXPECT_TRUE(t.IsTreeLink(j, net.id(p)));
          EXPECT_TRUE(net.node(p).IsTreeLink(j, net.id(i)));
          EXPECT_EQ(t.PeerDist(j, net.id(p)), dist[p]);
        }
        EXPECT_EQ(t.TreeEccentricity(j), ecc[i]) << "node " << i;
      }
    }
    for (size_t i = 0; i < net.size(); ++i) {
      const TreeRoot& t = net.node(i);
      uint32_t least = UINT32_MAX;
      for (size_t j = 0; j < t.tree_count(); ++j) least = std::min(least, t.TreeEccentricity(j));
      EXPECT_EQ(t.TreeEccentricity(t.BestTree()), least) << "node " << i;
      EXPECT_LE(least, t.TreeEccentricity(0));
      EXPECT_EQ(t.FindTree(TreeRoot::Tag(t.record(t.BestTree()).root)), t.BestTree());
    }
  }
}

TEST(TreeRootTest, OneTreeWhenTreeCountIsOne) {
  Net net(200, 6, 1);
  GrowScaleFree(net, 3, 6);
  net.Run(Seconds(5));
  net.ExpectShortestPathTree(net.ExpectedRoot());
  for (size_t i = 0; i < net.size(); ++i) {
    ASSERT_EQ(net.node(i).tree_count(), 1u);
    EXPECT_EQ(net.node(i).BestTree(), 0u);
  }
}

// A record for a root we do not keep, or from a stranger, changes nothing; an unknown tag finds
// no tree.
TEST(TreeRootTest, FindTreeKnowsOnlyTheTreesKept) {
  PropagationConfig config;
  config.tree_count = 2;
  const NodeId self = IdOf(1), peer = IdOf(2);
  TreeRoot tree(config, self);
  TreeRoot::Out out;
  tree.OnNeighbourUp(TimePoint{}, peer);
  tree.OnTick(TimePoint{}, out);
  TreeBeacon beacon;
  for (size_t r = 0; r < 3; ++r) {
    beacon.trees.push_back(TreeRecord{IdOf(10 + r), static_cast<uint32_t>(9 - r) << 16, 1, 1});
  }
  tree.OnBeacon(TimePoint{}, peer, beacon);
  tree.OnBeacon(TimePoint{}, IdOf(3), One(IdOf(20), 15u << 16, 1, 1));  // not a neighbour
  ASSERT_EQ(tree.tree_count(), 2u);
  EXPECT_EQ(tree.record(0).root, IdOf(10));
  EXPECT_EQ(tree.record(1).root, IdOf(11));
  EXPECT_EQ(tree.FindTree(TreeRoot::Tag(IdOf(11))), 1u);
  EXPECT_FALSE(tree.FindTree(TreeRoot::Tag(IdOf(12))).has_value());
  EXPECT_FALSE(tree.FindTree(TreeRoot::Tag(IdOf(20))).has_value());
  EXPECT_FALSE(tree.FindTree(TreeRoot::Tag(self)).has_value());
  EXPECT_NE(TreeRoot::Tag(NodeId{}), 0u);  // 0 means "no tree" on the wire
}

// No distance grows without a newer refresh number (no counting to infinity): a node that lost
// its parent and sees the root only farther away drops the tree until the root refreshes.
TEST(TreeRootTest, ADistanceThatWouldGrowHoldsTheTreeUntilTheNextRefresh) {
  PropagationConfig config;
  const NodeId self = IdOf(1), a = IdOf(2), b = IdOf(3), root = IdOf(4);
  TreeRoot tree(config, self);
  TreeRoot::Out out;
  const TimePoint t0{Seconds(1).ns};
  tree.OnNeighbourUp(t0, a);
  tree.OnNeighbourUp(t0, b);
  tree.OnTick(t0, out);
  tree.OnBeacon(t0, a, One(root, 9u << 16, 7, 1));
  tree.OnBeacon(t0, b, One(root, 9u << 16, 7, 3));
  ASSERT_EQ(tree.beacon().root, root);
  ASSERT_EQ(tree.beacon().dist, 2u);
  ASSERT_EQ(tree.parent(), a);
  tree.OnNeighbourDown(t0, a);  // b would make it 4, at the same refresh number: held
  EXPECT_TRUE(tree.IsRoot());
  EXPECT_FALSE(tree.FindTree(TreeRoot::Tag(root)).has_value());
  EXPECT_EQ(tree.counters().holds, 1u);
  tree.OnBeacon(t0, b, One(root, 9u << 16, 7, 2));  // still the same number: still held
  EXPECT_FALSE(tree.FindTree(TreeRoot::Tag(root)).has_value());
  tree.OnBeacon(t0 + Seconds(5), b, One(root, 9u << 16, 8, 3));  // the root refreshed
  ASSERT_EQ(tree.beacon().root, root);
  EXPECT_EQ(tree.beacon().dist, 4u);
  EXPECT_EQ(tree.parent(), b);
}

}  // namespace
}  // namespace myco
