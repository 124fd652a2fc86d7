// The plan as decoded: what each section writes, typed, with where it is
// written. Stage one of plan reading (plan_decode.hpp) makes it from YAML;
// resolve (plan_resolve.hpp) and validate (plan_validate.hpp) read only this,
// never YAML. A field that failed to decode is absent (the finding is
// already recorded); a location with line 0 is "not written".
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "plan/plan.hpp"
#include "plan/subject_template.hpp"

namespace meshca::ceremony {

template <class T>
struct Located {
  T value{};
  SourceLocation at;
};

// `defaults.intermediate`, a mesh's or a cluster's `intermediate`: the
// fields it sets override those below it.
struct IntermediateSection {
  std::string path;  // "defaults.intermediate", "meshes[0].clusters[1].intermediate"
  std::optional<Located<pki::KeyAlgorithm>> algorithm;
  std::optional<Located<ValiditySpec>> validity;  // at: the validity (or not_after) line
  SubjectTemplates subject;                       // the attributes it sets
  bool name_constraints_given = false;
  std::optional<NameConstraintsMode> name_constraints;
  std::optional<PinnedKey> pinned_key;  // `csr` (a cluster's only), not yet read
};

// `profile: NAME` of the plan or a mesh.
struct ProfileChoice {
  bool given = false;               // written (even when refused)
  std::optional<std::string> name;  // a built-in profile's name
  std::string path;                 // "profile", "meshes[0].profile"
  SourceLocation section;           // the mapping that holds it
};

// `root`, or `rotation.new_root`.
struct RootSection {
  std::string path;  // "root" or "rotation.new_root"
  SourceLocation at;
  pki::DistinguishedName subject;
  SourceLocation subject_at, key_at, algorithm_at;  // algorithm_at: root.key.algorithm
  hsm::RootKeyRef key;
  ValiditySpec validity;
  std::optional<int> path_len = 1;  // as written, 1 when absent or refused
  bool path_len_given = false;      // with a value
  bool path_len_written = false;    // the key is present (perhaps empty)
  SourceLocation path_len_at;
  RootIssuer issuer = RootIssuer::self;  // `issuer` (the plan's root only)
  std::string anchor_sha256;             // `external.anchor_sha256`, normalized "AB:CD:..."
  SourceLocation issuer_at;
};

// `outputs` of the plan or a mesh: what it sets over the level below.
struct OutputsSection {
  std::optional<std::vector<output_layout::Layout>> layouts;  // every accepted entry
  std::optional<std::string> namespace_name;
  std::optional<std::string> cert_manager_kind, cert_manager_name, cert_manager_namespace;
  std::optional<std::string> spire_directory;
};

struct ClusterSection {
  std::string path;  // "meshes[0].clusters[1]"
  SourceLocation at;
  std::string name;                                 // as written (may be invalid)
  std::optional<Located<std::string>> unique_name;  // a usable name, checked for duplicates
  std::optional<IntermediateSection> intermediate;
};

struct MeshSection {
  std::string path;  // "meshes[0]"
  SourceLocation at;
  std::string name;                                 // as written (may be invalid)
  std::optional<Located<std::string>> unique_name;  // a usable name, checked for duplicates
  std::string trust_domain;                         // as written
  std::optional<Located<std::string>> unique_trust_domain;
  ProfileChoice profile;
  std::optional<OutputsSection> outputs;
  std::optional<IntermediateSection> intermediate;
  std::vector<ClusterSection> clusters;
};

// `rotation.current_ca`: each field that decoded.
struct AdoptedCaSection {
  AdoptedCaPlan plan;
  SourceLocation at, path_at, sha256_at, trust_domain_at;
};

struct RotationSection {
  std::filesystem::path current_output;
  std::optional<AdoptedCaSection> current_ca;
  std::string current_root_sha256;  // normalized "AB:CD:..."
  bool cross_sign = false;
  SourceLocation cross_sign_at;
  std::optional<RootSection> new_root;
};

struct RevocationSection {
  RevocationPlan plan;
  SourceLocation crl_at;  // the crl line, else the section
};

// `federation[].external_roots[]`: each field that decoded.
struct ExternalRootSection {
  std::string path;  // "federation[0].external_roots[1]"
  SourceLocation at;
  std::optional<Located<std::string>> name, file;
  std::optional<Located<std::string>> sha256;       // normalized "AB:CD:..."
  std::vector<Located<std::string>> trust_domains;  // the valid ones
  std::string trust_domains_path;                   // "federation[0].external_roots[1].trust_domains"
};

// `federation[]`.
struct FederationSection {
  std::string path;  // "federation[0]"
  SourceLocation at;
  std::optional<Located<std::string>> name;
  std::vector<Located<std::string>> meshes;  // each a mesh name as written (a valid label)
  std::vector<ExternalRootSection> external_roots;
};

struct PlanDocument {
  std::string name, description, organization;
  ProfileChoice profile;
  std::optional<IntermediateSection> defaults;
  RootSection root;
  std::optional<OutputsSection> outputs;
  std::vector<MeshSection> meshes;
  std::optional<RotationSection> rotation;
  std::optional<RevocationSection> revocation;
  std::vector<FederationSection> federation;
};

}  // namespace meshca::ceremony
