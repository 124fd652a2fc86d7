// The verdict rule of `meshca verify`, as one table: every check it runs,
// the severity a finding of that check carries, the real consumer the
// severity stands for, and the general fix.
//
// The rule: FAIL only what istiod, Envoy (BoringSSL), Go's crypto/x509 or
// OpenSSL's strict verification (`openssl verify -x509_strict`) would
// refuse, or what breaks the bundle's use (expired, mismatched key, broken
// chain, wrong trust domain under name constraints, CRL problems).
// Everything that is only policy is a WARN. The checker in bundle_check.cpp
// takes each finding's severity from this table and nowhere else;
// docs/verification.md shows the same table and a unit test keeps the two
// equal. The pre-issuance lints (pki/lint.hpp) keep their own, stricter
// severities: this table judges bundles from anywhere, not what meshca
// itself issues.
#pragma once

#include <array>
#include <string_view>

#include "pki/lint.hpp"

namespace meshca::verify {

struct VerifyCheck {
  std::string_view id;        // the check name a finding carries
  pki::Severity severity;     // of every WARN/FAIL finding of this check
  std::string_view consumer;  // who refuses it (FAIL) or whose policy it is (WARN)
  std::string_view fix;       // the general fix; findings may name files and subjects
};

inline constexpr std::array kVerifyChecks{
    VerifyCheck{"source", pki::Severity::fail, "meshca: a file of the bundle cannot be read", "fix the file so it can be read"},
    VerifyCheck{"layout", pki::Severity::fail,
                "istiod: refuses a partial plugged-in CA, or falls back to a self-signed CA without ca-key.pem",
                "provide all four cacerts files (or tls.crt, tls.key, ca.crt) from the same CA"},
    VerifyCheck{"public-only", pki::Severity::warn,
                "istiod: a public-only bundle (the cluster keeps its key) has no ca-key.pem until it is assembled",
                "meshca bundle assemble DIR --key KEY --out NEW_DIR where the key is"},
    VerifyCheck{"key-pin", pki::Severity::fail, "meshca bundle assemble: refuses a ca-cert.pem for another key than the pinned one",
                "take ca-cert.pem and public-bundle.yaml together as the ceremony wrote them"},
    VerifyCheck{"manifest", pki::Severity::fail, "kubectl: applies the Secret manifest, not the files beside it",
                "regenerate cacerts.yaml from the files"},
    VerifyCheck{"pem", pki::Severity::fail, "istiod (Go encoding/pem, crypto/x509): cannot parse the file",
                "copy the file again from its source"},
    VerifyCheck{"pem-text", pki::Severity::warn, "policy: Go's pem.Decode skips text outside blocks and a missing final newline",
                "keep only the PEM blocks, ending with a newline"},
    VerifyCheck{"key-format", pki::Severity::fail, "istiod: reads one unencrypted PKCS#1/SEC1/PKCS#8 key as the first block",
                "openssl pkey -in ca-key.pem -out ca-key.pem.new"},
    VerifyCheck{"key-algorithm", pki::Severity::fail,
                "Go crypto/x509 (istiod), Envoy: accept only RSA 2048-16384 bits and ECDSA P-256/P-384/P-521",
                "issue a new CA with ECDSA P-256/P-384 or RSA 2048/3072/4096"},
    VerifyCheck{"key-algorithm-policy", pki::Severity::warn, "policy: meshca's own set is ECDSA P-256/P-384 and RSA 2048/3072/4096",
                "issue a new CA with ECDSA P-256/P-384 or RSA 2048/3072/4096"},
    VerifyCheck{"key-match", pki::Severity::fail, "istiod: refuses a key that does not match ca-cert.pem",
                "pair ca-cert.pem with the key it was issued for"},
    VerifyCheck{"ca-cert", pki::Severity::warn, "policy: istiod uses only the first certificate of ca-cert.pem",
                "keep only the CA certificate in ca-cert.pem"},
    VerifyCheck{"chain-order", pki::Severity::fail,
                "TLS 1.2 peers (RFC 5246 7.4.2): istiod sends cert-chain.pem after each workload certificate",
                "cat ca-cert.pem ISSUERS... root-cert.pem > cert-chain.pem"},
    VerifyCheck{"chain-root", pki::Severity::fail, "Go crypto/x509, OpenSSL: no path from cert-chain.pem to a root of root-cert.pem",
                "end cert-chain.pem at the root that root-cert.pem holds"},
    VerifyCheck{"chain-verify", pki::Severity::fail, "OpenSSL: X509_verify_cert with X509_V_FLAG_X509_STRICT refuses the chain",
                "openssl verify -x509_strict shows the same; fix the findings above"},
    VerifyCheck{"root-self-signed", pki::Severity::fail,
                "OpenSSL, BoringSSL (Envoy): a trust anchor must be self-signed (no partial chains)",
                "keep only self-signed roots in root-cert.pem"},
    VerifyCheck{"version", pki::Severity::fail, "OpenSSL -x509_strict: extensions require an X.509 v3 certificate",
                "reissue as a v3 certificate"},
    VerifyCheck{"serial", pki::Severity::fail, "Go crypto/x509 (1.23+): ParseCertificate refuses a negative serial number",
                "reissue with a random positive serial"},
    VerifyCheck{"serial-length", pki::Severity::warn, "policy (RFC 5280 4.1.2.2): a zero serial or one longer than 20 octets",
                "reissue with a random positive serial of at most 20 octets"},
    VerifyCheck{"signature-algorithm", pki::Severity::fail, "Go crypto/x509 (1.18+), Envoy: refuse SHA-1 and MD5 signatures",
                "reissue signed with SHA-256 or SHA-384"},
    VerifyCheck{"validity", pki::Severity::fail, "Go crypto/x509, OpenSSL, Envoy: refuse a certificate outside its validity",
                "issue a new certificate (meshca rotate)"},
    VerifyCheck{"expiry-soon", pki::Severity::warn, "policy: expires within 30 days", "renew it now (meshca rotate)"},
    VerifyCheck{"extra-root-validity", pki::Severity::warn, "policy: an expired or future root beside the chain's root is never used",
                "remove it from root-cert.pem"},
    VerifyCheck{"validity-nesting", pki::Severity::warn,
                "policy: neither OpenSSL -x509_strict nor Go crypto/x509 requires validity inside the issuer's",
                "shorten the certificate's validity to end before its issuer"},
    VerifyCheck{"basic-constraints", pki::Severity::fail, "OpenSSL -x509_strict, Go crypto/x509: a CA needs critical CA:TRUE",
                "reissue with 'basicConstraints = critical, CA:TRUE'"},
    VerifyCheck{"path-length", pki::Severity::warn, "policy: an intermediate with pathLen above 0 may certify further CAs",
                "reissue with pathlen:0"},
    VerifyCheck{"chain-path-length", pki::Severity::fail, "OpenSSL, Go crypto/x509: refuse a chain longer than a pathLenConstraint allows",
                "reissue the CA with a larger pathlen or shorten the chain"},
    VerifyCheck{"key-usage", pki::Severity::fail,
                "OpenSSL -x509_strict, Go crypto/x509: a CA's keyUsage must be present and hold keyCertSign",
                "reissue with 'keyUsage = critical, keyCertSign, cRLSign'"},
    VerifyCheck{"key-usage-critical", pki::Severity::warn, "policy (RFC 5280 4.2.1.3 SHOULD): neither OpenSSL nor Go refuses it",
                "reissue with 'keyUsage = critical, ...'"},
    VerifyCheck{"key-usage-crl-sign", pki::Severity::warn,
                "policy while the bundle has no ca-crl.pem; the crl check FAILs a CRL it cannot sign", "reissue with cRLSign in keyUsage"},
    VerifyCheck{"subject-key-id", pki::Severity::fail, "OpenSSL -x509_strict: a CA certificate needs a subjectKeyIdentifier",
                "reissue with a subjectKeyIdentifier"},
    VerifyCheck{"authority-key-id", pki::Severity::fail,
                "OpenSSL -x509_strict: needs an authorityKeyIdentifier; a wrong one breaks path building",
                "reissue with 'authorityKeyIdentifier = keyid'"},
    VerifyCheck{"extended-key-usage", pki::Severity::fail,
                "Go crypto/x509, OpenSSL: a CA's extendedKeyUsage restricts every workload below it", "reissue without extendedKeyUsage"},
    VerifyCheck{"name-constraints", pki::Severity::fail, "Envoy, Go crypto/x509: refuse SPIFFE IDs outside the URI name constraints",
                "issue the intermediate for the mesh's trust domain"},
    VerifyCheck{"name-constraints-critical", pki::Severity::warn, "policy (RFC 5280 4.2.1.10 MUST): Go and OpenSSL apply it either way",
                "reissue with 'nameConstraints = critical, ...'"},
    VerifyCheck{"self-signed", pki::Severity::fail, "OpenSSL, Go crypto/x509: a root must verify with its own key",
                "a root CA certificate must be self-signed"},
    VerifyCheck{"signature", pki::Severity::fail, "every verifier: the signature does not verify with the issuer's key",
                "re-sign the certificate with the issuer's key"},
    VerifyCheck{"issuer-name", pki::Severity::fail, "OpenSSL, Go crypto/x509: build paths by issuer name", "reissue from the right CA"},
    VerifyCheck{"crl", pki::Severity::fail, "Envoy with ca-crl.pem: refuses every certificate whose CRL is missing, stale or unsigned",
                "issue fresh CRLs from every CA of the chain (meshca crl refresh)"},
    VerifyCheck{"crl-next-update", pki::Severity::warn, "policy: a CRL without nextUpdate never goes stale",
                "reissue the CRL with a nextUpdate"},
    VerifyCheck{"workload-peer", pki::Severity::fail, "Envoy, Go crypto/x509: a peer refuses workload certificates this CA issues",
                "fix the findings above; a peer checks exactly this"},
    VerifyCheck{"cross-cluster", pki::Severity::fail,
                "Envoy, Go crypto/x509: clusters that claim one trust domain refuse each other's workloads without a shared root",
                "give every cluster of the trust domain the same root (both roots in root-cert.pem during a rotation)"},
};

// The rule of `id`; nullptr for an id the table does not know.
constexpr const VerifyCheck* find_verify_check(std::string_view id) {
  for (const auto& check : kVerifyChecks)
    if (check.id == id) return &check;
  return nullptr;
}

}  // namespace meshca::verify
