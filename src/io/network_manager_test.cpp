// NetworkManager: the embedding API over a real Daemon on loopback (TLS, admission, the loop
// thread), checked through its public header only.
#include "myco/network_manager.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace myco {
namespace {

class NetworkManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("myco-nm-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  LocalConfig Config(const std::string& name) {
    LocalConfig c;
    c.node_id = name;
    c.listen = "127.0.0.1:0";
    c.api = "127.0.0.1:0";
    c.data_dir = (dir_ / name).string();
    c.network_secret = "network-manager-test-secret";
    return c;
  }

  std::filesystem::path dir_;
};

TEST_F(NetworkManagerTest, MethodsBeforeInitializeFailCleanly) {
  NetworkManager manager(Config("idle"));
  auto status = manager.get_network_status();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kUnavailable);
  EXPECT_FALSE(manager.share_knowledge_discovery("t", "{}").ok());
  EXPECT_FALSE(manager.start_network_operations().ok());
  EXPECT_TRUE(manager.stop_network_operations().ok());  // idempotent, nothing to stop
}

TEST_F(NetworkManagerTest, BadConfigNamesTheField) {
  LocalConfig config = Config("bad");
  config.listen = "not-an-address";
  NetworkManager manager(config);
  Status s = manager.initialize();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("listen"), std::string::npos) << s.error().message;

  LocalConfig short_secret = Config("bad2");
  short_secret.network_secret = "short";
  NetworkManager manager2(short_secret);
  Status s2 = manager2.initialize();
  ASSERT_FALSE(s2.ok());
  EXPECT_NE(s2.error().message.find("network_secret"), std::string::npos) << s2.error().message;
}

TEST_F(NetworkManagerTest, TwoNodesConnectShareAndReport) {
  NetworkManager first(Config("first"));
  ASSERT_TRUE(first.initialize().ok());
  auto first_status = first.get_network_status();
  ASSERT_TRUE(first_status.ok()) << first_status.error().message;
  EXPECT_EQ(first_status->local_name, "first");
  EXPECT_EQ(first_status->local_node_id.size(), 64u);
  EXPECT_EQ(first_status->active_requests, 0u);

  std::mutex mutex;
  std::condition_variable cv;
  std::vector<ReceivedInformation> received;
  std::atomic<int> peers_up{0};
  NetworkManager second(Config("second"));
  second.on_information([&](const ReceivedInformation& info) {
    std::lock_guard lock(mutex);
    received.push_back(info);
    cv.notify_all();
  });
  second.on_peer_change([&](const std::string& peer, bool up) {
    if (up && peer == first_status->local_node_id) ++peers_up;
  });
  ASSERT_TRUE(second.initialize().ok());
  Status connected = second.connect_to_network({first_status->listen_address}, 5000);
  ASSERT_TRUE(connected.ok()) << connected.error().message;
  EXPECT_TRUE(second.start_network_operations().ok());
  EXPECT_GE(peers_up.load(), 1);

  // The link is up on the second node; wait until the first sees it too before publishing.
  for (int i = 0; i < 500; ++i) {
    auto s = first.get_network_status();
    ASSERT_TRUE(s.ok());
    if (s->active_connections == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto id = first.share_knowledge_discovery("consciousness_pattern", R"({"confidence":0.95})");
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_FALSE(id->empty());

  Information alert;
  alert.type = "threat_alert";
  alert.payload_json = R"({"level":"high"})";
  alert.priority = 1.0;
  auto ids = first.propagate_information(alert);
  ASSERT_TRUE(ids.ok()) << ids.error().message;
  ASSERT_EQ(ids->size(), 1u);

  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return received.size() >= 2; }))
        << "received " << received.size();
  }
  bool saw_alert = false;
  for (const ReceivedInformation& info : received) {
    EXPECT_EQ(info.origin, first_status->local_node_id);
    EXPECT_EQ(info.hops, 1u);
    EXPECT_GT(info.delivered_at_ns, 0);
    if (info.type == "threat_alert") {
      saw_alert = true;
      EXPECT_EQ(info.packet_id, ids->front());
      EXPECT_EQ(info.payload_json, R"({"level":"high"})");
      EXPECT_DOUBLE_EQ(info.priority, 1.0);
    }
  }
  EXPECT_TRUE(saw_alert);

  auto second_status = second.get_network_status();
  ASSERT_TRUE(second_status.ok());
  EXPECT_EQ(second_status->active_connections, 1u);
  EXPECT_GE(second_status->network_size, 2u);

  // Bad input comes back as errors, not crashes.
  Information bad = alert;
  bad.destination_nodes = {"zz"};
  EXPECT_FALSE(first.propagate_information(bad).ok());
  EXPECT_FALSE(second.connect_to_network({"nope"}).ok());

  EXPECT_TRUE(second.stop_network_operations().ok());
  EXPECT_TRUE(second.stop_network_operations().ok());
  EXPECT_TRUE(first.stop_network_operations().ok());
}

TEST_F(NetworkManagerTest, CallsFromACallbackAreRefusedNotDeadlocked) {
  NetworkManager first(Config("a"));
  ASSERT_TRUE(first.initialize().ok());
  auto status = first.get_network_status();
  ASSERT_TRUE(status.ok());
  NetworkManager second(Config("b"));
  std::atomic<int> refused{0};
  second.on_peer_change([&](const std::string&, bool) {
    if (!second.get_network_status().ok()) ++refused;
  });
  ASSERT_TRUE(second.initialize().ok());
  ASSERT_TRUE(second.connect_to_network({status->listen_address}).ok());
  EXPECT_GE(refused.load(), 1);
}

}  // namespace
}  // namespace myco
