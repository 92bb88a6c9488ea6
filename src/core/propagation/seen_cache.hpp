// SeenCache: the bounded, expiring set of packet ids a node has seen, for duplicate suppression,
// optionally holding the packet body (so grafts and retries can be answered).
//
// Guarantees: at most `entries_max` ids; an id is forgotten `expiry` after it was first seen or
// when the bound pushes it out, oldest first (ids are kept in arrival order, so both are O(1)
// amortised). Bodies are dropped earlier, after `body_expiry` or beyond `bodies_max`, since they
// are larger than ids. A packet created longer ago than `expiry` is rejected by the pipeline as a
// replay, so forgetting an id can never let a replay through.
#pragma once

#include <algorithm>
#include <cassert>
#include <deque>
#include <memory>
#include <unordered_map>

#include "core/propagation/packet.hpp"
#include "myco/time.hpp"

namespace myco {

class SeenCache {
 public:
  // What a node remembers of a packet: its body (while kept), whether it verified, and how its
  // first copy arrived (Plumtree answers grafts and optimises its tree from this).
  struct Entry {
    std::shared_ptr<const PacketBody> body;
    NodeId from;  // zero for the node's own packets
    uint8_t ttl = 0;
    uint8_t hops = 0;
    bool valid = true;
    // Broadcast (Plumtree) only: the weight of the heaviest link on the first copy's path, and
    // whether that link is the last one (from -> us). See broadcast.hpp.
    bool path_max_last = false;
    uint64_t path_max = 0;
  };

  SeenCache(uint32_t entries_max, Duration expiry, uint32_t bodies_max, Duration body_expiry)
      : entries_max_(entries_max),
        expiry_(expiry),
        bodies_max_(bodies_max),
        body_expiry_(body_expiry) {
    assert(entries_max_ > 0);
  }

  bool Contains(const PacketId& id) const { return entries_.count(id) != 0; }

  // Records `id` (no-op if known). `valid` false remembers a packet that failed verification, so
  // copies of it are dropped without being verified again.
  void Insert(TimePoint now, const PacketId& id, std::shared_ptr<const PacketBody> body, bool valid,
              const NodeId& from = {}, uint32_t ttl = 0, uint32_t hops = 0) {
    Expire(now);
    auto [it, inserted] = entries_.try_emplace(id);
    if (!inserted) return;
    it->second.valid = valid;
    it->second.from = from;
    assert(ttl <= 255 && hops <= 255);
    it->second.ttl = static_cast<uint8_t>(ttl);
    it->second.hops = static_cast<uint8_t>(hops);
    it->second.body = std::move(body);
    if (it->second.body) ++bodies_;
    order_.push_back({id, now});
    while (entries_.size() > entries_max_) PopOldest();
    while (bodies_ > bodies_max_) DropOldestBody();
  }

  // The stored body of a valid packet, or nullptr.
  std::shared_ptr<const PacketBody> Body(const PacketId& id) const {
    auto it = entries_.find(id);
    if (it == entries_.end() || !it->second.valid) return nullptr;
    return it->second.body;
  }
  const Entry* Find(const PacketId& id) const {
    auto it = entries_.find(id);
    return it == entries_.end() ? nullptr : &it->second;
  }
  Entry* FindMutable(const PacketId& id) {
    auto it = entries_.find(id);
    return it == entries_.end() ? nullptr : &it->second;
  }
  // Records that the tree now delivers `id` through `from` in `hops` (after an optimisation).
  void Reroute(const PacketId& id, const NodeId& from, uint32_t hops) {
    auto it = entries_.find(id);
    if (it == entries_.end()) return;
    it->second.from = from;
    it->second.hops = static_cast<uint8_t>(std::min<uint32_t>(hops, 255));
  }
  bool Valid(const PacketId& id) const {
    auto it = entries_.find(id);
    return it != entries_.end() && it->second.valid;
  }

  void Expire(TimePoint now) {
    while (!order_.empty() && now - order_.front().seen_at > expiry_) PopOldest();
    while (body_cursor_ < order_.size() && now - order_[body_cursor_].seen_at > body_expiry_) {
      DropBodyAt(body_cursor_++);
    }
  }

  size_t size() const { return entries_.size(); }
  size_t bodies() const { return bodies_; }

 private:
  struct Arrival {
    PacketId id;
    TimePoint seen_at;
  };

  void PopOldest() {
    assert(!order_.empty());
    auto it = entries_.find(order_.front().id);
    if (it != entries_.end()) {
      if (it->second.body) --bodies_;
      entries_.erase(it);
    }
    order_.pop_front();
    if (body_cursor_ > 0) --body_cursor_;
  }
  void DropBodyAt(size_t index) {
    auto it = entries_.find(order_[index].id);
    if (it != entries_.end() && it->second.body) {
      it->second.body.reset();
      --bodies_;
    }
  }
  void DropOldestBody() {
    while (body_cursor_ < order_.size() && bodies_ > bodies_max_) DropBodyAt(body_cursor_++);
  }

  uint32_t entries_max_;
  Duration expiry_;
  uint32_t bodies_max_;
  Duration body_expiry_;
  std::unordered_map<PacketId, Entry, PacketIdHash> entries_;
  std::deque<Arrival> order_;  // arrival order; order_[i < body_cursor_] have no body any more
  size_t body_cursor_ = 0;
  size_t bodies_ = 0;
};

}  // namespace myco
