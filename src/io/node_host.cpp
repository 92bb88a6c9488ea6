#include "io/node_host.hpp"

#include <cassert>
#include <chrono>
#include <type_traits>
#include <utility>

namespace myco {

TimePoint SystemClock() {
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return TimePoint{std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch).count()};
}

NodeHost::NodeHost(Node node, Clock clock) : node_(std::move(node)), clock_(std::move(clock)) {
  assert(clock_);
}

void NodeHost::Feed(Input input) {
  node_.Handle(Now(), std::move(input));
  RunEffects();
}

Result<std::vector<PacketId>> NodeHost::Publish(PublishRequest request) {
  auto result = node_.Publish(Now(), std::move(request));
  if (result.ok()) counters_.published += result.value().size();
  RunEffects();
  return result;
}

Result<std::string> NodeHost::ShareKnowledge(const std::string& discovery_type,
                                             const std::string& knowledge_json,
                                             const std::vector<NodeId>& targets) {
  auto result = node_.ShareKnowledge(Now(), discovery_type, knowledge_json, targets);
  RunEffects();
  return result;
}

void NodeHost::Connect(std::vector<std::string> addresses) {
  Feed(Command{JoinCommand{std::move(addresses)}});
}

void NodeHost::Leave() { Feed(Command{LeaveCommand{}}); }

uint64_t NodeHost::Subscribe(Listener listener) {
  const uint64_t token = next_token_++;
  listeners_.emplace(token, std::move(listener));
  return token;
}

void NodeHost::Unsubscribe(uint64_t token) { listeners_.erase(token); }

void NodeHost::RunEffects() {
  // A driver call may complete synchronously and feed the host again (e.g. a Dial that fails at
  // once); the inner Feed then runs the effects itself, so this loop only takes what is there.
  if (running_effects_) return;
  running_effects_ = true;
  while (!node_.effects().empty()) {
    std::vector<Effect> effects = std::move(node_.effects());
    node_.ClearEffects();
    const TimePoint now = Now();
    for (Effect& effect : effects) {
      std::visit(
          [&](auto& e) {
            using T = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<T, Send>) {
              if (driver_ == nullptr) {
                ++counters_.sends_no_driver;
                return;
              }
              ++counters_.sends;
              driver_->Send(e.peer, e.message, e.report_written);
            } else if constexpr (std::is_same_v<T, Dial>) {
              ++counters_.dials;
              if (driver_ != nullptr) driver_->Dial(e.address, e.expected);
            } else if constexpr (std::is_same_v<T, Close>) {
              ++counters_.closes;
              if (driver_ != nullptr) driver_->Close(e.peer);
            } else if constexpr (std::is_same_v<T, Deliver>) {
              std::visit(
                  [&](const auto& ev) {
                    using E = std::decay_t<decltype(ev)>;
                    if constexpr (std::is_same_v<E, PeerUp>) ++counters_.peer_up;
                    if constexpr (std::is_same_v<E, PeerDown>) ++counters_.peer_down;
                    if constexpr (std::is_same_v<E, InformationDelivered>) ++counters_.delivered;
                    if constexpr (std::is_same_v<E, DeliveryAcked>) ++counters_.acked;
                    if constexpr (std::is_same_v<E, DeliveryFailed>) ++counters_.delivery_failed;
                    if constexpr (std::is_same_v<E, DiscoveryAnswered>) ++counters_.discoveries;
                  },
                  e.event);
              for (auto& [token, listener] : listeners_) listener(now, e.event);
            }
          },
          effect);
    }
  }
  running_effects_ = false;
  if (after_effects_) after_effects_();
}

}  // namespace myco
