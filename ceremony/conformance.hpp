// The one answer to "does this output match the plan?".
//
// The ceremony runner (may a bundle be kept on a re-run?), `meshca audit`
// (does OUT hold what the plan says?) and the rotation survey (is the
// current output the plan's?) all ask it here, so they cannot drift apart.
//
// Each function answers one question and returns findings, never a bool:
// every certificate field the plan determines that the output does not
// carry, with the value found and the value planned. An empty list means the
// output conforms. What the plan determines is exactly what
// root_profile() / intermediate_profile() (ceremony/profiles) put into a
// certificate, resolved against the certificate's own notBefore (durations
// count from the ceremony that issued it), plus the key algorithm and size,
// the issuer and chain, the layout files and their manifests.
//
// Guarantees: a bundle for which cluster_conformance() finds nothing is
// accepted by `meshca audit` for the same plan as far as the certificates,
// files and manifests go (the audit adds the transcript, the CRLs and the
// checksums). Nothing here prints, writes or throws for a non-conforming
// output; only an unexpected internal failure throws meshca::Error.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "output_layout/istio_cacerts.hpp"
#include "plan/plan.hpp"

namespace meshca::ceremony {

struct ConformanceFinding {
  std::string check;    // audit check id: "subject", "key", "validity", "basic-constraints", "key-usage", ...
  std::string field;    // the plan's field: "intermediate.validity", "root.subject", "outputs.layouts", ...
  std::string found;    // what the output holds
  std::string planned;  // what the plan says ("" when the finding is not about one value)
  // "intermediate.validity: found 2026-01-01T00:00:00Z .. 2026-07-01T00:00:00Z, the plan says 90d"
  std::string message() const;
};
using ConformanceFindings = std::vector<ConformanceFinding>;

// The runner needs only to know whether a bundle may be kept and why not;
// the audit wants everything. `first` stops after the first check that
// finds something (the cheap field comparisons still report every differing
// field, since the operator must see them all to choose --renew).
enum class FindingScope { all, first };

// OUT/root/root-cert.pem (or a rotation's new root) against the plan's root:
// subject, key algorithm and size, validity, basicConstraints and pathLen,
// keyUsage, self-signature and the CA lints, judged by the root's profile
// (spec.lint_warnings; `profile` names it in the finding).
ConformanceFindings root_conformance(const X509* root, const RootPlan& spec, std::string_view profile,
                                     const std::string& field_prefix = "root");

// A root certified by the corporate CA (root.issuer: external), against
// the plan: subject and key algorithm as planned; critical
// basicConstraints CA:TRUE with a pathLen that leaves room for the plan's
// hierarchy (least_root_path_len), keyUsage with keyCertSign (and cRLSign
// with CRLs); the CA lints against its issuer (pathLen above 0 intended);
// the strict chain through `issuer_chain` to a self-signed anchor whose
// SHA-256 is external.anchor_sha256; every corporate CA's pathLen leaving
// room for the CAs below it; and, with `intermediates_at`, every planned
// intermediate (resolved at that time) inside the validity of the root and
// of every corporate CA, naming the cluster. The corporate CA decides the
// root's validity, pathLen and keyUsage bits, so they are not compared
// with the plan's values as for a self-signed root.
struct ExternalRootCheck {
  const X509* root = nullptr;
  std::vector<const X509*> issuer_chain;     // the root's issuer first, the anchor last
  std::optional<UnixTime> intermediates_at;  // unset: the intermediates' windows are not checked
  UnixTime at = 0;                           // the verification time; 0: now
  // Which of the plan's roots: null for `root`; a rotation's new root is
  // checked against rotation.new_root, its findings named by `field`.
  const RootPlan* spec = nullptr;
  std::string field = "root";
  // The CAs the root must leave room for below it; 0: least_root_path_len().
  // A rotation that cross-signs needs 2 under the current root.
  int least_path_len = 0;
};
ConformanceFindings external_root_conformance(const ExternalRootCheck& check, const Plan& plan);

// The corporate CAs' CRLs that every bundle of a root under the corporate
// CA carries with revocation.crl (OUT/root/issuer-crls.pem, imported by
// `meshca root import --crl` and `meshca crl import`): Istio (Envoy with
// CRL_CHECK_ALL) refuses every peer unless each CA of the chain has signed
// a CRL in ca-crl.pem. One CRL signed by each CA of `issuer_chain` (the
// anchor included), valid at `at` (thisUpdate passed, a nextUpdate that has
// not), none revoking the certificate below its signer in the chain (the
// mesh root below the first), and no other CRL. Findings name the field
// `crl` and the CA.
ConformanceFindings issuer_crls_conformance(const X509* root, const std::vector<const X509*>& issuer_chain, std::string_view crls_pem,
                                            UnixTime at);

// The least pathLen the mesh root must carry for the plan's hierarchy: the
// plan's root.path_len, one CA more than any intermediate's pathLen allows,
// and what the layouts need (output_layout::layout_requirements).
int least_root_path_len(const Plan& plan);

// What a cluster's bundle must hold besides its own fields.
struct BundleExpectation {
  const X509* issuer_root = nullptr;  // the root its intermediate chains to
  // An external root: the corporate certificates above issuer_root, its
  // issuer first, the self-signed anchor last. The strict chain is verified
  // to the anchor, and the default cert-chain.pem and root-cert.pem become
  // {issuer_root, issuer_chain...} and {anchor}.
  std::vector<const X509*> issuer_chain{};
  // cert-chain.pem after ca-cert.pem; empty: exactly {issuer_root}.
  std::vector<const X509*> chain_tail{};
  // root-cert.pem, in order; empty: exactly {issuer_root}.
  std::vector<const X509*> trusted{};
  // False for intermediates an earlier ceremony issued (rotation phase 1):
  // their validity came from the plan of that day.
  bool check_validity = true;
  // The plan's revocation.crl: ca-crl.pem must be there (its CRLs are
  // judged by the audit, which passes false and checks them itself).
  bool crl = false;
  // The issuer root's self-signature was already checked by the caller.
  bool root_verified = false;
  // An auditor's copy without the files that hold private keys
  // (output_layout::LayoutOptions::public_copy): the key is not checked.
  bool public_copy = false;
  FindingScope scope = FindingScope::all;
  // Phase 1 of a rotation from an adopted CA (rotation.current_ca): not the
  // plan's intermediate but exactly this certificate of the CA the mesh
  // runs, in a public-only bundle (its key never comes to the room); only
  // the chain and the trust are judged against the plan.
  const X509* adopted_signing = nullptr;
  // 1 to 3: the bundle of a rotation phase, whose trust configuration is
  // the phase's (layout_options, plan/rotation_trust.hpp); 0: not a phase.
  int rotation_phase = 0;
};

// The bundle's certificates against the plan's cluster: subject, key
// algorithm and size, key match, validity as resolved, basicConstraints and
// pathLen, keyUsage, no extended key usage, SANs (profile extras), name
// constraints, issuer, strict chain to the root, cert-chain.pem and
// root-cert.pem.
ConformanceFindings bundle_conformance(const output_layout::IstioBundle& bundle, const MeshPlan& mesh,
                                       const ClusterPlan& cluster, const BundleExpectation& want);

// The bundle in `dir` as the plan's layouts ask for it: every file present
// and readable, every manifest carrying exactly the PEM files beside it
// (under the plan digest it names), then bundle_conformance(). `bundle`
// receives what was read (for the CRL checks of the audit) when it could be.
ConformanceFindings cluster_conformance(const std::filesystem::path& dir, const MeshPlan& mesh,
                                        const ClusterPlan& cluster, const std::string& plan_digest,
                                        const BundleExpectation& want,
                                        std::optional<output_layout::IstioBundle>* bundle = nullptr);

}  // namespace meshca::ceremony
