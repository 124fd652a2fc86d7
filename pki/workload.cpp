#include "pki/workload.hpp"

#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <algorithm>

#include "pki/certificate.hpp"
#include "pki/inspect.hpp"
#include "pki/key.hpp"

namespace meshca::pki {
namespace {

constexpr UnixTime kWorkloadTtl = 24 * 3600;

void add_ext(X509* cert, int nid, bool critical, void* value) {
  check(X509_add1_ext_i2d(cert, nid, value, critical ? 1 : 0, X509V3_ADD_DEFAULT), "X509_add1_ext_i2d");
}

}  // namespace

std::string spiffe_workload_id(const std::string& trust_domain, const std::string& ns,
                               const std::string& service_account) {
  return "spiffe://" + trust_domain + "/ns/" + ns + "/sa/" + service_account;
}

X509Ptr issue_workload_leaf(const X509* ca_cert, EVP_PKEY* ca_key, const std::string& spiffe_id, UnixTime at) {
  PKeyPtr key = generate_key(KeyAlgorithm::ecdsa_p256);
  X509Ptr cert(check(X509_new(), "X509_new"));
  check(X509_set_version(cert.get(), X509_VERSION_3), "X509_set_version");
  unsigned char bytes[16];
  check(RAND_bytes(bytes, sizeof bytes), "RAND_bytes");
  bytes[0] = static_cast<unsigned char>((bytes[0] & 0x7f) | 0x01);
  BignumPtr bn(check(BN_bin2bn(bytes, sizeof bytes, nullptr), "BN_bin2bn"));
  Asn1IntegerPtr serial(check(BN_to_ASN1_INTEGER(bn.get(), nullptr), "BN_to_ASN1_INTEGER"));
  check(X509_set_serialNumber(cert.get(), serial.get()), "X509_set_serialNumber");
  // istiod leaves the subject empty; the identity is the URI SAN.
  X509NamePtr empty(check(X509_NAME_new(), "X509_NAME_new"));
  check(X509_set_subject_name(cert.get(), empty.get()), "X509_set_subject_name");
  check(X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert)), "X509_set_issuer_name");
  UnixTime from = std::max(at - 60, asn1_time_to_unix(X509_get0_notBefore(ca_cert)));
  UnixTime until = std::min(at + kWorkloadTtl, asn1_time_to_unix(X509_get0_notAfter(ca_cert)));
  if (until <= from) until = from + 1;
  check(X509_set1_notBefore(cert.get(), unix_to_asn1_time(from).get()), "X509_set1_notBefore");
  check(X509_set1_notAfter(cert.get(), unix_to_asn1_time(until).get()), "X509_set1_notAfter");
  check(X509_set_pubkey(cert.get(), key.get()), "X509_set_pubkey");

  BasicConstraintsPtr bc(check(BASIC_CONSTRAINTS_new(), "BASIC_CONSTRAINTS_new"));
  bc->ca = 0;
  add_ext(cert.get(), NID_basic_constraints, true, bc.get());
  BitStringPtr ku(check(ASN1_BIT_STRING_new(), "ASN1_BIT_STRING_new"));
  check(ASN1_BIT_STRING_set_bit(ku.get(), 0, 1), "ASN1_BIT_STRING_set_bit");
  check(ASN1_BIT_STRING_set_bit(ku.get(), 2, 1), "ASN1_BIT_STRING_set_bit");
  add_ext(cert.get(), NID_key_usage, true, ku.get());
  ExtKeyUsagePtr eku(check(sk_ASN1_OBJECT_new_null(), "sk_ASN1_OBJECT_new_null"));
  check(sk_ASN1_OBJECT_push(eku.get(), OBJ_nid2obj(NID_server_auth)), "sk_ASN1_OBJECT_push");
  check(sk_ASN1_OBJECT_push(eku.get(), OBJ_nid2obj(NID_client_auth)), "sk_ASN1_OBJECT_push");
  add_ext(cert.get(), NID_ext_key_usage, false, eku.get());
  std::string ca_ski = subject_key_id(ca_cert);
  if (!ca_ski.empty()) {
    AuthorityKeyIdPtr aki(check(AUTHORITY_KEYID_new(), "AUTHORITY_KEYID_new"));
    aki->keyid = check(ASN1_OCTET_STRING_new(), "ASN1_OCTET_STRING_new");
    check(ASN1_OCTET_STRING_set(aki->keyid, reinterpret_cast<const unsigned char*>(ca_ski.data()),
                                static_cast<int>(ca_ski.size())),
          "ASN1_OCTET_STRING_set");
    add_ext(cert.get(), NID_authority_key_identifier, false, aki.get());
  }
  add_ext(cert.get(), NID_subject_alt_name, true, ia5_general_names(GEN_URI, {spiffe_id}).get());

  if (X509_sign(cert.get(), ca_key, signature_digest(ca_key)) <= 0) {
    throw_openssl("signing the test workload certificate with ca-key.pem failed", ErrorKind::check_failed);
  }
  return cert;
}

namespace {

// A purpose that holds when both the TLS server and the TLS client purposes
// hold: X509_verify_cert checks the purpose of every certificate of the path
// and nothing else depends on it (the trust setting stays the default), so
// one verification with it passes exactly when the two verifications pass,
// at the cost of one (the signatures are the costly part).
constexpr int kTlsPeerPurpose = 1000;

int check_tls_server_and_client(const X509_PURPOSE*, const X509* cert, int require_ca) {
  // Strict verification accepts only 1 from a purpose check.
  return X509_check_purpose(const_cast<X509*>(cert), X509_PURPOSE_SSL_SERVER, require_ca) == 1 &&
                 X509_check_purpose(const_cast<X509*>(cert), X509_PURPOSE_SSL_CLIENT, require_ca) == 1
             ? 1
             : 0;
}

int tls_peer_purpose() {
  // OpenSSL's purpose table is not thread-safe to extend: it is extended
  // once, and looked up once here so that later look-ups only read it.
  static const int id = [] {
    check(X509_PURPOSE_add(kTlsPeerPurpose, X509_TRUST_DEFAULT, 0, check_tls_server_and_client, "meshca TLS server and client",
                           "meshca-tls-peer", nullptr),
          "X509_PURPOSE_add");
    check(X509_PURPOSE_get_by_id(kTlsPeerPurpose) >= 0 ? 1 : 0, "X509_PURPOSE_get_by_id");
    return kTlsPeerPurpose;
  }();
  return id;
}

}  // namespace

ChainVerdict verify_as_peer(const X509* leaf, const std::vector<const X509*>& untrusted,
                            const std::vector<const X509*>& roots, UnixTime at, PeerPurpose purpose) {
  int x509_purpose = purpose == PeerPurpose::tls_server   ? X509_PURPOSE_SSL_SERVER
                     : purpose == PeerPurpose::tls_client ? X509_PURPOSE_SSL_CLIENT
                                                          : tls_peer_purpose();
  return verify_path(leaf, {untrusted, roots, {}, at, x509_purpose, AnchorSignature::check});
}

}  // namespace meshca::pki
