// The per-packet costs behind the "Cost model" table (docs/ARCHITECTURE.md): signing and
// verifying a packet with a 256-byte payload, the pieces of that work (canonical bytes, SHA-256),
// the codec's price for the same packet, and what the simulator pays instead of a verification
// (the memo verifier's hit). Run with: build/myco_bench --benchmark_filter=Crypto
#include <benchmark/benchmark.h>
#include <sodium.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "core/propagation/packet.hpp"
#include "myco/identity.hpp"
#include "sim/memo_verifier.hpp"
#include "wire/codec.hpp"

namespace myco {
namespace {

constexpr size_t kPayloadBytes = 256;

Identity BenchIdentity() {
  std::array<uint8_t, 32> seed{};
  seed.fill(7);
  auto identity = Identity::FromSeed(seed);
  if (!identity.ok()) std::abort();  // libsodium failed to initialise: nothing to measure
  return std::move(identity).value();
}

// A broadcast packet as Propagation publishes it, with a 256-byte JSON payload.
PacketBody BenchBody(const Identity& origin) {
  PacketBody body;
  body.id = {origin.id(), 0x0123'4567'89ab'cdef};
  body.information_type = "threat_alert";
  body.created_at_ms = 1'718'000'000'000;
  body.ttl_max = 15;
  body.priority = 0.9;
  body.payload = R"({"threat":"port_scan","source":"10.0.3.99","details":")";
  body.payload.append(kPayloadBytes - body.payload.size() - 2, 'x');
  body.payload += "\"}";
  SignPacket(body, origin);
  return body;
}

void BM_CryptoSignPacket(benchmark::State& state) {
  const Identity origin = BenchIdentity();
  PacketBody body = BenchBody(origin);
  for (auto _ : state) {
    SignPacket(body, origin);
    benchmark::DoNotOptimize(body.signature);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_CryptoSignPacket);

void BM_CryptoVerifyPacket(benchmark::State& state) {
  const Identity origin = BenchIdentity();
  const PacketBody body = BenchBody(origin);
  for (auto _ : state) {
    const bool ok = VerifyPacketSignature(body);
    if (!ok) state.SkipWithError("verification failed");
    benchmark::DoNotOptimize(ok);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_CryptoVerifyPacket);

void BM_CryptoCanonicalBytes(benchmark::State& state) {
  const Identity origin = BenchIdentity();
  const PacketBody body = BenchBody(origin);
  for (auto _ : state) {
    std::string bytes = body.CanonicalBytes();
    benchmark::DoNotOptimize(bytes);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_CryptoCanonicalBytes);

void BM_CryptoSha256_256B(benchmark::State& state) {
  (void)InitCrypto();
  const std::string data(kPayloadBytes, 'x');
  std::array<uint8_t, crypto_hash_sha256_BYTES> hash{};
  for (auto _ : state) {
    crypto_hash_sha256(hash.data(), reinterpret_cast<const unsigned char*>(data.data()),
                       data.size());
    benchmark::DoNotOptimize(hash);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_CryptoSha256_256B);

void BM_CryptoEncodePacket(benchmark::State& state) {
  const Identity origin = BenchIdentity();
  const Message message =
      PacketMsg{std::make_shared<const PacketBody>(BenchBody(origin)), 14, 1, {}};
  for (auto _ : state) {
    std::string bytes = EncodeMessage(message);
    benchmark::DoNotOptimize(bytes);
  }
  state.counters["frame_bytes"] = static_cast<double>(EstimatedWireBytes(message));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_CryptoEncodePacket);

void BM_CryptoDecodePacket(benchmark::State& state) {
  const Identity origin = BenchIdentity();
  const std::string bytes =
      EncodeMessage(PacketMsg{std::make_shared<const PacketBody>(BenchBody(origin)), 14, 1, {}});
  for (auto _ : state) {
    Result<Message> message = DecodeMessage(bytes);
    if (!message.ok()) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(message);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_CryptoDecodePacket);

// What each of a broadcast's N-1 receivers costs the simulator after the first one verified.
void BM_CryptoMemoVerifierHit(benchmark::State& state) {
  const Identity origin = BenchIdentity();
  MemoPacketVerifier verifier;
  // A realistic map population: the body sought among many cached ones.
  std::vector<std::shared_ptr<const PacketBody>> bodies;
  for (uint64_t seq = 0; seq < static_cast<uint64_t>(state.range(0)); ++seq) {
    PacketBody body = BenchBody(origin);
    body.id.seq = seq;
    body.payload_hash = {};  // not signed: these entries are cached as failures, which is fine
    bodies.push_back(std::make_shared<const PacketBody>(std::move(body)));
  }
  for (const auto& body : bodies) (void)verifier.Verify(body);
  const auto body = std::make_shared<const PacketBody>(BenchBody(origin));
  if (!verifier.Verify(body)) state.SkipWithError("verification failed");
  for (auto _ : state) {
    const bool ok = verifier.Verify(body);
    benchmark::DoNotOptimize(ok);
  }
  state.counters["misses"] = static_cast<double>(verifier.counters().misses);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_CryptoMemoVerifierHit)->Arg(0)->Arg(10'000);

}  // namespace
}  // namespace myco
