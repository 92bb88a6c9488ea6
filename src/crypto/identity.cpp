#include "myco/identity.hpp"

#include <sodium.h>

#include <cassert>

namespace myco {

Status InitCrypto() {
  // sodium_init returns 0 on first success, 1 when already initialised, -1 on failure.
  static const int rc = sodium_init();
  if (rc < 0) return MakeError(ErrorCode::kInternal, "libsodium failed to initialise");
  return Status::Ok();
}

Result<Identity> Identity::Generate() {
  if (auto st = InitCrypto(); !st) return st.error();
  Identity identity;
  crypto_sign_keypair(identity.id_.bytes.data(), identity.secret_key_.data());
  return identity;
}

Result<Identity> Identity::FromSeed(std::span<const uint8_t, 32> seed) {
  if (auto st = InitCrypto(); !st) return st.error();
  Identity identity;
  crypto_sign_seed_keypair(identity.id_.bytes.data(), identity.secret_key_.data(), seed.data());
  return identity;
}

Result<Identity> Identity::FromSecretKey(std::span<const uint8_t> secret_key) {
  if (auto st = InitCrypto(); !st) return st.error();
  if (secret_key.size() != crypto_sign_SECRETKEYBYTES) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "secret key must be " + std::to_string(crypto_sign_SECRETKEYBYTES) +
                         " bytes, got " + std::to_string(secret_key.size()));
  }
  std::array<uint8_t, 32> seed{};
  crypto_sign_ed25519_sk_to_seed(seed.data(), secret_key.data());
  auto identity = FromSeed(seed);
  sodium_memzero(seed.data(), seed.size());
  if (!identity) return identity;
  // The stored public half must match the one derived from the seed, or the file is corrupt.
  if (sodium_memcmp(identity->secret_key_.data() + 32, secret_key.data() + 32, 32) != 0) {
    return MakeError(ErrorCode::kParse, "secret key's public half does not match its seed");
  }
  return identity;
}

Identity::~Identity() { sodium_memzero(secret_key_.data(), secret_key_.size()); }

Signature Identity::Sign(std::span<const uint8_t> message) const {
  Signature sig{};
  unsigned long long sig_len = 0;
  crypto_sign_detached(sig.data(), &sig_len, message.data(), message.size(), secret_key_.data());
  assert(sig_len == sig.size());
  return sig;
}

bool VerifySignature(const NodeId& signer, std::span<const uint8_t> message,
                     const Signature& signature) {
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                     signer.bytes.data()) == 0;
}

}  // namespace myco
