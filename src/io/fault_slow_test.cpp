// Crash faults on a real local network (issue #10, must-show 3): 20 `myco node` processes on
// loopback, six of them killed with SIGKILL (no goodbye: their peers learn it from the dropped TCP
// connections or, failing that, from missed heartbeats). Then, watching every live node's HTTP
// API:
//   - within 3 s every live node's /v1/peers and its network size estimate exclude the dead;
//   - within 5 s the live nodes form one component (the union of their peer lists);
//   - a broadcast published on a live node reaches every live node;
//   - the killed nodes, restarted with their identities, rejoin (peers >= 1, size back to 20).
// The measured times are printed ([ fault ] lines) for docs/PERFORMANCE.md.
//
// Labelled slow (a ~30 s run); ./run test --slow runs it.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "io/config.hpp"
#include "io/launcher.hpp"

#ifndef MYCO_BINARY
#error "MYCO_BINARY must name the myco executable (see CMakeLists.txt)"
#endif

namespace myco {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// One HTTP request on a fresh loopback connection; null JSON on any failure.
json Http(const std::string& address, http::verb verb, const std::string& target,
          const std::string& token = "", const std::string& body = "") {
  try {
    Result<HostPort> hp = ParseHostPort(address, false);
    if (!hp.ok()) return nullptr;
    asio::io_context io;
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(2));
    stream.connect(
        asio::ip::tcp::endpoint(asio::ip::make_address(hp.value().host), hp.value().port));
    http::request<http::string_body> request(verb, target, 11);
    request.set(http::field::host, "myco");
    if (!token.empty()) request.set(http::field::authorization, "Bearer " + token);
    if (!body.empty()) {
      request.set(http::field::content_type, "application/json");
      request.body() = body;
    }
    request.prepare_payload();
    http::write(stream, request);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(stream, buffer, response);
    if (response.result_int() / 100 != 2) return nullptr;
    return json::parse(response.body(), nullptr, false);
  } catch (const std::exception&) {
    return nullptr;
  }
}

std::string ReadToken(const std::string& path) {
  std::ifstream in(path);
  std::string token;
  std::getline(in, token);
  return token;
}

double Since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Polls `check` every 100 ms until it holds or `limit_s` passes; returns the seconds it took, or
// a negative number on timeout.
template <typename Check>
double WaitFor(Check check, double limit_s) {
  const auto start = Clock::now();
  while (Since(start) < limit_s) {
    if (check()) return Since(start);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return check() ? Since(start) : -1;
}

class FaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "myco_fault_test_" + std::to_string(::getpid());
    LaunchOptions options;
    options.nodes = 20;
    options.dir = dir_;
    options.binary = MYCO_BINARY;
    options.base_port = static_cast<uint16_t>(29000 + (::getpid() % 90) * 40);
    options.seed = 10;
    launcher_ = std::make_unique<Launcher>(options);
    const Status s = launcher_->Start();
    ASSERT_TRUE(s.ok()) << s.error().message;
  }
  void TearDown() override {
    launcher_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::vector<int> Live() const {
    std::vector<int> live;
    for (int i = 0; i < 20; ++i) {
      if (launcher_->running(i)) live.push_back(i);
    }
    return live;
  }
  const LaunchedNode& node(int i) const { return launcher_->nodes().at(i); }

  // Every live node's peers are live nodes and its size estimate is the live count.
  bool DeadExcluded(const std::set<std::string>& dead_ids, size_t live_count) {
    for (const int i : Live()) {
      const json peers = Http(node(i).api, http::verb::get, "/v1/peers");
      const json status = Http(node(i).api, http::verb::get, "/v1/status");
      if (!peers.is_object() || !status.is_object()) return false;
      for (const auto& peer : peers["peers"]) {
        if (dead_ids.count(peer.value("id", "")) != 0) return false;
      }
      if (status.value("network_size_estimate", 0u) != live_count) return false;
    }
    return true;
  }

  // The union of the live nodes' peer lists connects all of them.
  bool OneComponent() {
    const std::vector<int> live = Live();
    std::map<std::string, std::set<std::string>> adjacency;
    for (const int i : live) {
      const json peers = Http(node(i).api, http::verb::get, "/v1/peers");
      if (!peers.is_object()) return false;
      for (const auto& peer : peers["peers"]) {
        adjacency[node(i).id].insert(peer.value("id", ""));
        adjacency[peer.value("id", "")].insert(node(i).id);
      }
    }
    std::set<std::string> seen = {node(live.front()).id};
    std::vector<std::string> queue = {node(live.front()).id};
    for (size_t q = 0; q < queue.size(); ++q) {
      for (const std::string& v : adjacency[queue[q]]) {
        if (seen.insert(v).second) queue.push_back(v);
      }
    }
    for (const int i : live) {
      if (seen.count(node(i).id) == 0) return false;
    }
    return true;
  }

  uint64_t Delivered(int i) {
    const json status = Http(node(i).api, http::verb::get, "/v1/status");
    if (!status.is_object()) return 0;
    return status["counters"].value("delivered", uint64_t{0});
  }

  std::string dir_;
  std::unique_ptr<Launcher> launcher_;
};

TEST_F(FaultTest, SixOfTwentyKilledAreDetectedHealedAndRejoin) {
  // The network has formed when every node counts all 20.
  const double formed_s = WaitFor([&] { return DeadExcluded({}, 20); }, 30);
  ASSERT_GE(formed_s, 0) << "the 20-node network did not form within 30 s";
  std::printf("[ fault ] 20 nodes formed (size estimate 20 everywhere) %.2f s after start\n",
              formed_s);

  const std::vector<int> victims = {2, 5, 8, 11, 14, 17};  // n3, n6, ... n18; n1 survives
  std::set<std::string> dead_ids;
  const auto killed_at = Clock::now();
  for (const int v : victims) {
    dead_ids.insert(node(v).id);
    ASSERT_TRUE(launcher_->Kill(v, SIGKILL).ok());
  }

  const double detect_s = WaitFor([&] { return DeadExcluded(dead_ids, 14); }, 20);
  std::printf("[ fault ] every live node's peers and size estimate exclude the 6 dead: %.2f s\n",
              detect_s);
  const double component_s = WaitFor([&] { return OneComponent(); }, 20);
  const double component_total_s = component_s < 0 ? -1 : Since(killed_at);
  std::printf("[ fault ] the 14 live nodes form one component: %.2f s after the kill\n",
              component_total_s);
  EXPECT_GE(detect_s, 0) << "dead nodes still listed 20 s after the kill";
  EXPECT_LE(detect_s, 3.0);
  EXPECT_GE(component_s, 0);
  EXPECT_LE(component_total_s, 5.0);

  // A broadcast from a live node reaches every live node (delivery counters go up by one; the
  // publisher does not deliver to itself).
  const std::vector<int> live = Live();
  std::map<int, uint64_t> before;
  for (const int i : live) before[i] = Delivered(i);
  const json published =
      Http(node(live.front()).api, http::verb::post, "/v1/messages",
           ReadToken(node(live.front()).token_path),
           R"({"type":"threat_alert","payload":{"what":"fault test"},"priority":1.0,"ttl":15})");
  ASSERT_TRUE(published.is_object()) << "POST /v1/messages failed";
  const double spread_s = WaitFor(
      [&] {
        for (size_t k = 1; k < live.size(); ++k) {
          if (Delivered(live[k]) <= before[live[k]]) return false;
        }
        return true;
      },
      10);
  std::printf("[ fault ] broadcast reached all %zu other live nodes: %.2f s\n", live.size() - 1,
              spread_s);
  EXPECT_GE(spread_s, 0) << "the broadcast did not reach every live node";

  // The dead come back with their identities and rejoin.
  for (const int v : victims) {
    const Status s = launcher_->Restart(v);
    ASSERT_TRUE(s.ok()) << s.error().message;
    EXPECT_TRUE(dead_ids.count(node(v).id) == 1) << node(v).name << " came back with a new id";
  }
  const double rejoin_s = WaitFor([&] { return DeadExcluded({}, 20) && OneComponent(); }, 30);
  std::printf("[ fault ] the 6 restarted nodes rejoined (size 20 everywhere): %.2f s\n", rejoin_s);
  EXPECT_GE(rejoin_s, 0) << "restarted nodes did not rejoin within 30 s";
}

}  // namespace
}  // namespace myco
