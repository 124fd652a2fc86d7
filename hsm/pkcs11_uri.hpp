// RFC 7512 PKCS#11 URIs, parsed with p11-kit.
//
// `pkcs11:token=acme-root;object=root-2026;id=%01%02?module-path=/usr/lib/softhsm/libsofthsm2.so`
// becomes a Pkcs11KeyRef. A URI that carries a PIN value (`pin-value=`) is
// refused: secrets never appear in plans or on command lines.
//
// Understood: path attributes token, serial, object, id (percent-encoded
// bytes, kept as hex), type (must be `private` when present); query
// attributes module-path and pin-source (`file:PATH`, `file:///PATH`, or
// meshca's `env:NAME`; without it the PIN comes from env:MESHCA_PIN).
// slot-id and other slot attributes are refused: tokens are found by label
// and serial, never by slot.
#pragma once

#include <string>
#include <string_view>

#include "hsm/key_store.hpp"

namespace meshca::hsm {

// Throws Error(invalid_input) with p11-kit's reason for a malformed URI.
Pkcs11KeyRef parse_pkcs11_uri(std::string_view uri);

// The URI for `ref` (module-path and a non-default pin-source included), such
// that parse_pkcs11_uri(format_pkcs11_uri(ref)) gives `ref` back.
std::string format_pkcs11_uri(const Pkcs11KeyRef& ref);

}  // namespace meshca::hsm
