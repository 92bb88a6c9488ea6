// The simulator's memoizing verifier: one real check per body, real verdicts for tampered
// copies, and its bounds.
#include "sim/memo_verifier.hpp"

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "myco/identity.hpp"

namespace myco {
namespace {

// Counts the real checks behind the verifier's back, so the test does not trust its counters.
int real_checks = 0;
bool CountingCheck(const PacketBody& body) {
  ++real_checks;
  return VerifyPacketSignature(body);
}

class MemoVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override { real_checks = 0; }

  static std::shared_ptr<const PacketBody> SignedBody(uint64_t seq, size_t payload_bytes = 16) {
    static const Identity kOrigin = [] {
      std::array<uint8_t, 32> seed{};
      seed.fill(3);
      auto identity = Identity::FromSeed(seed);
      EXPECT_TRUE(identity.ok());
      return std::move(identity).value();
    }();
    PacketBody body;
    body.id = {kOrigin.id(), seq};
    body.information_type = "threat_alert";
    body.ttl_max = 8;
    body.payload = std::string(payload_bytes, 'p');
    SignPacket(body, kOrigin);
    return std::make_shared<const PacketBody>(std::move(body));
  }
};

TEST_F(MemoVerifierTest, SameBodyIsCheckedOnce) {
  MemoPacketVerifier verifier({}, &CountingCheck);
  const auto body = SignedBody(1);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(verifier.Verify(body)) << i;
  EXPECT_EQ(real_checks, 1);
  EXPECT_EQ(verifier.counters().misses, 1u);
  EXPECT_EQ(verifier.counters().hits, 999u);
  EXPECT_EQ(verifier.counters().rejected, 0u);
  EXPECT_EQ(verifier.entries(), 1u);
}

TEST_F(MemoVerifierTest, TamperedCopyIsCheckedForRealAndFails) {
  MemoPacketVerifier verifier({}, &CountingCheck);
  const auto body = SignedBody(1);
  ASSERT_TRUE(verifier.Verify(body));
  PacketBody tampered = *body;
  tampered.payload[0] = 'q';
  const auto tampered_body = std::make_shared<const PacketBody>(std::move(tampered));
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(verifier.Verify(tampered_body)) << i;
  EXPECT_EQ(real_checks, 2);
  EXPECT_EQ(verifier.counters().rejected, 1u);
  // An identical but separate copy (as a node decoding from the wire holds) is checked again.
  EXPECT_TRUE(verifier.Verify(std::make_shared<const PacketBody>(*body)));
  EXPECT_EQ(real_checks, 3);
  // The original is still answered from the cache.
  EXPECT_TRUE(verifier.Verify(body));
  EXPECT_EQ(real_checks, 3);
}

TEST_F(MemoVerifierTest, VerdictsMatchTheRealVerifier) {
  MemoPacketVerifier memo;
  RealPacketVerifier real;
  std::vector<std::shared_ptr<const PacketBody>> bodies;
  for (uint64_t seq = 0; seq < 20; ++seq) {
    PacketBody body = *SignedBody(seq);
    if (seq % 3 == 1) body.ttl_max += 1;
    if (seq % 5 == 2) body.signature[7] ^= 4;
    bodies.push_back(std::make_shared<const PacketBody>(std::move(body)));
  }
  bodies.push_back(nullptr);
  for (int round = 0; round < 3; ++round) {
    for (const auto& body : bodies) EXPECT_EQ(memo.Verify(body), real.Verify(body));
  }
  EXPECT_EQ(memo.counters().misses, 20u);  // null is rejected without a check or an entry
  EXPECT_EQ(memo.entries(), 20u);
}

TEST_F(MemoVerifierTest, EvictsTheOldestAtTheEntryBound) {
  MemoPacketVerifier verifier({.entries_max = 4}, &CountingCheck);
  std::vector<std::shared_ptr<const PacketBody>> bodies;
  for (uint64_t seq = 0; seq < 6; ++seq) bodies.push_back(SignedBody(seq));
  for (const auto& body : bodies) ASSERT_TRUE(verifier.Verify(body));
  EXPECT_EQ(verifier.entries(), 4u);
  EXPECT_EQ(verifier.counters().evictions, 2u);
  EXPECT_EQ(real_checks, 6);
  // The four newest are cached; the two oldest were evicted and are checked again.
  for (size_t i = 2; i < 6; ++i) ASSERT_TRUE(verifier.Verify(bodies[i]));
  EXPECT_EQ(real_checks, 6);
  ASSERT_TRUE(verifier.Verify(bodies[0]));
  EXPECT_EQ(real_checks, 7);
  EXPECT_EQ(verifier.entries(), 4u);
  EXPECT_EQ(verifier.counters().evictions, 3u);
}

TEST_F(MemoVerifierTest, EvictionReleasesTheBody) {
  MemoPacketVerifier verifier({.entries_max = 1});
  auto first = SignedBody(1);
  const std::weak_ptr<const PacketBody> watch = first;
  ASSERT_TRUE(verifier.Verify(first));
  first.reset();
  EXPECT_FALSE(watch.expired());  // the cache keeps the body, and so its address, alive
  ASSERT_TRUE(verifier.Verify(SignedBody(2)));
  EXPECT_TRUE(watch.expired());
}

TEST_F(MemoVerifierTest, EvictsAtTheByteBound) {
  const auto body_bytes = [](const std::shared_ptr<const PacketBody>& body) {
    MemoPacketVerifier probe;
    EXPECT_TRUE(probe.Verify(body));
    return probe.retained_bytes();
  };
  const auto big = SignedBody(0, 10'000);
  const size_t one = body_bytes(big);
  ASSERT_GT(one, 10'000u);
  MemoPacketVerifier verifier({.entries_max = 100, .retained_bytes_max = 3 * one}, &CountingCheck);
  for (uint64_t seq = 0; seq < 5; ++seq) ASSERT_TRUE(verifier.Verify(SignedBody(seq, 10'000)));
  EXPECT_EQ(verifier.entries(), 3u);
  EXPECT_LE(verifier.retained_bytes(), 3 * one);
  EXPECT_EQ(verifier.counters().evictions, 2u);
  // A body larger than the whole budget is verified but not kept.
  MemoPacketVerifier small({.retained_bytes_max = 1000}, &CountingCheck);
  real_checks = 0;
  EXPECT_TRUE(small.Verify(big));
  EXPECT_TRUE(small.Verify(big));
  EXPECT_EQ(real_checks, 2);
  EXPECT_EQ(small.entries(), 0u);
}

}  // namespace
}  // namespace myco
