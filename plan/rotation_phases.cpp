#include "plan/rotation_phases.hpp"

#include <algorithm>

#include "plan/adopted_ca.hpp"
#include "plan/rotation_trust.hpp"

namespace meshca::ceremony {

std::string rotation_phase_dir(int phase) { return "phase-" + std::to_string(phase); }

std::string current_ca_description(const Plan& plan) {
  if (!plan.rotation || !plan.rotation->current_ca) return plan.root.subject.to_string();
  const AdoptedCaPlan& ca = *plan.rotation->current_ca;
  return "the adopted " + std::string(adopted_ca_kind_name(ca.kind)) + " CA of " + ca.path.string() + " (root SHA-256 " + ca.sha256 +
         "; its key never comes to the room)";
}

std::vector<RotationPhase> rotation_phases(const Plan& plan) {
  if (!plan.rotation) return {};
  const std::optional<AdoptedCaPlan>& adopted = plan.rotation->current_ca;
  const std::string old_cn = adopted ? "the adopted root" : plan.root.subject.to_string();
  const std::string new_cn = plan.rotation->new_root.subject.to_string();
  // What root-cert.pem holds for a root: the root itself, or for a root
  // under the corporate CA the corporate anchor its chain ends at.
  auto trusted = [&adopted, &plan](const RootPlan& r) {
    if (adopted && &r == &plan.root) return std::string("the adopted root (SHA-256 ") + adopted->sha256 + ")";
    return r.issuer == RootIssuer::external ? "the corporate anchor " + r.anchor_sha256 + " (above " + r.subject.to_string() + ")"
                                            : r.subject.to_string();
  };
  const RootPlan& old_root = plan.root;  // with an adopted CA, a copy of new_root (plan/plan.hpp): named by `adopted`
  const RootPlan& new_root = plan.rotation->new_root;
  const bool shared_anchor = !adopted && old_root.issuer == RootIssuer::external && new_root.issuer == RootIssuer::external &&
                             old_root.anchor_sha256 == new_root.anchor_sha256;
  const std::string both_current_first = shared_anchor ? trusted(old_root) + ", unchanged: both roots chain to it"
                                                       : trusted(old_root) + " (current) + " + trusted(new_root) + " (new)";
  const std::string both_new_first = shared_anchor ? trusted(new_root) + ", unchanged" : trusted(new_root) + " + " + trusted(old_root);
  auto up_to_anchor = [](const RootPlan& r) { return r.issuer == RootIssuer::external ? ", its corporate CAs and the anchor" : ""; };
  const bool cross = plan.rotation->cross_sign;
  const std::string& ns = plan.outputs.namespace_name;
  // Clusters that keep their own key get public-only bundles in every
  // phase: each is completed near the cluster before it is applied.
  std::string pinned;
  for (const auto& mesh : plan.meshes)
    for (const auto& cluster : mesh.clusters)
      if (cluster.intermediate.pinned_key) pinned += (pinned.empty() ? "" : ", ") + mesh.name + "/" + cluster.name;
  auto apply = [&ns, &pinned, &adopted](int phase) {
    const std::string dir = rotation_phase_dir(phase) + "/<mesh>/<cluster>";
    std::string step;
    if (adopted && phase == 1) {
      step =
          "every phase-1 bundle is public-only: the adopted CA keeps signing with its key, which never came to the room; "
          "complete each near its cluster with the key the cluster already holds (istiod's own CA: ca-key.pem of the "
          "istio-ca-secret Secret; tools/certs: the cluster's ca-key.pem): meshca bundle assemble " +
          dir + " --key <that key> --out <new directory>, and apply that directory's cacerts.yaml; ";
    } else if (!pinned.empty()) {
      step = "for a cluster that keeps its own key (" + pinned +
             "), first complete its public-only bundle near the cluster: meshca bundle assemble " + dir +
             " --key <its ca-key.pem> --out <new directory>, and apply that directory's cacerts.yaml; ";
    }
    return step + "in each cluster, apply its bundle: kubectl apply -f " + dir + "/cacerts.yaml (namespace " + ns +
           "), then restart istiod (kubectl rollout restart deployment/istiod -n " + ns +
           ") unless it runs with AUTO_RELOAD_PLUGIN_CERTS=true";
  };
  // The trust configuration beside each phase's bundle (MeshPlan::
  // rotation_trust, plan/rotation_trust.hpp): istiod's meshConfig,
  // trust-manager's Bundle. Each phase's files replace the previous phase's.
  // A migration is refused with more than one mesh (plan/rotation_trust.hpp).
  const std::string old_td = plan.meshes.empty() ? std::string() : migrated_trust_domain(plan, plan.meshes.front());
  auto trust = [&plan, &old_td](int phase) -> std::string {
    const bool federated = std::any_of(plan.meshes.begin(), plan.meshes.end(), [](const MeshPlan& m) { return m.trust.has_value(); });
    if (phase == kRotationPhases && !federated) {
      return "in each cluster, drop the old root from the trust configuration phases 1 and 2 applied: helm upgrade istiod "
             "istio/istiod --reuse-values --set meshConfig.caCertificates=null (meshConfig.trustDomain and "
             "trustDomainAliases stay as phase 2 set them), and with trust-manager point the meshca-trust Bundle at the "
             "new root alone (one inLine source: the phase's root-cert.pem)";
    }
    const std::string dir = rotation_phase_dir(phase) + "/<mesh>/<cluster>/trust";
    std::string step =
        "in each cluster, apply its trust configuration with the bundle: helm upgrade istiod istio/istiod --reuse-values -f " + dir +
        "/istiod-values.yaml (or merge " + dir +
        "/istio-operator.yaml into the cluster's IstioOperator for istioctl install); with trust-manager also "
        "kubectl apply -f " +
        dir + "/trust-manager-bundle.yaml" +
        (phase == kRotationPhases ? " (they replace phase 2's lists: the old root leaves meshConfig.caCertificates; "
                                    "meshConfig.trustDomain and trustDomainAliases stay as phase 2 set them)"
                                  : "");
    if (!old_td.empty()) {
      const std::string& mesh_td = plan.meshes.front().trust_domain;
      step += phase == 1   ? " (meshConfig.trustDomain stays " + old_td + ", with " + mesh_td + " as an alias)"
              : phase == 2 ? " (this moves meshConfig.trustDomain to " + mesh_td + ", keeping " + old_td +
                                 " as an alias: workload certificates issued from now on carry " + mesh_td + ")"
                           : "";
    }
    return step;
  };
  // The trust step goes right after the step that applies the bundle.
  auto with_trust = [&trust](int phase, std::vector<std::string> steps) {
    const auto applied = std::find_if(steps.begin(), steps.end(), [](const std::string& s) { return s.find("kubectl apply") != s.npos; });
    steps.insert(applied + 1, trust(phase));
    return steps;
  };
  std::vector<RotationPhase> phases;
  phases.push_back({1, "trust both roots", both_current_first,
                    adopted ? "unchanged: the adopted CA's signing certificate and cert-chain.pem"
                            : "unchanged: the current intermediate, then " + old_cn + up_to_anchor(old_root),
                    adopted ? "the adopted CA's signing certificate (istiod's own CA: its root), public-only: its key stays in the cluster"
                            : "the current intermediate and key, unchanged",
                    with_trust(1, {"before the first cluster: run istiod with ISTIO_MULTIROOT_MESH=true (values.pilot.env) so it "
                                   "hands every root in root-cert.pem to the proxies, and set PROXY_CONFIG_XDS_AGENT=true in "
                                   "meshConfig.defaultConfig.proxyMetadata so proxies take a new trust bundle without a restart",
                                   apply(1), "restart gateways and workloads (or wait for the trust bundle to reach every proxy)"}),
                    "every proxy in every cluster trusts both roots (istioctl proxy-config secret POD shows two ROOTCA "
                    "certificates)"});
  phases.push_back({2, "issue from the new root", both_new_first,
                    cross ? "the new intermediate, " + new_cn + " cross-signed by " + old_cn + ", then " + old_cn + up_to_anchor(old_root)
                          : "the new intermediate, then " + new_cn + up_to_anchor(new_root),
                    pinned.empty() ? "a new intermediate and key, signed by the new root"
                                   : "a new intermediate and key, signed by the new root (a cluster that keeps its own key: "
                                     "a new intermediate for the same pinned key)",
                    with_trust(2, {apply(2), "restart gateways and workloads so their certificates come from the new intermediate"}),
                    "every workload certificate in every cluster comes from a new intermediate: wait at least the workload "
                    "certificate lifetime (24h by default) after the last restart"});
  phases.push_back({3, "retire the old root", trusted(new_root) + " only",
                    "the phase-2 intermediate, then " + new_cn + up_to_anchor(new_root), "the phase-2 intermediate and key, unchanged",
                    with_trust(3, {apply(3), "restart gateways and workloads so no proxy trusts the old root any more",
                                   "ISTIO_MULTIROOT_MESH may stay on; retire the old root key as your key policy says"}),
                    shared_anchor ? "the rotation is complete; every phase trusts the one corporate anchor, so clusters keep "
                                    "talking across phases: retire the old root by having the corporate CA revoke it, or let it expire"
                                  : "the rotation is complete; a cluster still on the current CA (phase 0) can no longer "
                                    "talk to a phase-3 cluster, so never skip a phase"});
  return phases;
}

std::string rotation_runbook_markdown(const Plan& plan) {
  std::string md = "# Root rotation: " + plan.name + "\n\n";
  if (!plan.rotation) return md + "The plan has no rotation section.\n";
  md += "From **" + current_ca_description(plan) + "** to **" + plan.rotation->new_root.subject.to_string() +
        "**. Apply one phase to every cluster before starting the next: clusters in adjacent phases trust each "
        "other (meshca verified it before writing this directory), clusters two phases apart may not.\n";
  for (const auto& p : rotation_phases(plan)) {
    md += "\n## Phase " + std::to_string(p.number) + ": " + p.title + " (`" + rotation_phase_dir(p.number) + "/`)\n\n";
    md += "- `root-cert.pem`: " + p.root_cert + "\n";
    md += "- `cert-chain.pem`: " + p.cert_chain + "\n";
    md += "- `ca-cert.pem` / `ca-key.pem`: " + p.intermediate + "\n\n";
    for (std::size_t i = 0; i < p.steps.size(); ++i) md += std::to_string(i + 1) + ". " + p.steps[i] + "\n";
    md += "\nNext phase when: " + p.done_when + ".\n";
  }
  return md;
}

}  // namespace meshca::ceremony
