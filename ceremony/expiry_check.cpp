#include "ceremony/expiry_check.hpp"

#include <algorithm>
#include <filesystem>

#include "output_layout/istio_cacerts.hpp"
#include "pki/certificate.hpp"
#include "pki/crl.hpp"
#include "pki/inspect.hpp"
#include "verify/bundle_source.hpp"

namespace meshca::ceremony {
namespace {

namespace fs = std::filesystem;

// The location every file agrees on; none when they disagree (a root, or
// its CRL, in every bundle) or for a root.
ExpiryLocation common_location(ExpiryRole role, const std::vector<std::string>& files) {
  if (role == ExpiryRole::root || files.empty()) return {};
  ExpiryLocation first = expiry_location(files.front());
  for (const auto& f : files)
    if (!(expiry_location(f) == first)) return {};
  return first;
}

// Absolute and normal, so "." and ".." name real directories (the path as
// given when the working directory cannot be read).
fs::path normal_path(const std::string& file) {
  std::error_code ec;
  fs::path p = fs::absolute(fs::path(file), ec);
  return (ec ? fs::path(file) : p).lexically_normal();
}

struct ItemDates {
  UnixTime at, horizon, due_by, end;
};

ExpiryItem expiry_item(ExpiryRole role, const std::vector<std::string>& files, std::string subject, std::string serial,
                       std::string fingerprint, const ItemDates& d) {
  ExpiryLocation where = common_location(role, files);
  return {.role = role,
          .files = files,
          .subject = std::move(subject),
          .mesh = std::move(where.mesh),
          .cluster = std::move(where.cluster),
          .serial = std::move(serial),
          .fingerprint = std::move(fingerprint),
          .end = d.end,
          .due_by = d.due_by,
          .status = expiry_status(d.at, d.horizon, d.due_by, d.end),
          .days_left = pki::days_between(d.at, d.end)};
}

}  // namespace

ExpiryLocation expiry_location(const std::string& file) {
  // A Secret's entry: "DIR/<mesh>/<cluster>.yaml:data.ca-cert.pem" (or
  // "...yaml#namespace/name:data..." for one of several Secrets).
  for (const char* field : {":data.", ":stringData."}) {
    const auto at = file.rfind(field);
    if (at == std::string::npos) continue;
    std::string manifest = file.substr(0, at);
    if (const auto hash = manifest.rfind('#'); hash != std::string::npos) {
      const std::string before = manifest.substr(0, hash);
      if (before.ends_with(".yaml") || before.ends_with(".yml")) manifest = before;
    }
    fs::path m = normal_path(manifest);
    // A bundle's own manifest names its directory, like the PEM files beside it.
    if (m.filename() == output_layout::kSecretManifestFile) return expiry_location((m.parent_path() / output_layout::kCaCertFile).string());
    return {m.parent_path().filename().string(), m.stem().string()};
  }
  fs::path dir = normal_path(file).parent_path();
  if (dir.filename() == verify::kRootDirectory || dir == dir.root_path()) return {};
  return {dir.parent_path().filename().string(), dir.filename().string()};
}

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
    report.items.push_back(expiry_item(
        role, c.files, pki::subject_string(cert), pki::serial_hex(cert), pki::sha256_fingerprint(cert),
        {.at = at, .horizon = report.horizon, .due_by = root ? root_rotate_by(nb, na) : intermediate_renew_by(nb, na), .end = na}));
  }
  for (const auto& c : inventory.crls) {
    const auto next_update = pki::crl_next_update(c.crl.get());
    if (!next_update) {
      report.notes.push_back(c.files.front() + ": the CRL of " + pki::crl_issuer_string(c.crl.get()) +
                             " has no nextUpdate: it never goes stale, nothing to check");
      continue;
    }
    const X509_CRL* crl = c.crl.get();
    report.items.push_back(
        expiry_item(ExpiryRole::crl, c.files, pki::crl_issuer_string(crl), pki::crl_number(crl), pki::crl_sha256_fingerprint(crl),
                    {.at = at, .horizon = at, .due_by = crl_refresh_by(pki::crl_this_update(crl), *next_update), .end = *next_update}));
  }
  return report;
}

}  // namespace meshca::ceremony
