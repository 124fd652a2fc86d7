// Loading a PKCS#11 module: the file check, dlopen, C_GetFunctionList and
// C_Initialize, libp11's context and slots on the same module, the
// per-command set of loaded modules, and which implementation a module is
// (with that implementation's setup and recovery hints). The guarantees are
// those of hsm/pkcs11_module.hpp: one owner per loaded module, finalized
// exactly once.
#include "hsm/pkcs11_module.hpp"

#include <dlfcn.h>

#include <cctype>
#include <filesystem>

#include "core/error.hpp"
#include "hsm/pkcs11_handles.hpp"
#include "hsm/pkcs11_module_file.hpp"

namespace meshca::hsm::p11 {
namespace {

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

namespace {

// The module's library, mapped. The module is shared with libp11 by
// ownership (Pkcs11Module outlives every user), not by keeping it mapped.
// RTLD_NODELETE is for what a module leaves behind after C_Finalize: NSS
// softokn keeps NSPR locks in its globals, and unmapping it would turn them
// into leaks no LeakSanitizer suppression can name
// (tests/tokens/lsan-modules.supp), as would atexit handlers a module
// registers into code no longer mapped.
void* open_library(const std::string& path) {
  ::dlerror();
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (handle == nullptr) {
    const char* reason = ::dlerror();
    throw Error(ErrorKind::key_store,
                std::string("cannot load the PKCS#11 module: ") + (reason != nullptr ? reason : "dlopen failed") +
                    "; check that the path names the token vendor's PKCS#11 library for this architecture",
                path);
  }
  return handle;
}

CK_FUNCTION_LIST* function_list(void* handle, const std::string& path) {
  using GetFunctionList = CK_RV (*)(CK_FUNCTION_LIST_PTR_PTR);
  auto get_function_list = reinterpret_cast<GetFunctionList>(::dlsym(handle, "C_GetFunctionList"));
  if (get_function_list == nullptr) {
    throw Error(ErrorKind::key_store,
                "this library is not a PKCS#11 module (it has no C_GetFunctionList); name the token vendor's "
                "PKCS#11 library",
                path);
  }
  CK_FUNCTION_LIST* fn = nullptr;
  const CK_RV rv = get_function_list(&fn);
  if (rv != CKR_OK || fn == nullptr) p11::throw_rv("C_GetFunctionList failed", rv, path);
  return fn;
}

// What the operator checks when C_Initialize answered `rv`.
std::string initialize_failure_hint(CK_RV rv, const std::string& init_args, const std::string& setup_hint) {
  if (init_args.empty() && rv == CKR_ARGUMENTS_BAD) {
    return "; this module needs initialization arguments: give them as key.pkcs11.init_args in "
           "the plan or --init-args (for NSS softokn: \"configdir='sql:DIR' certPrefix='' "
           "keyPrefix='' secmod='secmod.db' flags=optimizeSpace\")";
  }
  return "; " + setup_hint;
}

}  // namespace

Pkcs11Module::Pkcs11Module(const std::string& path, const std::string& init_args)
    : path_(path), init_args_(init_args), file_(check_module_file(path)) {
  handle_.reset(open_library(path));
  fn_ = function_list(handle_.get(), path);
  vendor_ = p11::detect_vendor(path, {});
  CK_C_INITIALIZE_ARGS args{};
  args.flags = CKF_OS_LOCKING_OK;
  // Some modules (NSS softokn) read their configuration from pReserved.
  std::string reserved = init_args_;
  if (!reserved.empty()) args.pReserved = reserved.data();
  const CK_RV rv = fn_->C_Initialize(&args);
  if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
    // Someone else in this process owns the module's state; finalizing or
    // closing sessions here would pull it from under them.
    throw Error(ErrorKind::internal,
                "the PKCS#11 module is already loaded and initialized in this process: meshca loads each module "
                "once per command and hands it to every key store on it (hsm::Pkcs11Modules)",
                path);
  }
  if (rv != CKR_OK) {
    throw Error(ErrorKind::key_store,
                "the PKCS#11 module failed to initialize: " + p11::rv_name(rv) + initialize_failure_hint(rv, init_args_, setup_hint()),
                path);
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

}  // namespace meshca::hsm
