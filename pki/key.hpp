// Key algorithms, key generation and private-key PEM encoding.
//
// meshca supports exactly the algorithms Istio and every mainstream TLS
// stack accept for CA keys: ECDSA P-256/P-384 and RSA 2048/3072/4096.
// Private keys leave this module only as PEM held in a SecureBuffer: either
// unencrypted PKCS#8 (what istiod reads from ca-key.pem) or encrypted PKCS#8
// (PBES2, AES-256-CBC, PBKDF2-HMAC-SHA256) for the root key file.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/secure_buffer.hpp"
#include "pki/handles.hpp"

namespace meshca::pki {

enum class KeyAlgorithm { ecdsa_p256, ecdsa_p384, rsa_2048, rsa_3072, rsa_4096 };

std::optional<KeyAlgorithm> parse_key_algorithm(std::string_view name);
std::string_view key_algorithm_name(KeyAlgorithm alg);
// "ecdsa-p256 | ecdsa-p384 | rsa-2048 | rsa-3072 | rsa-4096", for messages.
std::string key_algorithm_choices();
bool is_rsa(KeyAlgorithm alg);

// The algorithm of an existing key, or nullopt for anything meshca does not
// accept (other curves, RSA < 2048, odd RSA sizes, Ed25519...).
std::optional<KeyAlgorithm> key_algorithm_of(const EVP_PKEY* key);

// The signature digest a key signs with: SHA-384 for P-384, SHA-256 else.
const EVP_MD* signature_digest(const EVP_PKEY* key);

PKeyPtr generate_key(KeyAlgorithm alg);

// Unencrypted PKCS#8 "PRIVATE KEY" PEM (one block, trailing newline).
SecureBuffer private_key_to_pkcs8_pem(const EVP_PKEY* key);
// Encrypted PKCS#8 "ENCRYPTED PRIVATE KEY" PEM.
SecureBuffer private_key_to_encrypted_pem(const EVP_PKEY* key, const SecureBuffer& passphrase);

// Parses an unencrypted private key PEM (PKCS#8, PKCS#1 or SEC1).
PKeyPtr private_key_from_pem(std::string_view pem, const std::string& where);
// Decodes `der` when it is exactly one unencrypted PKCS#8 PrivateKeyInfo
// (nothing after it); nullptr for anything else, which the caller then
// decodes the general way. Each thread keeps one OpenSSL decoder for it:
// setting a decoder up costs several times more than decoding a key, and a
// re-run or verify of a fleet reads a key per bundle.
PKeyPtr private_key_from_pkcs8_der(std::string_view der);
// Parses an "ENCRYPTED PRIVATE KEY" PEM. A wrong passphrase is
// Error(key_store); a file that is not an encrypted key is Error(invalid_input).
PKeyPtr private_key_from_encrypted_pem(std::string_view pem, const SecureBuffer& passphrase,
                                       const std::string& where);

// A software copy of the public half (DER round trip). Token-backed keys are
// verified against this copy, never against the token object itself.
PKeyPtr public_key_copy(const EVP_PKEY* key);
std::string public_key_der(const EVP_PKEY* key);
// Parses a DER SubjectPublicKeyInfo; Error(invalid_input) naming `where`.
PKeyPtr public_key_from_der(std::string_view der, const std::string& where);
// "ECDSA P-256", "RSA 3072".
std::string describe_key(const EVP_PKEY* key);

}  // namespace meshca::pki
