// Exact tests of the resource gradient on small networks: real Memberships (so NextHop sees real
// active links and specializations) wired by hand into fixed topologies, and GradientTables
// exchanging their updates instantly in synchronous rounds.
#include "core/propagation/gradient.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <deque>
#include <limits>
#include <map>
#include <string>

#include "core/node.hpp"
#include "core/topology/membership.hpp"
#include "myco/rng.hpp"

namespace myco {
namespace {

constexpr ResourceType kGpu = ResourceType::kComputationalPower;

// Node i has id bytes[0] = i + 1, so a smaller index is a smaller NodeId.
NodeId IdOf(size_t i) {
  NodeId id;
  id.bytes[0] = static_cast<uint8_t>(i + 1);
  id.bytes[31] = 0x5a;
  return id;
}

PropagationRules Seek(ResourceType type, double amount_min = 0) {
  PropagationRules rules;
  rules.follow_gradient = true;
  rules.resource = type;
  rules.amount_min = amount_min;
  return rules;
}

class Net {
 public:
  explicit Net(size_t n, PropagationConfig config = {},
               std::map<size_t, std::vector<std::string>> specializations = {})
      : config_(config) {
    for (size_t i = 0; i < n; ++i) {
      NodeInfo info;
      info.id = IdOf(i);
      info.name = "n" + std::to_string(i);
      info.listen_addresses = {info.name};
      if (auto it = specializations.find(i); it != specializations.end()) {
        info.specializations = it->second;
      }
      members_.emplace_back(std::move(info), TopologyConfig{}, Rng(i + 1));
      tables_.emplace_back(config);
    }
  }

  Membership& m(size_t i) { return members_[i]; }
  GradientTable& g(size_t i) { return tables_[i]; }
  TimePoint now() const { return now_; }
  void AdvanceClock(Duration d) { now_ += d; }

  // The Hello / Accept handshake of a real link, i dialling j; both ends end up active and their
  // tables are told, as Node would tell Propagation.
  void Connect(size_t i, size_t j) {
    Membership::Out out;
    m(j).OnLinkUp(now_, IdOf(i), "ephemeral", false, out);
    Pump(j, out);
    m(i).OnLinkUp(now_, IdOf(j), m(j).info().name, true, out);
    Pump(i, out);
    while (!hellos_.empty()) {
      auto [from, to, hello] = std::move(hellos_.front());
      hellos_.pop_front();
      m(to).OnReceived(now_, IdOf(from), Message{std::move(hello)}, out);
      Pump(to, out);
    }
    ASSERT_TRUE(Active(i, j) && Active(j, i));
  }

  // Both ends see the connection drop. `tell_tables = false` simulates a missed announcement.
  void Disconnect(size_t i, size_t j, bool tell_tables = true) {
    for (auto [a, b] : {std::pair{i, j}, std::pair{j, i}}) {
      Membership::Out out;
      m(a).OnLinkDown(now_, IdOf(b), "cut", out);
      if (tell_tables) Pump(a, out);
    }
  }

  void Line(size_t first, size_t last) {
    for (size_t i = first; i < last; ++i) Connect(i, i + 1);
  }

  bool Active(size_t a, size_t b) {
    const Link* l = m(a).FindLink(IdOf(b));
    return l != nullptr && l->state == LinkState::kActive;
  }

  // One synchronous round: every node ticks at the same instant, then every update is delivered.
  // Returns the number of updates sent.
  size_t Round() {
    now_ += config_.gradient_update_min_interval;
    std::vector<std::tuple<size_t, size_t, GradientUpdate>> mail;
    for (size_t i = 0; i < tables_.size(); ++i) {
      GradientTable::Out out;
      g(i).OnTick(now_, m(i), out);
      for (auto& effect : out) {
        auto& send = std::get<Send>(effect);
        EXPECT_EQ(send.priority, kControlPriority);
        mail.emplace_back(i, Index(send.peer), std::get<GradientUpdate>(send.message));
      }
    }
    for (auto& [from, to, update] : mail) g(to).OnUpdate(now_, IdOf(from), update);
    return mail.size();
  }

  // Rounds until nothing is sent and nothing is pending; returns the rounds that sent anything.
  size_t Settle(size_t rounds_max = 64) {
    size_t busy = 0;
    for (size_t r = 0; r < rounds_max; ++r) {
      if (Round() == 0 && Quiet()) return busy;
      ++busy;
    }
    ADD_FAILURE() << "no quiescence after " << rounds_max << " rounds";
    return busy;
  }

  bool Quiet() const {
    for (const auto& t : tables_) {
      if (t.NextDeadline() != TimePoint::Max()) return false;
    }
    return true;
  }

  // Walks a discovery from `start` as Propagation will: stop where the node can serve, else
  // go to NextHop with the trail so far. Returns the trail; "failed" if it dead-ends.
  std::vector<size_t> Climb(size_t start, const PropagationRules& rules, bool* failed,
                            const Selector& selector = {}) {
    std::vector<size_t> path{start};
    std::vector<NodeId> trail{IdOf(start)};
    *failed = false;
    for (size_t ttl = 64; ttl > 0; --ttl) {
      const size_t at = path.back();
      if (g(at).CanServe(rules)) return path;
      auto next = g(at).NextHop(rules, selector, trail, m(at));
      if (!next) break;
      path.push_back(Index(*next));
      trail.push_back(*next);
    }
    *failed = true;
    return path;
  }

  static size_t Index(const NodeId& id) { return static_cast<size_t>(id.bytes[0]) - 1; }

 private:
  // Carries Hellos between the two ends of Connect and PeerUp/PeerDown to the tables.
  void Pump(size_t from, Membership::Out& out) {
    for (auto& effect : out) {
      if (auto* send = std::get_if<Send>(&effect)) {
        if (auto* hello = std::get_if<Hello>(&send->message)) {
          hellos_.emplace_back(from, Index(send->peer), std::move(*hello));
        }
      } else if (auto* deliver = std::get_if<Deliver>(&effect)) {
        if (auto* up = std::get_if<PeerUp>(&deliver->event)) {
          g(from).OnNeighbourUp(now_, up->peer);
        } else if (auto* down = std::get_if<PeerDown>(&deliver->event)) {
          g(from).OnNeighbourDown(now_, down->peer);
        }
      }
    }
    out.clear();
  }

  PropagationConfig config_;
  TimePoint now_{Seconds(1).ns};
  std::vector<Membership> members_;
  std::vector<GradientTable> tables_;
  std::deque<std::tuple<size_t, size_t, Hello>> hellos_;
};

using Adv = GradientTable::Advertised;

TEST(GradientTest, LineDecaysByHopAndDiscoveryClimbsToTheHolder) {
  Net net(5);  // a–b–c–d–e
  net.Line(0, 4);
  net.g(4).SetOwn(kGpu, 8);
  net.Settle();
  const size_t gpu = static_cast<size_t>(kGpu);
  EXPECT_EQ(net.g(4).advertised()[gpu], (Adv{8, 0, true}));
  EXPECT_EQ(net.g(3).advertised()[gpu], (Adv{4, 1, true}));
  EXPECT_EQ(net.g(2).advertised()[gpu], (Adv{2, 2, true}));
  EXPECT_EQ(net.g(1).advertised()[gpu], (Adv{1, 3, true}));
  EXPECT_EQ(net.g(0).advertised()[gpu], (Adv{0.5, 4, true}));
  for (size_t i = 0; i < 5; ++i) {
    for (size_t t = 0; t < kResourceTypeCount; ++t) {
      if (t != gpu) {
        EXPECT_FALSE(net.g(i).advertised()[t].present) << i << " " << t;
      }
    }
  }
  // Hop by hop from a, each step one hop closer.
  std::vector<NodeId> trail{IdOf(0)};
  for (size_t at = 0; at < 4; ++at) {
    EXPECT_FALSE(net.g(at).CanServe(Seek(kGpu)));
    auto next = net.g(at).NextHop(Seek(kGpu), {}, trail, net.m(at));
    ASSERT_TRUE(next.has_value()) << at;
    EXPECT_EQ(*next, IdOf(at + 1));
    trail.push_back(*next);
  }
  EXPECT_TRUE(net.g(4).CanServe(Seek(kGpu)));
  // Nothing advertises another type: no next hop for it.
  EXPECT_FALSE(net.g(0).NextHop(Seek(ResourceType::kMemoryCapacity), {}, {IdOf(0)}, net.m(0)));
}

TEST(GradientTest, TwoEqualHoldersTheNearerWins) {
  Net net(7);  // n0 … n6, holders at both ends
  net.Line(0, 6);
  net.g(0).SetOwn(kGpu, 4);
  net.g(6).SetOwn(kGpu, 4);
  net.Settle();
  bool failed = false;
  EXPECT_EQ(net.Climb(2, Seek(kGpu), &failed), (std::vector<size_t>{2, 1, 0}));
  EXPECT_FALSE(failed);
  EXPECT_EQ(net.Climb(4, Seek(kGpu), &failed), (std::vector<size_t>{4, 5, 6}));
  EXPECT_FALSE(failed);
  // n3 is equidistant: equal value and hops, so the smaller id (n2) breaks the tie.
  EXPECT_EQ(net.Climb(3, Seek(kGpu), &failed), (std::vector<size_t>{3, 2, 1, 0}));
}

TEST(GradientTest, ALargerHolderOutweighsDistance) {
  Net net(7);
  net.Line(0, 6);
  net.g(0).SetOwn(kGpu, 8);   // seen from n2: 8 / 4
  net.g(6).SetOwn(kGpu, 64);  // seen from n2: 64 / 16
  net.Settle();
  bool failed = false;
  EXPECT_EQ(net.Climb(2, Seek(kGpu), &failed), (std::vector<size_t>{2, 3, 4, 5, 6}));
  // amount_min is checked where the discovery stops, not on the way: from n1 the gradient leads
  // to n0 (8 against 64 / 32), which holds too little and whose only neighbour is on the trail.
  EXPECT_EQ(net.Climb(1, Seek(kGpu, 20), &failed), (std::vector<size_t>{1, 0}));
  EXPECT_TRUE(failed);
}

TEST(GradientTest, FollowsAShortestPathToTheNearestHolderOnRandomGraphs) {
  const PropagationConfig config;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Rng rng(seed);
    const size_t n = 40;
    Net net(n);
    std::vector<std::vector<size_t>> adj(n);
    for (size_t i = 1; i < n; ++i) {  // a connected random graph, 1–2 links per newcomer
      const size_t links = 1 + rng.Uniform(2);
      for (size_t k = 0; k < links; ++k) {
        const size_t j = rng.Uniform(i);
        if (std::find(adj[i].begin(), adj[i].end(), j) != adj[i].end()) continue;
        net.Connect(j, i);
        adj[i].push_back(j);
        adj[j].push_back(i);
      }
    }
    std::vector<size_t> dist(n, SIZE_MAX);
    std::deque<size_t> queue;
    for (int h = 0; h < 2; ++h) {
      const size_t holder = rng.Uniform(n);
      net.g(holder).SetOwn(kGpu, 10);
      dist[holder] = 0;
      queue.push_back(holder);
    }
    while (!queue.empty()) {
      const size_t v = queue.front();
      queue.pop_front();
      for (size_t w : adj[v]) {
        if (dist[w] == SIZE_MAX) {
          dist[w] = dist[v] + 1;
          queue.push_back(w);
        }
      }
    }
    net.Settle();
    for (size_t start = 0; start < n; ++start) {
      bool failed = false;
      const auto path = net.Climb(start, Seek(kGpu), &failed);
      // A neighbour at the radius still advertises, so discoveries start up to radius + 1 away.
      if (dist[start] > config.gradient_radius_hops + 1) {
        EXPECT_TRUE(failed) << "seed " << seed << " start " << start;
        continue;
      }
      ASSERT_FALSE(failed) << "seed " << seed << " start " << start;
      EXPECT_EQ(path.size() - 1, dist[start]) << "seed " << seed << " start " << start;
      EXPECT_EQ(dist[path.back()], 0u);
    }
  }
}

TEST(GradientTest, NothingIsAdvertisedBeyondTheRadius) {
  PropagationConfig config;
  config.gradient_radius_hops = 3;
  Net net(6, config);
  net.Line(0, 5);
  net.g(5).SetOwn(kGpu, 16);
  net.Settle();
  const size_t gpu = static_cast<size_t>(kGpu);
  EXPECT_EQ(net.g(2).advertised()[gpu], (Adv{2, 3, true}));
  EXPECT_FALSE(net.g(1).advertised()[gpu].present);
  EXPECT_FALSE(net.g(0).advertised()[gpu].present);
  // n1 can still climb toward n2, which advertises at the radius; n0 sees nothing.
  EXPECT_EQ(net.g(1).NextHop(Seek(kGpu), {}, {IdOf(1)}, net.m(1)), IdOf(2));
  EXPECT_FALSE(net.g(0).NextHop(Seek(kGpu), {}, {IdOf(0)}, net.m(0)).has_value());
}

TEST(GradientTest, AWithdrawnHolderVanishesWithinRadiusRounds) {
  const PropagationConfig config;
  Net net(10);
  net.Line(0, 9);
  net.g(9).SetOwn(kGpu, 1000);
  net.Settle();
  ASSERT_TRUE(net.g(1).advertised()[static_cast<size_t>(kGpu)].present);
  net.g(9).SetOwn(kGpu, 0);
  const size_t rounds = net.Settle();
  EXPECT_LE(rounds, config.gradient_radius_hops + 1u);
  for (size_t i = 0; i < 10; ++i) {
    for (const auto& a : net.g(i).advertised()) EXPECT_FALSE(a.present) << "node " << i;
  }
  bool failed = false;
  net.Climb(0, Seek(kGpu), &failed);
  EXPECT_TRUE(failed);
}

TEST(GradientTest, ADepartedHolderVanishesOnAMeshWithoutCountingToInfinity) {
  const PropagationConfig config;
  Net net(9);  // a 3×3 grid: many cycles to reflect stale values around
  for (size_t r = 0; r < 3; ++r) {
    for (size_t c = 0; c < 3; ++c) {
      if (c < 2) net.Connect(r * 3 + c, r * 3 + c + 1);
      if (r < 2) net.Connect(r * 3 + c, (r + 1) * 3 + c);
    }
  }
  net.g(8).SetOwn(kGpu, 100);
  net.g(8).SetOwn(ResourceType::kKnowledgeBase, 5);
  net.g(0).SetOwn(ResourceType::kKnowledgeBase, 5);
  net.Settle();
  ASSERT_TRUE(net.g(0).advertised()[static_cast<size_t>(kGpu)].present);
  net.Disconnect(8, 5);
  net.Disconnect(8, 7);
  const size_t rounds = net.Settle();
  EXPECT_LE(rounds, config.gradient_radius_hops + 1u);
  for (size_t i = 0; i < 8; ++i) {
    EXPECT_FALSE(net.g(i).advertised()[static_cast<size_t>(kGpu)].present) << "node " << i;
    // The remaining holder's gradient is untouched.
    EXPECT_TRUE(net.g(i).advertised()[static_cast<size_t>(ResourceType::kKnowledgeBase)].present);
  }
  EXPECT_EQ(net.g(8).NeighbourCount(), 0u);
}

TEST(GradientTest, RateLimitingCoalescesChanges) {
  PropagationConfig config;
  Net net(2, config);
  net.Connect(0, 1);
  const TimePoint t0 = net.now();
  EXPECT_EQ(net.g(0).NextDeadline(), TimePoint::Max());  // nothing to say yet
  net.g(0).SetOwn(kGpu, 5);
  EXPECT_LE(net.g(0).NextDeadline(), t0);  // due now: the first round is never delayed
  GradientTable::Out out;
  net.g(0).OnTick(t0, net.m(0), out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(net.g(0).NextDeadline(), TimePoint::Max());

  net.g(0).SetOwn(kGpu, 6);
  net.g(0).SetOwn(kGpu, 7);
  EXPECT_EQ(net.g(0).NextDeadline(), t0 + config.gradient_update_min_interval);
  out.clear();
  net.g(0).OnTick(t0 + Milliseconds(50), net.m(0), out);
  EXPECT_TRUE(out.empty());
  net.g(0).OnTick(t0 + config.gradient_update_min_interval, net.m(0), out);
  ASSERT_EQ(out.size(), 1u);
  const auto& send = std::get<Send>(out[0]);
  EXPECT_EQ(send.peer, IdOf(1));
  EXPECT_EQ(std::get<GradientUpdate>(send.message).entries,
            (std::vector<GradientEntry>{{kGpu, 7, 0}}));
  EXPECT_EQ(net.g(0).counters().updates_sent, 2u);
}

TEST(GradientTest, NewNeighboursGetTheVectorOthersDoNotHearItAgain) {
  Net net(4);
  net.Connect(0, 1);
  net.g(0).SetOwn(kGpu, 8);
  net.Settle();
  const uint64_t sent_before = net.g(0).counters().updates_sent;
  net.Connect(0, 2);
  GradientTable::Out out;
  net.AdvanceClock(Seconds(1));
  net.g(0).OnTick(net.now(), net.m(0), out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<Send>(out[0]).peer, IdOf(2));
  EXPECT_EQ(net.g(0).counters().updates_sent, sent_before + 1);
  // A node with nothing in range owes a newcomer nothing: absent already means empty.
  net.Connect(3, 1);
  out.clear();
  EXPECT_EQ(net.g(3).NextDeadline(), TimePoint::Max());
  net.g(3).OnTick(net.now(), net.m(3), out);
  EXPECT_TRUE(out.empty());
}

TEST(GradientTest, PreferSpecialistsBreaksValueTies) {
  // Diamond: n0 – {n1, n2} – n3 (holder); n2 is a gpu specialist, n1 has the smaller id.
  Net net(4, {}, {{2, {"gpu"}}});
  net.Connect(0, 1);
  net.Connect(0, 2);
  net.Connect(1, 3);
  net.Connect(2, 3);
  net.g(3).SetOwn(kGpu, 4);
  net.Settle();
  PropagationRules rules = Seek(kGpu);
  const std::vector<NodeId> trail{IdOf(0)};
  Selector gpu;
  gpu.specialization = "gpu";
  EXPECT_EQ(net.g(0).NextHop(rules, gpu, trail, net.m(0)), IdOf(1));  // not asked: id order
  rules.prefer_specialists = true;
  EXPECT_EQ(net.g(0).NextHop(rules, gpu, trail, net.m(0)), IdOf(2));
  Selector tpu;
  tpu.specialization = "tpu";
  EXPECT_EQ(net.g(0).NextHop(rules, tpu, trail, net.m(0)), IdOf(1));
  EXPECT_EQ(net.g(0).NextHop(rules, Selector{}, trail, net.m(0)), IdOf(1));
  bool failed = false;
  EXPECT_EQ(net.Climb(0, rules, &failed, gpu), (std::vector<size_t>{0, 2, 3}));
}

TEST(GradientTest, SpecialistsDoNotBeatAHigherValue) {
  Net net(4, {}, {{2, {"gpu"}}});
  net.Connect(0, 1);
  net.Connect(0, 2);
  net.Connect(1, 3);
  net.g(1).SetOwn(kGpu, 1);  // n1 advertises max(1, 4/2) = 2
  net.g(3).SetOwn(kGpu, 4);
  net.g(2).SetOwn(kGpu, 1.5);
  net.Settle();
  PropagationRules rules = Seek(kGpu);
  rules.prefer_specialists = true;
  Selector gpu;
  gpu.specialization = "gpu";
  EXPECT_EQ(net.g(0).NextHop(rules, gpu, {IdOf(0)}, net.m(0)), IdOf(1));
}

TEST(GradientTest, EqualValuesPreferFewerHopsThenSmallerIds) {
  // n1 (smaller id) relays 4 from n3 as 2 at hop 1; n2 holds 2 itself.
  Net net(4);
  net.Connect(0, 1);
  net.Connect(0, 2);
  net.Connect(1, 3);
  net.g(3).SetOwn(kGpu, 4);
  net.g(2).SetOwn(kGpu, 2);
  net.Settle();
  EXPECT_EQ(net.g(1).advertised()[0], (Adv{2, 1, true}));
  EXPECT_EQ(net.g(2).advertised()[0], (Adv{2, 0, true}));
  EXPECT_EQ(net.g(0).advertised()[0], (Adv{1, 1, true}));  // the tie goes to fewer hops here too
  EXPECT_EQ(net.g(0).NextHop(Seek(kGpu), {}, {IdOf(0)}, net.m(0)), IdOf(2));
}

TEST(GradientTest, TheTrailIsNeverRevisited) {
  Net net(4);  // diamond again, no specialists
  net.Connect(0, 1);
  net.Connect(0, 2);
  net.Connect(1, 3);
  net.Connect(2, 3);
  net.g(3).SetOwn(kGpu, 4);
  net.Settle();
  EXPECT_EQ(net.g(0).NextHop(Seek(kGpu), {}, {IdOf(0), IdOf(1)}, net.m(0)), IdOf(2));
  EXPECT_FALSE(net.g(0).NextHop(Seek(kGpu), {}, {IdOf(1), IdOf(0), IdOf(2)}, net.m(0)));
  // A dead end: from n1 with n3 on the trail, the only way left is back to n0 (lower value, but
  // still the best not on the trail).
  EXPECT_EQ(net.g(1).NextHop(Seek(kGpu), {}, {IdOf(3), IdOf(1)}, net.m(1)), IdOf(0));
}

TEST(GradientTest, CanServeNeedsAmountMin) {
  GradientTable table{PropagationConfig{}};
  EXPECT_FALSE(table.CanServe(Seek(kGpu)));  // holds nothing, even with amount_min 0
  table.SetOwn(kGpu, 5);
  EXPECT_EQ(table.Own(kGpu), 5);
  EXPECT_TRUE(table.CanServe(Seek(kGpu)));
  EXPECT_TRUE(table.CanServe(Seek(kGpu, 5)));
  EXPECT_FALSE(table.CanServe(Seek(kGpu, 5.1)));
  EXPECT_FALSE(table.CanServe(Seek(ResourceType::kMemoryCapacity)));
  EXPECT_FALSE(table.CanServe(Seek(kGpu, std::nan(""))));
}

TEST(GradientTest, MalformedEntriesAreRejected) {
  GradientTable table{PropagationConfig{}};
  const double inf = std::numeric_limits<double>::infinity();
  GradientUpdate update;
  update.entries = {
      {kGpu, std::nan(""), 1},
      {kGpu, -1, 1},
      {kGpu, inf, 1},
      {static_cast<ResourceType>(9), 1, 1},
      {kGpu, 0, 1},
      // Ignored but not held against the sender: it may have a larger radius, or a tiny amount.
      {kGpu, 1, 9},      // beyond the default radius of 8
      {kGpu, 1e-60, 1},  // nothing, once a float
      {ResourceType::kMemoryCapacity, 4, 2},
      {ResourceType::kMemoryCapacity, 2, 1},     // a duplicate: the better entry is kept
      {ResourceType::kKnowledgeBase, 1e300, 2},  // huge but legal: clamped to the float range
  };
  table.OnUpdate(TimePoint{}, IdOf(1), update);
  EXPECT_EQ(table.counters().updates_received, 1u);
  EXPECT_EQ(table.counters().entries_rejected, 5u);
  EXPECT_EQ(table.advertised()[1], (Adv{2, 3, true}));
  EXPECT_EQ(table.advertised()[2], (Adv{0.5 * std::numeric_limits<float>::max(), 3, true}));
  EXPECT_FALSE(table.advertised()[0].present);
}

TEST(GradientTest, TickDropsVectorsOfPeersNoLongerActive) {
  Net net(2);
  net.Connect(0, 1);
  net.g(1).SetOwn(kGpu, 2);
  net.Settle();
  ASSERT_TRUE(net.g(0).advertised()[0].present);
  net.Disconnect(0, 1, /*tell_tables=*/false);  // the announcement went missing
  EXPECT_EQ(net.g(0).NeighbourCount(), 1u);
  net.Settle();
  EXPECT_EQ(net.g(0).NeighbourCount(), 0u);
  EXPECT_FALSE(net.g(0).advertised()[0].present);
}

TEST(GradientTest, MemoryPerTableIsSmall) {
  Net net(7);
  for (size_t i = 1; i < 7; ++i) net.Connect(0, i);
  for (size_t i = 1; i < 7; ++i) net.g(i).SetOwn(static_cast<ResourceType>(i), 1);
  net.Settle();
  EXPECT_EQ(net.g(0).NeighbourCount(), 6u);
  // Fixed part plus 76 bytes per neighbour (vector capacity may round up to 8).
  EXPECT_LE(net.g(0).MemoryBytes(), sizeof(GradientTable) + 8 * 76);
  EXPECT_LE(sizeof(GradientTable), 320u);
  std::printf("GradientTable: %zu bytes fixed, %zu bytes with 6 neighbours\n",
              sizeof(GradientTable), net.g(0).MemoryBytes());
}

}  // namespace
}  // namespace myco
