// Certificate signing requests (PKCS#10): how a key made and kept near a
// cluster reaches the ceremony room as a public key only.
//
// A CSR contributes exactly one thing, its public key. Its subject, SANs
// and requested extensions are never read into a certificate: the plan
// decides every field. Reading a CSR checks, in this order, that the file is
// one clean "CERTIFICATE REQUEST" PEM block (pki/pem_scan), that it is a
// PKCS#10 request, that its self-signature verifies (proof that whoever
// made it holds the private key), and that the key is one meshca accepts
// (pki/key.hpp). Every refusal is Error(invalid_input) naming the file and
// saying what to do.
//
// A key is pinned by the SHA-256 of its DER SubjectPublicKeyInfo, as
// lowercase hex: the value `openssl pkey -pubin -outform DER | sha256sum`
// prints, independent of the CSR that carried it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "pki/certificate.hpp"
#include "pki/handles.hpp"
#include "pki/key.hpp"

namespace meshca::pki {

struct CsrKey {
  PKeyPtr public_key;
  KeyAlgorithm algorithm;
  std::string spki_sha256;  // lowercase hex
};

// Reads and checks a CSR (see above); `where` names it in errors.
CsrKey read_csr(std::string_view pem, const std::string& where);

// SHA-256 of the key's DER SubjectPublicKeyInfo, lowercase hex.
std::string spki_sha256(const EVP_PKEY* key);

// A pin as written in a plan (64 hex digits, optionally colon-separated, any
// case), normalised to lowercase hex; nullopt when it is not one.
std::optional<std::string> normalize_spki_pin(std::string_view text);

// A PKCS#10 request for `key`, signed with it (SHA-384 for P-384, SHA-256
// else), carrying `subject` for the reader's information only.
std::string make_csr_pem(const EVP_PKEY* key, const DistinguishedName& subject);

}  // namespace meshca::pki
