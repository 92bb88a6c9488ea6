// Exact tests of the topology protocol on 2–6 nodes, with a tiny instant-delivery harness
// (the simulator has its own tests; here every message and event is asserted).
#include "core/topology/membership.hpp"

#include <gtest/gtest.h>

#include "core/node.hpp"
#include "core/testing/harness.hpp"

namespace myco {
namespace {

using testing::Harness;

TEST(MembershipTest, JoinThroughALoneBootstrapUpgradesTheJoinLink) {
  Harness h(1);
  const size_t a = h.Add("a");
  const size_t b = h.Add("b");
  h.Command(b, JoinCommand{{"a"}});
  // a has no other neighbours, so every walk ends at a itself, which upgrades the join link.
  EXPECT_TRUE(h.Active(a, b));
  EXPECT_TRUE(h.Active(b, a));
  EXPECT_EQ(h.events(a), std::vector<std::string>{"up b"});
  EXPECT_EQ(h.events(b), std::vector<std::string>{"up a"});
  EXPECT_EQ(h.node(a).membership().counters().walks_started, 3u);
  ASSERT_FALSE(h.sent(b).empty());
  const auto* hello = std::get_if<Hello>(&h.sent(b).front());
  ASSERT_NE(hello, nullptr);
  EXPECT_EQ(hello->intent, HelloIntent::kJoin);
}

TEST(MembershipTest, SixNodesReachTargetDegree) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Harness h(seed);
    h.Add("n0");
    for (int i = 1; i < 6; ++i) {
      h.Add("n" + std::to_string(i));
      h.Command(static_cast<size_t>(i), JoinCommand{{"n0"}});
      h.Advance(Seconds(1));
    }
    h.Advance(Seconds(30));
    for (size_t i = 0; i < 6; ++i) {
      EXPECT_GE(h.node(i).membership().ActiveCount(), 3u) << "seed " << seed << " node " << i;
      for (const Link& l : h.node(i).membership().links()) {
        EXPECT_EQ(l.state, LinkState::kActive) << "join links must be gone, seed " << seed;
      }
    }
  }
}

TEST(MembershipTest, FullNodeRefusesWithAlternatives) {
  Harness h(2);
  TopologyConfig one;
  one.max_connections = 1;
  one.target_degree = 1;
  const size_t a = h.Add("a", one);
  const size_t b = h.Add("b");
  h.Command(b, JoinCommand{{"a"}});
  ASSERT_TRUE(h.Active(a, b));
  const size_t c = h.Add("c");
  h.Command(c, JoinCommand{{"a"}});
  // a is full: the walk cannot end at a, so it moves on to b, which dials c.
  EXPECT_EQ(h.node(a).membership().ActiveCount(), 1u);
  EXPECT_TRUE(h.Active(b, c));
  EXPECT_FALSE(h.Active(a, c));
}

TEST(MembershipTest, SilentPeerIsDetectedAndReplaced) {
  Harness h(3);
  h.Add("n0");
  for (int i = 1; i < 5; ++i) {
    h.Add("n" + std::to_string(i));
    h.Command(static_cast<size_t>(i), JoinCommand{{"n0"}});
  }
  h.Advance(Seconds(30));  // shuffles fill the passive views
  ASSERT_TRUE(h.Active(1, 0));
  h.Silence(0);
  const TopologyConfig defaults;
  h.Advance(defaults.failure_timeout + defaults.heartbeat_period * 2);
  for (size_t i = 1; i < 5; ++i) {
    EXPECT_FALSE(h.Active(i, 0)) << "node " << i;
    EXPECT_NE(std::find(h.events(i).begin(), h.events(i).end(), "down n0"), h.events(i).end());
  }
  h.Advance(Seconds(20));
  for (size_t i = 1; i < 5; ++i) EXPECT_GE(h.node(i).membership().ActiveCount(), 3u) << i;
}

TEST(MembershipTest, LeaveSaysGoodbyeAndPeersForgetIt) {
  Harness h(4);
  const size_t a = h.Add("a");
  const size_t b = h.Add("b");
  h.Command(b, JoinCommand{{"a"}});
  ASSERT_TRUE(h.Active(a, b));
  h.Command(b, LeaveCommand{});
  EXPECT_FALSE(h.Active(a, b));
  EXPECT_TRUE(h.node(b).membership().left());
  EXPECT_TRUE(h.node(a).membership().passive().empty()) << "a departed peer is not a candidate";
}

TEST(MembershipTest, MapCoversSmallNetworkAndSizeEstimateIsExact) {
  Harness h(5);
  h.Add("n0");
  for (int i = 1; i < 6; ++i) {
    h.Add("n" + std::to_string(i));
    h.Command(static_cast<size_t>(i), JoinCommand{{"n0"}});
  }
  h.Advance(Seconds(10));
  for (size_t i = 0; i < 6; ++i) EXPECT_EQ(h.node(i).membership().SizeEstimate(), 6u) << i;
  h.Silence(5);
  h.Advance(Seconds(8));
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(h.node(i).membership().SizeEstimate(), 5u) << i;
}

TEST(MembershipTest, HeartbeatsMeasureNoLossOnAPerfectLink) {
  Harness h(6);
  const size_t a = h.Add("a");
  const size_t b = h.Add("b");
  h.Command(b, JoinCommand{{"a"}});
  h.Advance(Seconds(10));
  const Link* l = h.node(a).membership().FindLink(h.node(b).id());
  ASSERT_NE(l, nullptr);
  EXPECT_DOUBLE_EQ(l->loss_ewma, 0.0);
  EXPECT_GT(l->Health(), 0.99);
  EXPECT_EQ(l->strength, ConnectionStrength::kDormant);
}

TEST(StrengthTest, BandsFollowTheDesign) {
  EXPECT_EQ(StrengthFrom(0.05, 1), ConnectionStrength::kDormant);
  EXPECT_EQ(StrengthFrom(0.10, 1), ConnectionStrength::kWeak);
  EXPECT_EQ(StrengthFrom(0.30, 1), ConnectionStrength::kModerate);
  EXPECT_EQ(StrengthFrom(0.60, 1), ConnectionStrength::kStrong);
  EXPECT_EQ(StrengthFrom(0.90, 0.9), ConnectionStrength::kSymbiotic);
  EXPECT_EQ(StrengthFrom(0.90, 0.5), ConnectionStrength::kStrong);
  EXPECT_DOUBLE_EQ(MutualBenefit(0, 0), 0);
  EXPECT_DOUBLE_EQ(MutualBenefit(50, 100), 0.5);
}

TEST(TopologyMapTest, StaleEntryOfADeadNodeIsNotReachable) {
  auto id = [](uint8_t b) {
    NodeId n;
    n.bytes[0] = b;
    return n;
  };
  TopologyMap map(16);
  const TimePoint t{};
  map.Update(id(1), 1, {id(2), id(3)}, t);
  map.Update(id(2), 1, {id(1), id(3)}, t);
  map.Update(id(3), 1, {id(1), id(2)}, t);
  EXPECT_EQ(map.Reachable(id(1)).size(), 3u);
  // 3 died: 1 and 2 report it gone, its own stale entry still lists them.
  map.Update(id(1), 2, {id(2)}, t);
  map.Update(id(2), 2, {id(1)}, t);
  EXPECT_EQ(map.Reachable(id(1)).size(), 2u);
  EXPECT_FALSE(map.Update(id(2), 1, {id(1), id(3)}, t)) << "older versions are ignored";
}

TEST(TopologyMapTest, BoundEvictsOldest) {
  TopologyMap map(2);
  NodeId a, b, c;
  a.bytes[0] = 1;
  b.bytes[0] = 2;
  c.bytes[0] = 3;
  map.Update(a, 1, {}, TimePoint{10});
  map.Update(b, 1, {}, TimePoint{5});
  map.Update(c, 1, {}, TimePoint{20});
  EXPECT_EQ(map.size(), 2u);
  EXPECT_EQ(map.Find(b), nullptr);
}

TEST(TopologyConfigTest, ValidateNamesTheBadKey) {
  TopologyConfig c;
  EXPECT_TRUE(c.Validate().ok());
  c.target_degree = 0;
  auto st = c.Validate();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("target_degree"), std::string::npos);
  c = {};
  c.max_connections = 0;
  EXPECT_NE(c.Validate().error().message.find("max_connections"), std::string::npos);
  c = {};
  c.failure_timeout = Milliseconds(10);
  EXPECT_NE(c.Validate().error().message.find("failure_timeout"), std::string::npos);
}

}  // namespace
}  // namespace myco
