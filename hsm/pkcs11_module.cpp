#include "hsm/pkcs11_module.hpp"

#include <dlfcn.h>
#include <openssl/core_names.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <span>

#include "core/error.hpp"
#include "core/hex.hpp"
#include "hsm/pkcs11_handles.hpp"
#include "hsm/pkcs11_module_file.hpp"

namespace meshca::hsm::p11 {
namespace {

using ParamBldPtr = pki::Ptr<OSSL_PARAM_BLD>;
using ParamPtr = pki::Ptr<OSSL_PARAM>;
using Asn1ObjectPtr = pki::Ptr<ASN1_OBJECT>;

struct RvName {
  CK_RV rv;
  const char* name;
};

constexpr RvName kRvNames[] = {
    {CKR_OK, "CKR_OK"},
    {CKR_CANCEL, "CKR_CANCEL"},
    {CKR_HOST_MEMORY, "CKR_HOST_MEMORY"},
    {CKR_SLOT_ID_INVALID, "CKR_SLOT_ID_INVALID"},
    {CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR"},
    {CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED"},
    {CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD"},
    {CKR_ATTRIBUTE_READ_ONLY, "CKR_ATTRIBUTE_READ_ONLY"},
    {CKR_ATTRIBUTE_SENSITIVE, "CKR_ATTRIBUTE_SENSITIVE"},
    {CKR_ATTRIBUTE_TYPE_INVALID, "CKR_ATTRIBUTE_TYPE_INVALID"},
    {CKR_ATTRIBUTE_VALUE_INVALID, "CKR_ATTRIBUTE_VALUE_INVALID"},
    {CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR"},
    {CKR_DEVICE_MEMORY, "CKR_DEVICE_MEMORY"},
    {CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED"},
    {CKR_FUNCTION_NOT_SUPPORTED, "CKR_FUNCTION_NOT_SUPPORTED"},
    {CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID"},
    {CKR_KEY_SIZE_RANGE, "CKR_KEY_SIZE_RANGE"},
    {CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID"},
    {CKR_MECHANISM_PARAM_INVALID, "CKR_MECHANISM_PARAM_INVALID"},
    {CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID"},
    {CKR_OPERATION_ACTIVE, "CKR_OPERATION_ACTIVE"},
    {CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT"},
    {CKR_PIN_INVALID, "CKR_PIN_INVALID"},
    {CKR_PIN_LEN_RANGE, "CKR_PIN_LEN_RANGE"},
    {CKR_PIN_EXPIRED, "CKR_PIN_EXPIRED"},
    {CKR_PIN_LOCKED, "CKR_PIN_LOCKED"},
    {CKR_SESSION_CLOSED, "CKR_SESSION_CLOSED"},
    {CKR_SESSION_COUNT, "CKR_SESSION_COUNT"},
    {CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID"},
    {CKR_SESSION_READ_ONLY, "CKR_SESSION_READ_ONLY"},
    {CKR_TEMPLATE_INCOMPLETE, "CKR_TEMPLATE_INCOMPLETE"},
    {CKR_TEMPLATE_INCONSISTENT, "CKR_TEMPLATE_INCONSISTENT"},
    {CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT"},
    {CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED"},
    {CKR_TOKEN_WRITE_PROTECTED, "CKR_TOKEN_WRITE_PROTECTED"},
    {CKR_USER_ALREADY_LOGGED_IN, "CKR_USER_ALREADY_LOGGED_IN"},
    {CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN"},
    {CKR_USER_PIN_NOT_INITIALIZED, "CKR_USER_PIN_NOT_INITIALIZED"},
    {CKR_USER_TYPE_INVALID, "CKR_USER_TYPE_INVALID"},
    {CKR_DOMAIN_PARAMS_INVALID, "CKR_DOMAIN_PARAMS_INVALID"},
    {CKR_CURVE_NOT_SUPPORTED, "CKR_CURVE_NOT_SUPPORTED"},
    {CKR_BUFFER_TOO_SMALL, "CKR_BUFFER_TOO_SMALL"},
    {CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED"},
    {CKR_CRYPTOKI_ALREADY_INITIALIZED, "CKR_CRYPTOKI_ALREADY_INITIALIZED"},
    {CKR_PIN_TOO_WEAK, "CKR_PIN_TOO_WEAK"},
};

// Calls C_FindObjectsFinal however the search ends.
class FindGuard {
 public:
  FindGuard(CK_FUNCTION_LIST* fn, CK_SESSION_HANDLE session) : fn_(fn), session_(session) {}
  ~FindGuard() { fn_->C_FindObjectsFinal(session_); }
  FindGuard(const FindGuard&) = delete;
  FindGuard& operator=(const FindGuard&) = delete;

 private:
  CK_FUNCTION_LIST* fn_;
  CK_SESSION_HANDLE session_;
};

std::string curve_name(const std::string& ec_params) {
  const auto* p = reinterpret_cast<const unsigned char*>(ec_params.data());
  Asn1ObjectPtr oid(d2i_ASN1_OBJECT(nullptr, &p, static_cast<long>(ec_params.size())));
  if (!oid) {
    pki::drain_openssl_errors();
    return "unknown curve (CKA_EC_PARAMS is not an OID)";
  }
  switch (OBJ_obj2nid(oid.get())) {
    case NID_X9_62_prime256v1: return "P-256";
    case NID_secp384r1: return "P-384";
    case NID_secp521r1: return "P-521";
    default: break;
  }
  char text[128] = {};
  OBJ_obj2txt(text, sizeof text, oid.get(), 0);
  return text;
}

// The DER OID (CKA_EC_PARAMS) of a curve meshca generates.
std::string ec_params_for(pki::KeyAlgorithm algorithm) {
  static const unsigned char p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
  static const unsigned char p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
  if (algorithm == pki::KeyAlgorithm::ecdsa_p256) return {reinterpret_cast<const char*>(p256), sizeof p256};
  if (algorithm == pki::KeyAlgorithm::ecdsa_p384) return {reinterpret_cast<const char*>(p384), sizeof p384};
  throw Error(ErrorKind::internal, "not an EC algorithm");
}

unsigned long rsa_bits_for(pki::KeyAlgorithm algorithm) {
  switch (algorithm) {
    case pki::KeyAlgorithm::rsa_2048: return 2048;
    case pki::KeyAlgorithm::rsa_3072: return 3072;
    case pki::KeyAlgorithm::rsa_4096: return 4096;
    default:
      throw Error(ErrorKind::internal, "not an RSA algorithm");
  }
}

// CKA_EC_POINT is a DER OCTET STRING around the point (PKCS#11 2.40); a few
// tokens return the bare point. Accept both.
std::string unwrap_ec_point(const std::string& value) {
  const auto* p = reinterpret_cast<const unsigned char*>(value.data());
  pki::Asn1OctetStringPtr octets(d2i_ASN1_OCTET_STRING(nullptr, &p, static_cast<long>(value.size())));
  if (octets && p == reinterpret_cast<const unsigned char*>(value.data()) + value.size()) {
    return {reinterpret_cast<const char*>(ASN1_STRING_get0_data(octets.get())),
            static_cast<std::size_t>(ASN1_STRING_length(octets.get()))};
  }
  pki::drain_openssl_errors();
  return value;
}

pki::PKeyPtr pkey_from_params(const char* type, OSSL_PARAM_BLD* bld, const std::string& what) {
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld));
  if (!params) pki::throw_openssl(what, ErrorKind::key_store);
  pki::PKeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0) pki::throw_openssl(what, ErrorKind::key_store);
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) <= 0) {
    pki::throw_openssl(what, ErrorKind::key_store);
  }
  return pki::PKeyPtr(raw);
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

Vendor detect_vendor(const std::string& path, const std::string& library) {
  const std::string name = lower(std::filesystem::path(path).filename().string());
  const std::string lib = lower(library);
  if (name.find("softhsm") != std::string::npos || lib.find("softhsm") != std::string::npos) return Vendor::softhsm2;
  if (name.find("tpm2") != std::string::npos || lib.find("tpm2") != std::string::npos) return Vendor::tpm2;
  if (name.find("opencryptoki") != std::string::npos || lib.find("opencryptoki") != std::string::npos) {
    return Vendor::opencryptoki;
  }
  if (name.find("p11-kit") != std::string::npos) return Vendor::p11kit;
  if (name.find("softokn") != std::string::npos || lib.find("nss") != std::string::npos) return Vendor::nss;
  return Vendor::other;
}

std::string rv_name(CK_RV rv) {
  for (const auto& entry : kRvNames) {
    if (entry.rv == rv) return entry.name;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "CKR 0x%08lx", static_cast<unsigned long>(rv));
  return buf;
}

void throw_rv(const std::string& what, CK_RV rv, const std::string& where) {
  throw Error(ErrorKind::key_store, what + ": " + rv_name(rv), where);
}

std::string fixed_string(const unsigned char* data, std::size_t size) {
  std::string s(reinterpret_cast<const char*>(data), size);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

}  // namespace meshca::hsm::p11

namespace meshca::hsm {

// ---------------------------------------------------------------- Pkcs11Module

void Pkcs11Module::DlClose::operator()(void* handle) const {
  if (handle != nullptr) ::dlclose(handle);
}

// libp11's context on the module, and its slot list. libp11 dlopens the
// path itself (the same library, already mapped) and calls C_Initialize,
// which answers CKR_CRYPTOKI_ALREADY_INITIALIZED; libp11 accepts that.
// PKCS11_release_all_slots closes every session of each slot
// (C_CloseAllSessions) and PKCS11_CTX_unload calls C_Finalize: both happen
// here only, when the module's last user is gone.
class Pkcs11Module::Libp11 {
 public:
  Libp11(const std::string& path, const std::string& init_args) : ctx_(PKCS11_CTX_new()) {
    if (!ctx_) pki::throw_openssl("libp11 could not allocate a context", ErrorKind::key_store);
    if (!init_args.empty()) PKCS11_CTX_init_args(ctx_.get(), init_args.c_str());
    if (PKCS11_CTX_load(ctx_.get(), path.c_str()) != 0) {
      throw Error(ErrorKind::key_store, "libp11 could not load the PKCS#11 module: " + pki::drain_openssl_errors(), path);
    }
  }
  ~Libp11() {
    release_slots();
    PKCS11_CTX_unload(ctx_.get());  // the module's one C_Finalize
  }
  Libp11(const Libp11&) = delete;
  Libp11& operator=(const Libp11&) = delete;

  PKCS11_SLOT* slot(CK_SLOT_ID slot_id, const std::string& path) {
    if (slots_ == nullptr) enumerate(path);
    if (PKCS11_SLOT* s = find(slot_id)) return s;
    // A token may have appeared (or moved to a new slot id) since.
    if (PKCS11_update_slots(ctx_.get(), &slots_, &slot_count_) != 0) {
      throw Error(ErrorKind::key_store, "libp11 could not refresh the slots: " + pki::drain_openssl_errors(), path);
    }
    return find(slot_id);
  }

 private:
  void enumerate(const std::string& path) {
    if (PKCS11_enumerate_slots(ctx_.get(), &slots_, &slot_count_) != 0) {
      slots_ = nullptr;
      slot_count_ = 0;
      throw Error(ErrorKind::key_store, "libp11 could not list the slots: " + pki::drain_openssl_errors(), path);
    }
  }
  PKCS11_SLOT* find(CK_SLOT_ID slot_id) const {
    for (unsigned int i = 0; i < slot_count_; ++i) {
      PKCS11_SLOT* s = &slots_[i];
      if (PKCS11_get_slotid_from_slot(s) == slot_id && s->token != nullptr) return s;
    }
    return nullptr;
  }
  void release_slots() {
    if (slots_ != nullptr) PKCS11_release_all_slots(ctx_.get(), slots_, slot_count_);
    slots_ = nullptr;
    slot_count_ = 0;
  }

  pki::Ptr<PKCS11_CTX> ctx_;
  PKCS11_SLOT* slots_ = nullptr;  // an array of slot_count_, released by release_slots()
  unsigned int slot_count_ = 0;
};

Pkcs11Module::Pkcs11Module(const std::string& path, const std::string& init_args)
    : path_(path), init_args_(init_args), file_(check_module_file(path)) {
  // The module is shared with libp11 by ownership (this object outlives
  // every user), not by keeping it mapped. RTLD_NODELETE is for what a
  // module leaves behind after C_Finalize: NSS softokn keeps NSPR locks in
  // its globals, and unmapping it would turn them into leaks no
  // LeakSanitizer suppression can name (tests/tokens/lsan-modules.supp), as
  // would atexit handlers a module registers into code no longer mapped.
  ::dlerror();
  handle_.reset(::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE));
  if (!handle_) {
    const char* reason = ::dlerror();
    throw Error(ErrorKind::key_store,
                std::string("cannot load the PKCS#11 module: ") + (reason != nullptr ? reason : "dlopen failed") +
                    "; check that the path names the token vendor's PKCS#11 library for this architecture",
                path);
  }
  using GetFunctionList = CK_RV (*)(CK_FUNCTION_LIST_PTR_PTR);
  auto get_function_list = reinterpret_cast<GetFunctionList>(::dlsym(handle_.get(), "C_GetFunctionList"));
  if (get_function_list == nullptr) {
    throw Error(ErrorKind::key_store,
                "this library is not a PKCS#11 module (it has no C_GetFunctionList); name the token vendor's "
                "PKCS#11 library",
                path);
  }
  CK_RV rv = get_function_list(&fn_);
  if (rv != CKR_OK || fn_ == nullptr) p11::throw_rv("C_GetFunctionList failed", rv, path);

  vendor_ = p11::detect_vendor(path, {});
  CK_C_INITIALIZE_ARGS args{};
  args.flags = CKF_OS_LOCKING_OK;
  // Some modules (NSS softokn) read their configuration from pReserved.
  std::string reserved = init_args_;
  if (!reserved.empty()) args.pReserved = reserved.data();
  rv = fn_->C_Initialize(&args);
  if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
    // Someone else in this process owns the module's state; finalizing or
    // closing sessions here would pull it from under them.
    throw Error(ErrorKind::internal,
                "the PKCS#11 module is already loaded and initialized in this process: meshca loads each module "
                "once per command and hands it to every key store on it (hsm::Pkcs11Modules)",
                path);
  }
  if (rv != CKR_OK) {
    std::string hint = init_args_.empty() && rv == CKR_ARGUMENTS_BAD
                           ? "; this module needs initialization arguments: give them as key.pkcs11.init_args in "
                             "the plan or --init-args (for NSS softokn: \"configdir='sql:DIR' certPrefix='' "
                             "keyPrefix='' secmod='secmod.db' flags=optimizeSpace\")"
                           : "; " + setup_hint();
    throw Error(ErrorKind::key_store, "the PKCS#11 module failed to initialize: " + p11::rv_name(rv) + hint, path);
  }
  try {
    vendor_ = p11::detect_vendor(path, library_description());
    libp11_ = std::make_unique<Libp11>(path, init_args_);
  } catch (...) {
    fn_->C_Finalize(nullptr);  // libp11 never took the module over
    throw;
  }
}

Pkcs11Module::~Pkcs11Module() {
  // Slots, then C_Finalize (PKCS11_CTX_unload), then libp11's library
  // reference; our own reference (handle_) goes last, with the members.
  libp11_.reset();
}

PKCS11_SLOT* Pkcs11Module::libp11_slot(CK_SLOT_ID slot_id) { return libp11_->slot(slot_id, path_); }

std::shared_ptr<Pkcs11Module> Pkcs11Modules::open(const std::string& path, const std::string& init_args) {
  std::error_code ec;
  const std::string resolved = std::filesystem::weakly_canonical(path, ec).string();
  for (const auto& module : modules_) {
    if (module->path() != path && (ec || module->file().resolved != resolved)) continue;
    if (module->init_args() != init_args) {
      throw Error(ErrorKind::invalid_input,
                  "the PKCS#11 module is named twice with different init_args; one module is initialized once "
                  "per run, so give both key references the same init_args",
                  path);
    }
    return module;
  }
  modules_.push_back(std::make_shared<Pkcs11Module>(path, init_args));
  return modules_.back();
}

std::string Pkcs11Module::setup_hint() const {
  switch (vendor_) {
    case Vendor::softhsm2: return "for SoftHSM2: check that SOFTHSM2_CONF points at the right configuration and tokendir";
    case Vendor::tpm2:
      return "for the TPM 2.0 module: check TPM2_PKCS11_STORE (the tpm2_ptool store) and TPM2_PKCS11_TCTI, and that "
             "the TPM and its resource manager (tpm2-abrmd) are running";
    case Vendor::opencryptoki:
      return "for openCryptoki: check that pkcsslotd is running and the token is initialized (pkcsconf -t)";
    case Vendor::nss: return "for NSS softokn: check that init_args name the right configdir (sql:DIR)";
    case Vendor::p11kit: return "for p11-kit-proxy: check the module configuration p11-kit loads (p11-kit list-modules)";
    case Vendor::other: break;
  }
  return "check the token vendor's setup instructions for module " + path_;
}

std::string Pkcs11Module::recovery_hint() const {
  switch (vendor_) {
    case Vendor::tpm2:
      return "this is the TPM's dictionary-attack lockout, not a per-token counter: wait for the TPM's recovery time "
             "or clear it with the lockout authorization (`tpm2_dictionarylockout --clear-lockout`); an SO reset does "
             "not help";
    case Vendor::opencryptoki:
      return "the security officer sets a new user PIN with the SO PIN (`pkcsconf -u -c SLOT`)";
    case Vendor::softhsm2:
    default: break;
  }
  return "the security officer resets the user PIN with the SO PIN (C_InitPIN, e.g. `pkcs11-tool --module " + path_ +
         " --init-pin --login --login-type so`)";
}

std::string Pkcs11Module::library_description() const {
  CK_INFO info{};
  if (fn_->C_GetInfo(&info) != CKR_OK) return "unknown PKCS#11 library";
  std::string description = p11::fixed_string(info.libraryDescription, sizeof info.libraryDescription);
  std::string manufacturer = p11::fixed_string(info.manufacturerID, sizeof info.manufacturerID);
  return manufacturer.empty() ? description : manufacturer + " / " + description;
}

// ---------------------------------------------------------------- tokens

std::string Pkcs11TokenInfo::describe() const {
  std::string s = "'" + label + "' (serial " + serial;
  if (!model.empty()) s += ", " + model;
  return s + ")";
}

}  // namespace meshca::hsm

namespace meshca::hsm::p11 {

Pkcs11TokenInfo token_info(const Pkcs11Module& module, CK_SLOT_ID slot) {
  CK_TOKEN_INFO info{};
  CK_RV rv = module.fn()->C_GetTokenInfo(slot, &info);
  if (rv != CKR_OK) throw_rv("C_GetTokenInfo failed for slot " + std::to_string(slot), rv, module.path());
  Pkcs11TokenInfo t;
  t.slot_id = slot;
  t.label = fixed_string(info.label, sizeof info.label);
  t.serial = fixed_string(info.serialNumber, sizeof info.serialNumber);
  t.manufacturer = fixed_string(info.manufacturerID, sizeof info.manufacturerID);
  t.model = fixed_string(info.model, sizeof info.model);
  t.flags = info.flags;
  t.min_pin_len = info.ulMinPinLen;
  t.max_pin_len = info.ulMaxPinLen;
  return t;
}

std::vector<Pkcs11TokenInfo> list_tokens(const Pkcs11Module& module) {
  std::vector<CK_SLOT_ID> slots;
  for (int attempt = 0; attempt < 4; ++attempt) {
    CK_ULONG count = 0;
    CK_RV rv = module.fn()->C_GetSlotList(CK_TRUE, nullptr, &count);
    if (rv != CKR_OK) throw_rv("C_GetSlotList failed", rv, module.path());
    slots.resize(count);
    if (count == 0) break;
    rv = module.fn()->C_GetSlotList(CK_TRUE, slots.data(), &count);
    if (rv == CKR_BUFFER_TOO_SMALL) continue;  // a token appeared in between
    if (rv != CKR_OK) throw_rv("C_GetSlotList failed", rv, module.path());
    slots.resize(count);
    break;
  }
  std::vector<Pkcs11TokenInfo> tokens;
  for (CK_SLOT_ID slot : slots) {
    CK_TOKEN_INFO info{};
    CK_RV rv = module.fn()->C_GetTokenInfo(slot, &info);
    if (rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_TOKEN_NOT_RECOGNIZED || rv == CKR_SLOT_ID_INVALID) continue;
    if (rv != CKR_OK) throw_rv("C_GetTokenInfo failed for slot " + std::to_string(slot), rv, module.path());
    tokens.push_back(token_info(module, slot));
  }
  return tokens;
}

Pkcs11TokenInfo select_token(const Pkcs11Module& module, const std::string& label, const std::string& serial) {
  if (label.empty() && serial.empty()) {
    throw Error(ErrorKind::key_store, "no token named: give the token label (and/or its serial)", module.path());
  }
  std::vector<Pkcs11TokenInfo> tokens = list_tokens(module);
  std::vector<Pkcs11TokenInfo> matches;
  std::string present;
  std::size_t uninitialized = 0;
  for (const auto& t : tokens) {
    if (!t.token_initialized()) {
      ++uninitialized;
      continue;
    }
    if ((label.empty() || t.label == label) && (serial.empty() || t.serial == serial)) matches.push_back(t);
    present += (present.empty() ? "" : ", ") + t.describe();
  }
  std::string wanted = label.empty() ? "with serial '" + serial + "'"
                                     : "'" + label + "'" + (serial.empty() ? "" : " with serial '" + serial + "'");
  if (matches.empty()) {
    std::string msg = "no PKCS#11 token " + wanted + " in this module; ";
    msg += present.empty() ? "the module shows no initialized token" : "tokens present: " + present;
    if (uninitialized > 0) msg += " (plus " + std::to_string(uninitialized) + " empty slot(s))";
    msg += "; check the token label/serial, that the token is plugged in";
    msg += " (" + module.setup_hint() + ")";
    throw Error(ErrorKind::key_store, msg, module.path());
  }
  if (matches.size() > 1) {
    throw Error(ErrorKind::key_store,
                std::to_string(matches.size()) + " tokens match " + wanted + " (" + present + "); add the token serial to pick one",
                module.path());
  }
  return matches.front();
}

void throw_login_failure(CK_RV rv, const Pkcs11TokenInfo& token, const Pkcs11Module& module) {
  std::string msg;
  switch (rv) {
    case CKR_PIN_INCORRECT:
      msg = "wrong user PIN for PKCS#11 token " + token.describe() +
            " (one attempt was made and meshca does not retry; check the PIN source)";
      if (module.vendor() == Vendor::tpm2) {
        msg += "; on a TPM every wrong PIN counts towards the TPM-wide dictionary-attack lockout (" +
               module.recovery_hint() + ")";
      }
      break;
    case CKR_PIN_LOCKED:
      msg = "the user PIN of PKCS#11 token " + token.describe() + " is locked; nothing was sent to it. To unlock: " +
            module.recovery_hint();
      break;
    case CKR_PIN_LEN_RANGE:
    case CKR_PIN_INVALID:
      msg = "the PIN given for PKCS#11 token " + token.describe() + " has an invalid length or characters (" +
            rv_name(rv) + "); check the PIN source";
      break;
    case CKR_PIN_EXPIRED:
      msg = "the user PIN of PKCS#11 token " + token.describe() + " has expired; change it first";
      break;
    case CKR_USER_PIN_NOT_INITIALIZED:
      msg = "PKCS#11 token " + token.describe() + " has no user PIN yet; initialize it with the SO PIN first";
      break;
    default:
      msg = "login to PKCS#11 token " + token.describe() + " failed: " + rv_name(rv) + "; " + module.setup_hint();
      break;
  }
  if (rv != CKR_PIN_LOCKED) {
    if (token.user_pin_locked()) {
      msg += "; the token now reports the user PIN as LOCKED. To unlock: " + module.recovery_hint();
    } else if ((token.flags & CKF_USER_PIN_FINAL_TRY) != 0) {
      msg += "; WARNING: the token says the next wrong PIN locks it (recovery then: " + module.recovery_hint() + ")";
    } else if ((token.flags & CKF_USER_PIN_COUNT_LOW) != 0) {
      msg += "; the token reports that few PIN attempts remain";
    }
  }
  throw Error(ErrorKind::key_store, msg, module.path());
}

void require_pin_length(const Pkcs11Module& module, const Pkcs11TokenInfo& token, std::size_t length) {
  // 0/0 and CK_EFFECTIVELY_INFINITE mean "no limit" in practice.
  const CK_ULONG max = token.max_pin_len == 0 ? CK_EFFECTIVELY_INFINITE : token.max_pin_len;
  if (length >= token.min_pin_len && (max == CK_EFFECTIVELY_INFINITE || length <= max)) return;
  std::string range = std::to_string(token.min_pin_len) + "-" +
                      (max == CK_EFFECTIVELY_INFINITE ? std::string("any") : std::to_string(max));
  throw Error(ErrorKind::key_store,
              "the PIN from the PIN source has " + std::to_string(length) + " characters but PKCS#11 token " + token.describe() +
                  " accepts user PINs of " + range +
                  " characters; the PIN was NOT sent (a wrong-length PIN would count as a failed login). "
                  "Check the PIN source, or change the token's user PIN to one within its limits",
              module.path());
}

// ---------------------------------------------------------------- capabilities

std::vector<Mechanism> mechanisms(const Pkcs11Module& module, CK_SLOT_ID slot) {
  CK_ULONG count = 0;
  CK_RV rv = module.fn()->C_GetMechanismList(slot, nullptr, &count);
  if (rv != CKR_OK) throw_rv("C_GetMechanismList failed", rv, module.path());
  std::vector<CK_MECHANISM_TYPE> types(count);
  if (count > 0) {
    rv = module.fn()->C_GetMechanismList(slot, types.data(), &count);
    if (rv != CKR_OK) throw_rv("C_GetMechanismList failed", rv, module.path());
    types.resize(count);
  }
  std::vector<Mechanism> out;
  for (CK_MECHANISM_TYPE t : types) {
    Mechanism m{t, {}};
    if (module.fn()->C_GetMechanismInfo(slot, t, &m.info) != CKR_OK) continue;
    out.push_back(m);
  }
  return out;
}

namespace {

const Mechanism* find_mechanism(const std::vector<Mechanism>& list, CK_MECHANISM_TYPE type, CK_FLAGS flag) {
  for (const auto& m : list) {
    if (m.type == type && (m.info.flags & flag) != 0) return &m;
  }
  return nullptr;
}

unsigned long algorithm_bits(pki::KeyAlgorithm algorithm) {
  switch (algorithm) {
    case pki::KeyAlgorithm::ecdsa_p256: return 256;
    case pki::KeyAlgorithm::ecdsa_p384: return 384;
    default: return rsa_bits_for(algorithm);
  }
}

// Empty when the token can do `algorithm` (generate too, when asked); else why not.
std::string algorithm_gap(const std::vector<Mechanism>& list, pki::KeyAlgorithm algorithm, bool generate) {
  const bool rsa = pki::is_rsa(algorithm);
  const CK_MECHANISM_TYPE sign = rsa ? CKM_RSA_PKCS : CKM_ECDSA;
  const CK_MECHANISM_TYPE gen = rsa ? CKM_RSA_PKCS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN;
  const Mechanism* s = find_mechanism(list, sign, CKF_SIGN);
  if (s == nullptr) return std::string("no ") + (rsa ? "CKM_RSA_PKCS" : "CKM_ECDSA") + " signing mechanism";
  const unsigned long bits = algorithm_bits(algorithm);
  auto outside = [bits](const Mechanism& m) {
    // Ranges are in bits; a few tokens report 0 or bytes for EC, which we do not second-guess.
    return m.info.ulMaxKeySize >= 192 && (bits < m.info.ulMinKeySize || bits > m.info.ulMaxKeySize);
  };
  auto range = [](const Mechanism& m) {
    return std::to_string(m.info.ulMinKeySize) + "-" + std::to_string(m.info.ulMaxKeySize) + " bits";
  };
  if (outside(*s)) return "signing keys of " + range(*s) + " only";
  if (!generate) return {};
  const Mechanism* g = find_mechanism(list, gen, CKF_GENERATE_KEY_PAIR);
  if (g == nullptr) {
    return std::string("no ") + (rsa ? "CKM_RSA_PKCS_KEY_PAIR_GEN" : "CKM_EC_KEY_PAIR_GEN") + " key generation";
  }
  if (outside(*g)) return "key generation of " + range(*g) + " only";
  return {};
}

}  // namespace

std::vector<pki::KeyAlgorithm> supported_algorithms(const std::vector<Mechanism>& list, bool generate) {
  std::vector<pki::KeyAlgorithm> out;
  for (auto a : {pki::KeyAlgorithm::ecdsa_p256, pki::KeyAlgorithm::ecdsa_p384, pki::KeyAlgorithm::rsa_2048,
                 pki::KeyAlgorithm::rsa_3072, pki::KeyAlgorithm::rsa_4096}) {
    if (algorithm_gap(list, a, generate).empty()) out.push_back(a);
  }
  return out;
}

std::string algorithm_list(const std::vector<pki::KeyAlgorithm>& algorithms) {
  std::string s;
  for (auto a : algorithms) s += (s.empty() ? "" : ", ") + std::string(pki::key_algorithm_name(a));
  return s.empty() ? "none of meshca's algorithms" : s;
}

void require_algorithm(const Pkcs11Module& module, const Pkcs11TokenInfo& token, pki::KeyAlgorithm algorithm, bool generate) {
  const auto list = mechanisms(module, token.slot_id);
  const std::string gap = algorithm_gap(list, algorithm, generate);
  if (gap.empty()) return;
  throw Error(ErrorKind::key_store,
              "PKCS#11 token " + token.describe() + " (" + module.library_description() + ") cannot " +
                  (generate ? "generate and sign with " : "sign with ") + std::string(pki::key_algorithm_name(algorithm)) +
                  " keys: its mechanism list has " + gap + ". It supports: " + algorithm_list(supported_algorithms(list, generate)) +
                  ". Change root.key.algorithm (--algorithm) to one of those, or use a token that supports " +
                  std::string(pki::key_algorithm_name(algorithm)),
              module.path());
}

// ---------------------------------------------------------------- Session

Session::Session(const Pkcs11Module& module, CK_SLOT_ID slot, bool read_write) : fn_(module.fn()) {
  CK_FLAGS flags = CKF_SERIAL_SESSION | (read_write ? CKF_RW_SESSION : 0);
  CK_RV rv = fn_->C_OpenSession(slot, flags, nullptr, nullptr, &session_);
  if (rv != CKR_OK) throw_rv("cannot open a session on the PKCS#11 token", rv, module.path());
}

Session::~Session() {
  if (session_ != CK_INVALID_HANDLE) fn_->C_CloseSession(session_);
}

void Session::login(const SecureBuffer& pin, const Pkcs11Module& module, const Pkcs11TokenInfo& token) {
  // C_Login takes a non-const pointer; the module does not write through it.
  require_pin_length(module, token, pin.size());
  auto* bytes_ptr = reinterpret_cast<CK_UTF8CHAR*>(const_cast<char*>(pin.data()));
  CK_RV rv = fn_->C_Login(session_, CKU_USER, bytes_ptr, pin.size());
  if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) return;
  Pkcs11TokenInfo after = token;
  try {
    after = token_info(module, token.slot_id);
  } catch (const Error&) {
    // keep the flags we had
  }
  throw_login_failure(rv, after, module);
}

std::vector<CK_OBJECT_HANDLE> Session::find(const std::vector<CK_ATTRIBUTE>& tmpl) const {
  CK_RV rv = fn_->C_FindObjectsInit(session_, const_cast<CK_ATTRIBUTE*>(tmpl.data()), tmpl.size());
  if (rv != CKR_OK) throw_rv("C_FindObjectsInit failed", rv);
  FindGuard guard(fn_, session_);
  std::vector<CK_OBJECT_HANDLE> found;
  for (;;) {
    CK_OBJECT_HANDLE batch[64];
    CK_ULONG count = 0;
    rv = fn_->C_FindObjects(session_, batch, 64, &count);
    if (rv != CKR_OK) throw_rv("C_FindObjects failed", rv);
    if (count == 0) break;
    found.insert(found.end(), batch, batch + count);
  }
  return found;
}

std::optional<std::string> Session::bytes(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type, CK_RV* rv_out) const {
  CK_ATTRIBUTE attr{type, nullptr, 0};
  CK_RV rv = fn_->C_GetAttributeValue(session_, object, &attr, 1);
  if (rv_out != nullptr) *rv_out = rv;
  if (rv != CKR_OK || attr.ulValueLen == CK_UNAVAILABLE_INFORMATION) return std::nullopt;
  std::string value(attr.ulValueLen, '\0');
  attr.pValue = value.data();
  rv = fn_->C_GetAttributeValue(session_, object, &attr, 1);
  if (rv_out != nullptr) *rv_out = rv;
  if (rv != CKR_OK || attr.ulValueLen == CK_UNAVAILABLE_INFORMATION) return std::nullopt;
  value.resize(attr.ulValueLen);
  return value;
}

std::optional<bool> Session::boolean(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) const {
  CK_BBOOL value = CK_FALSE;
  CK_ATTRIBUTE attr{type, &value, sizeof value};
  if (fn_->C_GetAttributeValue(session_, object, &attr, 1) != CKR_OK || attr.ulValueLen != sizeof value) {
    return std::nullopt;
  }
  return value != CK_FALSE;
}

std::optional<CK_ULONG> Session::ulong(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) const {
  CK_ULONG value = 0;
  CK_ATTRIBUTE attr{type, &value, sizeof value};
  if (fn_->C_GetAttributeValue(session_, object, &attr, 1) != CKR_OK || attr.ulValueLen != sizeof value) {
    return std::nullopt;
  }
  return value;
}

std::string KeyObject::type_name() const {
  if (key_type == CKK_RSA) return "RSA";
  if (key_type == CKK_EC) return "EC";
  if (key_type == CK_UNAVAILABLE_INFORMATION) return "unknown";
  char buf[32];
  std::snprintf(buf, sizeof buf, "CKK 0x%lx", static_cast<unsigned long>(key_type));
  return buf;
}

std::string KeyObject::describe_type() const {
  if (key_type == CKK_RSA && rsa_bits) return "RSA " + std::to_string(*rsa_bits);
  if (key_type == CKK_EC && !ec_curve.empty()) return "EC " + ec_curve;
  return type_name();
}

KeyObject Session::describe_key(CK_OBJECT_HANDLE object, CK_OBJECT_CLASS object_class) const {
  KeyObject k;
  k.handle = object;
  k.object_class = object_class;
  k.key_type = ulong(object, CKA_KEY_TYPE).value_or(CK_UNAVAILABLE_INFORMATION);
  k.label = bytes(object, CKA_LABEL).value_or("");
  k.id = bytes(object, CKA_ID).value_or("");
  if (object_class == CKO_PRIVATE_KEY) {
    k.sensitive = boolean(object, CKA_SENSITIVE);
    k.extractable = boolean(object, CKA_EXTRACTABLE);
    k.always_sensitive = boolean(object, CKA_ALWAYS_SENSITIVE);
    k.never_extractable = boolean(object, CKA_NEVER_EXTRACTABLE);
    k.can_sign = boolean(object, CKA_SIGN);
    k.can_decrypt = boolean(object, CKA_DECRYPT);
    k.can_unwrap = boolean(object, CKA_UNWRAP);
    k.can_derive = boolean(object, CKA_DERIVE);
  } else {
    k.can_sign = boolean(object, CKA_VERIFY);
    k.can_encrypt = boolean(object, CKA_ENCRYPT);
    k.can_wrap = boolean(object, CKA_WRAP);
    k.can_derive = boolean(object, CKA_DERIVE);
  }
  k.local = boolean(object, CKA_LOCAL);
  if (k.key_type == CKK_RSA) {
    if (auto bits = ulong(object, CKA_MODULUS_BITS)) {
      k.rsa_bits = *bits;
    } else if (auto modulus = bytes(object, CKA_MODULUS)) {
      pki::BignumPtr n(BN_bin2bn(reinterpret_cast<const unsigned char*>(modulus->data()),
                                 static_cast<int>(modulus->size()), nullptr));
      if (n) k.rsa_bits = static_cast<unsigned long>(BN_num_bits(n.get()));
    }
  } else if (k.key_type == CKK_EC) {
    if (auto params = bytes(object, CKA_EC_PARAMS)) k.ec_curve = curve_name(*params);
  }
  return k;
}

std::vector<KeyObject> Session::find_keys(CK_OBJECT_CLASS object_class, const std::string& label,
                                          const std::string& id) const {
  std::string label_copy = label;
  std::string id_copy = id;
  std::vector<CK_ATTRIBUTE> tmpl{{CKA_CLASS, &object_class, sizeof object_class}};
  if (!label_copy.empty()) tmpl.push_back({CKA_LABEL, label_copy.data(), label_copy.size()});
  if (!id_copy.empty()) tmpl.push_back({CKA_ID, id_copy.data(), id_copy.size()});
  std::vector<KeyObject> keys;
  for (CK_OBJECT_HANDLE h : find(tmpl)) keys.push_back(describe_key(h, object_class));
  return keys;
}

std::vector<CK_OBJECT_HANDLE> Session::find_any(const std::string& label, const std::string& id) const {
  std::vector<CK_OBJECT_HANDLE> all;
  std::string label_copy = label;
  std::string id_copy = id;
  if (!label_copy.empty()) {
    auto found = find({{CKA_LABEL, label_copy.data(), label_copy.size()}});
    all.insert(all.end(), found.begin(), found.end());
  }
  if (!id_copy.empty()) {
    auto found = find({{CKA_ID, id_copy.data(), id_copy.size()}});
    for (auto h : found) {
      if (std::find(all.begin(), all.end(), h) == all.end()) all.push_back(h);
    }
  }
  return all;
}

// ---------------------------------------------------------------- keys

pki::PKeyPtr software_public_key(const Session& session, const KeyObject& key) {
  const std::string what = "cannot rebuild the public key of token object '" + key.label + "' (id " +
                           to_hex(key.id) + ")";
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld) pki::throw_openssl(what, ErrorKind::key_store);
  if (key.key_type == CKK_RSA) {
    auto modulus = session.bytes(key.handle, CKA_MODULUS);
    auto exponent = session.bytes(key.handle, CKA_PUBLIC_EXPONENT);
    if (!modulus || !exponent) throw Error(ErrorKind::key_store, what + ": the token hides CKA_MODULUS/CKA_PUBLIC_EXPONENT");
    pki::BignumPtr n(BN_bin2bn(reinterpret_cast<const unsigned char*>(modulus->data()),
                               static_cast<int>(modulus->size()), nullptr));
    pki::BignumPtr e(BN_bin2bn(reinterpret_cast<const unsigned char*>(exponent->data()),
                               static_cast<int>(exponent->size()), nullptr));
    if (!n || !e || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
      pki::throw_openssl(what, ErrorKind::key_store);
    }
    return pkey_from_params("RSA", bld.get(), what);
  }
  if (key.key_type == CKK_EC) {
    if (key.object_class != CKO_PUBLIC_KEY) {
      throw Error(ErrorKind::key_store, what +
                                            ": an EC private key object does not carry its public point; the "
                                            "token needs the matching public key object (same CKA_ID)");
    }
    auto params = session.bytes(key.handle, CKA_EC_PARAMS);
    auto point = session.bytes(key.handle, CKA_EC_POINT);
    if (!params || !point) throw Error(ErrorKind::key_store, what + ": the token hides CKA_EC_PARAMS/CKA_EC_POINT");
    const auto* p = reinterpret_cast<const unsigned char*>(params->data());
    Asn1ObjectPtr oid(d2i_ASN1_OBJECT(nullptr, &p, static_cast<long>(params->size())));
    if (!oid) pki::throw_openssl(what + ": CKA_EC_PARAMS is not a named curve", ErrorKind::key_store);
    const char* group = OBJ_nid2sn(OBJ_obj2nid(oid.get()));
    if (group == nullptr || OBJ_obj2nid(oid.get()) == NID_undef) {
      throw Error(ErrorKind::key_store, what + ": unsupported curve " + curve_name(*params));
    }
    std::string raw_point = unwrap_ec_point(*point);
    if (OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, raw_point.data(), raw_point.size()) !=
            1) {
      pki::throw_openssl(what, ErrorKind::key_store);
    }
    return pkey_from_params("EC", bld.get(), what);
  }
  throw Error(ErrorKind::key_store, what + ": unsupported key type " + key.type_name());
}

namespace {

// The usage attributes one generation attempt sets (unset ones are left to the token).
struct UsageTemplate {
  const char* name;
  std::optional<bool> decrypt, unwrap, derive;  // private key
  std::optional<bool> verify, encrypt, wrap;    // public key
};

// Narrowest first. The TPM 2.0 module maps SIGN+ENCRYPT and VERIFY+DECRYPT
// onto one TPM attribute each and rejects templates that disagree with that
// (its RSA signing is the TPM decrypt operation), hence the second entry.
constexpr bool T = true, F = false;
constexpr std::optional<bool> U = std::nullopt;  // left to the token
constexpr UsageTemplate kStrict{"signing-only", F, F, F, T, F, F};
constexpr UsageTemplate kStrictNoVerify{"signing-only (public CKA_VERIFY left to the token)", F, F, F, U, F, F};
constexpr UsageTemplate kPrivateOnly{"signing-only private key (public key usage left to the token)", F, F, F, U, U, U};
constexpr UsageTemplate kSignDecrypt{"sign+decrypt (the token ties them together)", T, F, F, T, T, F};
constexpr UsageTemplate kDefaults{"token defaults beyond sign", U, U, U, U, U, U};
// EC: the TPM accepts kPrivateOnly and signs with it. RSA: a TPM accepts
// kPrivateOnly too but cannot sign with the key (its RSA signing is the
// decrypt operation) nor delete it afterwards, so sign+decrypt comes first.
const UsageTemplate kEcTemplates[] = {kStrict, kStrictNoVerify, kPrivateOnly, kSignDecrypt, kDefaults};
const UsageTemplate kRsaTemplates[] = {kStrict, kStrictNoVerify, kSignDecrypt, kPrivateOnly, kDefaults};

// Whether the token signs with a freshly generated private key: a token may
// accept a usage template yet refuse to sign with the result (the TPM's RSA
// keys sign through the decrypt operation). CKR of the failing call, or CKR_OK.
CK_RV try_sign(const Session& session, CK_OBJECT_HANDLE key, bool rsa) {
  CK_MECHANISM mechanism{rsa ? CKM_RSA_PKCS : CKM_ECDSA, nullptr, 0};
  // For CKM_RSA_PKCS this is a SHA-256 DigestInfo; for CKM_ECDSA a 32-byte hash.
  static const unsigned char digest_info[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
                                              0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
  std::string input = rsa ? std::string(reinterpret_cast<const char*>(digest_info), sizeof digest_info) : std::string();
  input += std::string(32, '\x5a');
  CK_RV rv = session.fn()->C_SignInit(session.handle(), &mechanism, key);
  if (rv != CKR_OK) return rv;
  std::vector<CK_BYTE> signature(1024);
  CK_ULONG length = signature.size();
  return session.fn()->C_Sign(session.handle(), reinterpret_cast<CK_BYTE*>(input.data()), input.size(),
                              signature.data(), &length);
}

bool template_rejection(CK_RV rv) {
  return rv == CKR_GENERAL_ERROR || rv == CKR_FUNCTION_FAILED || rv == CKR_TEMPLATE_INCONSISTENT ||
         rv == CKR_ATTRIBUTE_VALUE_INVALID || rv == CKR_ATTRIBUTE_TYPE_INVALID;
}

}  // namespace

GeneratedKeyPair generate_key_pair(const Session& session, pki::KeyAlgorithm algorithm, const std::string& label,
                                   const std::string& id, bool signing_only_required) {
  CK_BBOOL yes = CK_TRUE;
  CK_BBOOL no = CK_FALSE;
  std::string label_copy = label;
  std::string id_copy = id;
  const bool rsa = pki::is_rsa(algorithm);
  CK_MECHANISM mechanism{rsa ? CKM_RSA_PKCS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN, nullptr, 0};
  CK_ULONG modulus_bits = rsa ? rsa_bits_for(algorithm) : 0;
  CK_BYTE public_exponent[] = {0x01, 0x00, 0x01};  // 65537
  std::string ec_params = rsa ? std::string() : ec_params_for(algorithm);
  auto flag = [&](std::vector<CK_ATTRIBUTE>& tmpl, CK_ATTRIBUTE_TYPE type, const std::optional<bool>& value) {
    if (value) tmpl.push_back({type, *value ? &yes : &no, sizeof yes});
  };

  std::string rejected;
  for (const UsageTemplate& usage : rsa ? std::span<const UsageTemplate>(kRsaTemplates)
                                        : std::span<const UsageTemplate>(kEcTemplates)) {
    const bool restricted = usage.decrypt == F && usage.unwrap == F && usage.derive == F && usage.encrypt == F &&
                            usage.wrap == F;
    if (signing_only_required && !restricted) break;
    std::vector<CK_ATTRIBUTE> public_tmpl{
        {CKA_TOKEN, &yes, sizeof yes},
        {CKA_PRIVATE, &no, sizeof no},
        {CKA_ID, id_copy.data(), id_copy.size()},
    };
    std::vector<CK_ATTRIBUTE> private_tmpl{
        {CKA_TOKEN, &yes, sizeof yes},     {CKA_PRIVATE, &yes, sizeof yes},   {CKA_SENSITIVE, &yes, sizeof yes},
        {CKA_EXTRACTABLE, &no, sizeof no}, {CKA_SIGN, &yes, sizeof yes},      {CKA_ID, id_copy.data(), id_copy.size()},
    };
    if (!label_copy.empty()) {
      public_tmpl.push_back({CKA_LABEL, label_copy.data(), label_copy.size()});
      private_tmpl.push_back({CKA_LABEL, label_copy.data(), label_copy.size()});
    }
    if (rsa) {
      public_tmpl.push_back({CKA_MODULUS_BITS, &modulus_bits, sizeof modulus_bits});
      public_tmpl.push_back({CKA_PUBLIC_EXPONENT, public_exponent, sizeof public_exponent});
    } else {
      public_tmpl.push_back({CKA_EC_PARAMS, ec_params.data(), ec_params.size()});
    }
    flag(public_tmpl, CKA_VERIFY, usage.verify);
    flag(public_tmpl, CKA_ENCRYPT, usage.encrypt);
    flag(public_tmpl, CKA_WRAP, usage.wrap);
    flag(private_tmpl, CKA_DECRYPT, usage.decrypt);
    flag(private_tmpl, CKA_UNWRAP, usage.unwrap);
    flag(private_tmpl, CKA_DERIVE, usage.derive);

    GeneratedKeyPair out;
    out.template_name = usage.name;
    CK_RV rv = session.fn()->C_GenerateKeyPair(session.handle(), &mechanism, public_tmpl.data(), public_tmpl.size(),
                                               private_tmpl.data(), private_tmpl.size(), &out.handles.public_key,
                                               &out.handles.private_key);
    if (rv == CKR_OK) {
      rv = try_sign(session, out.handles.private_key, rsa);
      if (rv == CKR_OK) return out;
      // Accepted but unusable: remove the pair and try a wider template.
      CK_RV destroyed = session.fn()->C_DestroyObject(session.handle(), out.handles.private_key);
      if (destroyed == CKR_OK) destroyed = session.fn()->C_DestroyObject(session.handle(), out.handles.public_key);
      if (destroyed != CKR_OK) {
        throw Error(ErrorKind::key_store, "the token generated a " + std::string(pki::key_algorithm_name(algorithm)) +
                                              " key pair with the " + usage.name + " template but cannot sign with it (" + rv_name(rv) +
                                              "), and refused to delete it (" + rv_name(destroyed) + "): remove the objects with CKA_ID " +
                                              to_hex(id) + " with the vendor's tools");
      }
      rejected += (rejected.empty() ? "" : ", ") + std::string(usage.name) + ": generated but cannot sign (" +
                  rv_name(rv) + ")";
      continue;
    }
    const std::string what = "the token could not generate a " + std::string(pki::key_algorithm_name(algorithm)) +
                             " key pair (C_GenerateKeyPair, " + usage.name + " template)";
    if (!template_rejection(rv)) throw_rv(what, rv);
    rejected += (rejected.empty() ? "" : ", ") + std::string(usage.name) + ": " + rv_name(rv);
  }
  if (signing_only_required) {
    throw Error(ErrorKind::key_store,
                "the plan requires a signing-only key (key.pkcs11.require: signing-only) and the token does not "
                "accept a signing-only " +
                    std::string(pki::key_algorithm_name(algorithm)) + " key template (" + rejected +
                    "); nothing was generated or signed. Choose another algorithm or token, or drop the requirement "
                    "to accept the narrowest key the token can make (its usage is reported)");
  }
  throw Error(ErrorKind::key_store, "the token rejected every key template meshca tries for " +
                                        std::string(pki::key_algorithm_name(algorithm)) + " (" + rejected + ")");
}

}  // namespace meshca::hsm::p11
