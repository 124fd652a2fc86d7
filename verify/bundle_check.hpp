// The bundle verification engine behind `meshca verify`: everything istiod
// checks when it loads a plugged-in CA, plus what a verifying peer needs.
//
// check_bundle() takes the raw files of one bundle (see bundle_source.hpp)
// and returns one finding per check, each PASS, WARN or FAIL with the check
// name, the file, the reason and a fix hint: file presence and layout,
// strict PEM, the private key (one unencrypted PKCS#1/SEC1/PKCS#8 block, no
// EC PARAMETERS, matching ca-cert.pem), the CA lints of pki/lint.hpp on every
// certificate, chain order and its self-signed root in root-cert.pem,
// OpenSSL strict chain verification, validity at a given time, pathLen and
// name constraints, ca-crl.pem, and an in-memory workload certificate issued
// like istiod does and verified as a peer would. Every finding's severity
// comes from the verdict table of verify_checks.hpp: FAIL only for what a
// real consumer refuses or what breaks the bundle, WARN for policy. It never
// prints; it throws only for internal errors. cross_cluster_trust() compares several reports:
// which clusters accept each other's workloads.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/time.hpp"
#include "pki/handles.hpp"
#include "pki/lint.hpp"
#include "verify/bundle_source.hpp"

namespace meshca::verify {

struct BundleFinding {
  pki::Severity severity = pki::Severity::pass;
  std::string check;    // stable identifier: "layout", "pem", "key-format", "chain-order", ...
  std::string file;     // the file the finding is about (display path), "" for the bundle
  std::string message;  // what was found
  std::string fix;      // what to do ("" for PASS)
};

struct BundleCheckOptions {
  UnixTime at = 0;           // 0 = now
  std::string trust_domain;  // "" = take it from the name constraints, else "cluster.local"
};

// What a peer needs to judge this bundle's workloads, and what this bundle
// trusts: kept so the cross-cluster report builds real certification paths
// (a cross-signed root in cert-chain.pem can lead to a root the chain does
// not end at).
struct TrustMaterial {
  pki::X509Ptr ca_cert;
  std::vector<pki::X509Ptr> chain;  // cert-chain.pem as loaded
  std::vector<pki::X509Ptr> roots;  // root-cert.pem
  UnixTime at = 0;                  // the time the bundle was checked at
};

struct BundleReport {
  std::string label;
  std::string layout;  // "istio-cacerts", "kubernetes.io/tls", "mixed", "none"
  std::vector<BundleFinding> findings;

  // For the cross-cluster report ("" / empty when unknown).
  std::string ca_subject;
  std::string chain_root_fingerprint;  // root the bundle's workloads chain to
  std::string chain_root_subject;
  std::vector<std::string> trusted_root_fingerprints;  // root-cert.pem
  std::vector<std::string> trusted_root_subjects;
  std::string trust_domain;  // as checked
  // The bundle claims trust_domain (--trust-domain, or its URI name
  // constraints) rather than the "cluster.local" default.
  bool trust_domain_claimed = false;
  std::shared_ptr<const TrustMaterial> trust;  // null when the certificates did not load

  std::size_t count(pki::Severity s) const;
  bool failed() const { return count(pki::Severity::fail) != 0; }
};

BundleReport check_bundle(const BundleSource& source, const BundleCheckOptions& options);

}  // namespace meshca::verify
