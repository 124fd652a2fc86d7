// The bundle check's engine, shared by the files that implement it
// (bundle_check.cpp: layout, PEM, the key; bundle_check_chain.cpp: the
// chain, lints, validity, pathLen, name constraints; bundle_check_peer.cpp:
// CRLs and what a peer sees). Not for users of the module: they call
// check_bundle() (bundle_check.hpp).
//
// One Checker judges one bundle source: each check adds PASS, WARN or FAIL
// findings whose severity comes from the verdict table (verify_checks.hpp),
// and later checks use what earlier ones loaded (ca_cert_, key_, chain_,
// roots_), skipping what could not be loaded.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "pki/certificate.hpp"
#include "pki/handles.hpp"
#include "pki/lint.hpp"
#include "pki/pem_scan.hpp"
#include "pki/verify.hpp"
#include "pki/workload.hpp"
#include "verify/bundle_check.hpp"
#include "verify/verify_checks.hpp"

namespace meshca::verify::detail {

using pki::Severity;

constexpr std::int64_t kExpiryWarningDays = 30;

struct LoadedCerts {
  bool present = false;
  bool clean = false;  // every block parsed as a certificate
  std::string display;
  std::vector<pki::X509Ptr> certs;
};

class Checker {
 public:
  Checker(const BundleSource& src, const BundleCheckOptions& opts) : src_(src), at_(opts.at ? opts.at : now_utc()) {
    report_.label = src.label;
    report_.layout = std::string(bundle_layout_name(src.layout));
    trust_domain_ = opts.trust_domain;
  }

  BundleReport run();

 private:
  // A WARN or FAIL finding: its severity comes from the verdict table
  // (verify_checks.hpp), never from the call site.
  void add(const std::string& check, const std::string& file, const std::string& message, const std::string& fix = {}) {
    const VerifyCheck* rule = find_verify_check(check);
    if (rule == nullptr) throw Error(ErrorKind::internal, "verify check '" + check + "' is missing from the verdict table");
    report_.findings.push_back({rule->severity, check, file, message, fix.empty() ? std::string(rule->fix) : fix});
  }
  void pass(const std::string& check, const std::string& file, const std::string& message) {
    report_.findings.push_back({Severity::pass, check, file, message, {}});
  }
  std::string display(const std::string& name) const {
    const BundleFile* f = src_.file(name);
    return f ? f->display : (src_.kind == "directory" ? src_.label + "/" + name : src_.label + ":" + name);
  }

  // ---- layout --------------------------------------------------------------
  bool check_layout();

  static std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  }

  // ---- PEM -------------------------------------------------------------------
  void report_pem_issues(const pki::PemScan& scan, const std::string& file);

  LoadedCerts load_cert_file(const std::string& name);

  void load_certificates();

  void keep_trust_material();

  // ---- a root directory ---------------------------------------------------------
  // The root alone: strict PEM, self-signed, the root CA lints, validity and
  // root-crl.pem. There is no key, chain or workload to check.
  void check_root_directory();
  // A root certified by another CA, with that CA's chain (issuer-chain.pem,
  // up to a self-signed anchor): the strict path to the anchor, the lints of
  // every certificate against its issuer, validity.
  void check_issued_root(std::vector<pki::X509Ptr> roots);

  // ---- the private key -------------------------------------------------------
  void check_key();

  void check_key_match();

  // ---- the chain -------------------------------------------------------------
  static bool same(const X509* a, const X509* b) { return X509_cmp(a, b) == 0; }
  static bool issued_by(const X509* cert, const X509* issuer) {
    return X509_NAME_cmp(X509_get_issuer_name(cert), X509_get_subject_name(issuer)) == 0 && pki::signed_by(cert, issuer);
  }
  static bool self_signed_root(const X509* cert) { return pki::is_self_signed(cert) && pki::signed_by(cert, cert); }

  std::vector<const X509*> raw(const std::vector<pki::X509Ptr>& v) const {
    std::vector<const X509*> out;
    out.reserve(v.size());
    for (const auto& c : v) out.push_back(c.get());
    return out;
  }

  void check_chain();

  // ---- per-certificate lints ---------------------------------------------------
  void lint_into(const std::vector<pki::LintFinding>& findings, const std::string& file, const X509* cert, bool drop_path_length);

  void check_lints();

  // ---- validity --------------------------------------------------------------
  void check_validity();

  // ---- pathLen ------------------------------------------------------------------
  void check_path_length();

  // ---- name constraints ----------------------------------------------------------
  static bool uri_host_permitted(const std::string& constraint, const std::string& host) {
    if (constraint.starts_with(".")) return host.size() > constraint.size() && host.ends_with(constraint);
    return host.size() == constraint.size() && std::equal(host.begin(), host.end(), constraint.begin(), [](char a, char b) {
             return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
           });
  }

  // Every URI name constraint of the chain, in order.
  std::vector<std::string> permitted_uris() const;

  // The trust domain the workload and name-constraint checks use: the one
  // given, else the chain's first URI name constraint, else cluster.local.
  void decide_trust_domain();

  void check_name_constraints();

  // ---- ca-crl.pem ---------------------------------------------------------------
  void check_crl() { check_crl_file(kCaCrlFile, chain_); }

  // Every CRL of `name` is signed by one of `cas`, fresh, and revokes none
  // of them; every CA of `cas` has its CRL there.
  void check_crl_file(const char* name, const std::vector<pki::X509Ptr>& cas);

  // ---- what a peer sees -----------------------------------------------------------
  struct WorkloadVerdict {
    bool asked = false;      // the key and the certificates were there to ask
    std::string id;          // the workload's SPIFFE ID
    std::string sign_error;  // istiod could not have signed with the key
    std::optional<pki::PeerPurpose> refused_as;
    std::string refusal;  // OpenSSL's reason, when refused
  };

  WorkloadVerdict ask_workload();

  void report_workload(const WorkloadVerdict& v);

  const BundleSource& src_;
  UnixTime at_;
  std::string trust_domain_;
  bool trust_domain_from_default_ = false;
  BundleReport report_;
  std::string ca_cert_name_, key_name_, chain_name_, root_name_;
  pki::X509Ptr ca_cert_;
  pki::PKeyPtr key_;
  std::vector<pki::X509Ptr> chain_;
  std::vector<pki::X509Ptr> roots_;
  bool chain_loaded_ = false, roots_loaded_ = false, chain_ordered_ = false;
};

}  // namespace meshca::verify::detail
