#include "verify/bundle_checker.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include "core/error.hpp"
#include "output_layout/istio_cacerts.hpp"
#include "pki/certificate.hpp"
#include "pki/crl.hpp"
#include "pki/inspect.hpp"
#include "pki/key.hpp"
#include "pki/pem_scan.hpp"
#include "pki/verify.hpp"
#include "pki/workload.hpp"
#include "verify/verify_checks.hpp"

// What a relying peer checks: the CRLs of the chain, and a workload certificate issued like istiod does.
namespace meshca::verify::detail {

// Every CRL of `name` is signed by one of `cas`, fresh, and revokes none
// of them; every CA of `cas` has its CRL there.
void Checker::check_crl_file(const char* name, const std::vector<pki::X509Ptr>& cas) {
  const BundleFile* f = src_.file(name);
  if (f == nullptr) return;
  std::string file = f->display;
  auto scan = pki::scan_pem(f->bytes.view());
  report_pem_issues(scan, file);
  std::vector<pki::X509CrlPtr> crls;
  for (const auto& block : scan.blocks) {
    if (!block.decoded) continue;
    auto crl = pki::crl_from_der(block);
    if (!crl) {
      add("crl", file, "block at line " + std::to_string(block.line) + " ('" + block.label + "') is not a valid X509 CRL",
          std::string("keep only CRLs in ") + name);
      continue;
    }
    crls.push_back(std::move(crl));
  }
  if (crls.empty() || cas.empty()) return;
  bool ok = true;
  // Every CRL is signed by a certificate of the chain, fresh, and revokes none of it.
  for (const auto& crl : crls) {
    const X509* signer = nullptr;
    for (const auto& c : cas)
      if (pki::crl_signed_by(crl.get(), c.get())) signer = c.get();
    std::string issuer = pki::crl_issuer_string(crl.get());
    if (signer == nullptr) {
      ok = false;
      add("crl", file, "the CRL issued by " + issuer + " is not signed by any certificate of the chain",
          "remove it or replace it with the CRL of the right CA");
      continue;
    }
    auto ku = pki::key_usage(signer);
    if (ku.present && !ku.bits.crl_sign) {
      ok = false;
      add("crl", file, issuer + " signed a CRL but its keyUsage lacks cRLSign: peers reject the CRL",
          "reissue the CA with cRLSign in keyUsage");
    }
    UnixTime this_update = pki::crl_this_update(crl.get());
    auto next_update = pki::crl_next_update(crl.get());
    if (this_update > at_) {
      ok = false;
      add("crl", file, "the CRL of " + issuer + " is not valid yet (thisUpdate " + format_rfc3339(this_update) + ")",
          "reissue the CRL with a current thisUpdate");
    } else if (!next_update) {
      add("crl-next-update", file, "the CRL of " + issuer + " has no nextUpdate",
          "reissue the CRL with a nextUpdate (openssl ca -gencrl -crldays N)");
    } else if (*next_update < at_) {
      ok = false;
      add("crl", file, "the CRL of " + issuer + " is stale: nextUpdate " + format_rfc3339(*next_update) + " has passed",
          std::string("issue a fresh CRL (meshca crl refresh, or openssl ca -gencrl) and update ") + name);
    }
    for (const auto& c : cas) {
      if (issued_by(c.get(), signer) && !same(c.get(), signer) && pki::crl_revokes(crl.get(), c.get())) {
        ok = false;
        add("crl", file,
            "the CRL of " + issuer + " revokes " + pki::subject_string(c.get()) + " (serial " + pki::serial_hex(c.get()) +
                "), a certificate of this bundle's own chain",
            "this CA is revoked: issue a new intermediate, or remove it from the CRL if revoked by mistake");
      }
    }
  }
  // ... and every certificate of the chain, root included, has its CRL.
  for (const auto& c : cas) {
    bool has = false;
    for (const auto& crl : crls) has |= pki::crl_signed_by(crl.get(), c.get());
    if (!has) {
      ok = false;
      add("crl", file,
          "no CRL signed by " + pki::subject_string(c.get()) + ": " + name +
              " must hold one CRL from every certificate of the chain, root included",
          "add the CRL of " + pki::subject_string(c.get()) + " (openssl ca -gencrl) to " + name);
    }
  }
  if (ok && ca_cert_ && !roots_.empty()) {
    std::vector<const X509_CRL*> raw_crls;
    raw_crls.reserve(crls.size());
    for (const auto& c : crls) raw_crls.push_back(c.get());
    auto verdict = pki::verify_chain_with_crls(ca_cert_.get(), raw(chain_), raw(roots_), raw_crls, at_);
    if (!verdict.ok) {
      ok = false;
      add("crl", file, "OpenSSL verification with every CRL fails: " + verdict.error, "openssl verify -crl_check_all shows the same");
    }
  }
  if (ok) pass("crl", file, std::to_string(crls.size()) + " CRL(s), one from every CA of the chain, fresh, none revoking it");
}

Checker::WorkloadVerdict Checker::ask_workload() {
  WorkloadVerdict v;
  if (!key_ || !ca_cert_ || roots_.empty() || chain_.empty()) return v;
  if (!pki::key_matches_certificate(key_.get(), ca_cert_.get())) return v;  // reported as key-match
  v.asked = true;
  v.id = pki::spiffe_workload_id(trust_domain_);
  pki::X509Ptr leaf;
  try {
    leaf = pki::issue_workload_leaf(ca_cert_.get(), key_.get(), v.id, at_);
  } catch (const Error& e) {
    v.sign_error = e.message();
    return v;
  }
  // Both purposes in one verification; only when it fails, each alone for
  // the message.
  if (pki::verify_as_peer(leaf.get(), raw(chain_), raw(roots_), at_, pki::PeerPurpose::tls_server_and_client).ok) return v;
  for (auto purpose : {pki::PeerPurpose::tls_server, pki::PeerPurpose::tls_client}) {
    auto verdict = pki::verify_as_peer(leaf.get(), raw(chain_), raw(roots_), at_, purpose);
    if (!verdict.ok) {
      v.refused_as = purpose;
      v.refusal = verdict.error;
      break;
    }
  }
  return v;
}

void Checker::report_workload(const WorkloadVerdict& v) {
  if (!v.asked) return;
  if (!v.sign_error.empty()) {
    add("workload-peer", display(key_name_), "istiod could not sign a workload certificate with this key: " + v.sign_error,
        "check the CA key");
    return;
  }
  std::string origin = trust_domain_from_default_ ? " (trust domain taken from the bundle; set --trust-domain)" : "";
  if (v.refused_as) {
    add("workload-peer", display(chain_name_),
        std::string("a workload certificate for ") + v.id + " issued by this CA is rejected by a peer as a TLS " +
            (*v.refused_as == pki::PeerPurpose::tls_server ? "server" : "client") + ": " + v.refusal + origin,
        "fix the findings above; a peer checks exactly this");
    return;
  }
  pass("workload-peer", display(chain_name_),
       "a workload certificate for " + v.id + " issued like istiod does verifies as TLS server and client" + origin);
}

}  // namespace meshca::verify::detail
