// EventQueue: the simulator's future, a 4-ary min-heap of small fixed-size events ordered by
// (time, sequence number).
//
// Why this shape: a run of 100k nodes pops tens of millions of events, so the heap moves only
// 32-byte trivially copyable records (messages stay put in the simulator's pools and are named by
// `payload`), and a 4-ary heap halves the depth of a binary one so a sift touches fewer cache
// lines. The sequence number is assigned at push, so events due at the same instant pop in the
// order they were pushed: the whole order is a function of the pushes, never of heap layout.
// REQUIRES: external synchronization.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace myco {

// Sequence numbers take 56 bits (7e16 pushes, far past SimConfig::events_max) so the kind fits in
// the same word and a fourth index fits in 32 bytes: the simulator uses it to name a message's
// connection beside its pool slot, so both can be prefetched before the event is processed.
struct SimEvent {
  int64_t time_ns = 0;
  uint64_t seq : 56 = 0;  // push order; breaks ties in time
  uint64_t kind : 8 = 0;
  uint32_t node = 0;     // the node the event is addressed to
  uint32_t payload = 0;  // a pool slot (message, dial failure) or unused
  uint32_t conn = 0;     // a connection slot or unused
  uint32_t aux = 0;      // a generation or incarnation that tells a stale event from a live one
};
static_assert(sizeof(SimEvent) == 32, "events must stay small: the heap copies them on every sift");

class EventQueue {
 public:
  // Past this the uint32 payload indices of the pools could not name every pending event anyway.
  static constexpr size_t kEventsPendingMax = size_t{1} << 31;
  static constexpr uint64_t kSeqMax = (uint64_t{1} << 56) - 1;
  static constexpr uint32_t kKindMax = 255;

  void Reserve(size_t events) { heap_.reserve(events); }
  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }
  // Sequence numbers handed out so far (the number of pushes).
  uint64_t pushed() const { return next_seq_; }

  // REQUIRES: !empty().
  const SimEvent& top() const {
    assert(!heap_.empty());
    return heap_.front();
  }

  // Schedules an event and returns its sequence number.
  uint64_t Push(int64_t time_ns, uint32_t kind, uint32_t node, uint32_t payload = 0,
                uint32_t conn = 0, uint32_t aux = 0) {
    assert(heap_.size() < kEventsPendingMax);
    assert(next_seq_ < kSeqMax && kind <= kKindMax);
    SimEvent event;
    event.time_ns = time_ns;
    event.seq = next_seq_++;
    event.kind = kind;
    event.node = node;
    event.payload = payload;
    event.conn = conn;
    event.aux = aux;
    heap_.push_back(event);
    SiftUp(heap_.size() - 1, event);
    return event.seq;
  }

  // Removes and returns the earliest event. REQUIRES: !empty().
  SimEvent Pop() {
    assert(!heap_.empty());
    const SimEvent first = heap_.front();
    const SimEvent last = heap_.back();
    heap_.pop_back();
    if (!heap_.empty()) SiftDown(0, last);
    assert(heap_.empty() || !Before(heap_.front(), first));
    return first;
  }

  static bool Before(const SimEvent& a, const SimEvent& b) {
    return a.time_ns != b.time_ns ? a.time_ns < b.time_ns : a.seq < b.seq;
  }

 private:
  static constexpr size_t kArity = 4;

  // Moves the hole at `hole` up until `event` fits there, then stores it (one write per level
  // instead of a swap).
  void SiftUp(size_t hole, const SimEvent& event) {
    while (hole > 0) {
      const size_t parent = (hole - 1) / kArity;
      if (!Before(event, heap_[parent])) break;
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
        if (Before(heap_[c], heap_[best])) best = c;
      }
      if (!Before(heap_[best], event)) break;
      heap_[hole] = heap_[best];
      hole = best;
    }
    heap_[hole] = event;
  }

  std::vector<SimEvent> heap_;
  uint64_t next_seq_ = 0;
};

}  // namespace myco
