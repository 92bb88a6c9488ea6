// A node's Ed25519 key pair (libsodium). The public key is the NodeId.
// Identity is movable, not copyable: the secret key lives in exactly one place.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "myco/result.hpp"
#include "myco/types.hpp"

namespace myco {

using Signature = std::array<uint8_t, 64>;

class Identity {
 public:
  static Result<Identity> Generate();
  // Deterministic key pair from a 32-byte seed (the simulator derives seeds from its --seed).
  static Result<Identity> FromSeed(std::span<const uint8_t, 32> seed);
  // The 64-byte libsodium secret key (seed followed by public key), e.g. read from disk.
  static Result<Identity> FromSecretKey(std::span<const uint8_t> secret_key);

  Identity(Identity&&) noexcept = default;
  Identity& operator=(Identity&&) noexcept = default;
  Identity(const Identity&) = delete;
  Identity& operator=(const Identity&) = delete;
  ~Identity();

  const NodeId& id() const { return id_; }
  std::span<const uint8_t, 64> secret_key() const { return secret_key_; }

  Signature Sign(std::span<const uint8_t> message) const;

 private:
  Identity() = default;
  NodeId id_;
  std::array<uint8_t, 64> secret_key_{};
};

// True when `signature` is `signer`'s valid Ed25519 signature over `message`.
bool VerifySignature(const NodeId& signer, std::span<const uint8_t> message,
                     const Signature& signature);

// Initialises libsodium once; safe to call from anywhere, any number of times.
Status InitCrypto();

}  // namespace myco
