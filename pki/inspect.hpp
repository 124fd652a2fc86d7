// A readable summary of any X.509 certificate, for `meshca inspect`,
// `meshca check-expiry` and the findings of `meshca verify`.
//
// summarize() reads everything an operator asks about a CA or workload
// certificate (subject, issuer, serial, key, validity and days left at a
// given time, CA/pathLen, keyUsage, EKU, SANs, name constraints, SKI/AKI,
// signature algorithm, SHA-256 fingerprint) into plain strings, so the CLI
// can print text or JSON without touching OpenSSL. certificate_tree()
// arranges a set of certificates by who signed whom. The small ASN.1
// helpers are shared with the CRL module.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/time.hpp"
#include "pki/handles.hpp"

namespace meshca::pki {

struct CertificateSummary {
  std::string subject;
  std::string issuer;
  std::string serial;             // hex, "-" prefixed when negative
  std::string key;                // "ECDSA P-256", "RSA 4096"
  std::string signature_algorithm;  // "ecdsa-with-SHA256"
  UnixTime not_before = 0;
  UnixTime not_after = 0;
  std::int64_t days_left = 0;     // whole days from `at` to notAfter (negative when expired)
  bool ca = false;
  std::optional<long> path_len;
  bool self_signed = false;
  std::vector<std::string> key_usage;      // "keyCertSign", "cRLSign", ...
  std::vector<std::string> extended_key_usage;  // "serverAuth", "clientAuth", OIDs otherwise
  std::vector<std::string> subject_alt_names;   // "URI:spiffe://...", "DNS:..."
  std::vector<std::string> name_constraints;    // "permitted URI:prod.example", "excluded DNS:..."
  std::string subject_key_id;     // "AB:CD:..." or ""
  std::string authority_key_id;
  std::string sha256_fingerprint;
};

CertificateSummary summarize(const X509* cert, UnixTime at);

// Whole days from `at` until `until`, rounded down (negative in the past).
std::int64_t days_between(UnixTime at, UnixTime until);

// A forest of certificates: each node's children are the certificates it
// signed (signature verified). `index` refers to the input vector.
struct CertificateNode {
  std::size_t index = 0;
  std::vector<CertificateNode> children;
};
std::vector<CertificateNode> certificate_tree(const std::vector<const X509*>& certs);

// Shared helpers.
std::string x509_name_string(const X509_NAME* name);  // "C=US, O=Acme, CN=Root"
UnixTime asn1_time_to_unix(const ASN1_TIME* t);
Asn1TimePtr unix_to_asn1_time(UnixTime t);

}  // namespace meshca::pki
