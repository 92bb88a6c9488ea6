// The simulator's packet verifier: real verdicts, computed once per body.
//
// In the simulator a broadcast's body is one immutable object shared by every node it reaches,
// so verifying it at each of N nodes repeats the same pure computation N-1 times (10,000 nodes x
// 1,000 broadcasts would be 465 s of Ed25519). This verifier runs the real check the first time
// it sees a body and remembers the verdict keyed by the body's address. The entry holds a
// shared_ptr to the body, so while it is cached the address cannot be reused by another body;
// bodies are `const`, so the verdict for an address is a pure function of the bytes there. A
// tampered copy is a different object, so it is checked for real (and fails). Verdicts are
// identical to RealPacketVerifier's; only the CPU spent differs. When every message goes through
// the codec (SimConfig::route_through_codec) each node decodes its own body, nothing hits, and
// every copy is verified for real, as in the daemon.
//
// Bounded: at entries_max entries, or when the cached bodies' bytes would exceed
// retained_bytes_max, the oldest entries are evicted (FIFO: broadcasts are verified in a burst
// right after publication, so the oldest entry is the one least likely to be asked again). An
// evicted body that comes back is simply verified again.
//
// REQUIRES: external synchronization (the simulator is single-threaded and shares one instance
// among all its nodes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <unordered_map>

#include "core/propagation/packet.hpp"
#include "core/propagation/propagation.hpp"

namespace myco {

struct MemoVerifierConfig {
  // Bodies remembered. A million entries cost about 70 MB of bookkeeping, plus the bodies.
  size_t entries_max = 1'000'000;
  // Approximate bytes of the bodies the cache keeps alive: without it a million cached 64 KiB
  // payloads would pin 64 GB.
  size_t retained_bytes_max = size_t{256} << 20;
};

class MemoPacketVerifier final : public PacketVerifier {
 public:
  // Outside the class so it can be a default argument (GCC needs the member initializers first).
  using Config = MemoVerifierConfig;

  struct Counters {
    uint64_t hits = 0;       // verdicts answered from the cache
    uint64_t misses = 0;     // real checks run
    uint64_t evictions = 0;  // entries dropped at a bound
    uint64_t rejected = 0;   // real checks that failed (null bodies included)
  };

  // The check that decides a verdict; VerifyPacketSignature except in tests.
  using Check = bool (*)(const PacketBody& body);

  explicit MemoPacketVerifier(Config config = {}, Check check = &VerifyPacketSignature);
  MemoPacketVerifier(const MemoPacketVerifier&) = delete;
  MemoPacketVerifier& operator=(const MemoPacketVerifier&) = delete;

  bool Verify(const std::shared_ptr<const PacketBody>& body) override;

  const Counters& counters() const { return counters_; }
  size_t entries() const { return verdicts_.size(); }
  size_t retained_bytes() const { return retained_bytes_; }
  const Config& config() const { return config_; }

 private:
  struct Entry {
    std::shared_ptr<const PacketBody> body;  // pins the address the verdict is keyed by
    size_t bytes;
  };

  void EvictOldest();

  Config config_;
  Check check_;
  // The map owns nothing; `fifo_` holds the bodies, oldest first.
  std::unordered_map<const PacketBody*, bool> verdicts_;
  std::deque<Entry> fifo_;
  size_t retained_bytes_ = 0;
  Counters counters_;
};

}  // namespace myco
