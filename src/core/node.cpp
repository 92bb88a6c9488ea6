#include "core/node.hpp"

#include <cassert>

#include "core/topology/membership.hpp"

namespace myco {

Node::Node(NodeInfo info, TopologyConfig config, Rng rng)
    : membership_(std::make_unique<Membership>(std::move(info), std::move(config), rng)) {}

Node::~Node() = default;
Node::Node(Node&&) noexcept = default;
Node& Node::operator=(Node&&) noexcept = default;

const NodeInfo& Node::info() const { return membership_->info(); }
const NodeId& Node::id() const { return membership_->id(); }

TimePoint Node::NextDeadline() const { return membership_->NextDeadline(); }

void Node::Handle(TimePoint now, Input input) {
  auto& out = effects_;
  std::visit(
      [&](auto&& in) {
        using T = std::decay_t<decltype(in)>;
        if constexpr (std::is_same_v<T, Tick>) {
          membership_->OnTick(now, out);
        } else if constexpr (std::is_same_v<T, Received>) {
          membership_->OnReceived(now, in.peer, std::move(in.message), out);
        } else if constexpr (std::is_same_v<T, LinkUp>) {
          membership_->OnLinkUp(now, in.peer, in.address, in.outbound, out);
        } else if constexpr (std::is_same_v<T, LinkDown>) {
          membership_->OnLinkDown(now, in.peer, in.why, out);
        } else if constexpr (std::is_same_v<T, DialFailed>) {
          membership_->OnDialFailed(now, in.address, in.why, out);
        } else if constexpr (std::is_same_v<T, Command>) {
          std::visit(
              [&](auto&& cmd) {
                using C = std::decay_t<decltype(cmd)>;
                if constexpr (std::is_same_v<C, JoinCommand>) {
                  membership_->Join(now, cmd.addresses, out);
                } else {
                  membership_->Leave(now, out);
                }
              },
              in);
        }
      },
      input);
}

TopologyStatus Node::Status(TimePoint) const {
  TopologyStatus s;
  s.local_node_id = id();
  s.local_name = info().name;
  s.network_size_estimate = membership_->SizeEstimate();
  s.active_connections = membership_->ActiveCount();
  s.passive_peers = membership_->passive().size();
  s.connection_health_avg = membership_->AverageHealth();
  return s;
}

}  // namespace myco
