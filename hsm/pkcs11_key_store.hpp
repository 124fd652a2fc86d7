// The root key inside a PKCS#11 token, reached through libp11.
//
// The token is found by label and/or serial (never by slot index: SoftHSM2
// renumbers slots), the key by CKA_LABEL and/or CKA_ID. New keys are
// generated inside the token with C_GenerateKeyPair (CKA_SENSITIVE, not
// extractable) and their attributes are read back before use. One login per
// run; a wrong PIN is reported, never retried (the one exception, finishing
// a PIN change a stopped run began, is in hsm/pkcs11_login.hpp, which also
// holds a user PIN kept as custodians' shares).
//
// Before a store is handed out it signs a random test message with the token
// key and verifies the signature with the software copy of the public key, so
// a mismatched key pair is caught before a ceremony relies on it.
//
// The module comes from the caller (KeyStoreContext::pkcs11_modules): several
// stores may be open at once on one module (the old and the new root during
// a rotation), each holding the one Pkcs11Module, which is finalized when
// the last holder is gone (hsm/pkcs11_module.hpp). A store opened while its
// token is already logged in by another store on the module reuses that
// login and asks for no PIN.
//
// Threads: a store (and the module and sessions behind it) is meant for the
// one thread that opened it; neither it nor its signing key is safe to use
// from several threads at once.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "hsm/key_store.hpp"
#include "hsm/pkcs11_module.hpp"

namespace meshca::hsm {

std::unique_ptr<KeyStore> open_pkcs11_key_store(const Pkcs11KeyRef& ref, pki::KeyAlgorithm algorithm,
                                                KeyPresence presence, const KeyStoreContext& ctx);

// `meshca hsm keygen`: generates a new key pair named by ref.label (and
// ref.id_hex when given, else 16 random bytes) inside the token. Refuses
// (Error key_store) when any object with that label or id already exists.
std::unique_ptr<KeyStore> generate_pkcs11_key(const Pkcs11KeyRef& ref, pki::KeyAlgorithm algorithm,
                                              const KeyStoreContext& ctx);

// The usage attributes of a key pair as the token reports them (nullopt:
// the token did not say).
struct KeyUsage {
  std::optional<bool> sign, decrypt, unwrap, derive;  // private key
  std::optional<bool> verify, encrypt, wrap;          // public key (when there is one)
  // The private key may sign and nothing else (decrypt, unwrap, derive all
  // reported false). Public-key encrypt/wrap are reported by describe() but
  // do not count: without a private key that decrypts or unwraps they
  // protect nothing (the TPM module mirrors its sign bit as public CKA_ENCRYPT).
  bool signing_only() const;
  // "sign" or "sign, decrypt" (+ "unreported: ..." for attributes the token hid).
  std::string describe() const;
};

// What a PKCS#11 store knows about its token and key (never a secret).
struct Pkcs11KeyFacts {
  std::string module;
  std::string module_sha256;
  std::string module_owner;
  std::string module_mode;
  std::string library;  // C_GetInfo manufacturer / description
  KeyUsage usage;
  std::string generation_template;  // set when this run generated the key
  // A PIN held as custodians' shares: the share set's facts (JSON object
  // text; never a share), empty otherwise.
  std::string pin_shares;
  Pkcs11TokenInfo token;
  std::string key_label;
  std::string key_id_hex;
  pki::KeyAlgorithm algorithm = pki::KeyAlgorithm::ecdsa_p384;
  bool sensitive = false;
  bool extractable = true;
  bool always_sensitive = false;
  bool never_extractable = false;
};

// The facts of a store made by open_pkcs11_key_store / generate_pkcs11_key;
// nullptr for any other KeyStore.
const Pkcs11KeyFacts* pkcs11_facts(const KeyStore& store);

}  // namespace meshca::hsm
