// What a PKCS#11 module holds, for `meshca hsm list`: its tokens and, when a
// PIN is available, the key objects on one token with the attributes that
// matter for a CA key (type and size, sensitive, extractable...). Never a
// secret value: only attributes a token shows to its logged-in user.
//
// Uses the raw module layer on the module the caller's KeyStoreContext
// (pkcs11_modules) loads; one thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "hsm/key_store.hpp"
#include "hsm/pkcs11_module.hpp"

namespace meshca::hsm {

struct Pkcs11KeyInfo {
  std::string object_class;  // "private" or "public"
  std::string label;
  std::string id_hex;
  std::string key_type;  // "RSA", "EC", ...
  std::optional<unsigned long> rsa_bits;
  std::string ec_curve;  // "P-256", "P-384", or an OID
  // Attributes of private keys (nullopt when the token does not say, or for public keys).
  std::optional<bool> sensitive, extractable, always_sensitive, never_extractable;
  std::optional<bool> local;  // generated inside the token
  std::vector<std::string> usage;  // operations the key allows: sign, decrypt, unwrap, derive / verify, encrypt, wrap
};

// A token as `meshca hsm list` shows it: what the token says about itself
// (Pkcs11TokenInfo), what it can do for meshca, and its keys.
struct Pkcs11TokenListing : Pkcs11TokenInfo {
  Pkcs11TokenListing() = default;
  explicit Pkcs11TokenListing(const Pkcs11TokenInfo& token) : Pkcs11TokenInfo(token) {}

  std::vector<std::string> can_generate;  // meshca algorithms the token generates and signs with
  std::vector<std::string> can_sign;      // ... signs with (an existing key)
  bool keys_listed = false;  // false when the token was filtered out
  bool logged_in = false;    // true when private objects are included
  std::vector<Pkcs11KeyInfo> keys;
};

struct Pkcs11Inventory {
  std::string module;
  std::string library;  // manufacturer / description from C_GetInfo
  ModuleFile file;      // owner, mode, SHA-256 (the module passed check_module_file)
  std::vector<Pkcs11TokenListing> tokens;
};

struct Pkcs11InventoryRequest {
  std::string module;
  std::string init_args;          // C_Initialize pReserved, for modules that need it (NSS softokn)
  std::string token;              // list keys of this token only (label); empty = every token, public objects
  std::string serial;             // alternatively, the token's serial
  std::optional<SecretRef> pin;   // log in to `token` to include private keys
};

// Errors: Error(key_store) for a module that does not load, a token that is
// not there (listing the labels present), a wrong or locked PIN.
Pkcs11Inventory list_pkcs11(const Pkcs11InventoryRequest& request, const KeyStoreContext& ctx);

}  // namespace meshca::hsm
