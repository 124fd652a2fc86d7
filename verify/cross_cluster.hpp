// Which bundles trust each other: for every pair of bundles whose
// certificates loaded, whether each accepts the other's workloads (a real
// certification path, built by OpenSSL from the bundle's own chain to the
// peer's roots), which roots they share, and whether they must talk (both
// claim one trust domain: one mesh). Verdicts are computed once per (root
// set, bundle) and shared roots once per pair of root sets, so a fleet of
// 1,000 bundles (half a million pairs) costs about 1,000 verifications.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "verify/bundle_check.hpp"

namespace meshca::verify {

struct SharedRoots {
  std::vector<std::string> subjects;
  std::vector<std::string> fingerprints;  // their SHA-256, in the same order
};

struct TrustPair {
  std::size_t a = 0, b = 0;  // indexes into the reports
  bool a_accepts_b = false;  // b's CA certificate and chain verify (strict) under a's root-cert.pem
  bool b_accepts_a = false;
  // The roots both trust: one object for every pair of bundles with the
  // same two root sets (a fleet has half a million pairs and a few sets).
  std::shared_ptr<const SharedRoots> shared;
  // Both claim one trust domain: one mesh, whose clusters must accept each
  // other's workloads both ways. Anything less is a failure.
  bool must_talk = false;
  bool failed() const { return must_talk && !(a_accepts_b && b_accepts_a); }
};

// Whether a peer holding `peer`'s roots accepts workloads of `bundle`: the
// bundle's CA certificate verifies strictly through its own chain to one of
// the peer's roots (OpenSSL builds the path, so a cross-signed root counts).
bool accepts_workloads(const TrustMaterial& peer, const TrustMaterial& bundle);

// One entry per pair of bundles whose certificates loaded (root directories
// have no workloads and take no part).
std::vector<TrustPair> cross_cluster_trust(const std::vector<BundleReport>& reports);

// A root as the reports name it: two roots may share a subject, so its
// SHA-256 goes with it ("CN=Root [SHA-256 AB:...]").
std::string root_name(const std::string& subject, const std::string& fingerprint);
// Every root of `roots`, named so, separated by "; ".
std::string shared_roots_text(const SharedRoots& roots);

// The verdict on one pair as one line: mutual trust and the roots the two
// share, one way only (and the root the other side lacks), or no shared
// root; a pair that fails carries its severity and what to change.
std::string describe_trust_pair(const std::vector<BundleReport>& reports, const TrustPair& pair);

// How many pairs in mutual trust share each set of roots, keyed by
// shared_roots_text (two objects naming the same roots count together):
// what a report on a fleet says instead of listing every pair.
std::map<std::string, std::size_t> mutual_trust_by_roots(const std::vector<TrustPair>& pairs);

}  // namespace meshca::verify
