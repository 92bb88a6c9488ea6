// Tests of the broadcast scenario on small grown networks (200 nodes, tens of broadcasts): what
// it measures must be right (flood's message count is known exactly), Plumtree must beat flood on
// redundancy without losing deliveries, crashed networks must heal, and the report (and the
// command's JSON) must replay bit for bit.
#include "sim/broadcast_scenario.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace myco {
namespace {

BroadcastOptions SmallRun(BroadcastMode mode) {
  BroadcastOptions options;
  options.nodes = 200;
  options.messages = 50;
  options.mode = mode;
  options.seed = 3;
  return options;
}

BroadcastReport MustRun(const BroadcastOptions& options) {
  Result<BroadcastReport> report = RunBroadcast(options);
  EXPECT_TRUE(report.ok()) << report.error().ToString();
  return report.ok() ? std::move(report).value() : BroadcastReport{};
}

TEST(BroadcastScenarioTest, PlumtreeReachesEveryNodeWithLessRedundancyThanFlood) {
  const BroadcastReport plumtree = MustRun(SmallRun(BroadcastMode::kPlumtree));
  const BroadcastReport flood = MustRun(SmallRun(BroadcastMode::kFlood));
  ASSERT_EQ(plumtree.records.size(), 50u);
  EXPECT_EQ(plumtree.summary.delivery_ratio_min, 1.0);
  EXPECT_EQ(plumtree.summary.complete, 50u);
  EXPECT_EQ(flood.summary.delivery_ratio_min, 1.0);
  EXPECT_LT(plumtree.summary.rmr_steady, flood.summary.rmr_steady);
  // Lazy announcements are the price of the lower redundancy; flood sends none.
  EXPECT_GT(plumtree.traffic.ihave_entries, 0u);
  EXPECT_EQ(flood.traffic.ihave_messages + flood.traffic.graft_messages, 0u);
  // The same seed grows the same network for every mode.
  EXPECT_EQ(plumtree.edges, flood.edges);
  for (size_t i = 0; i < plumtree.records.size(); ++i) {
    EXPECT_EQ(plumtree.records[i].source, flood.records[i].source);
  }
  // One real signature check per broadcast: every other node's verdict is memoized.
  EXPECT_EQ(plumtree.totals.verifications, 50u);
}

// Flood: every node forwards its first copy to every neighbour but the one it came from and the
// origin, so on a static graph a broadcast from s costs 2E - (n - 1) - k messages, where k is
// the number of s's neighbours whose first copy did not come straight from s (a two-hop path
// inside a region can beat a direct link between regions), 0 <= k <= deg(s). Messages per
// receiver are therefore at most (sum of degrees) / (n - 1) - 1, and RMR (one less) at most
// (sum of degrees) / (n - 1) - 2, reached when every neighbour of the origin hears it first from
// the origin. ttl 15 does not bind on 200 nodes.
TEST(BroadcastScenarioTest, FloodSendsOneCopyPerLinkDirectionButBack) {
  const BroadcastReport flood = MustRun(SmallRun(BroadcastMode::kFlood));
  const uint64_t n = flood.live_nodes;
  const uint64_t upper = 2 * flood.edges - (n - 1);
  for (const BroadcastRecord& r : flood.records) {
    ASSERT_EQ(r.reached, n);
    EXPECT_LE(r.payload_received, upper) << "source " << r.source;
    EXPECT_GE(r.payload_received, upper - r.source_degree) << "source " << r.source;
  }
  const double bound = 2.0 * static_cast<double>(flood.edges) / static_cast<double>(n - 1) - 2;
  EXPECT_LE(flood.summary.rmr, bound);
  EXPECT_GT(flood.summary.rmr, bound - 0.05);
  // Flood's first copies come the fastest way, which is never fewer hops than the shortest.
  for (const BroadcastRecord& r : flood.records) EXPECT_GE(r.last_hop, r.eccentricity);
}

// Without failures the eager links settle on the tree root's shortest-path tree before the
// broadcasts start (the network settles for 10 s): one root, every node at its hop distance,
// exactly n - 1 eager links, each node's parent link among them. Every broadcast then follows
// the tree: no duplicate, and its last hop is at most the source's depth + the root's
// eccentricity <= 2 x the root's eccentricity.
TEST(BroadcastScenarioTest, PlumtreeFollowsTheShortestPathTreeOfOneRoot) {
  BroadcastOptions options = SmallRun(BroadcastMode::kPlumtree);
  options.nodes = 500;
  const BroadcastReport r = MustRun(options);
  EXPECT_EQ(r.tree.roots, 1u);
  EXPECT_EQ(r.tree.root_followers, r.live_nodes);
  EXPECT_EQ(r.tree.distance_exact, r.live_nodes);
  EXPECT_EQ(r.tree.eager_links, r.live_nodes - 1);
  EXPECT_EQ(r.tree.one_sided_links, 0u);
  EXPECT_EQ(r.tree.parent_links_eager, r.live_nodes - 1);
  EXPECT_EQ(r.summary.complete, options.messages);
  EXPECT_EQ(r.summary.rmr, 0.0);
  ASSERT_GT(r.tree.root_eccentricity, 0u);
  for (const BroadcastRecord& rec : r.records) {
    EXPECT_LE(rec.last_hop, 2 * r.tree.root_eccentricity);
    EXPECT_GE(rec.last_hop, rec.eccentricity);
  }
}

TEST(BroadcastScenarioTest, SameOptionsGiveTheSameReport) {
  BroadcastOptions options = SmallRun(BroadcastMode::kPlumtree);
  options.priority_mix = true;
  const BroadcastReport first = MustRun(options);
  const BroadcastReport second = MustRun(options);
  EXPECT_EQ(first.records, second.records);
  EXPECT_EQ(first.summary, second.summary);
  EXPECT_EQ(first.traffic, second.traffic);
  EXPECT_EQ(first.totals, second.totals);
  EXPECT_EQ(first.tree, second.tree);
  EXPECT_GT(first.summary.latency_high.samples, 0u);
  EXPECT_GT(first.summary.latency_low.samples, 0u);
}

TEST(BroadcastScenarioTest, AfterACrashBroadcastsReachEveryLiveNodeWithinTenHeartbeats) {
  BroadcastOptions options = SmallRun(BroadcastMode::kPlumtree);
  options.failure_rate = 0.3;
  options.messages = 70;
  options.rate_per_s = 5;  // 14 virtual seconds of broadcasts: some after 10 heartbeat periods
  const BroadcastReport report = MustRun(options);
  EXPECT_EQ(report.crashed, 60u);
  EXPECT_EQ(report.live_nodes, 140u);
  ASSERT_EQ(report.failure_buckets.size(), BroadcastOptions::kFailureBuckets + 1);
  const FailureBucket& late = report.failure_buckets.back();
  EXPECT_EQ(late.first_period, BroadcastOptions::kFailureBuckets);
  EXPECT_GT(late.broadcasts, 0u);
  EXPECT_EQ(late.delivery_ratio_min, 1.0);
  EXPECT_EQ(late.complete, late.broadcasts);
  uint32_t bucketed = 0;
  for (const FailureBucket& b : report.failure_buckets) bucketed += b.broadcasts;
  EXPECT_EQ(bucketed, options.messages);
}

TEST(BroadcastScenarioTest, InvalidOptionsNameTheFlag) {
  BroadcastOptions options = SmallRun(BroadcastMode::kPlumtree);
  options.failure_rate = 1.0;
  Result<BroadcastReport> report = RunBroadcast(options);
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.error().message.find("--failure-rate"), std::string::npos);
  options = SmallRun(BroadcastMode::kPlumtree);
  options.warmup = 50;
  report = RunBroadcast(options);
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.error().message.find("--warmup"), std::string::npos);
}

// ---- the command ----

#ifdef MYCO_BINARY
struct CommandRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

CommandRun Myco(const std::string& args) {
  static int calls = 0;
  const std::string base = ::testing::TempDir() + "myco_broadcast_test_" +
                           std::to_string(::getpid()) + "_" + std::to_string(calls++);
  const std::string command =
      std::string("'") + MYCO_BINARY + "' " + args + " > '" + base + ".out' 2> '" + base + ".err'";
  const int status = std::system(command.c_str());
  CommandRun run;
  run.exit_code = (status != -1 && WIFEXITED(status)) ? WEXITSTATUS(status) : -1;
  run.out = ReadAll(base + ".out");
  run.err = ReadAll(base + ".err");
  std::remove((base + ".out").c_str());
  std::remove((base + ".err").c_str());
  return run;
}

TEST(BroadcastCommandTest, JsonIsByteIdenticalAcrossRuns) {
  const std::string args =
      "simulate broadcast --nodes 100 --messages 20 --mode all --seed 5 --json --quiet";
  const CommandRun first = Myco(args);
  const CommandRun second = Myco(args);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(first.out, second.out);
  EXPECT_TRUE(first.err.empty()) << first.err;
  // One line per mode.
  EXPECT_EQ(std::count(first.out.begin(), first.out.end(), '\n'), 3);
  EXPECT_NE(first.out.find(R"("mode":"gossip")"), std::string::npos);
}

TEST(BroadcastCommandTest, BadInputIsOneErrorLine) {
  for (const std::string args : {"--nodes 1", "--mode tree", "--failure-rate 1", "--rate abc",
                                 "--warmup 100 --messages 100", "--bandwidth 10"}) {
    SCOPED_TRACE(args);
    const CommandRun run = Myco("simulate broadcast " + args);
    EXPECT_EQ(run.exit_code, 2);
    EXPECT_EQ(run.err.rfind("myco: error: ", 0), 0u) << run.err;
    EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
  }
}
#endif  // MYCO_BINARY

}  // namespace
}  // namespace myco
