// LinkQueues: bounded per-link priority queues between the protocols and the driver (sans-IO).
//
// What it guarantees
// - A window per link: at most `window_messages` messages are handed to the driver and not yet
//   reported written. The driver's socket buffer therefore never holds more than a window, and
//   everything else waits here, where a critical packet can still overtake bulk traffic.
// - Release order: highest priority class first, FIFO within a class. Packets (priority in
//   [0,1]) fall into 11 classes, round(priority * 10); control traffic (kControlPriority) has a
//   twelfth class above every packet, so a saturated link never starves heartbeats.
// - A bound per link: at most `queue_messages_max` messages wait. At the bound the lowest-class
//   message, the newest among equals, is dropped and counted — which is the incoming message
//   itself when nothing queued ranks below it. Control messages are dropped only when nothing
//   but control messages is queued.
// - Liveness: the message that fills the window always asks for a Written report
//   (report_written), so a full window is always reopened by the driver; the message that brings
//   the window to half full asks too, so the driver reports early enough to keep the pipe busy.
// - Memory: an idle link costs one small map entry; its queue storage is allocated when the
//   first message has to wait and freed as soon as the queue drains.
//
// Invariant (checked after every operation on a link): a link has queued messages only while its
// window is full.
//
// REQUIRES: external synchronization. Not copyable (it owns every queued message).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "core/node.hpp"
#include "myco/types.hpp"

namespace myco {

class LinkQueues {
 public:
  // Packet classes are the 11 steps of round(priority * 10); control traffic has its own class.
  static constexpr size_t kPacketClassCount = 11;
  static constexpr size_t kControlClass = kPacketClassCount;
  static constexpr size_t kClassCount = kPacketClassCount + 1;

  // Every Enqueue counts once in sent_direct or queued. A queued message then ends in exactly one
  // of released, dropped_full or dropped_link_down, or is still waiting, so
  // queued == released + dropped_full + dropped_link_down + queued_total() at all times.
  struct Counters {
    uint64_t sent_direct = 0;        // handed to the driver at once (the window had room)
    uint64_t queued = 0;             // had to wait (including those dropped at once at the bound)
    uint64_t released = 0;           // handed to the driver later (OnWritten, FlushAndForget)
    uint64_t dropped_full = 0;       // dropped at the queue bound
    uint64_t dropped_link_down = 0;  // still waiting when the link went (Forget)
    // dropped_full split by class (index kControlClass for control), to see what congestion costs.
    std::array<uint64_t, kClassCount> dropped_by_class{};
  };

  // REQUIRES: queue_messages_max >= 1 and window_messages >= 1 (a zero window sends nothing).
  explicit LinkQueues(uint32_t queue_messages_max, uint32_t window_messages);
  LinkQueues(const LinkQueues&) = delete;
  LinkQueues& operator=(const LinkQueues&) = delete;
  LinkQueues(LinkQueues&&) noexcept = default;
  LinkQueues& operator=(LinkQueues&&) noexcept = default;

  // The class of a priority: kControlClass at or above kControlPriority, else round(p * 10) with
  // p clamped to [0,1]. Clamping (not asserting) because priorities can come from remote packets.
  static size_t PriorityClass(double priority);

  // A protocol's Send: appended to `out` at once if the peer's window has room, else queued by
  // priority (at the bound, the lowest-class message is dropped, possibly this one).
  void Enqueue(Send send, std::vector<Effect>& out);
  // The driver wrote `messages_total` messages on the peer's current connection (cumulative,
  // possibly coalesced): frees window room and releases queued messages into `out`.
  void OnWritten(const NodeId& peer, uint64_t messages_total, std::vector<Effect>& out);
  // Before a Close: appends everything queued for the peer to `out` regardless of the window (so
  // a Disconnect queued behind bulk traffic still goes out, ahead of it), then forgets the peer.
  void FlushAndForget(const NodeId& peer, std::vector<Effect>& out);
  // The connection is gone (LinkDown) or was replaced (LinkUp): drops what is queued, counted as
  // dropped_link_down, and resets the peer's window; the next connection counts from 0 again.
  void Forget(const NodeId& peer);

  size_t queued(const NodeId& peer) const;
  size_t queued_total() const { return queued_total_; }
  // Messages handed to the driver for the peer and not yet reported written.
  uint64_t in_flight(const NodeId& peer) const;
  size_t links() const { return links_.size(); }
  const Counters& counters() const { return counters_; }

 private:
  static constexpr uint32_t kNoSlot = UINT32_MAX;

  // One waiting message, threaded into its class's FIFO list (doubly linked, so the newest of
  // the lowest class can be dropped in O(1)).
  struct Slot {
    Send send;
    uint32_t prev = kNoSlot;
    uint32_t next = kNoSlot;
  };

  // The waiting messages of one link: one slab of slots (reused through a free list, so a busy
  // link allocates only while its queue grows) and a FIFO list per class. All operations O(1)
  // (class scans are over kClassCount).
  class Backlog {
   public:
    Backlog();
    size_t size() const { return size_; }
    void PushBack(size_t cls, Send send);
    Send PopFront(size_t cls);
    Send PopBack(size_t cls);
    // REQUIRES: size() > 0.
    size_t HighestClass() const;
    size_t LowestClass() const;

   private:
    Send Unlink(size_t cls, uint32_t index);

    std::vector<Slot> slots_;
    uint32_t free_head_ = kNoSlot;  // free slots, chained through Slot::next
    std::array<uint32_t, kClassCount> head_;
    std::array<uint32_t, kClassCount> tail_;
    size_t size_ = 0;
  };

  struct Link {
    uint64_t handed_total = 0;         // messages handed to the driver on this connection
    uint64_t written_total = 0;        // the latest Written report (<= handed_total)
    std::unique_ptr<Backlog> backlog;  // null while nothing waits

    uint64_t in_flight() const { return handed_total - written_total; }
    size_t waiting() const { return backlog ? backlog->size() : 0; }
  };

  void Hand(Link& link, Send send, std::vector<Effect>& out);
  void Release(Link& link, std::vector<Effect>& out);
  void Queue(Link& link, Send send);
  void CheckInvariants(const Link& link) const;

  uint32_t queue_messages_max_;
  uint32_t window_messages_;
  // Reaching this many in flight asks for a report (half the window, at least one).
  uint32_t report_at_messages_;
  // Hashed, never iterated: nothing here depends on the order of peers.
  // The peers of one node, sorted by id. A node has at most max_connections links, and a binary
  // search over one small contiguous array beats hashing into scattered buckets; this lookup
  // runs on every Send (it was a fifth of the simulator's time as an unordered_map).
  class PeerTable {
   public:
    using Entry = std::pair<NodeId, Link>;
    using iterator = std::vector<Entry>::iterator;
    using const_iterator = std::vector<Entry>::const_iterator;
    iterator begin() { return entries_.begin(); }
    iterator end() { return entries_.end(); }
    const_iterator end() const { return entries_.end(); }
    iterator find(const NodeId& id) {
      auto it = LowerBound(id);
      return (it != entries_.end() && it->first == id) ? it : entries_.end();
    }
    const_iterator find(const NodeId& id) const {
      auto it = std::lower_bound(entries_.begin(), entries_.end(), id,
                                 [](const Entry& e, const NodeId& k) { return e.first < k; });
      return (it != entries_.end() && it->first == id) ? it : entries_.end();
    }
    Link& operator[](const NodeId& id) {
      auto it = LowerBound(id);
      if (it == entries_.end() || it->first != id) it = entries_.insert(it, Entry{id, Link{}});
      return it->second;
    }
    void erase(iterator it) { entries_.erase(it); }
    size_t size() const { return entries_.size(); }

   private:
    iterator LowerBound(const NodeId& id) {
      return std::lower_bound(entries_.begin(), entries_.end(), id,
                              [](const Entry& e, const NodeId& k) { return e.first < k; });
    }
    std::vector<Entry> entries_;
  };
  PeerTable links_;
  size_t queued_total_ = 0;
  Counters counters_;
};

}  // namespace myco
