#include "pki/certificate.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>

#include "core/hex.hpp"
#include "pki/key.hpp"

namespace meshca::pki {
namespace {

Asn1TimePtr to_asn1_time(UnixTime t) {
  Asn1TimePtr out(check(ASN1_TIME_new(), "ASN1_TIME_new"));
  // RFC 5280: UTCTime through 2049, GeneralizedTime from 2050.
  check(ASN1_TIME_adj(out.get(), static_cast<time_t>(t), 0, 0) != nullptr ? 1 : 0, "ASN1_TIME_adj");
  check(ASN1_TIME_normalize(out.get()), "ASN1_TIME_normalize");
  return out;
}

UnixTime from_asn1_time(const ASN1_TIME* t) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) throw Error(ErrorKind::invalid_input, "certificate has an unreadable time");
  return static_cast<UnixTime>(timegm(&tm));
}

Asn1IntegerPtr random_serial() {
  unsigned char bytes[16];
  do {
    check(RAND_bytes(bytes, sizeof bytes), "RAND_bytes");
    bytes[0] &= 0x7f;  // positive without a leading zero octet
  } while (std::all_of(std::begin(bytes), std::end(bytes), [](unsigned char b) { return b == 0; }));
  BignumPtr bn(check(BN_bin2bn(bytes, sizeof bytes, nullptr), "BN_bin2bn"));
  return Asn1IntegerPtr(check(BN_to_ASN1_INTEGER(bn.get(), nullptr), "BN_to_ASN1_INTEGER"));
}

void add_extension(X509* cert, int nid, bool critical, void* value) {
  check(X509_add1_ext_i2d(cert, nid, value, critical ? 1 : 0, X509V3_ADD_DEFAULT), "X509_add1_ext_i2d");
}

void add_basic_constraints(X509* cert, const CertificateProfile& profile) {
  BasicConstraintsPtr bc(check(BASIC_CONSTRAINTS_new(), "BASIC_CONSTRAINTS_new"));
  bc->ca = profile.is_ca ? 0xff : 0;
  if (profile.is_ca && profile.path_len) {
    bc->pathlen = check(ASN1_INTEGER_new(), "ASN1_INTEGER_new");
    check(ASN1_INTEGER_set(bc->pathlen, *profile.path_len), "ASN1_INTEGER_set");
  }
  add_extension(cert, NID_basic_constraints, true, bc.get());
}

void add_key_usage(X509* cert, const KeyUsageBits& bits) {
  BitStringPtr ku(check(ASN1_BIT_STRING_new(), "ASN1_BIT_STRING_new"));
  if (bits.digital_signature) check(ASN1_BIT_STRING_set_bit(ku.get(), 0, 1), "set digitalSignature");
  if (bits.non_repudiation) check(ASN1_BIT_STRING_set_bit(ku.get(), 1, 1), "set nonRepudiation");
  if (bits.key_encipherment) check(ASN1_BIT_STRING_set_bit(ku.get(), 2, 1), "set keyEncipherment");
  if (bits.key_cert_sign) check(ASN1_BIT_STRING_set_bit(ku.get(), 5, 1), "set keyCertSign");
  if (bits.crl_sign) check(ASN1_BIT_STRING_set_bit(ku.get(), 6, 1), "set cRLSign");
  add_extension(cert, NID_key_usage, true, ku.get());
}

// RFC 7093 method 1 over the subjectPublicKey bits: the leftmost 160 bits of their SHA-256.
std::string key_identifier_of(const X509_PUBKEY* pub) {
  const unsigned char* bits = nullptr;
  int len = 0;
  check(X509_PUBKEY_get0_param(nullptr, &bits, &len, nullptr, pub), "X509_PUBKEY_get0_param");
  return sha256({reinterpret_cast<const char*>(bits), static_cast<std::size_t>(len)}).substr(0, 20);
}

// The subject key is already set on `cert`: its encoding there is what the
// identifier is computed over (encoding the key again costs more than the hash).
void add_key_ids(X509* cert, const X509* issuer, const std::string& given_ski) {
  std::string ski = given_ski.empty() ? key_identifier_of(X509_get_X509_PUBKEY(cert)) : given_ski;
  Asn1OctetStringPtr ski_octets(check(ASN1_OCTET_STRING_new(), "ASN1_OCTET_STRING_new"));
  check(ASN1_OCTET_STRING_set(ski_octets.get(), reinterpret_cast<const unsigned char*>(ski.data()),
                              static_cast<int>(ski.size())),
        "ASN1_OCTET_STRING_set");
  add_extension(cert, NID_subject_key_identifier, false, ski_octets.get());
  if (issuer == nullptr) return;
  std::string issuer_ski = subject_key_id(issuer);
  if (issuer_ski.empty()) throw Error(ErrorKind::invalid_input, "issuer certificate has no subjectKeyIdentifier");
  AuthorityKeyIdPtr aki(check(AUTHORITY_KEYID_new(), "AUTHORITY_KEYID_new"));
  aki->keyid = check(ASN1_OCTET_STRING_new(), "ASN1_OCTET_STRING_new");
  check(ASN1_OCTET_STRING_set(aki->keyid, reinterpret_cast<const unsigned char*>(issuer_ski.data()),
                              static_cast<int>(issuer_ski.size())),
        "ASN1_OCTET_STRING_set");
  add_extension(cert, NID_authority_key_identifier, false, aki.get());
}

void add_dns_names(X509* cert, const std::vector<std::string>& names) {
  if (names.empty()) return;
  add_extension(cert, NID_subject_alt_name, false, ia5_general_names(GEN_DNS, names).get());
}

void add_name_constraints(X509* cert, const std::vector<std::string>& hosts) {
  if (hosts.empty()) return;
  NameConstraintsPtr nc(check(NAME_CONSTRAINTS_new(), "NAME_CONSTRAINTS_new"));
  nc->permittedSubtrees = check(sk_GENERAL_SUBTREE_new_null(), "sk_GENERAL_SUBTREE_new_null");
  for (const auto& host : hosts) {
    GeneralSubtreePtr subtree(check(GENERAL_SUBTREE_new(), "GENERAL_SUBTREE_new"));
    set_ia5_general_name(subtree->base, GEN_URI, host);
    check(sk_GENERAL_SUBTREE_push(nc->permittedSubtrees, subtree.get()), "sk_GENERAL_SUBTREE_push");
    (void)subtree.release();
  }
  add_extension(cert, NID_name_constraints, true, nc.get());
}

std::string name_to_string(const X509_NAME* name) {
  auto bio = memory_bio();
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_SEP_CPLUS_SPC | XN_FLAG_FN_SN | ASN1_STRFLGS_UTF8_CONVERT | ASN1_STRFLGS_ESC_CTRL);
  return bio_contents(bio.get());
}

std::string octets(const ASN1_OCTET_STRING* s) {
  if (s == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<std::size_t>(ASN1_STRING_length(s)));
}

}  // namespace

const std::vector<std::string>& DistinguishedName::known_attributes() {
  static const std::vector<std::string> kOrder{"C", "ST", "L", "O", "OU", "CN", "serialNumber"};
  return kOrder;
}

DistinguishedName DistinguishedName::canonical(std::vector<std::pair<std::string, std::string>> attrs) {
  const auto& order = known_attributes();
  auto rank = [&](const std::string& k) { return std::find(order.begin(), order.end(), k) - order.begin(); };
  std::stable_sort(attrs.begin(), attrs.end(), [&](const auto& a, const auto& b) { return rank(a.first) < rank(b.first); });
  return DistinguishedName{std::move(attrs)};
}

X509NamePtr DistinguishedName::to_x509_name() const {
  X509NamePtr name(check(X509_NAME_new(), "X509_NAME_new"));
  for (const auto& [field, value] : attributes) {
    if (X509_NAME_add_entry_by_txt(name.get(), field.c_str(), MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0) != 1) {
      throw_openssl("subject attribute " + field + " is not acceptable", ErrorKind::invalid_input);
    }
  }
  return name;
}

std::string DistinguishedName::to_string() const {
  std::string s;
  for (const auto& [field, value] : attributes) {
    if (!s.empty()) s += ", ";
    s += field + "=" + value;
  }
  return s;
}

void set_ia5_general_name(GENERAL_NAME* name, int type, std::string_view value) {
  Ptr<ASN1_IA5STRING> ia5(check(ASN1_IA5STRING_new(), "ASN1_IA5STRING_new"));
  check(ASN1_STRING_set(ia5.get(), value.data(), static_cast<int>(value.size())), "ASN1_STRING_set");
  GENERAL_NAME_set0_value(name, type, ia5.release());
}

GeneralNamesPtr ia5_general_names(int type, const std::vector<std::string>& values) {
  GeneralNamesPtr names(check(GENERAL_NAMES_new(), "GENERAL_NAMES_new"));
  for (const auto& value : values) {
    GeneralNamePtr name(check(GENERAL_NAME_new(), "GENERAL_NAME_new"));
    set_ia5_general_name(name.get(), type, value);
    check(sk_GENERAL_NAME_push(names.get(), name.get()), "sk_GENERAL_NAME_push");
    (void)name.release();
  }
  return names;
}

std::string key_identifier(const EVP_PKEY* key) {
  X509_PUBKEY* pub = nullptr;
  check(X509_PUBKEY_set(&pub, const_cast<EVP_PKEY*>(key)), "X509_PUBKEY_set");
  Ptr<X509_PUBKEY> pub_owner(pub);
  return key_identifier_of(pub);
}

X509Ptr issue_certificate(const CertificateProfile& profile, const EVP_PKEY* subject_public_key,
                          const X509* issuer, EVP_PKEY* signer) {
  if (profile.not_after <= profile.not_before) {
    throw Error(ErrorKind::invalid_input, "certificate notAfter must be later than notBefore");
  }
  X509Ptr cert(check(X509_new(), "X509_new"));
  check(X509_set_version(cert.get(), X509_VERSION_3), "X509_set_version");
  auto serial = random_serial();
  check(X509_set_serialNumber(cert.get(), serial.get()), "X509_set_serialNumber");
  auto subject = profile.subject.to_x509_name();
  check(X509_set_subject_name(cert.get(), subject.get()), "X509_set_subject_name");
  check(X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : subject.get()),
        "X509_set_issuer_name");
  check(X509_set1_notBefore(cert.get(), to_asn1_time(profile.not_before).get()), "X509_set1_notBefore");
  check(X509_set1_notAfter(cert.get(), to_asn1_time(profile.not_after).get()), "X509_set1_notAfter");
  check(X509_set_pubkey(cert.get(), const_cast<EVP_PKEY*>(subject_public_key)), "X509_set_pubkey");

  add_basic_constraints(cert.get(), profile);
  add_key_usage(cert.get(), profile.key_usage);
  add_key_ids(cert.get(), issuer, profile.subject_key_id);
  add_name_constraints(cert.get(), profile.permitted_uri_hosts);
  add_dns_names(cert.get(), profile.dns_names);

  if (X509_sign(cert.get(), signer, signature_digest(signer)) <= 0) {
    throw_openssl("signing the certificate for " + profile.subject.to_string() + " failed", ErrorKind::key_store);
  }
  settle_extension_cache(cert.get());
  return cert;
}

std::string certificate_to_pem(const X509* cert) {
  auto bio = memory_bio();
  check(PEM_write_bio_X509(bio.get(), const_cast<X509*>(cert)), "PEM_write_bio_X509");
  return bio_contents(bio.get());
}

std::vector<X509Ptr> certificates_from_pem(std::string_view pem, const std::string& where) {
  std::vector<X509Ptr> certs;
  auto bio = memory_bio(pem);
  for (;;) {
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) break;
    settle_extension_cache(cert.get());
    certs.push_back(std::move(cert));
  }
  // PEM_read_bio_X509 ends with "no start line" at a clean end of input;
  // anything else means a damaged block.
  unsigned long err = ERR_peek_last_error();
  bool clean_end = ERR_GET_REASON(err) == PEM_R_NO_START_LINE;
  std::string queue = drain_openssl_errors();
  if (!clean_end && err != 0) throw Error(ErrorKind::invalid_input, "damaged certificate PEM (" + queue + ")", where);
  if (certs.empty()) throw Error(ErrorKind::invalid_input, "no CERTIFICATE PEM block found", where);
  return certs;
}

X509Ptr certificate_from_pem(std::string_view pem, const std::string& where) {
  auto certs = certificates_from_pem(pem, where);
  if (certs.size() != 1) {
    throw Error(ErrorKind::invalid_input, "expected exactly one certificate, found " + std::to_string(certs.size()), where);
  }
  return std::move(certs.front());
}

void settle_extension_cache(const X509* cert) {
  // Purpose -1 asks for nothing but the cache; an invalid extension leaves
  // the certificate flagged EXFLAG_INVALID, which every later use reports.
  (void)X509_check_purpose(const_cast<X509*>(cert), -1, 0);
  drain_openssl_errors();
}

X509Ptr duplicate(const X509* cert) {
  settle_extension_cache(cert);
  check(X509_up_ref(const_cast<X509*>(cert)), "X509_up_ref");
  return X509Ptr(const_cast<X509*>(cert));
}

std::string subject_string(const X509* cert) { return name_to_string(X509_get_subject_name(cert)); }
std::string issuer_string(const X509* cert) { return name_to_string(X509_get_issuer_name(cert)); }

std::string serial_hex(const X509* cert) {
  BignumPtr bn(check(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr), "ASN1_INTEGER_to_BN"));
  Ptr<char> hex(check(BN_bn2hex(bn.get()), "BN_bn2hex"));
  return hex.get();
}

std::string sha256_fingerprint(const X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  check(X509_digest(cert, EVP_sha256(), md, &len), "X509_digest");
  return to_hex_colons({reinterpret_cast<const char*>(md), len});
}

UnixTime not_before(const X509* cert) { return from_asn1_time(X509_get0_notBefore(cert)); }
UnixTime not_after(const X509* cert) { return from_asn1_time(X509_get0_notAfter(cert)); }

BasicConstraintsInfo basic_constraints(const X509* cert) {
  BasicConstraintsInfo out;
  int critical = -1;
  BasicConstraintsPtr bc(static_cast<BASIC_CONSTRAINTS*>(X509_get_ext_d2i(cert, NID_basic_constraints, &critical, nullptr)));
  if (!bc) return out;
  out.present = true;
  out.critical = critical == 1;
  out.ca = bc->ca != 0;
  if (bc->pathlen) out.path_len = ASN1_INTEGER_get(bc->pathlen);
  return out;
}

KeyUsageInfo key_usage(const X509* cert) {
  KeyUsageInfo out;
  int critical = -1;
  BitStringPtr ku(static_cast<ASN1_BIT_STRING*>(X509_get_ext_d2i(cert, NID_key_usage, &critical, nullptr)));
  if (!ku) return out;
  out.present = true;
  out.critical = critical == 1;
  out.bits.digital_signature = ASN1_BIT_STRING_get_bit(ku.get(), 0);
  out.bits.key_cert_sign = ASN1_BIT_STRING_get_bit(ku.get(), 5);
  out.bits.crl_sign = ASN1_BIT_STRING_get_bit(ku.get(), 6);
  out.bits.non_repudiation = ASN1_BIT_STRING_get_bit(ku.get(), 1);
  out.bits.key_encipherment = ASN1_BIT_STRING_get_bit(ku.get(), 2);
  for (int bit : {3, 4, 7, 8}) out.other_bits |= ASN1_BIT_STRING_get_bit(ku.get(), bit) != 0;
  return out;
}

std::string subject_key_id(const X509* cert) { return octets(X509_get0_subject_key_id(const_cast<X509*>(cert))); }
std::string authority_key_id(const X509* cert) { return octets(X509_get0_authority_key_id(const_cast<X509*>(cert))); }

NameConstraintsInfo name_constraints(const X509* cert) {
  NameConstraintsInfo out;
  int critical = -1;
  NameConstraintsPtr nc(static_cast<NAME_CONSTRAINTS*>(X509_get_ext_d2i(cert, NID_name_constraints, &critical, nullptr)));
  if (!nc) return out;
  out.present = true;
  out.critical = critical == 1;
  for (int i = 0; i < sk_GENERAL_SUBTREE_num(nc->permittedSubtrees); ++i) {
    const GENERAL_SUBTREE* st = sk_GENERAL_SUBTREE_value(nc->permittedSubtrees, i);
    if (st->base->type == GEN_URI) {
      const ASN1_IA5STRING* uri = st->base->d.uniformResourceIdentifier;
      out.permitted_uri.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                                     static_cast<std::size_t>(ASN1_STRING_length(uri)));
    } else {
      ++out.other_subtrees;
    }
  }
  out.other_subtrees += static_cast<std::size_t>(sk_GENERAL_SUBTREE_num(nc->excludedSubtrees) > 0
                                                     ? sk_GENERAL_SUBTREE_num(nc->excludedSubtrees)
                                                     : 0);
  return out;
}

bool is_self_signed(const X509* cert) { return X509_self_signed(const_cast<X509*>(cert), 0) == 1; }

}  // namespace meshca::pki
