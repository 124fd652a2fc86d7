// RAII ownership for every OpenSSL object meshca touches, plus the bridge
// from OpenSSL's error queue to meshca::Error.
//
// Each handle is a std::unique_ptr with a deleter, so no code outside this
// header calls a *_free function. openssl_failure() drains the thread's
// error queue into the message so the operator sees OpenSSL's reason.
#pragma once

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/decoder.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

#include "core/error.hpp"

namespace meshca::pki {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const {
    if (p != nullptr) Free(p);
  }
};

template <typename T, void (*Free)(T*)>
using Handle = std::unique_ptr<T, Deleter<T, Free>>;

inline void free_x509_stack(STACK_OF(X509) * s) { sk_X509_pop_free(s, X509_free); }
inline void free_general_names(GENERAL_NAMES* g) { GENERAL_NAMES_free(g); }
inline void free_bio(BIO* b) { BIO_free_all(b); }

using PKeyPtr = Handle<EVP_PKEY, EVP_PKEY_free>;
using PKeyCtxPtr = Handle<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using X509Ptr = Handle<X509, X509_free>;
using X509NamePtr = Handle<X509_NAME, X509_NAME_free>;
using X509ExtensionPtr = Handle<X509_EXTENSION, X509_EXTENSION_free>;
using X509StorePtr = Handle<X509_STORE, X509_STORE_free>;
using X509StoreCtxPtr = Handle<X509_STORE_CTX, X509_STORE_CTX_free>;
using X509StackPtr = Handle<STACK_OF(X509), free_x509_stack>;
using BioPtr = Handle<BIO, free_bio>;
using BignumPtr = Handle<BIGNUM, BN_free>;
using Asn1IntegerPtr = Handle<ASN1_INTEGER, ASN1_INTEGER_free>;
using Asn1TimePtr = Handle<ASN1_TIME, ASN1_TIME_free>;
using Asn1OctetStringPtr = Handle<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>;
using BasicConstraintsPtr = Handle<BASIC_CONSTRAINTS, BASIC_CONSTRAINTS_free>;
using AuthorityKeyIdPtr = Handle<AUTHORITY_KEYID, AUTHORITY_KEYID_free>;
using NameConstraintsPtr = Handle<NAME_CONSTRAINTS, NAME_CONSTRAINTS_free>;
using GeneralNamesPtr = Handle<GENERAL_NAMES, free_general_names>;
using GeneralNamePtr = Handle<GENERAL_NAME, GENERAL_NAME_free>;
using GeneralSubtreePtr = Handle<GENERAL_SUBTREE, GENERAL_SUBTREE_free>;
using BitStringPtr = Handle<ASN1_BIT_STRING, ASN1_BIT_STRING_free>;
using ExtKeyUsagePtr = Handle<EXTENDED_KEY_USAGE, EXTENDED_KEY_USAGE_free>;
using MdCtxPtr = Handle<EVP_MD_CTX, EVP_MD_CTX_free>;
using X509SigPtr = Handle<X509_SIG, X509_SIG_free>;
using Pkcs8InfoPtr = Handle<PKCS8_PRIV_KEY_INFO, PKCS8_PRIV_KEY_INFO_free>;
using X509AlgorPtr = Handle<X509_ALGOR, X509_ALGOR_free>;
using DecoderCtxPtr = Handle<OSSL_DECODER_CTX, OSSL_DECODER_CTX_free>;

// Throws Error(code, "<what>: <OpenSSL error queue>") and clears the queue.
[[noreturn]] void throw_openssl(const std::string& what, ExitCode code = ExitCode::internal);
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
