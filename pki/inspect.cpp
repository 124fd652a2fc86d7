#include "pki/inspect.hpp"

#include <openssl/objects.h>

#include <cstdio>
#include <functional>
#include <ctime>

#include "core/hex.hpp"
#include "pki/certificate.hpp"
#include "pki/key.hpp"
#include "pki/verify.hpp"

namespace meshca::pki {
namespace {

std::string general_name_string(const GENERAL_NAME* gn) {
  auto ia5 = [](const ASN1_STRING* s) {
    return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                       static_cast<std::size_t>(ASN1_STRING_length(s)));
  };
  switch (gn->type) {
    case GEN_URI: return "URI:" + ia5(gn->d.uniformResourceIdentifier);
    case GEN_DNS: return "DNS:" + ia5(gn->d.dNSName);
    case GEN_EMAIL: return "email:" + ia5(gn->d.rfc822Name);
    case GEN_DIRNAME: return "DirName:" + x509_name_string(gn->d.directoryName);
    case GEN_IPADD: {
      const ASN1_OCTET_STRING* ip = gn->d.iPAddress;
      const unsigned char* p = ASN1_STRING_get0_data(ip);
      int len = ASN1_STRING_length(ip);
      char buf[64];
      if (len == 4) {
        std::snprintf(buf, sizeof buf, "IP:%u.%u.%u.%u", p[0], p[1], p[2], p[3]);
        return buf;
      }
      return "IP:" + to_hex_colons(std::string_view(reinterpret_cast<const char*>(p), static_cast<std::size_t>(len)));
    }
    default: return "othername";
  }
}

std::string eku_name(const ASN1_OBJECT* obj) {
  switch (OBJ_obj2nid(obj)) {
    case NID_server_auth: return "serverAuth";
    case NID_client_auth: return "clientAuth";
    case NID_code_sign: return "codeSigning";
    case NID_email_protect: return "emailProtection";
    case NID_time_stamp: return "timeStamping";
    case NID_OCSP_sign: return "OCSPSigning";
    case NID_anyExtendedKeyUsage: return "anyExtendedKeyUsage";
    default: break;
  }
  char buf[128];
  OBJ_obj2txt(buf, sizeof buf, obj, 1);
  return buf;
}

}  // namespace

std::string x509_name_string(const X509_NAME* name) {
  auto bio = memory_bio();
  X509_NAME_print_ex(bio.get(), name, 0,
                     XN_FLAG_SEP_CPLUS_SPC | XN_FLAG_FN_SN | ASN1_STRFLGS_UTF8_CONVERT | ASN1_STRFLGS_ESC_CTRL);
  return bio_contents(bio.get());
}

UnixTime asn1_time_to_unix(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) throw Error(ErrorKind::invalid_input, "unreadable ASN.1 time");
  return static_cast<UnixTime>(timegm(&tm));
}

Asn1TimePtr unix_to_asn1_time(UnixTime t) {
  Asn1TimePtr out(check(ASN1_TIME_new(), "ASN1_TIME_new"));
  check(ASN1_TIME_adj(out.get(), static_cast<time_t>(t), 0, 0) != nullptr ? 1 : 0, "ASN1_TIME_adj");
  check(ASN1_TIME_normalize(out.get()), "ASN1_TIME_normalize");
  return out;
}

std::int64_t days_between(UnixTime at, UnixTime until) {
  std::int64_t diff = until - at;
  std::int64_t days = diff / 86400;
  if (diff < 0 && diff % 86400 != 0) --days;
  return days;
}

CertificateSummary summarize(const X509* cert, UnixTime at) {
  CertificateSummary s;
  s.subject = subject_string(cert);
  s.issuer = issuer_string(cert);
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
  s.serial = serial_hex(cert);
  if (ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER && !s.serial.starts_with("-")) s.serial = "-" + s.serial;
  const EVP_PKEY* key = X509_get0_pubkey(cert);
  s.key = key ? describe_key(key) : "unreadable key";
  s.signature_algorithm = OBJ_nid2ln(X509_get_signature_nid(cert));
  s.not_before = asn1_time_to_unix(X509_get0_notBefore(cert));
  s.not_after = asn1_time_to_unix(X509_get0_notAfter(cert));
  s.days_left = days_between(at, s.not_after);
  auto bc = basic_constraints(cert);
  s.ca = bc.ca;
  s.path_len = bc.path_len;
  s.self_signed = is_self_signed(cert) && signed_by(cert, cert);

  int critical = -1;
  BitStringPtr ku(static_cast<ASN1_BIT_STRING*>(X509_get_ext_d2i(cert, NID_key_usage, &critical, nullptr)));
  static const char* kBits[] = {"digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment",
                                "keyAgreement",     "keyCertSign",    "cRLSign",         "encipherOnly",
                                "decipherOnly"};
  for (int bit = 0; ku && bit < 9; ++bit)
    if (ASN1_BIT_STRING_get_bit(ku.get(), bit)) s.key_usage.emplace_back(kBits[bit]);

  ExtKeyUsagePtr eku(static_cast<EXTENDED_KEY_USAGE*>(X509_get_ext_d2i(cert, NID_ext_key_usage, &critical, nullptr)));
  for (int i = 0; eku && i < sk_ASN1_OBJECT_num(eku.get()); ++i)
    s.extended_key_usage.push_back(eku_name(sk_ASN1_OBJECT_value(eku.get(), i)));

  GeneralNamesPtr sans(static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, &critical, nullptr)));
  for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans.get()); ++i)
    s.subject_alt_names.push_back(general_name_string(sk_GENERAL_NAME_value(sans.get(), i)));

  NameConstraintsPtr nc(static_cast<NAME_CONSTRAINTS*>(X509_get_ext_d2i(cert, NID_name_constraints, &critical, nullptr)));
  if (nc) {
    for (int i = 0; i < sk_GENERAL_SUBTREE_num(nc->permittedSubtrees); ++i)
      s.name_constraints.push_back("permitted " +
                                   general_name_string(sk_GENERAL_SUBTREE_value(nc->permittedSubtrees, i)->base));
    for (int i = 0; i < sk_GENERAL_SUBTREE_num(nc->excludedSubtrees); ++i)
      s.name_constraints.push_back("excluded " +
                                   general_name_string(sk_GENERAL_SUBTREE_value(nc->excludedSubtrees, i)->base));
  }
  s.subject_key_id = to_hex_colons(subject_key_id(cert));
  s.authority_key_id = to_hex_colons(authority_key_id(cert));
  s.sha256_fingerprint = sha256_fingerprint(cert);
  drain_openssl_errors();
  return s;
}

std::vector<CertificateNode> certificate_tree(const std::vector<const X509*>& certs) {
  const std::size_t n = certs.size();
  // parent[i] = the first other certificate whose key verifies certs[i].
  std::vector<std::optional<std::size_t>> parent(n);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      if (i == j) continue;
      if (X509_NAME_cmp(X509_get_issuer_name(certs[i]), X509_get_subject_name(certs[j])) == 0 &&
          signed_by(certs[i], certs[j])) {
        parent[i] = j;
        break;
      }
    }
  }
  // Break cycles (two cross-signed certificates) by treating the first seen as a root.
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t steps = 0;
    for (auto p = parent[i]; p && steps <= n; p = parent[*p]) ++steps;
    if (steps > n) parent[i].reset();
  }
  std::function<CertificateNode(std::size_t)> build = [&](std::size_t i) {
    CertificateNode node{i, {}};
    for (std::size_t j = 0; j < n; ++j)
      if (parent[j] == i) node.children.push_back(build(j));
    return node;
  };
  std::vector<CertificateNode> roots;
  for (std::size_t i = 0; i < n; ++i)
    if (!parent[i]) roots.push_back(build(i));
  return roots;
}

}  // namespace meshca::pki
