// Exact tests of the propagation engine on small networks (instant delivery, see harness.hpp):
// broadcast tree, lazy repair, selective delivery, TTL, targeted with acks, gradient discovery,
// knowledge sharing, and the security checks (tampering, wrong signer, replay, inflated TTL).
#include "core/propagation/propagation.hpp"

#include <gtest/gtest.h>

#include "core/propagation/broadcast.hpp"
#include "core/propagation/knowledge.hpp"
#include "core/testing/harness.hpp"

namespace myco {
namespace {

using testing::Harness;

// A connected network of `n` nodes that joined through node 0 and settled (maps, gradients).
void Grow(Harness& h, size_t n, const std::vector<NodeInfo>& infos = {}) {
  for (size_t i = 0; i < n; ++i) {
    NodeInfo info = i < infos.size() ? infos[i] : NodeInfo{};
    h.Add("n" + std::to_string(i), NodeOptions{}, info);
    if (i > 0) h.Command(i, JoinCommand{{"n0"}});
    h.Advance(Seconds(1));
  }
  h.Advance(Seconds(30));
}

PublishRequest Alert(uint32_t ttl = 15) {
  PublishRequest r;
  r.information_type = "threat_alert";
  r.payload = R"({"severity":"high"})";
  r.priority = 1.0;
  r.ttl = ttl;
  return r;
}

size_t PayloadMessagesSent(Harness& h) {
  size_t total = 0;
  for (size_t i = 0; i < h.size(); ++i) {
    for (const Message& m : h.sent(i)) total += std::holds_alternative<PacketMsg>(m) ? 1 : 0;
  }
  return total;
}

TEST(PropagationTest, BroadcastReachesEveryNodeOnceAndTheTreeRemovesRedundancy) {
  Harness h(11);
  Grow(h, 8);
  size_t last_payload = 0;
  for (int round = 0; round < 5; ++round) {
    const size_t before = PayloadMessagesSent(h);
    auto ids = h.Publish(static_cast<size_t>(round) % 8, Alert());
    ASSERT_TRUE(ids.ok()) << ids.error().ToString();
    h.Advance(Seconds(2));  // lazy announcements and any grafts
    for (size_t i = 0; i < 8; ++i) {
      const size_t expected = i == static_cast<size_t>(round) % 8 ? 0 : 1;
      EXPECT_EQ(h.DeliveredCount(i, ids->front()), expected) << "round " << round << " node " << i;
    }
    last_payload = PayloadMessagesSent(h) - before;
  }
  // Once pruned to a tree, a broadcast costs one payload message per node reached.
  EXPECT_EQ(last_payload, 7u);
}

TEST(PropagationTest, LostEagerCopiesAreRecoveredByGrafts) {
  Harness h(12);
  Grow(h, 8);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(h.Publish(0, Alert()).ok());  // let the tree form
  h.Advance(Seconds(2));
  // From now on node 1 never forwards payload: its tree children must graft elsewhere.
  h.SetTamper([](size_t from, size_t, Message& m) {
    if (from == 1 && std::holds_alternative<PacketMsg>(m)) std::get<PacketMsg>(m).body = nullptr;
  });
  auto ids = h.Publish(0, Alert());
  ASSERT_TRUE(ids.ok());
  h.Advance(Seconds(5));
  for (size_t i = 1; i < 8; ++i) EXPECT_EQ(h.DeliveredCount(i, ids->front()), 1u) << i;
}

TEST(PropagationTest, TtlLimitsHops) {
  Harness h(13);
  Grow(h, 8);
  auto ids = h.Publish(0, Alert(/*ttl=*/1));
  ASSERT_TRUE(ids.ok());
  h.Advance(Seconds(3));
  for (size_t i = 1; i < 8; ++i) {
    const bool neighbour = h.Active(0, i);
    EXPECT_EQ(h.DeliveredCount(i, ids->front()), neighbour ? 1u : 0u) << i;
  }
}

TEST(PropagationTest, SelectiveDeliveryStillRelays) {
  Harness h(14);
  std::vector<NodeInfo> infos(6);
  for (size_t i = 1; i < 6; ++i) infos[i].interests = {"knowledge_discovery"};
  Grow(h, 6, infos);
  auto ids = h.Publish(0, Alert());
  ASSERT_TRUE(ids.ok());
  h.Advance(Seconds(2));
  for (size_t i = 1; i < 6; ++i) {
    EXPECT_EQ(h.DeliveredCount(i, ids->front()), 0u);
    EXPECT_EQ(h.node(i).propagation().counters().not_interested, 1u) << "node " << i;
  }
}

TEST(PropagationTest, SelectorPicksNodeTypes) {
  Harness h(15);
  std::vector<NodeInfo> infos(6);
  infos[3].node_type = "consciousness_processor";
  infos[5].node_type = "consciousness_processor";
  Grow(h, 6, infos);
  PublishRequest r = Alert();
  r.information_type = "consciousness_sync";
  r.selector.node_type = "consciousness_processor";
  auto ids = h.Publish(0, r);
  ASSERT_TRUE(ids.ok());
  h.Advance(Seconds(2));
  for (size_t i = 1; i < 6; ++i) {
    EXPECT_EQ(h.DeliveredCount(i, ids->front()), (i == 3 || i == 5) ? 1u : 0u) << i;
  }
}

TEST(PropagationTest, TamperedWrongSignerInflatedAndReplayedPacketsAreNeverDeliveredOrForwarded) {
  enum class Attack { kPayload, kSigner, kTtl };
  for (Attack attack : {Attack::kPayload, Attack::kSigner, Attack::kTtl}) {
    Harness h(16);
    Grow(h, 6);
    // Node 0 is the only way in for node 0's packets; every copy it sends is corrupted.
    h.SetTamper([&](size_t from, size_t, Message& m) {
      auto* p = std::get_if<PacketMsg>(&m);
      if (from != 0 || p == nullptr || !p->body) return;
      auto forged = std::make_shared<PacketBody>(*p->body);
      if (attack == Attack::kPayload) forged->payload = R"({"severity":"none"})";
      if (attack == Attack::kSigner) forged->id.origin = h.node(1).id();
      p->body = forged;
      if (attack == Attack::kTtl) p->ttl += 5;
    });
    auto ids = h.Publish(0, Alert());
    ASSERT_TRUE(ids.ok());
    h.Advance(Seconds(3));
    uint64_t rejected = 0;
    for (size_t i = 1; i < 6; ++i) {
      EXPECT_TRUE(h.deliveries(i).empty()) << "attack " << static_cast<int>(attack);
      const auto& c = h.node(i).propagation().counters();
      rejected += c.invalid_signature + c.invalid_ttl;
      EXPECT_EQ(c.forwarded, 0u) << "a rejected packet must not be forwarded";
    }
    EXPECT_GT(rejected, 0u);
    // The evidence lands on the link the bad packets came from: node 0's.
    uint64_t blamed = 0;
    for (size_t i = 1; i < 6; ++i) blamed += h.node(i).propagation().InvalidFrom(h.node(0).id());
    EXPECT_EQ(blamed, rejected);
  }
}

TEST(PropagationTest, ReplayedPacketIsNotDeliveredTwice) {
  Harness h(17);
  Grow(h, 4);
  std::optional<PacketMsg> captured;
  h.SetTamper([&](size_t from, size_t, Message& m) {
    if (from == 0 && !captured && std::holds_alternative<PacketMsg>(m)) {
      captured = std::get<PacketMsg>(m);
    }
  });
  auto ids = h.Publish(0, Alert());
  ASSERT_TRUE(ids.ok());
  h.Advance(Seconds(2));
  ASSERT_TRUE(captured.has_value());
  const size_t target = [&] {
    for (size_t i = 1; i < 4; ++i) {
      if (h.Active(0, i)) return i;
    }
    return size_t{1};
  }();
  h.SetTamper(nullptr);
  h.Inject(0, target, *captured);  // the same packet again, later
  h.Advance(Seconds(2));
  EXPECT_EQ(h.DeliveredCount(target, ids->front()), 1u);
  EXPECT_GE(h.node(target).propagation().counters().duplicates, 1u);
}

TEST(PropagationTest, TargetedIsDeliveredAndAcknowledged) {
  Harness h(18);
  Grow(h, 8);
  size_t far = 1;
  for (size_t i = 1; i < 8; ++i) {
    if (!h.Active(0, i)) far = i;
  }
  PublishRequest r = Alert();
  r.information_type = "consciousness_sync";
  r.destinations = {h.node(far).id()};
  auto ids = h.Publish(0, r);
  ASSERT_TRUE(ids.ok()) << ids.error().ToString();
  h.Advance(Seconds(1));
  EXPECT_EQ(h.DeliveredCount(far, ids->front()), 1u);
  for (size_t i = 1; i < 8; ++i) {
    if (i != far) {
      EXPECT_EQ(h.DeliveredCount(i, ids->front()), 0u) << i;
    }
  }
  bool acked = false;
  for (const AppEvent& e : h.deliveries(0)) {
    if (auto* a = std::get_if<DeliveryAcked>(&e)) {
      acked = a->id == ids->front() && a->destination == h.node(far).id() && a->retries == 0;
    }
  }
  EXPECT_TRUE(acked);
}

TEST(PropagationTest, GradientDiscoveryFindsTheHolder) {
  Harness h(19);
  std::vector<NodeInfo> infos(8);
  infos[7].cpu_capacity = 64;
  Grow(h, 8, infos);
  PublishRequest r;
  r.information_type = "resource_discovery";
  r.payload = R"({"seeking":"cpu","quantity":4})";
  r.rules.follow_gradient = true;
  r.rules.resource = ResourceType::kComputationalPower;
  r.rules.amount_min = 4;
  auto ids = h.Publish(0, r);
  ASSERT_TRUE(ids.ok()) << ids.error().ToString();
  h.Advance(Seconds(1));
  bool answered = false;
  for (const AppEvent& e : h.deliveries(0)) {
    if (auto* a = std::get_if<DiscoveryAnswered>(&e)) {
      answered = a->id == ids->front() && a->server == h.node(7).id() && a->hops >= 1;
    }
  }
  EXPECT_TRUE(answered);
  EXPECT_EQ(h.DeliveredCount(7, ids->front()), 1u);
}

TEST(PropagationTest, KnowledgeIsStoredEverywhereOnce) {
  Harness h(20);
  Grow(h, 6);
  auto id = h.Share(2, "consciousness_pattern", R"({"pattern_type":"emergence_cascade"})");
  ASSERT_TRUE(id.ok()) << id.error().ToString();
  h.Advance(Seconds(2));
  for (size_t i = 0; i < 6; ++i) {
    const KnowledgeBase& kb = h.node(i).propagation().knowledge();
    ASSERT_NE(kb.Find(*id), nullptr) << "node " << i;
    EXPECT_EQ(kb.size(), 1u);
    EXPECT_EQ(kb.Query("consciousness_pattern", "emergence", 10).size(), 1u);
  }
}

TEST(PropagationTest, BadRequestsAreErrorsAndSendNothing) {
  Harness h(21);
  Grow(h, 3);
  PublishRequest r = Alert();
  r.ttl = 0;
  EXPECT_FALSE(h.Publish(0, r).ok());
  r = Alert();
  r.priority = 1.5;
  EXPECT_FALSE(h.Publish(0, r).ok());
  r = Alert();
  r.payload = "[1,2]";
  EXPECT_FALSE(h.Publish(0, r).ok());
  r = Alert();
  r.information_type = "";
  EXPECT_FALSE(h.Publish(0, r).ok());
  r = Alert();
  r.destinations = {h.node(0).id()};
  EXPECT_FALSE(h.Publish(0, r).ok());
  EXPECT_FALSE(h.Share(0, "t", "not json").ok());
  EXPECT_EQ(h.node(0).propagation().counters().published, 0u);
}

}  // namespace
}  // namespace myco
