// The root key in an encrypted PKCS#8 file (AES-256-CBC, PBKDF2-HMAC-SHA256).
//
// For teams without an HSM, or for test ceremonies. The file is created
// 0600 atomically and never overwritten; the passphrase comes from
// env:/file:/prompt and must be at least kMinPassphraseLength characters
// when a new key is created. A passphrase held as custodians' shares
// (core/secret_shares.hpp) is made by meshca for a new key, its share files
// written to KeyStoreContext::shares_dir, and is gathered from those files or
// the prompt for an existing key before the file is decrypted.
#pragma once

#include <memory>

#include "hsm/key_store.hpp"

namespace meshca::hsm {

inline constexpr std::size_t kMinPassphraseLength = 12;

std::unique_ptr<KeyStore> open_file_key_store(const FileKeyRef& ref, pki::KeyAlgorithm algorithm,
                                              KeyPresence presence, const KeyStoreContext& ctx);

}  // namespace meshca::hsm
