// Revocation: the ledger of revoked certificates and the CRLs made from it.
//
// When the plan sets `revocation.crl`, every bundle carries `ca-crl.pem`:
// the CRL of its intermediate (signed with the bundle's key) followed by the
// root's CRL (signed through the root key store), the complete set Istio
// requires (each certificate of the chain has signed one). What is revoked
// lives in OUT/revocations.json, an append-only ledger; CRLs are always
// regenerated from it, with increasing CRL numbers per issuing certificate.
//
// run_revocation() is `meshca revoke` (one certificate, then new CRLs for
// its issuer and every bundle that carries them) and `meshca crl refresh`
// (every CRL reissued with a fresh thisUpdate/nextUpdate). Both are signing
// sessions: plan digest approval, a transcript session, bundles rewritten
// atomically (a staged copy swapped in), SHA256SUMS rewritten.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ceremony/issuance.hpp"
#include "ceremony/plan.hpp"
#include "pki/crl.hpp"

namespace meshca::ceremony {

inline constexpr const char* kRevocationLedgerFile = "revocations.json";
inline constexpr const char* kRootCrlFile = "root-crl.pem";  // in OUT/root/

struct LedgerEntry {
  std::string issuer;         // "root" or "mesh/cluster"
  std::string issuer_sha256;  // fingerprint of the issuing CA certificate
  std::string serial;         // hex, as pki::serial_hex prints it
  std::string subject;        // "" when unknown (a workload certificate named by serial)
  pki::RevocationReason reason = pki::RevocationReason::unspecified;
  UnixTime revoked_at = 0;
};

struct RevocationLedger {
  std::vector<LedgerEntry> revoked;
  std::map<std::string, long> crl_numbers;  // issuer fingerprint -> last CRL number issued

  // OUT/revocations.json, or an empty ledger when it does not exist.
  // Error(invalid_input) naming the file when it is damaged.
  static RevocationLedger load(const std::filesystem::path& out);
  void save(const std::filesystem::path& out) const;  // atomically, 0644

  const LedgerEntry* find(const std::string& issuer_sha256, const std::string& serial) const;
  // The next CRL number for `issuer`, recorded as issued.
  long next_crl_number(const X509* issuer);
};

// The CRL of `issuer` (signed by `signer`) listing the ledger's entries for
// it, valid from `now` for the plan's next_update; checked (signature,
// issuer, freshness) before it is returned as PEM.
std::string issue_ledger_crl(RevocationLedger& ledger, const X509* issuer, EVP_PKEY* signer,
                             const RevocationPlan& plan, UnixTime now);

// OUT/root/root-crl.pem when it is signed by `root` and still fresh at `now`.
std::optional<std::string> current_root_crl(const std::filesystem::path& out, const X509* root, UnixTime now);

struct RevokeTarget {
  std::optional<std::string> serial;           // --serial HEX
  std::optional<std::filesystem::path> cert;   // --cert FILE
  std::string issuer;                          // --issuer root|MESH/CLUSTER ("" to find it)
  pki::RevocationReason reason = pki::RevocationReason::unspecified;
};

struct RevocationOptions : SigningSessionOptions {
  std::optional<RevokeTarget> target;  // nullopt: `meshca crl refresh`
};

struct RevocationResult {
  std::optional<LedgerEntry> revoked;  // what this run added
  bool already_revoked = false;        // the target was in the ledger: nothing written
  bool root_crl_issued = false;
  std::size_t bundles_rewritten = 0;
  std::size_t files_checksummed = 0;
  std::string plan_digest;
  std::string transcript_head;
};

// Error(invalid_input) when the plan does not enable CRLs, the target is not
// a certificate of this PKI (or is the root itself), or OUT is not this
// plan's output; key store errors exit 4; output errors exit 5.
RevocationResult run_revocation(const Plan& plan, const RevocationOptions& options);

}  // namespace meshca::ceremony
