// Unit tests of Plumtree's pruning rule (broadcast.hpp, "Pruning"): a duplicate prunes a link only
// when that link is the heaviest of the cycle the two copies closed, so the lightest spanning
// tree is never cut, whatever broadcasts run at once.
#include "core/propagation/broadcast.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <variant>

#include "core/node.hpp"
#include "core/propagation/seen_cache.hpp"
#include "core/propagation/tree_root.hpp"
#include "core/topology/membership.hpp"

namespace myco {
namespace {

NodeId Id(uint8_t tag) {
  NodeId id;
  id.bytes.fill(0);
  id.bytes[0] = tag;
  id.bytes[9] = static_cast<uint8_t>(tag * 37 + 1);
  return id;
}

std::shared_ptr<const PacketBody> Body(const NodeId& origin) {
  auto body = std::make_shared<PacketBody>();
  body->id = PacketId{origin, 7};
  body->mode = PropagationMode::kBroadcast;
  body->ttl_max = 64;
  return body;
}

// The peers sent a message of type M, in order.
template <typename M>
std::vector<NodeId> SentTo(const Broadcast::Out& out) {
  std::vector<NodeId> peers;
  for (const auto& effect : out) {
    if (const auto* send = std::get_if<Send>(&effect);
        send != nullptr && std::holds_alternative<M>(send->message)) {
      peers.push_back(send->peer);
    }
  }
  return peers;
}

std::vector<NodeId> PrunedPeers(const Broadcast::Out& out) { return SentTo<Prune>(out); }

// A broadcast copy whose route names the heaviest link so far, weighed as its sender would.
PacketMsg Msg(std::shared_ptr<const PacketBody> body, uint32_t ttl, uint32_t hops,
              std::vector<NodeId> route) {
  PacketMsg packet{std::move(body), ttl, hops, std::move(route)};
  if (packet.route.size() == 2) {
    packet.route_weight = Broadcast::LinkWeight(packet.route[0], packet.route[1]);
  }
  return packet;
}

TreeBeacon One(const NodeId& root, uint32_t rank, uint64_t seq, uint32_t dist, bool parent,
               uint32_t degree_rank) {
  TreeBeacon beacon;
  beacon.trees.push_back(TreeRecord{root, rank, seq, dist, parent});
  beacon.degree_rank = degree_rank;
  return beacon;
}

// The links to `peers` come up at both the tree and the broadcast, then the tree starts.
void Connect(TreeRoot& tree, Broadcast& broadcast, TimePoint now, std::vector<NodeId> peers,
             Broadcast::Out& out) {
  for (const NodeId& n : peers) {
    tree.OnNeighbourUp(now, n);
    broadcast.OnNeighbourUp(n);
  }
  tree.OnTick(now, out);
}

// The peers sent a payload, sorted.
std::vector<NodeId> PayloadPeers(const Broadcast::Out& out) {
  std::vector<NodeId> peers = SentTo<PacketMsg>(out);
  std::sort(peers.begin(), peers.end());
  return peers;
}

// Finds three distinct neighbours a, b, c of `self` with w(a,self) < w(b,self) < w(c,self).
struct Fixture {
  NodeId self = Id(1);
  std::vector<NodeId> by_weight;  // neighbours, lightest link first
  PropagationConfig config;
  SeenCache seen{1000, Seconds(300), 1000, Seconds(60)};
  Broadcast broadcast{config};

  Fixture() {
    for (uint8_t t = 2; t < 6; ++t) by_weight.push_back(Id(t));
    std::sort(by_weight.begin(), by_weight.end(), [&](const NodeId& x, const NodeId& y) {
      return Broadcast::LinkWeight(x, self) < Broadcast::LinkWeight(y, self);
    });
    for (const NodeId& n : by_weight) broadcast.OnNeighbourUp(n);
  }

  // Records the first copy of `body` as the pipeline does, arriving from `from` with `route`.
  PacketMsg First(const std::shared_ptr<const PacketBody>& body, const NodeId& from,
                  std::vector<NodeId> route) {
    PacketMsg packet = Msg(body, 10, 3, std::move(route));
    seen.Insert(TimePoint{}, body->id, body, true, from, packet.ttl, packet.hops);
    const Broadcast::PathMax max = Broadcast::PathMaxOf(packet, Broadcast::LinkWeight(from, self));
    SeenCache::Entry* entry = seen.FindMutable(body->id);
    entry->path_max = max.weight;
    entry->path_max_last = max.last;
    return packet;
  }
};

TEST(BroadcastTest, LinkWeightIsSymmetricAndALinkToItselfWeighsTheMost) {
  const NodeId a = Id(2), b = Id(3);
  EXPECT_EQ(Broadcast::LinkWeight(a, b), Broadcast::LinkWeight(b, a));
  EXPECT_NE(Broadcast::LinkWeight(a, b), Broadcast::LinkWeight(a, Id(4)));
  EXPECT_EQ(Broadcast::LinkWeight(a, a), UINT64_MAX);
  EXPECT_LT(Broadcast::LinkWeight(a, b), UINT64_MAX);
}

TEST(BroadcastTest, PathMaxIsTheCarriedLinkOrTheLastOne) {
  const NodeId self = Id(1), from = Id(2), x = Id(3), y = Id(4);
  const auto body = Body(Id(9));
  // The origin's own push carries no route: its one link is the path.
  const auto own = Broadcast::PathMaxOf(Msg(body, 5, 1, {}), Broadcast::LinkWeight(from, self));
  EXPECT_EQ(own.weight, Broadcast::LinkWeight(from, self));
  EXPECT_TRUE(own.last);
  // The sender found its link to us the heaviest and carried it.
  const auto same =
      Broadcast::PathMaxOf(Msg(body, 5, 2, {from, self}), Broadcast::LinkWeight(from, self));
  EXPECT_TRUE(same.last);
  // A carried link: whichever of it and the last link is heavier.
  const uint64_t carried = Broadcast::LinkWeight(x, y);
  const uint64_t last = Broadcast::LinkWeight(from, self);
  const auto mixed =
      Broadcast::PathMaxOf(Msg(body, 5, 3, {x, y}), Broadcast::LinkWeight(from, self));
  EXPECT_EQ(mixed.weight, std::max(carried, last));
  EXPECT_EQ(mixed.last, last > carried);
  // A graft answer (a link from the answerer to itself) or a malformed route: unknown path.
  const auto unknown =
      Broadcast::PathMaxOf(Msg(body, 5, 3, {x, x}), Broadcast::LinkWeight(from, self));
  EXPECT_EQ(unknown.weight, UINT64_MAX);
  EXPECT_FALSE(unknown.last);
  const auto malformed =
      Broadcast::PathMaxOf(Msg(body, 5, 3, {x}), Broadcast::LinkWeight(from, self));
  EXPECT_EQ(malformed.weight, UINT64_MAX);
}

TEST(BroadcastTest, DuplicatePrunesItsOwnLinkWhenThatIsTheHeaviestOfTheCycle) {
  Fixture f;
  const NodeId light = f.by_weight[0], heavy = f.by_weight[3];
  const auto body = Body(Id(9));
  f.First(body, light, {light, f.self});  // the first copy's heaviest link: its last one
  Broadcast::Out out;
  // The duplicate's heaviest link is its last one, heavier than anything on the first path.
  f.broadcast.OnDuplicate(TimePoint{}, heavy, Msg(body, 10, 3, {heavy, f.self}), f.self, f.seen,
                          out);
  EXPECT_EQ(PrunedPeers(out), std::vector<NodeId>{heavy});
  EXPECT_FALSE(f.broadcast.IsEager(heavy));
  EXPECT_TRUE(f.broadcast.IsEager(light));
}

TEST(BroadcastTest, DuplicatePrunesTheFirstCopysLinkWhenThatIsTheHeaviest) {
  Fixture f;
  const NodeId light = f.by_weight[0], heavy = f.by_weight[3];
  const auto body = Body(Id(9));
  f.First(body, heavy, {heavy, f.self});
  Broadcast::Out out;
  f.broadcast.OnDuplicate(TimePoint{}, light, Msg(body, 10, 3, {light, f.self}), f.self, f.seen,
                          out);
  EXPECT_EQ(PrunedPeers(out), std::vector<NodeId>{heavy});
  EXPECT_FALSE(f.broadcast.IsEager(heavy));
  EXPECT_TRUE(f.broadcast.IsEager(light));
}

TEST(BroadcastTest, NoPruneWhenTheHeaviestLinkIsElsewhereOrOnTheSharedPrefix) {
  Fixture f;
  const NodeId a = f.by_weight[0], b = f.by_weight[1];
  // Find a remote link heavier than both of ours.
  NodeId x = Id(100), y = Id(101);
  for (uint8_t t = 100; Broadcast::LinkWeight(x, y) < std::max(Broadcast::LinkWeight(a, f.self),
                                                               Broadcast::LinkWeight(b, f.self));
       ++t) {
    y = Id(static_cast<uint8_t>(t + 2));
  }
  const auto body = Body(Id(9));
  // Both copies carry the same heaviest link: it lies before the paths split, not on the cycle.
  f.First(body, a, {x, y});
  Broadcast::Out out;
  f.broadcast.OnDuplicate(TimePoint{}, b, Msg(body, 10, 3, {x, y}), f.self, f.seen, out);
  EXPECT_TRUE(PrunedPeers(out).empty());
  // Only the duplicate's path has it: it is the cycle's heaviest link, but not ours to cut.
  const auto body2 = Body(Id(10));
  f.First(body2, a, {a, f.self});
  f.broadcast.OnDuplicate(TimePoint{}, b, Msg(body2, 10, 3, {x, y}), f.self, f.seen, out);
  EXPECT_TRUE(PrunedPeers(out).empty());
  EXPECT_TRUE(f.broadcast.IsEager(a));
  EXPECT_TRUE(f.broadcast.IsEager(b));
  EXPECT_GE(f.broadcast.counters().prunes_kept, 2u);
}

TEST(BroadcastTest, ADuplicateOnALazyLinkIsPrunedAgainAtMostOncePerGraftTimeout) {
  Fixture f;
  const NodeId a = f.by_weight[0], b = f.by_weight[1];
  f.broadcast.OnPrune(b);  // b pruned us: lazy on our side, but b keeps pushing (crossed Graft)
  const auto body = Body(Id(9));
  f.First(body, a, {a, f.self});
  Broadcast::Out out;
  const TimePoint t0{Seconds(100).ns};
  f.broadcast.OnDuplicate(t0, b, Msg(body, 10, 3, {b, f.self}), f.self, f.seen, out);
  f.broadcast.OnDuplicate(t0 + Milliseconds(10), b, Msg(body, 10, 3, {b, f.self}), f.self, f.seen,
                          out);
  EXPECT_EQ(PrunedPeers(out), std::vector<NodeId>{b});
  f.broadcast.OnDuplicate(t0 + f.config.graft_timeout, b, Msg(body, 10, 3, {b, f.self}), f.self,
                          f.seen, out);
  EXPECT_EQ(PrunedPeers(out).size(), 2u);
}

TEST(BroadcastTest, DistancesToTheRootWeighMoreThanAnyHash) {
  const NodeId a = Id(2), b = Id(3), c = Id(4);
  // A link between nodes 1 and 2 hops from the root is lighter than any between 2 and 2.
  EXPECT_LT(Broadcast::LinkWeight(a, b, 3), Broadcast::LinkWeight(a, c, 4));
  EXPECT_LT(Broadcast::LinkWeight(a, c, 3), Broadcast::LinkWeight(a, b, 4));
  EXPECT_EQ(Broadcast::LinkWeight(a, b, 3), Broadcast::LinkWeight(b, a, 3));
  EXPECT_LT(Broadcast::LinkWeight(a, b, 100000), UINT64_MAX);  // saturates below the marker
}

TEST(BroadcastTest, EnsureEagerGraftsALazyLinkOnce) {
  Fixture f;
  const NodeId a = f.by_weight[0];
  Broadcast::Out out;
  f.broadcast.EnsureEager(a, out);  // already eager: nothing to say
  EXPECT_TRUE(out.empty());
  f.broadcast.OnPrune(a);
  ASSERT_FALSE(f.broadcast.IsEager(a));
  f.broadcast.EnsureEager(a, out);
  ASSERT_EQ(out.size(), 1u);
  const Send& send = std::get<Send>(out[0]);
  EXPECT_EQ(send.peer, a);
  ASSERT_TRUE(std::holds_alternative<Graft>(send.message));
  EXPECT_TRUE(std::get<Graft>(send.message).ids.empty());
  EXPECT_TRUE(f.broadcast.IsEager(a));
}

// Trim keeps the eager links on the tree root's tree: a = our parent, b = our child (its beacon
// says we are its parent), c = a settled non-tree link, d = a neighbour we know no distance of.
TEST(BroadcastTest, TrimPrunesSettledNonTreeLinksAndGraftsTheParent) {
  PropagationConfig config;
  const NodeId self = Id(1), a = Id(2), b = Id(3), c = Id(4), d = Id(5), root = Id(50);
  TreeRoot tree(config, self);
  Broadcast broadcast(config, &tree);
  Broadcast::Out out;
  const TimePoint t0{Seconds(100).ns};
  Connect(tree, broadcast, t0, {a, b, c, d}, out);
  const uint32_t rank = 7u << 16;
  tree.OnBeacon(t0, a, One(root, rank, 1, 1, false, 3));
  tree.OnBeacon(t0, b, One(root, rank, 1, 3, true, 1));
  tree.OnBeacon(t0, c, One(root, rank, 1, 2, false, 1));
  ASSERT_EQ(tree.parent(), a);
  ASSERT_EQ(tree.beacon().dist, 2u);
  out.clear();
  broadcast.Trim(t0, out);
  EXPECT_EQ(PrunedPeers(out), std::vector<NodeId>{c});
  EXPECT_TRUE(broadcast.IsEager(a));
  EXPECT_TRUE(broadcast.IsEager(b));
  EXPECT_FALSE(broadcast.IsEager(c));
  EXPECT_TRUE(broadcast.IsEager(d));  // not settled: left to the duplicates
  EXPECT_EQ(broadcast.counters().trims, 1u);

  // c grafts us (a repair): left eager for 2 x graft_timeout, then trimmed again.
  const TimePoint t1 = t0 + Seconds(1);
  SeenCache seen{16, Seconds(300), 16, Seconds(60)};
  broadcast.OnGraft(t1, c, Graft{}, self, seen, out);
  ASSERT_TRUE(broadcast.IsEager(c));
  out.clear();
  broadcast.Trim(t1 + config.graft_timeout, out);
  EXPECT_TRUE(PrunedPeers(out).empty());
  broadcast.Trim(t1 + config.graft_timeout * 2, out);
  EXPECT_EQ(PrunedPeers(out), std::vector<NodeId>{c});

  // The parent link pruned by a duplicate decision is grafted back.
  broadcast.OnPrune(a);
  out.clear();
  broadcast.Trim(t1 + config.graft_timeout * 3, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<Send>(out[0]).peer, a);
  EXPECT_TRUE(std::holds_alternative<Graft>(std::get<Send>(out[0]).message));
  EXPECT_TRUE(broadcast.IsEager(a));
}

// A packet that names a tree follows that tree's links whatever the eager flags say, and its
// duplicates prune nothing; one without a tree, or naming one not kept here, follows the eager
// links. Here the
// node keeps two trees: in tree X (the better-ranked) a is its parent and b its child; in tree Y
// c is its parent and d its child.
TEST(BroadcastTest, APacketOnANamedTreeFollowsThatTreesLinks) {
  PropagationConfig config;
  config.tree_count = 2;
  const NodeId self = Id(1), a = Id(2), b = Id(3), c = Id(4), d = Id(5);
  const NodeId x = Id(60), y = Id(61), origin = Id(70);
  TreeRoot tree(config, self);
  Broadcast broadcast(config, &tree);
  NodeInfo info;
  info.id = self;
  Membership membership(info, TopologyConfig{}, Rng(1));
  Rng rng(2);
  Broadcast::Out out;
  const TimePoint t0{Seconds(100).ns};
  Connect(tree, broadcast, t0, {a, b, c, d}, out);
  auto two = [](TreeRecord first, TreeRecord second) {
    TreeBeacon beacon;
    beacon.trees = {first, second};
    return beacon;
  };
  const uint32_t rx = 9u << 16, ry = 8u << 16;
  tree.OnBeacon(t0, a, two({x, rx, 1, 1, false}, {y, ry, 1, 3, false}));
  tree.OnBeacon(t0, b, two({x, rx, 1, 3, true}, {y, ry, 1, 3, false}));
  tree.OnBeacon(t0, c, two({x, rx, 1, 2, false}, {y, ry, 1, 1, false}));
  tree.OnBeacon(t0, d, two({x, rx, 1, 3, false}, {y, ry, 1, 3, true}));
  ASSERT_EQ(tree.tree_count(), 2u);
  ASSERT_EQ(tree.record(0).root, x);
  ASSERT_EQ(tree.parent(0), a);
  ASSERT_EQ(tree.parent(1), c);
  // Flags: only d is lazy.
  broadcast.OnPrune(d);

  const auto body = Body(origin);
  PacketMsg on_y{body, 10, 2, {}};
  on_y.tree = TreeRoot::Tag(y);
  out.clear();
  const TimePoint t1 = t0 + config.tree_refresh_period;  // the trees are steady
  broadcast.Spread(t1, c, on_y, membership, rng, out);   // from the parent in Y
  EXPECT_EQ(PayloadPeers(out), std::vector<NodeId>{d});  // the child in Y, though lazy
  for (const auto& effect : out) {
    const auto& sent = std::get<PacketMsg>(std::get<Send>(effect).message);
    EXPECT_EQ(sent.tree, TreeRoot::Tag(y));
    EXPECT_EQ(sent.route.size(), 2u);  // its heaviest link, for nodes that do not keep Y
    EXPECT_EQ(sent.hops, 3u);
  }
  // a and b are announced to (not tree links of Y).
  EXPECT_EQ(broadcast.NextDeadline(), t1 + config.ihave_batch_interval);

  PacketMsg untagged{Body(Id(71)), 10, 2, {}};
  out.clear();
  broadcast.Spread(t1, a, untagged, membership, rng, out);
  std::vector<NodeId> eager{b, c};
  std::sort(eager.begin(), eager.end());
  EXPECT_EQ(PayloadPeers(out), eager);

  // A tag this node does not keep: the eager links.
  PacketMsg unknown{Body(Id(72)), 10, 2, {}};
  unknown.tree = TreeRoot::Tag(Id(99));
  out.clear();
  broadcast.Spread(t1, a, unknown, membership, rng, out);
  EXPECT_EQ(PayloadPeers(out), eager);

  // Duplicates of a packet on a tree kept here prune nothing.
  SeenCache seen{16, Seconds(300), 16, Seconds(60)};
  seen.Insert(t0, body->id, body, true, c, on_y.ttl, on_y.hops);
  out.clear();
  broadcast.OnDuplicate(t0, a, on_y, self, seen, out);
  broadcast.OnDuplicate(t0, d, on_y, self, seen, out);
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace myco
