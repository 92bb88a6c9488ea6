// SeenCache against a plain model of its contract (an ordered map beside a deque of arrivals,
// the cache's first implementation): the flat hash table must keep and evict exactly the same
// ids and bodies, at the same moments, whatever the bounds, expiries and hash collisions.
#include "core/propagation/seen_cache.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <memory>
#include <vector>

#include "myco/rng.hpp"

namespace myco {
namespace {

// The contract, written as simply as possible.
class ModelSeenCache {
 public:
  ModelSeenCache(uint32_t entries_max, Duration expiry, uint32_t bodies_max, Duration body_expiry)
      : entries_max_(entries_max),
        expiry_(expiry),
        bodies_max_(bodies_max),
        body_expiry_(body_expiry) {}

  void Insert(TimePoint now, const PacketId& id, std::shared_ptr<const PacketBody> body, bool valid,
              const NodeId& from, uint32_t ttl, uint32_t hops) {
    Expire(now);
    if (entries_.count(id) != 0) return;
    SeenCache::Entry& e = entries_[id];
    e.valid = valid;
    e.from = from;
    e.ttl = static_cast<uint8_t>(ttl);
    e.hops = static_cast<uint8_t>(hops);
    e.body = std::move(body);
    if (e.body) ++bodies_;
    order_.push_back({id, now});
    while (entries_.size() > entries_max_) PopOldest();
    while (bodies_ > bodies_max_) DropOldestBody();
  }
  void Expire(TimePoint now) {
    while (!order_.empty() && now - order_.front().second > expiry_) PopOldest();
    while (cursor_ < order_.size() && now - order_[cursor_].second > body_expiry_) {
      DropBodyAt(cursor_++);
    }
  }
  SeenCache::Entry* Find(const PacketId& id) {
    auto it = entries_.find(id);
    return it == entries_.end() ? nullptr : &it->second;
  }
  size_t size() const { return entries_.size(); }
  size_t bodies() const { return bodies_; }

 private:
  void PopOldest() {
    auto it = entries_.find(order_.front().first);
    if (it->second.body) --bodies_;
    entries_.erase(it);
    order_.pop_front();
    if (cursor_ > 0) --cursor_;
  }
  void DropBodyAt(size_t i) {
    SeenCache::Entry& e = entries_.at(order_[i].first);
    if (e.body) {
      e.body.reset();
      --bodies_;
    }
  }
  void DropOldestBody() {
    while (cursor_ < order_.size() && bodies_ > bodies_max_) DropBodyAt(cursor_++);
  }

  uint32_t entries_max_;
  Duration expiry_;
  uint32_t bodies_max_;
  Duration body_expiry_;
  std::map<PacketId, SeenCache::Entry> entries_;
  std::deque<std::pair<PacketId, TimePoint>> order_;
  size_t cursor_ = 0;
  size_t bodies_ = 0;
};

NodeId Origin(uint8_t tag, bool shared_prefix) {
  NodeId id;
  id.bytes.fill(0x5a);
  // With a shared prefix the eight bytes the hash reads are equal: ids with the same sequence
  // number then collide on the whole hash, which exercises probing and deletion.
  if (!shared_prefix) id.bytes[0] = tag;
  id.bytes[31] = tag;
  return id;
}

struct Params {
  uint32_t entries_max;
  uint32_t bodies_max;
  int64_t expiry_ms;
  int64_t body_expiry_ms;
  bool shared_prefix;
};

void RunAgainstModel(const Params& p, uint64_t seed) {
  SeenCache cache(p.entries_max, Milliseconds(p.expiry_ms), p.bodies_max,
                  Milliseconds(p.body_expiry_ms));
  ModelSeenCache model(p.entries_max, Milliseconds(p.expiry_ms), p.bodies_max,
                       Milliseconds(p.body_expiry_ms));
  Rng rng(seed);
  // A pool of ids small enough that inserts often repeat an id still (or no longer) known.
  std::vector<PacketId> pool;
  for (uint8_t o = 0; o < 8; ++o) {
    for (uint64_t s = 0; s < 40; ++s) pool.push_back(PacketId{Origin(o, p.shared_prefix), s});
  }
  TimePoint now;
  size_t checked = 0;
  for (int step = 0; step < 6000; ++step) {
    now = now + Milliseconds(static_cast<int64_t>(rng.Uniform(4)));
    const PacketId& id = pool[rng.Uniform(pool.size())];
    const uint64_t op = rng.Uniform(10);
    if (op < 6) {
      std::shared_ptr<const PacketBody> body;
      if (rng.Uniform(4) != 0) {
        auto b = std::make_shared<PacketBody>();
        b->id = id;
        body = b;
      }
      const bool valid = rng.Uniform(8) != 0;
      const NodeId from = Origin(static_cast<uint8_t>(rng.Uniform(200)), false);
      const auto ttl = static_cast<uint32_t>(rng.Uniform(65));
      const auto hops = static_cast<uint32_t>(rng.Uniform(65));
      cache.Insert(now, id, body, valid, from, ttl, hops);
      model.Insert(now, id, body, valid, from, ttl, hops);
    } else if (op < 8) {
      cache.Expire(now);
      model.Expire(now);
    } else if (op == 8) {
      const NodeId from = Origin(static_cast<uint8_t>(rng.Uniform(200)), false);
      const auto hops = static_cast<uint32_t>(rng.Uniform(300));
      cache.Reroute(id, from, hops);
      if (SeenCache::Entry* e = model.Find(id)) {
        e->from = from;
        e->hops = static_cast<uint8_t>(std::min<uint32_t>(hops, 255));
      }
    } else {
      const uint64_t max = rng.Uniform(1000);
      if (SeenCache::Entry* e = cache.FindMutable(id)) e->path_max = max;
      if (SeenCache::Entry* e = model.Find(id)) e->path_max = max;
    }
    ASSERT_EQ(cache.size(), model.size()) << "step " << step;
    ASSERT_EQ(cache.bodies(), model.bodies()) << "step " << step;
    ASSERT_LE(cache.size(), p.entries_max);
    ASSERT_LE(cache.bodies(), p.bodies_max);
    for (const PacketId& q : pool) {
      const SeenCache::Entry* got = cache.Find(q);
      const SeenCache::Entry* want = model.Find(q);
      ASSERT_EQ(got != nullptr, want != nullptr) << "step " << step << " id " << q.ToString();
      ASSERT_EQ(cache.Contains(q), want != nullptr);
      if (want == nullptr) {
        ASSERT_FALSE(cache.Valid(q));
        ASSERT_EQ(cache.Body(q), nullptr);
        continue;
      }
      ++checked;
      ASSERT_EQ(got->body, want->body) << "step " << step;
      ASSERT_EQ(got->from, want->from);
      ASSERT_EQ(got->ttl, want->ttl);
      ASSERT_EQ(got->hops, want->hops);
      ASSERT_EQ(got->valid, want->valid);
      ASSERT_EQ(got->path_max, want->path_max);
      ASSERT_EQ(cache.Valid(q), want->valid);
      ASSERT_EQ(cache.Body(q), want->valid ? want->body : nullptr);
    }
  }
  EXPECT_GT(checked, 0u);
}

TEST(SeenCache, MatchesModelUnderTheEntryBound) {
  RunAgainstModel({60, 1000, 1'000'000, 1'000'000, false}, 1);
}

TEST(SeenCache, MatchesModelUnderTheBodyBound) {
  RunAgainstModel({1000, 25, 1'000'000, 1'000'000, false}, 2);
}

TEST(SeenCache, MatchesModelWithExpiry) { RunAgainstModel({1000, 1000, 400, 150, false}, 3); }

TEST(SeenCache, MatchesModelWithEverythingAtOnce) { RunAgainstModel({90, 30, 900, 300, false}, 4); }

TEST(SeenCache, MatchesModelWhenHashesCollide) {
  RunAgainstModel({90, 30, 900, 300, true}, 5);
  RunAgainstModel({1000, 1000, 1'000'000, 1'000'000, true}, 6);
}

TEST(SeenCache, KeepsEntriesWhileTheRingGrows) {
  SeenCache cache(100'000, Seconds(300), 100'000, Seconds(60));
  const PacketId first{Origin(1, false), 1};
  auto body = std::make_shared<PacketBody>();
  cache.Insert(TimePoint{}, first, body, true, Origin(9, false), 5, 3);
  cache.FindMutable(first)->path_max = 77;
  for (uint64_t s = 0; s < 50'000; ++s) {
    cache.Insert(TimePoint{}, PacketId{Origin(2, false), s}, nullptr, s % 2 == 0);
  }
  const SeenCache::Entry* entry = cache.Find(first);
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->body, body);
  EXPECT_EQ(entry->ttl, 5);
  EXPECT_EQ(entry->hops, 3);
  EXPECT_EQ(entry->path_max, 77u);
  EXPECT_EQ(entry->from, Origin(9, false));
  EXPECT_TRUE(cache.Valid(PacketId{Origin(2, false), 49'998}));
  EXPECT_FALSE(cache.Valid(PacketId{Origin(2, false), 49'999}));
  EXPECT_EQ(cache.size(), 50'001u);
  EXPECT_EQ(cache.bodies(), 1u);
}

TEST(SeenCache, ABoundOfOneKeepsTheNewest) {
  SeenCache cache(1, Seconds(300), 1, Seconds(60));
  const NodeId origin = Origin(4, false);
  for (uint64_t s = 0; s < 100; ++s) {
    cache.Insert(TimePoint{}, PacketId{origin, s}, std::make_shared<PacketBody>(), true);
    ASSERT_EQ(cache.size(), 1u);
    ASSERT_TRUE(cache.Contains(PacketId{origin, s}));
    ASSERT_NE(cache.Body(PacketId{origin, s}), nullptr);
  }
  EXPECT_FALSE(cache.Contains(PacketId{origin, 98}));
}

TEST(SeenCache, ForgetsTheOldestAtTheBoundAcrossManyTableSizes) {
  SeenCache cache(1000, Seconds(300), 10, Seconds(60));
  const NodeId origin = Origin(3, false);
  for (uint64_t s = 0; s < 20'000; ++s) {
    cache.Insert(TimePoint{}, PacketId{origin, s}, std::make_shared<PacketBody>(), true);
    ASSERT_LE(cache.size(), 1000u);
  }
  EXPECT_EQ(cache.size(), 1000u);
  EXPECT_EQ(cache.bodies(), 10u);
  EXPECT_FALSE(cache.Contains(PacketId{origin, 18'999}));
  EXPECT_TRUE(cache.Contains(PacketId{origin, 19'000}));
  EXPECT_TRUE(cache.Contains(PacketId{origin, 19'999}));
  EXPECT_EQ(cache.Body(PacketId{origin, 19'989}), nullptr);
  EXPECT_NE(cache.Body(PacketId{origin, 19'990}), nullptr);
}

}  // namespace
}  // namespace myco
