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
  p.key_usage = root.key_usage;
  return p;
}

pki::CertificateProfile intermediate_profile(const MeshPlan& mesh, const ClusterPlan& cluster, UnixTime ceremony_time) {
  pki::CertificateProfile p;
  p.subject = cluster.intermediate.subject;
  auto window = cluster.intermediate.validity.resolve(ceremony_time);
  p.not_before = window.not_before;
  p.not_after = window.not_after;
  p.is_ca = true;
  // The meshca profile: pathLen 0 and digitalSignature, keyCertSign,
  // cRLSign (digitalSignature as Istio's own tools/certs recipe sets it).
  p.path_len = cluster.intermediate.path_len;
  p.key_usage = cluster.intermediate.key_usage;
  p.dns_names = cluster.intermediate.dns_names;
  if (cluster.intermediate.name_constraints == NameConstraintsMode::trust_domain) {
    p.permitted_uri_hosts = {mesh.trust_domain};
  }
  return p;
}

}  // namespace meshca::ceremony
