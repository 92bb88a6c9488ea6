#include "core/propagation/config.hpp"

#include <cmath>
#include <string>

#include "core/messages.hpp"

namespace myco {

namespace {
Error Invalid(const std::string& key, const std::string& why) {
  return MakeError(ErrorCode::kInvalidArgument, key + ": " + why);
}
}  // namespace

Status PropagationConfig::Validate() const {
  if (seen_entries_max < 1) return Invalid("seen_entries_max", "must be at least 1");
  if (seen_expiry <= Duration{}) return Invalid("seen_expiry", "must be positive");
  if (cache_expiry <= Duration{}) return Invalid("cache_expiry", "must be positive");
  if (ihave_batch_interval <= Duration{})
    return Invalid("ihave_batch_interval", "must be positive");
  if (graft_timeout <= Duration{}) return Invalid("graft_timeout", "must be positive");
  if (ihave_entries_per_message_max < 1 || ihave_entries_per_message_max > 4096) {
    return Invalid("ihave_entries_per_message_max", "must be 1..4096");
  }
  if (tree_refresh_period <= Duration{}) return Invalid("tree_refresh_period", "must be positive");
  if (tree_root_timeout < tree_refresh_period * 2) {
    return Invalid("tree_root_timeout", "must be at least twice tree_refresh_period");
  }
  if (tree_update_min_interval < Duration{}) {
    return Invalid("tree_update_min_interval", "must not be negative");
  }
  if (tree_dist_max < 1 || tree_dist_max > 254) return Invalid("tree_dist_max", "must be 1..254");
  if (tree_count < 1 || tree_count > TreeBeacon::kTreesMax) {
    return Invalid("tree_count", "must be 1..16");
  }
  if (gossip_fanout < 1) return Invalid("gossip_fanout", "must be at least 1");
  if (candidate_paths_max < 1 || candidate_paths_max > 16) {
    return Invalid("candidate_paths_max", "must be 1..16");
  }
  if (ack_timeout <= Duration{}) return Invalid("ack_timeout", "must be positive");
  if (retries_max > 16) return Invalid("retries_max", "must be at most 16");
  if (pending_acks_max < 1) return Invalid("pending_acks_max", "must be at least 1");
  if (gradient_radius_hops < 1 || gradient_radius_hops > 64) {
    return Invalid("gradient_radius_hops", "must be 1..64");
  }
  if (!(gradient_decay > 0 && gradient_decay <= 1)) {
    return Invalid("gradient_decay", "must be in (0, 1]");
  }
  if (link_queue_messages_max < 1) return Invalid("link_queue_messages_max", "must be at least 1");
  if (link_window_messages < 1) return Invalid("link_window_messages", "must be at least 1");
  if (payload_bytes_max < 2 || payload_bytes_max > 1024 * 1024) {
    return Invalid("payload_bytes_max", "must be 2..1048576");
  }
  if (ttl_max < 1 || ttl_max > 255) return Invalid("ttl_max", "must be 1..255");
  return Status::Ok();
}

}  // namespace myco
