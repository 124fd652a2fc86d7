// What the files of the raw PKCS#11 layer share (pkcs11_tokens.cpp,
// pkcs11_keygen.cpp); not part of hsm/'s interface.
#pragma once

#include "pki/key.hpp"

namespace meshca::hsm::p11::detail {

// The size of the keys meshca generates for `algorithm`, in bits (for EC,
// the curve's): what a mechanism's ulMinKeySize..ulMaxKeySize must allow.
unsigned long key_bits(pki::KeyAlgorithm algorithm);

}  // namespace meshca::hsm::p11::detail
