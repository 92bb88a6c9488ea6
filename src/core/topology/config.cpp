#include "core/topology/config.hpp"

namespace myco {

namespace {
Error Invalid(const std::string& key, const std::string& why) {
  return MakeError(ErrorCode::kInvalidArgument, key + ": " + why);
}
}  // namespace

Status TopologyConfig::Validate() const {
  if (max_connections < 1 || max_connections > 100'000) {
    return Invalid("max_connections",
                   "must be between 1 and 100000, got " + std::to_string(max_connections));
  }
  if (target_degree < 1 || target_degree > max_connections) {
    return Invalid("target_degree", "must be between 1 and max_connections (" +
                                        std::to_string(max_connections) + "), got " +
                                        std::to_string(target_degree));
  }
  if (passive_view_max > 100'000) return Invalid("passive_view_max", "must be at most 100000");
  if (walk_length < 1 || walk_length > 64) return Invalid("walk_length", "must be 1..64");
  if (walk_extensions_max > 64) return Invalid("walk_extensions_max", "must be at most 64");
  if (pex_sample_size < 1 || pex_sample_size > 1024) {
    return Invalid("pex_sample_size", "must be 1..1024");
  }
  if (dials_in_flight_max < 1 || dials_in_flight_max > 1024) {
    return Invalid("dials_in_flight_max", "must be 1..1024");
  }
  if (heartbeat_period <= Duration{}) return Invalid("heartbeat_period", "must be positive");
  if (failure_timeout < heartbeat_period) {
    return Invalid("failure_timeout", "must be at least one heartbeat period");
  }
  if (handshake_timeout <= Duration{}) return Invalid("handshake_timeout", "must be positive");
  if (shuffle_period <= Duration{}) return Invalid("shuffle_period", "must be positive");
  if (redial_backoff <= Duration{}) return Invalid("redial_backoff", "must be positive");
  if (map_refresh_period <= Duration{}) return Invalid("map_refresh_period", "must be positive");
  if (map_flood_radius > 64) return Invalid("map_flood_radius", "must be at most 64");
  if (!(link_bandwidth_bytes_per_s > 0)) {
    return Invalid("link_bandwidth_bytes_per_s", "must be positive");
  }
  return Status::Ok();
}

}  // namespace myco
