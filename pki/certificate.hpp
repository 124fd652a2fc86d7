// Building, signing, encoding and reading back X.509 CA certificates.
//
// A CertificateProfile says what a certificate must contain; issue_certificate
// turns it into a signed X509 with the extensions RFC 5280 requires of a CA
// (critical basicConstraints and keyUsage, SKI, AKI for non-roots, optional
// critical URI name constraints). Signing goes through an EVP_PKEY, so a key
// held in a PKCS#11 token signs exactly like a software key. The readers
// (extensions, names, fingerprints) serve lints, resume checks and tests.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/time.hpp"
#include "pki/handles.hpp"

namespace meshca::pki {

// Attributes in the order they appear in the DN, e.g. {{"C","US"},{"O","Acme"},{"CN","Root"}}.
struct DistinguishedName {
  std::vector<std::pair<std::string, std::string>> attributes;

  // The short attribute names meshca accepts, in canonical DN order.
  static const std::vector<std::string>& known_attributes();
  // Orders attributes canonically (C, ST, L, O, OU, CN, serialNumber).
  static DistinguishedName canonical(std::vector<std::pair<std::string, std::string>> attrs);
  X509NamePtr to_x509_name() const;
  std::string to_string() const;  // "C=US, O=Acme Corp, CN=Acme Root"
  bool operator==(const DistinguishedName&) const = default;
};

struct KeyUsageBits {
  bool digital_signature = false;
  bool key_cert_sign = false;
  bool crl_sign = false;
  // Not CA bits, but Istio's tools/certs recipe sets them on its CAs; the
  // istio-tools-certs profile reproduces that recipe exactly.
  bool non_repudiation = false;
  bool key_encipherment = false;
};

struct CertificateProfile {
  DistinguishedName subject;
  UnixTime not_before = 0;
  UnixTime not_after = 0;
  bool is_ca = true;
  std::optional<int> path_len;
  KeyUsageBits key_usage;
  // Hosts allowed in URI SANs below this CA (critical nameConstraints).
  std::vector<std::string> permitted_uri_hosts;
  // DNS names in a (non-critical) subjectAltName; empty: no SAN.
  std::vector<std::string> dns_names;
  // The subjectKeyIdentifier (raw bytes); empty: RFC 7093 method 1 over the
  // subject key. A cross-certificate repeats the one of the certificate it
  // cross-signs, so the authorityKeyIdentifier of every certificate that
  // CA issued matches either path (the other CA may compute it otherwise).
  std::string subject_key_id;
};

// Issues a certificate for `subject_public_key` signed by `signer`. With
// issuer == nullptr the certificate is self-signed (issuer name = subject,
// no AKI). The serial is 16 random bytes, positive and non-zero.
X509Ptr issue_certificate(const CertificateProfile& profile, const EVP_PKEY* subject_public_key,
                          const X509* issuer, EVP_PKEY* signer);

std::string certificate_to_pem(const X509* cert);
// Every CERTIFICATE block of `pem`, in order. Error(invalid_input) naming
// `where` when there is none or one is damaged.
std::vector<X509Ptr> certificates_from_pem(std::string_view pem, const std::string& where);
X509Ptr certificate_from_pem(std::string_view pem, const std::string& where);
// Another owner of the same certificate (X509_up_ref), after
// settle_extension_cache(): the copy may go to another thread.
X509Ptr duplicate(const X509* cert);

// OpenSSL computes a certificate's extension cache (flags, key
// identifiers) on first use, and OpenSSL 3.0 computes it again when two
// threads ask at once, replacing fields (subjectKeyIdentifier) while the
// other thread compares them (a data race ThreadSanitizer reports in
// X509_verify_cert). Every certificate meshca makes, parses or shares has it
// computed here first, by the thread that holds it alone.
void settle_extension_cache(const X509* cert);

// Readers.
std::string subject_string(const X509* cert);
std::string issuer_string(const X509* cert);
std::string serial_hex(const X509* cert);
std::string sha256_fingerprint(const X509* cert);  // "AB:CD:..."
UnixTime not_before(const X509* cert);
UnixTime not_after(const X509* cert);
struct BasicConstraintsInfo {
  bool present = false;
  bool critical = false;
  bool ca = false;
  std::optional<long> path_len;
};
BasicConstraintsInfo basic_constraints(const X509* cert);
struct KeyUsageInfo {
  bool present = false;
  bool critical = false;
  KeyUsageBits bits;
  bool other_bits = false;  // anything beyond the bits KeyUsageBits holds
};
KeyUsageInfo key_usage(const X509* cert);
std::string subject_key_id(const X509* cert);    // raw bytes, "" when absent
std::string authority_key_id(const X509* cert);  // keyIdentifier, "" when absent
struct NameConstraintsInfo {
  bool present = false;
  bool critical = false;
  std::vector<std::string> permitted_uri;
  std::size_t other_subtrees = 0;
};
NameConstraintsInfo name_constraints(const X509* cert);
bool is_self_signed(const X509* cert);

// A GENERAL_NAMES list of IA5 names of one type (GEN_DNS, GEN_URI), for a
// subjectAltName; and the same IA5 value set into an existing GENERAL_NAME
// (a name-constraints subtree's base).
GeneralNamesPtr ia5_general_names(int type, const std::vector<std::string>& values);
void set_ia5_general_name(GENERAL_NAME* name, int type, std::string_view value);

// The RFC 7093 section 2 method 1 key identifier: leftmost 160 bits of the
// SHA-256 of the subjectPublicKey BIT STRING (no SHA-1 anywhere in meshca).
std::string key_identifier(const EVP_PKEY* key);

}  // namespace meshca::pki
