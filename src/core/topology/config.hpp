// Limits and timings of the topology protocol, each with its default and why.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "myco/result.hpp"
#include "myco/time.hpp"

namespace myco {

struct TopologyConfig {
  // Links a node opens itself (the m of preferential attachment). A node accepts more, inbound.
  uint32_t target_degree = 3;
  // Hard cap on active links; a full node refuses new neighbours (see docs/PROTOCOL.md).
  uint32_t max_connections = 100;
  // Known-but-unlinked peers kept for healing; iroh-gossip/HyParView use 30.
  uint32_t passive_view_max = 30;
  // Steps of a join walk: long enough to mix on small-world graphs (diameter ~ log N).
  uint32_t walk_length = 6;
  // Extra steps a walk may take when its endpoint is full or already linked to the origin.
  uint32_t walk_extensions_max = 8;
  // Peers sent in one PeerExchange.
  uint32_t pex_sample_size = 8;
  // Dials a node keeps in flight at once; more would only race each other.
  uint32_t dials_in_flight_max = 4;
  // Times a passive peer may fail a dial before it is forgotten.
  uint32_t dial_failures_max = 4;

  Duration heartbeat_period = Seconds(1);
  // Silence after which an active peer is declared failed (3 missed heartbeats).
  Duration failure_timeout = Seconds(3);
  // A link that has not finished its Hello exchange by then is closed.
  Duration handshake_timeout = Seconds(5);
  // How often a node swaps a PEX sample with a random neighbour.
  Duration shuffle_period = Seconds(10);
  // Base of the exponential backoff before a failed passive peer is dialled again.
  Duration redial_backoff = Seconds(5);

  // Hops a neighbour list travels; 0 disables map gossip (simulations of 100k nodes, where a
  // full map per node would be O(N^2) memory).
  uint32_t map_flood_radius = 16;
  // Entries a topology map holds; at the bound the entry heard of longest ago is evicted.
  uint32_t map_entries_max = 4096;
  // Own entry re-flooded this often, so entries of departed nodes age out after 3 periods.
  Duration map_refresh_period = Seconds(30);

  // Nominal link capacity used for utilisation (and so connection strength): 100 Mbit/s.
  double link_bandwidth_bytes_per_s = 12.5e6;

  // Addresses to join through; retried with backoff while the node has no neighbours.
  std::vector<std::string> bootstrap;

  Status Validate() const;
};

}  // namespace myco
