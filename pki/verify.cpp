#include "pki/verify.hpp"

#include <mutex>
#include <optional>
#include <unordered_map>

#include "pki/certificate.hpp"
#include "pki/key.hpp"

namespace meshca::pki {

namespace {

// Verdicts of signature checks already made in this process, by the SHA-256
// of the certificate and of the issuer's public key: the verify engine and
// the lints ask the same question about the same pair many times (a P-384
// verification costs about a millisecond). Bounded; thread-safe.
class SignatureVerdicts {
 public:
  std::optional<bool> find(const std::string& key) {
    std::lock_guard lock(mutex_);
    auto it = verdicts_.find(key);
    if (it == verdicts_.end()) return std::nullopt;
    return it->second;
  }
  void store(std::string key, bool verdict) {
    std::lock_guard lock(mutex_);
    if (verdicts_.size() >= kMaxEntries) verdicts_.clear();
    verdicts_.emplace(std::move(key), verdict);
  }

 private:
  static constexpr std::size_t kMaxEntries = 1 << 16;
  std::mutex mutex_;
  std::unordered_map<std::string, bool> verdicts_;
};

SignatureVerdicts& signature_verdicts() {
  static SignatureVerdicts verdicts;
  return verdicts;
}

// The certificate's and the issuer key's SHA-256, or "" when either fails.
std::string signature_question(const X509* cert, const X509* issuer) {
  unsigned char md[2 * EVP_MAX_MD_SIZE];
  unsigned int cert_len = 0, key_len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &cert_len) != 1 ||
      X509_pubkey_digest(issuer, EVP_sha256(), md + cert_len, &key_len) != 1) {
    drain_openssl_errors();
    return {};
  }
  return std::string(reinterpret_cast<const char*>(md), cert_len + key_len);
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
  unsigned long flags = X509_V_FLAG_X509_STRICT;
  if (path.anchor == AnchorSignature::check) flags |= X509_V_FLAG_CHECK_SS_SIGNATURE;
  if (!path.crls.empty()) flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
  X509_VERIFY_PARAM_set_flags(param, flags);
  if (path.purpose != 0) check(X509_VERIFY_PARAM_set_purpose(param, path.purpose), "X509_VERIFY_PARAM_set_purpose");
  if (path.at != 0) X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(path.at));

  ChainVerdict verdict;
  verdict.ok = X509_verify_cert(ctx.get()) == 1;
  if (!verdict.ok) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    int depth = X509_STORE_CTX_get_error_depth(ctx.get());
    const X509* failing = X509_STORE_CTX_get_current_cert(ctx.get());
    verdict.error = std::string(X509_verify_cert_error_string(err)) + " at depth " + std::to_string(depth);
    // Depth 0 is the target itself, which the caller already names.
    if (failing && (depth > 0 || path.purpose == 0)) verdict.error += " (" + subject_string(failing) + ")";
  }
  drain_openssl_errors();
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
