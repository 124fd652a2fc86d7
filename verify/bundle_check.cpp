#include "verify/bundle_check.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include "core/error.hpp"
#include "output_layout/istio_cacerts.hpp"
#include "pki/certificate.hpp"
#include "pki/crl.hpp"
#include "pki/csr.hpp"
#include "pki/inspect.hpp"
#include "pki/key.hpp"
#include "pki/pem_scan.hpp"
#include "pki/verify.hpp"
#include "pki/workload.hpp"
#include "verify/bundle_checker.hpp"
#include "verify/verify_checks.hpp"

namespace meshca::verify::detail {

BundleReport Checker::run() {
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

// ---- layout --------------------------------------------------------------
bool Checker::check_layout() {
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
      if (!src_.public_only_pin.empty()) required.erase(required.begin() + 1);  // the cluster keeps the key
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
      std::string why = name == key_name_ ? ": without the CA key istiod falls back to a self-signed CA of its own, and this "
                                            "cluster cannot talk to the others"
                                          : ": istiod refuses a partial plugged-in CA bundle";
      std::string message = name;
      message += " is missing";
      message += why;
      add("layout", display(name), message, "provide all of " + join(required) + " from the same CA");
    }
  }
  if (complete) {
    if (src_.layout == BundleLayout::root_ca) {
      pass("layout", src_.label,
           src_.file(kIssuerChainFile) != nullptr
               ? std::string("root directory of a root issued by another CA: root-cert.pem checked with its issuer chain ") +
                     kIssuerChainFile + ", up to the self-signed anchor"
               : std::string("root directory: checked as a root CA (root-cert.pem") +
                     (src_.file(kRootCrlFile) ? " and its CRL root-crl.pem)" : ")"));
    } else if (src_.layout == BundleLayout::kubernetes_tls) {
      pass("layout", src_.label,
           "kubernetes.io/tls layout (tls.crt, tls.key, ca.crt), checked with the cacerts rules: tls.crt is the "
           "CA certificate and its chain, ca.crt the trusted roots");
    } else if (!src_.public_only_pin.empty()) {
      add("public-only", src_.label,
          "public-only bundle: the cluster keeps its own key (pinned SPKI SHA-256 " + src_.public_only_pin +
              "), so this directory holds no ca-key.pem and cannot be deployed as it is",
          "complete it where the key is: meshca bundle assemble " + src_.label + " --key ca-key.pem --out NEW_DIR");
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

// ---- PEM -------------------------------------------------------------------
void Checker::report_pem_issues(const pki::PemScan& scan, const std::string& file) {
  bool truncated = scan.has(pki::PemIssueKind::truncated);
  for (const auto& issue : scan.issues) {
    if (truncated && issue.kind == pki::PemIssueKind::no_final_newline) continue;  // same cause
    bool fatal = issue.kind != pki::PemIssueKind::junk && issue.kind != pki::PemIssueKind::no_final_newline;
    std::string fix;
    switch (issue.kind) {
      case pki::PemIssueKind::truncated:
      case pki::PemIssueKind::bad_base64:
      case pki::PemIssueKind::label_mismatch:
        fix = "copy the file again from its source; it was cut or edited";
        break;
      case pki::PemIssueKind::junk:
        fix = "remove everything outside the -----BEGIN/-----END blocks";
        break;
      case pki::PemIssueKind::no_final_newline:
        fix = "append a newline: echo >> FILE";
        break;
      case pki::PemIssueKind::empty:
        fix = "fill the file with the PEM it should hold";
        break;
    }
    add(fatal ? "pem" : "pem-text", file, issue.message, fix);
  }
}

LoadedCerts Checker::load_cert_file(const std::string& name) {
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
          "block " + std::to_string(n) + " (line " + std::to_string(block.line) + ") is a '" + block.label + "', not a CERTIFICATE" +
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
    pass("pem", out.display, std::to_string(out.certs.size()) + " certificate" + (out.certs.size() == 1 ? "" : "s") + ", strict PEM");
  }
  return out;
}

void Checker::load_certificates() {
  auto ca = load_cert_file(ca_cert_name_);
  if (!ca.certs.empty()) ca_cert_ = pki::duplicate(ca.certs.front().get());
  if (src_.layout == BundleLayout::istio_cacerts) {
    if (ca.certs.size() > 1) {
      add("ca-cert", ca.display, "holds " + std::to_string(ca.certs.size()) + " certificates; istiod uses only the first as its CA",
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

void Checker::keep_trust_material() {
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
void Checker::check_root_directory() {
  auto roots = load_cert_file(root_name_);
  if (src_.file(kIssuerChainFile) != nullptr) {
    check_issued_root(std::move(roots.certs));
    return;
  }
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

void Checker::check_issued_root(std::vector<pki::X509Ptr> roots) {
  auto issuers = load_cert_file(kIssuerChainFile);
  if (roots.size() != 1 || issuers.certs.empty()) {
    if (roots.size() > 1) add("chain-order", display(root_name_), "holds more than the one root certificate its issuer chain certifies");
    if (issuers.present && issuers.certs.empty()) add("chain-root", display(kIssuerChainFile), "holds no certificate");
    return;
  }
  // The mesh root is checked as the CA certificate, the corporate CAs as
  // its chain, the anchor as the trusted root.
  ca_cert_ = std::move(roots.front());
  ca_cert_name_ = root_name_;
  chain_name_ = root_name_ = kIssuerChainFile;
  roots_.push_back(std::move(issuers.certs.back()));
  issuers.certs.pop_back();
  chain_ = std::move(issuers.certs);
  const X509* anchor = roots_.front().get();
  report_.trusted_root_fingerprints.push_back(pki::sha256_fingerprint(anchor));
  report_.trusted_root_subjects.push_back(pki::subject_string(anchor));
  report_.chain_root_fingerprint = report_.trusted_root_fingerprints.front();
  report_.chain_root_subject = report_.trusted_root_subjects.front();
  if (!self_signed_root(anchor)) {
    add("chain-root", display(kIssuerChainFile), "ends at " + pki::subject_string(anchor) + ", which is not a self-signed root",
        "end issuer-chain.pem with the corporate trust anchor");
    return;
  }
  auto verdict = pki::verify_chain(ca_cert_.get(), raw(chain_), {anchor}, at_);
  if (verdict.ok) {
    pass("chain-verify", display(ca_cert_name_),
         "issued by the corporate CA: verifies (strict) through " + display(kIssuerChainFile) + " to " + report_.chain_root_subject);
  } else {
    add("chain-verify", display(ca_cert_name_), "does not verify through " + display(kIssuerChainFile) + ": " + verdict.error,
        "import the certificate the corporate CA issued, with its chain (meshca root import)");
  }
  // A CA with CAs below it: its pathLen above 0 is intended.
  const X509* below = ca_cert_.get();
  for (std::size_t i = 0; i <= chain_.size(); ++i) {
    const X509* issuer = i < chain_.size() ? chain_[i].get() : anchor;
    const std::string file = i == 0 ? display(ca_cert_name_) : display(kIssuerChainFile);
    lint_into(pki::lint_ca_certificate(below, issuer, pki::CaRole::intermediate), file, below, true);
    below = issuer;
  }
  lint_into(pki::lint_ca_certificate(anchor, anchor, pki::CaRole::root), display(kIssuerChainFile), anchor, false);
  check_validity();
}

// ---- the private key -------------------------------------------------------
void Checker::check_key() {
  const BundleFile* f = src_.file(key_name_);
  if (f == nullptr) return;
  std::string file = display(key_name_);
  auto scan = pki::scan_pem(f->bytes.view());
  report_pem_issues(scan, file);
  const std::string convert = "openssl pkey -in " + key_name_ + " -out " + key_name_ + ".new && mv " + key_name_ + ".new " + key_name_;
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
      add("key-format", file, "the private key is encrypted (" + block.label + "): istiod cannot read a passphrase-protected CA key",
          "store it unencrypted inside the sealed Secret: openssl pkey -in " + key_name_ + " -out plain.pem");
      refused = true;
      ++key_blocks;
    } else if (pki::is_private_key_label(block.label)) {
      ++key_blocks;
    } else {
      add("key-format", file, "unexpected '" + block.label + "' block at line " + std::to_string(block.line) + " in the key file",
          "keep exactly one PRIVATE KEY block in " + key_name_);
      refused = true;
    }
  }
  if (key_blocks == 0 && !refused && !scan.has(pki::PemIssueKind::empty)) {
    add("key-format", file, "no private key block found", "put the CA's private key in " + key_name_);
    return;
  }
  if (key_blocks > 1) {
    add("key-format", file, "holds " + std::to_string(key_blocks) + " private keys; istiod expects exactly one",
        "keep only the key of the CA certificate");
    refused = true;
  }
  if (refused || scan.blocks.empty()) return;
  for (const auto& block : scan.blocks) {
    if (!pki::is_private_key_label(block.label)) continue;
    if (!block.decoded) return;  // reported by the PEM scan
    key_ = pki::private_key_from_block(block);
    if (!key_) {
      add("key-format", file, "the " + block.label + " block is corrupted: it does not parse as a private key",
          "copy the key again from its source");
      return;
    }
    auto alg = pki::key_algorithm_of(key_.get());
    std::string kind = block.label == "PRIVATE KEY" ? "PKCS#8" : block.label == "RSA PRIVATE KEY" ? "PKCS#1" : "SEC1";
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

void Checker::check_key_match() {
  if (!src_.public_only_pin.empty() && ca_cert_ && src_.file(key_name_) == nullptr) {
    const std::string certified = pki::spki_sha256(X509_get0_pubkey(ca_cert_.get()));
    if (certified == src_.public_only_pin) {
      pass("key-pin", display(ca_cert_name_), "certifies the pinned key " + certified + " of public-bundle.yaml");
    } else {
      add("key-pin", display(ca_cert_name_),
          "certifies the key " + certified + ", not the key " + src_.public_only_pin + " public-bundle.yaml pins",
          "take ca-cert.pem and public-bundle.yaml together as the ceremony wrote them");
    }
    return;
  }
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

}  // namespace meshca::verify::detail

namespace meshca::verify {

std::size_t BundleReport::count(pki::Severity s) const {
  return static_cast<std::size_t>(std::count_if(findings.begin(), findings.end(), [s](const BundleFinding& f) { return f.severity == s; }));
}

BundleReport check_bundle(const BundleSource& source, const BundleCheckOptions& options) { return detail::Checker(source, options).run(); }

}  // namespace meshca::verify
