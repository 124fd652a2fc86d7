#include "ceremony/rotation_checks.hpp"

#include "ceremony/conformance.hpp"
#include "ceremony/issuance.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "output_layout/istio_cacerts.hpp"
#include "pki/certificate.hpp"
#include "pki/verify.hpp"
#include "verify/bundle_source.hpp"
#include "verify/cross_cluster.hpp"

namespace meshca::ceremony {
namespace {

namespace fs = std::filesystem;

// The CAs a root must leave room for below it: the plan's hierarchy, and
// with cross_sign two (the cross-signed new root and its intermediates).
int least_current_root_path_len(const Plan& plan) { return std::max(least_root_path_len(plan), plan.rotation->cross_sign ? 2 : 0); }

// The current root, checked against the plan and the rotation's needs.
ExternalRoot current_root(const Plan& plan, const fs::path& current, UnixTime now) {
  const fs::path root_path = current / kRootDir / output_layout::kRootCertFile;
  ExternalRoot root;
  std::vector<std::string> details;
  if (plan.root.issuer == RootIssuer::external) {
    // Imported by `meshca root import` into the current output; judged as
    // the import, the runner and the audit judge it.
    root = load_external_root(current);
    ExternalRootCheck check{.root = root.root.get(),
                            .issuer_chain = root.chain(),
                            .intermediates_at = {},
                            .at = now,
                            .spec = nullptr,
                            .field = "root",
                            .least_path_len = least_current_root_path_len(plan)};
    for (const auto& f : external_root_conformance(check, plan)) details.push_back(root_path.string() + ": " + f.message());
  } else {
    auto text = read_file_if_exists(root_path);
    if (!text) {
      throw Error(ErrorKind::invalid_input,
                  "does not exist: rotation.current_output must be the output of the ceremony that made the current root",
                  root_path.string());
    }
    root.root = pki::certificate_from_pem(*text, root_path.string());
    // The same conformance check as the runner's and the audit's: the root
    // in service is the plan's root in every field.
    for (const auto& f : root_conformance(root.root.get(), plan.root, plan.profile)) {
      details.push_back(root_path.string() + ": " + f.message());
    }
  }
  if (!details.empty()) {
    throw MultiError(ErrorKind::invalid_input, "the current root differs from the plan's root; rotate from the plan that made it", details);
  }
  const std::string& pin = plan.rotation->current_root_sha256;
  if (!pin.empty() && pki::sha256_fingerprint(root.root.get()) != pin) {
    throw Error(ErrorKind::invalid_input,
                "has SHA-256 " + pki::sha256_fingerprint(root.root.get()) + ", not the root the plan pins in rotation.current_root_sha256",
                root_path.string());
  }
  // A root under the corporate CA was judged above at `now`: the strict
  // chain to the anchor and the room for a cross-signed root below it and
  // every corporate CA. A self-signed root is checked for both here.
  if (root.issuer_chain.empty()) {
    if (!pki::verify_chain(root.root.get(), {}, {root.root.get()}, now).ok) {
      throw Error(ErrorKind::invalid_input, "is not a valid self-signed root at the rotation time", root_path.string());
    }
    auto path_len = pki::basic_constraints(root.root.get()).path_len;
    if (plan.rotation->cross_sign && path_len && *path_len < 2) {
      throw Error(ErrorKind::invalid_input,
                  "has pathLen " + std::to_string(*path_len) +
                      ": a new root cross-signed by it would put two CAs below it, so peers that trust only this "
                      "root would refuse the new intermediates; set rotation.cross_sign to false",
                  root_path.string());
    }
  }
  return root;
}

}  // namespace

std::string phase_name(int phase) { return phase == 0 ? "phase 0 (current output)" : "phase " + std::to_string(phase); }

CurrentOutput survey_current_output(const Plan& plan, const fs::path& current, UnixTime now, const std::string& plan_digest) {
  CurrentOutput out;
  out.root = current_root(plan, current, now);
  const BundleExpectation current_bundle{
      .issuer_root = out.root.root.get(), .issuer_chain = out.root.chain(), .root_verified = true, .scope = FindingScope::first};
  std::vector<std::string> problems;
  for (const auto& mesh : plan.meshes) {
    for (const auto& cluster : mesh.clusters) {
      out.clusters.push_back({&mesh, &cluster});
      const fs::path dir = current / mesh.name / cluster.name;
      for (const auto& f : cluster_conformance(dir, mesh, cluster, plan_digest, current_bundle)) {
        problems.push_back(dir.string() + ": " + f.message());
      }
    }
  }
  if (!problems.empty()) {
    throw MultiError(ErrorKind::invalid_input,
                     std::to_string(problems.size()) + " cluster bundle problem" + (problems.size() == 1 ? "" : "s") +
                         ": bundles missing from the current output or not what the plan describes; run `meshca "
                         "ceremony run` for the current plan first (renewing what differs)",
                     problems);
  }
  return out;
}

CurrentOutput survey_adopted_ca(const Plan& plan, UnixTime now) {
  CurrentOutput out;
  out.adopted = read_pinned_adopted_ca(*plan.rotation->current_ca, plan.base_dir, now);
  out.root.root = pki::duplicate(out.adopted->root.get());
  for (const auto& mesh : plan.meshes)
    for (const auto& cluster : mesh.clusters) out.clusters.push_back({&mesh, &cluster});
  return out;
}

verify::BundleReport adopted_phase_report(const AdoptedCa& ca, UnixTime now) {
  auto trust = std::make_shared<verify::TrustMaterial>();
  trust->ca_cert = pki::duplicate(ca.signing.get());
  trust->chain.push_back(pki::duplicate(ca.signing.get()));
  for (const X509* c : ca.chain_view()) trust->chain.push_back(pki::duplicate(c));
  trust->roots.push_back(pki::duplicate(ca.root.get()));
  trust->at = now;
  verify::BundleReport report;
  report.label = phase_name(0);
  report.ca_subject = pki::subject_string(ca.signing.get());
  report.chain_root_fingerprint = pki::sha256_fingerprint(ca.root.get());
  report.chain_root_subject = pki::subject_string(ca.root.get());
  report.trusted_root_fingerprints = {report.chain_root_fingerprint};
  report.trusted_root_subjects = {report.chain_root_subject};
  report.trust = std::move(trust);
  return report;
}

verify::BundleReport verified_phase_report(const RotationCluster& c, const fs::path& dir, int phase, UnixTime now) {
  auto sources = verify::load_bundle_sources(dir);
  verify::BundleReport report = verify::check_bundle(sources.front(), {.at = now, .trust_domain = c.mesh->trust_domain});
  if (report.failed()) {
    std::string why;
    for (const auto& f : report.findings)
      if (f.severity == pki::Severity::fail) why += (why.empty() ? "" : "; ") + f.check + ": " + f.message;
    throw Error(phase == 0 ? ErrorKind::invalid_input : ErrorKind::internal,
                phase_name(phase) + " bundle of " + c.name() + " fails verification: " + why, dir.string());
  }
  return report;
}

std::vector<PhaseInterop> checked_phase_pairs(PhaseTrust trust) {
  // A phase-3 cluster never talks to one still on phase 0, unless both
  // trust the one corporate anchor the old and the new root chain to.
  const bool retired = !trust.shared_anchor;
  std::vector<PhaseInterop> pairs{
      {0, 1, true, true, true}, {1, 2, true, true, true}, {2, 3, true, true, true}, {0, 3, !retired, !retired, !retired}};
  // The cross-signed new root (or the shared anchor) is what lets a
  // phase-0 peer accept phase 2.
  if (trust.cross_signed || trust.shared_anchor) pairs.push_back({0, 2, true, true, true});
  return pairs;
}

void check_phase_interop(const RotationCluster& first, const RotationCluster& c, const PhaseReports& reference, const PhaseReports& reports,
                         PhaseTrust trust) {
  for (int phase = 0; phase < kPhaseCount; ++phase) {
    if (!reports[phase].trust || !reference[phase].trust) {
      throw Error(ErrorKind::internal, phase_name(phase) + ": the certificates of " + c.name() + " did not load");
    }
    if (reports[phase].trusted_root_fingerprints != reference[phase].trusted_root_fingerprints) {
      throw Error(phase == 0 ? ErrorKind::invalid_input : ErrorKind::internal,
                  phase_name(phase) + ": " + c.name() + " trusts other roots than " + first.name());
    }
  }
  for (const auto& pair : checked_phase_pairs(trust)) {
    bool a_accepts_b = verify::accepts_workloads(*reference[pair.a].trust, *reports[pair.b].trust);
    bool b_accepts_a = verify::accepts_workloads(*reference[pair.b].trust, *reports[pair.a].trust);
    if (pair.expected && !(a_accepts_b && b_accepts_a)) {
      throw Error(ErrorKind::internal, "clusters in " + phase_name(pair.a) + " and " + phase_name(pair.b) +
                                           " would not accept each other's workloads (" + c.name() + "); nothing was published");
    }
    if (!pair.expected && (a_accepts_b || b_accepts_a)) {
      throw Error(ErrorKind::internal,
                  phase_name(pair.a) + " and " + phase_name(pair.b) + " still accept each other: phase 3 would not retire the old root");
    }
  }
}

}  // namespace meshca::ceremony
