// Trust configuration: the files that make a cluster trust roots besides
// the one its own bundle chains to (federated meshes, external roots), for
// the software that distributes trust (docs/output-layouts.md, "Trust
// configuration"):
//
//   trust/istio-operator.yaml        IstioOperator overlay (install.istio.io/v1alpha1):
//                                    spec.meshConfig.caCertificates[] {pem, trustDomains},
//                                    spec.meshConfig.trustDomainAliases and .trustDomain
//   trust/istiod-values.yaml         the same meshConfig keys as values of the istiod Helm chart
//   trust/trust-manager-bundle.yaml  trust-manager Bundle (trust.cert-manager.io/v1alpha1):
//                                    one spec.sources[].inLine per root, target ConfigMap key
//   trust/trust-bundle.pem           every root, concatenated
//
// Everything is a function of a TrustConfig (the roots the cluster must
// trust, each with the trust domains it vouches for, and the trust domain
// aliases), not of the plan: the federation (plan/federation.hpp) builds
// one, and a rotation's multi-root phases can build another. Rendering is
// byte for byte deterministic, so a file is checked by rendering it again.
#pragma once

#include <string>
#include <vector>

#include "output_layout/manifests.hpp"

namespace meshca::output_layout {

struct TrustedRoot {
  std::string pem;                         // one certificate, as meshca writes PEM
  std::vector<std::string> trust_domains;  // the SPIFFE trust domains it vouches for; empty: all
  bool operator==(const TrustedRoot&) const = default;
};

struct TrustConfig {
  std::vector<TrustedRoot> roots;                 // in the order they are listed
  std::vector<std::string> trust_domain_aliases;  // meshConfig.trustDomainAliases; empty: not written
  // meshConfig.trustDomain, written when a trust domain migration (a
  // rotation from an adopted CA of another trust domain) sets it per phase;
  // empty: not written.
  std::string trust_domain;
  bool operator==(const TrustConfig&) const = default;
};

inline constexpr const char* kIstioOperatorFile = "trust/istio-operator.yaml";
inline constexpr const char* kIstiodValuesFile = "trust/istiod-values.yaml";
inline constexpr const char* kTrustManagerBundleFile = "trust/trust-manager-bundle.yaml";
inline constexpr const char* kTrustBundleFile = "trust/trust-bundle.pem";
// The key of the ConfigMap trust-manager writes into every namespace.
inline constexpr const char* kTrustManagerTargetKey = "root-certs.pem";

// `meta` names the object (IstioOperator: its namespace is Istio's);
// `origin` is one comment line without '#' saying who made the file.
std::string render_istio_operator_overlay(const TrustConfig& trust, const ManifestMetadata& meta, std::string_view origin);
std::string render_istiod_values(const TrustConfig& trust, std::string_view origin);
std::string render_trust_manager_bundle(const TrustConfig& trust, const ManifestMetadata& meta, std::string_view origin);
std::string render_trust_bundle_pem(const TrustConfig& trust);

}  // namespace meshca::output_layout
