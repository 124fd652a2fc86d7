#include "pki/verify.hpp"

#include <openssl/x509v3.h>

#include <mutex>
#include <optional>
#include <unordered_map>

#include "pki/certificate.hpp"
#include "pki/key.hpp"

namespace meshca::pki {

namespace {

// Verdicts already reached in this process, by a digest of everything they
// depend on: the verify engine, the lints and the cross-cluster report ask
// the same question about the same certificates many times (a P-384
// signature check costs about a millisecond). Bounded; thread-safe.
template <class Verdict>
class Verdicts {
 public:
  std::optional<Verdict> find(const std::string& key) {
    std::lock_guard lock(mutex_);
    auto it = verdicts_.find(key);
    if (it == verdicts_.end()) return std::nullopt;
    return it->second;
  }
  void store(std::string key, Verdict verdict) {
    std::lock_guard lock(mutex_);
    if (verdicts_.size() >= kMaxEntries) verdicts_.clear();
    verdicts_.emplace(std::move(key), std::move(verdict));
  }

 private:
  static constexpr std::size_t kMaxEntries = 1 << 16;
  std::mutex mutex_;
  std::unordered_map<std::string, Verdict> verdicts_;
};

// Signature checks, by the SHA-256 of the certificate and of the issuer.
Verdicts<bool>& signature_verdicts() {
  static Verdicts<bool> verdicts;
  return verdicts;
}

// Whole path verifications, by the digests of every input (see path_question).
Verdicts<ChainVerdict>& path_verdicts() {
  static Verdicts<ChainVerdict> verdicts;
  return verdicts;
}

// The SHA-256 of the certificate and of the whole issuer certificate (its
// key with the key's algorithm and parameters), or "" when either fails.
std::string signature_question(const X509* cert, const X509* issuer) {
  unsigned char md[2 * EVP_MAX_MD_SIZE];
  unsigned int cert_len = 0, key_len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &cert_len) != 1 || X509_digest(issuer, EVP_sha256(), md + cert_len, &key_len) != 1) {
    drain_openssl_errors();
    return {};
  }
  return std::string(reinterpret_cast<const char*>(md), cert_len + key_len);
}

// Everything X509_verify_cert's verdict depends on: the DER of the target,
// of each untrusted certificate, root and CRL (in order), the time, the
// purpose and the flags. "" when the time is "now" (a verdict that may
// change) or a digest fails.
std::string path_question(const X509* target, const PathCheck& path, unsigned long flags) {
  std::string q;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  auto add_cert = [&](const X509* c) {
    if (X509_digest(c, EVP_sha256(), md, &len) != 1) {
      drain_openssl_errors();
      return false;
    }
    q.append(reinterpret_cast<const char*>(md), len);
    return true;
  };
  if (path.at == 0 || !add_cert(target)) return {};
  q += "|u";
  for (const X509* c : path.untrusted)
    if (!add_cert(c)) return {};
  q += "|r";
  for (const X509* c : path.roots)
    if (!add_cert(c)) return {};
  q += "|c";
  for (const X509_CRL* crl : path.crls) {
    if (X509_CRL_digest(crl, EVP_sha256(), md, &len) != 1) {
      drain_openssl_errors();
      return {};
    }
    q.append(reinterpret_cast<const char*>(md), len);
  }
  q += "|" + std::to_string(path.at) + "|" + std::to_string(path.purpose) + "|" + std::to_string(flags);
  return q;
}

// Whether OpenSSL's X509_V_FLAG_CHECK_SS_SIGNATURE would accept `root` as a
// trust anchor: for a self-signed certificate it checks that a CA's
// keyUsage allows certificate signing and that the self-signature verifies
// (internal_verify), nothing else. Asked through signed_by(), so a root is
// verified once per process, not once per path; anything unusual (a proxy
// certificate) is left to OpenSSL.
bool anchor_check_passes(const X509* root) {
  const uint32_t flags = X509_get_extension_flags(const_cast<X509*>(root));
  if ((flags & EXFLAG_SS) == 0) return true;  // OpenSSL checks nothing more either
  if ((flags & EXFLAG_PROXY) != 0) return false;
  if ((flags & EXFLAG_CA) != 0 && (X509_get_key_usage(const_cast<X509*>(root)) & KU_KEY_CERT_SIGN) == 0) return false;
  return signed_by(root, root);
}

// A verified path also answers the question the bundle check asks after
// the workload check: the path of the target's issuer, from the same
// untrusted certificates and roots, at the same time, with the same flags
// and no purpose. X509_verify_cert started from that issuer searches the
// same certificates the same way, so it builds the same path above it, and
// with no purpose it checks a subset of what was checked there (the purpose
// only adds checks; every other check of a certificate does not depend on
// its depth). Two exceptions, where it is not asked: a path whose issuer is
// its anchor (a trust anchor as the target is a different question), and
// DNS name constraints above the issuer (OpenSSL checks the target's
// commonName against them, and only the target's). With CRLs the issuer's
// own revocation is checked differently, so those paths are not used either.
void remember_issuer_path(STACK_OF(X509) * built, const PathCheck& path, unsigned long flags) {
  const int n = sk_X509_num(built);
  if (n < 3 || !path.crls.empty()) return;
  for (int i = 2; i < n; ++i)
    if (X509_get_ext_by_NID(sk_X509_value(built, i), NID_name_constraints, -1) >= 0) return;
  PathCheck issuer_path = path;
  issuer_path.purpose = 0;
  std::string question = path_question(sk_X509_value(built, 1), issuer_path, flags);
  if (!question.empty()) path_verdicts().store(std::move(question), ChainVerdict{true, {}});
}

}  // namespace

bool signed_by(const X509* cert, const X509* issuer) {
  std::string question = signature_question(cert, issuer);
  if (!question.empty()) {
    if (auto known = signature_verdicts().find(question)) return *known;
  }
  // A certificate's key is always a software key (never a token object).
  int rc = X509_verify(const_cast<X509*>(cert), X509_get0_pubkey(issuer));
  drain_openssl_errors();
  if (!question.empty()) signature_verdicts().store(std::move(question), rc == 1);
  return rc == 1;
}

ChainVerdict verify_path(const X509* target, const PathCheck& path) {
  unsigned long flags = X509_V_FLAG_X509_STRICT;
  if (!path.crls.empty()) flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
  // The anchor's self-signature is asked of signed_by() (once per root and
  // process) instead of OpenSSL (once per path): the same check, so the same
  // verdict. A root it cannot vouch for is checked by OpenSSL as before.
  bool anchors_proven = true;
  if (path.anchor == AnchorSignature::check) {
    for (const X509* root : path.roots) anchors_proven = anchors_proven && anchor_check_passes(root);
  }
  if (!anchors_proven) flags |= X509_V_FLAG_CHECK_SS_SIGNATURE;
  // The same inputs at the same time get the same verdict: asked again (the
  // cross-cluster report asks what the bundle check already asked), it is
  // not recomputed.
  std::string question = path_question(target, path, flags);
  if (!question.empty()) {
    if (auto known = path_verdicts().find(question)) return *known;
  }
  X509StorePtr store(check(X509_STORE_new(), "X509_STORE_new"));
  for (const X509* root : path.roots) check(X509_STORE_add_cert(store.get(), const_cast<X509*>(root)), "X509_STORE_add_cert");
  for (const X509_CRL* crl : path.crls) check(X509_STORE_add_crl(store.get(), const_cast<X509_CRL*>(crl)), "X509_STORE_add_crl");
  X509StackPtr chain(check(sk_X509_new_null(), "sk_X509_new_null"));
  for (const X509* cert : path.untrusted) {
    auto copy = duplicate(cert);
    check(sk_X509_push(chain.get(), copy.get()), "sk_X509_push");
    (void)copy.release();
  }
  X509StoreCtxPtr ctx(check(X509_STORE_CTX_new(), "X509_STORE_CTX_new"));
  check(X509_STORE_CTX_init(ctx.get(), store.get(), const_cast<X509*>(target), chain.get()), "X509_STORE_CTX_init");
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_flags(param, flags);
  if (path.purpose != 0) check(X509_VERIFY_PARAM_set_purpose(param, path.purpose), "X509_VERIFY_PARAM_set_purpose");
  if (path.at != 0) X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(path.at));

  ChainVerdict verdict;
  verdict.ok = X509_verify_cert(ctx.get()) == 1;
  if (verdict.ok) {
    // A verified path had every certificate's signature checked with the
    // next one's key (internal_verify): signed_by() need not ask again.
    STACK_OF(X509)* built = X509_STORE_CTX_get0_chain(ctx.get());
    for (int i = 0; i + 1 < sk_X509_num(built); ++i) {
      std::string pair = signature_question(sk_X509_value(built, i), sk_X509_value(built, i + 1));
      if (!pair.empty()) signature_verdicts().store(std::move(pair), true);
    }
    if (path.purpose != 0) remember_issuer_path(built, path, flags);
  }
  if (!verdict.ok) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    int depth = X509_STORE_CTX_get_error_depth(ctx.get());
    const X509* failing = X509_STORE_CTX_get_current_cert(ctx.get());
    verdict.error = std::string(X509_verify_cert_error_string(err)) + " at depth " + std::to_string(depth);
    // Depth 0 is the target itself, which the caller already names.
    if (failing && (depth > 0 || path.purpose == 0)) verdict.error += " (" + subject_string(failing) + ")";
  }
  drain_openssl_errors();
  if (!question.empty()) path_verdicts().store(std::move(question), verdict);
  return verdict;
}

ChainVerdict verify_chain(const X509* target, const std::vector<const X509*>& untrusted,
                          const std::vector<const X509*>& roots, UnixTime at, AnchorSignature anchor) {
  return verify_path(target, {untrusted, roots, {}, at, 0, anchor});
}

bool key_matches_certificate(const EVP_PKEY* key, const X509* cert) {
  const EVP_PKEY* cert_key = X509_get0_pubkey(cert);
  if (cert_key == nullptr) return false;
  // Software keys compare directly. A token's key (libp11) may not compare
  // with a provider key, so anything but a match is decided again on a
  // software copy of its public half.
  int rc = EVP_PKEY_eq(key, cert_key);
  if (rc != 1) {
    drain_openssl_errors();
    PKeyPtr software = public_key_copy(key);
    rc = EVP_PKEY_eq(software.get(), cert_key);
  }
  drain_openssl_errors();
  return rc == 1;
}

}  // namespace meshca::pki
