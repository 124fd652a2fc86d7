#include "plan/rotation_trust.hpp"

#include <algorithm>
#include <tuple>

#include "plan/rotation_phases.hpp"

namespace meshca::ceremony {
namespace {

namespace ol = output_layout;

static_assert(std::tuple_size_v<decltype(MeshPlan::rotation_trust)> == kRotationPhases);

const std::string& adopted_trust_domain(const Plan& plan) {
  static const std::string none;
  if (!plan.rotation || !plan.rotation->current_ca) return none;
  return plan.rotation->current_ca->trust_domain;
}

// Phase `phase` (1 to 3) of `mesh`, whose workloads move from `old_td`
// ("": no migration).
std::optional<ol::FederationTrust> phase_trust(const MeshPlan& mesh, const std::string& old_td, int phase) {
  // Phase 3 is the new PKI as a ceremony output, which the successor plan
  // (the new root, no rotation) adopts: it carries what that plan writes.
  if (phase == kRotationPhases) return mesh.trust;
  ol::FederationTrust trust = mesh.trust ? *mesh.trust : ol::FederationTrust{{mesh.trust_domain}, {}, {}, {}};
  if (old_td.empty()) return trust;
  // Both roots vouch for both trust domains while both roots are trusted.
  trust.bundle_root_trust_domains.insert(trust.bundle_root_trust_domains.begin() + 1, old_td);
  trust.trust_domain = phase == 1 ? old_td : mesh.trust_domain;
  trust.trust_domain_aliases = {phase == 1 ? mesh.trust_domain : old_td};
  return trust;
}

}  // namespace

std::string migrated_trust_domain(const Plan& plan, const MeshPlan& mesh) {
  const std::string& old_td = adopted_trust_domain(plan);
  return old_td == mesh.trust_domain ? std::string() : old_td;
}

std::string rotation_workload_trust_domain(const Plan& plan, const MeshPlan& mesh, int phase) {
  const std::string& old_td = adopted_trust_domain(plan);
  return phase <= 1 && !old_td.empty() ? old_td : mesh.trust_domain;
}

void resolve_rotation_trust(const PlanDocument& doc, ResolvedPlan& resolved, Findings& findings) {
  Plan& plan = resolved.plan;
  if (!plan.rotation) return;
  const std::string& old_td = adopted_trust_domain(plan);
  if (!old_td.empty() && doc.rotation && doc.rotation->current_ca) {
    const SourceLocation& at = doc.rotation->current_ca->trust_domain_at;
    const std::string field = "rotation.current_ca.trust_domain";
    if (plan.meshes.size() > 1) {
      findings.add(at, field,
                   "names the trust domain of the one mesh the adopted CA serves, but the plan has " + std::to_string(plan.meshes.size()) +
                       " meshes; adopt each mesh's CA with a plan of its own");
      return;
    }
    for (const auto& fed : plan.federations)
      for (const auto& root : fed.external_roots)
        if (std::find(root.trust_domains.begin(), root.trust_domains.end(), old_td) != root.trust_domains.end())
          findings.add(at, field,
                       "'" + old_td + "' is claimed by the external root " + root.name + " of federation " + fed.name +
                           "; a trust domain has one root");
  }
  for (auto& mesh : plan.meshes) {
    const std::string from = migrated_trust_domain(plan, mesh);
    for (int phase = 1; phase <= kRotationPhases; ++phase)
      mesh.rotation_trust.at(static_cast<std::size_t>(phase - 1)) = phase_trust(mesh, from, phase);
  }
}

}  // namespace meshca::ceremony
