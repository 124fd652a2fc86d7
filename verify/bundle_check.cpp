#include "verify/bundle_check.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include "core/error.hpp"
#include "output_layout/istio_cacerts.hpp"
#include "verify/verify_checks.hpp"
#include "pki/certificate.hpp"
#include "pki/crl.hpp"
#include "pki/inspect.hpp"
#include "pki/key.hpp"
#include "pki/pem_scan.hpp"
#include "pki/verify.hpp"
#include "pki/workload.hpp"

namespace meshca::verify {
namespace {

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

  BundleReport run() {
    if (!check_layout()) return std::move(report_);
    if (src_.layout == BundleLayout::root_ca) {
      check_root_directory();
      return std::move(report_);
    }
    load_certificates();
    check_key();
    check_key_match();
    // Asked before the chain, reported last: a verified workload path
    // proves the CA's own path too (pki::verify_path), so check_chain need
    // not verify its signatures again.
    decide_trust_domain();
    const WorkloadVerdict workload = ask_workload();
    check_chain();
    check_lints();
    check_validity();
    check_path_length();
    check_name_constraints();
    check_crl();
    report_workload(workload);
    return std::move(report_);
  }

 private:
  // A WARN or FAIL finding: its severity comes from the verdict table
  // (verify_checks.hpp), never from the call site.
  void add(const std::string& check, const std::string& file, const std::string& message, const std::string& fix = {}) {
    const VerifyCheck* rule = find_verify_check(check);
    if (rule == nullptr) throw Error(ExitCode::internal, "verify check '" + check + "' is missing from the verdict table");
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
  bool check_layout() {
    for (const auto& note : src_.notes) add("source", src_.label, note, "fix the file so it can be read");
    std::vector<std::string> required;
    switch (src_.layout) {
      case BundleLayout::none:
        add("layout", src_.label,
            "no bundle files found: expected ca-cert.pem, ca-key.pem, cert-chain.pem, root-cert.pem "
            "(or tls.crt, tls.key, ca.crt for a kubernetes.io/tls secret)",
            "point meshca verify at a cacerts directory or Secret manifest");
        return false;
      case BundleLayout::mixed: {
        std::string present;
        for (const auto& [name, f] : src_.files) present += (present.empty() ? "" : ", ") + name;
        add("layout", src_.label,
            "mixes the istio-cacerts files and the kubernetes.io/tls files (" + present +
                "): istiod picks one set and silently ignores the other",
            "keep exactly one layout: ca-cert.pem, ca-key.pem, cert-chain.pem, root-cert.pem "
            "or tls.crt, tls.key, ca.crt");
        return false;
      }
      case BundleLayout::istio_cacerts:
        required = {kCaCertFile, kCaKeyFile, kCertChainFile, kRootCertFile};
        ca_cert_name_ = kCaCertFile;
        key_name_ = kCaKeyFile;
        chain_name_ = kCertChainFile;
        root_name_ = kRootCertFile;
        break;
      case BundleLayout::root_ca:
        required = {kRootCertFile};
        ca_cert_name_ = chain_name_ = root_name_ = kRootCertFile;
        break;
      case BundleLayout::kubernetes_tls:
        required = {kTlsCertFile, kTlsKeyFile, kTlsCaFile};
        ca_cert_name_ = kTlsCertFile;
        key_name_ = kTlsKeyFile;
        chain_name_ = kTlsCertFile;
        root_name_ = kTlsCaFile;
        break;
    }
    bool complete = true;
    for (const auto& name : required) {
      if (src_.file(name) == nullptr) {
        complete = false;
        std::string why = name == key_name_
                              ? ": without the CA key istiod falls back to a self-signed CA of its own, and this "
                                "cluster cannot talk to the others"
                              : ": istiod refuses a partial plugged-in CA bundle";
        add("layout", display(name), name + " is missing" + why,
            "provide all of " + join(required) + " from the same CA");
      }
    }
    if (complete) {
      if (src_.layout == BundleLayout::root_ca) {
        pass("layout", src_.label,
             std::string("root directory: checked as a root CA (root-cert.pem") +
                 (src_.file(kRootCrlFile) ? " and its CRL root-crl.pem)" : ")"));
      } else if (src_.layout == BundleLayout::kubernetes_tls) {
        pass("layout", src_.label,
             "kubernetes.io/tls layout (tls.crt, tls.key, ca.crt), checked with the cacerts rules: tls.crt is the "
             "CA certificate and its chain, ca.crt the trusted roots");
      } else {
        pass("layout", src_.label, "istio-cacerts layout: all four files present");
      }
    }
    if (src_.has_manifest) {
      if (src_.manifest_mismatches.empty()) {
        pass("manifest", display(kSecretManifestFile), "the Secret manifest holds exactly the bundle's files");
      } else {
        add("manifest", display(kSecretManifestFile),
            "the Secret manifest differs from the files beside it: " + join(src_.manifest_mismatches),
            "regenerate cacerts.yaml from the files (or the files from the manifest)");
      }
    }
    return true;
  }

  static std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  }

  // ---- PEM -------------------------------------------------------------------
  void report_pem_issues(const pki::PemScan& scan, const std::string& file) {
    bool truncated = scan.has(pki::PemIssueKind::truncated);
    for (const auto& issue : scan.issues) {
      if (truncated && issue.kind == pki::PemIssueKind::no_final_newline) continue;  // same cause
      bool fatal = issue.kind != pki::PemIssueKind::junk && issue.kind != pki::PemIssueKind::no_final_newline;
      std::string fix;
      switch (issue.kind) {
        case pki::PemIssueKind::truncated:
        case pki::PemIssueKind::bad_base64:
        case pki::PemIssueKind::label_mismatch: fix = "copy the file again from its source; it was cut or edited"; break;
        case pki::PemIssueKind::junk: fix = "remove everything outside the -----BEGIN/-----END blocks"; break;
        case pki::PemIssueKind::no_final_newline: fix = "append a newline: echo >> FILE"; break;
        case pki::PemIssueKind::empty: fix = "fill the file with the PEM it should hold"; break;
      }
      add(fatal ? "pem" : "pem-text", file, issue.message, fix);
    }
  }

  LoadedCerts load_cert_file(const std::string& name) {
    LoadedCerts out;
    const BundleFile* f = src_.file(name);
    out.display = display(name);
    if (f == nullptr) return out;
    out.present = true;
    auto scan = pki::scan_pem(f->bytes.view());
    report_pem_issues(scan, out.display);
    if (scan.blocks.empty() && !scan.has(pki::PemIssueKind::empty)) {
      add("pem", out.display, "no PEM block found: this is not a certificate file",
          "put the PEM certificates " + name + " should hold into it");
    }
    bool clean = !scan.has(pki::PemIssueKind::truncated) && !scan.has(pki::PemIssueKind::bad_base64) &&
                 !scan.has(pki::PemIssueKind::label_mismatch) && !scan.has(pki::PemIssueKind::empty);
    std::size_t n = 0;
    for (const auto& block : scan.blocks) {
      ++n;
      if (!block.decoded) continue;  // already reported
      if (block.label != "CERTIFICATE") {
        clean = false;
        add("pem", out.display,
            "block " + std::to_string(n) + " (line " + std::to_string(block.line) + ") is a '" + block.label +
                "', not a CERTIFICATE" +
                (pki::is_private_key_label(block.label) ? ": a private key in a public file" : ""),
            pki::is_private_key_label(block.label) ? "remove the key from this file at once and treat it as exposed"
                                                   : "keep only certificates in " + name);
        continue;
      }
      auto cert = pki::certificate_from_der(block);
      if (!cert) {
        clean = false;
        add("pem", out.display,
            "certificate " + std::to_string(n) + " (line " + std::to_string(block.line) +
                ") is corrupted: its bytes are not a valid X.509 certificate",
            "copy the file again from its source; it was cut or edited");
        continue;
      }
      out.certs.push_back(std::move(cert));
    }
    out.clean = clean && !out.certs.empty();
    if (out.clean && scan.issues.empty()) {
      pass("pem", out.display, std::to_string(out.certs.size()) + " certificate" + (out.certs.size() == 1 ? "" : "s") +
                                   ", strict PEM");
    }
    return out;
  }

  void load_certificates() {
    auto ca = load_cert_file(ca_cert_name_);
    if (!ca.certs.empty()) ca_cert_ = pki::duplicate(ca.certs.front().get());
    if (src_.layout == BundleLayout::istio_cacerts) {
      if (ca.certs.size() > 1) {
        add("ca-cert", ca.display,
            "holds " + std::to_string(ca.certs.size()) + " certificates; istiod uses only the first as its CA",
            "keep only the CA certificate in ca-cert.pem and put its issuers in cert-chain.pem");
      }
      auto chain = load_cert_file(chain_name_);
      chain_ = std::move(chain.certs);
      chain_loaded_ = chain.present;
    } else {
      // kubernetes.io/tls: tls.crt is the CA certificate followed by its issuers.
      chain_ = std::move(ca.certs);
      chain_loaded_ = ca.present;
    }
    auto roots = load_cert_file(root_name_);
    roots_ = std::move(roots.certs);
    roots_loaded_ = roots.present;
    if (src_.layout == BundleLayout::kubernetes_tls && !chain_.empty() && !pki::is_self_signed(chain_.back().get())) {
      for (const auto& r : roots_) {
        if (pki::signed_by(chain_.back().get(), r.get())) {
          chain_.push_back(pki::duplicate(r.get()));
          break;
        }
      }
    }
    for (const auto& r : roots_) {
      report_.trusted_root_fingerprints.push_back(pki::sha256_fingerprint(r.get()));
      report_.trusted_root_subjects.push_back(pki::subject_string(r.get()));
    }
    if (ca_cert_) report_.ca_subject = pki::subject_string(ca_cert_.get());
    keep_trust_material();
  }

  void keep_trust_material() {
    if (!ca_cert_ || !roots_loaded_) return;
    auto t = std::make_shared<TrustMaterial>();
    t->ca_cert = pki::duplicate(ca_cert_.get());
    for (const auto& c : chain_) t->chain.push_back(pki::duplicate(c.get()));
    for (const auto& r : roots_) t->roots.push_back(pki::duplicate(r.get()));
    t->at = at_;
    report_.trust = std::move(t);
  }

  // ---- a root directory ---------------------------------------------------------
  // The root alone: strict PEM, self-signed, the root CA lints, validity and
  // root-crl.pem. There is no key, chain or workload to check.
  void check_root_directory() {
    auto roots = load_cert_file(root_name_);
    roots_ = std::move(roots.certs);
    roots_loaded_ = roots.present;
    for (const auto& r : roots_) {
      report_.trusted_root_fingerprints.push_back(pki::sha256_fingerprint(r.get()));
      report_.trusted_root_subjects.push_back(pki::subject_string(r.get()));
    }
    if (!roots_.empty()) {
      report_.chain_root_fingerprint = report_.trusted_root_fingerprints.front();
      report_.chain_root_subject = report_.trusted_root_subjects.front();
    }
    check_lints();
    check_validity();
    check_crl_file(kRootCrlFile, roots_);
  }

  // ---- the private key -------------------------------------------------------
  void check_key() {
    const BundleFile* f = src_.file(key_name_);
    if (f == nullptr) return;
    std::string file = display(key_name_);
    auto scan = pki::scan_pem(f->bytes.view());
    report_pem_issues(scan, file);
    const std::string convert = "openssl pkey -in " + key_name_ + " -out " + key_name_ + ".new && mv " + key_name_ +
                                ".new " + key_name_;
    std::size_t key_blocks = 0;
    bool refused = false;
    for (const auto& block : scan.blocks) {
      if (block.label == "EC PARAMETERS") {
        add("key-format", file,
            "an EC PARAMETERS block (line " + std::to_string(block.line) +
                ") precedes the key: istiod reads the first PEM block as the key and refuses it",
            "drop the parameters block (" + convert + ")");
        refused = true;
      } else if (pki::is_encrypted_key_block(block)) {
        add("key-format", file,
            "the private key is encrypted (" + block.label + "): istiod cannot read a passphrase-protected CA key",
            "store it unencrypted inside the sealed Secret: openssl pkey -in " + key_name_ + " -out plain.pem");
        refused = true;
        ++key_blocks;
      } else if (pki::is_private_key_label(block.label)) {
        ++key_blocks;
      } else {
        add("key-format", file,
            "unexpected '" + block.label + "' block at line " + std::to_string(block.line) + " in the key file",
            "keep exactly one PRIVATE KEY block in " + key_name_);
        refused = true;
      }
    }
    if (key_blocks == 0 && !refused && !scan.has(pki::PemIssueKind::empty)) {
      add("key-format", file, "no private key block found", "put the CA's private key in " + key_name_);
      return;
    }
    if (key_blocks > 1) {
      add("key-format", file,
          "holds " + std::to_string(key_blocks) + " private keys; istiod expects exactly one",
          "keep only the key of the CA certificate");
      refused = true;
    }
    if (refused || scan.blocks.empty()) return;
    for (const auto& block : scan.blocks) {
      if (!pki::is_private_key_label(block.label)) continue;
      if (!block.decoded) return;  // reported by the PEM scan
      key_ = pki::private_key_from_block(block);
      if (!key_) {
        add("key-format", file,
            "the " + block.label + " block is corrupted: it does not parse as a private key",
            "copy the key again from its source");
        return;
      }
      auto alg = pki::key_algorithm_of(key_.get());
      std::string kind = block.label == "PRIVATE KEY"       ? "PKCS#8"
                         : block.label == "RSA PRIVATE KEY" ? "PKCS#1"
                                                            : "SEC1";
      if (!pki::consumers_accept_key(key_.get())) {
        add("key-algorithm", file,
            "the CA key is " + pki::describe_key(key_.get()) +
                "; istiod, Go crypto/x509 and Envoy accept RSA 2048-16384 bits and ECDSA P-256/P-384/P-521",
            "issue a new CA with ECDSA P-256/P-384 or RSA 2048/3072/4096");
      } else if (!alg) {
        add("key-algorithm-policy", file,
            "the CA key is " + pki::describe_key(key_.get()) + "; meshca issues ECDSA P-256/P-384, RSA 2048/3072/4096");
      }
      pass("key-format", file, "one unencrypted " + kind + " key (" + pki::describe_key(key_.get()) + ")");
    }
  }

  void check_key_match() {
    if (!key_ || !ca_cert_) return;
    if (pki::key_matches_certificate(key_.get(), ca_cert_.get())) {
      pass("key-match", display(key_name_), "the private key matches " + ca_cert_name_);
    } else {
      add("key-match", display(key_name_),
          "the private key does not match " + ca_cert_name_ + " (" + pki::subject_string(ca_cert_.get()) +
              "): istiod would sign workload certificates nobody can verify",
          "pair " + ca_cert_name_ + " with the key it was issued for");
    }
  }

  // ---- the chain -------------------------------------------------------------
  static bool same(const X509* a, const X509* b) { return X509_cmp(a, b) == 0; }
  static bool issued_by(const X509* cert, const X509* issuer) {
    return X509_NAME_cmp(X509_get_issuer_name(cert), X509_get_subject_name(issuer)) == 0 &&
           pki::signed_by(cert, issuer);
  }
  static bool self_signed_root(const X509* cert) { return pki::is_self_signed(cert) && pki::signed_by(cert, cert); }

  std::vector<const X509*> raw(const std::vector<pki::X509Ptr>& v) const {
    std::vector<const X509*> out;
    for (const auto& c : v) out.push_back(c.get());
    return out;
  }

  void check_chain() {
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
                ") is not signed by the next one, certificate " + std::to_string(i + 2) + " (" +
                pki::subject_string(chain_[i + 1].get()) + ")",
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
        pass("chain-root", file, "ends at the self-signed root " + report_.chain_root_subject + ", present in " +
                                     root_name_);
      } else {
        std::string held;
        for (const auto& r : roots_) held += (held.empty() ? "" : "; ") + pki::subject_string(r.get());
        add("chain-root", display(root_name_),
            "the chain's root " + report_.chain_root_subject + " (SHA-256 " +
                report_.chain_root_fingerprint.substr(0, 23) + "...) is not in " + root_name_ + ", which holds " +
                (held.empty() ? "no certificate" : held) + ": the root belongs to another PKI",
            "put the root that issued " + ca_cert_name_ + " into " + root_name_ +
                " (or reissue the intermediate from the trusted root)");
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
  void lint_into(const std::vector<pki::LintFinding>& findings, const std::string& file, const X509* cert,
                 bool drop_path_length) {
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

  void check_lints() {
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
        add("root-self-signed", display(root_name_),
            pki::subject_string(r.get()) + " is not a self-signed root certificate",
            "keep only self-signed root certificates in " + root_name_);
        seen.insert(pki::sha256_fingerprint(r.get()));
        continue;
      }
      lint_one(r.get(), r.get(), display(root_name_), false);
    }
  }

  // ---- validity --------------------------------------------------------------
  void check_validity() {
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
              who + " expires in " + std::to_string(days) + " day" + (days == 1 ? "" : "s") + " (" +
                  format_rfc3339(na) + ")",
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
  void check_path_length() {
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
            "reissue " + pki::subject_string(chain_[i].get()) + " with pathlen:" + std::to_string(below) +
                " or shorten the chain");
      }
    }
    if (ok) pass("chain-path-length", display(chain_name_), "pathLen constraints allow this chain and workload certificates");
  }

  // ---- name constraints ----------------------------------------------------------
  static bool uri_host_permitted(const std::string& constraint, const std::string& host) {
    if (constraint.starts_with(".")) return host.size() > constraint.size() && host.ends_with(constraint);
    return host.size() == constraint.size() &&
           std::equal(host.begin(), host.end(), constraint.begin(),
                      [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) ==
                                                  std::tolower(static_cast<unsigned char>(b)); });
  }

  // Every URI name constraint of the chain, in order.
  std::vector<std::string> permitted_uris() const {
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
  void decide_trust_domain() {
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

  void check_name_constraints() {
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
            pki::subject_string(c.get()) + " permits only URI:" + join(nc.permitted_uri) +
                "; SPIFFE IDs of trust domain " + trust_domain_ + " would be rejected by every peer",
            "issue the intermediate for trust domain " + trust_domain_ + " or check --trust-domain");
      }
    }
    if (ok) {
      pass("name-constraints", display(chain_name_),
           permitted_all.empty() ? "no URI name constraints"
                                 : "URI name constraints (" + join(permitted_all) + ") permit trust domain " +
                                       trust_domain_);
    }
  }

  // ---- ca-crl.pem ---------------------------------------------------------------
  void check_crl() { check_crl_file(kCaCrlFile, chain_); }

  // Every CRL of `name` is signed by one of `cas`, fresh, and revokes none
  // of them; every CA of `cas` has its CRL there.
  void check_crl_file(const char* name, const std::vector<pki::X509Ptr>& cas) {
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
        add("crl", file,
            "the CRL issued by " + issuer + " is not signed by any certificate of the chain",
            "remove it or replace it with the CRL of the right CA");
        continue;
      }
      auto ku = pki::key_usage(signer);
      if (ku.present && !ku.bits.crl_sign) {
        ok = false;
        add("crl", file,
            issuer + " signed a CRL but its keyUsage lacks cRLSign: peers reject the CRL",
            "reissue the CA with cRLSign in keyUsage");
      }
      UnixTime this_update = pki::crl_this_update(crl.get());
      auto next_update = pki::crl_next_update(crl.get());
      if (this_update > at_) {
        ok = false;
        add("crl", file,
            "the CRL of " + issuer + " is not valid yet (thisUpdate " + format_rfc3339(this_update) + ")",
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
              "the CRL of " + issuer + " revokes " + pki::subject_string(c.get()) + " (serial " +
                  pki::serial_hex(c.get()) + "), a certificate of this bundle's own chain",
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
      for (const auto& c : crls) raw_crls.push_back(c.get());
      auto verdict = pki::verify_chain_with_crls(ca_cert_.get(), raw(chain_), raw(roots_), raw_crls, at_);
      if (!verdict.ok) {
        ok = false;
        add("crl", file, "OpenSSL verification with every CRL fails: " + verdict.error,
            "openssl verify -crl_check_all shows the same");
      }
    }
    if (ok) pass("crl", file, std::to_string(crls.size()) + " CRL(s), one from every CA of the chain, fresh, none revoking it");
  }

  // ---- what a peer sees -----------------------------------------------------------
  struct WorkloadVerdict {
    bool asked = false;      // the key and the certificates were there to ask
    std::string id;          // the workload's SPIFFE ID
    std::string sign_error;  // istiod could not have signed with the key
    std::optional<pki::PeerPurpose> refused_as;
    std::string refusal;  // OpenSSL's reason, when refused
  };

  WorkloadVerdict ask_workload() {
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

  void report_workload(const WorkloadVerdict& v) {
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

}  // namespace

std::size_t BundleReport::count(pki::Severity s) const {
  return static_cast<std::size_t>(
      std::count_if(findings.begin(), findings.end(), [s](const BundleFinding& f) { return f.severity == s; }));
}

BundleReport check_bundle(const BundleSource& source, const BundleCheckOptions& options) {
  return Checker(source, options).run();
}

bool accepts_workloads(const TrustMaterial& peer, const TrustMaterial& bundle) {
  std::vector<const X509*> untrusted;
  for (const auto& c : bundle.chain) untrusted.push_back(c.get());
  std::vector<const X509*> roots;
  for (const auto& r : peer.roots) roots.push_back(r.get());
  return pki::verify_chain(bundle.ca_cert.get(), untrusted, roots, std::max(peer.at, bundle.at)).ok;
}

std::vector<TrustPair> cross_cluster_trust(const std::vector<BundleReport>& reports) {
  // Bundles of one fleet share a handful of root sets. A verdict depends on
  // the peer's roots and the bundle, so it is computed once per (root set,
  // bundle); the roots two bundles share, once per pair of root sets.
  const std::size_t n = reports.size();
  std::vector<std::size_t> set_of(n);
  std::vector<const BundleReport*> set_example;  // a report holding each set
  {
    std::map<std::vector<std::string>, std::size_t> ids;
    for (std::size_t i = 0; i < n; ++i) {
      auto [it, added] = ids.emplace(reports[i].trusted_root_fingerprints, ids.size());
      if (added) set_example.push_back(&reports[i]);
      set_of[i] = it->second;
    }
  }
  std::unordered_map<std::size_t, bool> verdicts;  // key: root set * n + bundle
  auto accepted = [&](std::size_t peer, std::size_t bundle) {
    auto [it, added] = verdicts.emplace(set_of[peer] * n + bundle, false);
    if (added) it->second = accepts_workloads(*reports[peer].trust, *reports[bundle].trust);
    return it->second;
  };
  std::map<std::pair<std::size_t, std::size_t>, std::shared_ptr<const SharedRoots>> shared;
  auto shared_roots = [&](std::size_t a, std::size_t b) {
    auto& entry = shared[{set_of[a], set_of[b]}];
    if (!entry) {
      auto roots = std::make_shared<SharedRoots>();
      const auto& theirs = reports[b].trusted_root_fingerprints;
      for (std::size_t k = 0; k < reports[a].trusted_root_fingerprints.size(); ++k) {
        const std::string& fp = reports[a].trusted_root_fingerprints[k];
        if (std::find(theirs.begin(), theirs.end(), fp) == theirs.end()) continue;
        roots->subjects.push_back(reports[a].trusted_root_subjects[k]);
        roots->fingerprints.push_back(fp);
      }
      entry = std::move(roots);
    }
    return entry;
  };
  std::vector<TrustPair> out;
  out.reserve(n < 2 ? 0 : n * (n - 1) / 2);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = i + 1; j < n; ++j) {
      const auto& a = reports[i];
      const auto& b = reports[j];
      if (!a.trust || !b.trust) continue;
      TrustPair p;
      p.a = i;
      p.b = j;
      p.a_accepts_b = accepted(i, j);
      p.b_accepts_a = accepted(j, i);
      p.shared = shared_roots(i, j);
      p.must_talk = a.trust_domain_claimed && b.trust_domain_claimed && a.trust_domain == b.trust_domain;
      out.push_back(std::move(p));
    }
  }
  return out;
}

}  // namespace meshca::verify
