// Resolution of secret references (PINs, passphrases) to SecureBuffers.
//
// A secret is never written on a command line or in a plan: the plan holds a
// reference, `env:NAME`, `file:PATH` or `prompt`, and this module turns it
// into bytes. A secret may instead be held by custodians as M-of-N shares
// (`shares`, core/secret_shares.hpp), which the key store that uses it
// gathers; resolve_secret refuses such a reference. Prompting is delegated to a callback supplied by the front end
// because libraries never talk to the terminal.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/secure_buffer.hpp"

namespace meshca {

enum class SecretKind { env, file, prompt, shares };

// Who holds the shares of a secret meshca made: any `threshold` of the
// `custodians` (names, in the plan's order; a custodian's share number is
// its position, from 1) recover it.
struct ShareCustody {
  unsigned threshold = 0;
  std::vector<std::string> custodians;
};

struct SecretRef {
  SecretRef() = default;
  SecretRef(SecretKind k, std::string v) : kind(k), value(std::move(v)) {}
  explicit SecretRef(ShareCustody custody) : kind(SecretKind::shares), shares(std::move(custody)) {}

  SecretKind kind = SecretKind::prompt;
  std::string value;    // variable name or path; empty for prompt and shares
  ShareCustody shares;  // for SecretKind::shares

  // Parses `env:NAME`, `file:PATH`, `prompt`. Throws Error(invalid_input)
  // naming the accepted forms; never echoes a value that looks like a
  // literal secret.
  static SecretRef parse(std::string_view text);
  // The reference as written, or "3-of-5 custodian shares (a, b, ...)".
  std::string to_string() const;
};

// Asks a person for a secret. `purpose` says what it is for ("passphrase for
// root key keys/root.pem"); `confirm` asks for it twice (new keys).
using SecretPrompt = std::function<SecureBuffer(const std::string& purpose, bool confirm)>;

// Resolves `ref`. Relative file paths are taken relative to `base_dir`.
// Errors are of kind `kind` (key_store for a key's secrets) and never include
// the secret.
SecureBuffer resolve_secret(const SecretRef& ref, const std::string& purpose, const SecretPrompt& prompt,
                            const std::filesystem::path& base_dir, ErrorKind kind, bool confirm_prompt = false);

}  // namespace meshca
