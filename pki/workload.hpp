// What a verifying peer sees: an in-memory workload certificate issued the
// way istiod issues one from a plugged-in CA, and a peer-side check of it.
//
// issue_workload_leaf() mirrors istiod's CSR signing: a fresh P-256 key, an
// empty subject, a critical URI SAN `spiffe://<trust domain>/ns/<ns>/sa/<sa>`,
// keyUsage digitalSignature+keyEncipherment, EKU serverAuth+clientAuth, AKI
// from the CA's SKI, 24 hours clipped to the CA's validity, signed with the
// bundle's ca-key. verify_as_peer() is X509_verify_cert with root-cert.pem as
// the trust store and cert-chain.pem as untrusted certificates, strict, for
// both the TLS server and the TLS client purpose (Envoy checks the EKU).
// Nothing here is written to disk.
#pragma once

#include <string>
#include <vector>

#include "core/time.hpp"
#include "pki/handles.hpp"
#include "pki/verify.hpp"

namespace meshca::pki {

std::string spiffe_workload_id(const std::string& trust_domain, const std::string& ns = "default",
                               const std::string& service_account = "default");

X509Ptr issue_workload_leaf(const X509* ca_cert, EVP_PKEY* ca_key, const std::string& spiffe_id, UnixTime at);

// tls_server_and_client: one verification that passes exactly when both
// purposes pass (its error names neither: ask again for the one that fails).
enum class PeerPurpose { tls_server, tls_client, tls_server_and_client };

ChainVerdict verify_as_peer(const X509* leaf, const std::vector<const X509*>& untrusted,
                            const std::vector<const X509*>& roots, UnixTime at, PeerPurpose purpose);

}  // namespace meshca::pki
