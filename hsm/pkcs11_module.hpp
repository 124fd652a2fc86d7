// A PKCS#11 module loaded once per command, and the raw PKCS#11 layer: the
// calls libp11 0.4.12 does not offer (EC key generation, attribute reads,
// token and object inventory).
//
// One file per job: pkcs11_module.cpp loads the module (dlopen,
// C_Initialize, libp11's context and slots, the vendor and its hints);
// pkcs11_tokens.cpp lists and selects tokens, explains failed logins and
// reads the mechanisms; pkcs11_session.cpp holds the return codes as text,
// sessions, object search, attribute reads and software public keys;
// pkcs11_keygen.cpp generates key pairs in the token.
//
// Pkcs11Module is the one owner of a loaded module. Its constructor checks
// the file (check_module_file), dlopens it, asks for C_GetFunctionList,
// calls C_Initialize, then loads libp11's context (PKCS11_CTX_load) on the
// same path. dlopen of a path already loaded returns the same library, so
// libp11 and the raw layer drive one module state: a login done through
// libp11 is visible to our sessions and the reverse. Its destructor releases
// libp11's slots and finalizes the module exactly once (PKCS11_CTX_unload
// calls C_Finalize), then drops both library references.
//
// Why one owner: PKCS#11 state is per process, not per caller. A second
// C_Initialize answers CKR_CRYPTOKI_ALREADY_INITIALIZED, and C_Finalize or
// C_CloseAllSessions by one user logs out and closes the sessions of every
// other. So a command loads each module once (Pkcs11Modules, owned by the
// command's KeyStoreContext) and hands it to every key store on it: the
// current and the new root of a rotation share one Pkcs11Module. A second
// Pkcs11Module for a module that is already loaded and initialized in this
// process is refused (Error internal): the module's own "already
// initialized" answer is the check, so there is no process-global registry.
//
// Destroy a Pkcs11Module after every Session and key (EVP_PKEY) from it; key
// stores hold it by shared_ptr, so that order holds by construction.
// Nothing here is thread safe: one thread uses a Pkcs11Module and its
// Sessions. Errors are meshca::Error(key_store) that name the module or
// token and never include a PIN.
#pragma once

#include <libp11.h>
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

namespace meshca::hsm {

// Which implementation a module is, for hints and recovery paths only (never
// to change what meshca accepts).
enum class Vendor { softhsm2, tpm2, opencryptoki, nss, p11kit, other };

class Pkcs11Module {
 public:
  // Checks the file (check_module_file: absolute, owned by root or us, not
  // writable by others), loads and initializes the module at `path`, passing
  // `init_args` (when not empty) as CK_C_INITIALIZE_ARGS.pReserved, and
  // loads libp11's context on it. Error(key_store) with the reason and the
  // fix otherwise; Error(internal) when this process already initialized the
  // module (another Pkcs11Module holds it).
  explicit Pkcs11Module(const std::string& path, const std::string& init_args = {});
  ~Pkcs11Module();
  Pkcs11Module(const Pkcs11Module&) = delete;
  Pkcs11Module& operator=(const Pkcs11Module&) = delete;

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

  // libp11's slot for `slot_id` (its token present), enumerating libp11's
  // slots on first use and once more when a token appeared since; nullptr
  // when libp11 does not see a token there. Owned by this module.
  PKCS11_SLOT* libp11_slot(CK_SLOT_ID slot_id);

 private:
  struct DlClose {
    void operator()(void* handle) const;
  };
  class Libp11;  // libp11's context and slot list (pkcs11_module.cpp)

  std::string path_;
  std::string init_args_;
  ModuleFile file_;
  Vendor vendor_ = Vendor::other;
  std::unique_ptr<void, DlClose> handle_;
  CK_FUNCTION_LIST* fn_ = nullptr;
  std::unique_ptr<Libp11> libp11_;
};

// The modules one command has loaded, each once: every key store of the
// command gets its module here. Owned by the command (through its
// KeyStoreContext); not thread safe.
class Pkcs11Modules {
 public:
  // The module at `path` (the same object for every call naming that file),
  // loaded on the first call. Error(invalid_input) when the same module is
  // named with different init_args.
  std::shared_ptr<Pkcs11Module> open(const std::string& path, const std::string& init_args);
  std::size_t size() const { return modules_.size(); }

 private:
  std::vector<std::shared_ptr<Pkcs11Module>> modules_;
};

// What a token says about itself (C_GetTokenInfo): the one token type of
// hsm/, used by the raw layer, the key stores' facts and `meshca hsm list`.
struct Pkcs11TokenInfo {
  CK_SLOT_ID slot_id = 0;
  std::string label;
  std::string serial;
  std::string manufacturer;
  std::string model;
  CK_FLAGS flags = 0;
  CK_ULONG min_pin_len = 0;  // 0/0 when the token sets no limits
  CK_ULONG max_pin_len = 0;

  bool token_initialized() const { return (flags & CKF_TOKEN_INITIALIZED) != 0; }
  bool login_required() const { return (flags & CKF_LOGIN_REQUIRED) != 0; }
  bool user_pin_initialized() const { return (flags & CKF_USER_PIN_INITIALIZED) != 0; }
  bool user_pin_locked() const { return (flags & CKF_USER_PIN_LOCKED) != 0; }
  bool user_pin_count_low() const { return (flags & CKF_USER_PIN_COUNT_LOW) != 0; }
  bool user_pin_final_try() const { return (flags & CKF_USER_PIN_FINAL_TRY) != 0; }
  // "'acme-root' (serial 9f3c..., SoftHSM v2)"
  std::string describe() const;
};

}  // namespace meshca::hsm

namespace meshca::hsm::p11 {

// "CKR_PIN_INCORRECT", or "CKR 0x000001ab" for a code without a name here.
std::string rv_name(CK_RV rv);
// Throws Error(key_store, "<what>: <rv name>").
[[noreturn]] void throw_rv(const std::string& what, CK_RV rv, const std::string& where = {});

// A blank-padded fixed-size PKCS#11 text field, trailing blanks and NULs removed.
std::string fixed_string(const unsigned char* data, std::size_t size);

// From the module's file name and C_GetInfo's manufacturer/description.
Vendor detect_vendor(const std::string& path, const std::string& library);

// Every slot that holds a token, in the module's order.
std::vector<Pkcs11TokenInfo> list_tokens(const Pkcs11Module& module);
Pkcs11TokenInfo token_info(const Pkcs11Module& module, CK_SLOT_ID slot);
// The one token whose label and/or serial match (empty = any). Error(key_store)
// listing the tokens present when none matches, or when several do.
Pkcs11TokenInfo select_token(const Pkcs11Module& module, const std::string& label, const std::string& serial);

// Turns a failed user login into the operator's message: wrong PIN, PIN
// locked, and the token's retry-counter flags, with this implementation's
// recovery path (SO reset, TPM dictionary-attack lockout). Never includes the PIN.
[[noreturn]] void throw_login_failure(CK_RV rv, const Pkcs11TokenInfo& token_after, const Pkcs11Module& module);
// Refuses (Error key_store) a PIN length outside the token's
// ulMinPinLen..ulMaxPinLen, so such a PIN is never sent to count as a failure.
void require_pin_length(const Pkcs11Module& module, const Pkcs11TokenInfo& token, std::size_t length);

// What a token can do, from C_GetMechanismList / C_GetMechanismInfo.
struct Mechanism {
  CK_MECHANISM_TYPE type = 0;
  CK_MECHANISM_INFO info{};
};
std::vector<Mechanism> mechanisms(const Pkcs11Module& module, CK_SLOT_ID slot);
// meshca's algorithms the mechanisms allow signing with (and generating, when asked).
std::vector<pki::KeyAlgorithm> supported_algorithms(const std::vector<Mechanism>& list, bool generate);
std::string algorithm_list(const std::vector<pki::KeyAlgorithm>& algorithms);  // "ecdsa-p256, rsa-2048"
// Refuses (Error key_store) an algorithm the token cannot sign with (or
// generate): the message names the token, what it supports and what to change.
void require_algorithm(const Pkcs11Module& module, const Pkcs11TokenInfo& token, pki::KeyAlgorithm algorithm, bool generate);

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
  Session(const Pkcs11Module& module, CK_SLOT_ID slot, bool read_write);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  CK_SESSION_HANDLE handle() const { return session_; }
  CK_FUNCTION_LIST* fn() const { return fn_; }

  // C_Login as the user; exactly one attempt. Already logged in is fine.
  void login(const SecureBuffer& pin, const Pkcs11Module& module, const Pkcs11TokenInfo& token);

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
