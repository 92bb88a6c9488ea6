// The original design's Quick Start, in C++: two embedded nodes form a network on loopback, one
// shares a knowledge discovery, the other receives it, and both print get_network_status.
//
//   build/examples/quick_start            (a temporary data dir per node under /tmp)
//
// In a real deployment each node is its own process or machine; the secret is shared by all.
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <myco/network_manager.hpp>
#include <string>

namespace {

myco::LocalConfig NodeConfig(const std::string& name, const std::filesystem::path& dir) {
  myco::LocalConfig config;
  config.node_id = name;
  config.node_type = "research";
  config.specializations = {"consciousness_research"};
  config.cpu_capacity = 8;
  config.memory_capacity = 32;
  config.listen = "127.0.0.1:0";  // any free port
  config.api = "127.0.0.1:0";     // the HTTP API on any free port
  config.data_dir = (dir / name).string();
  config.network_secret = "quick-start-secret-0123456789";
  return config;
}

int Fail(const char* step, const myco::Error& error) {
  std::fprintf(stderr, "quick_start: %s: %s\n", step, error.message.c_str());
  return 1;
}

void PrintStatus(const myco::NetworkStatus& s) {
  std::printf("Network Status:\n");
  std::printf("  • Node ID: %s (%s)\n", s.local_name.c_str(),
              s.local_node_id.substr(0, 16).c_str());
  std::printf("  • Network Size: %zu nodes\n", s.network_size);
  std::printf("  • Active Connections: %zu\n", s.active_connections);
  std::printf("  • Connection Health: %.2f\n", s.connection_health_avg);
}

}  // namespace

int main() {
  const auto dir = std::filesystem::temp_directory_path() / "myco-quick-start";
  std::filesystem::create_directories(dir);

  // 1. Initialize network nodes.
  myco::NetworkManager first(NodeConfig("genesis_prime_node_1", dir));
  if (auto s = first.initialize(); !s.ok()) return Fail("initialize node 1", s.error());
  auto first_status = first.get_network_status();
  if (!first_status.ok()) return Fail("status", first_status.error());

  std::mutex mutex;
  std::condition_variable received_cv;
  bool received = false;
  myco::NetworkManager second(NodeConfig("genesis_prime_node_2", dir));
  second.on_information([&](const myco::ReceivedInformation& info) {
    std::printf("node 2 received %s from %s after %u hop(s): %s\n", info.type.c_str(),
                info.origin.substr(0, 16).c_str(), info.hops, info.payload_json.c_str());
    std::lock_guard lock(mutex);
    received = true;
    received_cv.notify_all();
  });
  if (auto s = second.initialize(); !s.ok()) return Fail("initialize node 2", s.error());

  // Connect to the existing network.
  if (auto s = second.connect_to_network({first_status->listen_address}); !s.ok()) {
    return Fail("connect_to_network", s.error());
  }
  std::printf("✅ Connected to mycorrhizal network\n");
  if (auto s = second.start_network_operations(); !s.ok()) return Fail("start", s.error());

  // 3. Share knowledge.
  auto discovery = first.share_knowledge_discovery("consciousness_pattern", R"({
    "pattern_type": "emergence_cascade", "confidence": 0.95,
    "implications": "Enhanced collective awareness detected",
    "replication_instructions": "Apply neural plasticity with alpha=0.15"})");
  if (!discovery.ok()) return Fail("share_knowledge_discovery", discovery.error());
  std::printf("Knowledge shared: %s\n", discovery->c_str());
  {
    std::unique_lock lock(mutex);
    if (!received_cv.wait_for(lock, std::chrono::seconds(5), [&] { return received; })) {
      std::fprintf(stderr, "quick_start: node 2 did not receive the discovery within 5 s\n");
      return 1;
    }
  }

  // 4. Monitor network status.
  for (myco::NetworkManager* manager : {&first, &second}) {
    auto status = manager->get_network_status();
    if (!status.ok()) return Fail("get_network_status", status.error());
    PrintStatus(*status);
  }

  for (myco::NetworkManager* manager : {&second, &first}) {
    if (auto s = manager->stop_network_operations(); !s.ok()) return Fail("stop", s.error());
  }
  return 0;
}
