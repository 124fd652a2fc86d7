// RAII ownership for every OpenSSL object meshca touches, plus the bridge
// from OpenSSL's error queue to meshca::Error.
//
// Each handle is a Ptr<T>, a std::unique_ptr whose deleter DeleterFor<T>
// is defined here once per type, so no code outside this header (and
// hsm/pkcs11_handles.hpp for libp11 and p11-kit) calls a *_free function. openssl_failure() drains the thread's
// error queue into the message so the operator sees OpenSSL's reason.
#pragma once

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

#include "core/error.hpp"

namespace meshca::pki {

// Ptr<T> owns one OpenSSL object, as BoringSSL's bssl::UniquePtr<T> does:
// DeleterFor<T> names the function that frees a T, specialised once per
// type below (MESHCA_DELETER). A type without a specialisation does not
// compile, so no object can be owned with the wrong free function.
// hsm/pkcs11_handles.hpp adds the libp11 and p11-kit types.
template <typename T>
struct DeleterFor;

template <typename T>
using Ptr = std::unique_ptr<T, DeleterFor<T>>;

}  // namespace meshca::pki

// Specialises meshca::pki::DeleterFor<type>; used at global scope. (`type`
// names a type, which cannot be parenthesized in a declaration.)
// NOLINTBEGIN(bugprone-macro-parentheses)
#define MESHCA_DELETER(type, free_function) \
  template <>                               \
  struct meshca::pki::DeleterFor<type> {    \
    void operator()(type* p) const {        \
      if (p != nullptr) free_function(p);   \
    }                                       \
  }
// NOLINTEND(bugprone-macro-parentheses)

namespace meshca::pki::detail {
inline void free_x509_stack(STACK_OF(X509) * s) { sk_X509_pop_free(s, X509_free); }
// OPENSSL_free is a macro (it passes __FILE__ and __LINE__).
inline void openssl_free(void* p) { OPENSSL_free(p); }
}  // namespace meshca::pki::detail

MESHCA_DELETER(EVP_PKEY, EVP_PKEY_free);
MESHCA_DELETER(EVP_PKEY_CTX, EVP_PKEY_CTX_free);
MESHCA_DELETER(EVP_MD_CTX, EVP_MD_CTX_free);
MESHCA_DELETER(X509, X509_free);
MESHCA_DELETER(X509_NAME, X509_NAME_free);
MESHCA_DELETER(X509_EXTENSION, X509_EXTENSION_free);
MESHCA_DELETER(X509_STORE, X509_STORE_free);
MESHCA_DELETER(X509_STORE_CTX, X509_STORE_CTX_free);
MESHCA_DELETER(X509_PUBKEY, X509_PUBKEY_free);
MESHCA_DELETER(X509_CRL, X509_CRL_free);
MESHCA_DELETER(X509_REQ, X509_REQ_free);
MESHCA_DELETER(X509_REVOKED, X509_REVOKED_free);
MESHCA_DELETER(X509_SIG, X509_SIG_free);
MESHCA_DELETER(X509_ALGOR, X509_ALGOR_free);
MESHCA_DELETER(STACK_OF(X509), meshca::pki::detail::free_x509_stack);
MESHCA_DELETER(PKCS8_PRIV_KEY_INFO, PKCS8_PRIV_KEY_INFO_free);
MESHCA_DELETER(BIO, BIO_free_all);
MESHCA_DELETER(BIGNUM, BN_free);
// ASN1_INTEGER, ASN1_ENUMERATED, ASN1_TIME, ASN1_OCTET_STRING,
// ASN1_BIT_STRING and ASN1_IA5STRING are all ASN1_STRING (one C type), and
// their *_free functions are ASN1_STRING_free.
MESHCA_DELETER(ASN1_STRING, ASN1_STRING_free);
MESHCA_DELETER(ASN1_OBJECT, ASN1_OBJECT_free);
MESHCA_DELETER(BASIC_CONSTRAINTS, BASIC_CONSTRAINTS_free);
MESHCA_DELETER(AUTHORITY_KEYID, AUTHORITY_KEYID_free);
MESHCA_DELETER(NAME_CONSTRAINTS, NAME_CONSTRAINTS_free);
MESHCA_DELETER(GENERAL_NAMES, GENERAL_NAMES_free);
MESHCA_DELETER(GENERAL_NAME, GENERAL_NAME_free);
MESHCA_DELETER(GENERAL_SUBTREE, GENERAL_SUBTREE_free);
MESHCA_DELETER(EXTENDED_KEY_USAGE, EXTENDED_KEY_USAGE_free);
MESHCA_DELETER(OSSL_PARAM_BLD, OSSL_PARAM_BLD_free);
MESHCA_DELETER(OSSL_PARAM, OSSL_PARAM_free);
MESHCA_DELETER(OSSL_DECODER_CTX, OSSL_DECODER_CTX_free);
// Bytes and text OpenSSL allocated for the caller (i2d_*, BN_bn2hex).
MESHCA_DELETER(char, meshca::pki::detail::openssl_free);
MESHCA_DELETER(unsigned char, meshca::pki::detail::openssl_free);

namespace meshca::pki {

// The names the rest of the tree uses.
using PKeyPtr = Ptr<EVP_PKEY>;
using PKeyCtxPtr = Ptr<EVP_PKEY_CTX>;
using X509Ptr = Ptr<X509>;
using X509NamePtr = Ptr<X509_NAME>;
using X509ExtensionPtr = Ptr<X509_EXTENSION>;
using X509StorePtr = Ptr<X509_STORE>;
using X509StoreCtxPtr = Ptr<X509_STORE_CTX>;
using X509StackPtr = Ptr<STACK_OF(X509)>;
using X509CrlPtr = Ptr<X509_CRL>;
using X509ReqPtr = Ptr<X509_REQ>;
using X509RevokedPtr = Ptr<X509_REVOKED>;
using BioPtr = Ptr<BIO>;
using BignumPtr = Ptr<BIGNUM>;
using Asn1IntegerPtr = Ptr<ASN1_INTEGER>;
using Asn1TimePtr = Ptr<ASN1_TIME>;
using Asn1OctetStringPtr = Ptr<ASN1_OCTET_STRING>;
using BasicConstraintsPtr = Ptr<BASIC_CONSTRAINTS>;
using AuthorityKeyIdPtr = Ptr<AUTHORITY_KEYID>;
using NameConstraintsPtr = Ptr<NAME_CONSTRAINTS>;
using GeneralNamesPtr = Ptr<GENERAL_NAMES>;
using GeneralNamePtr = Ptr<GENERAL_NAME>;
using GeneralSubtreePtr = Ptr<GENERAL_SUBTREE>;
using BitStringPtr = Ptr<ASN1_BIT_STRING>;
using ExtKeyUsagePtr = Ptr<EXTENDED_KEY_USAGE>;
using MdCtxPtr = Ptr<EVP_MD_CTX>;
using X509SigPtr = Ptr<X509_SIG>;
using Pkcs8InfoPtr = Ptr<PKCS8_PRIV_KEY_INFO>;
using X509AlgorPtr = Ptr<X509_ALGOR>;
using DecoderCtxPtr = Ptr<OSSL_DECODER_CTX>;

// Throws Error(code, "<what>: <OpenSSL error queue>") and clears the queue.
[[noreturn]] void throw_openssl(const std::string& what, ErrorKind code = ErrorKind::internal);
// Returns and clears the queue text ("" when empty).
std::string drain_openssl_errors();

// Throws when `p` is null: the common "allocation or call failed" case.
template <typename T>
T* check(T* p, const char* what) {
  if (p == nullptr) throw_openssl(what);
  return p;
}
inline void check(int rc, const char* what) {
  if (rc <= 0) throw_openssl(what);
}

BioPtr memory_bio();
BioPtr memory_bio(std::string_view bytes);
std::string bio_contents(BIO* bio);

}  // namespace meshca::pki
