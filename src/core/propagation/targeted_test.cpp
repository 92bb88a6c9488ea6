// Exact tests of targeted routing: a real Membership is given its links through Hello handshakes
// and its topology map through NeighbourList messages, then every path, Send and app event of
// the router is asserted. Node k has the id whose first byte is k, so id order is number order.
#include "core/propagation/targeted.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/node.hpp"
#include "core/topology/membership.hpp"
#include "myco/rng.hpp"

namespace myco {
namespace {

NodeId Id(int k) {
  NodeId id;
  id.bytes[0] = static_cast<uint8_t>(k >> 8);
  id.bytes[1] = static_cast<uint8_t>(k & 0xff);
  id.bytes[31] = 1;  // never the all-zero id
  return id;
}

std::vector<NodeId> Ids(std::initializer_list<int> ks) {
  std::vector<NodeId> ids;
  for (int k : ks) ids.push_back(Id(k));
  return ids;
}

using Edges = std::vector<std::pair<int, int>>;
using Routes = std::vector<std::vector<NodeId>>;

// One node (node 0) whose Membership is fed links and a topology map, and its router.
class Scenario {
 public:
  explicit Scenario(PropagationConfig config = {})
      : config_(config),
        membership_(SelfInfo(), TopologyConfig{}, Rng(7)),
        router_(membership_, config_) {}

  // Node 0's edges become live links (in the order given); every other node's neighbour list
  // becomes a map entry. `order` permutes the entries' arrival (for determinism tests).
  void Build(const Edges& edges, const std::vector<int>& order = {}) {
    std::map<int, std::vector<int>> adjacency;
    for (auto [u, v] : edges) {
      adjacency[u].push_back(v);
      adjacency[v].push_back(u);
    }
    for (int peer : adjacency[0]) Connect(peer);
    std::vector<int> origins = order;
    if (origins.empty()) {
      for (const auto& [u, vs] : adjacency) origins.push_back(u);
    }
    for (int u : origins) {
      if (u != 0) Entry(u, adjacency[u]);
    }
  }

  void Connect(int peer, std::vector<std::string> specializations = {}) {
    auto info = std::make_shared<NodeInfo>();
    info->id = Id(peer);
    info->name = "n" + std::to_string(peer);
    info->specializations = std::move(specializations);
    Membership::Out out;
    membership_.OnLinkUp(now_, Id(peer), info->name, false, out);
    membership_.OnReceived(now_, Id(peer), Hello{info, HelloIntent::kNeighbor, 1}, out);
    const Link* link = membership_.FindLink(Id(peer));
    ASSERT_TRUE(link != nullptr && link->state == LinkState::kActive);
  }

  void Disconnect(int peer) {
    Membership::Out out;
    membership_.OnLinkDown(now_, Id(peer), "test", out);
  }

  // `origin`'s neighbour list (a newer version each time), relayed by our first active neighbour.
  void Entry(int origin, const std::vector<int>& neighbours) {
    std::vector<NodeId> ids;
    ids.reserve(neighbours.size());
    for (int v : neighbours) ids.push_back(Id(v));
    const std::vector<NodeId> relays = membership_.ActivePeerIds();
    ASSERT_FALSE(relays.empty());
    Membership::Out out;
    membership_.OnReceived(now_, relays.front(),
                           NeighbourList{Id(origin), ++versions_[origin], 0, std::move(ids)}, out);
  }

  // The peer reports this RTT estimate, which sets our link's RTT (and so its Health()).
  void ReportRtt(int peer, int64_t rtt_us) {
    Membership::Out out;
    membership_.OnReceived(now_, Id(peer), Ping{++ping_seq_, rtt_us}, out);
  }

  std::vector<std::vector<NodeId>> Paths(int destination, uint32_t hops_max = 15,
                                         const Selector& selector = {}) const {
    std::vector<std::vector<NodeId>> paths;
    for (const auto& p : router_.CandidatePaths(Id(destination), selector, hops_max)) {
      paths.push_back(p.nodes);
    }
    return paths;
  }

  std::shared_ptr<const PacketBody> Body(uint64_t seq, int destination, double priority = 0.5) {
    auto body = std::make_shared<PacketBody>();
    body->id = PacketId{Id(0), seq};
    body->information_type = "consciousness_sync";
    body->ttl_max = 15;
    body->priority = priority;
    body->mode = PropagationMode::kTargeted;
    body->destinations = {Id(destination)};
    return body;
  }

  TargetedRouter& router() { return router_; }
  const Membership& membership() const { return membership_; }
  TimePoint now() const { return now_; }

 private:
  static NodeInfo SelfInfo() {
    NodeInfo info;
    info.id = Id(0);
    info.name = "n0";
    return info;
  }

  TimePoint now_{Seconds(100).ns};
  PropagationConfig config_;
  Membership membership_;
  TargetedRouter router_;
  std::map<int, uint64_t> versions_;
  uint64_t ping_seq_ = 0;
};

Edges Ring(int n) {
  Edges edges;
  for (int i = 0; i < n; ++i) edges.emplace_back(i, (i + 1) % n);
  return edges;
}

// A connected random graph: a random tree plus `extra` random edges, node 0 of degree >= 1.
Edges RandomGraph(int n, int extra, uint64_t seed) {
  Rng rng(seed);
  std::set<std::pair<int, int>> set;
  for (int i = 1; i < n; ++i) {
    const int j = static_cast<int>(rng.Uniform(static_cast<uint64_t>(i)));
    set.emplace(j, i);
  }
  for (int e = 0; e < extra; ++e) {
    const int a = static_cast<int>(rng.Uniform(static_cast<uint64_t>(n)));
    const int b = static_cast<int>(rng.Uniform(static_cast<uint64_t>(n)));
    if (a != b) set.emplace(std::min(a, b), std::max(a, b));
  }
  return {set.begin(), set.end()};
}

std::vector<Effect> Sends(const TargetedRouter::Out& out) {
  std::vector<Effect> sends;
  for (const Effect& e : out) {
    if (std::holds_alternative<Send>(e)) sends.push_back(e);
  }
  return sends;
}

const PacketMsg& PacketOf(const Effect& effect) {
  return std::get<PacketMsg>(std::get<Send>(effect).message);
}

// ---------------------------------------------------------------- candidate paths

TEST(TargetedRouterTest, LineHasOneShortestPathWithinHopsMax) {
  Scenario s;
  s.Build({{0, 1}, {1, 2}, {2, 3}, {3, 4}});
  const auto paths = s.router().CandidatePaths(Id(4), {}, 15);
  ASSERT_EQ(paths.size(), 1u);
  EXPECT_EQ(paths[0].nodes, Ids({0, 1, 2, 3, 4}));
  // 0.3 / 4 hops + nominal bandwidth, idle link and no specialization asked.
  EXPECT_DOUBLE_EQ(paths[0].score, 0.3 / 4 + 0.25 + 0.25 + 0.2);
  EXPECT_EQ(s.Paths(4, 4).size(), 1u);
  EXPECT_TRUE(s.Paths(4, 3).empty());
  EXPECT_TRUE(s.Paths(0).empty()) << "no path to ourselves";
}

TEST(TargetedRouterTest, RingGivesShortestThenTheDisjointWayAround) {
  Scenario s;
  s.Build(Ring(6));
  EXPECT_EQ(s.Paths(2), (Routes{Ids({0, 1, 2}), Ids({0, 5, 4, 3, 2})}));
  // Equal length and score: the smaller first hop wins.
  EXPECT_EQ(s.Paths(3), (Routes{Ids({0, 1, 2, 3}), Ids({0, 5, 4, 3})}));
  // A neighbour: the direct link first, then the long way round (never the direct link twice).
  EXPECT_EQ(s.Paths(1), (Routes{Ids({0, 1}), Ids({0, 5, 4, 3, 2, 1})}));
  EXPECT_EQ(s.Paths(2, 3), (Routes{Ids({0, 1, 2})}));
}

TEST(TargetedRouterTest, AlternativesAreNodeDisjointUpToCandidatePathsMax) {
  // Three layers: 0 → {1,2,3} → {4,5,6} (complete bipartite) → 7.
  Edges edges = {{0, 1}, {0, 2}, {0, 3}, {4, 7}, {5, 7}, {6, 7}};
  for (int a : {1, 2, 3}) {
    for (int b : {4, 5, 6}) edges.emplace_back(a, b);
  }
  Scenario s;
  s.Build(edges);
  EXPECT_EQ(s.Paths(7), (Routes{Ids({0, 1, 4, 7}), Ids({0, 2, 5, 7}), Ids({0, 3, 6, 7})}));
  PropagationConfig two;
  two.candidate_paths_max = 2;
  Scenario t(two);
  t.Build(edges);
  EXPECT_EQ(t.Paths(7), (Routes{Ids({0, 1, 4, 7}), Ids({0, 2, 5, 7})}));
}

// Independent BFS distances over the whole graph, for checking the router against.
std::map<int, int> Distances(const Edges& edges, int from) {
  std::map<int, std::vector<int>> adjacency;
  for (auto [u, v] : edges) {
    adjacency[u].push_back(v);
    adjacency[v].push_back(u);
  }
  std::map<int, int> distance{{from, 0}};
  std::deque<int> queue{from};
  while (!queue.empty()) {
    const int u = queue.front();
    queue.pop_front();
    for (int v : adjacency[u]) {
      if (distance.emplace(v, distance[u] + 1).second) queue.push_back(v);
    }
  }
  return distance;
}

TEST(TargetedRouterTest, RandomGraphPathsAreShortestValidAndDisjoint) {
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    const int n = 60;
    const Edges edges = RandomGraph(n, 90, seed);
    std::set<std::pair<NodeId, NodeId>> edge_set;
    for (auto [u, v] : edges) {
      edge_set.emplace(Id(u), Id(v));
      edge_set.emplace(Id(v), Id(u));
    }
    Scenario s;
    s.Build(edges);
    const auto distance = Distances(edges, 0);
    for (int d = 1; d < n; ++d) {
      const auto paths = s.router().CandidatePaths(Id(d), {}, 64);
      ASSERT_FALSE(paths.empty()) << "seed " << seed << " destination " << d;
      ASSERT_LE(paths.size(), 3u);
      size_t shortest = SIZE_MAX;
      std::set<NodeId> intermediates;
      for (size_t i = 0; i < paths.size(); ++i) {
        const auto& nodes = paths[i].nodes;
        if (i > 0) {
          EXPECT_GE(paths[i - 1].score, paths[i].score);
        }
        ASSERT_GE(nodes.size(), 2u);
        EXPECT_EQ(nodes.front(), Id(0));
        EXPECT_EQ(nodes.back(), Id(d));
        EXPECT_EQ(std::set<NodeId>(nodes.begin(), nodes.end()).size(), nodes.size()) << "loop";
        for (size_t k = 0; k + 1 < nodes.size(); ++k) {
          EXPECT_TRUE(edge_set.count({nodes[k], nodes[k + 1]})) << "not an edge";
        }
        for (size_t k = 1; k + 1 < nodes.size(); ++k) {
          EXPECT_TRUE(intermediates.insert(nodes[k]).second) << "paths share a node";
        }
        shortest = std::min(shortest, nodes.size() - 1);
      }
      EXPECT_EQ(shortest, static_cast<size_t>(distance.at(d))) << "seed " << seed;
    }
  }
}

TEST(TargetedRouterTest, OnlyActiveNeighboursAreFirstHopsAndChangesAreSeen) {
  Scenario s;
  s.Build(Ring(6));
  ASSERT_EQ(s.Paths(2).front(), Ids({0, 1, 2}));
  s.Disconnect(1);  // the map still lists 0–1, but the link is gone
  EXPECT_EQ(s.Paths(2), (Routes{Ids({0, 5, 4, 3, 2})}));
  s.Entry(3, {2});  // 3 no longer lists 4: the edge 3–4 is not confirmed any more
  EXPECT_TRUE(s.Paths(2).empty());
  s.Connect(1);
  EXPECT_EQ(s.Paths(2), (Routes{Ids({0, 1, 2})}));
}

TEST(TargetedRouterTest, ScoreFavoursHealthyFirstHops) {
  Scenario s;
  s.Build({{0, 1}, {0, 2}, {1, 3}, {2, 3}});
  EXPECT_EQ(s.Paths(3).front(), Ids({0, 1, 3}));
  s.ReportRtt(1, 200'000);  // halves link 1's health
  const auto paths = s.router().CandidatePaths(Id(3), {}, 15);
  ASSERT_EQ(paths.size(), 2u);
  EXPECT_EQ(paths[0].nodes, Ids({0, 2, 3}));
  EXPECT_DOUBLE_EQ(paths[1].score, 0.3 / 2 + 0.25 * 0.5 + 0.25 + 0.2);
}

TEST(TargetedRouterTest, ScoreFavoursSpecialistIntermediates) {
  Scenario s;
  s.Connect(1);
  s.Connect(2, {"gpu_cluster"});
  s.Build({{1, 3}, {2, 3}, {1, 4}, {4, 5}, {5, 6}});
  Selector gpu;
  gpu.specialization = "gpu_cluster";
  EXPECT_EQ(s.Paths(3).front(), Ids({0, 1, 3}));
  EXPECT_EQ(s.Paths(3, 15, gpu).front(), Ids({0, 2, 3}));
  // Intermediates: 1 (known, no match: 0), 4 and 5 (unknown: 0.5 each) → 1/3.
  const auto paths = s.router().CandidatePaths(Id(6), gpu, 15);
  ASSERT_EQ(paths.size(), 1u);
  EXPECT_DOUBLE_EQ(paths[0].score, 0.3 / 4 + 0.25 + 0.25 + 0.2 * (1.0 / 3));
}

TEST(TargetedRouterTest, SameGraphInAnyArrivalOrderGivesSameRoutes) {
  const Edges edges = RandomGraph(80, 120, 42);
  std::vector<int> forward, backward;
  for (int i = 1; i < 80; ++i) forward.push_back(i);
  backward.assign(forward.rbegin(), forward.rend());
  Scenario a, b;
  a.Build(edges, forward);
  b.Build(edges, backward);
  for (int d = 1; d < 80; ++d) {
    const auto pa = a.router().CandidatePaths(Id(d), {}, 15);
    const auto pb = b.router().CandidatePaths(Id(d), {}, 15);
    ASSERT_EQ(pa.size(), pb.size());
    for (size_t i = 0; i < pa.size(); ++i) {
      EXPECT_EQ(pa[i].nodes, pb[i].nodes);
      EXPECT_EQ(pa[i].score, pb[i].score);
    }
    TargetedRouter::Out oa, ob;
    ASSERT_TRUE(a.router().Send(a.now(), a.Body(d, d), 15, oa).ok());
    ASSERT_TRUE(b.router().Send(b.now(), b.Body(d, d), 15, ob).ok());
    ASSERT_EQ(oa.size(), 1u);
    ASSERT_EQ(ob.size(), 1u);
    EXPECT_EQ(std::get<Send>(oa[0]).peer, std::get<Send>(ob[0]).peer);
    EXPECT_EQ(PacketOf(oa[0]).route, PacketOf(ob[0]).route);
  }
}

// ---------------------------------------------------------------- sending and forwarding

TEST(TargetedRouterTest, SendFollowsTheWireConvention) {
  Scenario s;
  s.Build(Ring(6));
  TargetedRouter::Out out;
  auto body = s.Body(1, 3, 0.9);
  ASSERT_TRUE(s.router().Send(s.now(), body, 5, out).ok());
  ASSERT_EQ(out.size(), 1u);
  const Send& send = std::get<Send>(out[0]);
  EXPECT_EQ(send.peer, Id(1));
  EXPECT_EQ(send.priority, 0.9);
  EXPECT_FALSE(send.report_written);
  const PacketMsg& packet = PacketOf(out[0]);
  EXPECT_EQ(packet.body, body) << "the same shared body, not a copy";
  EXPECT_EQ(packet.route, Ids({0, 1, 2, 3}));
  EXPECT_EQ(packet.hops, 1u);
  EXPECT_EQ(packet.ttl, 4u);
  // Walk the route as the pipeline will: the receiver is route[hops]; forwarders add a hop.
  PacketMsg hop = packet;
  for (int at : {1, 2, 3}) {
    EXPECT_TRUE(TargetedRouter::CheckRoute(hop, Id(at)).ok()) << "at node " << at;
    EXPECT_EQ(hop.hops + hop.ttl, 5u);
    ++hop.hops;
    --hop.ttl;
  }
  EXPECT_EQ(s.router().counters().sent, 1u);
  EXPECT_EQ(s.router().PendingCount(), 1u);
  EXPECT_EQ(s.router().NextDeadline(), s.now() + Seconds(2));
}

TEST(TargetedRouterTest, NoRouteIsAnErrorAndSendsNothing) {
  Scenario s;
  s.Build({{0, 1}, {1, 2}, {2, 3}});
  TargetedRouter::Out out;
  const Status unknown = s.router().Send(s.now(), s.Body(1, 9), 15, out);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(unknown.error().message.rfind("no route to " + Id(9).Short(), 0), 0u)
      << unknown.error().message;
  const Status too_far = s.router().Send(s.now(), s.Body(2, 3), 2, out);
  ASSERT_FALSE(too_far.ok());
  EXPECT_EQ(too_far.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(s.router().PendingCount(), 0u);
  EXPECT_EQ(s.router().NextDeadline(), TimePoint::Max());
  EXPECT_EQ(s.router().counters().no_route, 2u);
  EXPECT_EQ(s.router().counters().sent, 0u);
}

TEST(TargetedRouterTest, PendingAcksMaxIsEnforced) {
  PropagationConfig config;
  config.pending_acks_max = 2;
  Scenario s(config);
  s.Build(Ring(4));
  TargetedRouter::Out out;
  ASSERT_TRUE(s.router().Send(s.now(), s.Body(1, 2), 15, out).ok());
  ASSERT_TRUE(s.router().Send(s.now(), s.Body(2, 2), 15, out).ok());
  const Status third = s.router().Send(s.now(), s.Body(3, 2), 15, out);
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().code, ErrorCode::kUnavailable);
  const Status again = s.router().Send(s.now(), s.Body(1, 2), 15, out);
  EXPECT_FALSE(again.ok()) << "an id already in flight";
  EXPECT_EQ(out.size(), 2u);
  EXPECT_EQ(s.router().PendingCount(), 2u);
}

TEST(TargetedRouterTest, NextHopAcceptsValidRoutesOnly) {
  Scenario s;
  s.Build(Ring(6));  // our neighbours are 1 and 5
  const auto next = [&](std::vector<NodeId> route, uint32_t hops, uint32_t ttl = 10) {
    return s.router().NextHop(PacketMsg{nullptr, ttl, hops, std::move(route)});
  };
  EXPECT_EQ(next(Ids({5, 0, 1}), 1), Id(1));
  EXPECT_EQ(next(Ids({3, 4, 5, 0, 1, 2}), 3), Id(1));
  EXPECT_EQ(next(Ids({5, 0}), 1), std::nullopt) << "we are the destination";
  EXPECT_EQ(s.router().counters().forwarded_broken, 0u);

  EXPECT_EQ(next(Ids({5, 0, 1, 5}), 1), std::nullopt) << "loop";
  EXPECT_EQ(next(Ids({0, 5, 1}), 1), std::nullopt) << "route[hops] is not us";
  EXPECT_EQ(next(Ids({5, 0, 1}), 0), std::nullopt) << "hops 0 never arrives";
  EXPECT_EQ(next(Ids({5, 0, 1}), 3), std::nullopt) << "hops past the route";
  EXPECT_EQ(next(Ids({5, 0, 3}), 1), std::nullopt) << "3 is not our neighbour";
  EXPECT_EQ(next(Ids({5, 0, 1, 2}), 1, 1), std::nullopt) << "two hops ahead, ttl 1";
  EXPECT_EQ(next({}, 1), std::nullopt);
  std::vector<NodeId> long_route;
  for (int k = 100; k < 100 + static_cast<int>(kRouteNodesMax); ++k) long_route.push_back(Id(k));
  long_route.insert(long_route.begin() + 1, Id(0));
  long_route.insert(long_route.begin() + 2, Id(1));
  EXPECT_EQ(next(long_route, 1, 1000), std::nullopt) << "longer than kRouteNodesMax";
  EXPECT_EQ(s.router().counters().forwarded_broken, 8u);
}

// ---------------------------------------------------------------- acks and retries

TEST(TargetedRouterTest, AckStopsRetriesAndIsReportedOnce) {
  Scenario s;
  s.Build(Ring(6));
  TargetedRouter::Out out;
  auto body = s.Body(7, 2);
  ASSERT_TRUE(s.router().Send(s.now(), body, 15, out).ok());
  out.clear();
  s.router().OnAck(s.now() + Milliseconds(30), body->id, Id(3), out);
  EXPECT_TRUE(out.empty()) << "only the destination may ack";
  s.router().OnAck(s.now() + Milliseconds(50), body->id, Id(2), out);
  ASSERT_EQ(out.size(), 1u);
  const auto& acked = std::get<DeliveryAcked>(std::get<Deliver>(out[0]).event);
  EXPECT_EQ(acked.id, body->id);
  EXPECT_EQ(acked.destination, Id(2));
  EXPECT_EQ(acked.retries, 0u);
  EXPECT_FALSE(acked.alternative_path);
  EXPECT_EQ(acked.round_trip, Milliseconds(50));
  EXPECT_EQ(s.router().NextDeadline(), TimePoint::Max());
  out.clear();
  s.router().OnAck(s.now() + Milliseconds(60), body->id, Id(2), out);
  s.router().OnTick(s.now() + Seconds(3600), out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(s.router().counters().acked, 1u);
  EXPECT_EQ(s.router().counters().acks_unmatched, 2u);
  EXPECT_EQ(s.router().counters().retries, 0u);
}

TEST(TargetedRouterTest, MissingAckRetriesOnAnAlternativePath) {
  Scenario s;
  s.Build(Ring(6));
  const TimePoint t0 = s.now();
  TargetedRouter::Out out;
  auto body = s.Body(1, 2);
  ASSERT_TRUE(s.router().Send(t0, body, 15, out).ok());
  ASSERT_EQ(PacketOf(out[0]).route, Ids({0, 1, 2}));
  out.clear();
  s.router().OnTick(t0 + Seconds(2) - Nanoseconds(1), out);
  EXPECT_TRUE(out.empty()) << "not overdue yet";
  s.router().OnTick(t0 + Seconds(2), out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<Send>(out[0]).peer, Id(5));
  EXPECT_EQ(PacketOf(out[0]).route, Ids({0, 5, 4, 3, 2}));
  EXPECT_EQ(PacketOf(out[0]).body, body) << "a retry re-sends the same signed body";
  EXPECT_EQ(PacketOf(out[0]).hops, 1u);
  EXPECT_EQ(PacketOf(out[0]).ttl, 14u);
  EXPECT_EQ(s.router().NextDeadline(), t0 + Seconds(2) + Seconds(4)) << "backoff doubles";
  out.clear();
  s.router().OnAck(t0 + Seconds(3), body->id, Id(2), out);
  ASSERT_EQ(out.size(), 1u);
  const auto& acked = std::get<DeliveryAcked>(std::get<Deliver>(out[0]).event);
  EXPECT_EQ(acked.retries, 1u);
  EXPECT_TRUE(acked.alternative_path);
  EXPECT_EQ(acked.round_trip, Seconds(3));
  EXPECT_EQ(s.router().counters().alternative_path_acks, 1u);
  EXPECT_EQ(s.router().counters().retries, 1u);
}

TEST(TargetedRouterTest, AckRouteTellsWhichAttemptWasAcknowledged) {
  Scenario s;
  s.Build(Ring(6));
  TargetedRouter::Out out;
  auto body = s.Body(1, 2);
  ASSERT_TRUE(s.router().Send(s.now(), body, 15, out).ok());
  s.router().OnTick(s.now() + Seconds(2), out);
  out.clear();
  // The first copy's ack was merely late: it comes back along the reverse of the first path.
  const std::vector<NodeId> back = Ids({2, 1, 0});
  s.router().OnAck(s.now() + Seconds(2) + Milliseconds(1), body->id, Id(2), out, back);
  ASSERT_EQ(out.size(), 1u);
  const auto& acked = std::get<DeliveryAcked>(std::get<Deliver>(out[0]).event);
  EXPECT_EQ(acked.retries, 1u);
  EXPECT_FALSE(acked.alternative_path);
}

TEST(TargetedRouterTest, RetriesAvoidFailedNodesEvenAfterTheMapChanges) {
  Scenario s;
  // Two disjoint ways to 4, via 1–2 and via 3; then a third appears, via 5, after the first send.
  s.Build({{0, 1}, {1, 2}, {2, 4}, {0, 3}, {3, 4}, {0, 5}});
  TargetedRouter::Out out;
  ASSERT_TRUE(s.router().Send(s.now(), s.Body(1, 4), 15, out).ok());
  EXPECT_EQ(PacketOf(out[0]).route, Ids({0, 3, 4}));
  s.router().OnTick(s.now() + Seconds(2), out);
  EXPECT_EQ(PacketOf(out[1]).route, Ids({0, 1, 2, 4}));
  s.Entry(5, {0, 4});
  s.Entry(4, {2, 3, 5});
  s.router().OnTick(s.now() + Seconds(6), out);
  EXPECT_EQ(PacketOf(out[2]).route, Ids({0, 5, 4})) << "the only path avoiding 1, 2 and 3";
  s.router().OnTick(s.now() + Seconds(14), out);
  EXPECT_EQ(PacketOf(out[3]).route, Ids({0, 3, 4})) << "all tried: fall back to the best path";
}

TEST(TargetedRouterTest, GivesUpAfterRetriesMax) {
  Scenario s;
  s.Build({{0, 1}, {1, 2}});
  const TimePoint t0 = s.now();
  TargetedRouter::Out out;
  auto body = s.Body(1, 2);
  ASSERT_TRUE(s.router().Send(t0, body, 15, out).ok());
  // Waits of 2, 4, 8 s before the three retries, then 16 s for the last ack.
  std::vector<TimePoint> deadlines;
  for (TimePoint next = s.router().NextDeadline(); next != TimePoint::Max();
       next = s.router().NextDeadline()) {
    deadlines.push_back(next);
    s.router().OnTick(next, out);
  }
  EXPECT_EQ(deadlines,
            (std::vector{t0 + Seconds(2), t0 + Seconds(6), t0 + Seconds(14), t0 + Seconds(30)}));
  ASSERT_EQ(out.size(), 5u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(PacketOf(out[i]).route, Ids({0, 1, 2})) << "no alternative on a line";
  }
  const auto& failed = std::get<DeliveryFailed>(std::get<Deliver>(out[4]).event);
  EXPECT_EQ(failed.id, body->id);
  EXPECT_EQ(failed.destination, Id(2));
  EXPECT_EQ(failed.why, "no ack from " + Id(2).Short() + " after 3 retries over 1 distinct paths");
  out.clear();
  s.router().OnAck(t0 + Seconds(31), body->id, Id(2), out);
  EXPECT_TRUE(out.empty()) << "a late ack after the failure is ignored";
  EXPECT_EQ(s.router().counters().failed, 1u);
  EXPECT_EQ(s.router().counters().retries, 3u);
  EXPECT_EQ(s.router().PendingCount(), 0u);
}

TEST(TargetedRouterTest, RetryWithoutARouteKeepsTheSchedule) {
  PropagationConfig config;
  config.retries_max = 1;
  Scenario s(config);
  s.Build({{0, 1}, {1, 2}});
  TargetedRouter::Out out;
  ASSERT_TRUE(s.router().Send(s.now(), s.Body(1, 2), 15, out).ok());
  s.Disconnect(1);
  out.clear();
  s.router().OnTick(s.now() + Seconds(2), out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(s.router().counters().retries_no_route, 1u);
  s.router().OnTick(s.now() + Seconds(6), out);
  ASSERT_EQ(out.size(), 1u);
  const auto& failed = std::get<DeliveryFailed>(std::get<Deliver>(out[0]).event);
  EXPECT_EQ(failed.why, "no ack from " + Id(2).Short() +
                            " after 1 retries over 1 distinct paths (1 retries found no route)");
}

// 1,000 nodes, 10,000 sends to random destinations: candidates come from the cache, so this
// stays in the milliseconds; a per-send O(N log N) rebuild would show up as a slow test.
TEST(TargetedRouterTest, ThousandNodeMapTenThousandSends) {
  const int n = 1000;
  const Edges edges = RandomGraph(n, 2 * n, 5);
  Scenario s;
  s.Build(edges);
  Rng rng(9);
  TargetedRouter::Out out;
  for (uint64_t seq = 1; seq <= 10'000; ++seq) {
    const int d = 1 + static_cast<int>(rng.Uniform(n - 1));
    auto body = s.Body(seq, d);
    ASSERT_TRUE(s.router().Send(s.now(), body, 32, out).ok()) << d;
    s.router().OnAck(s.now(), body->id, Id(d), out);
  }
  EXPECT_EQ(s.router().counters().sent, 10'000u);
  EXPECT_EQ(s.router().counters().acked, 10'000u);
  EXPECT_EQ(s.router().PendingCount(), 0u);
  EXPECT_EQ(Sends(out).size(), 10'000u);
}

}  // namespace
}  // namespace myco
