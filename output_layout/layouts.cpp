#include "output_layout/layouts.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/hex.hpp"
#include "output_layout/checksums.hpp"
#include "output_layout/manifests.hpp"
#include "output_layout/public_bundle.hpp"
#include "pki/certificate.hpp"
#include "pki/csr.hpp"
#include "pki/key.hpp"

namespace meshca::output_layout {
namespace {

namespace fs = std::filesystem;

// What a file holds. The first four are the bundle's material, the same
// bytes in every layout; the rest are made from it.
enum class Content {
  ca_cert,
  key,
  chain,
  roots,
  cacerts_secret,
  istio_tls_secret,
  linkerd_issuer_secret,
  linkerd_trust_roots,
  cert_manager_secret,
  cert_manager_issuer,
  spire_server_conf,
  public_bundle_descriptor,
  trust_istio_operator,
  trust_istiod_values,
  trust_manager_bundle,
  trust_bundle,
};

bool is_trust_file(Content c) {
  return c == Content::trust_istio_operator || c == Content::trust_istiod_values || c == Content::trust_manager_bundle ||
         c == Content::trust_bundle;
}

bool is_material(Content c) { return c == Content::ca_cert || c == Content::key || c == Content::chain || c == Content::roots; }

struct FileSpec {
  Layout layout;
  std::string path;  // relative to the cluster directory
  Content content;
  bool private_file;
  bool needs_k8s_secret = false;  // written only when k8s-secret is selected too
};

// The three files of the kubernetes.io/tls form, in `dir`.
void add_tls_files(std::vector<FileSpec>& t, Layout layout, const std::string& dir) {
  t.push_back({layout, dir + "/" + kTlsCertFile, Content::chain, false});
  t.push_back({layout, dir + "/" + kTlsKeyFile, Content::key, true});
  t.push_back({layout, dir + "/" + kTlsCaFile, Content::roots, false});
}

const std::vector<FileSpec>& file_table() {
  static const std::vector<FileSpec> table = [] {
    std::vector<FileSpec> t{
        {Layout::istio_cacerts, kCaCertFile, Content::ca_cert, false},
        {Layout::istio_cacerts, kCaKeyFile, Content::key, true},
        {Layout::istio_cacerts, kCertChainFile, Content::chain, false},
        {Layout::istio_cacerts, kRootCertFile, Content::roots, false},
        {Layout::istio_cacerts, kSecretManifestFile, Content::cacerts_secret, true, true},
    };
    add_tls_files(t, Layout::istio_tls, "istio-tls");
    t.push_back({Layout::istio_tls, std::string("istio-tls/") + kSecretManifestFile, Content::istio_tls_secret, true, true});
    add_tls_files(t, Layout::linkerd, "linkerd");
    t.push_back({Layout::linkerd, "linkerd/linkerd-identity-issuer.yaml", Content::linkerd_issuer_secret, true});
    t.push_back({Layout::linkerd, "linkerd/linkerd-identity-trust-roots.yaml", Content::linkerd_trust_roots, false});
    add_tls_files(t, Layout::cert_manager, "cert-manager");
    t.push_back({Layout::cert_manager, "cert-manager/ca-secret.yaml", Content::cert_manager_secret, true});
    t.push_back({Layout::cert_manager, "cert-manager/issuer.yaml", Content::cert_manager_issuer, false});
    t.push_back({Layout::spire, "spire/upstream-ca.crt", Content::chain, false});
    t.push_back({Layout::spire, "spire/upstream-ca.key", Content::key, true});
    t.push_back({Layout::spire, "spire/bundle.crt", Content::roots, false});
    t.push_back({Layout::spire, "spire/server.conf", Content::spire_server_conf, false});
    return t;
  }();
  return table;
}

// A public-only bundle (KeyCustody::cluster): the istio-cacerts files but
// the key, and the descriptor that says what is still missing.
const std::vector<FileSpec>& public_file_table() {
  static const std::vector<FileSpec> table{
      {Layout::istio_cacerts, kCaCertFile, Content::ca_cert, false},
      {Layout::istio_cacerts, kCertChainFile, Content::chain, false},
      {Layout::istio_cacerts, kRootCertFile, Content::roots, false},
      {Layout::istio_cacerts, kPublicBundleFile, Content::public_bundle_descriptor, false},
  };
  return table;
}

// The trust configuration (trust_config.hpp) of a federated cluster, beside
// whatever its layouts write.
const std::vector<FileSpec>& trust_file_table() {
  static const std::vector<FileSpec> table{
      {Layout::istio_cacerts, kIstioOperatorFile, Content::trust_istio_operator, false},
      {Layout::istio_cacerts, kIstiodValuesFile, Content::trust_istiod_values, false},
      {Layout::istio_cacerts, kTrustManagerBundleFile, Content::trust_manager_bundle, false},
      {Layout::istio_cacerts, kTrustBundleFile, Content::trust_bundle, false},
  };
  return table;
}

bool selected(const FileSpec& spec, const LayoutOptions& options) {
  return options.has(spec.layout) && (!spec.needs_k8s_secret || options.has(Layout::k8s_secret));
}

std::vector<const FileSpec*> selected_files(const LayoutOptions& options) {
  std::vector<const FileSpec*> out;
  if (options.key_custody == KeyCustody::cluster) {
    for (const auto& spec : public_file_table()) out.push_back(&spec);
  } else {
    for (const auto& spec : file_table())
      if (selected(spec, options) && !(options.public_copy && spec.private_file)) out.push_back(&spec);
  }
  if (options.trust)
    for (const auto& spec : trust_file_table()) out.push_back(&spec);
  return out;
}

ManifestMetadata metadata(const LayoutOptions& options, std::string name, std::string namespace_name) {
  return {std::move(name), std::move(namespace_name), manifest_labels(options),
          {{"meshca.io/plan-digest", options.plan_digest}}};
}

ManifestData tls_data(const IstioBundleFiles& files) {
  return {{kTlsCertFile, files.cert_chain}, {kTlsKeyFile, files.ca_key.view()}, {kTlsCaFile, files.root_cert}};
}

std::string spire_server_conf(const LayoutOptions& o) {
  const std::string& d = o.spire_directory;
  return "# SPIRE server upstream authority for mesh " + o.mesh + ", cluster " + o.cluster + " (made by meshca, plan " +
         o.plan_digest + ").\n"
         "# Install upstream-ca.crt, upstream-ca.key (mode 0600, readable by the spire-server user only) and\n"
         "# bundle.crt in " + d + "/ on the SPIRE server, set trust_domain = \"" + o.trust_domain +
         "\" in its\n# server block, and add this plugin to its plugins block.\n"
         "UpstreamAuthority \"disk\" {\n"
         "    plugin_data {\n"
         "        cert_file_path = \"" + d + "/upstream-ca.crt\"\n"
         "        key_file_path = \"" + d + "/upstream-ca.key\"\n"
         "        bundle_file_path = \"" + d + "/bundle.crt\"\n"
         "    }\n"
         "}\n";
}

// A federated cluster's trust file, from its bundle's roots.
std::string render_trust_file(Content content, const IstioBundleFiles& files, const LayoutOptions& o) {
  const TrustConfig trust = trust_config(files.root_cert, *o.trust);
  const std::string origin =
      "Trust configuration of mesh " + o.mesh + ", cluster " + o.cluster + " (made by meshca, plan " + o.plan_digest + ").";
  if (content == Content::trust_istio_operator)
    return render_istio_operator_overlay(trust, metadata(o, "meshca-trust", o.istio_namespace), origin);
  if (content == Content::trust_istiod_values) return render_istiod_values(trust, origin);
  if (content == Content::trust_manager_bundle) return render_trust_manager_bundle(trust, metadata(o, "meshca-trust", ""), origin);
  return render_trust_bundle_pem(trust);
}

SecureBuffer render(Content content, const IstioBundleFiles& files, const LayoutOptions& o) {
  constexpr const char* kSealed = " Contains a private key: keep it sealed.";
  const auto& cm = o.cert_manager;
  switch (content) {
    case Content::ca_cert: return SecureBuffer(files.ca_cert);
    case Content::key: return SecureBuffer(files.ca_key.view());
    case Content::chain: return SecureBuffer(files.cert_chain);
    case Content::roots: return SecureBuffer(files.root_cert);
    case Content::cacerts_secret: {
      SecretManifestOptions m{"cacerts", o.istio_namespace, manifest_labels(o), {{"meshca.io/plan-digest", o.plan_digest}}};
      return render_cacerts_secret(files, m);
    }
    case Content::istio_tls_secret:
      return render_secret(std::string("Istio plugged-in CA in the kubernetes.io/tls form istiod reads from cacerts.") + kSealed,
                           metadata(o, "cacerts", o.istio_namespace), "kubernetes.io/tls", tls_data(files));
    case Content::linkerd_issuer_secret:
      return render_secret(std::string("Linkerd identity issuer (ECDSA P-256).") + kSealed,
                           metadata(o, "linkerd-identity-issuer", "linkerd"), "kubernetes.io/tls", tls_data(files));
    case Content::linkerd_trust_roots:
      return SecureBuffer(render_config_map("Linkerd trust anchors (the roots every cluster of the mesh trusts).",
                                            metadata(o, "linkerd-identity-trust-roots", "linkerd"),
                                            {{"ca-bundle.crt", files.root_cert}}));
    case Content::cert_manager_secret:
      return render_secret(std::string("CA key pair for the cert-manager ") + cm.kind + " " + cm.name + "." + kSealed,
                           metadata(o, cm.name, cm.namespace_name), "kubernetes.io/tls", tls_data(files));
    case Content::cert_manager_issuer:
      return SecureBuffer(render_object(
          "cert-manager CA " + cm.kind + " signing with this cluster's intermediate (Secret " + cm.name + " in " +
              cm.namespace_name + ").",
          "cert-manager.io/v1", cm.kind, metadata(o, cm.name, cm.kind == "Issuer" ? cm.namespace_name : ""),
          "spec:\n  ca:\n    secretName: " + cm.name + "\n"));
    case Content::spire_server_conf: return SecureBuffer(spire_server_conf(o));
    case Content::public_bundle_descriptor: {
      // The trust files need no key: assembly copies them as the room wrote them.
      std::vector<CarriedFile> carried = o.trust ? std::vector<CarriedFile>{} : files.carried;
      if (o.trust)
        for (const auto& spec : trust_file_table()) carried.push_back({spec.path, sha256_hex(render_trust_file(spec.content, files, o))});
      return SecureBuffer(public_bundle_descriptor(o, files.intermediate_crl, std::move(carried)));
    }
    case Content::trust_istio_operator:
    case Content::trust_istiod_values:
    case Content::trust_manager_bundle:
    case Content::trust_bundle:
      return SecureBuffer(render_trust_file(content, files, o));
  }
  throw Error(ErrorKind::internal, "unknown layout content");
}

// The layout a bundle is read from: the first selected one that holds files.
Layout primary_layout(const LayoutOptions& options) {
  if (options.key_custody == KeyCustody::cluster) return Layout::istio_cacerts;
  for (Layout l : all_layouts())
    if (l != Layout::k8s_secret && options.has(l)) return l;
  throw Error(ErrorKind::internal, "no bundle layout selected");
}

const FileSpec* material_file(Layout layout, Content content) {
  for (const auto& spec : file_table())
    if (spec.layout == layout && spec.content == content) return &spec;
  return nullptr;
}

constexpr std::size_t kMaxBundleFile = 1024 * 1024;

// The plan digest a manifest was labelled with (its meshca.io/plan-digest
// annotation, or the digest SPIRE's server.conf names), or "".
std::string recorded_plan_digest(std::string_view text) {
  for (std::string_view key : {std::string_view("meshca.io/plan-digest: \""), std::string_view("(made by meshca, plan ")}) {
    for (auto at = text.find(key); at != std::string_view::npos; at = text.find(key, at + 1)) {
      auto value = text.substr(at + key.size(), 64);
      if (value.size() == 64 && value.find_first_not_of("0123456789abcdef") == std::string_view::npos) return std::string(value);
    }
  }
  return {};
}

// The material of the primary layout, as IstioBundleFiles.
IstioBundleFiles read_material(const fs::path& dir, const LayoutOptions& options) {
  Layout primary = primary_layout(options);
  auto path_of = [&](Content c) { return dir / material_file(primary, c)->path; };
  IstioBundleFiles files;
  files.cert_chain = read_file(path_of(Content::chain), kMaxBundleFile);
  files.root_cert = read_file(path_of(Content::roots), kMaxBundleFile);
  if (options.key_custody == KeyCustody::bundle && !options.public_copy) {
    std::string key = read_file(path_of(Content::key), kMaxBundleFile);
    files.ca_key.append(key);
    cleanse(key);
  }
  if (material_file(primary, Content::ca_cert) != nullptr) {
    files.ca_cert = read_file(path_of(Content::ca_cert), kMaxBundleFile);
  } else {
    // The kubernetes.io/tls forms: the CA certificate opens tls.crt.
    auto chain = pki::certificates_from_pem(files.cert_chain, path_of(Content::chain).string());
    files.ca_cert = pki::certificate_to_pem(chain.front().get());
  }
  return files;
}

}  // namespace

std::string_view layout_name(Layout layout) {
  switch (layout) {
    case Layout::istio_cacerts: return "istio-cacerts";
    case Layout::k8s_secret: return "k8s-secret";
    case Layout::istio_tls: return "istio-tls";
    case Layout::linkerd: return "linkerd";
    case Layout::cert_manager: return "cert-manager";
    case Layout::spire: return "spire";
  }
  return "?";
}

const std::vector<Layout>& all_layouts() {
  static const std::vector<Layout> all{Layout::istio_cacerts, Layout::k8s_secret, Layout::istio_tls,
                                       Layout::linkerd,       Layout::cert_manager, Layout::spire};
  return all;
}

const LayoutRequirements& layout_requirements(Layout layout) {
  static const LayoutRequirements none{};
  // Linkerd's identity controller loads only an ECDSA P-256 issuer, and
  // verifies it against the trust anchors with ECDSA P-256 / SHA-256.
  static const LayoutRequirements linkerd{.intermediate_algorithm = pki::KeyAlgorithm::ecdsa_p256,
                                          .intermediate_algorithm_reason = "Linkerd accepts only an ECDSA P-256 issuer key; use ecdsa-p256",
                                          .root_algorithm = pki::KeyAlgorithm::ecdsa_p256,
                                          .root_algorithm_reason =
                                              "Linkerd requires its issuer to be signed with ECDSA P-256 and SHA-256, so the root key "
                                              "must be ecdsa-p256"};
  // SPIRE's own server CA sits below the upstream intermediate:
  // root -> intermediate -> SPIRE server CA -> SVIDs.
  static const LayoutRequirements spire{
      .min_intermediate_path_len = 1,
      .intermediate_path_len_reason = "SPIRE signs its own server CA below the upstream intermediate; use profile: spire (pathLen 1)",
      .min_root_path_len = 2,
      .root_path_len_reason = "root -> intermediate -> SPIRE server CA needs root.path_len: 2"};
  switch (layout) {
    case Layout::linkerd:
      return linkerd;
    case Layout::spire:
      return spire;
    default:
      return none;
  }
}

std::optional<Layout> parse_layout(std::string_view name) {
  for (Layout l : all_layouts())
    if (layout_name(l) == name) return l;
  return std::nullopt;
}

std::map<std::string, std::string> manifest_labels(const LayoutOptions& options) {
  return {{"app.kubernetes.io/managed-by", "meshca"},
          {"meshca.io/mesh", options.mesh},
          {"meshca.io/cluster", options.cluster},
          {"meshca.io/plan-digest", options.plan_digest.substr(0, 32)}};
}

std::vector<std::string> layout_file_names(const LayoutOptions& options) {
  std::vector<std::string> names;
  for (const FileSpec* spec : selected_files(options)) names.push_back(spec->path);
  std::sort(names.begin(), names.end());
  return names;
}

bool holds_private_key(std::string_view path) {
  for (const auto& spec : file_table()) {
    if (!spec.private_file) continue;
    if (path == spec.path || (path.ends_with(spec.path) && path[path.size() - spec.path.size() - 1] == '/')) return true;
  }
  return false;
}

const char* crl_file_name(const LayoutOptions& options) {
  if (options.key_custody == KeyCustody::cluster) return kChainCrlsFile;
  return options.has(Layout::istio_cacerts) ? kCaCrlFile : nullptr;
}

LayoutOptions assembled(LayoutOptions options) {
  options.key_custody = KeyCustody::bundle;
  options.key_spki_sha256.clear();
  options.public_copy = false;
  return options;
}

std::vector<std::string> missing_layout_files(const fs::path& dir, const LayoutOptions& options) {
  std::vector<std::string> missing;
  for (const auto& name : layout_file_names(options)) {
    std::error_code ec;
    if (!fs::is_regular_file(fs::symlink_status(dir / name, ec))) missing.push_back(name);
  }
  return missing;
}

std::map<std::string, std::string> write_layouts(const fs::path& dir, const IstioBundleFiles& files,
                                                 const LayoutOptions& options) {
  std::map<std::string, std::string> digests;
  for (const FileSpec* spec : selected_files(options)) {
    fs::path target = dir / spec->path;
    if (target.parent_path() != dir) ensure_directory(target.parent_path(), kPrivateDirMode);
    SecureBuffer bytes = render(spec->content, files, options);
    write_new_file_durable(target, bytes.view(), spec->private_file ? kPrivateFileMode : kPublicFileMode, Sync::deferred);
    digests[spec->path] = sha256_hex(bytes.view());
  }
  // Istio reads the CRLs only from its cacerts bundle; a public-only bundle
  // holds those above the intermediate until `bundle assemble` adds its own.
  if (const char* name = crl_file_name(options); name && !files.ca_crl.empty()) {
    write_new_file_durable(dir / name, files.ca_crl, kPublicFileMode, Sync::deferred);
    digests[name] = sha256_hex(files.ca_crl);
  }
  return digests;
}

namespace {

// Each selected file that is not what meshca renders from the primary
// layout's material: a material file of another layout that disagrees, or
// a manifest that does not carry exactly these files (rendered under the
// plan digest it was made with: a kept bundle keeps the digest of the plan
// that issued it). With `manifests` false only material files are compared.
std::vector<std::pair<std::string, std::string>> disagreeing_files(const fs::path& dir, const LayoutOptions& options,
                                                                   const IstioBundleFiles& files, bool manifests) {
  const std::string primary(layout_name(primary_layout(options)));  // for messages
  std::vector<std::pair<std::string, std::string>> problems;
  for (const FileSpec* spec : selected_files(options)) {
    const bool material = is_material(spec->content);
    std::error_code ec;
    if (!material && (!manifests || !fs::exists(fs::symlink_status(dir / spec->path, ec)))) continue;
    std::string actual = read_file(dir / spec->path, kMaxBundleFile);
    LayoutOptions as_made = options;
    if (!material) as_made.plan_digest = recorded_plan_digest(actual);
    if (spec->content == Content::public_bundle_descriptor) {
      // It pins the key ca-cert.pem certifies; whether that is the plan's
      // key is the conformance check's question, answered with both values.
      as_made.key_spki_sha256 = pki::spki_sha256(X509_get0_pubkey(pki::certificate_from_pem(files.ca_cert, spec->path).get()));
    }
    SecureBuffer expected = render(spec->content, files, as_made);
    bool same = actual == expected.view();
    cleanse(actual);
    if (same) continue;
    std::string why;
    if (material) {
      why = "differs from the " + primary + " layout's files: every layout of a bundle must hold the same certificates and key";
    } else if (is_trust_file(spec->content)) {
      why =
          "is not the trust configuration the plan's federation gives this cluster (the federation changed since the bundle "
          "was written, or the file was edited)";
    } else if (spec->content == Content::public_bundle_descriptor) {
      why =
          "does not describe this bundle: it must pin the key ca-cert.pem certifies, in the form meshca writes (swapped or "
          "edited)";
    } else {
      why =
          "does not hold this bundle's files: a manifest must carry exactly the certificates, key and CRLs beside it (swapped "
          "or edited)";
    }
    problems.emplace_back((dir / spec->path).string(), why);
  }
  return problems;
}

IstioBundleFiles read_bundle_files(const fs::path& dir, const LayoutOptions& options) {
  IstioBundleFiles files = read_material(dir, options);
  if (const char* name = crl_file_name(options)) {
    if (auto crl = read_file_if_exists(dir / name, kMaxBundleFile)) files.ca_crl = std::move(*crl);
  }
  if (options.key_custody == KeyCustody::cluster) {
    // The planned CRL as the descriptor records it; a descriptor that does
    // not parse is judged (and named) by disagreeing_files().
    const fs::path path = dir / kPublicBundleFile;
    try {
      auto descriptor = parse_public_bundle_descriptor(read_file(path, kMaxBundleFile), path);
      files.intermediate_crl = std::move(descriptor.crl);
      files.carried = std::move(descriptor.carried);
    } catch (const Error&) {
    }
  }
  return files;
}

}  // namespace

TrustConfig trust_config(std::string_view root_cert, const FederationTrust& trust) {
  TrustConfig config{{}, trust.trust_domain_aliases, trust.trust_domain};
  for (const auto& root : pki::certificates_from_pem(root_cert, kRootCertFile))
    config.roots.push_back({pki::certificate_to_pem(root.get()), trust.bundle_root_trust_domains});
  config.roots.insert(config.roots.end(), trust.extra_roots.begin(), trust.extra_roots.end());
  return config;
}

std::vector<std::pair<std::string, std::string>> mismatched_layout_files(const fs::path& dir, const LayoutOptions& options) {
  return disagreeing_files(dir, options, read_bundle_files(dir, options), true);
}

namespace {

// The certificates of a chain or trust file that consists only of
// certificates the caller already holds, each in the very PEM meshca writes
// for it (the bytes are fully determined, so parsing them would give back the
// same certificates): nothing is parsed. nullopt for anything else, which is
// then parsed and judged as usual.
std::optional<std::vector<pki::X509Ptr>> known_certificates(std::string_view pem, const std::vector<const X509*>& known) {
  std::vector<std::pair<std::string, const X509*>> pems;
  pems.reserve(known.size());
  for (const X509* cert : known) pems.emplace_back(pki::certificate_to_pem(cert), cert);
  std::vector<pki::X509Ptr> certs;
  while (!pem.empty()) {
    auto match = std::find_if(pems.begin(), pems.end(), [&](const auto& p) { return pem.starts_with(p.first); });
    if (match == pems.end()) return std::nullopt;
    certs.push_back(pki::duplicate(match->second));
    pem.remove_prefix(match->first.size());
  }
  if (certs.empty()) return std::nullopt;
  return certs;
}

}  // namespace

IstioBundle read_layout_bundle(const fs::path& dir, const LayoutOptions& options, ManifestCheck manifests,
                               const std::vector<const X509*>& known) {
  IstioBundleFiles files = read_bundle_files(dir, options);
  auto problems = disagreeing_files(dir, options, files, manifests == ManifestCheck::verify);
  if (!problems.empty()) throw Error(ErrorKind::invalid_input, problems.front().second, problems.front().first);
  IstioBundle bundle;
  for (const FileSpec* spec : selected_files(options)) {
    std::error_code ec;
    bundle.has_manifest |= !is_material(spec->content) && !is_trust_file(spec->content) && fs::is_regular_file(dir / spec->path, ec);
  }
  const Layout from = primary_layout(options);
  auto where = [&](Content c) { return (dir / material_file(from, c)->path).string(); };
  bundle.ca_cert = pki::certificate_from_pem(files.ca_cert, where(Content::chain));
  if (options.key_custody == KeyCustody::bundle && !options.public_copy)
    bundle.ca_key = pki::private_key_from_pem(files.ca_key.view(), where(Content::key));
  std::vector<const X509*> held = known;
  held.push_back(bundle.ca_cert.get());
  auto chain = known_certificates(files.cert_chain, held);
  bundle.cert_chain = chain ? std::move(*chain) : pki::certificates_from_pem(files.cert_chain, where(Content::chain));
  auto roots = known_certificates(files.root_cert, held);
  bundle.roots = roots ? std::move(*roots) : pki::certificates_from_pem(files.root_cert, where(Content::roots));
  bundle.ca_crl = std::move(files.ca_crl);
  bundle.intermediate_crl = std::move(files.intermediate_crl);
  return bundle;
}

pki::X509Ptr read_layout_ca_certificate(const fs::path& dir, const LayoutOptions& options) {
  // The CA certificate opens the chain file of every layout.
  fs::path path = dir / material_file(primary_layout(options), Content::chain)->path;
  return std::move(pki::certificates_from_pem(read_file(path, kMaxBundleFile), path.string()).front());
}

}  // namespace meshca::output_layout
