// Tests of the simulator: the event queue's order, the link model's arithmetic, and small seeded
// networks of real Node cores (joining, determinism, crash, partition, the codec path). Every
// network test runs a few virtual seconds of a handful of nodes, so the file takes well under a
// second.
#include "sim/simulator.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include "core/topology/membership.hpp"
#include "metrics/graph.hpp"
#include "sim/event_queue.hpp"
#include "sim/link_model.hpp"

namespace myco {
namespace {

// ---- event queue ----

TEST(EventQueueTest, PopsInTimeOrderAndTiesInPushOrder) {
  EventQueue queue;
  Rng rng(42);
  constexpr uint32_t kEvents = 5000;
  for (uint32_t i = 0; i < kEvents; ++i) {
    // Few distinct times, so most events tie and the sequence number decides.
    queue.Push(static_cast<int64_t>(rng.Uniform(20)), /*kind=*/0, /*node=*/i);
  }
  ASSERT_EQ(queue.size(), kEvents);
  SimEvent previous = queue.Pop();
  for (uint32_t i = 1; i < kEvents; ++i) {
    const SimEvent event = queue.Pop();
    ASSERT_TRUE(EventQueue::Before(previous, event));
    if (event.time_ns == previous.time_ns) {
      // node carries the push index here, so ties must come out in push order.
      ASSERT_LT(previous.node, event.node);
    }
    previous = event;
  }
  EXPECT_TRUE(queue.empty());
}

TEST(EventQueueTest, InterleavedPushAndPopKeepOrder) {
  EventQueue queue;
  Rng rng(7);
  int64_t now_ns = 0;
  for (int round = 0; round < 2000; ++round) {
    for (int k = 0; k < 3; ++k) {
      queue.Push(now_ns + static_cast<int64_t>(rng.Uniform(1000)), 0, 0);
    }
    const SimEvent event = queue.Pop();
    ASSERT_GE(event.time_ns, now_ns);
    now_ns = event.time_ns;
  }
  EXPECT_EQ(queue.pushed(), 6000u);
}

TEST(EventQueueTest, SameTimeEventsKeepPushOrderExactly) {
  EventQueue queue;
  queue.Push(10, 1, 0);
  queue.Push(5, 2, 0);
  queue.Push(10, 3, 0);
  queue.Push(5, 4, 0);
  std::vector<uint32_t> kinds;
  while (!queue.empty()) kinds.push_back(queue.Pop().kind);
  EXPECT_EQ(kinds, (std::vector<uint32_t>{2, 4, 1, 3}));
}

// The calendar (wheel, current bucket, overflow) must pop exactly what one sorted list would,
// across wheel turns, far-future events and pushes earlier than the bucket being consumed.
TEST(EventQueueTest, MatchesAReferenceOrderAcrossWheelTurns) {
  EventQueue queue;
  std::set<std::pair<int64_t, uint64_t>> reference;
  Rng rng(11);
  int64_t now_ns = 0;
  for (int step = 0; step < 200000; ++step) {
    const uint64_t action = rng.Uniform(10);
    if (action < 5 || queue.empty()) {
      int64_t delay_ns = 0;
      switch (rng.Uniform(4)) {
        case 0: delay_ns = 0; break;                                                 // same instant
        case 1: delay_ns = static_cast<int64_t>(rng.Uniform(2'000'000)); break;      // < 2 ms
        case 2: delay_ns = static_cast<int64_t>(rng.Uniform(1'000'000'000)); break;  // < 1 s
        default: delay_ns = static_cast<int64_t>(rng.Uniform(20'000'000'000)); break;  // overflow
      }
      const int64_t time_ns = now_ns + delay_ns;
      const uint64_t seq = queue.Push(time_ns, 0, 0);
      reference.emplace(time_ns, seq);
    } else {
      ASSERT_EQ(queue.size(), reference.size());
      const SimEvent event = queue.Pop();
      ASSERT_EQ(std::make_pair(event.time_ns, static_cast<uint64_t>(event.seq)), *reference.begin())
          << "step " << step;
      reference.erase(reference.begin());
      now_ns = event.time_ns;
    }
  }
  while (!queue.empty()) {
    const SimEvent event = queue.Pop();
    ASSERT_EQ(std::make_pair(event.time_ns, static_cast<uint64_t>(event.seq)), *reference.begin());
    reference.erase(reference.begin());
  }
  EXPECT_TRUE(reference.empty());
}

TEST(EventQueueTest, EarlierPushAfterPeekingFarAheadComesFirst) {
  EventQueue queue;
  queue.Push(Seconds(30).ns, 1, 0);  // far beyond one wheel turn: overflow
  EXPECT_EQ(queue.top().kind, 1u);   // the queue has already advanced to that bucket
  queue.Push(Seconds(2).ns, 2, 0);   // the driver's clock is still at 0
  queue.Push(0, 3, 0);
  EXPECT_EQ(queue.Pop().kind, 3u);
  EXPECT_EQ(queue.Pop().kind, 2u);
  EXPECT_EQ(queue.Pop().kind, 1u);
  EXPECT_TRUE(queue.empty());
}

// ---- link model ----

TEST(LinkModelTest, LatencyIsPerPairSymmetricAndInRange) {
  SimConfig config;
  const LinkModel model(config);
  for (uint32_t a = 0; a < 50; ++a) {
    for (uint32_t b = a + 1; b < 50; ++b) {
      const Duration intra = model.Latency(a, b, true);
      EXPECT_EQ(intra, model.Latency(b, a, true));
      EXPECT_GE(intra, config.intra_region_latency_min);
      EXPECT_LE(intra, config.intra_region_latency_max);
      const Duration inter = model.Latency(a, b, false);
      EXPECT_GE(inter, config.inter_region_latency_min);
      EXPECT_LE(inter, config.inter_region_latency_max);
    }
  }
  EXPECT_NE(model.Latency(1, 2, false), model.Latency(1, 3, false));
}

TEST(LinkModelTest, SerialisationFollowsBandwidth) {
  SimConfig config;
  config.link_bandwidth_bytes_per_s = 1e6;
  const LinkModel model(config);
  EXPECT_EQ(model.Serialisation(1000), Milliseconds(1));
  EXPECT_EQ(model.Serialisation(0), Duration{});
}

TEST(LinkModelTest, LossAddsWholeRetransmissionTimeouts) {
  SimConfig config;
  config.loss = 0.5;
  const LinkModel model(config);
  Rng rng(3);
  int delayed = 0;
  for (int i = 0; i < 1000; ++i) {
    const Duration delay = model.LossDelay(rng);
    EXPECT_EQ(delay.ns % config.retransmission_timeout.ns, 0);
    if (delay > Duration{}) ++delayed;
  }
  EXPECT_GT(delayed, 400);
  EXPECT_LT(delayed, 600);

  const LinkModel lossless{SimConfig{}};
  Rng untouched(3);
  EXPECT_EQ(lossless.LossDelay(untouched), Duration{});
  EXPECT_EQ(untouched.Next(), Rng(3).Next());  // no draw at all without loss
}

TEST(LinkModelTest, PartitionSeparatesGroupsOnly) {
  LinkModel model{SimConfig{}};
  EXPECT_TRUE(model.Reachable(0, 3));
  model.SetPartition({0, 0, 1, 1});
  EXPECT_TRUE(model.Reachable(0, 1));
  EXPECT_FALSE(model.Reachable(1, 2));
  EXPECT_TRUE(model.Reachable(0, 9));  // past the end: group 0
  model.HealPartition();
  EXPECT_TRUE(model.Reachable(1, 2));
}

// ---- networks of real cores ----

TopologyConfig SmallTopology() {
  TopologyConfig topology;
  topology.map_flood_radius = 0;  // map gossip is not what these tests look at
  return topology;
}

// Node 0 first, then every other node joining through node 0, a little apart.
std::unique_ptr<Simulator> JoinThroughFirst(SimConfig config, uint32_t nodes) {
  auto sim = std::make_unique<Simulator>(config);
  sim->AddNode("n0", SmallTopology(), {});
  for (uint32_t i = 1; i < nodes; ++i) {
    sim->RunFor(Milliseconds(50));
    sim->AddNode("n" + std::to_string(i), SmallTopology(), {0});
  }
  return sim;
}

std::vector<std::pair<uint32_t, uint32_t>> EdgesOf(const Graph& graph) {
  std::vector<std::pair<uint32_t, uint32_t>> edges;
  for (uint32_t v = 0; v < graph.vertex_count(); ++v) {
    for (const uint32_t w : graph.neighbours(v)) {
      if (v < w) edges.emplace_back(v, w);
    }
  }
  return edges;
}

std::vector<bool> AliveMask(const Simulator& sim) {
  std::vector<bool> alive(sim.node_count());
  for (uint32_t i = 0; i < sim.node_count(); ++i) alive[i] = sim.alive(i);
  return alive;
}

auto CountersTuple(const SimCounters& c) {
  return std::make_tuple(c.events, c.events_stale, c.messages, c.message_bytes, c.dials,
                         c.dials_failed, c.messages_dropped_partition, c.messages_dropped_dead,
                         c.messages_dropped_closed, c.messages_dropped_no_link, c.links_opened);
}

bool HasActive(const Simulator& sim, uint32_t a, uint32_t b) {
  const Link* link = sim.node(a).membership().FindLink(sim.node(b).id());
  return link != nullptr && link->state == LinkState::kActive;
}

TEST(SimulatorTest, NodesGetDistinctDerivedIdentitiesAndAddresses) {
  SimConfig config;
  config.seed = 11;
  Simulator sim(config);
  for (uint32_t i = 0; i < 8; ++i) sim.AddNode("n" + std::to_string(i), SmallTopology(), {});
  for (uint32_t i = 0; i < 8; ++i) {
    EXPECT_EQ(sim.IndexOf(sim.node(i).id()), i);
    EXPECT_EQ(sim.node(i).info().listen_addresses,
              std::vector<std::string>{"sim:" + std::to_string(i)});
    EXPECT_EQ(sim.node(i).info().location.region, "r" + std::to_string(sim.region(i)));
    EXPECT_LT(sim.region(i), config.regions);
    EXPECT_EQ(sim.name(i), "n" + std::to_string(i));
  }
  EXPECT_EQ(sim.IndexOf(NodeId{}), UINT32_MAX);
  // The key depends on (seed, index) only.
  Simulator again(config);
  again.AddNode("other name", SmallTopology(), {});
  EXPECT_EQ(again.node(0).id(), sim.node(0).id());
}

TEST(SimulatorTest, TwoNodesBecomeActiveNeighbours) {
  auto sim = JoinThroughFirst(SimConfig{}, 2);
  sim->RunFor(Seconds(2));
  EXPECT_TRUE(HasActive(*sim, 0, 1));
  EXPECT_TRUE(HasActive(*sim, 1, 0));
  EXPECT_EQ(sim->ActiveGraph().edge_count(), 1u);
  EXPECT_GE(sim->counters().links_opened, 1u);
  EXPECT_EQ(sim->counters().messages_dropped_no_link, 0u);
}

TEST(SimulatorTest, SixNodesJoiningThroughOneReachDegreeAndConnect) {
  constexpr uint32_t kNodes = 6;
  auto sim = JoinThroughFirst(SimConfig{}, kNodes);
  uint64_t hooked = 0;
  sim->SetEventHook([&](uint32_t node) {
    ASSERT_LT(node, kNodes);
    ASSERT_EQ(sim->CheckInvariants(), "") << "after event " << sim->counters().events;
    ++hooked;
  });
  // Joins give two or three links at once; the rest come from redials after the backoff.
  sim->RunFor(Seconds(15));
  EXPECT_GT(hooked, 0u);
  for (uint32_t i = 0; i < kNodes; ++i) {
    EXPECT_GE(sim->node(i).membership().ActiveCount(), std::min<size_t>(3, kNodes - 1))
        << "node " << i;
  }
  EXPECT_TRUE(ConnectedComponents(sim->ActiveGraph()).connected());
}

TEST(SimulatorTest, SameSeedReplaysExactlyAndAnotherSeedDiffers) {
  const auto run = [](uint64_t seed) {
    SimConfig config;
    config.seed = seed;
    config.loss = 0.05;  // exercise the loss draws too
    auto sim = JoinThroughFirst(config, 16);
    sim->RunFor(Seconds(10));
    return std::make_pair(EdgesOf(sim->ActiveGraph()), CountersTuple(sim->counters()));
  };
  const auto first = run(5);
  const auto second = run(5);
  EXPECT_EQ(first.first, second.first);
  EXPECT_EQ(first.second, second.second);
  const auto other = run(6);
  EXPECT_TRUE(first.first != other.first || first.second != other.second);
}

TEST(SimulatorTest, CrashedNodeLeavesEveryActiveView) {
  constexpr uint32_t kNodes = 10;
  auto sim = JoinThroughFirst(SimConfig{}, kNodes);
  sim->RunFor(Seconds(3));
  constexpr uint32_t kVictim = 4;
  const NodeId victim = sim->node(kVictim).id();
  sim->SetEventHook([&](uint32_t) { ASSERT_EQ(sim->CheckInvariants(), ""); });
  sim->Crash(kVictim);
  EXPECT_FALSE(sim->alive(kVictim));
  sim->RunFor(Seconds(5));
  // Without a reset its peers kept talking to it until their heartbeats timed out.
  EXPECT_GT(sim->counters().messages_dropped_dead, 0u);
  for (uint32_t i = 0; i < kNodes; ++i) {
    if (i == kVictim) continue;
    const Link* link = sim->node(i).membership().FindLink(victim);
    EXPECT_TRUE(link == nullptr || link->state != LinkState::kActive) << "node " << i;
  }
  EXPECT_EQ(sim->ActiveGraph().degree(kVictim), 0u);
  EXPECT_TRUE(ConnectedComponents(sim->ActiveGraph(), AliveMask(*sim)).connected());
}

TEST(SimulatorTest, CrashWithResetAndRestartRejoins) {
  constexpr uint32_t kNodes = 8;
  SimConfig config;
  config.crash_sends_reset = true;
  auto sim = JoinThroughFirst(config, kNodes);
  sim->RunFor(Seconds(3));
  constexpr uint32_t kVictim = 3;
  const NodeId id = sim->node(kVictim).id();
  sim->SetEventHook([&](uint32_t) { ASSERT_EQ(sim->CheckInvariants(), ""); });
  sim->Crash(kVictim);
  sim->RunFor(Seconds(1));
  sim->Restart(kVictim, {0});
  EXPECT_EQ(sim->node(kVictim).id(), id);  // same identity, fresh state
  sim->RunFor(Seconds(10));
  EXPECT_GE(sim->node(kVictim).membership().ActiveCount(), 1u);
  EXPECT_TRUE(ConnectedComponents(sim->ActiveGraph()).connected());
}

TEST(SimulatorTest, PartitionedHalvesRemergeAfterHeal) {
  constexpr uint32_t kNodes = 12;
  auto sim = JoinThroughFirst(SimConfig{}, kNodes);
  sim->RunFor(Seconds(3));
  std::vector<uint32_t> group(kNodes);
  for (uint32_t i = 0; i < kNodes; ++i) group[i] = i < kNodes / 2 ? 0 : 1;
  sim->SetEventHook([&](uint32_t) { ASSERT_EQ(sim->CheckInvariants(), ""); });
  sim->SetPartition(group);
  sim->RunFor(Seconds(20));
  EXPECT_GT(sim->counters().messages_dropped_partition, 0u);
  // No active link crosses the cut once heartbeats have timed out.
  const Graph cut = sim->ActiveGraph();
  for (const auto& [a, b] : EdgesOf(cut)) EXPECT_EQ(group[a], group[b]) << a << "-" << b;
  sim->HealPartition();
  sim->RunFor(Seconds(60));
  EXPECT_TRUE(ConnectedComponents(sim->ActiveGraph(), AliveMask(*sim)).connected());
}

TEST(SimulatorTest, CodecPathGivesTheSameNetwork) {
  const auto run = [](bool codec) {
    SimConfig config;
    config.seed = 9;
    config.route_through_codec = codec;
    auto sim = JoinThroughFirst(config, 10);
    sim->RunFor(Seconds(5));
    return std::make_pair(EdgesOf(sim->ActiveGraph()), CountersTuple(sim->counters()));
  };
  const auto typed = run(false);
  const auto coded = run(true);
  EXPECT_EQ(typed.first, coded.first);
  EXPECT_EQ(typed.second, coded.second);
}

TEST(SimulatorTest, EventBudgetStopsARun) {
  SimConfig config;
  config.events_max = 50;
  auto sim = JoinThroughFirst(config, 4);
  sim->RunFor(Seconds(10));
  EXPECT_TRUE(sim->budget_exhausted());
  EXPECT_EQ(sim->counters().events, 50u);
  EXPECT_LT(sim->now(), TimePoint{} + Seconds(10));
}

// ---- propagation through the simulator (NodeSpec nodes, Publish, hooks) ----

// Node 0 first, then every other node joining through node 0, built from NodeSpecs so they
// sign what they publish. The default topology keeps the topology map, which targeted routing
// needs.
std::unique_ptr<Simulator> SpecNetwork(SimConfig config, uint32_t nodes) {
  auto sim = std::make_unique<Simulator>(config);
  for (uint32_t i = 0; i < nodes; ++i) {
    if (i > 0) sim->RunFor(Milliseconds(50));
    Simulator::NodeSpec spec;
    spec.name = "n" + std::to_string(i);
    spec.info.node_type = "worker";
    sim->AddNode(std::move(spec), i == 0 ? std::vector<uint32_t>{} : std::vector<uint32_t>{0});
  }
  sim->RunFor(Seconds(5));
  return sim;
}

struct Delivery {
  uint32_t node;
  int64_t at_ns;
  uint64_t seq;
  uint32_t hops;
  auto operator<=>(const Delivery&) const = default;
};

// Every InformationDelivered of a 20-node network after node 0 broadcasts three packets.
std::vector<Delivery> BroadcastDeliveries(SimConfig config) {
  auto sim = SpecNetwork(config, 20);
  std::vector<Delivery> deliveries;
  sim->SetAppEventHook([&](uint32_t node, TimePoint at, const AppEvent& event) {
    if (const auto* d = std::get_if<InformationDelivered>(&event)) {
      deliveries.push_back(Delivery{node, at.ns, d->packet->id.seq, d->hops});
    }
  });
  for (int k = 0; k < 3; ++k) {
    PublishRequest request;
    request.information_type = "threat_alert";
    request.payload = R"({"k":)" + std::to_string(k) + "}";
    EXPECT_TRUE(sim->Publish(0, std::move(request)).ok());
    sim->RunFor(Milliseconds(300));
  }
  sim->RunFor(Seconds(3));
  return deliveries;
}

TEST(SimulatorTest, BroadcastIsDeliveredOnceAtEveryOtherNode) {
  constexpr uint32_t kNodes = 20;
  auto sim = SpecNetwork(SimConfig{.seed = 3}, kNodes);
  ASSERT_TRUE(ConnectedComponents(sim->ActiveGraph()).connected());
  std::vector<int> delivered(kNodes, 0);
  PacketId sent;
  uint64_t payload_messages = 0;
  sim->SetAppEventHook([&](uint32_t node, TimePoint at, const AppEvent& event) {
    EXPECT_EQ(at, sim->now());
    if (const auto* d = std::get_if<InformationDelivered>(&event)) {
      EXPECT_EQ(d->packet->id, sent);
      ++delivered[node];
    }
  });
  sim->SetMessageHook(
      [&](uint32_t from, uint32_t to, TimePoint, const Message& message, uint32_t bytes) {
        EXPECT_NE(from, to);
        EXPECT_EQ(bytes, EstimatedWireBytes(message));  // computed once, at the sender
        EXPECT_TRUE(sim->alive(to));
        if (std::holds_alternative<PacketMsg>(message)) ++payload_messages;
      });
  PublishRequest request;
  request.information_type = "threat_alert";
  request.payload = R"({"level":"high"})";
  request.priority = 1.0;
  Result<std::vector<PacketId>> ids = sim->Publish(0, std::move(request));
  ASSERT_TRUE(ids.ok()) << ids.error().ToString();
  ASSERT_EQ(ids->size(), 1u);
  sent = ids->front();
  sim->RunFor(Seconds(3));
  EXPECT_EQ(delivered[0], 0);  // the origin does not deliver its own packet
  for (uint32_t i = 1; i < kNodes; ++i) EXPECT_EQ(delivered[i], 1) << "node " << i;
  // Every node received it at least once; the first broadcast floods (every link starts eager).
  EXPECT_GE(payload_messages, kNodes - 1);
  // One body, verified once for the whole network.
  EXPECT_EQ(sim->verifier().counters().misses, 1u);
}

TEST(SimulatorTest, TargetedPublishIsAcked) {
  auto sim = SpecNetwork(SimConfig{.seed = 4}, 20);
  const NodeId destination = sim->node(17).id();
  std::vector<PacketId> acked;
  int delivered_at_destination = 0;
  sim->SetAppEventHook([&](uint32_t node, TimePoint, const AppEvent& event) {
    if (const auto* ack = std::get_if<DeliveryAcked>(&event)) {
      EXPECT_EQ(node, 0u);
      EXPECT_EQ(ack->destination, destination);
      acked.push_back(ack->id);
    } else if (std::holds_alternative<InformationDelivered>(event)) {
      EXPECT_EQ(node, 17u);
      ++delivered_at_destination;
    } else {
      EXPECT_FALSE(std::holds_alternative<DeliveryFailed>(event));
    }
  });
  PublishRequest request;
  request.information_type = "consciousness_sync";
  request.payload = R"({"state":1})";
  request.destinations = {destination};
  Result<std::vector<PacketId>> ids = sim->Publish(0, std::move(request));
  ASSERT_TRUE(ids.ok()) << ids.error().ToString();
  sim->RunFor(Seconds(5));
  EXPECT_EQ(acked, *ids);
  EXPECT_EQ(delivered_at_destination, 1);
}

TEST(SimulatorTest, ShareKnowledgeReachesEveryKnowledgeBase) {
  auto sim = SpecNetwork(SimConfig{.seed = 5}, 8);
  int delivered = 0;
  sim->SetAppEventHook([&](uint32_t, TimePoint, const AppEvent& event) {
    delivered += std::holds_alternative<InformationDelivered>(event) ? 1 : 0;
  });
  Result<std::string> id = sim->ShareKnowledge(2, "optimization", R"({"gain":0.2})", {});
  ASSERT_TRUE(id.ok()) << id.error().ToString();
  sim->RunFor(Seconds(3));
  EXPECT_EQ(delivered, 7);
}

TEST(SimulatorTest, BroadcastDeliveryTimesReplayExactly) {
  const std::vector<Delivery> first = BroadcastDeliveries(SimConfig{.seed = 8});
  const std::vector<Delivery> second = BroadcastDeliveries(SimConfig{.seed = 8});
  EXPECT_EQ(first.size(), 3u * 19u);
  EXPECT_EQ(first, second);
}

TEST(SimulatorTest, CodecPathGivesTheSameDeliveries) {
  const std::vector<Delivery> typed = BroadcastDeliveries(SimConfig{.seed = 8});
  const std::vector<Delivery> coded =
      BroadcastDeliveries(SimConfig{.seed = 8, .route_through_codec = true});
  EXPECT_EQ(typed.size(), 3u * 19u);
  EXPECT_EQ(typed, coded);
}

TEST(SimulatorTest, RestartedSpecNodeKeepsItsSpec) {
  auto sim = SpecNetwork(SimConfig{.seed = 6}, 6);
  const NodeInfo before = sim->node(4).info();
  sim->Crash(4);
  sim->RunFor(Seconds(1));
  sim->Restart(4, {0});
  EXPECT_EQ(sim->node(4).info().node_type, "worker");
  EXPECT_EQ(sim->node(4).id(), before.id);
  sim->RunFor(Seconds(5));
  // It can still sign: the identity came back with it.
  PublishRequest request;
  request.information_type = "threat_alert";
  EXPECT_TRUE(sim->Publish(4, std::move(request)).ok());
}

}  // namespace
}  // namespace myco
