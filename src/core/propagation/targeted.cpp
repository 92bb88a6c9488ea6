// Targeted routing; see targeted.hpp for what it guarantees and the wire conventions. The file
// reads in the order a packet lives: the graph, candidate paths and their scores, Send, the
// forwarding check, acks, then retries and give-ups.
#include "core/propagation/targeted.hpp"

#include <algorithm>
#include <cassert>
#include <iterator>
#include <span>
#include <string>

#include "core/node.hpp"
#include "core/topology/membership.hpp"

namespace myco {

namespace {

// ORIGINAL_DESIGN.md find_optimal_path's weights.
constexpr double kLengthWeight = 0.30;
constexpr double kBandwidthWeight = 0.25;
constexpr double kUtilisationWeight = 0.25;
constexpr double kCompatibilityWeight = 0.20;
// Compatibility of an intermediate node whose specializations we do not know: neither a match
// nor a mismatch.
constexpr double kUnknownCompatibility = 0.5;
// Node ids held by the candidate cache (8 MiB); at the bound the cache starts over, which costs
// one BFS per destination again and keeps memory bounded on nodes that talk to many others.
constexpr size_t kPathCacheNodesMax = size_t{1} << 18;
// Longest wait for one ack: doubling stops here, so a large retries_max cannot overflow time.
constexpr Duration kAckWaitMax = Seconds(3600);
constexpr uint32_t kRouteHopsMax = static_cast<uint32_t>(kRouteNodesMax - 1);

Duration AckWait(Duration ack_timeout, uint32_t retries) {
  Duration wait = ack_timeout;
  for (uint32_t i = 0; i < retries && wait < kAckWaitMax; ++i) wait = wait * 2;
  return std::min(wait, kAckWaitMax);
}

bool HasSpecialization(const NodeInfo& info, const std::string& specialization) {
  return std::find(info.specializations.begin(), info.specializations.end(), specialization) !=
         info.specializations.end();
}

}  // namespace

TargetedRouter::TargetedRouter(const Membership& membership, const PropagationConfig& config)
    : membership_(membership), config_(config) {
  // Both would make targeted delivery unusable or spin OnTick; PropagationConfig::Validate
  // rejects them before a router is built.
  assert(config_.candidate_paths_max >= 1);
  assert(config_.ack_timeout > Duration{});
}

TargetedRouter::~TargetedRouter() = default;

const NodeId& TargetedRouter::self() const { return membership_.id(); }

bool TargetedRouter::IsActiveNeighbour(const NodeId& id) const {
  const Link* link = membership_.FindLink(id);
  return link != nullptr && link->state == LinkState::kActive;
}

// ---------------------------------------------------------------- the graph

// Rebuilt only when the map's generation moves, in O(E log degree) with no sort of the whole
// graph: the map is already ordered by id and every neighbour list is sorted, so two passes over
// it give each node its neighbours in ascending index order. Our own entry and every edge to us
// are left out: our live links replace them.
const TargetedRouter::Graph& TargetedRouter::CurrentGraph() const {
  const TopologyMap& map = membership_.map();
  if (graph_.built && graph_.generation == map.generation()) return graph_;
  Graph g;
  g.generation = map.generation();
  g.built = true;
  IndexNodes(map, self(), g);
  LinkNodes(map, self(), g);
  graph_ = std::move(g);
  const size_t n = graph_.ids.size();
  visited_epoch_.assign(n, 0);
  avoided_epoch_.assign(n, 0);
  parent_.assign(n, kNoIndex);
  depth_.assign(n, 0);
  visit_epoch_ = 0;
  avoid_epoch_ = 0;
  ClearPathCache();
  return graph_;
}

// Dense indices in id order: the origins (already sorted) merged with the nodes that are only
// named in neighbour lists.
void TargetedRouter::IndexNodes(const TopologyMap& map, const NodeId& self, Graph& g) {
  std::vector<NodeId> origins;
  origins.reserve(map.size());
  for (const auto& [origin, entry] : map.entries()) {
    if (origin != self) origins.push_back(origin);
  }
  // Hash lookups rather than map.Find: this loop visits every edge of the map.
  for (const NodeId& origin : origins) g.index.emplace(origin, kNoIndex);
  std::vector<NodeId> named_only;
  for (const auto& [origin, entry] : map.entries()) {
    if (origin == self) continue;
    for (const NodeId& v : entry.neighbours) {
      if (v != self && !g.index.contains(v)) named_only.push_back(v);
    }
  }
  std::sort(named_only.begin(), named_only.end());
  named_only.erase(std::unique(named_only.begin(), named_only.end()), named_only.end());
  g.ids.reserve(origins.size() + named_only.size());
  std::merge(origins.begin(), origins.end(), named_only.begin(), named_only.end(),
             std::back_inserter(g.ids));
  assert(g.ids.size() < kNoIndex);
  g.index.clear();
  g.index.reserve(g.ids.size());
  for (uint32_t i = 0; i < g.ids.size(); ++i) g.index.emplace(g.ids[i], i);
}

// Fills offsets and edges. REQUIRES: IndexNodes(map, self, g) ran.
void TargetedRouter::LinkNodes(const TopologyMap& map, const NodeId& self, Graph& g) {
  const auto n = static_cast<uint32_t>(g.ids.size());
  // Each origin's list as ascending indices (ids are sorted, so indices are too).
  std::vector<uint8_t> has_entry(n, 0);
  std::vector<uint32_t> list_offsets(n + 1, 0);
  std::vector<uint32_t> lists;
  uint32_t previous = 0;
  for (const auto& [origin, entry] : map.entries()) {
    if (origin == self) continue;
    const uint32_t u = g.index.at(origin);
    for (uint32_t i = previous + 1; i <= u; ++i) list_offsets[i] = list_offsets[previous];
    has_entry[u] = 1;
    for (const NodeId& v : entry.neighbours) {
      if (v != self && v != origin) lists.push_back(g.index.at(v));
    }
    list_offsets[u + 1] = static_cast<uint32_t>(lists.size());
    previous = u + 1;
  }
  for (uint32_t i = previous + 1; i <= n; ++i) list_offsets[i] = list_offsets[previous];
  const auto lists_of = [&](uint32_t u) {
    return std::span<const uint32_t>(lists.data() + list_offsets[u],
                                     lists.data() + list_offsets[u + 1]);
  };
  // TopologyMap's confirmation rule: u lists v, and v lists u or has no entry. Between two nodes
  // with entries the rule is symmetric, so each side adds its own arc; a node without an entry
  // gets its arcs from the nodes listing it, visited in ascending order.
  const auto confirmed = [&](uint32_t u, uint32_t v) {
    if (has_entry[v] == 0) return true;
    const auto back = lists_of(v);
    return std::binary_search(back.begin(), back.end(), u);
  };
  g.offsets.assign(n + 1, 0);
  for (uint32_t u = 0; u < n; ++u) {
    for (uint32_t v : lists_of(u)) {
      if (!confirmed(u, v)) continue;
      ++g.offsets[u + 1];
      if (has_entry[v] == 0) ++g.offsets[v + 1];
    }
  }
  for (uint32_t i = 1; i <= n; ++i) g.offsets[i] += g.offsets[i - 1];
  g.edges.resize(g.offsets[n]);
  std::vector<uint32_t> cursor(g.offsets.begin(), g.offsets.end() - 1);
  for (uint32_t u = 0; u < n; ++u) {
    for (uint32_t v : lists_of(u)) {
      if (!confirmed(u, v)) continue;
      g.edges[cursor[u]++] = v;
      if (has_entry[v] == 0) g.edges[cursor[v]++] = u;
    }
  }
  for (uint32_t i = 0; i < n; ++i) assert(cursor[i] == g.offsets[i + 1]);
}

uint32_t TargetedRouter::IndexOf(const NodeId& id) const {
  auto it = graph_.index.find(id);
  return it == graph_.index.end() ? kNoIndex : it->second;
}

// ---------------------------------------------------------------- candidate paths

// BFS from our active neighbours (in id order) to `destination_index`, skipping avoided nodes and
// never using the destination as a seed (the direct path is handled by the caller). Returns the
// path with this node first, or empty when there is none within kRouteHopsMax hops.
std::vector<NodeId> TargetedRouter::ShortestPath(uint32_t destination_index) const {
  const Graph& g = graph_;
  assert(destination_index < g.ids.size());
  if (++visit_epoch_ == 0) {  // wrapped: stale stamps could look current
    std::fill(visited_epoch_.begin(), visited_epoch_.end(), 0);
    visit_epoch_ = 1;
  }
  const auto usable = [&](uint32_t i) {
    return visited_epoch_[i] != visit_epoch_ && avoided_epoch_[i] != avoid_epoch_;
  };
  queue_.clear();
  for (const Link& link : membership_.links()) {
    if (link.state != LinkState::kActive) continue;
    const uint32_t i = IndexOf(link.peer);
    if (i == kNoIndex || i == destination_index || !usable(i)) continue;
    visited_epoch_[i] = visit_epoch_;
    parent_[i] = kNoIndex;
    depth_[i] = 1;
    queue_.push_back(i);
  }
  uint32_t found = kNoIndex;
  for (size_t head = 0; head < queue_.size() && found == kNoIndex; ++head) {
    const uint32_t u = queue_[head];
    if (depth_[u] >= kRouteHopsMax) continue;  // the destination would be one hop too far
    for (uint32_t e = g.offsets[u]; e < g.offsets[u + 1]; ++e) {
      const uint32_t v = g.edges[e];
      if (!usable(v)) continue;
      visited_epoch_[v] = visit_epoch_;
      parent_[v] = u;
      depth_[v] = depth_[u] + 1;
      if (v == destination_index) {
        found = v;
        break;
      }
      queue_.push_back(v);
    }
  }
  if (found == kNoIndex) return {};
  std::vector<NodeId> path;
  path.reserve(depth_[found] + 1);
  for (uint32_t i = found; i != kNoIndex; i = parent_[i]) path.push_back(g.ids[i]);
  path.push_back(self());
  std::reverse(path.begin(), path.end());
  assert(path.size() >= 3 && path.size() <= kRouteNodesMax);
  return path;
}

std::vector<std::vector<NodeId>> TargetedRouter::DisjointPaths(const NodeId& destination,
                                                               const std::vector<NodeId>& avoid,
                                                               bool avoid_direct) const {
  std::vector<std::vector<NodeId>> paths;
  if (destination == self()) return paths;
  CurrentGraph();
  if (++avoid_epoch_ == 0) {
    std::fill(avoided_epoch_.begin(), avoided_epoch_.end(), 0);
    avoid_epoch_ = 1;
  }
  for (const NodeId& id : avoid) {
    const uint32_t i = IndexOf(id);
    if (i != kNoIndex) avoided_epoch_[i] = avoid_epoch_;
  }
  // The one-hop path is the shortest possible, so it comes first whenever it is allowed.
  if (!avoid_direct && IsActiveNeighbour(destination)) paths.push_back({self(), destination});
  const uint32_t destination_index = IndexOf(destination);
  if (destination_index == kNoIndex) return paths;
  // Each BFS runs with the intermediate nodes of every earlier path removed, so the paths share
  // no node but the two ends, and each is no shorter than the one before.
  while (paths.size() < config_.candidate_paths_max) {
    std::vector<NodeId> path = ShortestPath(destination_index);
    if (path.empty()) break;
    for (size_t k = 1; k + 1 < path.size(); ++k) avoided_epoch_[IndexOf(path[k])] = avoid_epoch_;
    paths.push_back(std::move(path));
  }
  assert(paths.size() <= config_.candidate_paths_max);
  return paths;
}

const std::vector<std::vector<NodeId>>& TargetedRouter::CachedDisjointPaths(
    const NodeId& destination) const {
  CurrentGraph();  // clears the cache when the map changed
  if (!ActiveNeighboursUnchanged()) ClearPathCache();
  auto it = path_cache_.find(destination);
  if (it != path_cache_.end()) return it->second;
  std::vector<std::vector<NodeId>> paths = DisjointPaths(destination, {}, false);
  size_t nodes = 1;  // an unreachable destination still costs an entry
  for (const auto& path : paths) nodes += path.size();
  if (path_cache_nodes_ + nodes > kPathCacheNodesMax) ClearPathCache();
  path_cache_nodes_ += nodes;
  return path_cache_.emplace(destination, std::move(paths)).first->second;
}

void TargetedRouter::ClearPathCache() const {
  path_cache_.clear();
  path_cache_nodes_ = 0;
}

// Compares our active neighbours with those the path cache was computed for, and records the
// current ones when they differ. No allocation in the common (unchanged) case.
bool TargetedRouter::ActiveNeighboursUnchanged() const {
  size_t k = 0;
  bool same = true;
  for (const Link& link : membership_.links()) {
    if (link.state != LinkState::kActive) continue;
    if (k >= path_cache_neighbours_.size() || path_cache_neighbours_[k] != link.peer) {
      same = false;
      break;
    }
    ++k;
  }
  if (same && k == path_cache_neighbours_.size()) return true;
  path_cache_neighbours_ = membership_.ActivePeerIds();
  return false;
}

double TargetedRouter::Score(const std::vector<NodeId>& nodes, const Selector& selector) const {
  assert(nodes.size() >= 2 && nodes.front() == self());
  const size_t hops = nodes.size() - 1;
  const double length = 1.0 / static_cast<double>(hops);
  double bandwidth = 1.0;
  double utilisation = 1.0;
  if (const Link* first = membership_.FindLink(nodes[1])) {
    bandwidth = first->Health();
    utilisation = 1.0 - std::clamp(first->utilisation, 0.0, 1.0);
  }
  double compatibility = 1.0;
  if (!selector.specialization.empty() && hops >= 2) {
    double sum = 0;
    for (size_t k = 1; k < hops; ++k) {
      const Link* link = membership_.FindLink(nodes[k]);
      if (link != nullptr && link->state == LinkState::kActive && link->info != nullptr) {
        sum += HasSpecialization(*link->info, selector.specialization) ? 1.0 : 0.0;
      } else {
        sum += kUnknownCompatibility;
      }
    }
    compatibility = sum / static_cast<double>(hops - 1);
  }
  const double score = kLengthWeight * length + kBandwidthWeight * bandwidth +
                       kUtilisationWeight * utilisation + kCompatibilityWeight * compatibility;
  assert(score >= 0.0 && score <= 1.0 + 1e-9);
  return score;
}

std::vector<TargetedRouter::Path> TargetedRouter::Rank(
    const std::vector<std::vector<NodeId>>& paths, const Selector& selector,
    uint32_t hops_max) const {
  std::vector<Path> ranked;
  ranked.reserve(paths.size());
  for (const auto& nodes : paths) {
    if (nodes.size() - 1 > hops_max) continue;
    ranked.push_back(Path{nodes, Score(nodes, selector)});
  }
  // Stable: equal scores keep generation order (shorter first, then smaller ids).
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const Path& a, const Path& b) { return a.score > b.score; });
  return ranked;
}

std::vector<TargetedRouter::Path> TargetedRouter::CandidatePaths(const NodeId& destination,
                                                                 const Selector& selector,
                                                                 uint32_t hops_max) const {
  hops_max = std::min(hops_max, kRouteHopsMax);
  if (destination == self() || hops_max == 0) return {};
  return Rank(CachedDisjointPaths(destination), selector, hops_max);
}

// ---------------------------------------------------------------- sending

Status TargetedRouter::Send(TimePoint now, std::shared_ptr<const PacketBody> body, uint32_t ttl,
                            Out& out) {
  assert(body != nullptr);
  assert(body->mode == PropagationMode::kTargeted);
  assert(body->destinations.size() == 1);
  assert(body->id.origin == self());
  const NodeId& destination = body->destinations.front();
  if (ttl == 0) return MakeError(ErrorCode::kInvalidArgument, "targeted packet with ttl 0");
  if (destination == self()) {
    return MakeError(ErrorCode::kInvalidArgument, "targeted packet addressed to this node");
  }
  if (pending_.count(body->id) != 0) {
    return MakeError(ErrorCode::kInvalidArgument, "targeted packet already awaiting its ack");
  }
  if (pending_.size() >= config_.pending_acks_max) {
    return MakeError(ErrorCode::kUnavailable,
                     std::to_string(pending_.size()) +
                         " targeted packets already await acks (pending_acks_max)");
  }
  const std::vector<Path> paths = CandidatePaths(destination, body->selector, ttl);
  if (paths.empty()) {
    ++counters_.no_route;
    return MakeError(ErrorCode::kUnavailable, "no route to " + destination.Short() + " within " +
                                                  std::to_string(ttl) +
                                                  " hops in the topology map");
  }
  const PacketId id = body->id;
  Pending& pending = pending_[id];
  pending.body = std::move(body);
  pending.ttl = ttl;
  pending.first_sent_at = now;
  SendAttempt(now, pending, paths.front().nodes, out);
  Arm(id, pending, now);
  ++counters_.sent;
  assert(pending_.size() <= config_.pending_acks_max);
  return Status::Ok();
}

void TargetedRouter::SendAttempt(TimePoint now, Pending& pending, std::vector<NodeId> nodes,
                                 Out& out) {
  assert(nodes.size() >= 2 && nodes.size() - 1 <= pending.ttl);
  assert(nodes.front() == self() && nodes.back() == pending.body->destinations.front());
  const NodeId first_hop = nodes[1];
  // Wire convention: the packet arriving at route[1] carries hops = 1 and ttl - 1.
  out.push_back(myco::Send{first_hop, PacketMsg{pending.body, pending.ttl - 1, 1, nodes},
                           pending.body->priority});
  pending.attempts.push_back(Attempt{std::move(nodes), now});
}

void TargetedRouter::Arm(const PacketId& id, Pending& pending, TimePoint from) {
  pending.deadline = from + AckWait(config_.ack_timeout, pending.retries);
  const bool inserted = deadlines_.emplace(pending.deadline, id).second;
  assert(inserted);
  (void)inserted;
}

// ---------------------------------------------------------------- forwarding

Status TargetedRouter::CheckRoute(const PacketMsg& packet, const NodeId& self) {
  const auto& route = packet.route;
  if (route.size() < 2 || route.size() > kRouteNodesMax) {
    return MakeError(ErrorCode::kParse, "route of " + std::to_string(route.size()) +
                                            " nodes (2 to " + std::to_string(kRouteNodesMax) +
                                            " allowed)");
  }
  if (packet.hops == 0 || packet.hops >= route.size()) {
    return MakeError(ErrorCode::kParse, "hops " + std::to_string(packet.hops) +
                                            " outside a route of " + std::to_string(route.size()) +
                                            " nodes");
  }
  if (route[packet.hops] != self) {
    return MakeError(ErrorCode::kParse,
                     "route position " + std::to_string(packet.hops) + " names another node");
  }
  const size_t hops_ahead = route.size() - 1 - packet.hops;
  if (hops_ahead > packet.ttl) {
    return MakeError(ErrorCode::kParse, std::to_string(hops_ahead) + " hops ahead but ttl " +
                                            std::to_string(packet.ttl));
  }
  std::vector<NodeId> sorted = route;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
    return MakeError(ErrorCode::kParse, "route names a node twice");
  }
  return Status::Ok();
}

std::optional<NodeId> TargetedRouter::NextHop(const PacketMsg& packet) const {
  if (!CheckRoute(packet, self()).ok()) {
    ++counters_.forwarded_broken;
    return std::nullopt;
  }
  if (packet.hops + 1 == packet.route.size()) return std::nullopt;  // we are the destination
  const NodeId& next = packet.route[packet.hops + 1];
  if (!IsActiveNeighbour(next)) {
    // The link broke after the origin chose the route; the origin's retry will route around it.
    ++counters_.forwarded_broken;
    return std::nullopt;
  }
  return next;
}

// ---------------------------------------------------------------- acks

void TargetedRouter::OnAck(TimePoint now, const PacketId& acked, const NodeId& acker, Out& out,
                           std::span<const NodeId> ack_route) {
  auto it = pending_.find(acked);
  if (it == pending_.end() || acker != it->second.body->destinations.front()) {
    ++counters_.acks_unmatched;
    return;
  }
  const Pending& pending = it->second;
  assert(!pending.attempts.empty() && !pending.attempts.front().nodes.empty());
  const Attempt* answered = nullptr;
  for (const Attempt& attempt : pending.attempts) {
    if (!ack_route.empty() && attempt.nodes.size() == ack_route.size() &&
        std::equal(attempt.nodes.rbegin(), attempt.nodes.rend(), ack_route.begin())) {
      answered = &attempt;
    }
  }
  // Without a matching route, assume the latest copy that was sent is the one acknowledged.
  for (auto a = pending.attempts.rbegin(); answered == nullptr; ++a) {
    if (!a->nodes.empty()) answered = &*a;
  }
  const bool alternative = answered->nodes != pending.attempts.front().nodes;
  out.push_back(Deliver{
      DeliveryAcked{acked, acker, pending.retries, alternative, now - pending.first_sent_at}});
  ++counters_.acked;
  if (alternative) ++counters_.alternative_path_acks;
  const size_t erased = deadlines_.erase({pending.deadline, acked});
  assert(erased == 1);
  (void)erased;
  pending_.erase(it);
}

// ---------------------------------------------------------------- retries

void TargetedRouter::OnTick(TimePoint now, Out& out) {
  // Each step either forgets a packet or re-arms it strictly later (ack_timeout > 0), so the loop
  // runs at most once per pending packet.
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    const PacketId id = deadlines_.begin()->second;
    deadlines_.erase(deadlines_.begin());
    auto it = pending_.find(id);
    assert(it != pending_.end());
    if (it->second.retries >= config_.retries_max) {
      Fail(id, it->second, out);
      pending_.erase(it);
    } else {
      Retry(now, id, it->second, out);
    }
  }
  assert(deadlines_.size() == pending_.size());
}

TimePoint TargetedRouter::NextDeadline() const {
  return deadlines_.empty() ? TimePoint::Max() : deadlines_.begin()->first;
}

void TargetedRouter::Retry(TimePoint now, const PacketId& id, Pending& pending, Out& out) {
  ++pending.retries;
  ++counters_.retries;
  if (std::optional<Path> path = AlternativePath(pending)) {
    SendAttempt(now, pending, std::move(path->nodes), out);
  } else {
    // Unreachable for now; the map may heal before the next deadline, so keep the schedule.
    pending.attempts.push_back(Attempt{{}, now});
    ++counters_.retries_no_route;
  }
  Arm(id, pending, now);
  assert(pending.attempts.size() == pending.retries + 1);
}

// Recomputed from the current map: the best path whose intermediate nodes avoid every node of
// the earlier attempts (and not the direct link again if that was tried), else the best path.
std::optional<TargetedRouter::Path> TargetedRouter::AlternativePath(const Pending& pending) const {
  const NodeId& destination = pending.body->destinations.front();
  const Selector& selector = pending.body->selector;
  const uint32_t hops_max = std::min(pending.ttl, kRouteHopsMax);
  std::vector<NodeId> avoid;
  bool avoid_direct = false;
  for (const Attempt& attempt : pending.attempts) {
    if (attempt.nodes.size() == 2) avoid_direct = true;
    for (size_t k = 1; k + 1 < attempt.nodes.size(); ++k) avoid.push_back(attempt.nodes[k]);
  }
  std::sort(avoid.begin(), avoid.end());
  avoid.erase(std::unique(avoid.begin(), avoid.end()), avoid.end());
  std::vector<Path> fresh =
      Rank(DisjointPaths(destination, avoid, avoid_direct), selector, hops_max);
  if (!fresh.empty()) return std::move(fresh.front());
  std::vector<Path> any = CandidatePaths(destination, selector, hops_max);
  if (!any.empty()) return std::move(any.front());
  return std::nullopt;
}

void TargetedRouter::Fail(const PacketId& id, const Pending& pending, Out& out) {
  const NodeId& destination = pending.body->destinations.front();
  std::vector<std::vector<NodeId>> distinct;
  uint32_t without_route = 0;
  for (const Attempt& attempt : pending.attempts) {
    if (attempt.nodes.empty()) {
      ++without_route;
    } else if (std::find(distinct.begin(), distinct.end(), attempt.nodes) == distinct.end()) {
      distinct.push_back(attempt.nodes);
    }
  }
  std::string why = "no ack from " + destination.Short() + " after " +
                    std::to_string(pending.retries) + " retries over " +
                    std::to_string(distinct.size()) + " distinct paths";
  if (without_route > 0) {
    why += " (" + std::to_string(without_route) + " retries found no route)";
  }
  out.push_back(Deliver{DeliveryFailed{id, destination, std::move(why)}});
  ++counters_.failed;
}

}  // namespace myco
