// Revocation: the ledger of revoked certificates and the CRLs made from it.
//
// When the plan sets `revocation.crl`, every bundle carries `ca-crl.pem`:
// the CRL of its intermediate (signed with the bundle's key) followed by the
// root's CRL (signed through the root key store), the complete set Istio
// requires (each certificate of the chain has signed one). What is revoked
// lives in OUT/revocations.json, an append-only ledger; CRLs are always
// regenerated from it, with increasing CRL numbers per issuing certificate.
//
// A root under the corporate CA (root.issuer: external) adds the corporate
// CAs' CRLs (OUT/root/issuer-crls.pem) after the root's in every ca-crl.pem.
//
// run_revocation() is `meshca revoke` (one certificate, then new CRLs for
// its issuer and every bundle that carries them), `meshca crl refresh`
// (every CRL reissued with a fresh thisUpdate/nextUpdate) and `meshca crl
// import` (the corporate CAs' new CRLs into every bundle). All are signing
// sessions: plan digest approval, a transcript session, bundles rewritten
// atomically (a staged copy swapped in), SHA256SUMS rewritten.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ceremony/issuance.hpp"
#include "pki/crl.hpp"
#include "plan/plan.hpp"

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

// A revocation or CRL-refresh session that has recorded its intent in the
// ledger and not yet published every CRL it owes (write-ahead). While it is
// there, no other command issues CRLs from this ledger: `meshca revoke
// --resume` finishes it.
struct PendingCrlSession {
  std::string session;  // "revocation" or "crl-refresh"
  std::string target;   // "serial 1A2B (issuer root)" or ""
  UnixTime started = 0;
};

struct RevocationLedger {
  std::vector<LedgerEntry> revoked;
  // Issuer fingerprint -> last CRL number issued or reserved. A number is
  // recorded here before a CRL carrying it is published, so no number is
  // ever used for two different CRLs, even across a crash.
  std::map<std::string, long> crl_numbers;
  std::optional<PendingCrlSession> pending;

  // OUT/revocations.json, or an empty ledger when it does not exist.
  // Error(invalid_input) naming the file when it is damaged.
  static RevocationLedger load(const std::filesystem::path& out);
  void save(const std::filesystem::path& out) const;  // atomically, 0644

  const LedgerEntry* find(const std::string& issuer_sha256, const std::string& serial) const;
  // The next CRL number for `issuer`, recorded as issued.
  long next_crl_number(const X509* issuer);
};

// What the CRL of `issuer` numbered `number` says: every ledger entry for
// it, valid from `now` for the plan's next_update. The one answer to "what
// must this CA's CRL list", for the CRLs the room signs, for those a
// public-only bundle leaves to `bundle assemble`, and for the audit.
pki::CrlProfile ledger_crl_content(const RevocationLedger& ledger, const X509* issuer, const RevocationPlan& plan, UnixTime now,
                                   long number);

// The CRL of `issuer` (signed by `signer`) with ledger_crl_content(); checked
// (signature, issuer) before it is returned as PEM.
// The number is `reserved` when the caller recorded it in the ledger ahead
// of time (write-ahead), and otherwise the issuer's next number.
std::string issue_ledger_crl(RevocationLedger& ledger, const X509* issuer, EVP_PKEY* signer,
                             const RevocationPlan& plan, UnixTime now, std::optional<long> reserved = std::nullopt);

// Error(output) naming the session when OUT's ledger holds an unfinished
// revocation session: nothing may issue CRLs until it is resumed.
void refuse_unfinished_revocation(const std::filesystem::path& out);

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
  // `meshca revoke --resume`: finish the unfinished session the ledger
  // records (every CRL reissued from the ledger, which already holds its
  // revocation), then clear it.
  bool resume = false;
  // `meshca crl import`: the corporate CAs' new CRLs for a root under the
  // corporate CA (root/issuer-crls.pem), checked, written, and every
  // bundle's ca-crl.pem rewritten with them; no root key is opened.
  std::filesystem::path issuer_crls_file;
};

struct RevocationResult : SessionRecord {
  std::optional<LedgerEntry> revoked;  // what this run added
  bool already_revoked = false;        // the target was in the ledger: nothing written
  bool root_crl_issued = false;
  bool issuer_crls_imported = false;
  std::size_t bundles_rewritten = 0;
};

// Error(invalid_input) when the plan does not enable CRLs, the target is not
// a certificate of this PKI (or is the root itself), or OUT is not this
// plan's output; key store errors exit 4; output errors exit 5.
RevocationResult run_revocation(const Plan& plan, const RevocationOptions& options);

}  // namespace meshca::ceremony
