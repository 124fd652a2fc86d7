// Turns the plan's root and per-cluster intermediates into certificate
// profiles with the DESIGN.md defaults: the single place that decides which
// extensions a meshca CA certificate carries.
#pragma once

#include "ceremony/plan.hpp"
#include "pki/certificate.hpp"

namespace meshca::ceremony {

// Root: CA:TRUE with the plan's pathLen; keyCertSign + cRLSign.
pki::CertificateProfile root_profile(const RootPlan& root, UnixTime ceremony_time);

// Intermediate: CA:TRUE pathLen 0; keyCertSign + cRLSign + digitalSignature;
// URI name constraint on the mesh's trust domain when the plan asks for it.
pki::CertificateProfile intermediate_profile(const MeshPlan& mesh, const ClusterPlan& cluster, UnixTime ceremony_time);

}  // namespace meshca::ceremony
