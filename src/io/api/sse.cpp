#include "io/api/sse.hpp"

#include <nlohmann/json.hpp>
#include <type_traits>
#include <utility>

#include "core/propagation/packet.hpp"
#include "io/api/requests.hpp"

namespace myco::api {
namespace {

using nlohmann::json;

std::string Dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

std::string EventJson(TimePoint at, const AppEvent& event) {
  json out;
  std::visit(
      [&](const auto& e) {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, PeerUp>) {
          out = {{"kind", "peer_up"}, {"at_ns", at.ns}, {"peer", e.peer.Hex()}};
        } else if constexpr (std::is_same_v<E, PeerDown>) {
          out = {{"kind", "peer_down"}, {"at_ns", at.ns}, {"peer", e.peer.Hex()}, {"why", e.why}};
        } else if constexpr (std::is_same_v<E, InformationDelivered>) {
          out = {{"kind", "delivery"}, {"at_ns", at.ns}, {"hops", e.hops}, {"from", e.from.Hex()}};
          if (e.packet != nullptr) {
            const PacketBody& p = *e.packet;
            out["id"] = p.id.ToString();
            out["type"] = p.information_type;
            out["origin"] = p.id.origin.Hex();
            out["priority"] = p.priority;
            out["mode"] = PropagationModeName(p.mode);
            out["created_at_ms"] = p.created_at_ms;
            json payload;
            if (JsonNestingDepth(p.payload) <= kJsonDepthMax) {
              payload = json::parse(p.payload, nullptr, /*allow_exceptions=*/false);
            }
            if (payload.is_object()) {
              out["payload"] = std::move(payload);
            } else {
              out["payload_raw"] = p.payload;
            }
          }
        } else if constexpr (std::is_same_v<E, DeliveryAcked>) {
          out = {{"kind", "acked"},
                 {"at_ns", at.ns},
                 {"id", e.id.ToString()},
                 {"destination", e.destination.Hex()},
                 {"retries", e.retries},
                 {"alternative_path", e.alternative_path},
                 {"round_trip_ms", e.round_trip.ms()}};
        } else if constexpr (std::is_same_v<E, DeliveryFailed>) {
          out = {{"kind", "failed"},
                 {"at_ns", at.ns},
                 {"id", e.id.ToString()},
                 {"destination", e.destination.Hex()},
                 {"why", e.why}};
        } else if constexpr (std::is_same_v<E, DiscoveryAnswered>) {
          out = {{"kind", "discovery_answered"},
                 {"at_ns", at.ns},
                 {"id", e.id.ToString()},
                 {"server", e.server.Hex()},
                 {"hops", e.hops}};
        }
      },
      event);
  return Dump(out);
}

std::string OverflowEventJson(TimePoint at, uint64_t dropped) {
  return Dump(json{{"kind", "overflow"},
                   {"at_ns", at.ns},
                   {"dropped", dropped},
                   {"buffer_max", kEventBufferMax}});
}

std::string SseFrame(const std::string& json_text) { return "data: " + json_text + "\n\n"; }

bool EventBuffer::Push(std::string frame) {
  if (overflowed_) return false;
  if (frames_.size() >= max_) return false;
  frames_.push_back(std::move(frame));
  return true;
}

void EventBuffer::Overflow(std::string final_frame) {
  dropped_ += frames_.size();
  frames_.clear();
  frames_.push_back(std::move(final_frame));
  overflowed_ = true;
}

}  // namespace myco::api
