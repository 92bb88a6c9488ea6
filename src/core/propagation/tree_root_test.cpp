// Tests of the broadcast tree's root election and distances: TreeRoots wired into fixed and
// random graphs, exchanging beacons with a fixed one-step delay in virtual time.
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

class Net {
 public:
  explicit Net(size_t n, uint64_t salt = 0) : adj_(n), alive_(n, true) {
    config_.tree_refresh_period = Seconds(5);
    config_.tree_root_timeout = Seconds(20);
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
  std::vector<uint32_t> Bfs(size_t root) const {
    std::vector<uint32_t> dist(nodes_.size(), UINT32_MAX);
    std::deque<size_t> queue{root};
    dist[root] = 0;
    while (!queue.empty()) {
      const size_t v = queue.front();
      queue.pop_front();
      for (size_t u : adj_[v]) {
        if (dist[u] == UINT32_MAX) {
          dist[u] = dist[v] + 1;
          queue.push_back(u);
        }
      }
    }
    return dist;
  }

  // The live node with the highest (rank, id): rank = (bit_width(degree), neighbours whose
  // bit_width(degree) is at least one less).
  size_t ExpectedRoot() const {
    auto rank = [&](size_t i) {
      const size_t own = std::bit_width(adj_[i].size());
      size_t hubs = 0;
      for (size_t u : adj_[i]) hubs += std::bit_width(adj_[u].size()) + 1 >= own ? 1 : 0;
      return std::make_tuple(own, hubs, ids_[i]);
    };
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (!alive_[i]) continue;
      if (best == SIZE_MAX || rank(i) > rank(best)) best = i;
    }
    return best;
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
    GrowScaleFree(net, 2, seed);
    net.Run(Seconds(5));
    net.ExpectShortestPathTree(net.ExpectedRoot());
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
  tree.OnBeacon(TimePoint{}, peer, TreeBeacon{root, 5u << 16, 7, 1});
  ASSERT_EQ(tree.beacon().root, root);
  EXPECT_EQ(tree.beacon().dist, 2u);
  EXPECT_EQ(tree.parent(), peer);
  const TimePoint late{(config.tree_root_timeout + Seconds(1)).ns};
  tree.OnBeacon(late, peer, TreeBeacon{root, 5u << 16, 7, 1});
  tree.OnTick(late, out);
  EXPECT_EQ(tree.counters().roots_expired, 1u);
  EXPECT_TRUE(tree.IsRoot());
  // Still ignored while it is remembered as dead, accepted again with a newer number later.
  tree.OnBeacon(late, peer, TreeBeacon{root, 5u << 16, 7, 1});
  EXPECT_TRUE(tree.IsRoot());
  const TimePoint later = late + config.tree_root_timeout + Seconds(1);
  tree.OnTick(later, out);
  tree.OnBeacon(later, peer, TreeBeacon{root, 5u << 16, 8, 1});
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
  tree.OnBeacon(TimePoint{}, peer, TreeBeacon{self, 1, 50, 1});
  EXPECT_TRUE(tree.IsRoot());
  EXPECT_GT(tree.beacon().seq, 50u);
  out.clear();
  tree.OnTick(TimePoint{Seconds(10).ns}, out);  // the refresh
  tree.OnTick(tree.NextDeadline(), out);        // its round of beacons
  EXPECT_GT(tree.beacon().seq, 51u);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(std::get<TreeBeacon>(std::get<Send>(out.back()).message).seq, tree.beacon().seq);
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
  net.Run(Seconds(5));  // a refresh reaches everyone: one more beacon per link end at most
  uint64_t refreshed = 0;
  for (size_t i = 0; i < 3; ++i) refreshed += net.node(i).counters().beacons_sent;
  EXPECT_GT(refreshed, later);
  EXPECT_LE(refreshed - later, 4u * 2);
}

}  // namespace
}  // namespace myco
