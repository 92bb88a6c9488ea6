// Limits and timings of the propagation engine, each with its default and why.
#pragma once

#include <cstdint>

#include "myco/result.hpp"
#include "myco/time.hpp"

namespace myco {

struct PropagationConfig {
  // ---- dedup and replay ----
  // Packet ids remembered for duplicate suppression; at the bound the oldest is forgotten.
  uint32_t seen_entries_max = 200'000;
  // How long an id is remembered; packets created longer ago than this are dropped as replays.
  Duration seen_expiry = Seconds(300);
  // Bodies kept to answer grafts (and to re-send on retries); oldest evicted at the bound.
  uint32_t cache_entries_max = 20'000;
  Duration cache_expiry = Seconds(60);

  // ---- broadcast (Plumtree) ----
  // Lazy "I have" announcements are batched per link this long (iroh-gossip does the same).
  // They only matter when the tree breaks, so the batch is long: at 50 ms announcements were
  // most of a 10,000-node network's messages (7,200 per broadcast at 100 broadcasts/s), at 500
  // ms one announcement carries about 50 ids.
  Duration ihave_batch_interval = Milliseconds(500);
  // Wait this long after an announcement for the eager copy before grafting. The tree is never
  // cut by pruning (broadcast.hpp), so a missing copy is almost always a slow path, not a broken
  // one: a graft then only adds a cycle that must be pruned again. 2 s is above the slowest tree
  // path measured at 10,000 nodes; repairs after a crash take this much longer.
  Duration graft_timeout = Seconds(2);
  // Plumtree's tree optimisation: if an announced copy took this many fewer hops than the one
  // received eagerly, swap the two links in the tree. 0 (the default) turns it off: one tree
  // serves every source, so a swap that shortens one source's path lengthens another's, and with
  // random sources it churned endlessly (127 grafts per broadcast at 1,000 nodes); a swap also
  // prunes a link that may not be the heaviest of its cycle, which can cut the tree.
  uint32_t optimization_threshold_hops = 0;
  uint32_t ihave_entries_per_message_max = 256;
  // Missing ids tracked at once (announced but not received).
  uint32_t missing_entries_max = 10'000;
  // The tree's root beacons (tree_root.hpp): the root refreshes its beacon this often; a node
  // gives up on a root whose refresh number has not grown for tree_root_timeout (then a new root
  // is elected within a few update rounds); beacon changes go out at most once per
  // tree_update_min_interval; a node farther than tree_dist_max hops from every root is its own.
  Duration tree_refresh_period = Seconds(5);
  Duration tree_root_timeout = Seconds(20);
  Duration tree_update_min_interval = Milliseconds(100);
  uint32_t tree_dist_max = 64;
  // Trees kept at once (1..16), rooted at the best-ranked nodes; each broadcast follows the tree
  // whose root is nearest its origin (tree_root.hpp, "Several trees").
  uint32_t tree_count = 16;
  // gossip baseline: neighbours each packet is pushed to.
  uint32_t gossip_fanout = 4;

  // ---- targeted ----
  uint32_t candidate_paths_max = 3;
  Duration ack_timeout = Seconds(2);  // doubled on every retry
  uint32_t retries_max = 3;
  uint32_t pending_acks_max = 10'000;  // in-flight targeted packets; new ones fail at the bound

  // ---- gradient ----
  uint32_t gradient_radius_hops = 8;  // a resource is advertised this far
  double gradient_decay = 0.5;        // value multiplier per hop
  Duration gradient_update_min_interval = Milliseconds(200);

  // ---- knowledge ----
  uint32_t knowledge_entries_max = 10'000;  // oldest evicted at the bound

  // ---- link queues ----
  // Messages queued per link; at the bound the lowest-priority message is dropped and counted.
  uint32_t link_queue_messages_max = 4096;
  // Messages handed to the driver but not yet written; more wait in the priority queue, where a
  // critical packet can overtake bulk traffic.
  uint32_t link_window_messages = 16;

  // ---- packet limits ----
  uint32_t payload_bytes_max = 64 * 1024;
  uint32_t ttl_max = 64;

  Status Validate() const;
};

}  // namespace myco
