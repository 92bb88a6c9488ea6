// The launcher against a stand-in daemon (a shell script that prints the ready line and leaves on
// SIGTERM), so these tests check process handling alone: spawn, ready lines, bootstrap choices,
// network.json, stop, kill and restart, and the failure messages. The real daemon is exercised by
// the multi-process tests (bench_net smoke test, fault and netns tests).
#include "io/launcher.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace myco {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A fresh directory per test, with the fake daemon in it.
class LauncherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "myco_launcher_test_" + std::to_string(::getpid()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    ASSERT_EQ(std::system(("rm -rf '" + dir_ + "' && mkdir -p '" + dir_ + "'").c_str()), 0);
    fake_ = dir_ + "/fake-node.sh";
    WriteFake(
        "name=; l=; a=; b=\n"
        "while [ $# -gt 0 ]; do case $1 in\n"
        "  --name) name=$2; shift;; --listen) l=$2; shift;; --api) a=$2; shift;;\n"
        "  --bootstrap) b=\"$b $2\"; shift;; esac; shift; done\n"
        "echo \"bootstrap:$b\"\n"
        "trap 'echo leaving; exit 0' TERM\n"
        "echo \"myco: ready name=$name id=$(printf %064d ${name#n}) listen=$l api=$a\"\n"
        "while :; do sleep 0.05; done\n");
  }
  void TearDown() override { EXPECT_EQ(std::system(("rm -rf '" + dir_ + "'").c_str()), 0); }

  void WriteFake(const std::string& body) {
    std::ofstream(fake_) << "#!/bin/sh\n" << body;
    ::chmod(fake_.c_str(), 0755);
  }

  LaunchOptions Options(int nodes) {
    LaunchOptions options;
    options.nodes = nodes;
    options.dir = dir_ + "/net";
    options.binary = fake_;
    // Below the ephemeral range (32768+), where outgoing connections could take them, and
    // pid-dependent so parallel test processes do not collide. The other real-process tests
    // use 20000-29000 (bench_net_test, up_cmd_test) and 29000-32600 (fault_slow_test).
    options.base_port = static_cast<uint16_t>(10000 + (::getpid() % 1000) * 10);
    options.seed = 7;
    options.ready_timeout = Seconds(5);
    return options;
  }

  std::string dir_;
  std::string fake_;
};

TEST_F(LauncherTest, StartsEveryNodeWritesNetworkJsonAndStopsCleanly) {
  Launcher launcher(Options(5));
  int last_ready = 0;
  ASSERT_TRUE(launcher
                  .Start([&](int ready, int total) {
                    EXPECT_EQ(total, 5);
                    EXPECT_EQ(ready, last_ready + 1);
                    last_ready = ready;
                  })
                  .ok());
  EXPECT_EQ(last_ready, 5);
  ASSERT_EQ(launcher.nodes().size(), 5u);
  for (const LaunchedNode& node : launcher.nodes()) {
    EXPECT_GT(node.pid, 0);
    EXPECT_EQ(node.id.size(), 64u);
  }
  EXPECT_EQ(launcher.nodes()[0].name, "n1");
  EXPECT_EQ(launcher.nodes()[1].api.substr(0, 10), "127.0.0.1:");
  // Node 1 starts the network; every other node names at least one earlier node.
  EXPECT_EQ(ReadFile(launcher.nodes()[0].log_path).find("bootstrap:\n"), 0u);
  for (size_t i = 1; i < 5; ++i) {
    const std::string log = ReadFile(launcher.nodes()[i].log_path);
    EXPECT_NE(log.find("bootstrap: 127.0.0.1:"), std::string::npos) << log;
  }

  ASSERT_TRUE(launcher.WriteNetworkFile().ok());
  Result<NetworkFile> network = LoadNetworkJson(launcher.dir() + "/network.json");
  ASSERT_TRUE(network.ok()) << network.error().message;
  ASSERT_EQ(network.value().nodes.size(), 5u);
  EXPECT_EQ(network.value().nodes[4].id, launcher.nodes()[4].id);
  EXPECT_EQ(network.value().nodes[4].token_path, launcher.dir() + "/n5/api.token");
  EXPECT_EQ(network.value().launcher_pid, ::getpid());

  const std::vector<NodeExit> exits = launcher.Stop(Seconds(5));
  ASSERT_EQ(exits.size(), 5u);
  for (const NodeExit& exit : exits) EXPECT_TRUE(exit.clean) << exit.name << ": " << exit.how;
  EXPECT_NE(ReadFile(launcher.nodes()[2].log_path).find("leaving"), std::string::npos);
}

TEST_F(LauncherTest, ReusesTheSecretOfAnEarlierRun) {
  std::string first;
  {
    Launcher launcher(Options(1));
    ASSERT_TRUE(launcher.Start().ok());
    first = launcher.secret();
    EXPECT_EQ(first.size(), 64u);
  }
  Launcher again(Options(1));
  ASSERT_TRUE(again.Start().ok());
  EXPECT_EQ(again.secret(), first);
}

TEST_F(LauncherTest, OneLauncherPerDirectory) {
  Launcher launcher(Options(1));
  ASSERT_TRUE(launcher.Start().ok());
  LaunchOptions other = Options(1);
  other.base_port = static_cast<uint16_t>(other.base_port + 4);
  Launcher second(other);
  const Status s = second.Start();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("another 'myco up'"), std::string::npos) << s.error().message;
}

TEST_F(LauncherTest, ReapsKilledNodesAndRestartsThem) {
  Launcher launcher(Options(3));
  ASSERT_TRUE(launcher.Start().ok());
  const pid_t old_pid = launcher.nodes()[1].pid;
  ASSERT_EQ(::kill(old_pid, SIGKILL), 0);
  std::vector<NodeExit> exits;
  for (int i = 0; i < 200 && exits.empty(); ++i) {
    exits = launcher.Reap();
    ::usleep(10'000);
  }
  ASSERT_EQ(exits.size(), 1u);
  EXPECT_EQ(exits[0].name, "n2");
  EXPECT_EQ(exits[0].how, "killed by signal 9");
  EXPECT_FALSE(launcher.running(1));

  ASSERT_TRUE(launcher.Restart(1).ok());
  EXPECT_TRUE(launcher.running(1));
  EXPECT_NE(launcher.nodes()[1].pid, old_pid);
  // The log of a restarted node keeps the first run and appends the second.
  const std::string log = ReadFile(launcher.nodes()[1].log_path);
  EXPECT_NE(log.find("myco: ready"), log.rfind("myco: ready"));
}

TEST_F(LauncherTest, ANodeThatDiesBeforeReadyFailsTheStartWithItsLog) {
  WriteFake("echo 'cannot bind: address in use' >&2\nexit 3\n");
  Launcher launcher(Options(2));
  const Status s = launcher.Start();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("n1 exited before it was ready (exit 3)"), std::string::npos)
      << s.error().message;
  EXPECT_NE(s.error().message.find("cannot bind: address in use"), std::string::npos);
}

TEST_F(LauncherTest, ANodeWithoutReadyLineTimesOut) {
  WriteFake("trap 'exit 0' TERM\necho starting\nwhile :; do sleep 0.05; done\n");
  LaunchOptions options = Options(1);
  options.ready_timeout = Milliseconds(300);
  Launcher launcher(options);
  const Status s = launcher.Start();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("printed no ready line"), std::string::npos);
  EXPECT_NE(s.error().message.find("starting"), std::string::npos);
}

TEST(LauncherBoundsTest, RejectsTooManyNodesAndPortOverflow) {
  LaunchOptions options;
  options.dir = ::testing::TempDir() + "myco_launcher_bounds_" + std::to_string(::getpid());
  options.nodes = kLaunchNodesMax + 1;
  Status s = Launcher(options).Start();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("--nodes must be between 1 and 1000"), std::string::npos);
  options.nodes = 10;
  options.base_port = 65530;
  s = Launcher(options).Start();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("leaves no room"), std::string::npos) << s.error().message;
}

TEST(LauncherParseTest, ReadyLine) {
  const auto ready =
      ParseReadyLine("myco: ready name=n1 id=ab12 listen=127.0.0.1:7401 api=127.0.0.1:7402\n");
  ASSERT_TRUE(ready.has_value());
  EXPECT_EQ(ready->name, "n1");
  EXPECT_EQ(ready->id, "ab12");
  EXPECT_EQ(ready->listen, "127.0.0.1:7401");
  EXPECT_EQ(ready->api, "127.0.0.1:7402");
  EXPECT_FALSE(ParseReadyLine("myco: starting name=n1").has_value());
  EXPECT_FALSE(ParseReadyLine("myco: ready name=n1").has_value());
}

TEST(LauncherParseTest, NetworkJsonRejectsGarbage) {
  EXPECT_FALSE(ParseNetworkJson("{").ok());
  EXPECT_FALSE(ParseNetworkJson("{\"version\":2}").ok());
  EXPECT_FALSE(ParseNetworkJson("{\"version\":1,\"dir\":\"d\",\"nodes\":[{}]}").ok());
  EXPECT_TRUE(ParseNetworkJson("{\"version\":1,\"dir\":\"d\",\"nodes\":[]}").ok());
}

TEST(LauncherParseTest, ChooseDistinctPicksDistinctCandidates) {
  const std::vector<int> candidates = {0, 1, 2, 3, 4, 5, 6, 7};
  for (uint64_t seed = 1; seed < 50; ++seed) {
    const std::vector<int> chosen = ChooseDistinct(candidates, 3, seed);
    ASSERT_EQ(chosen.size(), 3u);
    EXPECT_EQ(std::set<int>(chosen.begin(), chosen.end()).size(), 3u);
  }
  EXPECT_EQ(ChooseDistinct({4}, 3, 1), std::vector<int>{4});
  EXPECT_TRUE(ChooseDistinct({}, 3, 1).empty());
  EXPECT_EQ(ChooseDistinct(candidates, 3, 9), ChooseDistinct(candidates, 3, 9));
}

}  // namespace
}  // namespace myco
