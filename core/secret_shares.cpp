#include "core/secret_shares.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/files.hpp"
#include "core/hex.hpp"

// libgfshare's header declares C functions without extern "C".
extern "C" {
#include <libgfshare.h>
}

namespace meshca {
namespace {

constexpr std::string_view kShareFormat = "meshca-share-1";
constexpr std::size_t kChecksumHexDigits = 8;
constexpr std::size_t kMaxShareFileBytes = std::size_t{64} * 1024;

// libgfshare draws its polynomial coefficients (and the bytes it scrubs a
// context with when freeing it) from this hook; a RAND_bytes failure is
// remembered and turned into an Error after the call that needed it.
thread_local bool random_failed = false;

void fill_random(unsigned char* buffer, unsigned int count) {
  if (RAND_bytes(buffer, static_cast<int>(count)) != 1) {
    OPENSSL_cleanse(buffer, count);
    random_failed = true;
  }
}

void install_random_source() {
  // A function-local static is initialised once, thread-safely.
  static const bool installed = [] {
    gfshare_fill_rand = &fill_random;
    return true;
  }();
  (void)installed;
}

void require_random() {
  if (random_failed) {
    random_failed = false;
    throw Error(ErrorKind::internal, "the random number generator failed while splitting a secret");
  }
}

struct GfshareFree {
  void operator()(gfshare_ctx* ctx) const { gfshare_ctx_free(ctx); }
};
using GfshareCtx = std::unique_ptr<gfshare_ctx, GfshareFree>;

unsigned char* bytes_of(SecureBuffer& b) { return reinterpret_cast<unsigned char*>(b.data()); }

std::string share_number(unsigned index) {
  std::string n = std::to_string(index);
  return std::string(3 - std::min<std::size_t>(3, n.size()), '0') + n;
}

// Bound to the custodian and the share number, so a share typed for the
// wrong custodian fails as surely as a mistyped one.
std::string checksum(const std::string& custodian, unsigned index, std::string_view share) {
  std::string input(kShareFormat);
  input += '\0';
  input += custodian;
  input += '\0';
  input += share_number(index);
  input += '\0';
  input += share;
  std::string digest = sha256_hex(input);
  cleanse(input);
  return digest.substr(0, kChecksumHexDigits);
}

std::string who(const std::string& custodian, const std::string& where) {
  return "the share of custodian " + custodian + (where.empty() ? "" : " (" + where + ")");
}

std::string join_names(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

// True when `text` is non-empty and all digits / hex digits.
bool all_of_class(std::string_view text, int (*cls)(int)) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [cls](char c) { return cls(static_cast<unsigned char>(c)) != 0; });
}

// `length` base64url characters (6 random bits each): safe in a file, a
// shell variable, a prompt or a token's PIN field.
SecureBuffer random_passphrase(std::size_t length) {
  constexpr std::size_t kMaxRandomBytes = 3 * kMaxSharedSecretLength / 4;
  if (length == 0 || length > kMaxSharedSecretLength) throw Error(ErrorKind::internal, "cannot make a secret of that length");
  unsigned char raw[kMaxRandomBytes];
  const std::size_t raw_bytes = (length * 3 + 3) / 4;
  if (RAND_bytes(raw, static_cast<int>(raw_bytes)) != 1) throw Error(ErrorKind::internal, "the random number generator failed");
  char encoded[4 * ((kMaxRandomBytes + 2) / 3) + 1];
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded), raw, static_cast<int>(raw_bytes));
  OPENSSL_cleanse(raw, sizeof raw);
  std::replace(encoded, encoded + n, '+', '-');
  std::replace(encoded, encoded + n, '/', '_');
  SecureBuffer passphrase(std::string_view(encoded, length));
  OPENSSL_cleanse(encoded, sizeof encoded);
  return passphrase;
}

// Every `threshold`-subset of `shares` (as index lists), in order.
template <class Visit>
void for_each_subset(std::size_t count, std::size_t threshold, Visit visit) {
  std::vector<bool> chosen(count, false);
  std::fill(chosen.begin(), chosen.begin() + static_cast<std::ptrdiff_t>(threshold), true);
  do {
    std::vector<std::size_t> subset;
    for (std::size_t i = 0; i < count; ++i) {
      if (chosen[i]) subset.push_back(i);
    }
    visit(subset);
  } while (std::prev_permutation(chosen.begin(), chosen.end()));
}

SecureBuffer interpolate(const std::vector<const SecretShare*>& shares) {
  install_random_source();
  const std::size_t size = shares.front()->bytes.size();
  std::vector<unsigned char> numbers;
  numbers.reserve(shares.size());
  for (const auto* s : shares) numbers.push_back(static_cast<unsigned char>(s->index));
  GfshareCtx ctx(gfshare_ctx_init_dec(numbers.data(), static_cast<unsigned>(numbers.size()), static_cast<unsigned>(size)));
  if (!ctx) throw Error(ErrorKind::internal, "libgfshare refused to combine " + std::to_string(shares.size()) + " shares");
  for (std::size_t i = 0; i < shares.size(); ++i) {
    SecureBuffer copy(shares[i]->bytes.view());
    gfshare_ctx_dec_giveshare(ctx.get(), static_cast<unsigned char>(i), bytes_of(copy));
  }
  SecureBuffer secret(std::string(size, '\0'));
  gfshare_ctx_dec_extract(ctx.get(), bytes_of(secret));
  ctx.reset();
  require_random();
  return secret;
}

}  // namespace

SecureBuffer share_line(const std::string& custodian, unsigned index, const SecureBuffer& share) {
  SecureBuffer line(share_number(index));
  line.append('-');
  std::string hex = to_hex(share.view());
  line.append(hex);
  cleanse(hex);
  line.append('-');
  line.append(checksum(custodian, index, share.view()));
  return line;
}

SecureBuffer share_file_text(const ShareCustody& custody, const std::string& purpose, unsigned index, const SecureBuffer& share) {
  const std::string& custodian = custody.custodians.at(index - 1);
  const std::string threshold = std::to_string(custody.threshold);
  const std::string count = std::to_string(custody.custodians.size());
  SecureBuffer text("# meshca secret share. Keep it secret: any " + threshold + " of the " + count +
                    " custodians' shares recover the secret.\n"
                    "# Typed at meshca's prompt: the value of the share line. Recovery without meshca:\n"
                    "# docs/ceremony-runbook.md, \"Recovering a secret from its shares\" (gfcombine).\n");
  text.append("format: " + std::string(kShareFormat) + "\n");
  text.append("custodian: " + custodian + "\n");
  text.append("secret: " + purpose + "\n");
  text.append("threshold: " + threshold + "\n");
  text.append("custodians: " + join_names(custody.custodians) + "\n");
  text.append("share: ");
  SecureBuffer line = share_line(custodian, index, share);
  text.append(line.view());
  text.append('\n');
  return text;
}

std::filesystem::path share_file_path(const std::filesystem::path& dir, const std::string& stem, const std::string& custodian) {
  return dir / (stem + "." + custodian + ".share");
}

SecretShare read_share(const std::string& custodian, unsigned index, std::string_view line, const std::vector<SecretShare>& given,
                       ErrorKind kind, const std::string& where) {
  SecureBuffer compact;
  for (char c : line) {
    if (std::isspace(static_cast<unsigned char>(c)) == 0) compact.append(c);
  }
  const std::string_view text = compact.view();
  const auto first = text.find('-');
  const auto last = text.rfind('-');
  const std::string_view number = text.substr(0, first);
  const std::string_view hex = first == last ? std::string_view{} : text.substr(first + 1, last - first - 1);
  const std::string_view check = first == last ? std::string_view{} : text.substr(last + 1);
  if (first == std::string_view::npos || number.size() != 3 || !all_of_class(number, std::isdigit) || !all_of_class(hex, std::isxdigit) ||
      hex.size() % 2 != 0 || check.size() != kChecksumHexDigits || !all_of_class(check, std::isxdigit)) {
    throw Error(kind, who(custodian, where) + " is not a share line (NNN-HEX-CHECKSUM, as on the share's 'share:' line)");
  }
  SecretShare share{custodian, static_cast<unsigned>(std::stoul(std::string(number))), {}};
  auto bytes = from_hex(hex);
  share.bytes.append(*bytes);
  cleanse(*bytes);
  for (const auto& other : given) {
    if (other.index == share.index && other.bytes.equals(share.bytes)) {
      throw Error(kind, who(custodian, where) + " is the share already given for custodian " + other.custodian +
                            " (a duplicate); each custodian gives their own share");
    }
  }
  if (share.index != index) {
    throw Error(kind, who(custodian, where) + " is share number " + std::string(number) + ", not custodian " + custodian + "'s (" +
                          share_number(index) + "): another custodian's share, or mistyped");
  }
  std::string typed_check(check);
  std::transform(typed_check.begin(), typed_check.end(), typed_check.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (typed_check != checksum(custodian, index, share.bytes.view())) {
    throw Error(kind, who(custodian, where) + " does not match its checksum: it was mistyped or the share is corrupted");
  }
  if (!given.empty() && given.front().bytes.size() != share.bytes.size()) {
    throw Error(kind, who(custodian, where) + " has " + std::to_string(share.bytes.size()) + " bytes where custodian " +
                          given.front().custodian + "'s has " + std::to_string(given.front().bytes.size()) +
                          ": the shares belong to different secrets");
  }
  return share;
}

SecretShare read_share_file(const ShareCustody& custody, unsigned index, std::string_view text, const std::vector<SecretShare>& given,
                            ErrorKind kind, const std::string& where) {
  const std::string& custodian = custody.custodians.at(index - 1);
  std::string format;
  std::string named;
  std::string threshold;
  std::string_view line_value;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.starts_with("format: ")) format = line.substr(8);
    if (line.starts_with("custodian: ")) named = line.substr(11);
    if (line.starts_with("threshold: ")) threshold = line.substr(11);
    if (line.starts_with("share: ")) line_value = line.substr(7);
  }
  if (format != kShareFormat) {
    throw Error(kind, who(custodian, where) + " is not a meshca share file (no 'format: " + std::string(kShareFormat) + "' line)");
  }
  if (named != custodian) {
    throw Error(kind, who(custodian, where) + " names custodian '" + named + "' (a duplicate or misplaced share file)");
  }
  if (threshold != std::to_string(custody.threshold)) {
    throw Error(kind, who(custodian, where) + " was written for a threshold of " + threshold + ", the plan says " +
                          std::to_string(custody.threshold));
  }
  return read_share(custodian, index, line_value, given, kind, where);
}

SecureBuffer combine_shares(const ShareCustody& custody, const std::vector<SecretShare>& shares, const std::string& purpose,
                            ErrorKind kind) {
  if (shares.size() < custody.threshold) {
    std::vector<std::string> present;
    std::vector<std::string> missing;
    for (const auto& c : custody.custodians) {
      const bool have = std::any_of(shares.begin(), shares.end(), [&](const SecretShare& s) { return s.custodian == c; });
      (have ? present : missing).push_back(c);
    }
    throw Error(kind, "the " + purpose + " needs the shares of " + std::to_string(custody.threshold) + " of its " +
                          std::to_string(custody.custodians.size()) + " custodians; " + std::to_string(shares.size()) + " given (" +
                          (present.empty() ? "none" : join_names(present)) + "), missing: " + join_names(missing) +
                          ". Nothing was unlocked");
  }
  std::vector<const SecretShare*> all;
  all.reserve(shares.size());
  for (const auto& s : shares) all.push_back(&s);
  return interpolate(all);
}

SplitSecret split_secret(const ShareCustody& custody, SecureBuffer secret) {
  install_random_source();
  const auto count = static_cast<unsigned>(custody.custodians.size());
  if (custody.threshold < kMinShareThreshold || custody.threshold > count || count > kMaxCustodians || secret.empty()) {
    throw Error(ErrorKind::internal, "cannot split a secret " + std::to_string(custody.threshold) + " of " + std::to_string(count));
  }
  SplitSecret split;
  std::vector<unsigned char> numbers;
  for (unsigned i = 1; i <= count; ++i) numbers.push_back(static_cast<unsigned char>(i));
  {
    GfshareCtx ctx(
        gfshare_ctx_init_enc(numbers.data(), count, static_cast<unsigned char>(custody.threshold), static_cast<unsigned>(secret.size())));
    if (!ctx) throw Error(ErrorKind::internal, "libgfshare refused to split a secret");
    SecureBuffer copy(secret.view());
    gfshare_ctx_enc_setsecret(ctx.get(), bytes_of(copy));
    require_random();
    for (unsigned i = 0; i < count; ++i) {
      SecretShare share{custody.custodians[i], i + 1, SecureBuffer(std::string(secret.size(), '\0'))};
      gfshare_ctx_enc_getshare(ctx.get(), static_cast<unsigned char>(i), bytes_of(share.bytes));
      split.shares.push_back(std::move(share));
    }
  }
  require_random();
  // Before the secret protects anything: every subset of the threshold's
  // size must give it back.
  for_each_subset(count, custody.threshold, [&](const std::vector<std::size_t>& subset) {
    std::vector<const SecretShare*> chosen;
    chosen.reserve(subset.size());
    for (auto i : subset) chosen.push_back(&split.shares[i]);
    if (!interpolate(chosen).equals(secret)) {
      throw Error(ErrorKind::internal, "a subset of " + std::to_string(custody.threshold) + " shares does not recombine to the secret");
    }
  });
  split.fingerprints = fingerprint_shares(split.shares);
  split.secret = std::move(secret);
  return split;
}

std::vector<ShareFingerprint> fingerprint_shares(const std::vector<SecretShare>& shares) {
  std::vector<ShareFingerprint> fingerprints;
  for (const auto& s : shares) {
    SecureBuffer line = share_line(s.custodian, s.index, s.bytes);
    fingerprints.push_back({s.custodian, s.index, sha256_hex(line.view())});
  }
  return fingerprints;
}

SplitSecret create_shared_secret(const ShareCustody& custody, const std::string& purpose, const std::filesystem::path& dir,
                                 const std::string& stem, ErrorKind kind, std::size_t length) {
  if (dir.empty()) {
    throw Error(kind, "the " + purpose +
                          " is split into custodians' shares: name the directory their share files are "
                          "written to (--shares-dir; never inside the output directory)");
  }
  // Nothing is written unless every file is free: a share set is whole.
  for (const auto& c : custody.custodians) {
    refuse_existing_path(share_file_path(dir, stem, c), "a share file is never replaced; move the old share set away");
  }
  SplitSecret split = split_secret(custody, random_passphrase(length));
  ensure_directory(dir, kPrivateDirMode);
  for (const auto& s : split.shares) {
    SecureBuffer text = share_file_text(custody, purpose, s.index, s.bytes);
    write_file_atomic(share_file_path(dir, stem, s.custodian), text.view(), kPrivateFileMode, Replace::never);
  }
  fsync_directory(dir);
  return split;
}

namespace {

GatheredSecret gathered(const ShareCustody& custody, const std::vector<SecretShare>& shares, const std::string& purpose, ErrorKind kind) {
  GatheredSecret g{combine_shares(custody, shares, purpose, kind), {}, fingerprint_shares(shares)};
  for (const auto& s : shares) g.custodians.push_back(s.custodian);
  return g;
}

}  // namespace

GatheredSecret gather_shared_secret(const ShareCustody& custody, const std::string& purpose, const std::filesystem::path& dir,
                                    const std::string& stem, const SecretPrompt& prompt, ErrorKind kind) {
  std::vector<SecretShare> shares;
  if (!dir.empty()) {
    for (unsigned i = 1; i <= custody.custodians.size(); ++i) {
      const auto path = share_file_path(dir, stem, custody.custodians[i - 1]);
      std::optional<std::string> text;
      try {
        text = read_file_if_exists(path, kMaxShareFileBytes);
      } catch (const Error& e) {
        throw Error(kind, who(custody.custodians[i - 1], path.string()) + " cannot be read: " + e.message());
      }
      if (!text) continue;
      try {
        shares.push_back(read_share_file(custody, i, *text, shares, kind, path.string()));
      } catch (...) {
        cleanse(*text);
        throw;
      }
      cleanse(*text);
    }
    return gathered(custody, shares, purpose, kind);
  }
  if (!prompt) {
    throw Error(kind, "the " + purpose +
                          " is split into custodians' shares, which must be typed, but no terminal is "
                          "available (or name the directory holding the share files with --shares-dir)");
  }
  const std::string needed = std::to_string(custody.threshold) + " of " + std::to_string(custody.custodians.size());
  for (unsigned i = 1; i <= custody.custodians.size() && shares.size() < custody.threshold; ++i) {
    const std::string& custodian = custody.custodians[i - 1];
    std::string question = "share of custodian " + custodian;
    question += " for the " + purpose;
    question += " (" + needed + " needed; an empty line skips this custodian)";
    SecureBuffer typed = prompt(question, false);
    if (typed.empty()) continue;
    shares.push_back(read_share(custodian, i, typed.view(), shares, kind, "typed"));
  }
  return gathered(custody, shares, purpose, kind);
}

nlohmann::json share_set_facts(const ShareCustody& custody, const std::vector<ShareFingerprint>& fingerprints) {
  nlohmann::json holders = nlohmann::json::array();
  for (const auto& f : fingerprints) holders.push_back({{"custodian", f.custodian}, {"share", f.index}, {"sha256", f.sha256}});
  return {{"threshold", custody.threshold}, {"custodians", holders}};
}

nlohmann::json gathered_share_facts(const ShareCustody& custody, const GatheredSecret& gathered) {
  return {{"threshold", custody.threshold}, {"given_by", gathered.custodians}};
}

}  // namespace meshca
