// Root rotation: Istio's multi-root procedure as one planned, verified run.
//
// A plan's `rotation` section names the root in service (the plan's `root`,
// whose ceremony output is `rotation.current_output`) and its successor.
// run_rotation() writes, into a new directory that appears whole or not at
// all, every cluster's bundle for each phase of the procedure:
//
// Or it adopts a CA the mesh already runs, which meshca did not make
// (rotation.current_ca, plan/adopted_ca.hpp): read from its public
// certificates and pinned; phase 0 is that CA as the clusters run it, and
// phase 1, which keeps signing with its key, is public-only (KeyCustody::
// cluster): the key never comes to the room, and each cluster completes its
// phase-1 bundle with `meshca bundle assemble`.
//
// A root under the corporate CA (root.issuer or rotation.new_root.issuer
// external) takes part as its corporate anchor: root-cert.pem holds
// anchors, cert-chain.pem runs up to the anchor. When both roots chain to
// one anchor, every phase trusts it and all phases keep talking.
//
//   phase-1  the existing intermediates; root-cert.pem = old root + new root
//   phase-2  new intermediates (new keys) signed by the new root;
//            cert-chain.pem to the new root (with cross_sign: through the
//            new root certified by the old one, to the old root);
//            root-cert.pem = new root + old root
//   phase-3  the phase-2 intermediates; cert-chain.pem to the new root;
//            root-cert.pem = new root only
//
// Before anything is published it proves what the procedure promises: every
// bundle passes the verify engine, clusters in adjacent phases (0-1, 1-2,
// 2-3, where phase 0 is the current output) accept each other's workloads
// in both directions, and phase 3 and phase 0 refuse each other. The same
// description of the phases serves `meshca plan show` and OUT/PHASES.md.
#pragma once

#include <array>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "ceremony/external_root.hpp"
#include "ceremony/issuance.hpp"
#include "plan/plan.hpp"
#include "plan/rotation_phases.hpp"

namespace meshca::ceremony {

// OUT/root/ of a rotation output, besides root-cert.pem (the new root) and,
// for a new root under the corporate CA, issuer-chain.pem.
inline constexpr const char* kPreviousRootFile = "previous-root-cert.pem";
inline constexpr const char* kPreviousIssuerChainFile = "previous-issuer-chain.pem";  // the current root's corporate chain
inline constexpr const char* kPreviousIssuerCrlsFile = "previous-issuer-crls.pem";    // and its corporate CAs' CRLs
inline constexpr const char* kCrossSignedFile = "cross-signed-root-cert.pem";

struct RotationOptions : SigningSessionOptions {
  // rotation.new_root with issuer: external: the directory where `meshca
  // root csr --new-root` and `meshca root import --new-root` prepared it
  // (its root/root-cert.pem and root/issuer-chain.pem); empty otherwise.
  std::filesystem::path new_root_dir;
};

// Whether clusters in two phases accept each other's workloads.
struct PhaseInterop {
  int a = 0;
  int b = 0;
  bool expected = false;  // adjacent phases must; phase 0 and 3 must not
  bool a_accepts_b = false;
  bool b_accepts_a = false;
};

struct RotatedCluster {
  std::string mesh;
  std::string cluster;
  CertificateRecord current;  // the intermediate of phases 0 and 1
  CertificateRecord issued;   // the intermediate of phases 2 and 3
};

struct RotationResult : SessionRecord {
  CertificateRecord old_root;
  CertificateRecord new_root;
  std::optional<CertificateRecord> cross_signed;
  std::string new_root_key_store;
  bool new_root_key_generated = false;
  std::vector<RotatedCluster> clusters;
  std::vector<PhaseInterop> interop;
  std::size_t bundles_verified = 0;
};

// What each phase's bundles carry above the intermediate, the one
// description the rotation writes and the audit expects: cert-chain.pem
// after ca-cert.pem (up to the anchor; in phase 2 with a cross-signed root,
// through the old root) and root-cert.pem (the anchors, current or new
// first, one copy of an anchor both roots share).
struct PhaseMaterial {
  std::vector<const X509*> chain;
  std::vector<const X509*> trusted;
  // With revocation.crl, the CAs above the intermediate's issuer whose CRLs
  // ca-crl.pem carries besides the intermediate's and its issuer's: the
  // issuer root's corporate CAs; in phase 2 with a cross-signed root, the
  // old root (it issued the cross certificate) and its corporate CAs.
  std::vector<const X509*> crl_issuers;
};
std::array<PhaseMaterial, kRotationPhases> rotation_phase_material(const ExternalRoot& old_root, const ExternalRoot& new_root,
                                                                   const X509* cross_signed);

// Error(invalid_input) for a plan without a rotation section or a current
// output that does not match it; Error(output) when OUT exists and is not
// empty; key store errors as exit 4. Nothing is left in OUT on failure.
RotationResult run_rotation(const Plan& plan, const RotationOptions& options);

}  // namespace meshca::ceremony
