// The TLS side of a node's identity (OpenSSL 3; the context is an asio::ssl::context, the links
// run on io/tls_stream.hpp).
//
// Every link is TLS 1.3 with mutual authentication and no certificate authority: a node's
// certificate is self-signed with its Ed25519 identity key (the libsodium seed is the same
// Ed25519 seed OpenSSL takes), so the peer's certificate key IS its NodeId. The verify callback
// accepts a lone self-signed Ed25519 certificate whose self-signature is valid (TLS itself proves
// the peer holds the key, by its CertificateVerify); who may join is decided afterwards by the
// transport's admission step, not by certificate chains.
//
// Admission proof: HMAC-SHA256 keyed by the network secret over 32 bytes of TLS exported keying
// material (RFC 8446 §7.5, label "EXPORTER-myco-admission", context = the sender's role). The
// proof is bound to this TLS session and to one direction, so it can neither be replayed on
// another connection nor reflected back, and the secret never crosses the wire.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string_view>

#include "myco/identity.hpp"
#include "myco/result.hpp"
#include "myco/types.hpp"

struct ssl_st;  // OpenSSL's SSL

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace myco {

enum class TlsRole : uint8_t { kDialer, kListener };
const char* TlsRoleName(TlsRole role);  // "dialer" / "listener"

// A TLS 1.3-only context usable for both roles: the node's self-signed Ed25519 certificate and
// key, peer certificates required, no session tickets (every link is a fresh full handshake, so
// exported keying material is always fresh). Fails only if OpenSSL does (kInternal).
Result<std::unique_ptr<boost::asio::ssl::context>> MakeTlsContext(const Identity& identity);

// The NodeId of the peer of a completed handshake: its certificate's raw Ed25519 public key.
// kUnavailable when there is no peer certificate or its key is not Ed25519.
Result<NodeId> PeerNodeId(ssl_st* ssl);

// The NodeId a certificate in DER form carries (tests, diagnostics).
Result<NodeId> CertificateNodeId(std::string_view der);

using AdmissionProof = std::array<uint8_t, 32>;

// The proof that the `role` end of this completed handshake knows `secret`.
// REQUIRES: !secret.empty().
Result<AdmissionProof> MakeAdmissionProof(ssl_st* ssl, std::string_view secret, TlsRole role);

// Constant-time comparison (CRYPTO_memcmp), so a prober learns nothing from timing.
bool AdmissionProofEquals(const AdmissionProof& a, const AdmissionProof& b);

}  // namespace myco
