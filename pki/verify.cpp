#include "pki/verify.hpp"

#include "pki/certificate.hpp"
#include "pki/key.hpp"

namespace meshca::pki {

bool signed_by(const X509* cert, const X509* issuer) {
  // A software copy of the issuer key: token-backed key objects cannot always
  // verify (see shared/research/pkcs11.md).
  PKeyPtr issuer_key = public_key_copy(X509_get0_pubkey(issuer));
  int rc = X509_verify(const_cast<X509*>(cert), issuer_key.get());
  drain_openssl_errors();
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
  PKeyPtr software = public_key_copy(key);
  int rc = EVP_PKEY_eq(software.get(), cert_key);
  drain_openssl_errors();
  return rc == 1;
}

}  // namespace meshca::pki
