#include "output_layout/trust_config.hpp"

namespace meshca::output_layout {
namespace {

// A YAML list of quoted strings at `indent` ("- \"a\"" lines). Trust
// domains are plain ASCII (plan validation), so quoting needs no escapes.
std::string string_list(const std::vector<std::string>& items, std::size_t indent) {
  std::string out;
  for (const auto& item : items) out += std::string(indent, ' ') + "- \"" + item + "\"\n";
  return out;
}

// Istio's meshConfig keys for `trust`, the `meshConfig:` line at `indent`
// (istio/api mesh/v1alpha1/config.proto: MeshConfig.ca_certificates is a
// list of CertificateData {pem, spiffe_bundle_url, cert_signers,
// trust_domains}; trust_domain_aliases a list of strings; trust_domain a
// string).
std::string mesh_config(const TrustConfig& trust, std::size_t indent) {
  const std::string pad(indent, ' ');
  std::string out = pad + "meshConfig:\n";
  if (!trust.trust_domain.empty()) out += pad + "  trustDomain: \"" + trust.trust_domain + "\"\n";
  out += pad + "  caCertificates:\n";
  for (const auto& root : trust.roots) {
    out += pad + "  - pem: |\n" + literal_block_lines(root.pem, indent + 6);
    if (!root.trust_domains.empty()) out += pad + "    trustDomains:\n" + string_list(root.trust_domains, indent + 4);
  }
  if (!trust.trust_domain_aliases.empty()) {
    out += pad + "  trustDomainAliases:\n" + string_list(trust.trust_domain_aliases, indent + 2);
  }
  return out;
}

}  // namespace

std::string render_istio_operator_overlay(const TrustConfig& trust, const ManifestMetadata& meta, std::string_view origin) {
  return render_object(std::string(origin) + " Merge into the IstioOperator that installs this cluster's Istio (istioctl install -f).",
                       "install.istio.io/v1alpha1", "IstioOperator", meta, "spec:\n" + mesh_config(trust, 2));
}

std::string render_istiod_values(const TrustConfig& trust, std::string_view origin) {
  return "# " + std::string(origin) + "\n# Values for the istiod Helm chart (helm upgrade istiod istio/istiod -f this file).\n" +
         mesh_config(trust, 0);
}

std::string render_trust_manager_bundle(const TrustConfig& trust, const ManifestMetadata& meta, std::string_view origin) {
  std::string body = "spec:\n  sources:\n";
  for (const auto& root : trust.roots) body += "  - inLine: |\n" + literal_block_lines(root.pem, 6);
  body += "  target:\n    configMap:\n      key: \"" + std::string(kTrustManagerTargetKey) + "\"\n";
  return render_object(std::string(origin) + " trust-manager copies these roots into every namespace.", "trust.cert-manager.io/v1alpha1",
                       "Bundle", meta, body);
}

std::string render_trust_bundle_pem(const TrustConfig& trust) {
  std::string out;
  for (const auto& root : trust.roots) out += root.pem;
  return out;
}

}  // namespace meshca::output_layout
