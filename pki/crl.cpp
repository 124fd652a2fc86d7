#include "pki/crl.hpp"

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cctype>

#include "core/error.hpp"
#include "core/hex.hpp"
#include "pki/certificate.hpp"
#include "pki/inspect.hpp"
#include "pki/key.hpp"

namespace meshca::pki {

X509CrlPtr crl_from_der(const PemBlock& block) {
  if (!block.decoded || block.label != "X509 CRL") return nullptr;
  const auto* p = reinterpret_cast<const unsigned char*>(block.der.data());
  const auto* end = p + block.der.size();
  X509CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(block.der.size())));
  drain_openssl_errors();
  if (!crl || p != end) return nullptr;
  return crl;
}

std::string crl_issuer_string(const X509_CRL* crl) { return x509_name_string(X509_CRL_get_issuer(crl)); }

UnixTime crl_this_update(const X509_CRL* crl) { return asn1_time_to_unix(X509_CRL_get0_lastUpdate(crl)); }

std::optional<UnixTime> crl_next_update(const X509_CRL* crl) {
  const ASN1_TIME* t = X509_CRL_get0_nextUpdate(crl);
  if (t == nullptr) return std::nullopt;
  return asn1_time_to_unix(t);
}

std::string crl_number(const X509_CRL* crl) {
  Asn1IntegerPtr number(static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl, NID_crl_number, nullptr, nullptr)));
  std::int64_t value = 0;
  const bool ok = number && ASN1_INTEGER_get_int64(&value, number.get()) == 1;
  drain_openssl_errors();
  return ok ? std::to_string(value) : std::string();
}

std::string crl_sha256_fingerprint(const X509_CRL* crl) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  check(X509_CRL_digest(crl, EVP_sha256(), md, &len), "X509_CRL_digest");
  return to_hex_colons({reinterpret_cast<const char*>(md), len});
}

bool crl_signed_by(const X509_CRL* crl, const X509* issuer) {
  if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0) return false;
  PKeyPtr key = public_key_copy(X509_get0_pubkey(issuer));
  int rc = X509_CRL_verify(const_cast<X509_CRL*>(crl), key.get());
  drain_openssl_errors();
  return rc == 1;
}

bool crl_revokes(const X509_CRL* crl, const X509* cert) {
  STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(const_cast<X509_CRL*>(crl));
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
  for (int i = 0; i < sk_X509_REVOKED_num(revoked); ++i) {
    if (ASN1_INTEGER_cmp(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(revoked, i)), serial) == 0) return true;
  }
  return false;
}

std::size_t crl_revoked_count(const X509_CRL* crl) {
  int n = sk_X509_REVOKED_num(X509_CRL_get_REVOKED(const_cast<X509_CRL*>(crl)));
  return n > 0 ? static_cast<std::size_t>(n) : 0;
}

ChainVerdict verify_chain_with_crls(const X509* target, const std::vector<const X509*>& untrusted,
                                    const std::vector<const X509*>& roots, const std::vector<const X509_CRL*>& crls,
                                    UnixTime at) {
  return verify_path(target, {untrusted, roots, crls, at, 0, AnchorSignature::check});
}

namespace {

constexpr std::pair<RevocationReason, std::string_view> kReasonNames[] = {
    {RevocationReason::unspecified, "unspecified"},
    {RevocationReason::key_compromise, "keyCompromise"},
    {RevocationReason::ca_compromise, "cACompromise"},
    {RevocationReason::affiliation_changed, "affiliationChanged"},
    {RevocationReason::superseded, "superseded"},
    {RevocationReason::cessation_of_operation, "cessationOfOperation"},
    {RevocationReason::privilege_withdrawn, "privilegeWithdrawn"},
};

Asn1IntegerPtr serial_from_hex(const std::string& hex) {
  BIGNUM* raw = nullptr;
  int digits = hex.empty() ? 0 : BN_hex2bn(&raw, hex.c_str());
  BignumPtr bn(raw);
  if (digits != static_cast<int>(hex.size())) {
    throw Error(ErrorKind::invalid_input, "'" + hex + "' is not a hexadecimal serial number");
  }
  return Asn1IntegerPtr(check(BN_to_ASN1_INTEGER(bn.get(), nullptr), "BN_to_ASN1_INTEGER"));
}

void add_revoked(X509_CRL* crl, const ASN1_INTEGER* serial, UnixTime when, RevocationReason reason) {
  X509RevokedPtr entry(check(X509_REVOKED_new(), "X509_REVOKED_new"));
  check(X509_REVOKED_set_serialNumber(entry.get(), const_cast<ASN1_INTEGER*>(serial)), "X509_REVOKED_set_serialNumber");
  check(X509_REVOKED_set_revocationDate(entry.get(), unix_to_asn1_time(when).get()), "X509_REVOKED_set_revocationDate");
  if (reason != RevocationReason::unspecified) {
    Ptr<ASN1_ENUMERATED> code(check(ASN1_ENUMERATED_new(), "ASN1_ENUMERATED_new"));
    check(ASN1_ENUMERATED_set(code.get(), static_cast<long>(reason)), "ASN1_ENUMERATED_set");
    check(X509_REVOKED_add1_ext_i2d(entry.get(), NID_crl_reason, code.get(), 0, 0), "X509_REVOKED_add1_ext_i2d");
  }
  check(X509_CRL_add0_revoked(crl, entry.get()), "X509_CRL_add0_revoked");
  (void)entry.release();
}

std::string canonical_serial(std::string_view hex) {
  std::string out;
  for (char c : hex) {
    if (c == ':') continue;
    out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  auto first = out.find_first_not_of('0');
  return first == std::string::npos ? "0" : out.substr(first);
}

}  // namespace

std::optional<RevocationReason> parse_revocation_reason(std::string_view name) {
  for (const auto& [reason, text] : kReasonNames)
    if (text == name) return reason;
  return std::nullopt;
}

std::string_view revocation_reason_name(RevocationReason reason) {
  for (const auto& [r, text] : kReasonNames)
    if (r == reason) return text;
  return "unspecified";
}

std::string revocation_reason_choices() {
  std::string s;
  for (const auto& [reason, text] : kReasonNames) s += (s.empty() ? "" : ", ") + std::string(text);
  return s;
}

bool same_serial(std::string_view a_hex, std::string_view b_hex) { return canonical_serial(a_hex) == canonical_serial(b_hex); }

X509CrlPtr issue_crl(const CrlProfile& profile, const X509* issuer, EVP_PKEY* signer) {
  X509CrlPtr crl(check(X509_CRL_new(), "X509_CRL_new"));
  check(X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2), "X509_CRL_set_version");
  check(X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(issuer)), "X509_CRL_set_issuer_name");
  check(X509_CRL_set1_lastUpdate(crl.get(), unix_to_asn1_time(profile.this_update).get()), "X509_CRL_set1_lastUpdate");
  check(X509_CRL_set1_nextUpdate(crl.get(), unix_to_asn1_time(profile.next_update).get()), "X509_CRL_set1_nextUpdate");
  for (const X509* cert : profile.revoked) {
    add_revoked(crl.get(), X509_get0_serialNumber(cert), profile.this_update, RevocationReason::unspecified);
  }
  for (const auto& e : profile.entries) {
    add_revoked(crl.get(), serial_from_hex(e.serial_hex).get(), e.revoked_at, e.reason);
  }
  // AKI (keyid of the issuer) and CRL number, as RFC 5280 5.2 asks.
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, const_cast<X509*>(issuer), nullptr, nullptr, crl.get(), 0);
  X509ExtensionPtr aki(X509V3_EXT_conf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always"));
  if (aki) check(X509_CRL_add_ext(crl.get(), aki.get(), -1), "X509_CRL_add_ext");
  drain_openssl_errors();
  Asn1IntegerPtr number(check(ASN1_INTEGER_new(), "ASN1_INTEGER_new"));
  check(ASN1_INTEGER_set(number.get(), profile.number), "ASN1_INTEGER_set");
  check(X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number.get(), 0, 0), "X509_CRL_add1_ext_i2d");
  check(X509_CRL_sort(crl.get()), "X509_CRL_sort");
  if (X509_CRL_sign(crl.get(), signer, signature_digest(signer)) <= 0) throw_openssl("signing the CRL failed");
  return crl;
}

std::string crl_to_pem(const X509_CRL* crl) {
  auto bio = memory_bio();
  check(PEM_write_bio_X509_CRL(bio.get(), const_cast<X509_CRL*>(crl)), "PEM_write_bio_X509_CRL");
  return bio_contents(bio.get());
}

}  // namespace meshca::pki
