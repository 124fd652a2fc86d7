// Hex text and SHA-256 digests: the one encoder the tree uses for key ids,
// fingerprints, file digests and module hashes.
//
// to_hex is lowercase without separators (SHA256SUMS, transcript digests,
// CKA_ID); to_hex_colons is uppercase with colons, the form `openssl x509
// -fingerprint` prints, so an operator can compare the two by eye.
// sha256 uses OpenSSL's libcrypto (which core links); a failure there (out of
// memory) is Error(internal).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace meshca {

// "0a1b..." for the bytes 0x0a 0x1b ...
std::string to_hex(std::string_view bytes);
// "0A:1B:..." for the same bytes.
std::string to_hex_colons(std::string_view bytes);
// The bytes of `hex` (either case; ':' separators allowed); nullopt when it
// is not an even number of hex digits.
std::optional<std::string> from_hex(std::string_view hex);

// The 32-byte SHA-256 of `bytes`, and the same as lowercase hex.
std::string sha256(std::string_view bytes);
std::string sha256_hex(std::string_view bytes);

}  // namespace meshca
