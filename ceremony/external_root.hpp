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
// The corporate CAs' CRLs (with revocation.crl), appended to every bundle's
// ca-crl.pem: see issuer_crls_conformance() (ceremony/conformance.hpp).
inline constexpr const char* kIssuerCrlsFile = "issuer-crls.pem";
using output_layout::kIssuerChainFile;

// A mesh root as its bundles carry it: the root certificate and, when the
// corporate CA certified it, the corporate CAs above it. A self-signed root
// has no issuer chain and is its own anchor.
struct ExternalRoot {
  pki::X509Ptr root;
  std::vector<pki::X509Ptr> issuer_chain;  // the root's issuer first, the anchor last
  std::string issuer_crls;                 // PEM, OUT/root/issuer-crls.pem; "" without CRLs
  std::vector<const X509*> chain() const;  // issuer_chain, borrowed
  // What a peer trusts: the corporate anchor, or the root itself.
  const X509* anchor() const { return issuer_chain.empty() ? root.get() : issuer_chain.back().get(); }
  // cert-chain.pem above an intermediate it issued: the root, then the
  // corporate CAs up to and including the anchor.
  std::vector<const X509*> chain_from_root() const;
  // What a verifier needs between an intermediate the root issued and the
  // anchor: the root and the corporate CAs but the anchor; nothing for a
  // self-signed root.
  std::vector<const X509*> untrusted() const;
};

// OUT/root/root-cert.pem and OUT/root/issuer-chain.pem (and
// issuer-crls.pem when there). Error(output) with the fix (root csr, then
// root import) when the root was not imported.
ExternalRoot load_external_root(const std::filesystem::path& out);

// Which of the plan's roots a root command works on: `root`, or a
// rotation's new root under the corporate CA (rotation.new_root with
// issuer: external), prepared in a directory of its own (--new-root) that
// `meshca rotate phases --new-root-dir` then reads.
enum class RootTarget { root, rotation_new_root };

// With revocation.crl every bundle of a root under the corporate CA carries
// the corporate CAs' CRLs (root.issuer_crls, from OUT/root/issuer-crls.pem):
// Error(invalid_input) naming each problem (issuer_crls_conformance at
// `now`) and the fix, `meshca crl import` (with --new-root for a
// rotation's new root in its own directory `out`), when they are missing or
// not valid now. Every writer of bundles asks this before writing one.
void refuse_stale_issuer_crls(const ExternalRoot& root, const std::filesystem::path& out, UnixTime now,
                              RootTarget target = RootTarget::root);

const RootPlan& target_root(const Plan& plan, RootTarget target);
std::string target_field(RootTarget target);  // "root" or "rotation.new_root"

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

RootCsrResult create_root_csr(const Plan& plan, const SigningSessionOptions& options, RootTarget target = RootTarget::root);

struct RootImportResult {
  CertificateRecord root;
  std::vector<CertificateRecord> issuer_chain;
  std::filesystem::path root_file, chain_file, crls_file;  // crls_file: empty without CRLs
  std::string transcript_head;
};

// `crl_file`: the corporate CAs' CRLs, required exactly when the plan
// enables CRLs (written as root/issuer-crls.pem); empty path: none.
RootImportResult import_root(const Plan& plan, const SigningSessionOptions& options, const std::filesystem::path& cert_file,
                             const std::filesystem::path& chain_file, const std::filesystem::path& crl_file,
                             RootTarget target = RootTarget::root);

// `meshca crl import --new-root`: fresh corporate CRLs for a rotation's new
// root under the corporate CA, in the directory `root import --new-root`
// wrote (no bundles there yet: the rotation copies them into its phases).
// Checked as the import checks them (issuer_crls_conformance at now), then
// DIR/root/issuer-crls.pem is replaced atomically and the session recorded
// in DIR's transcript. No key is opened. Errors: usage without
// revocation.crl; output without an imported new root; invalid_input for
// CRLs that do not pass (nothing written).
struct NewRootCrlsResult {
  std::filesystem::path crls_file;
  std::string sha256;
  std::string transcript_head;
};
NewRootCrlsResult import_new_root_crls(const Plan& plan, const SigningSessionOptions& options, const std::filesystem::path& crl_file);

}  // namespace meshca::ceremony
