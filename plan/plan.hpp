// The ceremony plan model: what the auditor approved, fully resolved.
//
// A Plan is what plan reading (plan_reader.hpp) produces from YAML after
// strict validation:
// every default applied, every subject template expanded, every cluster's
// intermediate spelled out. The ceremony runner and the renderers read only
// this model, never raw YAML.
#pragma once

#include <array>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/time.hpp"
#include "hsm/key_store.hpp"
#include "output_layout/layouts.hpp"
#include "pki/certificate.hpp"
#include "pki/key.hpp"
#include "plan/subject_template.hpp"

namespace meshca::ceremony {

// Where something was written in the plan, for messages.
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;
  std::string to_string() const;  // "plan.yaml:12:7"
};

// Either a duration from the ceremony's start, or absolute bounds.
struct ValiditySpec {
  std::optional<Duration> duration;
  std::optional<UnixTime> not_before;
  std::optional<UnixTime> not_after;

  struct Window {
    UnixTime not_before;
    UnixTime not_after;
  };
  Window resolve(UnixTime ceremony_time) const;
  std::string to_string() const;
};

// Where a resolved value came from. Plan precedence, most specific wins:
// built-in defaults < the plan-wide profile < plan-wide `defaults` < the
// mesh's own profile < the mesh's `intermediate` < the cluster's
// `intermediate` (docs/plan-reference.md, "Precedence").
enum class SourceLevel { builtin, plan_profile, plan_defaults, mesh_profile, mesh, cluster, root };
std::string_view source_level_name(SourceLevel level);

struct ValueSource {
  SourceLevel level = SourceLevel::builtin;
  std::string where;  // "profile meshca (built-in default)", "defaults.intermediate", "meshes[0].clusters[1].intermediate"
  bool operator==(const ValueSource&) const = default;
};

// Field name ("path_len", "key.algorithm", "subject.CN", ...) -> where its
// resolved value came from.
using ValueSources = std::map<std::string, ValueSource>;

// What a pre-issuance lint WARN does to a certificate, as its certificate
// profile declares (`lint_warnings`): `fatal` refuses it (a profile whose
// certificates pass every lint with no finding), `recorded` lets it through
// and records the warning in the transcript (a profile that departs from
// meshca's defaults on purpose). A lint FAIL always refuses.
enum class LintWarnings { fatal, recorded };

// Who certifies the mesh root. `self`: meshca issues a self-signed root.
// `external`: the corporate CA certifies the root key (`meshca root csr`,
// then `meshca root import`), and every bundle chains up to the corporate
// anchor pinned by `anchor_sha256` (ceremony/external_root.hpp).
enum class RootIssuer { self, external };

struct RootPlan {
  pki::DistinguishedName subject;
  RootIssuer issuer = RootIssuer::self;
  // external: SHA-256 fingerprint ("AB:CD:...") of the corporate trust
  // anchor (the self-signed certificate the imported chain ends at).
  std::string anchor_sha256;
  hsm::RootKeyRef key;
  ValiditySpec validity;
  // The plan's root.path_len, else the plan-wide profile's: nullopt means no
  // pathLenConstraint (unlimited), exactly what the certificate carries.
  std::optional<int> path_len = 1;
  pki::KeyUsageBits key_usage{.digital_signature = false, .key_cert_sign = true, .crl_sign = true};
  LintWarnings lint_warnings = LintWarnings::fatal;  // the plan-wide profile's
  ValueSources sources;                              // path_len, key_usage
};

// "1", "2", ... or "unlimited" (no pathLenConstraint).
std::string path_len_text(const std::optional<int>& path_len);

enum class NameConstraintsMode { none, trust_domain };

// A cluster key made and kept near the cluster (`intermediate.csr`): the
// room signs the public key of its CSR, pinned by the SHA-256 of its
// SubjectPublicKeyInfo, and the bundle leaves the room without a key
// (output_layout::KeyCustody::cluster). Plan reading opens the CSR and
// checks it (pki/csr.hpp) against the pin and the plan's key policy.
struct PinnedKey {
  std::filesystem::path csr;  // as written; relative paths resolve against the plan's directory
  std::string spki_sha256;    // the pin, lowercase hex
  SourceLocation csr_at, pin_at;
  std::string public_key_der;  // the CSR's SubjectPublicKeyInfo ("" when the CSR was not read)
};

struct IntermediatePlan {
  pki::KeyAlgorithm algorithm = pki::KeyAlgorithm::ecdsa_p256;
  ValiditySpec validity;
  pki::DistinguishedName subject;  // placeholders already expanded
  NameConstraintsMode name_constraints = NameConstraintsMode::none;
  // From the mesh's certificate profile; nullopt pathLen = unlimited.
  std::optional<int> path_len = 0;
  pki::KeyUsageBits key_usage{.digital_signature = true, .key_cert_sign = true, .crl_sign = true};
  std::vector<std::string> dns_names;
  LintWarnings lint_warnings = LintWarnings::fatal;  // the mesh's profile's
  // Set: the key is the cluster's own, pinned; unset: made in the room.
  std::optional<PinnedKey> pinned_key;
  // key.algorithm, validity, subject.<attr>, name_constraints, path_len,
  // key_usage, dns_names.
  ValueSources sources;
};

// The built-in profile whose certificates follow docs/architecture.md ("Certificates by default") exactly and pass
// every lint with no finding.
inline constexpr std::string_view kDefaultProfile = "meshca";

// A certificate profile (templates/profiles/<name>.yaml), parsed strictly.
// It decides the CA extensions meshca cannot take from the plan and the
// intermediate defaults below the plan's own `defaults.intermediate`.
struct CaExtensionsSpec {
  std::optional<int> path_len;  // nullopt: no pathLenConstraint
  pki::KeyUsageBits key_usage;
  std::vector<std::string> dns_names;  // subjectAltName DNS entries (istio-tools-certs)
};
struct ProfileSpec {
  std::string name;
  std::string description;
  LintWarnings lint_warnings = LintWarnings::fatal;
  CaExtensionsSpec root;
  CaExtensionsSpec intermediate;
  pki::KeyAlgorithm algorithm = pki::KeyAlgorithm::ecdsa_p256;  // intermediate key default
  ValiditySpec validity;                                        // intermediate validity default
  SubjectTemplates subject;                                     // intermediate subject template
};

struct ClusterPlan {
  std::string name;
  std::string field_path;  // "meshes[0].clusters[1]"
  SourceLocation location;
  IntermediatePlan intermediate;
};

struct SpireOutput {
  std::string directory{output_layout::kDefaultSpireDirectory};  // where the files go on the SPIRE server
};

struct OutputPlan {
  // In the order the plan writes them (parsed once, when the plan is read).
  std::vector<output_layout::Layout> layouts{output_layout::kDefaultLayouts.begin(), output_layout::kDefaultLayouts.end()};
  std::string namespace_name{output_layout::kDefaultIstioNamespace};
  output_layout::CertManagerOptions cert_manager;  // kind ClusterIssuer, name meshca-ca, namespace cert-manager
  SpireOutput spire;
  bool has_layout(output_layout::Layout layout) const;
  std::vector<std::string> layout_names() const;  // "istio-cacerts", ... in plan order
};

struct MeshPlan {
  std::string name;
  std::string trust_domain;
  std::vector<ClusterPlan> clusters;
  std::string profile{kDefaultProfile};  // the mesh's certificate profile
  OutputPlan outputs{};                  // the plan's outputs with this mesh's overrides
  // Set when the mesh is in a federation: what its clusters trust beyond
  // their own mesh (plan/federation.hpp), written beside each bundle.
  std::optional<output_layout::FederationTrust> trust{};
  // With a rotation: the trust configuration of its bundles in phases 1, 2
  // and 3 (plan/rotation_trust.hpp, resolve_rotation_trust).
  std::array<std::optional<output_layout::FederationTrust>, 3> rotation_trust{};
};

// A root outside the plan that federated meshes trust (`federation[].
// external_roots[]`): its certificate file, pinned by the SHA-256 of its DER.
struct ExternalRootPlan {
  std::string name;
  std::filesystem::path file;  // as written; relative paths resolve against the plan's directory
  std::string sha256;          // "AB:CD:..." as `openssl x509 -fingerprint -sha256` prints it
  std::vector<std::string> trust_domains;
  std::string pem;  // the certificate as meshca writes it ("" when the file was not read)
};

// `federation[]`: meshes of this plan, and external roots, that trust each
// other: every cluster of a member mesh trusts the plan's root for the other
// member meshes' trust domains and every external root for its own.
struct FederationPlan {
  std::string name;
  std::vector<std::string> meshes;
  std::vector<ExternalRootPlan> external_roots;
};

// `revocation:` in the plan: whether every bundle carries `ca-crl.pem` (a
// CRL of its intermediate and one of the root, the complete set Istio needs)
// and how long each CRL is valid before `meshca crl refresh` must reissue it.
struct RevocationPlan {
  bool crl = false;
  Duration next_update{.years = 0, .days = 30, .hours = 0};  // nextUpdate = thisUpdate + this
};

// A root rotation (`rotation:` in the plan). The plan's `root` is the root in
// service; `new_root` replaces it through Istio's multi-root procedure
// (ceremony/rotation.hpp): phase 1 trusts both roots with the existing
// intermediates, phase 2 issues new intermediates under the new root and
// still trusts both, phase 3 trusts only the new root.
// A CA the mesh already runs, which meshca did not make
// (`rotation.current_ca`, plan/adopted_ca.hpp reads it): only public
// certificates, pinned by the SHA-256 of its root. Its private key never
// comes to the room and is never read.
enum class AdoptedCaKind {
  istiod_self_signed,  // istiod's own CA: the istio-ca-root-cert ConfigMap; the root signs workloads
  istio_cacerts,       // a tools/certs cacerts directory or `cacerts` Secret YAML; its intermediate signs
  pem_root,            // a plain PEM root certificate, which signs workloads itself
};

struct AdoptedCaPlan {
  AdoptedCaKind kind = AdoptedCaKind::pem_root;
  std::filesystem::path path;  // relative paths resolve against the plan's directory
  std::string sha256;          // the root's SHA-256 fingerprint, "AB:CD:..."
  // The SPIFFE trust domain of the workloads it signs today; empty: the
  // mesh's. Another than the mesh's is a trust domain migration: the
  // rotation phases carry meshConfig.trustDomain and trustDomainAliases
  // (plan/rotation_trust.hpp).
  std::string trust_domain;
};

struct RotationPlan {
  // The output directory of the ceremony that made the root in service and
  // its bundles (relative paths resolve against the plan's directory).
  // Empty when the rotation adopts a CA the mesh runs (current_ca).
  std::filesystem::path current_output;
  // Instead of current_output: the CA the mesh runs today, adopted. The
  // plan then has no `root` section; Plan::root is a copy of new_root (the
  // plan's only root), so every rule about the plan's intermediates and
  // their root judges the new intermediates against the new root.
  std::optional<AdoptedCaPlan> current_ca;
  // Optional pin: SHA-256 fingerprint ("AB:CD:..." as `meshca inspect` prints
  // it) of the root in service,
  // so the auditor approves exactly which root is being replaced.
  std::string current_root_sha256;
  RootPlan new_root;
  // Also issue the new root's certificate signed by the old root, and send it
  // in phase 2's cert-chain.pem, so peers that still trust only the old root
  // accept workloads of the new intermediates.
  bool cross_sign = false;
};

struct Plan {
  std::filesystem::path source;    // the plan file
  std::filesystem::path base_dir;  // relative paths in the plan resolve here
  std::string text;                // the plan exactly as read
  std::string name;
  std::string description;
  std::string organization;
  RootPlan root;
  std::vector<MeshPlan> meshes;
  OutputPlan outputs;                    // plan-wide; each mesh holds its resolved copy
  std::string profile{kDefaultProfile};  // plan-wide certificate profile (the root's)
  std::optional<RotationPlan> rotation;
  RevocationPlan revocation;
  std::vector<FederationPlan> federations;

  std::size_t cluster_count() const;
};

// The files of one cluster's bundle as the plan's mesh asks for them: for
// the writer, the resume check and the audit (docs/output-layouts.md).
// `rotation_phase` 1 to 3: its bundle in that phase of the plan's rotation,
// whose trust configuration is the phase's (MeshPlan::rotation_trust).
inline output_layout::LayoutOptions layout_options(const MeshPlan& mesh, const ClusterPlan& cluster, const std::string& plan_digest,
                                                   int rotation_phase = 0) {
  output_layout::LayoutOptions o;
  o.layouts = {mesh.outputs.layouts.begin(), mesh.outputs.layouts.end()};
  o.mesh = mesh.name;
  o.cluster = cluster.name;
  o.trust_domain = mesh.trust_domain;
  o.plan_digest = plan_digest;
  o.istio_namespace = mesh.outputs.namespace_name;
  o.cert_manager = mesh.outputs.cert_manager;
  o.spire_directory = mesh.outputs.spire.directory;
  o.trust = rotation_phase > 0 ? mesh.rotation_trust.at(static_cast<std::size_t>(rotation_phase - 1)) : mesh.trust;
  if (const auto& pin = cluster.intermediate.pinned_key) {
    o.key_custody = output_layout::KeyCustody::cluster;
    o.key_spki_sha256 = pin->spki_sha256;
  }
  return o;
}

}  // namespace meshca::ceremony
