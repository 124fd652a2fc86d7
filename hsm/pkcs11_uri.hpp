// RFC 7512 PKCS#11 URIs, parsed with p11-kit.
//
// `pkcs11:token=acme-root;object=root-2026;id=%01%02?module-path=/usr/lib/softhsm/libsofthsm2.so`
// becomes a Pkcs11KeyRef. A URI that carries a PIN value (`pin-value=`) is
// refused: secrets never appear in plans or on command lines.
#pragma once

#include <string_view>

#include "hsm/key_store.hpp"

namespace meshca::hsm {

// Throws Error(invalid_input) with p11-kit's reason for a malformed URI.
Pkcs11KeyRef parse_pkcs11_uri(std::string_view uri);

}  // namespace meshca::hsm
