// What a root rotation proves (ceremony/rotation.cpp runs it): before a key
// store is opened, that the current output is the plan's (phase 0); before
// anything is published, that every bundle of every phase passes the verify
// engine and that clusters in the checked pairs of phases accept (or, for
// phases 0 and 3, refuse) each other's workloads. Internal to ceremony/.
#pragma once

#include <array>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "ceremony/external_root.hpp"
#include "ceremony/rotation.hpp"
#include "core/time.hpp"
#include "pki/handles.hpp"
#include "plan/adopted_ca.hpp"
#include "plan/plan.hpp"
#include "verify/bundle_check.hpp"

namespace meshca::ceremony {

// Phase 0 is the current output, as the clusters run it today.
inline constexpr int kPhaseCount = kRotationPhases + 1;

// "phase 0 (current output)", "phase 2".
std::string phase_name(int phase);

struct RotationCluster {
  const MeshPlan* mesh;
  const ClusterPlan* cluster;
  std::string name() const { return mesh->name + "/" + cluster->name; }
};

struct CurrentOutput {
  // OUT/root/root-cert.pem of the current output, and with root.issuer:
  // external the corporate chain above it (OUT/root/issuer-chain.pem);
  // the adopted root (rotation.current_ca)
  ExternalRoot root;
  std::vector<RotationCluster> clusters;  // every cluster of the plan, in plan order
  // rotation.current_ca: the CA every cluster of the plan runs today, read
  // and pinned (its key never comes to the room).
  std::optional<AdoptedCa> adopted;
};

// Everything about the current output (`current`) that can be known before
// a key store is opened: its root is the plan's root in every field (and
// the one rotation.current_root_sha256 pins), valid at `now` (a root under
// the corporate CA: external_root_conformance, the strict chain to the
// pinned anchor), with room below it (and below every corporate CA above
// it) for a cross-signed root, and every cluster has a complete bundle
// under it that conforms to the plan (digest `plan_digest`).
// Error(invalid_input) or MultiError(invalid_input) naming every problem.
CurrentOutput survey_current_output(const Plan& plan, const std::filesystem::path& current, UnixTime now, const std::string& plan_digest);

// The adopted CA of rotation.current_ca, read again at `now` and checked
// against its pin, as phase 0 of every cluster of the plan.
// Error(invalid_input) naming the file.
CurrentOutput survey_adopted_ca(const Plan& plan, UnixTime now);

// Phase 0 of an adopted CA, as its clusters run it: ca-cert.pem the CA
// that signs workloads, cert-chain.pem from it to the root, root-cert.pem
// the root. There is no bundle directory to read: the trust material the
// interop check needs is built from the certificates.
verify::BundleReport adopted_phase_report(const AdoptedCa& ca, UnixTime now);

// The verify engine's verdict on the bundle in `dir`, `c`'s bundle of
// `phase`; a FAIL is never published (Error invalid_input for phase 0, the
// current output; Error internal for the phases this run wrote).
verify::BundleReport verified_phase_report(const RotationCluster& c, const std::filesystem::path& dir, int phase, UnixTime now);

// One cluster's bundle in every phase, as the verify engine judged it.
using PhaseReports = std::array<verify::BundleReport, kPhaseCount>;

// What decides which phases talk: a cross-signed new root lets phase 0
// accept phase 2; when the current and the new root chain to one corporate
// anchor, every phase trusts that anchor, so all phases keep talking and
// phase 3 retires the old mesh root by issuing no more under it (its
// corporate issuer revokes or lets it expire), not by trust.
struct PhaseTrust {
  bool cross_signed = false;
  bool shared_anchor = false;
};

// The pairs of phases whose clusters must accept each other's workloads
// (adjacent phases, and 0-2 with a cross-signed root or a shared anchor)
// and the pair that must not (0-3, unless the anchor is shared), as the
// result and the transcript record them.
std::vector<PhaseInterop> checked_phase_pairs(PhaseTrust trust);

// `reports` (cluster `c`) against the reference cluster's (`reference`, of
// cluster `first`), for every checked pair of phases, both directions.
// Every cluster of a phase trusts the same roots (compared by fingerprint),
// so the reference's roots speak for this cluster's: one path verification
// per direction. Error(internal) when a promise does not hold (invalid_input
// when the current output breaks it).
void check_phase_interop(const RotationCluster& first, const RotationCluster& c, const PhaseReports& reference, const PhaseReports& reports,
                         PhaseTrust trust);

}  // namespace meshca::ceremony
