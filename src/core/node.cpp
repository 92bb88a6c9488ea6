#include "core/node.hpp"

#include <cassert>

#include "core/propagation/link_queue.hpp"
#include "core/propagation/propagation.hpp"
#include "core/topology/membership.hpp"

namespace myco {

Node::Node(std::shared_ptr<const Identity> identity, NodeInfo info, NodeOptions options, Rng rng)
    : identity_(std::move(identity)) {
  assert(identity_ == nullptr || identity_->id() == info.id);
  Rng propagation_rng = rng.Fork();
  membership_ = std::make_unique<Membership>(std::move(info), options.topology, rng);
  propagation_ = std::make_unique<Propagation>(*membership_, identity_.get(), options.propagation,
                                               propagation_rng, options.verifier);
  queues_ = std::make_unique<LinkQueues>(options.propagation.link_queue_messages_max,
                                         options.propagation.link_window_messages);
}

Node::Node(NodeInfo info, TopologyConfig config, Rng rng)
    : Node(nullptr, std::move(info), NodeOptions{std::move(config), {}, nullptr}, rng) {}

Node::~Node() = default;
Node::Node(Node&&) noexcept = default;
Node& Node::operator=(Node&&) noexcept = default;

const NodeInfo& Node::info() const { return membership_->info(); }
const NodeId& Node::id() const { return membership_->id(); }

TimePoint Node::NextDeadline() const {
  return std::min(membership_->NextDeadline(), propagation_->NextDeadline());
}

void Node::Handle(TimePoint now, Input input) {
  assert(staged_.empty());
  Dispatch(now, std::move(input));
  Settle(now);
}

Result<std::vector<PacketId>> Node::Publish(TimePoint now, PublishRequest request) {
  assert(staged_.empty());
  auto result = propagation_->Publish(now, std::move(request), staged_);
  Settle(now);
  return result;
}

Result<std::string> Node::ShareKnowledge(TimePoint now, const std::string& discovery_type,
                                         const std::string& knowledge_json,
                                         const std::vector<NodeId>& targets) {
  assert(staged_.empty());
  auto result = propagation_->ShareKnowledge(now, discovery_type, knowledge_json, targets, staged_);
  Settle(now);
  return result;
}

void Node::Dispatch(TimePoint now, Input&& input) {
  auto& out = staged_;
  std::visit(
      [&](auto&& in) {
        using T = std::decay_t<decltype(in)>;
        if constexpr (std::is_same_v<T, Tick>) {
          membership_->OnTick(now, out);
          propagation_->OnTick(now, out);
        } else if constexpr (std::is_same_v<T, Received>) {
          DispatchMessage(now, in.peer, std::move(in.message), in.bytes);
        } else if constexpr (std::is_same_v<T, LinkUp>) {
          queues_->Forget(in.peer);  // a new connection: its write counter starts again
          membership_->OnLinkUp(now, in.peer, in.address, in.outbound, out);
        } else if constexpr (std::is_same_v<T, LinkDown>) {
          queues_->Forget(in.peer);
          membership_->OnLinkDown(now, in.peer, in.why, out);
        } else if constexpr (std::is_same_v<T, DialFailed>) {
          membership_->OnDialFailed(now, in.address, in.why, out);
        } else if constexpr (std::is_same_v<T, Written>) {
          queues_->OnWritten(in.peer, in.messages_total, effects_);
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

namespace {
bool IsPropagationMessage(const Message& m) {
  return std::holds_alternative<PacketMsg>(m) || std::holds_alternative<IHave>(m) ||
         std::holds_alternative<Graft>(m) || std::holds_alternative<Prune>(m) ||
         std::holds_alternative<GradientUpdate>(m) || std::holds_alternative<TreeBeacon>(m);
}
}  // namespace

void Node::DispatchMessage(TimePoint now, const NodeId& peer, Message&& message, uint32_t bytes) {
  if (!IsPropagationMessage(message)) {
    membership_->OnReceived(now, peer, std::move(message), staged_);
    return;
  }
  // Propagation traffic is accepted on active links only (not on a join link or mid-handshake);
  // it also proves the peer alive.
  if (bytes == 0) bytes = EstimatedWireBytes(message);
  if (!membership_->NoteTraffic(now, peer, bytes)) return;
  std::visit(
      [&](auto&& m) {
        using M = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<M, PacketMsg>) {
          propagation_->OnPacket(now, peer, std::move(m), staged_);
        } else if constexpr (std::is_same_v<M, IHave>) {
          propagation_->OnIHave(now, peer, std::move(m), staged_);
        } else if constexpr (std::is_same_v<M, Graft>) {
          propagation_->OnGraft(now, peer, std::move(m), staged_);
        } else if constexpr (std::is_same_v<M, Prune>) {
          propagation_->OnPrune(now, peer);
        } else if constexpr (std::is_same_v<M, GradientUpdate>) {
          propagation_->OnGradientUpdate(now, peer, std::move(m), staged_);
        } else if constexpr (std::is_same_v<M, TreeBeacon>) {
          propagation_->OnTreeBeacon(now, peer, m, staged_);
        }
      },
      message);
}

void Node::Settle(TimePoint now) {
  // Index loop: handling a neighbour change may stage more effects behind the current one.
  for (size_t i = 0; i < staged_.size(); ++i) {
    Effect effect = std::move(staged_[i]);
    if (auto* send = std::get_if<Send>(&effect)) {
      if (send->bytes == 0) send->bytes = EstimatedWireBytes(send->message);
      // Topology messages are counted by Membership itself; count the rest for utilisation.
      if (IsPropagationMessage(send->message)) membership_->NoteSent(send->peer, send->bytes);
      queues_->Enqueue(std::move(*send), effects_);
      continue;
    }
    if (auto* close = std::get_if<Close>(&effect)) {
      queues_->FlushAndForget(close->peer, effects_);
    } else if (auto* deliver = std::get_if<Deliver>(&effect)) {
      if (auto* up = std::get_if<PeerUp>(&deliver->event)) {
        propagation_->OnNeighbourUp(now, up->peer, staged_);
      } else if (auto* down = std::get_if<PeerDown>(&deliver->event)) {
        propagation_->OnNeighbourDown(now, down->peer, staged_);
      }
    }
    effects_.push_back(std::move(effect));
  }
  staged_.clear();
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
