// Every output layout of one cluster's bundle, made from the same key and
// certificates (docs/output-layouts.md):
//
//   istio-cacerts   ca-cert.pem ca-key.pem cert-chain.pem root-cert.pem
//   k8s-secret      cacerts.yaml beside istio-cacerts, istio-tls/cacerts.yaml beside istio-tls
//   istio-tls       istio-tls/tls.crt tls.key ca.crt  (the kubernetes.io/tls form istiod also reads)
//   linkerd         linkerd/tls.crt tls.key ca.crt, linkerd-identity-issuer.yaml (Secret),
//                   linkerd-identity-trust-roots.yaml (ConfigMap)
//   cert-manager    cert-manager/tls.crt tls.key ca.crt, ca-secret.yaml (Secret), issuer.yaml
//   spire           spire/upstream-ca.crt upstream-ca.key bundle.crt, server.conf (UpstreamAuthority "disk")
//
// and, for a cluster whose mesh is federated (LayoutOptions::trust), the
// trust configuration of trust_config.hpp in trust/, whatever the layouts.
//
// tls.crt and upstream-ca.crt hold the intermediate followed by its chain up
// to and including the root (the bytes of cert-chain.pem); ca.crt and
// bundle.crt every trusted root (the bytes of root-cert.pem); keys are the
// bytes of ca-key.pem. Keys and manifests holding a key are 0600,
// subdirectories 0700. Every manifest is labelled with meshca, the mesh, the
// cluster and the plan digest.
#pragma once

#include <array>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/secure_buffer.hpp"
#include "output_layout/istio_cacerts.hpp"
#include "output_layout/trust_config.hpp"
#include "pki/key.hpp"

namespace meshca::output_layout {

enum class Layout { istio_cacerts, k8s_secret, istio_tls, linkerd, cert_manager, spire };

std::string_view layout_name(Layout layout);
std::optional<Layout> parse_layout(std::string_view name);
const std::vector<Layout>& all_layouts();

// What a plan that names no layouts writes, in this order, and where the
// spire layout's files go on the SPIRE server unless the plan says.
inline constexpr std::array<Layout, 2> kDefaultLayouts{Layout::istio_cacerts, Layout::k8s_secret};
inline constexpr std::string_view kDefaultSpireDirectory = "/run/spire/upstream-ca";

// What the software that reads a layout requires of the certificates in
// it, declared beside the layout and checked against the plan before any
// key exists (plan/plan_validate.cpp). Each reason ends the finding.
struct LayoutRequirements {
  // The key algorithm of the intermediate the layout installs as its issuer.
  std::optional<pki::KeyAlgorithm> intermediate_algorithm = {};
  std::string_view intermediate_algorithm_reason = {};
  // The key algorithm of the root that signs it.
  std::optional<pki::KeyAlgorithm> root_algorithm = {};
  std::string_view root_algorithm_reason = {};
  // The least pathLen of the intermediate and of the root (no pathLen,
  // unlimited, satisfies any).
  int min_intermediate_path_len = 0;
  std::string_view intermediate_path_len_reason = {};
  int min_root_path_len = 0;
  std::string_view root_path_len_reason = {};
};
const LayoutRequirements& layout_requirements(Layout layout);

struct CertManagerOptions {
  std::string kind = "ClusterIssuer";  // or "Issuer"
  std::string name = "meshca-ca";      // Issuer/ClusterIssuer name and its CA Secret's name
  std::string namespace_name = "cert-manager";
};

// Where a cluster's private key is. `bundle`: made in the room and written
// into every layout. `cluster`: made and kept near the cluster (a pinned
// CSR), so the room writes a public-only bundle: ca-cert.pem,
// cert-chain.pem, root-cert.pem and public-bundle.yaml, which says which
// files `meshca bundle assemble` adds where the key is.
enum class KeyCustody { bundle, cluster };

// What a cluster trusts beyond its own mesh: each root of its root-cert.pem
// vouching for `bundle_root_trust_domains` (its own trust domain first, then
// those of the meshes of the same plan it is federated with), followed by
// `extra_roots` (external roots, each with its own trust domains). The trust
// configuration files render TrustConfig{those roots, aliases, trust
// domain}. A rotation's phases build one too (plan/rotation_trust.hpp).
struct FederationTrust {
  std::vector<std::string> bundle_root_trust_domains;
  std::vector<TrustedRoot> extra_roots;
  std::vector<std::string> trust_domain_aliases;
  std::string trust_domain;  // meshConfig.trustDomain; empty: not written
  bool operator==(const FederationTrust&) const = default;
};

struct LayoutOptions {
  std::set<Layout> layouts{kDefaultLayouts.begin(), kDefaultLayouts.end()};
  KeyCustody key_custody = KeyCustody::bundle;
  std::string key_spki_sha256;  // KeyCustody::cluster: the pinned key, lowercase hex
  // An auditor's copy from which every file holding a private key was
  // removed: those files (keys and Secret manifests) are neither expected
  // nor read, and the bundle is read without its key.
  bool public_copy = false;
  std::string mesh;
  std::string cluster;
  std::string trust_domain;
  std::string plan_digest;                        // lowercase hex; labels and annotations
  std::string istio_namespace{kDefaultIstioNamespace};  // the `cacerts` Secrets
  CertManagerOptions cert_manager;
  std::string spire_directory{kDefaultSpireDirectory};
  // Set: the mesh is federated, and the bundle carries the trust files.
  std::optional<FederationTrust> trust;

  bool has(Layout l) const { return layouts.count(l) != 0; }
};

// Labels every manifest carries (Kubernetes label values are at most 63
// characters, so the plan digest label holds its first 32 hex digits; the
// full digest is the annotation meshca.io/plan-digest).
std::map<std::string, std::string> manifest_labels(const LayoutOptions& options);

// Paths (relative to the cluster directory) of every file `options` implies,
// sorted. With KeyCustody::cluster: the public-only bundle's files. Both
// include the trust files when `options.trust` is set.
std::vector<std::string> layout_file_names(const LayoutOptions& options);

// Whether the file at `path` (relative to a cluster directory, or ending in
// such a path) holds a private key in some layout: what an auditor's public
// copy leaves out.
bool holds_private_key(std::string_view path);

// Where a bundle with CRLs keeps them: ca-crl.pem in the istio-cacerts
// layout (Istio reads them only from there); chain-crls.pem, the CRLs above
// the intermediate, in a public-only bundle; nowhere (nullptr) otherwise.
const char* crl_file_name(const LayoutOptions& options);

// `options` with the key in the bundle: every file `bundle assemble` writes.
LayoutOptions assembled(LayoutOptions options);

// Names of those files missing from `dir` (empty when complete).
std::vector<std::string> missing_layout_files(const std::filesystem::path& dir, const LayoutOptions& options);

// Writes every file of every selected layout into `dir` (an empty staging
// directory), creating subdirectories 0700, without fsync. Returns the
// SHA-256 of each file by relative path. With KeyCustody::cluster,
// `files.ca_key` is empty and only the public files and the descriptor are
// written.
std::map<std::string, std::string> write_layouts(const std::filesystem::path& dir, const IstioBundleFiles& files,
                                                 const LayoutOptions& options);

// Loads a cluster's bundle from the first selected layout (in the order of
// all_layouts()) and checks that the certificate and key files of every
// other selected layout hold exactly the same bytes and (ManifestCheck::verify)
// that every manifest present is exactly what meshca renders from them, under
// the plan digest the manifest names. A public-only bundle (KeyCustody::
// cluster) has no key (`ca_key` null) and its descriptor is checked like a
// manifest. Error(invalid_input) naming the file on
// damage or disagreement. A chain or trust file that is exactly the PEM
// meshca writes for ca-cert.pem and certificates of `known` (the roots the
// caller already holds) yields those certificates without being parsed; any
// other content is parsed as usual, so the result is the same either way.
enum class ManifestCheck { verify, skip };
IstioBundle read_layout_bundle(const std::filesystem::path& dir, const LayoutOptions& options,
                               ManifestCheck manifests = ManifestCheck::verify, const std::vector<const X509*>& known = {});

// The trust configuration of a bundle whose root-cert.pem is `root_cert`.
TrustConfig trust_config(std::string_view root_cert, const FederationTrust& trust);

// Every file of the bundle in `dir` that disagrees with its primary layout's
// material (path, why): for an audit that reports them all.
std::vector<std::pair<std::string, std::string>> mismatched_layout_files(const std::filesystem::path& dir,
                                                                      const LayoutOptions& options);

// The cluster's intermediate certificate, from the first selected layout.
pki::X509Ptr read_layout_ca_certificate(const std::filesystem::path& dir, const LayoutOptions& options);

}  // namespace meshca::output_layout
