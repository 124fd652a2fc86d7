// Where the root CA's private key lives, behind one interface.
//
// A KeyStore hands out a software copy of the public key (for building and
// verifying certificates) and an EVP_PKEY that signs. FileKeyStore keeps the
// key in an encrypted PKCS#8 file; Pkcs11KeyStore keeps it inside a PKCS#11
// token (libp11), where it is generated non-extractable and never leaves.
// open_key_store() picks the store a plan's root.key section names; a token
// store gets its module from the caller's KeyStoreContext::pkcs11_modules.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "core/secret_source.hpp"
#include "pki/handles.hpp"
#include "pki/key.hpp"

namespace meshca::hsm {

class KeyStore {
 public:
  virtual ~KeyStore() = default;

  // One line for the operator and the transcript; never a secret.
  virtual std::string description() const = 0;
  virtual pki::KeyAlgorithm algorithm() const = 0;
  // A software copy of the public key.
  virtual const EVP_PKEY* public_key() const = 0;
  // The key that signs. For a token this is a handle to the token object.
  // Not safe for concurrent use from several threads.
  virtual EVP_PKEY* signing_key() = 0;
  // True when this run created the key.
  virtual bool generated() const = 0;
  // Facts for the transcript as a JSON object text (never a secret): for a
  // token the module's path and SHA-256, the key's usage attributes read
  // back, and whether it is signing-only. "{}" when there is nothing to add.
  virtual std::string facts_json() const { return "{}"; }
  // An independent signing key for one worker thread, or null when the
  // store cannot provide one (a token session): callers then serialise
  // every use of signing_key().
  virtual pki::PKeyPtr worker_signing_key() { return nullptr; }
};

// `store: file` in the plan.
struct FileKeyRef {
  std::filesystem::path path;  // relative paths are resolved against the plan's directory
  SecretRef passphrase{SecretKind::env, "MESHCA_ROOT_PASS"};
};

// `store: pkcs11` in the plan, or an RFC 7512 URI.
struct Pkcs11KeyRef {
  std::string module;  // path to the PKCS#11 module (.so)
  std::string token;   // token label
  std::string serial;  // token serial (alternative to, or with, the label)
  std::string label;   // key object label (CKA_LABEL)
  std::string id_hex;  // key object id (CKA_ID) in hex; optional
  SecretRef pin{SecretKind::env, "MESHCA_PIN"};
  // With a PIN held as custodians' shares (`pin: {shares: ..., initial:
  // REF}`): where the token's current user PIN comes from when meshca
  // generates the key and gives the token its new, shared PIN
  // (hsm/pkcs11_pin_shares.hpp). Unused once the shares exist.
  std::optional<SecretRef> initial_pin;
  std::string init_args;            // C_Initialize pReserved (e.g. NSS softokn's configdir=...); optional
  bool require_signing_only = false;  // `require: signing-only`: refuse a key that may decrypt/unwrap/derive
};

enum class KeyStoreKind { file, pkcs11 };

struct RootKeyRef {
  KeyStoreKind kind = KeyStoreKind::file;
  pki::KeyAlgorithm algorithm = pki::KeyAlgorithm::ecdsa_p384;
  FileKeyRef file;
  Pkcs11KeyRef pkcs11;
};

enum class KeyPresence {
  must_exist,         // load only; a missing key is an error
  create_if_missing,  // generate when absent (first ceremony)
};

class Pkcs11Modules;  // hsm/pkcs11_module.hpp

struct KeyStoreContext {
  std::filesystem::path base_dir;  // the plan's directory, for relative paths
  SecretPrompt prompt;             // empty when no terminal is available
  // The PKCS#11 modules of this command, created by the command and shared
  // by every copy of its context: each module is loaded once, when the
  // first key store on it opens, and every store on it (the current and the
  // new root of a rotation) gets the same Pkcs11Module. Null when the
  // command opens no token; a PKCS#11 key reference then is Error(internal).
  std::shared_ptr<Pkcs11Modules> pkcs11_modules = nullptr;
  // Where the custodians' share files of a secret held as shares are
  // written (a new key) or read (an existing one); empty: they are typed at
  // `prompt`, and a new key's shares cannot be written.
  std::filesystem::path shares_dir = {};
};

// "ecdsa-p384 in PKCS#11 token 'acme-root' key 'root-2026' via /usr/lib/...":
// where a reference says the key lives, without opening anything.
std::string describe_key_reference(const RootKeyRef& ref);

// Opens (or, with create_if_missing, creates) the key `ref` names. A key of
// another algorithm than `ref.algorithm` is refused. Errors are exit 4
// (key store) or 3 (malformed reference).
std::unique_ptr<KeyStore> open_key_store(const RootKeyRef& ref, KeyPresence presence, const KeyStoreContext& ctx);

}  // namespace meshca::hsm
