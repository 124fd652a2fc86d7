#include "hsm/pkcs11_key_store.hpp"

#include <libp11.h>
#include <openssl/rand.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/error.hpp"
#include "core/hex.hpp"
#include "hsm/pkcs11_login.hpp"
#include "hsm/pkcs11_module.hpp"

namespace meshca::hsm {
namespace {

enum class Mode { must_exist, create_if_missing, must_create };

// ---------------------------------------------------------------- the store

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    pki::throw_openssl("RAND_bytes failed");
  }
  return out;
}

std::string key_flags_text(const Pkcs11KeyFacts& f) {
  std::string s;
  auto add = [&s](const char* word) {
    if (!s.empty()) s += ", ";
    s += word;
  };
  if (f.sensitive) add("sensitive");
  if (f.always_sensitive) add("always sensitive");
  add(f.extractable ? "EXTRACTABLE" : (f.never_extractable ? "never extractable" : "not extractable"));
  return s;
}

class Pkcs11KeyStore final : public KeyStore {
 public:
  Pkcs11KeyStore(std::shared_ptr<Pkcs11Module> module, pki::PKeyPtr signing, pki::PKeyPtr public_key, Pkcs11KeyFacts facts, bool generated)
      : module_(std::move(module)),
        signing_(std::move(signing)),
        public_(std::move(public_key)),
        facts_(std::move(facts)),
        generated_(generated) {}

  std::string description() const override {
    std::string s = "PKCS#11 token " + facts_.token.describe() + " key " +
                    (facts_.key_label.empty() ? std::string("(no label)") : "'" + facts_.key_label + "'") + " id " + facts_.key_id_hex +
                    " (" + pki::describe_key(public_.get()) + ", " + key_flags_text(facts_) + ", usage: " + facts_.usage.describe() +
                    (facts_.usage.signing_only() ? " (signing-only)" : " (NOT signing-only)") + ") module sha256 " + facts_.module_sha256;
    return s;
  }
  std::string facts_json() const override {
    auto b = [](const std::optional<bool>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
    nlohmann::json usage{{"sign", b(facts_.usage.sign)},       {"decrypt", b(facts_.usage.decrypt)},
                         {"unwrap", b(facts_.usage.unwrap)},   {"derive", b(facts_.usage.derive)},
                         {"verify", b(facts_.usage.verify)},   {"encrypt", b(facts_.usage.encrypt)},
                         {"wrap", b(facts_.usage.wrap)}};
    nlohmann::json j{{"module",
                      {{"path", facts_.module},
                       {"sha256", facts_.module_sha256},
                       {"owner", facts_.module_owner},
                       {"mode", facts_.module_mode},
                       {"library", facts_.library}}},
                     {"token", {{"label", facts_.token.label}, {"serial", facts_.token.serial}, {"model", facts_.token.model}}},
                     {"key",
                      {{"label", facts_.key_label},
                       {"id", facts_.key_id_hex},
                       {"sensitive", facts_.sensitive},
                       {"never_extractable", facts_.never_extractable},
                       {"usage", usage},
                       {"signing_only", facts_.usage.signing_only()}}}};
    if (!facts_.generation_template.empty()) j["key"]["generation_template"] = facts_.generation_template;
    if (!facts_.pin_shares.empty()) j["pin_shares"] = nlohmann::json::parse(facts_.pin_shares);
    return j.dump();
  }
  pki::KeyAlgorithm algorithm() const override { return facts_.algorithm; }
  const EVP_PKEY* public_key() const override { return public_.get(); }
  EVP_PKEY* signing_key() override { return signing_.get(); }
  bool generated() const override { return generated_; }
  const Pkcs11KeyFacts& facts() const { return facts_; }

 private:
  // Declared first, destroyed last: the token key handle (signing_) is
  // released while the module, shared with the other stores on it, is
  // still loaded.
  std::shared_ptr<Pkcs11Module> module_;
  pki::PKeyPtr signing_;
  pki::PKeyPtr public_;
  Pkcs11KeyFacts facts_;
  bool generated_;
};

void validate_ref(const Pkcs11KeyRef& ref) {
  if (ref.module.empty()) {
    throw Error(ErrorKind::invalid_input,
                "the PKCS#11 module path is empty; set root.key.pkcs11.module (e.g. /usr/lib/softhsm/libsofthsm2.so)");
  }
  if (ref.token.empty() && ref.serial.empty()) {
    throw Error(ErrorKind::invalid_input, "name the PKCS#11 token by its label (token) and/or serial");
  }
  // A label, an id or both name the key; a key generated from an id-only
  // reference gets that id and no label.
  if (ref.label.empty() && ref.id_hex.empty()) {
    throw Error(ErrorKind::invalid_input, "name the key by its label and/or id (CKA_LABEL, CKA_ID)");
  }
}

std::string describe_keys(const std::vector<p11::KeyObject>& keys) {
  std::string s;
  for (const auto& k : keys) {
    if (!s.empty()) s += ", ";
    s += "'" + k.label + "' (id " + (k.id.empty() ? std::string("none") : to_hex(k.id)) + ", " + k.describe_type() + ")";
  }
  return s.empty() ? "none" : s;
}

std::string wanted_key(const Pkcs11KeyRef& ref) {
  std::string s;
  if (!ref.label.empty()) s = "labelled '" + ref.label + "'";
  if (!ref.id_hex.empty()) s += (s.empty() ? "" : " ") + std::string("with id ") + ref.id_hex;
  return s;
}

struct FoundKey {
  p11::KeyObject private_key;
  pki::PKeyPtr public_key;
  bool generated = false;
  std::string generation_template;
  KeyUsage usage;
};

// `before_generate` runs once the key is known to be absent, just before it
// is generated.
FoundKey find_or_generate(const p11::Session& session, const Pkcs11KeyRef& ref, std::string id, pki::KeyAlgorithm algorithm, Mode mode,
                          const Pkcs11Module& module, const Pkcs11TokenInfo& token, const std::function<void()>& before_generate) {
  const std::string where = "token " + token.describe();
  FoundKey found;
  auto privs = session.find_keys(CKO_PRIVATE_KEY, ref.label, id);
  if (mode == Mode::must_create && !privs.empty()) {
    throw Error(ErrorKind::key_store,
                "a private key " + wanted_key(ref) + " already exists (" + describe_keys(privs) +
                    "); refusing to generate over it: choose another label, or use the existing key",
                where);
  }
  if (privs.size() > 1) {
    throw Error(ErrorKind::key_store,
                std::to_string(privs.size()) + " private keys match " + wanted_key(ref) + ": " + describe_keys(privs) +
                    "; refusing to guess: give the key id (CKA_ID) as well",
                where);
  }
  if (privs.empty()) {
    if (mode == Mode::must_exist) {
      throw Error(ErrorKind::key_store,
                  "no private key " + wanted_key(ref) +
                      " on the token; private keys present: " + describe_keys(session.find_keys(CKO_PRIVATE_KEY)) +
                      "; check the key label/id (or run `meshca hsm list --pin-source ...`)",
                  where);
    }
    if (!session.find_any(ref.label, id).empty()) {
      throw Error(ErrorKind::key_store,
                  "objects " + wanted_key(ref) +
                      " already exist on the token (public keys or certificates without their private key); "
                      "refusing to generate a key pair that would share their label/id: choose another label",
                  where);
    }
    p11::require_algorithm(module, token, algorithm, /*generate=*/true);
    if (id.empty()) id = random_bytes(16);
    before_generate();
    found.generation_template =
        p11::generate_key_pair(session, algorithm, ref.label, id, ref.require_signing_only).template_name;
    found.generated = true;
    privs = session.find_keys(CKO_PRIVATE_KEY, ref.label, id);
    if (privs.size() != 1) {
      throw Error(ErrorKind::key_store,
                  "the token reported success generating the key pair, but " + std::to_string(privs.size()) + " private keys " +
                      wanted_key(ref) + " are visible afterwards",
                  where);
    }
  }
  found.private_key = privs.front();
  const p11::KeyObject& priv = found.private_key;
  if (priv.id.empty()) {
    throw Error(ErrorKind::key_store,
                "private key '" + priv.label + "' has no CKA_ID; meshca pairs private and public keys by id and cannot use it", where);
  }

  // The public half, as a software key.
  std::vector<p11::KeyObject> pubs;
  for (auto& k : session.find_keys(CKO_PUBLIC_KEY, {}, priv.id)) {
    if (k.key_type == priv.key_type) pubs.push_back(std::move(k));
  }
  if (pubs.size() > 1) {
    throw Error(ErrorKind::key_store,
                std::to_string(pubs.size()) + " public keys share the id " + to_hex(priv.id) + " of key '" + priv.label +
                    "'; refusing to guess which one belongs to it",
                where);
  }
  found.usage.sign = priv.can_sign;
  found.usage.decrypt = priv.can_decrypt;
  found.usage.unwrap = priv.can_unwrap;
  found.usage.derive = priv.can_derive;
  if (!pubs.empty()) {
    found.usage.verify = pubs.front().can_sign;
    found.usage.encrypt = pubs.front().can_encrypt;
    found.usage.wrap = pubs.front().can_wrap;
    found.public_key = p11::software_public_key(session, pubs.front());
  } else if (priv.key_type == CKK_RSA) {
    found.public_key = p11::software_public_key(session, priv);
  } else {
    throw Error(ErrorKind::key_store,
                "private key '" + priv.label + "' (id " + to_hex(priv.id) +
                    ") has no public key object with the same id; meshca needs it to verify what the token signs",
                where);
  }

  auto actual = pki::key_algorithm_of(found.public_key.get());
  if (!actual) {
    throw Error(ErrorKind::key_store,
                "key '" + priv.label + "' is " + pki::describe_key(found.public_key.get()) +
                    ", which meshca does not accept for a CA (choose one of " + pki::key_algorithm_choices() + ")",
                where);
  }
  if (*actual != algorithm) {
    throw Error(ErrorKind::key_store,
                "key '" + priv.label + "' on the token is " + std::string(pki::key_algorithm_name(*actual)) + " (" +
                    pki::describe_key(found.public_key.get()) + ") but the plan says " + std::string(pki::key_algorithm_name(algorithm)) +
                    "; fix root.key.algorithm or point the key label at the right key",
                where);
  }
  if (!priv.sensitive.value_or(false) || priv.extractable.value_or(true)) {
    throw Error(ErrorKind::key_store,
                "key '" + priv.label + "' (id " + to_hex(priv.id) + ") is " +
                    (priv.extractable.value_or(true) ? "extractable" : "not sensitive") +
                    "; a root key must be CKA_SENSITIVE and not CKA_EXTRACTABLE so it can never leave the token: "
                    "generate a new key with `meshca hsm keygen`",
                where);
  }
  if (!priv.can_sign.value_or(false)) {
    throw Error(ErrorKind::key_store, "key '" + priv.label + "' may not sign (CKA_SIGN is false)", where);
  }
  if (ref.require_signing_only && !found.usage.signing_only()) {
    throw Error(ErrorKind::key_store,
                "key " + wanted_key(ref) + " (id " + to_hex(priv.id) + ") is not signing-only: the token reports " +
                    found.usage.describe() +
                    "; the plan requires signing-only (key.pkcs11.require: signing-only), so nothing was signed. "
                    "Generate a new key where the token allows it (`meshca hsm keygen`), or drop the requirement",
                where);
  }
  return found;
}

// Sign a random message with the token and verify it in software.
void self_test(EVP_PKEY* signing, const EVP_PKEY* public_key, const std::string& where) {
  const EVP_MD* md = pki::signature_digest(public_key);
  std::string message = random_bytes(32);
  const auto* msg = reinterpret_cast<const unsigned char*>(message.data());

  pki::MdCtxPtr sign_ctx(EVP_MD_CTX_new());
  std::size_t sig_len = 0;
  if (!sign_ctx || EVP_DigestSignInit(sign_ctx.get(), nullptr, md, nullptr, signing) != 1 ||
      EVP_DigestSign(sign_ctx.get(), nullptr, &sig_len, msg, message.size()) != 1) {
    pki::throw_openssl("the token could not sign a test message", ErrorKind::key_store);
  }
  std::vector<unsigned char> signature(sig_len);
  if (EVP_DigestSign(sign_ctx.get(), signature.data(), &sig_len, msg, message.size()) != 1) {
    pki::throw_openssl("the token could not sign a test message", ErrorKind::key_store);
  }
  signature.resize(sig_len);

  pki::MdCtxPtr verify_ctx(EVP_MD_CTX_new());
  if (!verify_ctx ||
      EVP_DigestVerifyInit(verify_ctx.get(), nullptr, md, nullptr, const_cast<EVP_PKEY*>(public_key)) != 1) {
    pki::throw_openssl("cannot verify the token's test signature", ErrorKind::key_store);
  }
  if (EVP_DigestVerify(verify_ctx.get(), signature.data(), signature.size(), msg, message.size()) != 1) {
    pki::drain_openssl_errors();
    throw Error(ErrorKind::key_store,
                "the token's private key did not produce a signature its public key verifies: the key pair is "
                "mismatched (a private and a public key share an id or label); refusing to use it",
                where);
  }
}

std::unique_ptr<KeyStore> open_impl(const Pkcs11KeyRef& ref, pki::KeyAlgorithm algorithm, Mode mode,
                                    const KeyStoreContext& ctx) {
  validate_ref(ref);
  std::string id;
  if (!ref.id_hex.empty()) {
    auto parsed = from_hex(ref.id_hex);
    if (!parsed || parsed->empty()) {
      throw Error(ErrorKind::invalid_input, "the key id must be hex bytes (e.g. 0a1b2c), got '" + ref.id_hex + "'");
    }
    id = *parsed;
  }

  if (!ctx.pkcs11_modules) {
    throw Error(ErrorKind::internal, "no PKCS#11 module set in the key store context (KeyStoreContext::pkcs11_modules)", ref.module);
  }
  std::shared_ptr<Pkcs11Module> shared_module = ctx.pkcs11_modules->open(ref.module, ref.init_args);
  Pkcs11Module& module = *shared_module;

  Pkcs11TokenInfo token = p11::select_token(module, ref.token, ref.serial);
  const std::string where = "token " + token.describe();
  PKCS11_SLOT* slot = module.libp11_slot(token.slot_id);
  if (slot == nullptr) throw Error(ErrorKind::key_store, "libp11 does not see the token the module reports", where);
  if (token.user_pin_locked()) p11::throw_login_failure(CKR_PIN_LOCKED, token, module);
  if (!token.user_pin_initialized()) p11::throw_login_failure(CKR_USER_PIN_NOT_INITIALIZED, token, module);
  // Know the token before logging in: it must sign with this algorithm.
  p11::require_algorithm(module, token, algorithm, /*generate=*/mode == Mode::must_create);

  // Another store of this process may have logged in to the token already
  // (the login is per application); then no PIN is asked for again.
  int logged_in = 0;
  if (PKCS11_is_logged_in(slot, 0, &logged_in) != 0) logged_in = 0;
  pki::drain_openssl_errors();
  TokenLogin login;
  if (logged_in == 0) login = log_in(slot, ref, id, mode != Mode::must_exist, module, token, ctx);

  FoundKey found;
  {
    // The login above is per application: this session shares it.
    p11::Session session(module, token.slot_id, /*read_write=*/mode != Mode::must_exist);
    found = find_or_generate(session, ref, id, algorithm, mode, module, token, [&] {
      // A PIN held as shares is set, write-ahead, before the key it guards exists.
      if (login.pin_change_pending) give_shared_pin(login, slot, ref, module, token, ctx);
    });
  }
  if (login.pin_change_pending) {
    throw Error(ErrorKind::key_store,
                "the plan holds the user PIN as custodians' shares, but no share files are in " + ctx.shares_dir.string() +
                    " and the token already has the key " + wanted_key(ref) +
                    ": meshca sets a shared PIN only when it generates the key. Nothing was changed; give --shares-dir the "
                    "directory holding the share files",
                where);
  }
  const p11::KeyObject& priv = found.private_key;

  // libp11 enumerates after any generation, so it sees the new key.
  PKCS11_KEY* keys = nullptr;
  unsigned int key_count = 0;
  if (PKCS11_enumerate_keys(slot->token, &keys, &key_count) != 0) {
    throw Error(ErrorKind::key_store, "libp11 could not list the private keys: " + pki::drain_openssl_errors(), where);
  }
  PKCS11_KEY* chosen = nullptr;
  int matches = 0;
  for (unsigned int i = 0; i < key_count; ++i) {
    PKCS11_KEY* k = &keys[i];
    if (k->id_len != priv.id.size() || std::memcmp(k->id, priv.id.data(), k->id_len) != 0) continue;
    if (!ref.label.empty() && (k->label == nullptr || priv.label != k->label)) continue;
    chosen = k;
    ++matches;
  }
  if (matches != 1) {
    throw Error(ErrorKind::key_store,
                "libp11 finds " + std::to_string(matches) + " private keys with id " + to_hex(priv.id) + " where the token showed one",
                where);
  }
  pki::PKeyPtr signing(PKCS11_get_private_key(chosen));
  if (!signing) pki::throw_openssl("libp11 could not use the private key '" + priv.label + "'", ErrorKind::key_store);

  self_test(signing.get(), found.public_key.get(), where);
  pki::drain_openssl_errors();

  Pkcs11KeyFacts facts;
  facts.module = ref.module;
  facts.module_sha256 = module.file().sha256;
  facts.module_owner = module.file().owner_name;
  char mode_text[8];
  std::snprintf(mode_text, sizeof mode_text, "%04o", module.file().mode);
  facts.module_mode = mode_text;
  facts.library = module.library_description();
  facts.usage = found.usage;
  facts.generation_template = found.generation_template;
  facts.pin_shares = login.pin_shares_facts;
  facts.token = token;
  facts.key_label = priv.label;
  facts.key_id_hex = to_hex(priv.id);
  facts.algorithm = algorithm;
  facts.sensitive = priv.sensitive.value_or(false);
  facts.extractable = priv.extractable.value_or(true);
  facts.always_sensitive = priv.always_sensitive.value_or(false);
  facts.never_extractable = priv.never_extractable.value_or(false);
  return std::make_unique<Pkcs11KeyStore>(std::move(shared_module), std::move(signing), std::move(found.public_key), std::move(facts),
                                          found.generated);
}

}  // namespace

std::unique_ptr<KeyStore> open_pkcs11_key_store(const Pkcs11KeyRef& ref, pki::KeyAlgorithm algorithm,
                                                KeyPresence presence, const KeyStoreContext& ctx) {
  return open_impl(ref, algorithm, presence == KeyPresence::must_exist ? Mode::must_exist : Mode::create_if_missing,
                   ctx);
}

std::unique_ptr<KeyStore> generate_pkcs11_key(const Pkcs11KeyRef& ref, pki::KeyAlgorithm algorithm,
                                              const KeyStoreContext& ctx) {
  return open_impl(ref, algorithm, Mode::must_create, ctx);
}

bool KeyUsage::signing_only() const {
  return sign.value_or(false) && !decrypt.value_or(true) && !unwrap.value_or(true) && !derive.value_or(true);
}

std::string KeyUsage::describe() const {
  std::string allowed, hidden;
  auto add = [&](const char* name, const std::optional<bool>& v) {
    std::string& list = v ? allowed : hidden;
    if (v && !*v) return;
    list += (list.empty() ? "" : ", ") + std::string(name);
  };
  add("sign", sign);
  add("decrypt", decrypt);
  add("unwrap", unwrap);
  add("derive", derive);
  add("public encrypt", encrypt);
  add("public wrap", wrap);
  std::string s = allowed.empty() ? std::string("none") : allowed;
  if (!hidden.empty()) s += "; unreported: " + hidden;
  return s;
}

const Pkcs11KeyFacts* pkcs11_facts(const KeyStore& store) {
  const auto* p = dynamic_cast<const Pkcs11KeyStore*>(&store);
  return p != nullptr ? &p->facts() : nullptr;
}

}  // namespace meshca::hsm
