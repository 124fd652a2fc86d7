#include "hsm/pkcs11_inventory.hpp"

#include "core/error.hpp"
#include "core/hex.hpp"

namespace meshca::hsm {
namespace {

std::vector<std::string> names(const std::vector<pki::KeyAlgorithm>& algorithms) {
  std::vector<std::string> out;
  for (auto a : algorithms) out.emplace_back(pki::key_algorithm_name(a));
  return out;
}

Pkcs11TokenListing token_entry(const Pkcs11Module& module, const Pkcs11TokenInfo& t) {
  Pkcs11TokenListing info(t);
  if (t.token_initialized()) {
    const auto list = p11::mechanisms(module, t.slot_id);
    info.can_generate = names(p11::supported_algorithms(list, true));
    info.can_sign = names(p11::supported_algorithms(list, false));
  }
  return info;
}

Pkcs11KeyInfo key_entry(const p11::KeyObject& k) {
  Pkcs11KeyInfo info;
  info.object_class = k.object_class == CKO_PRIVATE_KEY ? "private" : "public";
  info.label = k.label;
  info.id_hex = to_hex(k.id);
  info.key_type = k.type_name();
  info.rsa_bits = k.rsa_bits;
  info.ec_curve = k.ec_curve;
  info.sensitive = k.sensitive;
  info.extractable = k.extractable;
  info.always_sensitive = k.always_sensitive;
  info.never_extractable = k.never_extractable;
  info.local = k.local;
  const std::pair<const char*, std::optional<bool>> usages[] = {
      {k.object_class == CKO_PRIVATE_KEY ? "sign" : "verify", k.can_sign},
      {"decrypt", k.can_decrypt}, {"unwrap", k.can_unwrap}, {"derive", k.can_derive},
      {"encrypt", k.can_encrypt}, {"wrap", k.can_wrap}};
  for (const auto& [name, allowed] : usages) {
    if (allowed.value_or(false)) info.usage.emplace_back(name);
  }
  return info;
}

void list_keys(const Pkcs11Module& module, const Pkcs11TokenInfo& token, const std::optional<SecretRef>& pin_ref,
               const KeyStoreContext& ctx, Pkcs11TokenListing& entry) {
  p11::Session session(module, token.slot_id, /*read_write=*/false);
  if (pin_ref) {
    if (token.user_pin_locked()) p11::throw_login_failure(CKR_PIN_LOCKED, token, module);
    SecureBuffer pin =
        resolve_secret(*pin_ref, "user PIN of PKCS#11 token '" + token.label + "'", ctx.prompt, ctx.base_dir, ErrorKind::key_store);
    session.login(pin, module, token);
    entry.logged_in = true;
  }
  for (CK_OBJECT_CLASS cls : {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY}) {
    for (const auto& k : session.find_keys(cls)) entry.keys.push_back(key_entry(k));
  }
  entry.keys_listed = true;
  if (entry.logged_in) session.fn()->C_Logout(session.handle());
}

}  // namespace

Pkcs11Inventory list_pkcs11(const Pkcs11InventoryRequest& request, const KeyStoreContext& ctx) {
  if (!ctx.pkcs11_modules) {
    throw Error(ErrorKind::internal, "no PKCS#11 module set in the key store context (KeyStoreContext::pkcs11_modules)", request.module);
  }
  std::shared_ptr<Pkcs11Module> shared_module = ctx.pkcs11_modules->open(request.module, request.init_args);
  const Pkcs11Module& module = *shared_module;
  Pkcs11Inventory inventory;
  inventory.module = request.module;
  inventory.library = module.library_description();
  inventory.file = module.file();

  if (!request.token.empty() || !request.serial.empty()) {
    Pkcs11TokenInfo token = p11::select_token(module, request.token, request.serial);
    Pkcs11TokenListing entry = token_entry(module, token);
    list_keys(module, token, request.pin, ctx, entry);
    inventory.tokens.push_back(std::move(entry));
    return inventory;
  }

  std::vector<Pkcs11TokenInfo> tokens = p11::list_tokens(module);
  if (request.pin) {
    std::size_t initialized = 0;
    for (const auto& t : tokens) initialized += t.token_initialized() ? 1 : 0;
    if (initialized != 1) {
      throw Error(ErrorKind::invalid_input, "a PIN opens one token: name the token to log in to (its label or serial)", request.module);
    }
  }
  for (const auto& t : tokens) {
    Pkcs11TokenListing entry = token_entry(module, t);
    if (t.token_initialized()) list_keys(module, t, request.pin, ctx, entry);
    inventory.tokens.push_back(std::move(entry));
  }
  return inventory;
}

}  // namespace meshca::hsm
