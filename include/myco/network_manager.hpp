// myco::NetworkManager: embed a myco node in your program. The names follow the original
// design's MycorrhizalNetworkManager (initialize, connect_to_network, start_network_operations,
// stop_network_operations, share_knowledge_discovery, propagate_information,
// get_network_status); request_computational_resources joins with the market.
//
//   myco::LocalConfig config;
//   config.node_id = "genesis_prime_node_1";
//   config.network_secret = "...";            // every node of the network shares it
//   myco::NetworkManager manager(config);
//   if (auto s = manager.initialize(); !s.ok()) { ... s.error().message ... }
//   manager.connect_to_network({"10.0.0.2:7300"});
//   manager.start_network_operations();
//   auto id = manager.share_knowledge_discovery("pattern", R"({"confidence":0.95})");
//
// The node runs on one background thread (its event loop: TLS links, heartbeats, healing,
// propagation, and the HTTP API). Every method is thread-safe: it hands its work
// to that thread and waits for the answer. Callbacks run on that thread; keep them short and
// never call the manager's blocking methods from inside one (that would wait for itself; such a
// call returns an error instead).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "myco/result.hpp"

namespace myco {

// The original design's local_config plus what a real node needs. Every field has a sane
// default; docs/CONFIG.md has the bounds (the same as the TOML file's).
struct LocalConfig {
  std::string node_id = "myco-node";  // a human name; the cryptographic id is the public key
  std::string node_type = "standard";
  std::string region = "default";
  std::string datacenter = "default";
  double cpu_capacity = 0;
  double memory_capacity = 0;
  double knowledge_capacity = 0;
  uint32_t max_connections = 100;
  std::vector<std::string> specializations;
  std::vector<std::string> interests;      // information types delivered to this node (empty: all)
  std::string listen = "0.0.0.0:7300";     // peer-to-peer listener ("host:0": any free port)
  std::string api = "127.0.0.1:7301";      // HTTP API (loopback; "127.0.0.1:0": any free port)
  std::string data_dir = "myco-data";      // identity key and API token live here
  std::string network_secret;              // admission: required unless allowed_nodes is set
  std::vector<std::string> allowed_nodes;  // admission by NodeId (hex)
};

// get_network_status().
struct NetworkStatus {
  std::string local_node_id;  // hex public key
  std::string local_name;
  size_t network_size = 1;  // estimate: nodes this node knows to be reachable
  size_t active_connections = 0;
  size_t passive_peers = 0;
  double connection_health_avg = 0;  // in [0,1]
  size_t active_requests = 0;        // the market is not built yet: always 0
  size_t active_offers = 0;          // the market is not built yet: always 0
  std::string listen_address;        // as bound
  std::string api_address;           // as bound; empty without an API
};

// propagate_information(type, payload, priority, ttl, destination_nodes, propagation_rules).
struct Information {
  std::string type;
  std::string payload_json = "{}";             // a JSON object
  double priority = 0.5;                       // [0,1]; 1.0 overtakes queued bulk traffic
  uint32_t ttl = 0;                            // hops; 0: the node's configured default
  std::vector<std::string> destination_nodes;  // hex NodeIds: targeted and acknowledged
  bool follow_gradient = false;                // resource_discovery: climb the resource gradient
  std::string gradient_resource;               // e.g. "gpu", with follow_gradient
};

// What the node's application receives.
struct ReceivedInformation {
  std::string packet_id;
  std::string type;
  std::string origin;  // hex NodeId
  std::string payload_json;
  double priority = 0;
  uint32_t hops = 0;
  int64_t created_at_ms = 0;    // at the origin (Unix ms)
  int64_t delivered_at_ns = 0;  // here (Unix ns)
};

class NetworkManager {
 public:
  explicit NetworkManager(LocalConfig config);
  ~NetworkManager();  // stops the node if it still runs (as stop_network_operations)
  NetworkManager(const NetworkManager&) = delete;
  NetworkManager& operator=(const NetworkManager&) = delete;

  // Validates the config, loads or creates the identity in data_dir, binds the listener (and
  // the API) and starts the event loop thread. Errors name the bad field or the failing step.
  Status initialize();
  // Joins the network through these "host:port" addresses and waits (up to `timeout_ms`) for
  // the first neighbour. kUnavailable if none answered in time (the node keeps trying).
  Status connect_to_network(const std::vector<std::string>& peers, int64_t timeout_ms = 5000);
  // The node already runs heartbeats, healing and propagation after initialize(); this exists
  // for the original design's sequence and reports whether the node is running.
  Status start_network_operations();
  // Says goodbye to every peer, flushes, stops the loop and joins the thread. Idempotent.
  Status stop_network_operations();

  Result<std::string> share_knowledge_discovery(const std::string& discovery_type,
                                                const std::string& knowledge_json,
                                                const std::vector<std::string>& target_nodes = {});
  // The packet ids (one per destination when targeted).
  Result<std::vector<std::string>> propagate_information(const Information& information);
  Result<NetworkStatus> get_network_status();

  // Called on the node's thread for every packet delivered to this node. Set before initialize()
  // or at any time after (thread-safe).
  void on_information(std::function<void(const ReceivedInformation&)> callback);
  // Called when a neighbour comes (up = true) or goes.
  void on_peer_change(std::function<void(const std::string& peer_id, bool up)> callback);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace myco
