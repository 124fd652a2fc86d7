// Certificate revocation lists as Istio carries them in `ca-crl.pem`.
//
// istiod (1.22+) distributes the plugged-in CA's `ca-crl.pem` to workloads,
// which check peer certificates against it; the file holds one CRL per CA
// of the chain, each signed by that CA. This module parses CRL blocks,
// answers who signed a CRL, whether it is fresh at a given time and which
// serials it revokes, and issues CRLs (used by tests and by rotation).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.hpp"
#include "pki/handles.hpp"
#include "pki/pem_scan.hpp"
#include "pki/verify.hpp"

namespace meshca::pki {

// nullptr when the block is not one whole "X509 CRL".
X509CrlPtr crl_from_der(const PemBlock& block);

std::string crl_issuer_string(const X509_CRL* crl);
UnixTime crl_this_update(const X509_CRL* crl);
std::optional<UnixTime> crl_next_update(const X509_CRL* crl);
// The cRLNumber extension in decimal, or "" when the CRL has none (or one
// beyond 64 bits); the SHA-256 of the DER, "AB:CD:..." like a certificate's.
std::string crl_number(const X509_CRL* crl);
std::string crl_sha256_fingerprint(const X509_CRL* crl);

// True when `issuer`'s public key verifies the CRL's signature and the CRL's
// issuer name is the certificate's subject.
bool crl_signed_by(const X509_CRL* crl, const X509* issuer);

// True when the CRL lists the certificate's serial number.
bool crl_revokes(const X509_CRL* crl, const X509* cert);
// How many serial numbers the CRL lists.
std::size_t crl_revoked_count(const X509_CRL* crl);

// verify_chain with every CRL in the store and X509_V_FLAG_CRL_CHECK |
// X509_V_FLAG_CRL_CHECK_ALL: what `openssl verify -crl_check_all` says.
ChainVerdict verify_chain_with_crls(const X509* target, const std::vector<const X509*>& untrusted,
                                    const std::vector<const X509*>& roots, const std::vector<const X509_CRL*>& crls,
                                    UnixTime at);

// RFC 5280 5.3.1 reason codes meshca accepts (certificateHold is left out:
// a hold cannot be expressed in a plan-driven, append-only ledger).
enum class RevocationReason {
  unspecified = 0,
  key_compromise = 1,
  ca_compromise = 2,
  affiliation_changed = 3,
  superseded = 4,
  cessation_of_operation = 5,
  privilege_withdrawn = 9,
};
// "keyCompromise" ... as RFC 5280 spells them; nullopt for anything else.
std::optional<RevocationReason> parse_revocation_reason(std::string_view name);
std::string_view revocation_reason_name(RevocationReason reason);
std::string revocation_reason_choices();

// One entry of a CRL: a serial number (hex, as serial_hex prints it).
struct RevokedSerial {
  std::string serial_hex;
  UnixTime revoked_at = 0;
  RevocationReason reason = RevocationReason::unspecified;
};

struct CrlProfile {
  UnixTime this_update = 0;
  UnixTime next_update = 0;
  std::vector<const X509*> revoked;  // certificates to list (their serials), revoked at this_update
  std::vector<RevokedSerial> entries{};  // serials to list with their own time and reason
  long number = 1;                     // the cRLNumber extension
};

// The serial number of `cert` and of an entry compare equal ("0A" == "A").
bool same_serial(std::string_view a_hex, std::string_view b_hex);

// A v2 CRL signed by `signer` as `issuer`, with an AKI, a CRL number and a
// reasonCode on each entry whose reason is not `unspecified`.
X509CrlPtr issue_crl(const CrlProfile& profile, const X509* issuer, EVP_PKEY* signer);
std::string crl_to_pem(const X509_CRL* crl);

}  // namespace meshca::pki
