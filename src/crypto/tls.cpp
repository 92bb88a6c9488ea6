#include "crypto/tls.hpp"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sodium.h>

#include <boost/asio/ssl/context.hpp>
#include <cstring>
#include <exception>
#include <string>

namespace myco {
namespace {

constexpr std::string_view kExporterLabel = "EXPORTER-myco-admission";

// OpenSSL's error queue as one line (and emptied, so the next failure starts clean).
std::string OpenSslError(std::string_view what) {
  std::string out(what);
  unsigned long code = 0;  // NOLINT(runtime/int): OpenSSL's type
  bool first = true;
  while ((code = ERR_get_error()) != 0) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    out += first ? ": " : "; ";
    out += buffer;
    first = false;
  }
  return out;
}

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

Result<NodeId> Ed25519KeyOf(EVP_PKEY* key) {
  if (key == nullptr || EVP_PKEY_id(key) != EVP_PKEY_ED25519) {
    return MakeError(ErrorCode::kUnavailable, "peer certificate key is not Ed25519");
  }
  NodeId id;
  size_t length = id.bytes.size();
  if (EVP_PKEY_get_raw_public_key(key, id.bytes.data(), &length) != 1 ||
      length != id.bytes.size()) {
    return MakeError(ErrorCode::kUnavailable, OpenSslError("cannot read peer certificate key"));
  }
  return id;
}

// Accepts exactly one certificate: self-signed (valid signature by its own key) with an Ed25519
// key. Chain errors (no CA knows it, self-signed, dates) are expected and overridden; the
// transport then takes the key as the peer's NodeId and decides admission itself.
int VerifyCallback(int /*preverified*/, X509_STORE_CTX* store) {
  if (X509_STORE_CTX_get_error_depth(store) != 0) return 0;  // we never use chains
  X509* cert = X509_STORE_CTX_get_current_cert(store);
  if (cert == nullptr) return 0;
  EVP_PKEY* key = X509_get0_pubkey(cert);
  if (key == nullptr || EVP_PKEY_id(key) != EVP_PKEY_ED25519) return 0;
  if (X509_verify(cert, key) != 1) {
    ERR_clear_error();
    return 0;
  }
  return 1;
}

Result<X509Ptr> SelfSignedCertificate(EVP_PKEY* key, const NodeId& id) {
  X509Ptr cert(X509_new());
  if (!cert) return MakeError(ErrorCode::kInternal, OpenSslError("X509_new"));
  uint64_t serial = 0;
  randombytes_buf(&serial, sizeof serial);
  serial >>= 1;                                               // positive
  const std::string name = "myco-" + id.Hex().substr(0, 32);  // CN holds at most 64
  X509_NAME* subject = X509_get_subject_name(cert.get());
  const bool ok =
      X509_set_version(cert.get(), 2) == 1 &&
      ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert.get()), serial) == 1 &&
      // Validity is not checked by peers (VerifyCallback); a wide window avoids clock-skew noise
      // in other tools that look at the certificate.
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), -24L * 3600) != nullptr &&
      X509_time_adj_ex(X509_getm_notAfter(cert.get()), 365 * 100, 0, nullptr) != nullptr &&
      X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1,
                                 0) == 1 &&
      X509_set_issuer_name(cert.get(), subject) == 1 && X509_set_pubkey(cert.get(), key) == 1 &&
      X509_sign(cert.get(), key, nullptr) > 0;  // Ed25519 takes no digest
  if (!ok) return MakeError(ErrorCode::kInternal, OpenSslError("cannot build the certificate"));
  return cert;
}

Result<std::unique_ptr<boost::asio::ssl::context>> BuildContext(const Identity& identity) {
  namespace ssl = boost::asio::ssl;
  auto context = std::make_unique<ssl::context>(ssl::context::tls);
  SSL_CTX* native = context->native_handle();

  // The libsodium secret key is seed || public key; OpenSSL wants the 32-byte seed.
  const auto secret = identity.secret_key();
  PkeyPtr key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, secret.data(), 32));
  if (!key) return MakeError(ErrorCode::kInternal, OpenSslError("cannot load the identity key"));
  Result<NodeId> derived = Ed25519KeyOf(key.get());
  if (!derived.ok() || *derived != identity.id()) {
    return MakeError(ErrorCode::kInternal, "OpenSSL derived another public key from the seed");
  }
  Result<X509Ptr> cert = SelfSignedCertificate(key.get(), identity.id());
  if (!cert.ok()) return cert.error();

  const bool ok = SSL_CTX_set_min_proto_version(native, TLS1_3_VERSION) == 1 &&
                  SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION) == 1 &&
                  SSL_CTX_set_num_tickets(native, 0) == 1 &&
                  SSL_CTX_use_certificate(native, cert->get()) == 1 &&
                  SSL_CTX_use_PrivateKey(native, key.get()) == 1 &&
                  SSL_CTX_check_private_key(native) == 1;
  if (!ok) return MakeError(ErrorCode::kInternal, OpenSslError("cannot set up the TLS context"));
  SSL_CTX_set_options(native, SSL_OP_NO_TICKET | SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_verify(native, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, VerifyCallback);
  return context;
}

}  // namespace

const char* TlsRoleName(TlsRole role) { return role == TlsRole::kDialer ? "dialer" : "listener"; }

Result<std::unique_ptr<boost::asio::ssl::context>> MakeTlsContext(const Identity& identity) {
  try {
    return BuildContext(identity);
  } catch (const std::exception& e) {
    return MakeError(ErrorCode::kInternal, std::string("TLS context: ") + e.what());
  }
}

Result<NodeId> PeerNodeId(ssl_st* ssl) {
  X509Ptr cert(SSL_get1_peer_certificate(ssl));
  if (!cert) return MakeError(ErrorCode::kUnavailable, "peer sent no certificate");
  return Ed25519KeyOf(X509_get0_pubkey(cert.get()));
}

Result<NodeId> CertificateNodeId(std::string_view der) {
  const auto* data = reinterpret_cast<const unsigned char*>(der.data());
  X509Ptr cert(d2i_X509(nullptr, &data, static_cast<long>(der.size())));  // NOLINT(runtime/int)
  if (!cert) return MakeError(ErrorCode::kParse, OpenSslError("not a DER certificate"));
  return Ed25519KeyOf(X509_get0_pubkey(cert.get()));
}

Result<AdmissionProof> MakeAdmissionProof(ssl_st* ssl, std::string_view secret, TlsRole role) {
  if (Status s = InitCrypto(); !s.ok()) return s.error();
  std::array<uint8_t, 32> material{};
  const std::string_view context = TlsRoleName(role);
  if (SSL_export_keying_material(
          ssl, material.data(), material.size(), kExporterLabel.data(), kExporterLabel.size(),
          reinterpret_cast<const unsigned char*>(context.data()), context.size(), 1) != 1) {
    return MakeError(ErrorCode::kInternal, OpenSslError("cannot export keying material"));
  }
  crypto_auth_hmacsha256_state state;
  AdmissionProof proof{};
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(secret.data()),
                              secret.size());
  crypto_auth_hmacsha256_update(&state, material.data(), material.size());
  crypto_auth_hmacsha256_final(&state, proof.data());
  sodium_memzero(&state, sizeof state);
  sodium_memzero(material.data(), material.size());
  return proof;
}

bool AdmissionProofEquals(const AdmissionProof& a, const AdmissionProof& b) {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace myco
