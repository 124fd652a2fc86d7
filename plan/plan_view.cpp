#include "plan/plan_view.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "plan/adopted_ca.hpp"
#include "plan/expiry.hpp"
#include "plan/plan_digest.hpp"
#include "plan/profiles.hpp"
#include "plan/readable_text.hpp"
#include "plan/rotation_trust.hpp"

namespace meshca::ceremony {
namespace {

constexpr std::int64_t kDay = 86400;
constexpr int kMinIntermediateDays = 90;
constexpr int kMaxRootYears = 25;

std::string signature_algorithm(pki::KeyAlgorithm signer) {
  switch (signer) {
    case pki::KeyAlgorithm::ecdsa_p256:
      return "ecdsa-with-SHA256";
    case pki::KeyAlgorithm::ecdsa_p384:
      return "ecdsa-with-SHA384";
    default:
      return "sha256WithRSAEncryption";
  }
}

std::string key_usage_text(const pki::KeyUsageBits& ku) {
  std::string s = "critical";
  if (ku.digital_signature) s += ", digitalSignature";
  if (ku.non_repudiation) s += ", nonRepudiation";
  if (ku.key_encipherment) s += ", keyEncipherment";
  if (ku.key_cert_sign) s += ", keyCertSign";
  if (ku.crl_sign) s += ", cRLSign";
  return s;
}

std::string basic_constraints_text(const std::optional<int>& path_len) {
  return path_len ? "critical, CA:TRUE, pathlen:" + std::to_string(*path_len) : "critical, CA:TRUE (no pathlen: unlimited)";
}

void add_common_fields(CertificateView& v, const pki::CertificateProfile& p, const std::string& validity) {
  v.fields.emplace_back("subject", p.subject.to_string());
  v.fields.emplace_back("validity", validity);
  v.fields.emplace_back("not before", format_rfc3339(p.not_before));
  v.fields.emplace_back("not after", format_rfc3339(p.not_after));
  v.fields.emplace_back("basic constraints", basic_constraints_text(p.path_len));
  v.fields.emplace_back("key usage", key_usage_text(p.key_usage));
  v.fields.emplace_back("name constraints",
                        p.permitted_uri_hosts.empty() ? "none" : "critical, permitted URI:" + p.permitted_uri_hosts.front());
}

// "CN, OU from profile linkerd (meshes[0].profile); C from defaults.intermediate"
ValueSource subject_source(const ValueSources& sources) {
  std::vector<std::pair<ValueSource, std::string>> groups;  // source -> attributes, in first-seen order
  for (const auto& entry : sources) {
    // Plain references, not a structured binding: clang 14 (the fuzz
    // build) cannot capture a binding in the lambda below.
    const std::string& field = entry.first;
    const ValueSource& source = entry.second;
    if (!field.starts_with("subject.")) continue;
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == source; });
    if (it == groups.end()) it = groups.insert(groups.end(), {source, ""});
    it->second += (it->second.empty() ? "" : ", ") + field.substr(8);
  }
  if (groups.size() == 1) return groups.front().first;
  ValueSource mixed{SourceLevel::builtin, ""};
  for (const auto& [source, attrs] : groups) {
    mixed.level = std::max(mixed.level, source.level);
    mixed.where += (mixed.where.empty() ? "" : "; ") + attrs + " from " + source.where;
  }
  return mixed;
}

void add_sources(CertificateView& v, const ValueSources& sources, const std::vector<std::pair<std::string, std::string>>& view_field_of) {
  for (const auto& [view_field, plan_field] : view_field_of) {
    if (auto it = sources.find(plan_field); it != sources.end()) v.sources[view_field] = it->second;
  }
}

// The root is due for rotation before an intermediate is due for renewal:
// the first renewals already fall into the rotation.
void warn_rotation_before_renewals(const PlanView& view, std::vector<PolicyWarning>& w) {
  std::string error;
  auto date = [&](const CertificateView& c, const char* field) { return parse_rfc3339(c.field(field).substr(0, 20), error).value_or(0); };
  const UnixTime rotate_by = date(view.certificates.front(), "rotate by");
  for (const auto& c : view.certificates) {
    if (c.role != "intermediate" || date(c, "renew by") <= rotate_by) continue;
    w.push_back({"root", "must be rotated by " + format_rfc3339(rotate_by) + ", before " + c.id + " is even due for renewal (" +
                             c.field("renew by").substr(0, 20) + "): give the root a longer validity or the intermediates a shorter one"});
    return;
  }
}

void collect_warnings(const Plan& plan, const PlanView& view, std::vector<PolicyWarning>& w) {
  const auto& root = plan.root;
  if (root.key.algorithm == pki::KeyAlgorithm::rsa_2048) {
    w.push_back(
        {"root", "RSA-2048 root key: NIST SP 800-57 rates 112-bit security acceptable only through 2030; prefer ecdsa-p384 or rsa-3072+"});
  }
  if (root.key.kind == hsm::KeyStoreKind::file) {
    w.push_back(
        {"root", "the root key lives in an encrypted file, not in an HSM: its protection is the passphrase and the file's custody"});
  }
  const auto& root_view = view.certificates.front();
  UnixTime root_nb = 0, root_na = 0;
  std::string err;
  root_nb = parse_rfc3339(root_view.field("not before"), err).value_or(0);
  root_na = parse_rfc3339(root_view.field("not after"), err).value_or(0);
  if (root_na - root_nb > static_cast<std::int64_t>(kMaxRootYears) * 366 * kDay) {
    w.push_back({"root", "root validity is longer than " + std::to_string(kMaxRootYears) + " years; plan a rotation long before then"});
  }
  if (!root.path_len || *root.path_len > 1) {
    w.push_back({"root", "path_len " + path_len_text(root.path_len) +
                             " allows CAs below the per-cluster intermediates; meshca needs 1 (2 only leaves room for a "
                             "cross-signed successor root, see rotation.cross_sign)"});
  }
  warn_rotation_before_renewals(view, w);
  std::map<std::string, std::vector<std::string>> cluster_meshes;
  for (const auto& mesh : plan.meshes) {
    for (const auto& c : mesh.clusters) {
      std::string id = mesh.name + "/" + c.name;
      cluster_meshes[c.name].push_back(mesh.name);
      auto window = c.intermediate.validity.resolve(view.resolved_at);
      if (window.not_after - window.not_before < kMinIntermediateDays * kDay) {
        w.push_back({id, "intermediate validity is shorter than " + std::to_string(kMinIntermediateDays) +
                             " days: frequent renewals, and istiod's workload certificates must not outlive it"});
      }
      if (c.intermediate.name_constraints == NameConstraintsMode::none) {
        w.push_back(
            {id, "no name constraints: this intermediate could issue identities of any trust domain (set name_constraints: trust_domain)"});
      }
      if (c.intermediate.algorithm == pki::KeyAlgorithm::rsa_2048) {
        w.push_back({id, "RSA-2048 intermediate key; prefer ecdsa-p256"});
      }
    }
  }
  for (const auto& [cluster, meshes] : cluster_meshes) {
    if (meshes.size() < 2) continue;
    std::string list;
    for (const auto& m : meshes) list += (list.empty() ? "" : ", ") + m;
    std::string message = "cluster name '" + cluster;
    message += "' is used in meshes " + list;
    message += ": check that each bundle goes to the right cluster";
    w.push_back({"plan", message});
  }
}

// ---- root rotation --------------------------------------------------------

std::optional<RotationView> rotation_view(const Plan& plan, UnixTime at) {
  if (!plan.rotation) return std::nullopt;
  const RotationPlan& r = *plan.rotation;
  RotationView view;
  if (r.current_ca) {
    // One list assignment rather than successive emplace_back calls: g++ 12 at -O3 reports a false
    // -Warray-bounds on the first emplace_back into an empty vector of pairs.
    view.fields = {
        {"current CA", current_ca_description(plan)},
        {"current CA kind", std::string(adopted_ca_kind_name(r.current_ca->kind))},
        {"current CA file", r.current_ca->path.string()},
        {"current CA pin", "SHA-256 " + r.current_ca->sha256 + " (the adopted root)"},
        {"current CA key",
         "never comes to the room and is never read: phase 1 is public-only, completed near each cluster with meshca "
         "bundle assemble"},
    };
    // A migration is refused with more than one mesh (plan/rotation_trust.hpp).
    if (const std::string td = plan.meshes.empty() ? std::string() : migrated_trust_domain(plan, plan.meshes.front()); !td.empty()) {
      const std::string& to = plan.meshes.front().trust_domain;
      view.fields.emplace_back(std::string("trust domain migration"),
                               td + " -> " + to + " (phase 1 keeps " + td + ", phase 2 moves to " + to + "; each is the other's alias)");
    }
  } else {
    view.fields.emplace_back("current output", r.current_output.string());
    view.fields.emplace_back(
        "current root",
        plan.root.subject.to_string() + (r.current_root_sha256.empty() ? " (not pinned)" : " (SHA-256 " + r.current_root_sha256 + ")"));
  }
  CertificateView new_root{"new-root", "root", "", "", {}, {}};
  new_root.fields.emplace_back("key", std::string(pki::key_algorithm_name(r.new_root.key.algorithm)));
  new_root.fields.emplace_back("key location", root_key_location(r.new_root.key));
  add_common_fields(new_root, root_profile(r.new_root, at), r.new_root.validity.to_string());
  for (const auto& [k, v] : new_root.fields) view.fields.emplace_back("new root " + k, v);
  view.fields.emplace_back("cross-signed new root", r.cross_sign
                                                        ? "yes: the current root's key also certifies the new root "
                                                          "(root/cross-signed-root-cert.pem), sent in phase 2's cert-chain.pem for "
                                                          "peers that trust only the current root"
                                                        : "no");
  view.fields.emplace_back("output",
                           "OUT/phase-1, OUT/phase-2, OUT/phase-3 (every cluster's bundle per phase), "
                           "OUT/PHASES.md, OUT/root/");
  view.phases = rotation_phases(plan);
  return view;
}

}  // namespace

const std::string& CertificateView::field(const std::string& name) const {
  static const std::string kEmpty;
  for (const auto& [k, v] : fields)
    if (k == name) return v;
  return kEmpty;
}

namespace {

// The root certificate as the plan describes it.
CertificateView root_view(const Plan& plan, UnixTime at) {
  CertificateView root{"root", "root", "", "", {}, {}};
  auto root_p = root_profile(plan.root, at);
  root.fields.emplace_back("key", std::string(pki::key_algorithm_name(plan.root.key.algorithm)));
  root.fields.emplace_back("key location", root_key_location(plan.root.key));
  add_common_fields(root, root_p, plan.root.validity.to_string());
  add_sources(root, plan.root.sources, {{"basic constraints", "path_len"}, {"key usage", "key_usage"}});
  if (plan.root.issuer == RootIssuer::external) {
    root.fields.emplace_back("signature",
                             "by the corporate CA (root.issuer: external): meshca root csr, then meshca root import, "
                             "which checks the chain strictly to the anchor with SHA-256 " +
                                 plan.root.anchor_sha256);
    root.fields.emplace_back("output",
                             "OUT/root/root-cert.pem and OUT/root/issuer-chain.pem (the corporate CAs up to the anchor); "
                             "every bundle's cert-chain.pem runs up to the anchor, and its root-cert.pem is the anchor");
  } else {
    root.fields.emplace_back("signature", signature_algorithm(plan.root.key.algorithm) + " (self-signed)");
    root.fields.emplace_back("output", "OUT/root/root-cert.pem; also root-cert.pem and the end of cert-chain.pem in every bundle");
  }
  root.fields.emplace_back("rotate by", format_rfc3339(root_rotate_by(root_p.not_before, root_p.not_after)) + " (" +
                                            std::string(kRootRotationRule) + "), with meshca rotate phases");
  return root;
}

// Where a cluster's key is made and which files its bundle holds.
std::pair<std::string, std::string> key_location_and_output(const Plan& plan, const ClusterPlan& c, const std::string& id) {
  if (const auto& pin = c.intermediate.pinned_key) {
    return {"pinned: made and kept by the cluster, never in the room; the ceremony signs the public key of " + pin->csr.string() +
                " (SPKI SHA-256 " + pin->spki_sha256 +
                "); the CSR's subject, SANs and requested extensions are ignored: this plan decides every field",
            "OUT/" + id +
                "/{ca-cert,cert-chain,root-cert}.pem and public-bundle.yaml (public only; meshca bundle assemble adds the key "
                "and the layouts near the cluster)"};
  }
  std::string out = "OUT/" + id + "/{ca-cert,ca-key,cert-chain,root-cert}.pem";
  if (plan.outputs.has_layout(output_layout::Layout::k8s_secret)) {
    out += ", cacerts.yaml (Secret cacerts in " + plan.outputs.namespace_name + ")";
  }
  return {"generated in software during the ceremony; written only to OUT/" + id + "/ca-key.pem (0600)", out};
}

// A cluster's intermediate as the plan describes it.
CertificateView intermediate_view(const Plan& plan, const MeshPlan& mesh, const ClusterPlan& c, UnixTime at) {
  CertificateView v{mesh.name + "/" + c.name, "intermediate", mesh.name, c.name, {}, {}};
  auto p = intermediate_profile(mesh, c, at);
  const auto [key_location_text, output] = key_location_and_output(plan, c, v.id);
  v.fields.emplace_back("key", std::string(pki::key_algorithm_name(c.intermediate.algorithm)));
  v.fields.emplace_back("key location", key_location_text);
  add_common_fields(v, p, c.intermediate.validity.to_string());
  add_sources(v, c.intermediate.sources,
              {{"key", "key.algorithm"},
               {"validity", "validity"},
               {"basic constraints", "path_len"},
               {"key usage", "key_usage"},
               {"name constraints", "name_constraints"}});
  v.sources["subject"] = subject_source(c.intermediate.sources);
  v.fields.emplace_back("trust domain", mesh.trust_domain);
  v.fields.emplace_back("issuer", plan.root.subject.to_string());
  v.fields.emplace_back("signature", signature_algorithm(plan.root.key.algorithm) + " by the root key");
  v.fields.emplace_back("output", output);
  v.fields.emplace_back("renew by", format_rfc3339(intermediate_renew_by(p.not_before, p.not_after)) + " (" +
                                        std::string(kIntermediateRenewalRule) + "), with meshca ceremony run PLAN --out OUT --renew " +
                                        v.id);
  return v;
}

}  // namespace

std::string root_key_location(const hsm::RootKeyRef& key) {
  std::string where = hsm::describe_key_reference(key);
  if (key.kind == hsm::KeyStoreKind::file) return where + " (passphrase from " + key.file.passphrase.to_string() + ")";
  const std::string initial = key.pkcs11.initial_pin ? "; the token's initial PIN from " + key.pkcs11.initial_pin->to_string() : "";
  return where + " (PIN from " + key.pkcs11.pin.to_string() + initial + "); generated inside the token if absent, never extractable";
}

namespace {

// "meshes prod, lab; external roots partner (AB:CD:..., trust domains partner.example)"
std::string federation_text(const FederationPlan& fed) {
  std::string text = "meshes";
  for (std::size_t i = 0; i < fed.meshes.size(); ++i) text += (i == 0 ? " " : ", ") + fed.meshes[i];
  for (std::size_t i = 0; i < fed.external_roots.size(); ++i) {
    const auto& root = fed.external_roots[i];
    std::string tds;
    for (const auto& td : root.trust_domains) tds += (tds.empty() ? "" : ", ") + td;
    text += (i == 0 ? "; external roots " : "; ") + root.name + " (" + root.file.string() + ", SHA-256 " + root.sha256 +
            ", trust domains " + tds + ")";
  }
  return text;
}

}  // namespace

PlanView plan_view(const Plan& plan, UnixTime at) {
  PlanView view;
  view.name = plan.name;
  view.description = plan.description;
  view.organization = plan.organization;
  view.digest = plan_digest(plan.text, plan.source.string());
  view.resolved_at = at;
  std::string layouts;
  for (const auto& l : plan.outputs.layout_names()) layouts += (layouts.empty() ? "" : ", ") + l;
  view.settings = {{"organization", plan.organization}, {"output layouts", layouts}, {"secret namespace", plan.outputs.namespace_name}};
  for (const auto& fed : plan.federations) view.settings.emplace_back("federation " + fed.name, federation_text(fed));

  view.certificates.push_back(root_view(plan, at));
  for (const auto& mesh : plan.meshes) {
    view.meshes.emplace_back(mesh.name, mesh.trust_domain);
    for (const auto& c : mesh.clusters) view.certificates.push_back(intermediate_view(plan, mesh, c, at));
  }
  view.rotation = rotation_view(plan, at);
  collect_warnings(plan, view, view.warnings);
  return view;
}

std::vector<FieldChange> plan_diff(const PlanView& before, const PlanView& after) {
  std::vector<FieldChange> changes;
  auto compare_fields = [&](const std::string& id, const auto& a, const auto& b) {
    std::map<std::string, std::string> ma(a.begin(), a.end()), mb(b.begin(), b.end());
    std::set<std::string> keys;
    for (const auto& [k, v] : ma) keys.insert(k);
    for (const auto& [k, v] : mb) keys.insert(k);
    for (const auto& k : keys) {
      if (ma[k] != mb[k]) changes.push_back({id, k, ma[k], mb[k], "changed"});
    }
  };
  compare_fields("plan", before.settings, after.settings);
  using Fields = std::vector<std::pair<std::string, std::string>>;
  compare_fields("rotation", before.rotation ? before.rotation->fields : Fields{}, after.rotation ? after.rotation->fields : Fields{});
  std::map<std::string, const CertificateView*> old_certs, new_certs;
  for (const auto& c : before.certificates) old_certs[c.id] = &c;
  for (const auto& c : after.certificates) new_certs[c.id] = &c;
  for (const auto& [id, c] : old_certs) {
    if (!new_certs.count(id)) {
      changes.push_back({id, "", c->field("subject"), "", "removed"});
    } else {
      compare_fields(id, c->fields, new_certs[id]->fields);
    }
  }
  for (const auto& [id, c] : new_certs) {
    if (!old_certs.count(id)) changes.push_back({id, "", "", c->field("subject"), "added"});
  }
  return changes;
}

std::string render_diff_text(const std::vector<FieldChange>& changes) {
  std::ostringstream os;
  for (const auto& c : changes) {
    if (c.kind == "added") {
      os << "+ " << c.id << ": added (" << c.after << ")\n";
    } else if (c.kind == "removed") {
      os << "- " << c.id << ": removed (" << c.before << ")\n";
    } else {
      os << "~ " << c.id << ": " << c.field << ": " << (c.before.empty() ? "(none)" : c.before) << " -> "
         << (c.after.empty() ? "(none)" : c.after) << "\n";
    }
  }
  if (changes.empty()) os << "no semantic differences\n";
  return escape_unreadable(os.str(), true);
}

nlohmann::json diff_to_json(const std::vector<FieldChange>& changes) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& c : changes) {
    nlohmann::json item{{"id", c.id}, {"kind", c.kind}};
    if (!c.field.empty()) item["field"] = c.field;
    if (!c.before.empty()) item["before"] = c.before;
    if (!c.after.empty()) item["after"] = c.after;
    j.push_back(std::move(item));
  }
  return j;
}

}  // namespace meshca::ceremony