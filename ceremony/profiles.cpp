#include "ceremony/profiles.hpp"

namespace meshca::ceremony {

pki::CertificateProfile root_profile(const RootPlan& root, UnixTime ceremony_time) {
  pki::CertificateProfile p;
  p.subject = root.subject;
  auto window = root.validity.resolve(ceremony_time);
  p.not_before = window.not_before;
  p.not_after = window.not_after;
  p.is_ca = true;
  p.path_len = root.path_len;
  p.key_usage = {.digital_signature = false, .key_cert_sign = true, .crl_sign = true};
  return p;
}

pki::CertificateProfile intermediate_profile(const MeshPlan& mesh, const ClusterPlan& cluster, UnixTime ceremony_time) {
  pki::CertificateProfile p;
  p.subject = cluster.intermediate.subject;
  auto window = cluster.intermediate.validity.resolve(ceremony_time);
  p.not_before = window.not_before;
  p.not_after = window.not_after;
  p.is_ca = true;
  p.path_len = 0;
  // digitalSignature as DESIGN.md and Istio's own tools/certs recipe set it,
  // so bundles read the same to teams migrating from that recipe.
  p.key_usage = {.digital_signature = true, .key_cert_sign = true, .crl_sign = true};
  if (cluster.intermediate.name_constraints == NameConstraintsMode::trust_domain) {
    p.permitted_uri_hosts = {mesh.trust_domain};
  }
  return p;
}

}  // namespace meshca::ceremony
