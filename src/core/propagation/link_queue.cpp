#include "core/propagation/link_queue.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <utility>

namespace myco {

// ---- Backlog ----

LinkQueues::Backlog::Backlog() {
  head_.fill(kNoSlot);
  tail_.fill(kNoSlot);
}

void LinkQueues::Backlog::PushBack(size_t cls, Send send) {
  assert(cls < kClassCount);
  uint32_t index;
  if (free_head_ != kNoSlot) {
    index = free_head_;
    free_head_ = slots_[index].next;
    slots_[index].send = std::move(send);
  } else {
    index = static_cast<uint32_t>(slots_.size());
    slots_.push_back(Slot{std::move(send)});
  }
  Slot& slot = slots_[index];
  slot.prev = tail_[cls];
  slot.next = kNoSlot;
  if (tail_[cls] == kNoSlot) {
    head_[cls] = index;
  } else {
    slots_[tail_[cls]].next = index;
  }
  tail_[cls] = index;
  ++size_;
  assert(size_ <= slots_.size());
}

Send LinkQueues::Backlog::PopFront(size_t cls) {
  assert(head_[cls] != kNoSlot);
  return Unlink(cls, head_[cls]);
}

Send LinkQueues::Backlog::PopBack(size_t cls) {
  assert(tail_[cls] != kNoSlot);
  return Unlink(cls, tail_[cls]);
}

size_t LinkQueues::Backlog::HighestClass() const {
  assert(size_ > 0);
  for (size_t cls = kClassCount; cls-- > 0;) {
    if (head_[cls] != kNoSlot) return cls;
  }
  assert(false && "non-empty backlog with every class empty");
  return 0;
}

size_t LinkQueues::Backlog::LowestClass() const {
  assert(size_ > 0);
  for (size_t cls = 0; cls < kClassCount; ++cls) {
    if (head_[cls] != kNoSlot) return cls;
  }
  assert(false && "non-empty backlog with every class empty");
  return 0;
}

Send LinkQueues::Backlog::Unlink(size_t cls, uint32_t index) {
  assert(size_ > 0);
  Slot& slot = slots_[index];
  if (slot.prev == kNoSlot) {
    head_[cls] = slot.next;
  } else {
    slots_[slot.prev].next = slot.next;
  }
  if (slot.next == kNoSlot) {
    tail_[cls] = slot.prev;
  } else {
    slots_[slot.next].prev = slot.prev;
  }
  Send send = std::move(slot.send);
  // A moved-from message is valid but unspecified; reset it so a free slot holds nothing.
  slot.send = Send{};
  slot.prev = kNoSlot;
  slot.next = free_head_;
  free_head_ = index;
  --size_;
  return send;
}

// ---- LinkQueues ----

LinkQueues::LinkQueues(uint32_t queue_messages_max, uint32_t window_messages)
    : queue_messages_max_(queue_messages_max),
      window_messages_(window_messages),
      report_at_messages_(std::max<uint32_t>(1, window_messages / 2)) {
  assert(queue_messages_max_ >= 1);
  assert(window_messages_ >= 1);
}

size_t LinkQueues::PriorityClass(double priority) {
  if (priority >= kControlPriority) return kControlClass;
  // NaN fails both comparisons and lands in the lowest class: a malformed priority never helps.
  if (!(priority > 0.0)) return 0;
  if (priority >= 1.0) return kPacketClassCount - 1;
  const auto cls = static_cast<size_t>(std::lround(priority * 10.0));
  assert(cls < kPacketClassCount);
  return cls;
}

void LinkQueues::Enqueue(Send send, std::vector<Effect>& out) {
  Link& link = links_[send.peer];
  if (link.in_flight() < window_messages_) {
    // The invariant says nothing waits while the window has room, so going first is fair.
    assert(link.waiting() == 0);
    ++counters_.sent_direct;
    Hand(link, std::move(send), out);
  } else {
    ++counters_.queued;
    Queue(link, std::move(send));
  }
  CheckInvariants(link);
}

void LinkQueues::OnWritten(const NodeId& peer, uint64_t messages_total, std::vector<Effect>& out) {
  auto it = links_.find(peer);
  // A report can trail a Forget (the link went down with writes completing): nothing to free.
  if (it == links_.end()) return;
  Link& link = it->second;
  // Reports are cumulative, so an older or repeated one carries no news. One that counts more
  // than was handed over can only be a late report of a previous connection to this peer; it is
  // clamped so the window accounting of the current connection stays sound.
  if (messages_total <= link.written_total) return;
  link.written_total = std::min(messages_total, link.handed_total);
  Release(link, out);
  CheckInvariants(link);
}

void LinkQueues::FlushAndForget(const NodeId& peer, std::vector<Effect>& out) {
  auto it = links_.find(peer);
  if (it == links_.end()) return;
  Link& link = it->second;
  if (link.backlog) {
    Backlog& backlog = *link.backlog;
    const size_t waiting = backlog.size();
    assert(waiting <= queued_total_);
    while (backlog.size() > 0) {
      Send send = backlog.PopFront(backlog.HighestClass());
      // The peer is forgotten next, so a Written report would find nobody: do not ask for one.
      out.emplace_back(std::move(send));
    }
    counters_.released += waiting;
    queued_total_ -= waiting;
  }
  links_.erase(it);
}

void LinkQueues::Forget(const NodeId& peer) {
  auto it = links_.find(peer);
  if (it == links_.end()) return;
  const size_t waiting = it->second.waiting();
  assert(waiting <= queued_total_);
  counters_.dropped_link_down += waiting;
  queued_total_ -= waiting;
  links_.erase(it);
}

size_t LinkQueues::queued(const NodeId& peer) const {
  auto it = links_.find(peer);
  return it == links_.end() ? 0 : it->second.waiting();
}

uint64_t LinkQueues::in_flight(const NodeId& peer) const {
  auto it = links_.find(peer);
  return it == links_.end() ? 0 : it->second.in_flight();
}

// Hands one message to the driver, asking for a report when the window reaches half full (so
// the driver reports while messages are still in flight and the pipe stays busy) and when it is
// full (so a stalled window is always reopened). A protocol's own request for a report is kept.
void LinkQueues::Hand(Link& link, Send send, std::vector<Effect>& out) {
  assert(link.in_flight() < window_messages_);
  ++link.handed_total;
  const uint64_t in_flight = link.in_flight();
  if (in_flight == report_at_messages_ || in_flight == window_messages_) {
    send.report_written = true;
  }
  out.emplace_back(std::move(send));
  assert(link.in_flight() <= window_messages_);
}

void LinkQueues::Release(Link& link, std::vector<Effect>& out) {
  if (!link.backlog) return;
  Backlog& backlog = *link.backlog;
  while (backlog.size() > 0 && link.in_flight() < window_messages_) {
    assert(queued_total_ > 0);
    --queued_total_;
    ++counters_.released;
    Hand(link, backlog.PopFront(backlog.HighestClass()), out);
  }
  // Freed at once: most links are idle most of the time, and 100k nodes x ~6 links add up.
  if (backlog.size() == 0) link.backlog.reset();
}

// Waits in the backlog; at the bound the lowest class loses its newest message, which is `send`
// itself when nothing queued ranks below it (it is the newest among its equals).
void LinkQueues::Queue(Link& link, Send send) {
  const size_t cls = PriorityClass(send.priority);
  if (!link.backlog) link.backlog = std::make_unique<Backlog>();
  Backlog& backlog = *link.backlog;
  assert(backlog.size() <= queue_messages_max_);
  if (backlog.size() == queue_messages_max_) {
    const size_t lowest = backlog.LowestClass();
    ++counters_.dropped_full;
    if (cls <= lowest) {
      ++counters_.dropped_by_class[cls];
      return;
    }
    ++counters_.dropped_by_class[lowest];
    backlog.PopBack(lowest);
    --queued_total_;
  }
  backlog.PushBack(cls, std::move(send));
  ++queued_total_;
  assert(backlog.size() <= queue_messages_max_);
}

void LinkQueues::CheckInvariants(const Link& link) const {
  assert(link.written_total <= link.handed_total);
  assert(link.in_flight() <= window_messages_);
  // Storage is freed when drained, and only a full window makes a message wait.
  assert(!link.backlog || link.backlog->size() > 0);
  assert(link.waiting() == 0 || link.in_flight() == window_messages_);
  assert(link.waiting() <= queue_messages_max_);
  assert(counters_.queued ==
         counters_.released + counters_.dropped_full + counters_.dropped_link_down + queued_total_);
  (void)link;
}

}  // namespace myco
