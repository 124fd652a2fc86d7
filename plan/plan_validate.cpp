#include "plan/plan_validate.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "plan/yaml_reader.hpp"

namespace meshca::ceremony {
namespace {

using output_layout::Layout;

// `value` must be unique among `seen` (value -> the field path that has it).
void check_unique(const std::optional<Located<std::string>>& value, const std::string& path, std::map<std::string, std::string>& seen,
                  const std::string& owner, Findings& f,
                  const std::function<std::string(const std::string& value, const std::string& other)>& message) {
  if (!value) return;
  if (auto [it, fresh] = seen.emplace(value->value, owner); !fresh) f.add(value->at, path, message(value->value, it->second));
}

void unique_names(const PlanDocument& doc, Findings& f) {
  const auto duplicate_mesh = [](const std::string& name, const std::string& other) {
    return "duplicate mesh name '" + name + "' (also " + other + ")";
  };
  const auto duplicate_trust_domain = [](const std::string& td, const std::string& other) {
    return "trust domain '" + td + "' is already used by " + other + "; each mesh needs its own";
  };
  const auto duplicate_cluster = [](const std::string& name, const std::string& other) {
    return "duplicate cluster name '" + name + "' in mesh (also " + other + ")";
  };
  std::map<std::string, std::string> mesh_names, trust_domains;
  for (const auto& mesh : doc.meshes) {
    check_unique(mesh.unique_name, join_path(mesh.path, "name"), mesh_names, mesh.path, f, duplicate_mesh);
    check_unique(mesh.unique_trust_domain, join_path(mesh.path, "trust_domain"), trust_domains, mesh.path, f, duplicate_trust_domain);
    std::map<std::string, std::string> cluster_names;
    for (const auto& cluster : mesh.clusters) {
      check_unique(cluster.unique_name, join_path(cluster.path, "name"), cluster_names, cluster.path, f, duplicate_cluster);
    }
  }
}

// Cross-signing puts one more CA below the current root.
void cross_sign_path_len(const PlanDocument& doc, const Plan& plan, Findings& f) {
  if (!doc.rotation || !doc.rotation->cross_sign || !plan.root.path_len || *plan.root.path_len >= 2) return;
  f.add(doc.rotation->cross_sign_at, "rotation.cross_sign",
        "needs the current root's pathLen to be 2 or more (root.path_len is " + path_len_text(plan.root.path_len) +
            "): a peer that trusts only the current root follows it -> cross-signed new root -> intermediate, "
            "two CAs below it. The three phases work without cross_sign");
}

// A cross-signed root serves phase-0 peers (they trust only the current
// root) through the current root. A new root under the corporate CA is
// trusted by phase-3 peers only through its own corporate chain, and
// cert-chain.pem is one ordered chain (TLS 1.2, RFC 5246 7.4.2): phase 2
// cannot present both paths, so one of its peers would be refused.
void cross_sign_external_new_root(const PlanDocument& doc, Findings& f) {
  if (!doc.rotation || !doc.rotation->cross_sign || !doc.rotation->new_root || doc.rotation->new_root->issuer != RootIssuer::external) {
    return;
  }
  f.add(doc.rotation->cross_sign_at, "rotation.cross_sign",
        "cannot cross-sign a new root under the corporate CA (rotation.new_root.issuer: external): phase 2's cert-chain.pem, "
        "one ordered chain, would have to run through the current root for phase-0 peers and through the corporate CAs "
        "for phase-3 peers. Set cross_sign: false: phase 1 trusts both anchors, so no two adjacent phases stop talking");
}

// A rotation to the same name or the same key would leave peers unable to
// tell the roots apart (chain building picks by subject and key id).
// (An adopted CA's plan root is the new root itself.)
void new_root_differs(const PlanDocument& doc, const Plan& plan, Findings& f) {
  if (!doc.rotation || !doc.rotation->new_root || doc.rotation->current_ca) return;
  const RootSection& s = *doc.rotation->new_root;
  const RootPlan& new_root = plan.rotation->new_root;
  if (!f.any_in({"subject"}) && new_root.subject.to_string() == plan.root.subject.to_string()) {
    f.add(s.subject_at, "rotation.new_root.subject",
          "is the current root's subject; give the new root its own name (e.g. a new year in the CN)");
  }
  if (!f.any_in({"key"}) && hsm::describe_key_reference(new_root.key) == hsm::describe_key_reference(plan.root.key)) {
    f.add(s.key_at, "rotation.new_root.key", "names the current root's key; a rotation needs a new key");
  }
}

// A CRL signed by a CA without cRLSign is rejected by every peer.
// One finding per cluster whose key is pinned (`intermediate.csr`), for a
// feature that needs the key in the room: "cluster X keeps its key, but WHY".
void refuse_pinned_keys(const Plan& plan, Findings& f, const std::string& why) {
  for (const auto& mesh : plan.meshes) {
    for (const auto& cluster : mesh.clusters) {
      if (!cluster.intermediate.pinned_key) continue;
      f.add(cluster.intermediate.pinned_key->csr_at, cluster.field_path + ".intermediate.csr",
            "cluster " + cluster.name + " keeps its key, but " + why);
    }
  }
}

void crl_signers(const PlanDocument& doc, const Plan& plan, Findings& f) {
  if (!doc.revocation || !plan.revocation.crl || f.any_in({"profile", "revocation", "crl"})) return;
  const SourceLocation& at = doc.revocation->crl_at;
  if (!plan.root.key_usage.crl_sign) {
    f.add(at, "revocation.crl", "profile '" + plan.profile + "' gives the root no cRLSign key usage, so it cannot sign CRLs");
  }
  for (const auto& mesh : plan.meshes) {
    if (!mesh.clusters.empty() && !mesh.clusters.front().intermediate.key_usage.crl_sign) {
      f.add(
          at, "revocation.crl",
          "profile '" + mesh.profile + "' of mesh '" + mesh.name + "' gives intermediates no cRLSign key usage, so they cannot sign CRLs");
    }
  }
  // A pinned cluster's own CRL is signed near the cluster, at `bundle
  // assemble`, with the content the room decides (output_layout/public_bundle.hpp).
  // A rotation would have to carry that content through every phase (phase
  // 1's from the current output's ledger): not built yet.
  if (plan.rotation) {
    refuse_pinned_keys(plan, f,
                       "a rotation with revocation.crl would have to plan this cluster's CRL in every phase bundle, which "
                       "meshca does not do yet; rotate before enabling CRLs, or keep the key in the room");
  }
}

// Adopting the CA a mesh runs: phase 1 keeps signing with that CA's key,
// which never comes to the room, so neither the intermediates' CRLs of
// revocation.crl nor a pinned cluster's own phase-1 key fit.
void adoption_limits(const PlanDocument& doc, const Plan& plan, Findings& f) {
  if (!doc.rotation || !doc.rotation->current_ca) return;
  if (doc.revocation && plan.revocation.crl) {
    f.add(doc.revocation->crl_at, "revocation.crl",
          "cannot be combined with an adopted CA (rotation.current_ca): phase 1 keeps the adopted CA, whose key never comes "
          "to the room to sign its CRLs; rotate first, then turn CRLs on for the new root");
  }
  refuse_pinned_keys(plan, f,
                     "phase 1 of an adopted CA (rotation.current_ca) keeps signing with that CA's key on every cluster; pin keys "
                     "after the rotation, with a renewal");
}

// Findings about a cluster's resolved value. A value written once
// (defaults, a mesh's intermediate, a profile) is one finding at the line
// that writes it, naming every cluster it affects; a cluster's own value
// is reported at the cluster.
class SharedFindings {
 public:
  void add(const FieldOrigin* origin, const std::string& field, const MeshPlan& mesh, const ClusterPlan& cluster,
           const std::string& message) {
    const std::string own_path = cluster.field_path + ".intermediate." + field;
    if (!origin || origin->source.level == SourceLevel::cluster) {
      findings_.push_back({origin && origin->at.line > 0 ? origin->at : cluster.location, own_path, message, {}});
      return;
    }
    const bool written = origin->source.level == SourceLevel::plan_defaults || origin->source.level == SourceLevel::mesh;
    const std::string path = written ? origin->source.where + "." + field : own_path;
    const std::string id = mesh.name + "/" + cluster.name;
    auto same = std::find_if(findings_.begin(), findings_.end(),
                             [&](const Finding& f) { return !f.clusters.empty() && f.path == path && f.message == message; });
    if (same != findings_.end()) {
      same->clusters.push_back(id);
      return;
    }
    const bool nowhere = origin->at.line == 0;
    findings_.push_back({nowhere ? cluster.location : origin->at,
                         path,
                         message + (nowhere ? " (the " + field + " comes from " + origin->source.where + ")" : ""),
                         {id}});
  }

  void report(Findings& f) const {
    for (const auto& finding : findings_) {
      std::string names;
      for (const auto& c : finding.clusters) names += (names.empty() ? "" : ", ") + c;
      f.add(finding.at, finding.path,
            finding.clusters.empty() ? finding.message
                                     : finding.message + "; this affects " + std::to_string(finding.clusters.size()) + " cluster" +
                                           (finding.clusters.size() == 1 ? "" : "s") + ": " + names);
    }
  }

 private:
  struct Finding {
    SourceLocation at;
    std::string path;
    std::string message;
    std::vector<std::string> clusters;  // empty: the cluster's own value
  };
  std::vector<Finding> findings_;
};

const ClusterOrigins* origins_of(const ResolvedPlan& resolved, const ClusterPlan& cluster) {
  auto it = resolved.origins.find(cluster.field_path);
  return it == resolved.origins.end() ? nullptr : &it->second;
}

std::vector<std::pair<std::string, ValiditySpec::Window>> issuer_windows(const Plan& plan, UnixTime now) {
  std::vector<std::pair<std::string, ValiditySpec::Window>> issuers{{"the root's validity", plan.root.validity.resolve(now)}};
  if (plan.rotation) {
    issuers.emplace_back("the new root's validity (rotation.new_root)", plan.rotation->new_root.validity.resolve(now));
  }
  return issuers;
}

// Every intermediate is issued under the root in service and, in a
// rotation, again under the new root: it must fit inside both.
void intermediates_inside_roots(const ResolvedPlan& resolved, Findings& f, UnixTime now) {
  SharedFindings overlong;
  const auto issuers = issuer_windows(resolved.plan, now);
  for (const auto& mesh : resolved.plan.meshes) {
    for (const auto& cluster : mesh.clusters) {
      const ClusterOrigins* origins = origins_of(resolved, cluster);
      for (const auto& [name, root] : issuers) {
        const auto w = cluster.intermediate.validity.resolve(now);
        if (w.not_before >= root.not_before && w.not_after <= root.not_after) continue;
        overlong.add(origins ? &origins->validity : nullptr, "validity", mesh, cluster,
                     "the intermediate (" + format_rfc3339(w.not_before) + " .. " + format_rfc3339(w.not_after) + ") must lie inside " +
                         name + " (" + format_rfc3339(root.not_before) + " .. " + format_rfc3339(root.not_after) + ")");
      }
    }
  }
  overlong.report(f);
}

// Chain building tells CAs apart by subject: every one must be its own.
void unique_subjects(const Plan& plan, Findings& f) {
  std::map<std::string, std::string> subjects;
  if (auto s = plan.root.subject.to_string(); !s.empty()) subjects.emplace(s, "root");
  if (plan.rotation) subjects.emplace(plan.rotation->new_root.subject.to_string(), "rotation.new_root");
  for (const auto& mesh : plan.meshes) {
    for (const auto& cluster : mesh.clusters) {
      std::string subject = cluster.intermediate.subject.to_string();
      if (auto [it, fresh] = subjects.emplace(subject, cluster.field_path); !fresh) {
        f.add(cluster.location, cluster.field_path + ".intermediate.subject",
              "resolves to '" + subject + "', the same subject as " + it->second + "; add {mesh} or {cluster} to the subject template");
      }
    }
  }
}

// What the software behind each layout a mesh writes requires of the
// certificates (output_layout::layout_requirements). A requirement on the
// root is reported once, for the first mesh that writes the layout.
class LayoutRules {
 public:
  LayoutRules(const PlanDocument& doc, const ResolvedPlan& resolved, Findings& f) : doc_(doc), resolved_(resolved), f_(f) {}

  void run() {
    const auto& meshes = resolved_.plan.meshes;
    for (std::size_t i = 0; i < meshes.size(); ++i) {
      for (Layout layout : output_layout::all_layouts()) {
        if (!meshes[i].outputs.has_layout(layout)) continue;
        const auto& req = output_layout::layout_requirements(layout);
        const Context c{meshes[i], index_path("meshes", i), std::string(output_layout::layout_name(layout)), req};
        intermediate_algorithm(c);
        root_algorithm(c, layout);
        intermediate_path_len(c);
        root_path_len(c, layout);
      }
    }
  }

 private:
  struct Context {
    const MeshPlan& mesh;
    std::string path;  // "meshes[0]"
    std::string layout;
    const output_layout::LayoutRequirements& req;
  };

  void intermediate_algorithm(const Context& c) {
    if (!c.req.intermediate_algorithm) return;
    SharedFindings wrong;
    for (const auto& cluster : c.mesh.clusters) {
      if (cluster.intermediate.algorithm == *c.req.intermediate_algorithm) continue;
      const ClusterOrigins* origins = origins_of(resolved_, cluster);
      wrong.add(origins ? &origins->algorithm : nullptr, "key.algorithm", c.mesh, cluster,
                "is " + std::string(pki::key_algorithm_name(cluster.intermediate.algorithm)) + ", but mesh '" + c.mesh.name +
                    "' writes the " + c.layout + " layout: " + std::string(c.req.intermediate_algorithm_reason));
    }
    wrong.report(f_);
  }

  void root_algorithm(const Context& c, Layout layout) {
    const auto alg = resolved_.plan.root.key.algorithm;
    if (!c.req.root_algorithm || alg == *c.req.root_algorithm || !root_algorithm_reported_.insert(layout).second) return;
    f_.add(doc_.root.algorithm_at, "root.key.algorithm",
           "is " + std::string(pki::key_algorithm_name(alg)) + ", but " + c.path + " writes the " + c.layout +
               " layout: " + std::string(c.req.root_algorithm_reason));
  }

  // Every cluster of a mesh has its profile's pathLen: the first one speaks for all.
  void intermediate_path_len(const Context& c) {
    if (c.mesh.clusters.empty()) return;
    const ClusterPlan& first = c.mesh.clusters.front();
    const auto& path_len = first.intermediate.path_len;
    if (!path_len || *path_len >= c.req.min_intermediate_path_len) return;
    f_.add(first.location, c.path + ".profile",
           "mesh '" + c.mesh.name + "' writes the " + c.layout + " layout, but profile '" + c.mesh.profile +
               "' gives its intermediates pathLen " + path_len_text(path_len) + ": " + std::string(c.req.intermediate_path_len_reason));
  }

  void root_path_len(const Context& c, Layout layout) {
    const auto& path_len = resolved_.plan.root.path_len;
    if (!path_len || *path_len >= c.req.min_root_path_len || !root_path_len_reported_.insert(layout).second) return;
    const RootSection& root = doc_.root;
    f_.add(root.path_len_given ? root.path_len_at : root.algorithm_at, "root.path_len",
           "is " + path_len_text(path_len) + ", but " + c.path + " writes the " + c.layout +
               " layout: " + std::string(c.req.root_path_len_reason));
  }

  const PlanDocument& doc_;
  const ResolvedPlan& resolved_;
  Findings& f_;
  std::set<Layout> root_algorithm_reported_, root_path_len_reported_;
};

}  // namespace

void validate_plan(const PlanDocument& doc, const ResolvedPlan& resolved, Findings& findings, UnixTime now) {
  unique_names(doc, findings);
  cross_sign_path_len(doc, resolved.plan, findings);
  cross_sign_external_new_root(doc, findings);
  new_root_differs(doc, resolved.plan, findings);
  crl_signers(doc, resolved.plan, findings);
  adoption_limits(doc, resolved.plan, findings);
  // Both hierarchy rules decide whether to speak before either speaks.
  const bool validities_sound = !findings.any_in({"validity", "not_before", "not_after", "profile"});
  const bool subjects_sound = !findings.any_in({"subject", "name", "trust_domain", "organization", "profile"});
  if (subjects_sound) unique_subjects(resolved.plan, findings);
  if (validities_sound) intermediates_inside_roots(resolved, findings, now);
  LayoutRules(doc, resolved, findings).run();
}

}  // namespace meshca::ceremony
