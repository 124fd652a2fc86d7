#include "plan/plan_resolve.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "plan/profiles.hpp"
#include "plan/readable_text.hpp"

namespace meshca::ceremony {
namespace {

// Field-wise overrides for an intermediate, one level of the precedence.
struct IntermediateOverrides {
  std::optional<pki::KeyAlgorithm> algorithm;
  std::optional<ValiditySpec> validity;
  SubjectTemplates subject;  // merged per attribute
  std::optional<NameConstraintsMode> name_constraints;
  SourceLocation validity_at;   // where `validity` (or not_after) is written
  SourceLocation algorithm_at;  // where key.algorithm is written
  ValueSources sources;         // of the fields set above, subject per attribute

  // `top` wins field by field (subject attribute by attribute).
  void overlay(const IntermediateOverrides& top) {
    for (const auto& [field, source] : top.sources) sources[field] = source;
    if (top.algorithm) {
      algorithm = top.algorithm;
      algorithm_at = top.algorithm_at;  // a profile's algorithm is written nowhere in the plan
    }
    if (top.validity) {
      validity = top.validity;
      validity_at = top.validity_at;  // a profile's validity is written nowhere in the plan
    }
    if (top.name_constraints) name_constraints = top.name_constraints;
    for (const auto& entry : top.subject) {  // not a structured binding: clang 14 cannot capture one
      auto it = std::find_if(subject.begin(), subject.end(), [&](const auto& p) { return p.first == entry.first; });
      if (it != subject.end()) {
        it->second = entry.second;
      } else {
        subject.push_back(entry);
      }
    }
  }

  // What an `intermediate` section sets, from `source`.
  static IntermediateOverrides from(const IntermediateSection& s, const ValueSource& source) {
    IntermediateOverrides o;
    if (s.algorithm) {
      o.algorithm = s.algorithm->value;
      o.algorithm_at = s.algorithm->at;
      o.sources["key.algorithm"] = source;
    }
    if (s.validity) {
      o.validity = s.validity->value;
      o.validity_at = s.validity->at;
      o.sources["validity"] = source;
    }
    o.subject = s.subject;
    for (const auto& entry : s.subject) o.sources["subject." + entry.first] = source;
    if (s.name_constraints_given) o.sources["name_constraints"] = source;
    o.name_constraints = s.name_constraints;
    return o;
  }

  // The intermediate defaults a profile gives (key, validity, subject).
  static IntermediateOverrides from(const ProfileSpec& profile, const ValueSource& source) {
    IntermediateOverrides o;
    o.algorithm = profile.algorithm;
    o.validity = profile.validity;
    o.subject = profile.subject;
    o.sources["key.algorithm"] = source;
    o.sources["validity"] = source;
    for (const auto& entry : profile.subject) o.sources["subject." + entry.first] = source;
    return o;
  }
};

// The profile chosen at one level (plan-wide or a mesh's), with the source
// its values carry.
struct ChosenProfile {
  ProfileSpec spec;
  ValueSource source;
};

// What the plan-wide level gives each mesh.
struct PlanLevel {
  ChosenProfile profile;           // plan-wide, or the built-in default
  IntermediateOverrides defaults;  // `defaults.intermediate` over the built-in name_constraints
  IntermediateOverrides resolved;  // the profile's intermediate defaults, then `defaults`
};

class Resolver {
 public:
  Resolver(const PlanDocument& doc, Findings& findings, UnixTime now) : doc_(doc), f_(findings), now_(now) {}

  ResolvedPlan run() {
    Plan& plan = out_.plan;
    plan.name = doc_.name;
    plan.description = doc_.description;
    plan.organization = doc_.organization;
    plan.profile = doc_.profile.name.value_or(std::string(kDefaultProfile));
    const PlanLevel level = plan_level(plan.profile);
    plan.root = root(doc_.root, level.profile);
    if (doc_.outputs) apply(*doc_.outputs, plan.outputs);
    for (const auto& mesh : doc_.meshes) plan.meshes.push_back(resolve_mesh(mesh, level));
    if (doc_.rotation) plan.rotation = rotation(*doc_.rotation);
    if (doc_.revocation) plan.revocation = doc_.revocation->plan;
    return std::move(out_);
  }

 private:
  // A built-in profile (a broken one is reported where it is chosen).
  ProfileSpec profile_spec(const std::string& name, const ProfileChoice& choice) {
    try {
      return builtin_profile(name, now_);
    } catch (const MultiError& e) {
      for (const auto& detail : e.details()) f_.add(choice.section, choice.path, detail);
    }
    return {};
  }

  PlanLevel plan_level(const std::string& name) {
    ChosenProfile profile{profile_spec(name, doc_.profile), {}};
    profile.source = doc_.profile.given ? ValueSource{SourceLevel::plan_profile, "profile " + name + " (plan-wide)"}
                                        : ValueSource{SourceLevel::builtin, "profile " + name + " (built-in default)"};
    PlanLevel level{profile, {}, IntermediateOverrides::from(profile.spec, profile.source)};
    level.defaults.name_constraints = NameConstraintsMode::none;
    level.defaults.sources["name_constraints"] = {SourceLevel::builtin, "built-in default"};
    if (doc_.defaults)
      level.defaults.overlay(IntermediateOverrides::from(*doc_.defaults, {SourceLevel::plan_defaults, "defaults.intermediate"}));
    level.resolved.overlay(level.defaults);
    return level;
  }

  // What a root section itself decides: its name, key and validity.
  static RootPlan as_written(const RootSection& s) {
    RootPlan root;
    root.subject = s.subject;
    root.key = s.key;
    root.validity = s.validity;
    root.issuer = s.issuer;
    root.anchor_sha256 = s.anchor_sha256;
    return root;
  }

  // The plan-wide profile decides a root's keyUsage, and its pathLen
  // unless the root gives path_len.
  static RootPlan root(const RootSection& s, const ChosenProfile& profile) {
    RootPlan root = as_written(s);
    root.key_usage = profile.spec.root.key_usage;
    root.lint_warnings = profile.spec.lint_warnings;
    root.sources["key_usage"] = profile.source;
    if (s.path_len_given) {
      root.path_len = s.path_len;
      root.sources["path_len"] = {SourceLevel::root, "root.path_len"};
    } else {
      root.path_len = profile.spec.root.path_len;
      root.sources["path_len"] = profile.source;
    }
    return root;
  }

  // The successor root takes the plan's keyUsage; its pathLen follows the
  // current root unless it sets its own.
  RotationPlan rotation(const RotationSection& s) const {
    RotationPlan r;
    r.current_output = s.current_output;
    if (s.current_ca) r.current_ca = s.current_ca->plan;
    r.current_root_sha256 = s.current_root_sha256;
    r.cross_sign = s.cross_sign;
    if (!s.new_root) return r;
    const RootPlan& current = out_.plan.root;
    r.new_root = as_written(*s.new_root);
    r.new_root.key_usage = current.key_usage;
    r.new_root.lint_warnings = current.lint_warnings;
    r.new_root.sources = current.sources;
    if (s.new_root->path_len_written) {
      r.new_root.path_len = s.new_root->path_len;
      r.new_root.sources["path_len"] = {SourceLevel::root, "rotation.new_root.path_len"};
    } else {
      r.new_root.path_len = current.path_len;
    }
    return r;
  }

  static void apply(const OutputsSection& s, OutputPlan& out) {
    if (s.layouts) out.layouts = *s.layouts;
    if (s.namespace_name) out.namespace_name = *s.namespace_name;
    if (s.cert_manager_kind) out.cert_manager.kind = *s.cert_manager_kind;
    if (s.cert_manager_name) out.cert_manager.name = *s.cert_manager_name;
    if (s.cert_manager_namespace) out.cert_manager.namespace_name = *s.cert_manager_namespace;
    if (s.spire_directory) out.spire.directory = *s.spire_directory;
  }

  MeshPlan resolve_mesh(const MeshSection& s, const PlanLevel& level) {
    MeshPlan mesh;
    mesh.name = s.name;
    mesh.trust_domain = s.trust_domain;
    mesh.profile = out_.plan.profile;
    mesh.outputs = out_.plan.outputs;
    if (s.outputs) apply(*s.outputs, mesh.outputs);
    // A mesh's own profile replaces the plan-wide one and overrides the
    // plan's defaults; the mesh's own `intermediate` overrides its profile.
    IntermediateOverrides defaults = level.resolved;
    ChosenProfile profile = level.profile;
    if (s.profile.given) {
      mesh.profile = s.profile.name.value_or(mesh.profile);
      profile.spec = profile_spec(mesh.profile, s.profile);
      profile.source = {SourceLevel::mesh_profile, "profile " + mesh.profile + " (" + s.profile.path + ")"};
      defaults = level.defaults;
      defaults.overlay(IntermediateOverrides::from(profile.spec, profile.source));
    }
    if (s.intermediate) defaults.overlay(IntermediateOverrides::from(*s.intermediate, {SourceLevel::mesh, s.intermediate->path}));
    for (const auto& cluster : s.clusters) mesh.clusters.push_back(resolve_cluster(cluster, mesh, defaults, profile));
    return mesh;
  }

  ClusterPlan resolve_cluster(const ClusterSection& s, const MeshPlan& mesh, const IntermediateOverrides& defaults,
                              const ChosenProfile& profile) {
    ClusterPlan cluster{s.name, s.path, s.at, {}};
    IntermediateOverrides merged = defaults;
    if (s.intermediate) merged.overlay(IntermediateOverrides::from(*s.intermediate, {SourceLevel::cluster, s.intermediate->path}));
    out_.origins[s.path] = {{merged.validity_at, merged.sources["validity"]}, {merged.algorithm_at, merged.sources["key.algorithm"]}};
    IntermediatePlan& i = cluster.intermediate;
    i.algorithm = *merged.algorithm;
    i.validity = *merged.validity;
    i.name_constraints = *merged.name_constraints;
    i.path_len = profile.spec.intermediate.path_len;
    i.key_usage = profile.spec.intermediate.key_usage;
    i.dns_names = profile.spec.intermediate.dns_names;
    i.lint_warnings = profile.spec.lint_warnings;
    i.sources = merged.sources;
    for (const char* field : {"path_len", "key_usage", "dns_names"}) i.sources[field] = profile.source;
    i.subject = expand_subject(merged.subject, mesh, cluster);
    if (s.intermediate && s.intermediate->pinned_key) {
      i.pinned_key = s.intermediate->pinned_key;
      i.sources["key"] = {SourceLevel::cluster, s.intermediate->path + ".csr"};
    }
    return cluster;
  }

  pki::DistinguishedName expand_subject(const SubjectTemplates& templates, const MeshPlan& mesh, const ClusterPlan& cluster) {
    const std::map<std::string, std::string> values{
        {"mesh", mesh.name}, {"cluster", cluster.name}, {"trust_domain", mesh.trust_domain}, {"organization", out_.plan.organization}};
    std::vector<std::pair<std::string, std::string>> attrs;
    for (const auto& [attr, tmpl] : templates) {
      std::string value = tmpl.expand(values);
      if (value.empty()) continue;  // e.g. {organization} when the plan has none
      if (character_count(value) > 64) {
        f_.add(cluster.location, cluster.field_path + ".intermediate.subject." + attr,
               "expands to '" + value + "', longer than the 64 characters X.509 allows");
        continue;
      }
      attrs.emplace_back(attr, value);
    }
    if (std::none_of(attrs.begin(), attrs.end(), [](const auto& a) { return a.first == "CN"; })) {
      f_.add(cluster.location, cluster.field_path + ".intermediate.subject.CN", "the intermediate's subject has no CN");
    }
    return pki::DistinguishedName::canonical(attrs);
  }

  const PlanDocument& doc_;
  Findings& f_;
  UnixTime now_;
  ResolvedPlan out_;
};

}  // namespace

ResolvedPlan resolve_plan(const PlanDocument& doc, Findings& findings, UnixTime now) { return Resolver(doc, findings, now).run(); }

}  // namespace meshca::ceremony
