#include "hsm/pkcs11_login.hpp"

#include <openssl/err.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/secret_shares.hpp"

namespace meshca::hsm {
namespace {

// A PIN shorter than this is not made for custodians: 72 random bits.
constexpr std::size_t kMinSharedPinLength = 12;

// The CKR code libp11 left on the OpenSSL error queue (0 when none); clears the queue.
CK_RV take_ckr_from_error_queue() {
  CK_RV rv = 0;
  const int ckr_lib = ERR_get_CKR_code();
  for (unsigned long e = ERR_get_error(); e != 0; e = ERR_get_error()) {
    if (ERR_GET_LIB(e) == ckr_lib && rv == 0) rv = static_cast<CK_RV>(ERR_GET_REASON(e));
  }
  return rv;
}

// libp11 takes C strings.
SecureBuffer c_string(const SecureBuffer& pin) {
  SecureBuffer c(pin.view());
  c.append('\0');
  return c;
}

Pkcs11TokenInfo token_now(const Pkcs11Module& module, const Pkcs11TokenInfo& token) {
  try {
    return p11::token_info(module, token.slot_id);
  } catch (const Error&) {
    return token;  // keep the flags read before
  }
}

std::string purpose_for(const Pkcs11TokenInfo& token) { return "user PIN of PKCS#11 token '" + token.label + "'"; }

// Share files are named after the token the plan names (its label, else
// its serial), characters a file name should not carry replaced:
// DIR/acme-root.user-pin.CUSTODIAN.share.
std::string share_stem(const Pkcs11KeyRef& ref) {
  std::string name = ref.token.empty() ? "serial-" + ref.serial : ref.token;
  std::replace_if(
      name.begin(), name.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '-' && c != '_'; }, '_');
  return name + ".user-pin";
}

std::filesystem::path marker_path(const KeyStoreContext& ctx, const Pkcs11KeyRef& ref) {
  return ctx.shares_dir / (share_stem(ref) + ".pin-change");
}

SecureBuffer initial_pin(const Pkcs11KeyRef& ref, const Pkcs11TokenInfo& token, const KeyStoreContext& ctx) {
  if (!ref.initial_pin) {
    throw Error(ErrorKind::key_store, "the " + purpose_for(token) +
                                          " is to be held as custodians' shares, and this run sets it: name where the token's current "
                                          "(initial) user PIN comes from in root.key.pkcs11.pin.initial (env:NAME, file:PATH or prompt)");
  }
  return resolve_secret(*ref.initial_pin, "current (initial) " + purpose_for(token), ctx.prompt, ctx.base_dir, ErrorKind::key_store);
}

// Removing the marker is a durable step of its own: a run stopped just
// before it has changed the PIN and left the marker (the crash-point tests
// stop there).
void remove_marker(const std::filesystem::path& marker) {
  durable_step("unlink", marker);
  std::error_code ec;
  std::filesystem::remove(marker, ec);
  if (ec) throw_path_error(ErrorKind::key_store, "cannot remove the PIN-change marker", marker, ec);
  fsync_directory(marker.parent_path());
}

// C_SetPIN(old, new) through libp11, then a new login with the new PIN:
// libp11 keeps the PIN of its login to log in again after a fork, and
// must not keep the old one.
void change_pin(PKCS11_SLOT* slot, const SecureBuffer& old_pin, const SecureBuffer& new_pin, const Pkcs11Module& module,
                const Pkcs11TokenInfo& token) {
  p11::require_pin_length(module, token, new_pin.size());
  SecureBuffer c_old = c_string(old_pin);
  SecureBuffer c_new = c_string(new_pin);
  // The token's PIN changing is a durable step (the crash-point tests stop
  // just before it).
  durable_step("token-set-pin", "pkcs11:token=" + token.label);
  ERR_clear_error();
  if (PKCS11_change_pin(slot, c_old.data(), c_new.data()) != 0) {
    const CK_RV rv = take_ckr_from_error_queue();
    p11::throw_rv("C_SetPIN (the user PIN of token " + token.describe() + " was not changed; the share files are kept)", rv, module.path());
  }
  if (PKCS11_logout(slot) != 0) pki::drain_openssl_errors();
  login_once(slot, new_pin, module, token);
}

// A marker is present: a run stopped between writing the marker and
// removing it (see the header). Finishes the change.
TokenLogin finish_interrupted_change(PKCS11_SLOT* slot, const Pkcs11KeyRef& ref, const std::filesystem::path& marker,
                                     const Pkcs11Module& module, const Pkcs11TokenInfo& token, const KeyStoreContext& ctx) {
  const ShareCustody& custody = ref.pin.shares;
  for (const auto& c : custody.custodians) {
    const auto file = share_file_path(ctx.shares_dir, share_stem(ref), c);
    if (!std::filesystem::exists(file)) {
      throw Error(ErrorKind::key_store,
                  "a run that was setting the " + purpose_for(token) + " stopped while writing the share files (" + file.string() +
                      " is missing), so the token's PIN was not changed: move " + marker.string() + " and the share files " +
                      (ctx.shares_dir / (share_stem(ref) + ".*.share")).string() +
                      " away (never into use) and run again; docs/ceremony-runbook.md, \"A token PIN held as shares\"",
                  marker.string());
    }
  }
  GatheredSecret pin = gather_shared_secret(custody, purpose_for(token), ctx.shares_dir, share_stem(ref), {}, ErrorKind::key_store);
  const CK_RV rv = try_login(slot, pin.secret, module, token);
  if (rv == CKR_PIN_INCORRECT) {
    // The token still has its initial PIN: the change never happened.
    // (CKF_USER_PIN_COUNT_LOW only says a wrong PIN was sent, as it was.)
    const Pkcs11TokenInfo now = token_now(module, token);
    if (now.user_pin_locked() || now.user_pin_final_try()) {
      p11::throw_login_failure(now.user_pin_locked() ? CKR_PIN_LOCKED : CKR_PIN_INCORRECT, now, module);
    }
    SecureBuffer initial = initial_pin(ref, token, ctx);
    try {
      login_once(slot, initial, module, now);
    } catch (const Error& e) {
      throw Error(ErrorKind::key_store,
                  "finishing the interrupted PIN change, neither the shares' PIN nor the initial PIN was accepted (two logins "
                  "failed; no more are tried): " +
                      e.message(),
                  e.where());
    }
    change_pin(slot, initial, pin.secret, module, now);
  } else if (rv != 0) {
    p11::throw_login_failure(rv, token_now(module, token), module);
  }
  remove_marker(marker);
  nlohmann::json facts = share_set_facts(custody, pin.fingerprints);
  facts["completed_interrupted_change"] = true;
  return TokenLogin{facts.dump(), false, {}};
}

// C_SetPIN needs a read-write session, and libp11 opens its sessions in
// the mode of its first one (read-only for a user login): switched before
// the login, since switching closes every session of the slot (logging out).
void use_read_write_sessions(PKCS11_SLOT* slot, const Pkcs11TokenInfo& token) {
  if (PKCS11_open_session(slot, 1) != 0) {
    throw Error(ErrorKind::key_store, "libp11 cannot open a read-write session: " + pki::drain_openssl_errors(),
                "token " + token.describe());
  }
}

bool any_share_file(const Pkcs11KeyRef& ref, const KeyStoreContext& ctx) {
  return std::any_of(ref.pin.shares.custodians.begin(), ref.pin.shares.custodians.end(), [&](const std::string& c) {
    std::error_code ec;
    return std::filesystem::exists(std::filesystem::symlink_status(share_file_path(ctx.shares_dir, share_stem(ref), c), ec));
  });
}

}  // namespace

CK_RV try_login(PKCS11_SLOT* slot, const SecureBuffer& pin, const Pkcs11Module& module, const Pkcs11TokenInfo& token) {
  p11::require_pin_length(module, token, pin.size());
  SecureBuffer c_pin = c_string(pin);
  ERR_clear_error();
  if (PKCS11_login(slot, 0, c_pin.data()) == 0) return 0;
  const CK_RV rv = take_ckr_from_error_queue();
  if (rv != 0) return rv;
  return token_now(module, token).user_pin_locked() ? CKR_PIN_LOCKED : CKR_GENERAL_ERROR;
}

void login_once(PKCS11_SLOT* slot, const SecureBuffer& pin, const Pkcs11Module& module, const Pkcs11TokenInfo& token) {
  const CK_RV rv = try_login(slot, pin, module, token);
  if (rv != 0) p11::throw_login_failure(rv, token_now(module, token), module);
}

TokenLogin log_in(PKCS11_SLOT* slot, const Pkcs11KeyRef& ref, const std::string& key_id, bool may_generate, const Pkcs11Module& module,
                  const Pkcs11TokenInfo& token, const KeyStoreContext& ctx) {
  if (ref.pin.kind != SecretKind::shares) {
    login_once(slot, resolve_secret(ref.pin, purpose_for(token), ctx.prompt, ctx.base_dir, ErrorKind::key_store), module, token);
    return {};
  }
  const ShareCustody& custody = ref.pin.shares;
  if (!ctx.shares_dir.empty()) {
    const auto marker = marker_path(ctx, ref);
    std::error_code ec;
    if (std::filesystem::exists(std::filesystem::symlink_status(marker, ec))) {
      use_read_write_sessions(slot, token);
      return finish_interrupted_change(slot, ref, marker, module, token, ctx);
    }
    if (may_generate && !any_share_file(ref, ctx)) {
      // No share set yet: the token has its initial PIN, which is replaced
      // if (and only if) the key is generated in this run. A key whose
      // public objects are visible before a login exists: then the share
      // files were simply not given, and no PIN is sent.
      if (!p11::Session(module, token.slot_id, /*read_write=*/false).find_any(ref.label, key_id).empty()) {
        throw Error(ErrorKind::key_store,
                    "no share files of the " + purpose_for(token) + " are in " + ctx.shares_dir.string() +
                        ", and the token already holds the key: give --shares-dir the directory holding the custodians' share "
                        "files (or leave it out to type the shares). No login was attempted",
                    ctx.shares_dir.string());
      }
      TokenLogin login{{}, true, initial_pin(ref, token, ctx)};
      use_read_write_sessions(slot, token);
      login_once(slot, login.initial_pin, module, token);
      return login;
    }
  }
  // Every share is checked before the one login.
  GatheredSecret pin = gather_shared_secret(custody, purpose_for(token), ctx.shares_dir, share_stem(ref), ctx.prompt, ErrorKind::key_store);
  login_once(slot, pin.secret, module, token);
  return TokenLogin{gathered_share_facts(custody, pin).dump(), false, {}};
}

void give_shared_pin(TokenLogin& login, PKCS11_SLOT* slot, const Pkcs11KeyRef& ref, const Pkcs11Module& module,
                     const Pkcs11TokenInfo& token, const KeyStoreContext& ctx) {
  const ShareCustody& custody = ref.pin.shares;
  std::size_t length = kSharedSecretLength;
  if (token.max_pin_len != 0) length = std::min<std::size_t>(length, token.max_pin_len);
  if (length < std::max<std::size_t>(kMinSharedPinLength, token.min_pin_len)) {
    throw Error(ErrorKind::key_store, "token " + token.describe() + " takes user PINs of at most " + std::to_string(token.max_pin_len) +
                                          " characters; a PIN held as shares needs at least " + std::to_string(kMinSharedPinLength) +
                                          ". Nothing was changed");
  }
  const auto marker = marker_path(ctx, ref);
  ensure_directory(ctx.shares_dir, kPrivateDirMode);
  const std::string note = "# meshca: the " + purpose_for(token) +
                           " is being changed to the one the share files next to this marker hold.\n"
                           "# Present after a run: see docs/ceremony-runbook.md, \"A token PIN held as shares\".\n";
  write_file_atomic(marker, note, kPrivateFileMode, Replace::never);  // durable (the directory synced) before any share
  SplitSecret split = create_shared_secret(custody, purpose_for(token), ctx.shares_dir, share_stem(ref), ErrorKind::key_store, length);
  change_pin(slot, login.initial_pin, split.secret, module, token);
  remove_marker(marker);
  login.pin_change_pending = false;
  login.initial_pin = SecureBuffer();
  login.pin_shares_facts = share_set_facts(custody, split.fingerprints).dump();
}

}  // namespace meshca::hsm
