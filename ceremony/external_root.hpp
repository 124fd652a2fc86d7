// A mesh root certified by the corporate CA (`root.issuer: external`,
// docs/ceremony-runbook.md, "A root under the corporate CA").
//
//   meshca root csr     create_root_csr(): opens (or creates) the root key
//                       as the plan says and writes OUT/root/root.csr.pem
//   (the corporate CA signs the CSR with its own process)
//   meshca root import  import_root(): checks the certificate and its chain,
//                       then writes OUT/root/root-cert.pem and
//                       OUT/root/issuer-chain.pem (the corporate CAs above
//                       the root, the anchor last)
//   meshca ceremony run issues the intermediates under the imported root
//
// Guarantees: both commands take the OUT lock, check OUT's tree, never
// overwrite a file and record a transcript session (a failure too, once the
// session is open). import_root() writes nothing before every check of
// external_root_conformance() passed (subject, key algorithm, CA:TRUE,
// keyUsage, the pathLen room for the plan's hierarchy, strict chain to the
// pinned anchor, every planned intermediate inside the validity of the
// root and of every corporate CA) and the key store's public key is the
// certificate's. Errors: invalid_input for a plan without an external root,
// a certificate or chain that does not pass the checks; key_store for the
// key; output for OUT (an existing file, the lock).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "ceremony/issuance.hpp"
#include "output_layout/istio_cacerts.hpp"
#include "pki/handles.hpp"
#include "plan/plan.hpp"

namespace meshca::ceremony {

inline constexpr const char* kRootCsrFile = "root.csr.pem";
using output_layout::kIssuerChainFile;

// The imported root and the corporate chain above it.
struct ExternalRoot {
  pki::X509Ptr root;
  std::vector<pki::X509Ptr> issuer_chain;  // the root's issuer first, the anchor last
  std::vector<const X509*> chain() const;  // issuer_chain, borrowed
};

// OUT/root/root-cert.pem and OUT/root/issuer-chain.pem. Error(output) with
// the fix (root csr, then root import) when the root was not imported.
ExternalRoot load_external_root(const std::filesystem::path& out);

// `certs` ordered as the path from `cert` upward: each one's issuer next,
// ending at the first self-signed certificate. Error(invalid_input) when a
// certificate of `certs` is not on that path.
std::vector<pki::X509Ptr> order_issuer_chain(const X509* cert, std::vector<pki::X509Ptr> certs, const std::string& where);

struct RootCsrResult {
  std::filesystem::path csr_file;
  std::string key_store;
  bool key_generated = false;
  std::string spki_sha256;
  std::string transcript_head;
};

RootCsrResult create_root_csr(const Plan& plan, const SigningSessionOptions& options);

struct RootImportResult {
  CertificateRecord root;
  std::vector<CertificateRecord> issuer_chain;
  std::filesystem::path root_file, chain_file;
  std::string transcript_head;
};

RootImportResult import_root(const Plan& plan, const SigningSessionOptions& options, const std::filesystem::path& cert_file,
                             const std::filesystem::path& chain_file);

}  // namespace meshca::ceremony
