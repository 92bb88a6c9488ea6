// Memoized packet verification for the simulator; see memo_verifier.hpp for why it is sound.
#include "sim/memo_verifier.hpp"

#include <cassert>

namespace myco {

namespace {

// What a body costs in memory, roughly: enough to bound what the cache pins, not an exact count.
size_t ApproximateBodyBytes(const PacketBody& body) {
  return sizeof(PacketBody) + body.payload.capacity() + body.information_type.capacity() +
         body.destinations.capacity() * sizeof(NodeId) + body.selector.node_type.capacity() +
         body.selector.specialization.capacity();
}

}  // namespace

MemoPacketVerifier::MemoPacketVerifier(Config config, Check check)
    : config_(config), check_(check) {
  assert(config_.entries_max > 0);
  assert(check_ != nullptr);
}

bool MemoPacketVerifier::Verify(const std::shared_ptr<const PacketBody>& body) {
  if (body == nullptr) {
    ++counters_.rejected;
    return false;
  }
  if (const auto it = verdicts_.find(body.get()); it != verdicts_.end()) {
    ++counters_.hits;
    return it->second;
  }
  ++counters_.misses;
  const bool verdict = check_(*body);
  if (!verdict) ++counters_.rejected;

  const size_t bytes = ApproximateBodyBytes(*body);
  // A body larger than the whole byte budget is not worth evicting everything for.
  if (bytes > config_.retained_bytes_max) return verdict;
  while (verdicts_.size() >= config_.entries_max ||
         retained_bytes_ + bytes > config_.retained_bytes_max) {
    EvictOldest();
  }
  verdicts_.emplace(body.get(), verdict);
  fifo_.push_back({body, bytes});
  retained_bytes_ += bytes;
  assert(verdicts_.size() == fifo_.size());
  assert(verdicts_.size() <= config_.entries_max);
  return verdict;
}

void MemoPacketVerifier::EvictOldest() {
  assert(!fifo_.empty());
  Entry& oldest = fifo_.front();
  const size_t erased = verdicts_.erase(oldest.body.get());
  assert(erased == 1);
  (void)erased;
  retained_bytes_ -= oldest.bytes;
  fifo_.pop_front();
  ++counters_.evictions;
}

}  // namespace myco
