// SeenCache: the bounded, expiring set of packet ids a node has seen, for duplicate suppression,
// optionally holding the packet body (so grafts and retries can be answered).
//
// Guarantees: at most `entries_max` ids; an id is forgotten `expiry` after it was first seen or
// when the bound pushes it out, oldest first (ids are kept in arrival order, so both are O(1)
// amortised). Bodies are dropped earlier, after `body_expiry` or beyond `bodies_max`, since they
// are larger than ids. A packet created longer ago than `expiry` is rejected by the pipeline as a
// replay, so forgetting an id can never let a replay through.
//
// Layout, and why: every node of a simulation holds one of these, every packet and every IHave
// entry costs a few lookups, and a 10,000-node run holds ten million entries — lookups were a
// fifth of the run and the cache most of its memory as an std::unordered_map (a heap node per
// entry) beside a deque of arrivals. Entries are only ever removed oldest first, so they live in
// one arrival-ordered ring buffer (records_, contiguous, so a lookup costs one cache miss for the
// record and none for a deque's block map), and the hash index is a flat open-addressing table of
// 8-byte slots (linear probing, load <= 1/2, backward-shift deletion, no tombstones) naming a
// record by its arrival number. A slot keeps 32 bits of the id's hash, so a probe that meets
// another id almost never touches that id's record. The ring doubles (never past
// entries_max) and never shrinks, like the bucket array of the map it replaced.
// The observable behaviour — what is kept, what is evicted when — is exactly the old one.
// A pointer returned by Find or FindMutable is valid until the next Insert (which may move the
// ring) or until its entry is evicted.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>

#include "core/propagation/packet.hpp"
#include "myco/time.hpp"

namespace myco {

class alignas(64) SeenCache {
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
    uint64_t tree = 0;  // broadcast: the tree the packet follows (PacketMsg::tree)
  };

  // Arrival numbers are kept in 31 bits of a slot; live ones span fewer than entries_max.
  static constexpr uint32_t kEntriesMaxLimit = uint32_t{1} << 30;

  SeenCache(uint32_t entries_max, Duration expiry, uint32_t bodies_max, Duration body_expiry)
      : entries_max_(entries_max),
        bodies_max_(bodies_max),
        expiry_(expiry),
        body_expiry_(body_expiry) {
    assert(entries_max_ > 0 && entries_max_ <= kEntriesMaxLimit);
  }

  bool Contains(const PacketId& id) const { return FindRecord(id, HashOf(id)) != nullptr; }

  // Records `id` (no-op if known). `valid` false remembers a packet that failed verification, so
  // copies of it are dropped without being verified again.
  void Insert(TimePoint now, const PacketId& id, std::shared_ptr<const PacketBody> body, bool valid,
              const NodeId& from = {}, uint32_t ttl = 0, uint32_t hops = 0) {
    Expire(now);
    const uint32_t hash = HashOf(id);
    if (FindRecord(id, hash) != nullptr) return;
    if ((size_t{count_} + 1) * 2 > SlotCount()) GrowSlots();
    if (count_ == ring_size_) GrowRing();
    Record& record = At(count_);
    ++count_;
    if (count_ == 1) front_seen_at_ = now;
    if (body_cursor_ + 1 == count_) cursor_seen_at_ = now;
    record.id = id;
    record.seen_at = now;
    Entry& entry = record.entry;
    entry = Entry{};  // a reused ring slot still holds an evicted entry's fields
    entry.valid = valid;
    entry.from = from;
    assert(ttl <= 255 && hops <= 255);
    entry.ttl = static_cast<uint8_t>(ttl);
    entry.hops = static_cast<uint8_t>(hops);
    entry.body = std::move(body);
    if (entry.body) ++bodies_;
    PlaceSlot(Slot{hash, PosOf(next_arrival_)});
    ++next_arrival_;
    while (count_ > entries_max_) PopOldest();
    while (bodies_ > bodies_max_) DropOldestBody();
  }

  // The stored body of a valid packet, or nullptr.
  std::shared_ptr<const PacketBody> Body(const PacketId& id) const {
    const Entry* entry = Find(id);
    if (entry == nullptr || !entry->valid) return nullptr;
    return entry->body;
  }
  const Entry* Find(const PacketId& id) const {
    const Record* record = FindRecord(id, HashOf(id));
    return record == nullptr ? nullptr : &record->entry;
  }
  Entry* FindMutable(const PacketId& id) {
    const Record* record = FindRecord(id, HashOf(id));
    return record == nullptr ? nullptr : &const_cast<Record*>(record)->entry;
  }
  // Records that the tree now delivers `id` through `from` in `hops` (after an optimisation).
  void Reroute(const PacketId& id, const NodeId& from, uint32_t hops) {
    Entry* entry = FindMutable(id);
    if (entry == nullptr) return;
    entry->from = from;
    entry->hops = static_cast<uint8_t>(std::min<uint32_t>(hops, 255));
  }
  bool Valid(const PacketId& id) const {
    const Entry* entry = Find(id);
    return entry != nullptr && entry->valid;
  }

  // Reads no record when nothing is due (the usual case: it runs on every Insert and tick), as
  // the arrival times of the oldest record and of the body cursor's are kept beside the table.
  void Expire(TimePoint now) {
    while (count_ > 0 && now - front_seen_at_ > expiry_) PopOldest();
    while (body_cursor_ < count_ && now - cursor_seen_at_ > body_expiry_) AdvanceBodyCursor();
  }

  size_t size() const { return count_; }
  size_t bodies() const { return bodies_; }

 private:
  struct Record {
    PacketId id;
    TimePoint seen_at;
    Entry entry;
  };
  // `pos` is kOccupied | (arrival number mod 2^31), or 0 for an empty slot; `hash` is HashOf(id).
  struct Slot {
    uint32_t hash = 0;
    uint32_t pos = 0;
  };
  static constexpr uint32_t kOccupied = uint32_t{1} << 31;
  static constexpr uint32_t kArrivalMask = kOccupied - 1;
  static constexpr size_t kSlotsMin = 16;
  static constexpr size_t kRingMin = 8;

  // Ids are (random public key, per-origin sequence): eight bytes of the key xor the sequence,
  // multiplied by an odd constant, and the high half of the product, which depends on every bit.
  static uint32_t HashOf(const PacketId& id) {
    uint64_t origin;
    std::memcpy(&origin, id.origin.bytes.data(), sizeof origin);
    return static_cast<uint32_t>(((origin ^ id.seq) * 0x9e3779b97f4a7c15ULL) >> 32);
  }

  static uint32_t PosOf(uint64_t arrival) {
    return kOccupied | (static_cast<uint32_t>(arrival) & kArrivalMask);
  }

  // The record `offset` places after the oldest. REQUIRES: offset < ring_size_.
  const Record& At(size_t offset) const {
    size_t i = head_ + offset;
    if (i >= ring_size_) i -= ring_size_;
    return records_[i];
  }
  Record& At(size_t offset) { return const_cast<Record&>(std::as_const(*this).At(offset)); }

  // The record a slot names. REQUIRES: the slot is occupied.
  const Record& RecordAt(Slot slot) const {
    const uint32_t offset = (slot.pos - static_cast<uint32_t>(first_arrival_)) & kArrivalMask;
    assert(offset < count_);
    return At(offset);
  }

  const Record* FindRecord(const PacketId& id, uint32_t hash) const {
    if (count_ == 0) return nullptr;
    const size_t mask = slot_mask_;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      const Slot slot = slots_[i];
      if (slot.pos == 0) return nullptr;
      if (slot.hash == hash) {
        const Record& record = RecordAt(slot);
        if (record.id == id) return &record;
      }
    }
  }

  // REQUIRES: a free slot exists (load <= 1/2).
  void PlaceSlot(Slot slot) {
    const size_t mask = slot_mask_;
    size_t i = slot.hash & mask;
    while (slots_[i].pos != 0) i = (i + 1) & mask;
    slots_[i] = slot;
  }

  // Moves the records, oldest first, into a ring twice as large (at most entries_max + 1).
  void GrowRing() {
    // One more than the bound: an insert lands before the oldest is evicted.
    const size_t capacity = std::min<size_t>(size_t{entries_max_} + 1,
                                             std::max<size_t>(kRingMin, size_t{ring_size_} * 2));
    assert(capacity > count_);
    auto ring = std::make_unique<Record[]>(capacity);
    for (size_t i = 0; i < count_; ++i) ring[i] = std::move(At(i));
    records_ = std::move(ring);
    ring_size_ = static_cast<uint32_t>(capacity);
    head_ = 0;
  }

  size_t SlotCount() const { return slots_ ? size_t{slot_mask_} + 1 : 0; }

  void GrowSlots() {
    const size_t old_count = SlotCount();
    const size_t count = std::max(kSlotsMin, old_count * 2);
    std::unique_ptr<Slot[]> old = std::exchange(slots_, std::make_unique<Slot[]>(count));
    slot_mask_ = static_cast<uint32_t>(count - 1);
    for (size_t i = 0; i < old_count; ++i) {
      if (old[i].pos != 0) PlaceSlot(old[i]);
    }
  }

  // Empties slot `hole` and shifts later members of its probe run back, so every run stays
  // contiguous (what makes lookups stop at the first empty slot).
  void EraseSlot(size_t hole) {
    const size_t mask = slot_mask_;
    for (size_t i = (hole + 1) & mask;; i = (i + 1) & mask) {
      const Slot slot = slots_[i];
      if (slot.pos == 0) break;
      // The slot may move back to the hole unless its home lies cyclically in (hole, i].
      const size_t home = slot.hash & mask;
      if (((i - home) & mask) >= ((i - hole) & mask)) {
        slots_[hole] = slot;
        hole = i;
      }
    }
    slots_[hole] = Slot{};
  }

  void PopOldest() {
    assert(count_ > 0);
    Record& oldest = At(0);
    const uint32_t pos = PosOf(first_arrival_);
    const size_t mask = slot_mask_;
    size_t i = HashOf(oldest.id) & mask;
    while (slots_[i].pos != pos) {
      assert(slots_[i].pos != 0 && "every record has a slot");
      i = (i + 1) & mask;
    }
    EraseSlot(i);
    if (oldest.entry.body) {
      oldest.entry.body.reset();  // the slot stays allocated: let go of the body now
      --bodies_;
    }
    if (++head_ == ring_size_) head_ = 0;
    --count_;
    ++first_arrival_;
    if (count_ > 0) front_seen_at_ = At(0).seen_at;
    if (body_cursor_ > 0) {
      --body_cursor_;  // the same record, one place nearer the front
    } else {
      cursor_seen_at_ = front_seen_at_;  // the cursor was on the evicted record
    }
  }
  void AdvanceBodyCursor() {
    DropBodyAt(body_cursor_++);
    if (body_cursor_ < count_) cursor_seen_at_ = At(body_cursor_).seen_at;
  }
  void DropBodyAt(size_t index) {
    Entry& entry = At(index).entry;
    if (entry.body) {
      entry.body.reset();
      --bodies_;
    }
  }
  void DropOldestBody() {
    while (body_cursor_ < count_ && bodies_ > bodies_max_) AdvanceBodyCursor();
  }

  // What a lookup reads comes first, in the object's first cache line (the class is aligned to
  // one): a node's cache is cold whenever a message reaches it.
  std::unique_ptr<Slot[]> slots_;  // slot_mask_ + 1 (a power of two) of them, at most half full
  // A ring of ring_size_ records in arrival order: At(i) (i < count_) has arrival number
  // first_arrival_ + i, and At(i < body_cursor_) have no body any more. Records outside the
  // ring's live part hold no body.
  std::unique_ptr<Record[]> records_;
  uint32_t slot_mask_ = 0;
  uint32_t ring_size_ = 0;
  uint32_t head_ = 0;
  uint32_t count_ = 0;
  uint64_t first_arrival_ = 0;
  TimePoint front_seen_at_;   // At(0).seen_at while count_ > 0
  TimePoint cursor_seen_at_;  // At(body_cursor_).seen_at while body_cursor_ < count_

  uint64_t next_arrival_ = 0;
  size_t body_cursor_ = 0;
  size_t bodies_ = 0;
  uint32_t entries_max_;
  uint32_t bodies_max_;
  Duration expiry_;
  Duration body_expiry_;
};

}  // namespace myco
