#include "pki/lint.hpp"

#include <openssl/evp.h>
#include <openssl/objects.h>

#include "pki/certificate.hpp"
#include "pki/key.hpp"
#include "pki/verify.hpp"

namespace meshca::pki {
namespace {

class Linter {
 public:
  explicit Linter(bool include_passes) : include_passes_(include_passes) {}

  void expect(bool ok, const std::string& check, const std::string& problem, const std::string& fix,
              Severity severity = Severity::fail) {
    if (!ok) {
      findings_.push_back({severity, check, problem, fix});
    } else if (include_passes_) {
      findings_.push_back({Severity::pass, check, "ok", ""});
    }
  }
  std::vector<LintFinding> take() { return std::move(findings_); }

 private:
  bool include_passes_;
  std::vector<LintFinding> findings_;
};

void lint_encoding(Linter& l, const X509* cert) {
  l.expect(X509_get_version(cert) == X509_VERSION_3, "version", "certificate is not X.509 v3",
           "reissue as a v3 certificate");
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
  bool positive = ASN1_STRING_type(serial) != V_ASN1_NEG_INTEGER;
  BignumPtr bn(ASN1_INTEGER_to_BN(serial, nullptr));
  bool nonzero = bn && !BN_is_zero(bn.get());
  // DER octets: magnitude plus a leading zero when the top bit is set.
  int octets = bn ? BN_num_bytes(bn.get()) + (BN_num_bits(bn.get()) % 8 == 0 ? 1 : 0) : 0;
  // Split in two because the consumers differ: Go's crypto/x509 refuses a
  // negative serial outright, a zero or overlong one only breaks RFC 5280.
  l.expect(positive, "serial", "serial number is negative; RFC 5280 4.1.2.2 requires a positive integer",
           "reissue with a random positive serial of at most 20 octets");
  l.expect(!positive || (nonzero && octets <= 20), "serial-length",
           "serial number must be non-zero and at most 20 octets (RFC 5280 4.1.2.2)",
           "reissue with a random positive serial of at most 20 octets");

  int sig_nid = X509_get_signature_nid(cert);
  int md_nid = NID_undef, pk_nid = NID_undef;
  OBJ_find_sigid_algs(sig_nid, &md_nid, &pk_nid);
  bool weak = md_nid == NID_sha1 || md_nid == NID_md5 || md_nid == NID_md2 || md_nid == NID_md4;
  l.expect(!weak, "signature-algorithm",
           std::string("weak signature algorithm ") + OBJ_nid2sn(sig_nid) + " (istiod and modern TLS stacks reject it)",
           "reissue signed with SHA-256 or SHA-384");

  const EVP_PKEY* key = X509_get0_pubkey(cert);
  const std::string described = key ? describe_key(key) : std::string("unreadable");
  l.expect(key && consumers_accept_key(key), "key-algorithm",
           "subject key " + described + " is refused by Go crypto/x509 or Envoy (RSA 2048-16384 bits, ECDSA P-256/P-384/P-521)",
           "reissue with ECDSA P-256/P-384 or RSA 2048/3072/4096");
  l.expect(!key || !consumers_accept_key(key) || key_algorithm_of(key).has_value(), "key-algorithm-policy",
           "subject key " + described + " is not one of ECDSA P-256/P-384 or RSA 2048/3072/4096",
           "reissue with ECDSA P-256/P-384 or RSA 2048/3072/4096");
}

void lint_ca_extensions(Linter& l, const X509* cert, CaRole role) {
  auto bc = basic_constraints(cert);
  l.expect(bc.present && bc.critical && bc.ca, "basic-constraints",
           "basicConstraints must be present, critical and CA:TRUE for a CA (RFC 5280 4.2.1.9)",
           "reissue with 'basicConstraints = critical, CA:TRUE'");
  if (role == CaRole::intermediate) {
    l.expect(!bc.path_len || *bc.path_len == 0, "path-length",
             "intermediate pathLenConstraint is " + std::to_string(bc.path_len.value_or(0)) +
                 "; a mesh CA issues only workload certificates",
             "reissue with pathlen:0", Severity::warn);
  }
  auto ku = key_usage(cert);
  l.expect(ku.present && ku.bits.key_cert_sign, "key-usage",
           "keyUsage must be present and include keyCertSign (RFC 5280 4.2.1.3)",
           "reissue with 'keyUsage = critical, keyCertSign, cRLSign'");
  l.expect(!ku.present || ku.critical, "key-usage-critical", "keyUsage must be critical (RFC 5280 4.2.1.3)",
           "reissue with 'keyUsage = critical, keyCertSign, cRLSign'");
  l.expect(!ku.present || ku.bits.crl_sign, "key-usage-crl-sign",
           "keyUsage lacks cRLSign: this CA cannot sign the CRLs Istio checks (ca-crl.pem)",
           "reissue with cRLSign in keyUsage", Severity::warn);
  l.expect(!subject_key_id(cert).empty(), "subject-key-id", "subjectKeyIdentifier is missing (RFC 5280 4.2.1.2)",
           "reissue with a subjectKeyIdentifier");

  int eku_critical = -1;
  ExtKeyUsagePtr eku(static_cast<EXTENDED_KEY_USAGE*>(
      X509_get_ext_d2i(cert, NID_ext_key_usage, &eku_critical, nullptr)));
  bool server = false, client = false;
  for (int i = 0; eku && i < sk_ASN1_OBJECT_num(eku.get()); ++i) {
    int nid = OBJ_obj2nid(sk_ASN1_OBJECT_value(eku.get(), i));
    server |= nid == NID_server_auth || nid == NID_anyExtendedKeyUsage;
    client |= nid == NID_client_auth || nid == NID_anyExtendedKeyUsage;
  }
  l.expect(!eku || (server && client), "extended-key-usage",
           "extendedKeyUsage on a CA restricts every workload certificate below it; it must allow serverAuth and "
           "clientAuth for mutual TLS",
           "reissue without extendedKeyUsage");

  auto nc = name_constraints(cert);
  l.expect(!nc.present || nc.critical, "name-constraints-critical", "nameConstraints must be critical (RFC 5280 4.2.1.10)",
           "reissue with 'nameConstraints = critical, ...'");
}

void lint_issuer_relation(Linter& l, const X509* cert, const X509* issuer, CaRole role, IssuerSignature signature) {
  if (role == CaRole::root) {
    l.expect(is_self_signed(cert), "self-signed", "root certificate is not self-signed (issuer != subject or bad signature)",
             "a root CA certificate must be self-signed");
    return;
  }
  l.expect(signature == IssuerSignature::already_verified || signed_by(cert, issuer), "signature", "signature does not verify with the issuer's public key",
           "re-sign the certificate with the issuer's key");
  l.expect(X509_NAME_cmp(X509_get_issuer_name(cert), X509_get_subject_name(issuer)) == 0, "issuer-name",
           "issuer name does not equal the issuer certificate's subject", "re-issue from the right CA");
  std::string aki = authority_key_id(cert);
  l.expect(!aki.empty() && aki == subject_key_id(issuer), "authority-key-id",
           "authorityKeyIdentifier is missing or does not match the issuer's subjectKeyIdentifier",
           "reissue with 'authorityKeyIdentifier = keyid'");
  l.expect(not_before(cert) >= not_before(issuer) && not_after(cert) <= not_after(issuer), "validity-nesting",
           "validity " + format_rfc3339(not_before(cert)) + " .. " + format_rfc3339(not_after(cert)) +
               " is not inside the issuer's " + format_rfc3339(not_before(issuer)) + " .. " +
               format_rfc3339(not_after(issuer)),
           "shorten the certificate's validity to end before its issuer");
}

}  // namespace

bool consumers_accept_key(const EVP_PKEY* key) {
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) return EVP_PKEY_get_bits(key) >= 2048 && EVP_PKEY_get_bits(key) <= 16384;
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return false;
  char group[64] = {};
  std::size_t length = 0;
  if (EVP_PKEY_get_group_name(key, group, sizeof group, &length) != 1) return false;
  const std::string_view name(group, length);
  return name == "prime256v1" || name == "secp384r1" || name == "secp521r1";
}

std::string_view severity_name(Severity s) {
  switch (s) {
    case Severity::pass: return "PASS";
    case Severity::warn: return "WARN";
    case Severity::fail: return "FAIL";
  }
  return "FAIL";
}

std::vector<LintFinding> lint_ca_certificate(const X509* cert, const X509* issuer, CaRole role, bool include_passes,
                                             IssuerSignature signature) {
  Linter l(include_passes);
  l.expect(not_after(cert) > not_before(cert), "validity", "notAfter is not later than notBefore",
           "reissue with a positive validity period");
  lint_encoding(l, cert);
  lint_ca_extensions(l, cert, role);
  lint_issuer_relation(l, cert, issuer, role, signature);
  return l.take();
}

std::vector<LintFinding> lint_ca_certificate_alone(const X509* cert, CaRole role, bool include_passes) {
  Linter l(include_passes);
  l.expect(not_after(cert) > not_before(cert), "validity", "notAfter is not later than notBefore",
           "reissue with a positive validity period");
  lint_encoding(l, cert);
  lint_ca_extensions(l, cert, role);
  return l.take();
}

bool has_failure(const std::vector<LintFinding>& findings) {
  for (const auto& f : findings)
    if (f.severity == Severity::fail) return true;
  return false;
}

}  // namespace meshca::pki
