// The trust configuration a rotation's bundles carry in each phase
// (docs/output-layouts.md, "Trust configuration"), and the trust domain of
// a mesh's workloads in each phase: one answer for the rotation that writes
// the phases, the audit that judges them and `meshca trust check`.
//
// Phases 1 and 2 trust two roots, so every cluster's bundle then carries
// trust/ files with both (each vouching for the mesh's trust domain and, in
// a federation, the federated ones), for istiod's meshConfig.caCertificates
// and the software that distributes trust besides istiod (trust-manager,
// PEM trust stores). Phase 3 is the new PKI as a ceremony output, which the
// successor plan adopts: its bundles carry what that plan writes (trust/
// only in a federation), and the runbook says to drop the phase-2 lists.
//
// A trust domain migration: an adopted CA (rotation.current_ca) whose
// `trust_domain` is not the mesh's. Its workloads keep the old trust domain
// until phase 2, when the clusters switch to the mesh's; across the
// coexisting phases each side must accept the other's identities, so
// phases 1 and 2 have both roots vouch for both trust domains, and their
// trust files set meshConfig.trustDomain (phase 1 the old one, phase 2 the
// mesh's) with the other as meshConfig.trustDomainAliases, which keeps
// authorization policies written for either matching (phase 3 keeps what
// phase 2 set).
//
// resolve_rotation_trust() refuses, as findings at
// rotation.current_ca.trust_domain, a migration in a plan of several meshes
// (an adopted CA serves one mesh) and an old trust domain that an external
// root of the mesh's federations claims.
#pragma once

#include "plan/findings.hpp"
#include "plan/plan_resolve.hpp"

namespace meshca::ceremony {

// The trust domain a migration leaves: rotation.current_ca.trust_domain
// when it is not `mesh`'s, "" otherwise (no migration).
std::string migrated_trust_domain(const Plan& plan, const MeshPlan& mesh);

// The SPIFFE trust domain of `mesh`'s workloads in rotation phase `phase`
// (0: the CA in service): the adopted CA's rotation.current_ca.trust_domain,
// when given, up to phase 1; the mesh's otherwise and from phase 2 on.
std::string rotation_workload_trust_domain(const Plan& plan, const MeshPlan& mesh, int phase);

// Gives every mesh its MeshPlan::rotation_trust (after resolve_federation,
// which gives MeshPlan::trust). Without a rotation, nothing.
void resolve_rotation_trust(const PlanDocument& doc, ResolvedPlan& resolved, Findings& findings);

}  // namespace meshca::ceremony
