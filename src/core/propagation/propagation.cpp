// The propagation pipeline; see propagation.hpp for the order of checks and why.
#include "core/propagation/propagation.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/node.hpp"
#include "core/propagation/broadcast.hpp"
#include "core/propagation/gradient.hpp"
#include "core/propagation/knowledge.hpp"
#include "core/propagation/seen_cache.hpp"
#include "core/propagation/targeted.hpp"
#include "core/propagation/tree_root.hpp"
#include "core/topology/membership.hpp"

namespace myco {

namespace {

constexpr size_t kInformationTypeBytesMax = 256;
constexpr const char* kKnowledgeType = "knowledge_discovery";
constexpr const char* kAckType = "ack";

Error Invalid(const std::string& what) { return MakeError(ErrorCode::kInvalidArgument, what); }

bool IsFlooded(PropagationMode mode) {
  return mode == PropagationMode::kBroadcast || mode == PropagationMode::kFlood ||
         mode == PropagationMode::kGossip;
}

int64_t ToMs(TimePoint t) { return t.ns / 1'000'000; }

}  // namespace

Propagation::Propagation(const Membership& membership, const Identity* identity,
                         PropagationConfig config, Rng rng, PacketVerifier* verifier)
    : membership_(membership),
      identity_(identity),
      config_(config),
      rng_(rng),
      verifier_(verifier != nullptr ? verifier : &real_verifier_),
      next_seq_(rng_.Next()),
      seen_(std::make_unique<SeenCache>(config_.seen_entries_max, config_.seen_expiry,
                                        config_.cache_entries_max, config_.cache_expiry)),
      tree_(std::make_unique<TreeRoot>(config_, membership.id())),
      broadcast_(std::make_unique<Broadcast>(config_, tree_.get())),
      targeted_(std::make_unique<TargetedRouter>(membership, config_)),
      gradient_(std::make_unique<GradientTable>(config_)),
      knowledge_(std::make_unique<KnowledgeBase>(config_.knowledge_entries_max)) {
  const NodeInfo& info = membership.info();
  gradient_->SetOwn(ResourceType::kComputationalPower, std::max(0.0, info.cpu_capacity));
  gradient_->SetOwn(ResourceType::kMemoryCapacity, std::max(0.0, info.memory_capacity));
  gradient_->SetOwn(ResourceType::kKnowledgeBase, std::max(0.0, info.knowledge_capacity));
}

Propagation::~Propagation() = default;

// ---------------------------------------------------------------- publishing

std::shared_ptr<const PacketBody> Propagation::MakeBody(TimePoint now,
                                                        const PublishRequest& request,
                                                        PropagationMode mode,
                                                        std::vector<NodeId> destinations) {
  assert(identity_ != nullptr);
  auto body = std::make_shared<PacketBody>();
  body->id = PacketId{identity_->id(), next_seq_++};
  body->information_type = request.information_type;
  body->created_at_ms = ToMs(now);
  body->ttl_max = request.ttl;
  body->priority = request.priority;
  body->mode = mode;
  body->destinations = std::move(destinations);
  body->selector = request.selector;
  body->rules = request.rules;
  body->payload = request.payload;
  SignPacket(*body, *identity_);
  return body;
}

Result<std::vector<PacketId>> Propagation::Publish(TimePoint now, PublishRequest request,
                                                   Out& out) {
  if (identity_ == nullptr) {
    return MakeError(ErrorCode::kInternal, "this node has no signing identity");
  }
  if (request.information_type.empty() ||
      request.information_type.size() > kInformationTypeBytesMax) {
    return Invalid("information_type: must be 1.." + std::to_string(kInformationTypeBytesMax) +
                   " bytes");
  }
  if (!std::isfinite(request.priority) || request.priority < 0 || request.priority > 1) {
    return Invalid("priority: must be in [0, 1]");
  }
  if (request.ttl < 1 || request.ttl > config_.ttl_max) {
    return Invalid("ttl: must be 1.." + std::to_string(config_.ttl_max) + ", got " +
                   std::to_string(request.ttl));
  }
  if (request.payload.size() > config_.payload_bytes_max) {
    return MakeError(ErrorCode::kTooLarge, "payload: " + std::to_string(request.payload.size()) +
                                               " bytes, max " +
                                               std::to_string(config_.payload_bytes_max));
  }
  const auto parsed = nlohmann::json::parse(request.payload, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object()) return Invalid("payload: must be a JSON object");

  PropagationMode mode = PropagationMode::kBroadcast;
  if (request.mode) {
    mode = *request.mode;
  } else if (!request.destinations.empty()) {
    mode = PropagationMode::kTargeted;
  } else if (request.rules.follow_gradient) {
    mode = PropagationMode::kGradient;
  }
  if (mode == PropagationMode::kAck) return Invalid("mode: acks are sent by the engine");
  if (mode == PropagationMode::kTargeted && request.destinations.empty()) {
    return Invalid("destination_nodes: targeted propagation needs at least one destination");
  }
  for (const NodeId& d : request.destinations) {
    if (d == membership_.id()) return Invalid("destination_nodes: names this node itself");
  }
  ++counters_.published;

  std::vector<PacketId> ids;
  if (mode == PropagationMode::kTargeted) {
    std::string failures;
    for (const NodeId& destination : request.destinations) {
      auto body = MakeBody(now, request, mode, {destination});
      const PacketId id = body->id;
      if (Status st = targeted_->Send(now, std::move(body), request.ttl, out); !st.ok()) {
        if (!failures.empty()) failures += "; ";
        failures += st.error().message;
        continue;
      }
      ids.push_back(id);
    }
    if (ids.empty()) return MakeError(ErrorCode::kUnavailable, failures);
    return ids;
  }

  if (mode == PropagationMode::kGradient) {
    if (!request.rules.follow_gradient) {
      return Invalid("propagation_rules: gradient mode needs a resource to follow");
    }
    auto body = MakeBody(now, request, mode, {});
    const std::vector<NodeId> trail{membership_.id()};
    const auto next = gradient_->NextHop(body->rules, body->selector, trail, membership_);
    if (!next) {
      return MakeError(ErrorCode::kUnavailable, std::string("no gradient toward ") +
                                                    ResourceTypeName(body->rules.resource) +
                                                    " in range");
    }
    ids.push_back(body->id);
    if (discoveries_.size() < config_.pending_acks_max) discoveries_.emplace(body->id, now);
    ++counters_.forwarded;
    out.push_back(Send{*next, PacketMsg{body, request.ttl - 1, 1, trail}, body->priority, false});
    return ids;
  }

  auto body = MakeBody(now, request, mode, {});
  ids.push_back(body->id);
  seen_->Insert(now, body->id, body, true, NodeId{}, request.ttl, 0);
  PacketMsg packet{body, request.ttl, 0, {}};
  // A broadcast follows the tree in which this node's eccentricity is least (tree_root.hpp,
  // "Several trees").
  if (mode == PropagationMode::kBroadcast) {
    packet.tree = TreeRoot::Tag(tree_->record(tree_->BestTree()).root);
    if (SeenCache::Entry* entry = seen_->FindMutable(body->id)) entry->tree = packet.tree;
  }
  broadcast_->Spread(now, NodeId{}, packet, membership_, rng_, out);
  return ids;
}

Result<std::string> Propagation::ShareKnowledge(TimePoint now, const std::string& discovery_type,
                                                const std::string& knowledge_json,
                                                const std::vector<NodeId>& targets, Out& out) {
  if (discovery_type.empty() || discovery_type.size() > kInformationTypeBytesMax) {
    return Invalid("discovery_type: must be 1.." + std::to_string(kInformationTypeBytesMax) +
                   " bytes");
  }
  auto data = nlohmann::json::parse(knowledge_json, nullptr, /*allow_exceptions=*/false);
  if (!data.is_object()) return Invalid("knowledge_data: must be a JSON object");
  if (identity_ == nullptr) {
    return MakeError(ErrorCode::kInternal, "this node has no signing identity");
  }
  // The discovery keeps one id however many packets carry it (one per target when targeted).
  const std::string discovery_id = PacketId{identity_->id(), next_seq_}.ToString();
  nlohmann::json payload{{"discovery_id", discovery_id},
                         {"discovery_type", discovery_type},
                         {"data", std::move(data)}};
  PublishRequest request;
  request.information_type = kKnowledgeType;
  request.payload = payload.dump();
  request.destinations = targets;
  auto sent = Publish(now, std::move(request), out);
  if (!sent.ok()) return sent.error();
  knowledge_->Add(
      Discovery{discovery_id, discovery_type, payload["data"].dump(), identity_->id(), ToMs(now)});
  return discovery_id;
}

// ---------------------------------------------------------------- receiving

bool Propagation::Interested(const PacketBody& body) const {
  const NodeInfo& info = membership_.info();
  if (!body.selector.node_type.empty() && body.selector.node_type != info.node_type) return false;
  if (!body.selector.specialization.empty() &&
      std::find(info.specializations.begin(), info.specializations.end(),
                body.selector.specialization) == info.specializations.end()) {
    return false;
  }
  // Interests filter what the epidemic modes bring; a packet addressed to us is always wanted.
  if (IsFlooded(body.mode) && !info.interests.empty() &&
      std::find(info.interests.begin(), info.interests.end(), body.information_type) ==
          info.interests.end()) {
    return false;
  }
  return true;
}

void Propagation::DeliverLocally(TimePoint, const std::shared_ptr<const PacketBody>& body,
                                 uint32_t hops, const NodeId& from, Out& out) {
  if (!Interested(*body)) {
    ++counters_.not_interested;
    return;
  }
  ++counters_.delivered;
  if (body->information_type == kKnowledgeType) {
    const auto payload = nlohmann::json::parse(body->payload, nullptr, false);
    if (payload.is_object() && payload.contains("discovery_id") &&
        payload["discovery_id"].is_string() && payload.contains("discovery_type") &&
        payload["discovery_type"].is_string()) {
      knowledge_->Add(Discovery{payload["discovery_id"].get<std::string>(),
                                payload["discovery_type"].get<std::string>(),
                                payload.contains("data") ? payload["data"].dump() : "{}",
                                body->id.origin, body->created_at_ms});
    }
  }
  out.push_back(Deliver{InformationDelivered{body, hops, from}});
}

void Propagation::OnPacket(TimePoint now, const NodeId& from, PacketMsg&& packet, Out& out) {
  ++counters_.packets_received;
  if (!packet.body) {
    ++counters_.malformed;
    Blame(from);
    return;
  }
  const PacketBody& b = *packet.body;
  // A forwarder may lower the ttl, never raise it above what the origin signed.
  if (packet.hops == 0 || b.ttl_max > config_.ttl_max ||
      uint64_t{packet.hops} + packet.ttl > b.ttl_max) {
    ++counters_.invalid_ttl;
    Blame(from);
    return;
  }
  const int64_t age_ms = ToMs(now) - b.created_at_ms;
  const int64_t expiry_ms = config_.seen_expiry.ns / 1'000'000;
  if (age_ms > expiry_ms || age_ms < -expiry_ms) {
    ++counters_.replayed;  // older than any id we still remember: it could be a replay
    Blame(from);
    return;
  }
  if (IsFlooded(b.mode)) {
    HandleFlooded(now, from, std::move(packet), out);
  } else if (b.mode == PropagationMode::kGradient) {
    HandleGradient(now, from, std::move(packet), out);
  } else {
    HandleRouted(now, from, std::move(packet), out);
  }
}

bool Propagation::CheckOnce(TimePoint now, const NodeId& from, const PacketMsg& packet) {
  const PacketBody& b = *packet.body;
  if (seen_->Valid(b.id)) return true;
  if (seen_->Contains(b.id)) {  // known bad: not verified again, still the sender's fault
    Blame(from);
    return false;
  }
  const bool valid = verifier_->Verify(packet.body);
  if (!valid) {
    ++counters_.invalid_signature;
    Blame(from);
    seen_->Insert(now, b.id, nullptr, false);
  }
  return valid;
}

void Propagation::HandleFlooded(TimePoint now, const NodeId& from, PacketMsg&& packet, Out& out) {
  const PacketId id = packet.body->id;
  if (seen_->Contains(id)) {
    ++counters_.duplicates;
    broadcast_->OnDuplicate(now, from, packet, membership_.id(), *seen_, out);
    return;
  }
  if (!CheckOnce(now, from, packet)) return;
  seen_->Insert(now, id, packet.body, true, from, packet.ttl, packet.hops);
  Broadcast::PathMax max;
  const bool broadcast = packet.body->mode == PropagationMode::kBroadcast;
  if (broadcast) {
    // Plumtree prunes by comparing the paths of a packet's copies: keep the first one's. Graft
    // answers follow the packet's tree.
    max = Broadcast::PathMaxOf(packet, broadcast_->WeightTo(membership_.id(), from));
    if (SeenCache::Entry* entry = seen_->FindMutable(id)) {
      entry->path_max = max.weight;
      entry->path_max_last = max.last;
      entry->tree = packet.tree;
    }
  }
  DeliverLocally(now, packet.body, packet.hops, from, out);
  if (packet.ttl == 0) ++counters_.ttl_expired;
  const uint64_t before = broadcast_->counters().payload_sent;
  broadcast_->Spread(now, from, packet, membership_, rng_, out, broadcast ? &max : nullptr);
  counters_.forwarded += broadcast_->counters().payload_sent - before;
}

void Propagation::HandleRouted(TimePoint now, const NodeId& from, PacketMsg&& packet, Out& out) {
  const PacketBody& b = *packet.body;
  const auto& route = packet.route;
  if (b.destinations.size() != 1 || !TargetedRouter::CheckRoute(packet, membership_.id()).ok() ||
      route.front() != b.id.origin || route.back() != b.destinations.front() ||
      route[packet.hops - 1] != from) {
    ++counters_.malformed;
    Blame(from);
    return;
  }
  const bool first_copy = !seen_->Contains(b.id);
  if (!CheckOnce(now, from, packet)) return;
  if (first_copy) seen_->Insert(now, b.id, packet.body, true, from, packet.ttl, packet.hops);

  if (packet.hops + 1 == route.size()) {  // we are the destination
    if (b.mode == PropagationMode::kAck) {
      if (first_copy) HandleAck(now, b, route, out);
      return;
    }
    if (first_copy) {
      DeliverLocally(now, packet.body, packet.hops, from, out);
    } else {
      ++counters_.duplicates;
    }
    // Acknowledge every copy: the previous ack may be the thing that was lost.
    SendAck(now, packet, route, out);
    return;
  }
  if (packet.ttl == 0) {
    ++counters_.ttl_expired;
    return;
  }
  const auto next = targeted_->NextHop(packet);
  if (!next) return;  // counted by the router (broken route)
  ++counters_.forwarded;
  out.push_back(Send{*next, PacketMsg{packet.body, packet.ttl - 1, packet.hops + 1, route},
                     b.priority, false});
}

void Propagation::HandleGradient(TimePoint now, const NodeId& from, PacketMsg&& packet, Out& out) {
  const PacketBody& b = *packet.body;
  std::vector<NodeId>& trail = packet.route;
  if (!b.rules.follow_gradient || trail.empty() || trail.size() > config_.ttl_max ||
      trail.front() != b.id.origin || trail.back() != from ||
      std::find(trail.begin(), trail.end(), membership_.id()) != trail.end()) {
    ++counters_.malformed;
    Blame(from);
    return;
  }
  if (seen_->Contains(b.id)) {
    ++counters_.duplicates;
    return;
  }
  if (!CheckOnce(now, from, packet)) return;
  seen_->Insert(now, b.id, packet.body, true, from, packet.ttl, packet.hops);
  trail.push_back(membership_.id());
  const NodeInfo& info = membership_.info();
  const bool selected = (b.selector.node_type.empty() || b.selector.node_type == info.node_type) &&
                        (b.selector.specialization.empty() ||
                         std::find(info.specializations.begin(), info.specializations.end(),
                                   b.selector.specialization) != info.specializations.end());
  if (gradient_->CanServe(b.rules) && selected) {
    DeliverLocally(now, packet.body, packet.hops, from, out);
    std::vector<NodeId> path(trail.begin(), trail.end());
    SendAck(now, packet, path, out);
    return;
  }
  if (packet.ttl == 0) {
    ++counters_.ttl_expired;
    return;
  }
  const auto next = gradient_->NextHop(b.rules, b.selector, trail, membership_);
  if (!next) return;
  ++counters_.forwarded;
  out.push_back(Send{*next, PacketMsg{packet.body, packet.ttl - 1, packet.hops + 1, trail},
                     b.priority, false});
}

// ---------------------------------------------------------------- acknowledgements

void Propagation::SendAck(TimePoint now, const PacketMsg& packet, const std::vector<NodeId>& path,
                          Out& out) {
  if (identity_ == nullptr || path.size() < 2) return;
  const PacketBody& b = *packet.body;
  std::vector<NodeId> back(path.rbegin(), path.rend());
  nlohmann::json payload{{"ack_origin", b.id.origin.Hex()},
                         {"ack_seq", std::to_string(b.id.seq)},
                         {"hops", packet.hops}};
  PublishRequest request;
  request.information_type = kAckType;
  request.payload = payload.dump();
  request.priority = b.priority;
  request.ttl = static_cast<uint32_t>(back.size() - 1);
  auto ack = MakeBody(now, request, PropagationMode::kAck, {back.back()});
  const NodeId first = back[1];
  out.push_back(Send{first, PacketMsg{std::move(ack), request.ttl - 1, 1, std::move(back)},
                     b.priority, false});
}

void Propagation::HandleAck(TimePoint now, const PacketBody& ack,
                            const std::vector<NodeId>& ack_route, Out& out) {
  const auto payload = nlohmann::json::parse(ack.payload, nullptr, false);
  if (!payload.is_object() || !payload.contains("ack_origin") ||
      !payload["ack_origin"].is_string() || !payload.contains("ack_seq") ||
      !payload["ack_seq"].is_string()) {
    ++counters_.malformed;
    return;
  }
  auto origin = NodeId::FromHex(payload["ack_origin"].get<std::string>());
  if (!origin.ok() || *origin != membership_.id()) {
    ++counters_.malformed;
    return;
  }
  PacketId acked{*origin, 0};
  const std::string seq = payload["ack_seq"].get<std::string>();
  if (seq.empty() || seq.size() > 20 ||
      !std::all_of(seq.begin(), seq.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    ++counters_.malformed;
    return;
  }
  acked.seq = std::stoull(seq);
  if (auto it = discoveries_.find(acked); it != discoveries_.end()) {
    discoveries_.erase(it);
    const uint32_t hops = payload.contains("hops") && payload["hops"].is_number_unsigned()
                              ? payload["hops"].get<uint32_t>()
                              : 0;
    out.push_back(Deliver{DiscoveryAnswered{acked, ack.id.origin, hops}});
    return;
  }
  // The ack retraced the acknowledged copy's path backwards; the router tells copies apart by it.
  targeted_->OnAck(now, acked, ack.id.origin, out, ack_route);
}

// ---------------------------------------------------------------- plumtree control, timers

void Propagation::OnIHave(TimePoint now, const NodeId& from, IHave&& ihave, Out& out) {
  broadcast_->OnIHave(now, from, ihave, *seen_, out);
}

void Propagation::OnGraft(TimePoint now, const NodeId& from, Graft&& graft, Out& out) {
  broadcast_->OnGraft(now, from, graft, membership_.id(), *seen_, out);
}

void Propagation::OnPrune(TimePoint, const NodeId& from) { broadcast_->OnPrune(from); }

void Propagation::OnGradientUpdate(TimePoint now, const NodeId& from, GradientUpdate&& update,
                                   Out&) {
  gradient_->OnUpdate(now, from, update);
}

void Propagation::OnTreeBeacon(TimePoint now, const NodeId& from, const TreeBeacon& beacon,
                               Out& out) {
  tree_->OnBeacon(now, from, beacon);
  FollowParent(out);
}

void Propagation::FollowParent(Out& out) {
  // A new parent link is in the new minimum spanning tree: make it a tree link now rather than
  // waiting for a broadcast to miss it.
  if (tree_->TakeParentChanged() && !tree_->parent().IsZero()) {
    broadcast_->EnsureEager(tree_->parent(), out);
  }
}

void Propagation::OnNeighbourUp(TimePoint now, const NodeId& peer, Out& out) {
  broadcast_->OnNeighbourUp(peer);
  gradient_->OnNeighbourUp(now, peer);
  tree_->OnNeighbourUp(now, peer);
  FollowParent(out);
}

void Propagation::OnNeighbourDown(TimePoint now, const NodeId& peer, Out& out) {
  invalid_by_peer_.erase(peer);
  broadcast_->OnNeighbourDown(peer);
  gradient_->OnNeighbourDown(now, peer);
  tree_->OnNeighbourDown(now, peer);
  FollowParent(out);
}

void Propagation::OnTick(TimePoint now, Out& out) {
  seen_->Expire(now);
  if (now >= tree_->NextDeadline()) {
    tree_->OnTick(now, out);
    FollowParent(out);
  }
  if (now >= broadcast_->NextDeadline()) broadcast_->OnTick(now, membership_, out);
  if (now >= trim_at_) {
    // On the node's ticks (at least one per heartbeat period), not a deadline of its own: a
    // stray eager link costs a few duplicates, not correctness.
    broadcast_->Trim(now, out);
    trim_at_ = now + kTrimPeriod;
  }
  if (now >= targeted_->NextDeadline()) targeted_->OnTick(now, out);
  if (now >= gradient_->NextDeadline()) gradient_->OnTick(now, membership_, out);
  // Discoveries nobody answered within the replay window are forgotten.
  std::erase_if(discoveries_,
                [&](const auto& kv) { return now - kv.second > config_.seen_expiry; });
}

TimePoint Propagation::NextDeadline() const {
  return std::min({broadcast_->NextDeadline(), targeted_->NextDeadline(), gradient_->NextDeadline(),
                   tree_->NextDeadline()});
}

}  // namespace myco
