// Root rotation: Istio's multi-root procedure as one planned, verified run.
//
// A plan's `rotation` section names the root in service (the plan's `root`,
// whose ceremony output is `rotation.current_output`) and its successor.
// run_rotation() writes, into a new directory that appears whole or not at
// all, every cluster's bundle for each phase of the procedure:
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

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "ceremony/issuance.hpp"
#include "plan/plan.hpp"
#include "plan/rotation_phases.hpp"

namespace meshca::ceremony {

struct RotationOptions : SigningSessionOptions {};

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

// Error(invalid_input) for a plan without a rotation section or a current
// output that does not match it; Error(output) when OUT exists and is not
// empty; key store errors as exit 4. Nothing is left in OUT on failure.
RotationResult run_rotation(const Plan& plan, const RotationOptions& options);

}  // namespace meshca::ceremony
