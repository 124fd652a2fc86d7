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

// The chain, per-certificate lints, validity, pathLen and name constraints.
namespace meshca::verify::detail {

void Checker::check_chain() {
  if (!ca_cert_ || chain_.empty() || !chain_loaded_) return;
  std::string file = display(chain_name_);
  // Asked first (reported last): a path OpenSSL verifies has its
  // signatures remembered, so the order checks below need not repeat them.
  std::optional<pki::ChainVerdict> verdict;
  if (!roots_.empty()) verdict = pki::verify_chain(ca_cert_.get(), raw(chain_), raw(roots_), at_);
  bool ordered = true;
  if (src_.layout == BundleLayout::istio_cacerts && !same(chain_.front().get(), ca_cert_.get())) {
    ordered = false;
    std::string where;
    for (std::size_t i = 1; i < chain_.size(); ++i)
      if (same(chain_[i].get(), ca_cert_.get())) where = " (it is certificate " + std::to_string(i + 1) + ")";
    add("chain-order", file,
        "cert-chain.pem starts with " + pki::subject_string(chain_.front().get()) + ", not with ca-cert.pem (" +
            pki::subject_string(ca_cert_.get()) + ")" + where,
        "order it as ca-cert.pem first, then each issuer, ending with the root: cat ca-cert.pem ISSUERS... "
        "root-cert.pem > cert-chain.pem");
  }
  for (std::size_t i = 0; ordered && i + 1 < chain_.size(); ++i) {
    if (!issued_by(chain_[i].get(), chain_[i + 1].get())) {
      ordered = false;
      add("chain-order", file,
          "certificate " + std::to_string(i + 1) + " (" + pki::subject_string(chain_[i].get()) +
              ") is not signed by the next one, certificate " + std::to_string(i + 2) + " (" + pki::subject_string(chain_[i + 1].get()) +
              ")",
          "order the chain so that each certificate is followed by its issuer");
    }
  }
  chain_ordered_ = ordered;
  if (ordered) pass("chain-order", file, "each certificate is signed by the next");

  // The root the chain ends at.
  const X509* root = nullptr;
  if (self_signed_root(chain_.back().get())) {
    root = chain_.back().get();
  } else {
    for (const auto& c : chain_)
      if (self_signed_root(c.get())) root = c.get();
  }
  if (root == nullptr) {
    add("chain-root", file,
        "the chain ends at " + pki::subject_string(chain_.back().get()) +
            ", which is not a self-signed root: peers of other clusters cannot build the path to the root",
        src_.layout == BundleLayout::istio_cacerts ? "append the root certificate: cat root-cert.pem >> cert-chain.pem"
                                                   : "make sure ca.crt holds the root that issued tls.crt");
  } else {
    report_.chain_root_fingerprint = pki::sha256_fingerprint(root);
    report_.chain_root_subject = pki::subject_string(root);
    bool trusted = false;
    for (const auto& r : roots_) trusted |= same(r.get(), root);
    if (!roots_loaded_) {
      // reported by the layout check
    } else if (trusted) {
      pass("chain-root", file, "ends at the self-signed root " + report_.chain_root_subject + ", present in " + root_name_);
    } else {
      std::string held;
      for (const auto& r : roots_) held += (held.empty() ? "" : "; ") + pki::subject_string(r.get());
      add("chain-root", display(root_name_),
          "the chain's root " + report_.chain_root_subject + " (SHA-256 " + report_.chain_root_fingerprint.substr(0, 23) +
              "...) is not in " + root_name_ + ", which holds " + (held.empty() ? "no certificate" : held) +
              ": the root belongs to another PKI",
          "put the root that issued " + ca_cert_name_ + " into " + root_name_ + " (or reissue the intermediate from the trusted root)");
    }
  }

  if (!verdict) return;
  if (verdict->ok) {
    pass("chain-verify", file, "OpenSSL X509_verify_cert (strict) accepts " + ca_cert_name_ + " up to " + root_name_);
  } else {
    add("chain-verify", file, "OpenSSL strict verification fails: " + verdict->error,
        "openssl verify -x509_strict -CAfile " + root_name_ + " -untrusted " + chain_name_ + " " + ca_cert_name_ +
            " shows the same; fix the findings above");
  }
}

// ---- per-certificate lints ---------------------------------------------------
void Checker::lint_into(const std::vector<pki::LintFinding>& findings, const std::string& file, const X509* cert, bool drop_path_length) {
  std::string who = pki::subject_string(cert);
  bool any = false;
  for (const auto& f : findings) {
    if (f.severity == Severity::pass) continue;
    if (drop_path_length && f.check == "path-length") continue;
    any = true;
    add(f.check, file, who + ": " + f.message, f.fix);
  }
  if (!any) pass("ca-lints", file, who + ": CA certificate lints pass");
}

void Checker::check_lints() {
  std::set<std::string> seen;
  auto lint_one = [&](const X509* cert, const X509* issuer, const std::string& file, bool first_ca) {
    std::string fp = pki::sha256_fingerprint(cert);
    if (!seen.insert(fp).second) return;
    if (self_signed_root(cert)) {
      lint_into(pki::lint_ca_certificate(cert, cert, pki::CaRole::root), file, cert, false);
    } else if (issuer != nullptr) {
      lint_into(pki::lint_ca_certificate(cert, issuer, pki::CaRole::intermediate), file, cert, !first_ca);
    } else {
      lint_into(pki::lint_ca_certificate_alone(cert, pki::CaRole::intermediate), file, cert, !first_ca);
    }
  };
  auto find_issuer = [&](const X509* cert) -> const X509* {
    for (const auto& c : chain_)
      if (!same(c.get(), cert) && issued_by(cert, c.get())) return c.get();
    for (const auto& r : roots_)
      if (!same(r.get(), cert) && issued_by(cert, r.get())) return r.get();
    return nullptr;
  };
  if (ca_cert_) lint_one(ca_cert_.get(), find_issuer(ca_cert_.get()), display(ca_cert_name_), true);
  for (const auto& c : chain_) {
    if (self_signed_root(c.get())) {
      bool in_roots = false;
      for (const auto& r : roots_) in_roots |= same(r.get(), c.get());
      if (in_roots) continue;  // linted as part of root-cert.pem
    }
    lint_one(c.get(), find_issuer(c.get()), display(chain_name_), false);
  }
  for (const auto& r : roots_) {
    if (!self_signed_root(r.get())) {
      add("root-self-signed", display(root_name_), pki::subject_string(r.get()) + " is not a self-signed root certificate",
          "keep only self-signed root certificates in " + root_name_);
      seen.insert(pki::sha256_fingerprint(r.get()));
      continue;
    }
    lint_one(r.get(), r.get(), display(root_name_), false);
  }
}

// ---- validity --------------------------------------------------------------
void Checker::check_validity() {
  std::set<std::string> seen;
  auto one = [&](const X509* cert, const std::string& file, bool extra_root) {
    if (!seen.insert(pki::sha256_fingerprint(cert)).second) return;
    UnixTime nb = pki::not_before(cert), na = pki::not_after(cert);
    std::string who = pki::subject_string(cert);
    const std::string bad = extra_root ? "extra-root-validity" : "validity";
    if (at_ < nb) {
      add(bad, file, who + " is not valid yet: notBefore " + format_rfc3339(nb),
          "check the clock of the machine that issued it, or wait until " + format_rfc3339(nb));
    } else if (at_ > na) {
      add(bad, file, who + " expired on " + format_rfc3339(na),
          extra_root ? "remove the expired root from " + root_name_ : "issue a new certificate (meshca rotate)");
    } else {
      auto days = pki::days_between(at_, na);
      if (days < kExpiryWarningDays) {
        add("expiry-soon", file,
            who + " expires in " + std::to_string(days) + " day" + (days == 1 ? "" : "s") + " (" + format_rfc3339(na) + ")",
            "renew it now (meshca rotate)");
      } else {
        pass("validity", file, who + " valid until " + format_rfc3339(na) + " (" + std::to_string(days) + " days)");
      }
    }
  };
  if (ca_cert_) one(ca_cert_.get(), display(ca_cert_name_), false);
  for (const auto& c : chain_) one(c.get(), display(chain_name_), false);
  for (const auto& r : roots_) {
    bool chain_root = pki::sha256_fingerprint(r.get()) == report_.chain_root_fingerprint;
    one(r.get(), display(root_name_), !chain_root);
  }
}

// ---- pathLen ------------------------------------------------------------------
void Checker::check_path_length() {
  if (chain_.empty() || !chain_ordered_) return;  // positions mean nothing in a misordered chain
  bool ok = true;
  for (std::size_t i = 0; i < chain_.size(); ++i) {
    auto bc = pki::basic_constraints(chain_[i].get());
    // Below certificate i sit i intermediates (certificates 0..i-1 of the chain).
    std::size_t below = i;
    if (self_signed_root(chain_[i].get()) && i + 1 != chain_.size()) continue;
    if (bc.path_len && static_cast<std::size_t>(*bc.path_len) < below) {
      ok = false;
      add("chain-path-length", display(chain_name_),
          pki::subject_string(chain_[i].get()) + " allows " + std::to_string(*bc.path_len) +
              " intermediate CA(s) below it (pathLen) but the chain has " + std::to_string(below),
          "reissue " + pki::subject_string(chain_[i].get()) + " with pathlen:" + std::to_string(below) + " or shorten the chain");
    }
  }
  if (ok) pass("chain-path-length", display(chain_name_), "pathLen constraints allow this chain and workload certificates");
}

// Every URI name constraint of the chain, in order.
std::vector<std::string> Checker::permitted_uris() const {
  std::vector<std::string> all;
  for (const auto& c : chain_) {
    auto nc = pki::name_constraints(c.get());
    if (!nc.present) continue;
    for (const auto& p : nc.permitted_uri) all.push_back(p);
  }
  return all;
}

// The trust domain the workload and name-constraint checks use: the one
// given, else the chain's first URI name constraint, else cluster.local.
void Checker::decide_trust_domain() {
  if (chain_.empty()) return;
  std::vector<std::string> permitted_all = permitted_uris();
  if (trust_domain_.empty()) {
    trust_domain_ = permitted_all.empty() ? "cluster.local" : permitted_all.front();
    if (trust_domain_.starts_with(".")) trust_domain_ = "td" + trust_domain_;
    trust_domain_from_default_ = true;
  }
  report_.trust_domain = trust_domain_;
  report_.trust_domain_claimed = !trust_domain_from_default_ || !permitted_all.empty();
}

void Checker::check_name_constraints() {
  if (chain_.empty()) return;
  std::vector<std::string> permitted_all = permitted_uris();
  bool ok = true;
  for (const auto& c : chain_) {
    auto nc = pki::name_constraints(c.get());
    if (!nc.present || nc.permitted_uri.empty()) continue;
    bool allowed = false;
    for (const auto& p : nc.permitted_uri) allowed |= uri_host_permitted(p, trust_domain_);
    if (!allowed) {
      ok = false;
      add("name-constraints", display(chain_name_),
          pki::subject_string(c.get()) + " permits only URI:" + join(nc.permitted_uri) + "; SPIFFE IDs of trust domain " + trust_domain_ +
              " would be rejected by every peer",
          "issue the intermediate for trust domain " + trust_domain_ + " or check --trust-domain");
    }
  }
  if (ok) {
    pass("name-constraints", display(chain_name_),
         permitted_all.empty() ? "no URI name constraints"
                               : "URI name constraints (" + join(permitted_all) + ") permit trust domain " + trust_domain_);
  }
}

}  // namespace meshca::verify::detail
