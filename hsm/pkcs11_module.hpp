// The raw PKCS#11 layer: a module loaded with dlopen, its function list, and
// the calls libp11 0.4.12 does not offer (EC key generation, attribute
// reads, token and object inventory).
//
// A Module dlopens the library (kept resident: RTLD_NODELETE), asks for
// C_GetFunctionList and calls C_Initialize; a module that another user in
// this process (libp11) has already initialized is accepted. libp11 loads
// the same library by path, gets the same handle and therefore the same
// module state: a login done through libp11 is visible to our sessions and
// the reverse. Destroy a Module only after every Session on it and after
// any libp11 context that uses the same library.
//
// Nothing here is thread safe: one thread uses a Module and its Sessions.
// Errors are meshca::Error(key_store) that name the module or token and
// never include a PIN.
#pragma once

#include <p11-kit/pkcs11.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/secure_buffer.hpp"
#include "hsm/pkcs11_module_file.hpp"
#include "pki/handles.hpp"
#include "pki/key.hpp"

namespace meshca::hsm::p11 {

// "CKR_PIN_INCORRECT", or "CKR 0x000001ab" for a code without a name here.
std::string rv_name(CK_RV rv);
// Throws Error(key_store, "<what>: <rv name>").
[[noreturn]] void throw_rv(const std::string& what, CK_RV rv, const std::string& where = {});

// A blank-padded fixed-size PKCS#11 text field, trailing blanks and NULs removed.
std::string fixed_string(const unsigned char* data, std::size_t size);
std::string to_hex(std::string_view bytes);
// nullopt when `hex` is not an even number of hex digits (':' separators allowed).
std::optional<std::string> from_hex(std::string_view hex);

// Which implementation a module is, for hints and recovery paths only (never
// to change what meshca accepts).
enum class Vendor { softhsm2, tpm2, opencryptoki, nss, p11kit, other };
// From the module's file name and C_GetInfo's manufacturer/description.
Vendor detect_vendor(const std::string& path, const std::string& library);

class Module {
 public:
  // Checks the file (check_module_file: absolute, owned by root or us, not
  // writable by others), loads and initializes the module at `path`, passing
  // `init_args` (when not empty) as CK_C_INITIALIZE_ARGS.pReserved.
  // Error(key_store) with the reason and the fix otherwise.
  explicit Module(const std::string& path, const std::string& init_args = {});
  ~Module();
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  CK_FUNCTION_LIST* fn() const { return fn_; }
  const std::string& path() const { return path_; }
  const std::string& init_args() const { return init_args_; }
  const ModuleFile& file() const { return file_; }
  Vendor vendor() const { return vendor_; }
  // What to check in this implementation's setup ("for SoftHSM2: check
  // SOFTHSM2_CONF..."); vendor-neutral for an unknown module.
  std::string setup_hint() const;
  // How the user PIN is unblocked on this implementation.
  std::string recovery_hint() const;
  // "SoftHSM / Implementation of PKCS11", from C_GetInfo.
  std::string library_description() const;

 private:
  struct DlClose {
    void operator()(void* handle) const;
  };
  std::string path_;
  std::string init_args_;
  ModuleFile file_;
  Vendor vendor_ = Vendor::other;
  std::unique_ptr<void, DlClose> handle_;
  CK_FUNCTION_LIST* fn_ = nullptr;
  bool finalize_ = false;
};

struct TokenInfo {
  CK_SLOT_ID slot_id = 0;
  std::string label;
  std::string serial;
  std::string manufacturer;
  std::string model;
  CK_FLAGS flags = 0;
  CK_ULONG min_pin_len = 0;  // from C_GetTokenInfo; 0/0 when the token sets no limits
  CK_ULONG max_pin_len = 0;

  bool login_required() const { return (flags & CKF_LOGIN_REQUIRED) != 0; }
  bool user_pin_initialized() const { return (flags & CKF_USER_PIN_INITIALIZED) != 0; }
  bool user_pin_locked() const { return (flags & CKF_USER_PIN_LOCKED) != 0; }
  bool token_initialized() const { return (flags & CKF_TOKEN_INITIALIZED) != 0; }
  // "'acme-root' (serial 9f3c..., SoftHSM v2)"
  std::string describe() const;
};

// Every slot that holds a token, in the module's order.
std::vector<TokenInfo> list_tokens(const Module& module);
TokenInfo token_info(const Module& module, CK_SLOT_ID slot);
// The one token whose label and/or serial match (empty = any). Error(key_store)
// listing the tokens present when none matches, or when several do.
TokenInfo select_token(const Module& module, const std::string& label, const std::string& serial);

// Turns a failed user login into the operator's message: wrong PIN, PIN
// locked, and the token's retry-counter flags, with this implementation's
// recovery path (SO reset, TPM dictionary-attack lockout). Never includes the PIN.
[[noreturn]] void throw_login_failure(CK_RV rv, const TokenInfo& token_after, const Module& module);
// Refuses (Error key_store) a PIN length outside the token's
// ulMinPinLen..ulMaxPinLen, so such a PIN is never sent to count as a failure.
void require_pin_length(const Module& module, const TokenInfo& token, std::size_t length);

// What a token can do, from C_GetMechanismList / C_GetMechanismInfo.
struct Mechanism {
  CK_MECHANISM_TYPE type = 0;
  CK_MECHANISM_INFO info{};
};
std::vector<Mechanism> mechanisms(const Module& module, CK_SLOT_ID slot);
// meshca's algorithms the mechanisms allow signing with (and generating, when asked).
std::vector<pki::KeyAlgorithm> supported_algorithms(const std::vector<Mechanism>& list, bool generate);
std::string algorithm_list(const std::vector<pki::KeyAlgorithm>& algorithms);  // "ecdsa-p256, rsa-2048"
// Refuses (Error key_store) an algorithm the token cannot sign with (or
// generate): the message names the token, what it supports and what to change.
void require_algorithm(const Module& module, const TokenInfo& token, pki::KeyAlgorithm algorithm, bool generate);

struct KeyObject {
  CK_OBJECT_HANDLE handle = 0;
  CK_OBJECT_CLASS object_class = CKO_PRIVATE_KEY;
  CK_KEY_TYPE key_type = CK_UNAVAILABLE_INFORMATION;
  std::string label;
  std::string id;  // raw CKA_ID bytes
  std::optional<bool> sensitive, extractable, always_sensitive, never_extractable, local, can_sign;
  // Usage beyond signing: decrypt/unwrap/derive (private key), encrypt/wrap/derive (public key).
  std::optional<bool> can_decrypt, can_unwrap, can_derive, can_encrypt, can_wrap;
  std::optional<unsigned long> rsa_bits;
  std::string ec_curve;  // "P-256", "P-384", or the OID text of another curve

  std::string type_name() const;      // "RSA", "EC", "CKK 0x..."
  std::string describe_type() const;  // "RSA 3072", "EC P-384"
};

class Session {
 public:
  Session(const Module& module, CK_SLOT_ID slot, bool read_write);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  CK_SESSION_HANDLE handle() const { return session_; }
  CK_FUNCTION_LIST* fn() const { return fn_; }

  // C_Login as the user; exactly one attempt. Already logged in is fine.
  void login(const SecureBuffer& pin, const Module& module, const TokenInfo& token);

  std::vector<CK_OBJECT_HANDLE> find(const std::vector<CK_ATTRIBUTE>& tmpl) const;
  // The attribute's bytes; nullopt when the token will not tell (sensitive,
  // not present). `rv_out` receives the C_GetAttributeValue result.
  std::optional<std::string> bytes(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type, CK_RV* rv_out = nullptr) const;
  std::optional<bool> boolean(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) const;
  std::optional<CK_ULONG> ulong(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) const;

  KeyObject describe_key(CK_OBJECT_HANDLE object, CK_OBJECT_CLASS object_class) const;
  // Keys of `object_class` with this label and/or id (empty = any).
  std::vector<KeyObject> find_keys(CK_OBJECT_CLASS object_class, const std::string& label = {},
                                   const std::string& id = {}) const;
  // Every object carrying `label` or `id`, whatever its class.
  std::vector<CK_OBJECT_HANDLE> find_any(const std::string& label, const std::string& id) const;

 private:
  CK_FUNCTION_LIST* fn_;
  CK_SESSION_HANDLE session_ = CK_INVALID_HANDLE;
};

// A software EVP_PKEY (no token reference) built from a public key object's
// CKA_MODULUS/CKA_PUBLIC_EXPONENT or CKA_EC_PARAMS/CKA_EC_POINT; for an RSA
// private key object from its (public) modulus and exponent.
pki::PKeyPtr software_public_key(const Session& session, const KeyObject& key);

struct KeyPairHandles {
  CK_OBJECT_HANDLE public_key = CK_INVALID_HANDLE;
  CK_OBJECT_HANDLE private_key = CK_INVALID_HANDLE;
};

struct GeneratedKeyPair {
  KeyPairHandles handles;
  std::string template_name;  // "signing-only", or the narrower template the token needed
};

// C_GenerateKeyPair inside the token: token objects, private key sensitive,
// never extractable, private. Usage: the signing-only template first
// (private SIGN, no DECRYPT/UNWRAP/DERIVE; public VERIFY, no ENCRYPT/WRAP);
// when the token rejects it (a template error), and `signing_only_required`
// is false, the next narrowest (see kTemplates). The caller reads the
// attributes back for the truth. `label` may be empty (id-only key). The
// session must be read-write and logged in.
GeneratedKeyPair generate_key_pair(const Session& session, pki::KeyAlgorithm algorithm, const std::string& label,
                                   const std::string& id, bool signing_only_required);

}  // namespace meshca::hsm::p11
