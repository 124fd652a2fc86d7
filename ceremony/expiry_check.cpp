#include "ceremony/expiry_check.hpp"

#include <algorithm>

#include "pki/certificate.hpp"
#include "pki/crl.hpp"
#include "pki/inspect.hpp"

namespace meshca::ceremony {
namespace {

ExpiryItem expiry_item(ExpiryRole role, const std::vector<std::string>& files, std::string subject, UnixTime at, UnixTime horizon,
                       UnixTime due_by, UnixTime end) {
  return {.role = role,
          .files = files,
          .subject = std::move(subject),
          .end = end,
          .due_by = due_by,
          .status = expiry_status(at, horizon, due_by, end),
          .days_left = pki::days_between(at, end)};
}

}  // namespace

std::string_view expiry_role_name(ExpiryRole role) {
  // In the order of ExpiryRole.
  static constexpr std::string_view kNames[] = {"root", "intermediate", "leaf", "crl"};
  return kNames[static_cast<std::size_t>(role)];
}

std::size_t ExpiryReport::needing_action() const {
  return static_cast<std::size_t>(
      std::count_if(items.begin(), items.end(), [](const ExpiryItem& i) { return i.status != ExpiryStatus::ok; }));
}

ExpiryReport check_expiry(const verify::CertificateInventory& inventory, UnixTime at, Duration window) {
  ExpiryReport report;
  report.at = at;
  report.horizon = add_duration(at, window);
  for (const auto& c : inventory.certs) {
    const X509* cert = c.cert.get();
    const UnixTime nb = pki::not_before(cert);
    const UnixTime na = pki::not_after(cert);
    const bool root = pki::is_self_signed(cert);
    const ExpiryRole role = root ? ExpiryRole::root : pki::basic_constraints(cert).ca ? ExpiryRole::intermediate : ExpiryRole::leaf;
    report.items.push_back(expiry_item(role, c.files, pki::subject_string(cert), at, report.horizon,
                                       root ? root_rotate_by(nb, na) : intermediate_renew_by(nb, na), na));
  }
  for (const auto& c : inventory.crls) {
    const auto next_update = pki::crl_next_update(c.crl.get());
    if (!next_update) {
      report.notes.push_back(c.files.front() + ": the CRL of " + pki::crl_issuer_string(c.crl.get()) +
                             " has no nextUpdate: it never goes stale, nothing to check");
      continue;
    }
    report.items.push_back(expiry_item(ExpiryRole::crl, c.files, pki::crl_issuer_string(c.crl.get()), at, at,
                                       crl_refresh_by(pki::crl_this_update(c.crl.get()), *next_update), *next_update));
  }
  return report;
}

}  // namespace meshca::ceremony
