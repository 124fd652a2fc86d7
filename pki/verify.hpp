// Independent checks run on every certificate before meshca writes it.
//
// A certificate is accepted only when its signature verifies with a software
// copy of the issuer's public key, the path to a trusted root verifies with
// OpenSSL's X509_verify_cert in X509_STRICT mode, and (for bundles) the
// private key matches. The same functions check bundles found on disk.
//
// Verdicts are remembered per process (bounded, thread-safe) by the SHA-256
// of everything they depend on, so a question asked again is answered
// without recomputing it and always with the same answer: a signature by
// the certificate and the issuer certificate, a path by the target, the
// untrusted certificates, roots and CRLs, the time, purpose and flags (a
// path checked at "now" is never remembered). A verified path records the
// signatures OpenSSL checked along it.
#pragma once

#include <string>
#include <vector>

#include "core/time.hpp"
#include "pki/handles.hpp"

namespace meshca::pki {

// True when `cert` carries a valid signature by `issuer`'s public key.
bool signed_by(const X509* cert, const X509* issuer);

struct ChainVerdict {
  bool ok = false;
  std::string error;  // OpenSSL's verify error string with depth and subject
};

enum class AnchorSignature { check, already_verified };

// Everything X509_verify_cert needs besides the target: the one place meshca
// builds a trust store. Strict mode (X509_V_FLAG_X509_STRICT) always.
struct PathCheck {
  std::vector<const X509*> untrusted;  // intermediates, any order
  std::vector<const X509*> roots;      // trust anchors
  std::vector<const X509_CRL*> crls;   // with CRLs, every certificate of the path is checked (CRL_CHECK_ALL)
  UnixTime at = 0;                     // 0: now
  int purpose = 0;                     // X509_PURPOSE_*, 0 for none
  AnchorSignature anchor = AnchorSignature::check;
};
ChainVerdict verify_path(const X509* target, const PathCheck& check);

// Verifies `target` through `untrusted` (intermediates, any order) to one of
// `roots`, with X509_V_FLAG_X509_STRICT, at time `at` (0 = now). With
// AnchorSignature::check the root's self-signature is verified too; skip it
// only for a root whose signature this process has already verified.
ChainVerdict verify_chain(const X509* target, const std::vector<const X509*>& untrusted,
                          const std::vector<const X509*>& roots, UnixTime at = 0,
                          AnchorSignature anchor = AnchorSignature::check);

// True when `key`'s public half is the certificate's subject public key.
bool key_matches_certificate(const EVP_PKEY* key, const X509* cert);

}  // namespace meshca::pki
