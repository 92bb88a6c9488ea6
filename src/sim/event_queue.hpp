// EventQueue: the simulator's future — small fixed-size events popped in (time, sequence number)
// order.
//
// Why this shape: a run of 100k nodes pops tens of millions of events, and a single heap of
// ~100k pending events spends most of its time on cache and TLB misses (every sift walks ~9
// levels of a multi-megabyte array). So the queue is a calendar: a wheel of ~1 ms buckets that
// pushes simply append to, a small 4-ary heap holding the bucket being consumed (its events are
// heapified when the bucket comes up and stay in L1/L2 while they pop), and an overflow heap for
// the rare event more than a wheel turn (~4.3 s) ahead. Events are 32-byte trivially copyable
// records; messages stay put in the simulator's pools and are named by `payload`.
//
// Order: every event in the current heap is earlier than every event outside it (buckets are
// monotone in time), so pops come out in exact (time, seq) order. The sequence number is
// assigned at push, so events due at the same instant pop in the order they were pushed: the
// whole order is a function of the pushes, never of the layout.
// REQUIRES: external synchronization; times >= 0.
#pragma once

#include <array>
#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

namespace myco {

// Sequence numbers take 56 bits (7e16 pushes, far past SimConfig::events_max) so the kind fits in
// the same word and a fourth index fits in 32 bytes: a message event names its connection beside
// its pool slot, so the two loads do not depend on each other.
struct SimEvent {
  int64_t time_ns = 0;
  uint64_t seq : 56 = 0;  // push order; breaks ties in time
  uint64_t kind : 8 = 0;
  uint32_t node = 0;     // the node the event is addressed to
  uint32_t payload = 0;  // a pool slot (message, dial failure) or unused
  uint32_t conn = 0;     // a connection slot or unused
  uint32_t aux = 0;      // a generation or incarnation that tells a stale event from a live one
};
static_assert(sizeof(SimEvent) == 32, "events must stay small: the queue copies them around");

inline bool EventBefore(const SimEvent& a, const SimEvent& b) {
  return a.time_ns != b.time_ns ? a.time_ns < b.time_ns : a.seq < b.seq;
}

// A 4-ary min-heap of events: half the depth of a binary heap, and the four children of a node
// share one or two cache lines.
class EventHeap {
 public:
  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }
  void Reserve(size_t events) { heap_.reserve(events); }
  const SimEvent& top() const {
    assert(!heap_.empty());
    return heap_.front();
  }

  void Push(const SimEvent& event) {
    heap_.push_back(event);
    SiftUp(heap_.size() - 1, event);
  }

  SimEvent Pop() {
    assert(!heap_.empty());
    const SimEvent first = heap_.front();
    const SimEvent last = heap_.back();
    heap_.pop_back();
    if (!heap_.empty()) SiftDown(0, last);
    return first;
  }

  // Takes `events` as the new contents (REQUIRES: empty()) and hands back the old, empty
  // buffer, so bucket buffers circulate and keep their capacity.
  void TakeAndHeapify(std::vector<SimEvent>& events) {
    assert(heap_.empty());
    heap_.swap(events);
    if (heap_.size() < 2) return;
    // Floyd's bottom-up heap construction: O(n).
    for (size_t i = (heap_.size() - 2) / kArity + 1; i-- > 0;) {
      const SimEvent event = heap_[i];  // a copy: the sift overwrites slot i
      SiftDown(i, event);
    }
  }

 private:
  static constexpr size_t kArity = 4;

  // Moves the hole up until `event` fits there, then stores it (one write per level, no swaps).
  void SiftUp(size_t hole, const SimEvent& event) {
    while (hole > 0) {
      const size_t parent = (hole - 1) / kArity;
      if (!EventBefore(event, heap_[parent])) break;
      heap_[hole] = heap_[parent];
      hole = parent;
    }
    heap_[hole] = event;
  }

  void SiftDown(size_t hole, const SimEvent& event) {
    const size_t n = heap_.size();
    while (true) {
      const size_t first_child = hole * kArity + 1;
      if (first_child >= n) break;
      const size_t end = first_child + kArity < n ? first_child + kArity : n;
      size_t best = first_child;
      for (size_t c = first_child + 1; c < end; ++c) {
        if (EventBefore(heap_[c], heap_[best])) best = c;
      }
      if (!EventBefore(heap_[best], event)) break;
      heap_[hole] = heap_[best];
      hole = best;
    }
    heap_[hole] = event;
  }

  std::vector<SimEvent> heap_;
};

class EventQueue {
 public:
  // Past this the uint32 pool indices of the simulator could not name every pending event.
  static constexpr size_t kEventsPendingMax = size_t{1} << 31;
  static constexpr uint64_t kSeqMax = (uint64_t{1} << 56) - 1;
  static constexpr uint32_t kKindMax = 255;
  // Buckets of 2^20 ns (~1.05 ms, the smallest link latency): a bucket holds a few hundred
  // events in a 100k-node run, small enough to heapify and pop in cache.
  static constexpr int kBucketShift = 20;
  // 4096 buckets: a wheel turn of ~4.3 s covers heartbeats, timeouts and every link latency.
  static constexpr size_t kBuckets = 4096;

  EventQueue() : wheel_(kBuckets) {}

  void Reserve(size_t events) { current_.Reserve(events); }
  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  // Sequence numbers handed out so far (the number of pushes).
  uint64_t pushed() const { return next_seq_; }

  // REQUIRES: !empty().
  const SimEvent& top() const {
    assert(size_ > 0 && !current_.empty());
    return current_.top();
  }

  // Schedules an event and returns its sequence number.
  uint64_t Push(int64_t time_ns, uint32_t kind, uint32_t node, uint32_t payload = 0,
                uint32_t conn = 0, uint32_t aux = 0) {
    assert(size_ < kEventsPendingMax);
    assert(next_seq_ < kSeqMax && kind <= kKindMax && time_ns >= 0);
    SimEvent event;
    event.time_ns = time_ns;
    event.seq = next_seq_++;
    event.kind = kind;
    event.node = node;
    event.payload = payload;
    event.conn = conn;
    event.aux = aux;
    Insert(event);
    ++size_;
    if (current_.empty()) Advance();
    return event.seq;
  }

  // Removes and returns the earliest event. REQUIRES: !empty().
  SimEvent Pop() {
    assert(size_ > 0);
    const SimEvent first = current_.Pop();
    --size_;
    if (current_.empty() && size_ > 0) Advance();
    assert(size_ == 0 || !EventBefore(current_.top(), first));
    return first;
  }

  static bool Before(const SimEvent& a, const SimEvent& b) { return EventBefore(a, b); }

 private:
  static constexpr size_t kBitmapWords = kBuckets / 64;
  static constexpr size_t kNone = std::numeric_limits<size_t>::max();

  static int64_t BucketOf(int64_t time_ns) { return time_ns >> kBucketShift; }
  static size_t SlotOf(int64_t bucket) { return static_cast<size_t>(bucket) & (kBuckets - 1); }

  // Invariant: the current heap holds buckets <= current_bucket_, the wheel buckets in
  // (current_bucket_, current_bucket_ + kBuckets], the overflow heap everything later.
  void Insert(const SimEvent& event) {
    const int64_t bucket = BucketOf(event.time_ns);
    if (bucket <= current_bucket_) {
      current_.Push(event);
    } else if (bucket - current_bucket_ <= static_cast<int64_t>(kBuckets)) {
      const size_t slot = SlotOf(bucket);
      wheel_[slot].push_back(event);
      bitmap_[slot / 64] |= uint64_t{1} << (slot % 64);
      ++wheel_events_;
    } else {
      overflow_.Push(event);
    }
  }

  // Moves the next non-empty bucket into the current heap. REQUIRES: current heap empty and
  // events pending (so the loop below ends).
  void Advance() {
    assert(current_.empty() && size_ > 0);
    int64_t next = std::numeric_limits<int64_t>::max();
    bool from_wheel = false;
    if (wheel_events_ > 0) {
      const size_t start = SlotOf(current_bucket_ + 1);
      const size_t slot = NextOccupiedSlot(start);
      assert(slot != kNone);
      next = current_bucket_ + 1 + static_cast<int64_t>((slot - start) & (kBuckets - 1));
      from_wheel = true;
    }
    if (!overflow_.empty()) {
      const int64_t overflow_bucket = BucketOf(overflow_.top().time_ns);
      if (overflow_bucket < next) {
        next = overflow_bucket;
        from_wheel = false;
      }
    }
    assert(next > current_bucket_);
    current_bucket_ = next;
    if (from_wheel) {
      const size_t slot = SlotOf(next);
      wheel_events_ -= wheel_[slot].size();
      bitmap_[slot / 64] &= ~(uint64_t{1} << (slot % 64));
      current_.TakeAndHeapify(wheel_[slot]);
    }
    while (!overflow_.empty() && BucketOf(overflow_.top().time_ns) <= next) {
      current_.Push(overflow_.Pop());
    }
    assert(!current_.empty());
  }

  // The first occupied slot at or after `start`, cyclically, or kNone.
  size_t NextOccupiedSlot(size_t start) const {
    const size_t first_word = start / 64;
    for (size_t k = 0; k <= kBitmapWords; ++k) {
      const size_t word = (first_word + k) % kBitmapWords;
      uint64_t bits = bitmap_[word];
      if (k == 0) bits &= ~uint64_t{0} << (start % 64);
      // Back at the first word after a full turn: only the slots before `start` are left.
      if (k == kBitmapWords) bits &= (uint64_t{1} << (start % 64)) - 1;
      if (bits != 0) return word * 64 + static_cast<size_t>(std::countr_zero(bits));
    }
    return kNone;
  }

  EventHeap current_;
  std::vector<std::vector<SimEvent>> wheel_;
  std::array<uint64_t, kBitmapWords> bitmap_{};
  EventHeap overflow_;
  int64_t current_bucket_ = 0;
  size_t wheel_events_ = 0;
  size_t size_ = 0;
  uint64_t next_seq_ = 0;
};

}  // namespace myco
