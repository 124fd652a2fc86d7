// The root key inside a PKCS#11 token, reached through libp11.
//
// The token is found by label and/or serial (never by slot index: SoftHSM2
// renumbers slots), the key by CKA_LABEL and/or CKA_ID. New keys are
// generated inside the token with C_GenerateKeyPair (CKA_SENSITIVE, not
// extractable) and their attributes are read back before use. One login per
// run; a wrong PIN is reported, never retried.
#pragma once

#include <memory>

#include "hsm/key_store.hpp"

namespace meshca::hsm {

std::unique_ptr<KeyStore> open_pkcs11_key_store(const Pkcs11KeyRef& ref, pki::KeyAlgorithm algorithm,
                                                KeyPresence presence, const KeyStoreContext& ctx);

}  // namespace meshca::hsm
