// M-of-N custody of a secret: Shamir shares over GF(256) (Debian's
// libgfshare, the same arithmetic as its gfsplit/gfcombine tools).
//
// A secret that unlocks the root (a file root's passphrase) can be held by N
// custodians, any M of whom recover it. meshca makes the secret itself
// (random, never typed), splits it, test-combines every M-subset before the
// secret is used, and writes one text share per custodian, 0600 and
// atomically, into a directory the operator names. A share carries its
// custodian's name, its index and a checksum bound to both, so a mistyped,
// corrupted, duplicated or misplaced share is refused naming the custodian
// before anything is unlocked. Only share fingerprints (SHA-256 of the share
// line) ever leave this module for the transcript; shares and the secret stay
// in SecureBuffers and never reach an error message.
//
// The share line `NNN-HEX-CHECKSUM` is what a custodian types at a prompt and
// what the file's `share:` line holds: NNN is the share number gfcombine
// reads from a file's `.NNN` suffix, HEX the share bytes, so
// `xxd -r -p` of HEX written to `NAME.NNN` is gfcombine's input
// (docs/ceremony-runbook.md, "Recovering a secret from its shares").
#pragma once

#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/secret_source.hpp"
#include "core/secure_buffer.hpp"

namespace meshca {

inline constexpr unsigned kMinShareThreshold = 2;
// Every M-subset is combined at creation: C(16, 8) = 12870 is the most.
inline constexpr unsigned kMaxCustodians = 16;
// The secrets meshca makes: 32 base64url characters (192 bits) unless a
// shorter one is asked for (a token whose PIN field is shorter).
inline constexpr std::size_t kSharedSecretLength = 32;
inline constexpr std::size_t kMaxSharedSecretLength = 64;

// One custodian's share, as read back. `index` is 1-based, the custodian's
// position in the plan's list.
struct SecretShare {
  std::string custodian;
  unsigned index = 0;
  SecureBuffer bytes;
};

// What the transcript records of one share (never the share).
struct ShareFingerprint {
  std::string custodian;
  unsigned index = 0;
  std::string sha256;  // lowercase hex SHA-256 of the share line
};

// "NNN-HEX-CHECKSUM" for `share`: what the custodian types.
SecureBuffer share_line(const std::string& custodian, unsigned index, const SecureBuffer& share);

// The text file of one share (custodian, index, threshold, what it unlocks,
// the share line).
SecureBuffer share_file_text(const ShareCustody& custody, const std::string& purpose, unsigned index, const SecureBuffer& share);

// Where a custodian's share file is: DIR/STEM.CUSTODIAN.share.
std::filesystem::path share_file_path(const std::filesystem::path& dir, const std::string& stem, const std::string& custodian);

// Reads the share of `custodian` (1-based `index` in the plan) from a typed
// line or a share file's text, checking, in this order, that it is a share
// line, that it is not a share already in `given` (a duplicate names both
// custodians), that its number is the custodian's, its checksum, and its
// length against `given`. Error(kind) naming the custodian and `where`,
// never the share.
SecretShare read_share(const std::string& custodian, unsigned index, std::string_view line, const std::vector<SecretShare>& given,
                       ErrorKind kind, const std::string& where);
// The same for a share file's whole text (its `custodian:`, `threshold:` and
// `share:` lines must match `custody`).
SecretShare read_share_file(const ShareCustody& custody, unsigned index, std::string_view text, const std::vector<SecretShare>& given,
                            ErrorKind kind, const std::string& where);

// The secret from at least `custody.threshold` distinct shares; fewer is
// Error(kind) naming the custodians whose shares were given and those missing.
SecureBuffer combine_shares(const ShareCustody& custody, const std::vector<SecretShare>& shares, const std::string& purpose,
                            ErrorKind kind);

// A secret split into custody.custodians.size() shares, every M-subset
// test-combined to the secret (Error(internal) otherwise).
struct SplitSecret {
  SecureBuffer secret;
  std::vector<SecretShare> shares;  // in the plan's custodian order
  std::vector<ShareFingerprint> fingerprints;
};
SplitSecret split_secret(const ShareCustody& custody, SecureBuffer secret);

// The fingerprints of `shares` (SHA-256 of each share line), in their order.
std::vector<ShareFingerprint> fingerprint_shares(const std::vector<SecretShare>& shares);

// A new random passphrase (`length` base64url characters, 6 bits each; 32
// by default) split for `custody`, its share files written to `dir`
// (created 0700; a share file already there is refused, nothing replaced)
// under `stem` and the directory synced. Error(kind) when `dir` is empty (no
// directory was named) or cannot be written.
SplitSecret create_shared_secret(const ShareCustody& custody, const std::string& purpose, const std::filesystem::path& dir,
                                 const std::string& stem, ErrorKind kind, std::size_t length = kSharedSecretLength);

// Gathers shares for `custody`: from `dir` (each custodian's share file that
// exists) when `dir` is not empty, otherwise typed at `prompt`, one
// custodian at a time in the plan's order until the threshold is reached
// (an empty answer skips a custodian). Then combines them.
struct GatheredSecret {
  SecureBuffer secret;
  std::vector<std::string> custodians;  // whose shares gave it, in the plan's order
  std::vector<ShareFingerprint> fingerprints;  // of those shares, in the same order
};
GatheredSecret gather_shared_secret(const ShareCustody& custody, const std::string& purpose, const std::filesystem::path& dir,
                                    const std::string& stem, const SecretPrompt& prompt, ErrorKind kind);

// What a transcript records of a share set (never a share): made in this
// run, {"threshold", "custodians": [{"custodian", "share", "sha256"}...]};
// gathered, {"threshold", "given_by": [custodian...]}.
nlohmann::json share_set_facts(const ShareCustody& custody, const std::vector<ShareFingerprint>& fingerprints);
nlohmann::json gathered_share_facts(const ShareCustody& custody, const GatheredSecret& gathered);

}  // namespace meshca
