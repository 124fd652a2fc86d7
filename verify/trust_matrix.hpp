// The trust matrix behind `meshca trust check` (docs/verification.md, "The
// trust matrix"): for every pair of clusters (and, for a rotation, of
// clusters in phases that coexist), whether a sidecar of one accepts a
// workload of the other, compared with what the plan says.
//
// Acceptance models Istio with meshConfig.caCertificates carrying
// trustDomains, where Envoy's SPIFFE certificate validator
// (envoy.tls.cert_validator.spiffe) maps each trust domain to the roots
// trusted for it and refuses a peer whose SPIFFE trust domain has no entry:
// a receiver accepts a peer's workload when the receiver trusts at least one
// root FOR THE PEER'S TRUST DOMAIN and the peer's CA certificate verifies
// (strict, OpenSSL building the path: verify::accepts_workloads, the one
// "does A accept B") through its own chain to one of those roots. What a
// receiver trusts is read from what the bundle holds: root-cert.pem for its
// own trust domain and meshConfig.trustDomainAliases, and each entry of
// trust/istiod-values.yaml's meshConfig.caCertificates for its trustDomains
// (none listed: every trust domain).
//
// What the plan says (expected_trust): clusters of one mesh talk; clusters of
// meshes federated in the plan (`federation:`, or a mesh of another OUT whose
// trust domain a federation's external root vouches for) talk; any other
// two refuse each other. In a rotation the phase pairs come from the
// rotation's own promise (ceremony::checked_phase_pairs): a pair that must
// not talk (phases 0 and 3) refuses whatever the meshes.
//
// Verdicts are computed once per (set of roots trusted for a trust domain,
// peer bundle), so a fleet of 1,000 clusters (half a million pairs) costs a
// few thousand path verifications, not a million.
#pragma once

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "verify/bundle_check.hpp"

namespace meshca::ceremony {
struct Plan;
}

namespace meshca::verify {

// One cluster's bundle (in one rotation phase) as the check sees it.
struct TrustParty {
  std::string label;  // "prod/east", "phase 2 prod/east", or "OUT2: lab/west"
  std::string mesh;   // as its plan names it
  std::string cluster;
  std::string trust_domain;  // its workloads' SPIFFE trust domain
  bool in_plan = true;       // a mesh of the plan checked; false: of another OUT
  int phase = -1;            // rotation phase (0 = the current output); -1 without a rotation
};

// A root a cluster's sidecars trust and the trust domains it vouches for
// (empty: every trust domain, as Istio reads a caCertificates entry
// without trustDomains).
struct TrustedRootEntry {
  pki::X509Ptr root;
  std::string fingerprint;
  std::string subject;
  std::vector<std::string> trust_domains;
};

// What a cluster's sidecars accept, as its bundle holds it.
struct DeployedTrust {
  std::string source;  // the files it was read from, for the reasons
  std::vector<TrustedRootEntry> entries;
};

// Reads `bundle_dir`'s trust configuration: root-cert.pem (from `report`,
// already loaded) for `trust_domain` and the trustDomainAliases, and every
// meshConfig.caCertificates entry of trust/istiod-values.yaml when the file
// exists. Error(invalid_input) naming the file and field for a file that is
// not what meshca writes (bad YAML, a caCertificates entry without a pem,
// a pem that is not one certificate).
// meshConfig.trustDomain in that file, when set (a trust domain migration),
// replaces `trust_domain`. An empty `bundle_dir`: root-cert.pem alone (an
// adopted CA as its clusters run it, which has no bundle directory).
DeployedTrust read_deployed_trust(const std::filesystem::path& bundle_dir, const BundleReport& report, const std::string& trust_domain);

// A pair of rotation phases and whether their clusters must talk.
struct PhasePairExpectation {
  int a = 0, b = 0;
  bool talk = false;
};

// What the plan says, in a form the pairs are judged against.
struct TrustExpectations {
  // Each mesh of the plan: the federations it is a member of.
  std::map<std::string, std::set<std::string>> federations_of_mesh;
  // Each trust domain an external root of a federation vouches for: the
  // federations, each with the name of that external root.
  std::map<std::string, std::map<std::string, std::string>> federations_of_domain;
  // With a rotation: the pairs of different phases that are checked.
  std::vector<PhasePairExpectation> phase_pairs;
};

// `phase_pairs` is what the rotation promises (empty without a rotation).
TrustExpectations plan_trust_expectations(const ceremony::Plan& plan, std::vector<PhasePairExpectation> phase_pairs);

enum class Expected { talk, refuse, unjudged };
struct Expectation {
  Expected kind = Expected::unjudged;
  std::string why;  // "one mesh prod", "federation east-west", ...
};

// Whether clusters of `a`'s and `b`'s phases are judged together: one
// phase (or no rotation), or a pair of phases the rotation checks.
bool phases_checked(const TrustExpectations& expect, const TrustParty& a, const TrustParty& b);

// What the plan says of `a` and `b` (whose phases are checked together).
Expectation expected_trust(const TrustExpectations& expect, const TrustParty& a, const TrustParty& b);

// One direction of a pair: does the receiver accept the peer's workloads?
struct Acceptance {
  bool accepted = false;
  bool domain_trusted = false;  // the receiver trusts some root for the peer's trust domain
  bool x509 = false;            // the peer's chain verifies under all the receiver's roots, trust domains aside
};

struct MatrixPair {
  std::size_t a = 0, b = 0;  // indexes into the parties
  Acceptance a_accepts_b, b_accepts_a;
  Expectation expected;
  bool ok() const;
};

struct TrustMatrix {
  std::vector<TrustParty> parties;
  std::vector<BundleReport> reports;    // one per party
  std::vector<DeployedTrust> deployed;  // one per party
  std::vector<MatrixPair> pairs;
  std::size_t verifications = 0;  // certification paths built
  std::size_t failed() const;
};

// Every pair of parties whose phases are checked together.
TrustMatrix build_trust_matrix(std::vector<TrustParty> parties, std::vector<BundleReport> reports, std::vector<DeployedTrust> deployed,
                               const TrustExpectations& expect);

// "talk", "refuse", "not judged".
std::string_view expected_name(Expected kind);
// Why `receiver` accepts or refuses `peer`'s workloads, in one clause.
std::string acceptance_reason(const TrustMatrix& m, std::size_t receiver, std::size_t peer, const Acceptance& verdict);
// What a report says of a pair's two directions (a on b, b on a): each
// direction that refuses, and both of a pair that differs from the plan;
// "" for an acceptance as planned (a fleet has half a million of those).
std::pair<std::string, std::string> pair_reasons(const TrustMatrix& m, const MatrixPair& p);
// One line: the two parties, the plan's word, the verdict both ways and,
// for a pair that differs from the plan, FAIL and what to change.
std::string describe_matrix_pair(const TrustMatrix& m, const MatrixPair& p);

}  // namespace meshca::verify
