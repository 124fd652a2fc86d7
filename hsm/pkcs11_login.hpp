// How a PKCS#11 key store logs in to its token (internal to hsm/): one
// attempt with a PIN from env:/file:/prompt, or a user PIN held as M-of-N
// custodians' shares (`pin: {shares: ..., initial: REF}`).
//
// A token already has a user PIN (softhsm2-util --init-token, the vendor's
// tool), and meshca cannot choose a PIN it does not know. So a PIN held as
// shares is made by meshca only in the run that generates the root key on
// the token: it logs in with the initial PIN (from `initial`), sees that
// the key is absent, and then, write-ahead, in this order:
//   1. writes DIR/STEM.pin-change (the marker: a PIN change is under way);
//   2. makes a random PIN, splits it, test-combines every M-subset and
//      writes the share files (core/secret_shares.hpp), synced;
//   3. C_SetPIN(initial, new) (libp11 PKCS11_change_pin), logs out and in
//      again with the new PIN;
//   4. removes the marker; the caller then generates the key.
// A run that dies in between leaves a state the next run recognises:
//   - marker and every share file present: the new PIN (combined from the
//     files) is tried first; CKR_PIN_INCORRECT means step 3 never happened,
//     and, unless the token says its next try is the last, the initial PIN is
//     tried and the change made now. The new PIN is certain (every share is
//     checksummed), so with a correct initial PIN at most one wrong PIN is
//     sent per run;
//   - marker and a share file missing: step 2 did not finish, so the PIN
//     was not changed; refused, naming what to move away;
//   - no marker, shares present, key absent: step 3 finished; the new PIN
//     logs in and the key is generated as in any first run.
// Later runs gather the shares (files or prompt) and log in once; a missing,
// duplicated or corrupted share is refused before any login.
#pragma once

#include <libp11.h>

#include <string>

#include "core/secure_buffer.hpp"
#include "hsm/key_store.hpp"
#include "hsm/pkcs11_module.hpp"

namespace meshca::hsm {

// One C_Login as the user with `pin` (its length checked against the
// token's limits first: a PIN of impossible length is never sent). 0 on
// success, else the CKR code.
CK_RV try_login(PKCS11_SLOT* slot, const SecureBuffer& pin, const Pkcs11Module& module, const Pkcs11TokenInfo& token);
// try_login, a failure explained (p11::throw_login_failure).
void login_once(PKCS11_SLOT* slot, const SecureBuffer& pin, const Pkcs11Module& module, const Pkcs11TokenInfo& token);

// The state of one store's login.
struct TokenLogin {
  // For a PIN held as shares: the share set's facts for the transcript
  // (core/secret_shares.hpp share_set_facts / gathered_share_facts) as JSON
  // text; empty otherwise.
  std::string pin_shares_facts;
  // Logged in with the initial PIN: the key must be generated in this run,
  // after give_shared_pin.
  bool pin_change_pending = false;
  SecureBuffer initial_pin;
};

// Logs in to the token of `slot` as `ref` says (`key_id`: the key's CKA_ID
// bytes, or empty). `may_generate`: this run generates the key when it is
// absent (a PIN held as shares may then be made). Errors are
// Error(key_store) and never include a PIN or a share.
TokenLogin log_in(PKCS11_SLOT* slot, const Pkcs11KeyRef& ref, const std::string& key_id, bool may_generate, const Pkcs11Module& module,
                  const Pkcs11TokenInfo& token, const KeyStoreContext& ctx);

// Steps 1-4 above, for a login with pin_change_pending; the caller is about
// to generate the key. Clears pin_change_pending and sets pin_shares_facts.
void give_shared_pin(TokenLogin& login, PKCS11_SLOT* slot, const Pkcs11KeyRef& ref, const Pkcs11Module& module,
                     const Pkcs11TokenInfo& token, const KeyStoreContext& ctx);

}  // namespace meshca::hsm
