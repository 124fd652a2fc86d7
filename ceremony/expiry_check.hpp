// `meshca check-expiry` as one call: every certificate and CRL of the
// inputs once (verify/certificate_inventory: the root of an OUT is in every
// bundle, and its dates depend on it alone), each with the date it must be
// replaced by, from the one rule `meshca plan show` uses too (plan/expiry),
// and its status at a time. It lives in ceremony/ because it needs both
// the inventory (verify/) and the rule (plan/).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.hpp"
#include "plan/expiry.hpp"
#include "verify/certificate_inventory.hpp"

namespace meshca::ceremony {

enum class ExpiryRole { root, intermediate, leaf, crl };
std::string_view expiry_role_name(ExpiryRole role);  // "root", "intermediate", "leaf", "crl"

struct ExpiryItem {
  ExpiryRole role = ExpiryRole::leaf;
  std::vector<std::string> files;  // every file that holds it
  std::string subject;             // a CRL's issuer
  // Where it serves, read from where its files lie (expiry_location): empty
  // for a root, and for anything held by several clusters (a root's CRL).
  std::string mesh, cluster;
  std::string serial;              // hex; a CRL's cRLNumber in decimal ("" without one)
  std::string fingerprint;         // SHA-256 of the DER, "AB:CD:..."
  UnixTime end = 0;                // notAfter; a CRL's nextUpdate
  UnixTime due_by = 0;             // renew, rotate or refresh by
  ExpiryStatus status = ExpiryStatus::ok;
  std::int64_t days_left = 0;  // to `end`
};

struct ExpiryReport {
  UnixTime at = 0;
  UnixTime horizon = 0;                // at + the window
  std::vector<ExpiryItem> items;       // the certificates in inventory order, then the CRLs
  std::vector<std::string> notes;      // CRLs without nextUpdate: they never go stale, nothing to check
  std::size_t needing_action() const;  // items whose status is not OK
};

// The mesh and cluster a file serves, from meshca's layouts: a bundle
// directory OUT/<mesh>/<cluster>/FILE (or its cacerts.yaml), and a deployed
// Secret DIR/<mesh>/<cluster>.yaml (entries shown as "PATH:data.FILE", the
// naming `meshca audit --deployed` reads). Empty for a root directory.
struct ExpiryLocation {
  std::string mesh, cluster;
  bool operator==(const ExpiryLocation&) const = default;
};
ExpiryLocation expiry_location(const std::string& file);

// A certificate is EXPIRING when it ends before `at` + `window`; a CRL lives
// days or weeks, usually less than the window, so its own refresh-by date
// says when it is due and the window does not apply to it.
ExpiryReport check_expiry(const verify::CertificateInventory& inventory, UnixTime at, Duration window);

}  // namespace meshca::ceremony
