#include "crypto/tls.hpp"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <array>
#include <boost/asio/ssl/context.hpp>

namespace myco {
namespace {

Identity MakeIdentity(uint8_t seed_byte) {
  std::array<uint8_t, 32> seed{};
  seed.fill(seed_byte);
  Result<Identity> identity = Identity::FromSeed(seed);
  EXPECT_TRUE(identity.ok());
  return std::move(identity).value();
}

// Two SSL ends joined by an in-memory BIO pair: a full TLS 1.3 handshake without sockets.
class Pair {
 public:
  Pair(SSL_CTX* client_ctx, SSL_CTX* server_ctx)
      : client_(SSL_new(client_ctx)), server_(SSL_new(server_ctx)) {
    BIO* a = nullptr;
    BIO* b = nullptr;
    BIO_new_bio_pair(&a, 0, &b, 0);
    SSL_set_bio(client_, a, a);
    SSL_set_bio(server_, b, b);
    SSL_set_connect_state(client_);
    SSL_set_accept_state(server_);
  }
  ~Pair() {
    SSL_free(client_);
    SSL_free(server_);
  }
  Pair(const Pair&) = delete;
  Pair& operator=(const Pair&) = delete;

  // True when both ends completed; false as soon as one end fails.
  bool Handshake() {
    bool client_done = false;
    bool server_done = false;
    for (int round = 0; round < 50 && !(client_done && server_done); ++round) {
      if (!client_done && !Step(client_, client_done)) return false;
      if (!server_done && !Step(server_, server_done)) return false;
    }
    return client_done && server_done;
  }

  SSL* client() { return client_; }
  SSL* server() { return server_; }

 private:
  static bool Step(SSL* ssl, bool& done) {
    const int rc = SSL_do_handshake(ssl);
    if (rc == 1) {
      done = true;
      return true;
    }
    const int error = SSL_get_error(ssl, rc);
    return error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE;
  }

  SSL* client_;
  SSL* server_;
};

TEST(TlsTest, HandshakeShowsEachSideThePeersNodeId) {
  const Identity alice = MakeIdentity(1);
  const Identity bob = MakeIdentity(2);
  auto alice_ctx = MakeTlsContext(alice);
  auto bob_ctx = MakeTlsContext(bob);
  ASSERT_TRUE(alice_ctx.ok()) << alice_ctx.error().message;
  ASSERT_TRUE(bob_ctx.ok()) << bob_ctx.error().message;

  Pair pair((*alice_ctx)->native_handle(), (*bob_ctx)->native_handle());
  ASSERT_TRUE(pair.Handshake());
  EXPECT_EQ(SSL_version(pair.client()), TLS1_3_VERSION);
  Result<NodeId> seen_by_alice = PeerNodeId(pair.client());
  Result<NodeId> seen_by_bob = PeerNodeId(pair.server());
  ASSERT_TRUE(seen_by_alice.ok()) << seen_by_alice.error().message;
  ASSERT_TRUE(seen_by_bob.ok()) << seen_by_bob.error().message;
  EXPECT_EQ(*seen_by_alice, bob.id());
  EXPECT_EQ(*seen_by_bob, alice.id());
}

TEST(TlsTest, CertificateCarriesTheIdentityKey) {
  const Identity alice = MakeIdentity(7);
  auto ctx = MakeTlsContext(alice);
  ASSERT_TRUE(ctx.ok());
  X509* cert = SSL_CTX_get0_certificate((*ctx)->native_handle());
  ASSERT_NE(cert, nullptr);
  unsigned char* der = nullptr;
  const int length = i2d_X509(cert, &der);
  ASSERT_GT(length, 0);
  Result<NodeId> id =
      CertificateNodeId(std::string_view(reinterpret_cast<const char*>(der), length));
  OPENSSL_free(der);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, alice.id());
  EXPECT_FALSE(CertificateNodeId("not a certificate").ok());
}

TEST(TlsTest, PeerWithoutCertificateIsRefused) {
  const Identity bob = MakeIdentity(2);
  auto bob_ctx = MakeTlsContext(bob);
  ASSERT_TRUE(bob_ctx.ok());
  SSL_CTX* anonymous = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(anonymous, SSL_VERIFY_NONE, nullptr);
  {
    Pair pair(anonymous, (*bob_ctx)->native_handle());
    EXPECT_FALSE(pair.Handshake());
  }
  SSL_CTX_free(anonymous);
}

TEST(TlsTest, AdmissionProofsAgreeAcrossEndsAndDifferByRoleAndSecret) {
  const Identity alice = MakeIdentity(1);
  const Identity bob = MakeIdentity(2);
  auto alice_ctx = MakeTlsContext(alice);
  auto bob_ctx = MakeTlsContext(bob);
  ASSERT_TRUE(alice_ctx.ok() && bob_ctx.ok());
  Pair pair((*alice_ctx)->native_handle(), (*bob_ctx)->native_handle());
  ASSERT_TRUE(pair.Handshake());

  const std::string secret = "a shared secret of the fleet";
  auto dialer_own = MakeAdmissionProof(pair.client(), secret, TlsRole::kDialer);
  auto dialer_checked = MakeAdmissionProof(pair.server(), secret, TlsRole::kDialer);
  auto listener_own = MakeAdmissionProof(pair.server(), secret, TlsRole::kListener);
  auto wrong_secret =
      MakeAdmissionProof(pair.client(), "another secret entirely", TlsRole::kDialer);
  ASSERT_TRUE(dialer_own.ok() && dialer_checked.ok() && listener_own.ok() && wrong_secret.ok());
  EXPECT_TRUE(AdmissionProofEquals(*dialer_own, *dialer_checked));
  EXPECT_FALSE(AdmissionProofEquals(*dialer_own, *listener_own));  // no reflection
  EXPECT_FALSE(AdmissionProofEquals(*dialer_own, *wrong_secret));

  // Another session gives another proof: a recorded proof cannot be replayed.
  Pair other((*alice_ctx)->native_handle(), (*bob_ctx)->native_handle());
  ASSERT_TRUE(other.Handshake());
  auto replay = MakeAdmissionProof(other.client(), secret, TlsRole::kDialer);
  ASSERT_TRUE(replay.ok());
  EXPECT_FALSE(AdmissionProofEquals(*dialer_own, *replay));
}

}  // namespace
}  // namespace myco
