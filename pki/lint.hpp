// Lints for CA certificates: the RFC 5280 rules for CAs plus what istiod
// requires of a plugged-in CA, run before meshca writes a certificate and
// by the verify command on bundles from anywhere.
//
// Each finding is PASS/WARN/FAIL with a stable check name, a reason and a
// hint at the fix. A certificate with any FAIL is never written.
#pragma once

#include <string>
#include <vector>

#include "core/time.hpp"
#include "pki/handles.hpp"

namespace meshca::pki {

enum class Severity { pass, warn, fail };
std::string_view severity_name(Severity s);

struct LintFinding {
  Severity severity = Severity::pass;
  std::string check;    // stable identifier, e.g. "basic-constraints"
  std::string message;  // what was found
  std::string fix;      // what to do about it ("" for PASS)
};

enum class CaRole { root, intermediate };

// Lints `cert` as a CA of `role`. `issuer` is the signing CA (the cert itself
// for a root). Only WARN and FAIL findings are returned unless
// `include_passes` is set.
// With IssuerSignature::already_verified the signature check is skipped: for
// a caller that has just verified it (the ceremony's strict chain check), so
// each certificate costs one public-key operation less.
enum class IssuerSignature { verify, already_verified };
std::vector<LintFinding> lint_ca_certificate(const X509* cert, const X509* issuer, CaRole role,
                                             bool include_passes = false,
                                             IssuerSignature signature = IssuerSignature::verify);

// The same lints without the issuer relation (signature, issuer name, AKI,
// validity nesting), for a certificate whose issuer is not at hand, e.g. the
// CA certificate of a bundle whose chain is broken.
std::vector<LintFinding> lint_ca_certificate_alone(const X509* cert, CaRole role, bool include_passes = false);

bool has_failure(const std::vector<LintFinding>& findings);

// Whether the TLS stacks of a mesh accept `key` in a CA certificate: RSA of
// 2048 to 16384 bits (Go 1.24 refuses RSA below 1024, OpenSSL's default
// security level below 2048, BoringSSL above 16384), ECDSA P-256, P-384 or
// P-521 (what Go's crypto/x509 and BoringSSL verify). meshca itself issues
// only the narrower set of key_algorithm_of().
bool consumers_accept_key(const EVP_PKEY* key);

}  // namespace meshca::pki
