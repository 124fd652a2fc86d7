#include "ceremony/conformance.hpp"

#include <openssl/x509v3.h>

#include <algorithm>
#include <set>

#include "ceremony/issuance.hpp"
#include "core/error.hpp"
#include "output_layout/layouts.hpp"
#include "pki/crl.hpp"
#include "pki/csr.hpp"
#include "pki/lint.hpp"
#include "pki/pem_scan.hpp"
#include "pki/verify.hpp"
#include "plan/profiles.hpp"

namespace meshca::ceremony {
namespace {

namespace fs = std::filesystem;
namespace ol = output_layout;

class Findings {
 public:
  explicit Findings(FindingScope scope) : scope_(scope) {}
  void add(std::string check, std::string field, std::string found, std::string planned) {
    list_.push_back({std::move(check), std::move(field), std::move(found), std::move(planned)});
  }
  // Whether a caller that wants only the first reason may stop here.
  bool done() const { return scope_ == FindingScope::first && !list_.empty(); }
  ConformanceFindings take() { return std::move(list_); }

 private:
  FindingScope scope_;
  ConformanceFindings list_;
};

std::string key_usage_text(const pki::KeyUsageBits& k, bool other_bits = false) {
  std::string s;
  auto add = [&](bool on, const char* name) {
    if (on) s += (s.empty() ? "" : ", ") + std::string(name);
  };
  add(k.digital_signature, "digitalSignature");
  add(k.non_repudiation, "nonRepudiation");
  add(k.key_encipherment, "keyEncipherment");
  add(k.key_cert_sign, "keyCertSign");
  add(k.crl_sign, "cRLSign");
  if (other_bits) s += (s.empty() ? "" : ", ") + std::string("other bits");
  return s.empty() ? "none" : s;
}

bool same_key_usage(const pki::KeyUsageBits& a, const pki::KeyUsageBits& b) {
  return a.digital_signature == b.digital_signature && a.non_repudiation == b.non_repudiation &&
         a.key_encipherment == b.key_encipherment && a.key_cert_sign == b.key_cert_sign && a.crl_sign == b.crl_sign;
}

std::string join(const std::vector<std::string>& items, const std::string& none = "none") {
  std::string s;
  for (const auto& i : items) s += (s.empty() ? "" : ", ") + i;
  return s.empty() ? none : s;
}

void check_subject(Findings& f, const X509* cert, const pki::DistinguishedName& planned, const std::string& field) {
  auto expected = planned.to_x509_name();
  if (X509_NAME_cmp(X509_get_subject_name(cert), expected.get()) != 0) {
    f.add("subject", field + ".subject", pki::subject_string(cert), planned.to_string());
  }
}

void check_key(Findings& f, const EVP_PKEY* key, pki::KeyAlgorithm planned, const std::string& field) {
  if (pki::key_algorithm_of(key) != planned) {
    f.add("key", field + ".key.algorithm", pki::describe_key(key), std::string(pki::key_algorithm_name(planned)));
  }
}

// Durations count from the ceremony that issued the certificate, so the
// plan's window is resolved against the certificate's own notBefore.
void check_validity(Findings& f, const X509* cert, const ValiditySpec& spec, const std::string& field) {
  const UnixTime nb = pki::not_before(cert), na = pki::not_after(cert);
  const auto want = spec.resolve(nb);
  if (nb != want.not_before || na != want.not_after) {
    f.add("validity", field + ".validity", format_rfc3339(nb) + " .. " + format_rfc3339(na), spec.to_string());
  }
}

// basicConstraints (critical, CA:TRUE, pathLen) and keyUsage (critical, the
// profile's bits exactly).
void check_ca_extensions(Findings& f, const X509* cert, const std::optional<int>& path_len,
                         const pki::KeyUsageBits& key_usage, const std::string& field) {
  auto bc = pki::basic_constraints(cert);
  std::optional<long> want_len;
  if (path_len) want_len = *path_len;
  if (!bc.present || !bc.critical || !bc.ca || bc.path_len != want_len) {
    std::string found = !bc.present ? "no basicConstraints"
                                    : std::string(bc.critical ? "critical " : "") + "CA:" + (bc.ca ? "TRUE" : "FALSE") +
                                          ", pathLen " + (bc.path_len ? std::to_string(*bc.path_len) : "unlimited");
    f.add("basic-constraints", field + ".path_len", found, "critical CA:TRUE, pathLen " + path_len_text(path_len));
  }
  auto ku = pki::key_usage(cert);
  if (!ku.present || !ku.critical || ku.other_bits || !same_key_usage(ku.bits, key_usage)) {
    std::string found = ku.present ? std::string(ku.critical ? "critical " : "") + key_usage_text(ku.bits, ku.other_bits)
                                   : "no keyUsage";
    f.add("key-usage", field + ".key_usage", found, "critical " + key_usage_text(key_usage));
  }
}

// The DNS names of the subjectAltName, and whether it holds anything else.
std::vector<std::string> san_dns_names(const X509* cert, bool& other) {
  std::vector<std::string> names;
  other = false;
  pki::GeneralNamesPtr gens(static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!gens) return names;
  for (int i = 0; i < sk_GENERAL_NAME_num(gens.get()); ++i) {
    const GENERAL_NAME* g = sk_GENERAL_NAME_value(gens.get(), i);
    if (g->type == GEN_DNS) {
      names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(g->d.dNSName)),
                         static_cast<std::size_t>(ASN1_STRING_length(g->d.dNSName)));
    } else {
      other = true;
    }
  }
  return names;
}

// What the plan adds beyond the CA extensions: SANs (a profile's extras),
// the name constraint on the trust domain, and never an EKU.
void check_extras(Findings& f, const X509* cert, const pki::CertificateProfile& want, const std::string& field) {
  bool other_names = false;
  auto dns = san_dns_names(cert, other_names);
  if (dns != want.dns_names || other_names) {
    f.add("san", field + ".dns_names", join(dns) + (other_names ? " (and other names)" : ""), join(want.dns_names));
  }
  auto nc = pki::name_constraints(cert);
  bool want_nc = !want.permitted_uri_hosts.empty();
  if (nc.present != want_nc || nc.permitted_uri != want.permitted_uri_hosts || nc.other_subtrees != 0 ||
      (want_nc && !nc.critical)) {
    std::string found = nc.present ? join(nc.permitted_uri) + (nc.other_subtrees ? " (and other subtrees)" : "") : "none";
    f.add("name-constraints", field + ".name_constraints", found,
          want_nc ? "permitted URI " + join(want.permitted_uri_hosts) : "none");
  }
  if ((X509_get_extension_flags(const_cast<X509*>(cert)) & EXFLAG_XKUSAGE) != 0) {
    f.add("eku", field + ".extended_key_usage", "an extendedKeyUsage extension", "none");
  }
}

std::string chain_text(const std::vector<const X509*>& certs) {
  std::vector<std::string> names;
  for (const X509* c : certs) names.push_back(pki::subject_string(c));
  return join(names, "nothing");
}

bool same_certificates(const std::vector<pki::X509Ptr>& found, const std::vector<const X509*>& want) {
  if (found.size() != want.size()) return false;
  for (std::size_t i = 0; i < found.size(); ++i)
    if (X509_cmp(found[i].get(), want[i]) != 0) return false;
  return true;
}

std::vector<const X509*> raw(const std::vector<pki::X509Ptr>& certs, std::size_t from = 0) {
  std::vector<const X509*> out;
  for (std::size_t i = from; i < certs.size(); ++i) out.push_back(certs[i].get());
  return out;
}

// Issuer, strict chain to the root, and the chain and trust files.
void check_chain(Findings& f, const ol::IstioBundle& b, const BundleExpectation& want) {
  // An external root is verified as an intermediate below the corporate
  // anchor, with the corporate CAs between.
  const bool external = !want.issuer_chain.empty();
  const X509* anchor = external ? want.issuer_chain.back() : want.issuer_root;
  std::vector<const X509*> untrusted;
  if (external) {
    untrusted.push_back(want.issuer_root);
    untrusted.insert(untrusted.end(), want.issuer_chain.begin(), want.issuer_chain.end() - 1);
  }
  auto verdict = pki::verify_chain(b.ca_cert.get(), untrusted, {anchor}, 0,
                                   want.root_verified ? pki::AnchorSignature::already_verified : pki::AnchorSignature::check);
  if (!verdict.ok) {
    f.add("chain", "root", "issued by " + pki::issuer_string(b.ca_cert.get()) + ": " + verdict.error,
          "chains to " + pki::subject_string(anchor) + " (strict)");
  }
  std::vector<const X509*> chain{b.ca_cert.get()};
  if (want.chain_tail.empty() && X509_cmp(b.ca_cert.get(), want.issuer_root) == 0) {
    // A root that signs (an adopted istiod CA) is its own chain.
  } else if (want.chain_tail.empty()) {
    chain.push_back(want.issuer_root);
    chain.insert(chain.end(), want.issuer_chain.begin(), want.issuer_chain.end());
  } else {
    chain.insert(chain.end(), want.chain_tail.begin(), want.chain_tail.end());
  }
  if (!same_certificates(b.cert_chain, chain)) {
    f.add("chain", "cert-chain.pem", chain_text(raw(b.cert_chain)), chain_text(chain));
  }
  std::vector<const X509*> trusted = want.trusted.empty() ? std::vector<const X509*>{anchor} : want.trusted;
  if (!same_certificates(b.roots, trusted)) {
    // An explicit list is a rotation phase's trust.
    f.add("trusted-roots", "",
          std::string("root-cert.pem does not hold ") + (want.trusted.empty() ? "exactly the plan's root" : "the roots this phase must trust") +
              ": found " + chain_text(raw(b.roots)) + ", expected " + chain_text(trusted),
          "");
  }
}

}  // namespace

std::string ConformanceFinding::message() const {
  if (field.empty()) return found;
  if (planned.empty()) return field + ": " + found;
  return field + ": found " + found + ", the plan says " + planned;
}

ConformanceFindings root_conformance(const X509* root, const RootPlan& spec, std::string_view profile,
                                     const std::string& field_prefix) {
  Findings f(FindingScope::all);
  check_subject(f, root, spec.subject, field_prefix);
  check_key(f, X509_get0_pubkey(root), spec.key.algorithm, field_prefix);
  check_validity(f, root, spec.validity, field_prefix);
  check_ca_extensions(f, root, spec.path_len, spec.key_usage, field_prefix);
  auto lints = pki::lint_ca_certificate(root, root, pki::CaRole::root);
  if (!lints_acceptable(spec.lint_warnings, lints)) {
    f.add("lints", field_prefix, "fails the CA lints of profile " + std::string(profile) + " (run meshca verify for details)", "");
  }
  return f.take();
}

int least_root_path_len(const Plan& plan) {
  int least = plan.root.path_len.value_or(1);
  for (const auto& mesh : plan.meshes) {
    for (auto layout : mesh.outputs.layouts) least = std::max(least, ol::layout_requirements(layout).min_root_path_len);
    for (const auto& cluster : mesh.clusters) least = std::max(least, cluster.intermediate.path_len.value_or(0) + 1);
  }
  return least;
}

ConformanceFindings external_root_conformance(const ExternalRootCheck& c, const Plan& plan) {
  Findings f(FindingScope::all);
  const RootPlan& spec = c.spec != nullptr ? *c.spec : plan.root;
  const std::string& field = c.field;
  const X509* root = c.root;
  check_subject(f, root, spec.subject, field);
  check_key(f, X509_get0_pubkey(root), spec.key.algorithm, field);
  const int least = c.least_path_len > 0 ? c.least_path_len : least_root_path_len(plan);
  auto bc = pki::basic_constraints(root);
  if (!bc.present || !bc.critical || !bc.ca || (bc.path_len && *bc.path_len < least)) {
    std::string found = !bc.present ? "no basicConstraints"
                                    : std::string(bc.critical ? "critical " : "") + "CA:" + (bc.ca ? "TRUE" : "FALSE") + ", pathLen " +
                                          (bc.path_len ? std::to_string(*bc.path_len) : "unlimited");
    f.add("basic-constraints", field + ".path_len", found,
          "critical CA:TRUE, pathLen " + std::to_string(least) + " or more (the CAs the plan puts below the root)");
  }
  auto ku = pki::key_usage(root);
  if (!ku.present || !ku.critical || !ku.bits.key_cert_sign || (plan.revocation.crl && !ku.bits.crl_sign)) {
    std::string found = ku.present ? std::string(ku.critical ? "critical " : "") + key_usage_text(ku.bits, ku.other_bits) : "no keyUsage";
    f.add("key-usage", field + ".key_usage", found,
          std::string("critical, with keyCertSign") + (plan.revocation.crl ? " and cRLSign (revocation.crl)" : ""));
  }
  if (c.issuer_chain.empty()) {
    f.add("chain", field + ".external", "no corporate chain (" + std::string("issuer-chain.pem") + ")",
          "the corporate CAs up to the anchor " + spec.anchor_sha256);
    return f.take();
  }
  const X509* anchor = c.issuer_chain.back();
  if (!pki::is_self_signed(anchor) || !pki::signed_by(anchor, anchor)) {
    f.add("chain", field + ".external", "the chain ends at " + pki::subject_string(anchor) + ", which is not self-signed",
          "a self-signed corporate anchor");
  } else if (pki::sha256_fingerprint(anchor) != spec.anchor_sha256) {
    f.add("anchor", field + ".external.anchor_sha256",
          "the anchor " + pki::subject_string(anchor) + " (SHA-256 " + pki::sha256_fingerprint(anchor) + ")", spec.anchor_sha256);
  }
  // The anchor is the trust root every layout installs (Linkerd's
  // trust-roots, SPIRE's bundle): it must be of the algorithm a layout needs.
  std::set<ol::Layout> reported;
  for (const auto& mesh : plan.meshes) {
    for (auto layout : mesh.outputs.layouts) {
      const auto& req = ol::layout_requirements(layout);
      if (!req.root_algorithm || pki::key_algorithm_of(X509_get0_pubkey(anchor)) == req.root_algorithm || !reported.insert(layout).second) {
        continue;
      }
      f.add("key", field + ".external",
            "the anchor " + pki::subject_string(anchor) + " has a " + pki::describe_key(X509_get0_pubkey(anchor)) + " key",
            std::string(pki::key_algorithm_name(*req.root_algorithm)) + " for the " + std::string(ol::layout_name(layout)) +
                " layout: " + std::string(req.root_algorithm_reason));
    }
  }
  std::vector<const X509*> untrusted(c.issuer_chain.begin(), c.issuer_chain.end() - 1);
  auto verdict = pki::verify_chain(root, untrusted, {anchor}, c.at);
  if (!verdict.ok) {
    f.add("chain", field, "issued by " + pki::issuer_string(root) + ": " + verdict.error,
          "chains to " + pki::subject_string(anchor) + " (strict)");
  }
  auto lints = pki::lint_ca_certificate(root, c.issuer_chain.front(), pki::CaRole::intermediate);
  std::erase_if(lints, [&](const pki::LintFinding& l) {
    return l.check == "path-length" || (l.check == "key-usage-crl-sign" && !plan.revocation.crl);
  });
  if (!lints_acceptable(spec.lint_warnings, lints)) {
    f.add("lints", field, "fails the CA lints of profile " + plan.profile + " (run meshca verify for details)", "");
  }
  // Below the i-th corporate CA sit the root, the i corporate CAs between
  // them, and the CAs the plan puts below the root.
  for (std::size_t i = 0; i < c.issuer_chain.size(); ++i) {
    const X509* ca = c.issuer_chain[i];
    auto cbc = pki::basic_constraints(ca);
    const long below = least + 1 + static_cast<long>(i);
    if (cbc.path_len && *cbc.path_len < below) {
      f.add("path-length", field + ".external", pki::subject_string(ca) + " has pathLen " + std::to_string(*cbc.path_len),
            "pathLen " + std::to_string(below) + " or more, or none: " + std::to_string(below) +
                " CAs sit below it (the mesh root and what the plan puts below it)");
    }
  }
  if (c.intermediates_at) {
    std::vector<const X509*> above{root};
    above.insert(above.end(), c.issuer_chain.begin(), c.issuer_chain.end());
    for (const auto& mesh : plan.meshes) {
      for (const auto& cluster : mesh.clusters) {
        const auto w = cluster.intermediate.validity.resolve(*c.intermediates_at);
        for (const X509* ca : above) {
          if (w.not_before >= pki::not_before(ca) && w.not_after <= pki::not_after(ca)) continue;
          f.add("validity", mesh.name + "/" + cluster.name,
                "the planned intermediate (" + format_rfc3339(w.not_before) + " .. " + format_rfc3339(w.not_after) +
                    ") does not lie inside " + pki::subject_string(ca) + " (" + format_rfc3339(pki::not_before(ca)) + " .. " +
                    format_rfc3339(pki::not_after(ca)) + ")",
                "every intermediate inside the validity of the root and of every corporate CA above it");
          break;
        }
      }
    }
  }
  return f.take();
}

ConformanceFindings issuer_crls_conformance(const X509* root, const std::vector<const X509*>& issuer_chain, std::string_view crls_pem,
                                            UnixTime at) {
  Findings f(FindingScope::all);
  std::vector<pki::X509CrlPtr> crls;
  const auto scan = pki::scan_pem(crls_pem);
  for (const auto& issue : scan.issues) {
    f.add("crl", "issuer-crls", "line " + std::to_string(issue.line) + ": " + issue.message, "clean PEM CRLs");
  }
  for (const auto& block : scan.blocks) {
    auto crl = pki::crl_from_der(block);
    if (!crl) {
      f.add("crl", "issuer-crls", "a block at line " + std::to_string(block.line) + " that is not an X.509 CRL", "CRLs only");
      continue;
    }
    crls.push_back(std::move(crl));
  }
  std::vector<bool> used(crls.size(), false);
  for (std::size_t i = 0; i < issuer_chain.size(); ++i) {
    const X509* ca = issuer_chain[i];
    const X509* below = i == 0 ? root : issuer_chain[i - 1];
    const std::string name = pki::subject_string(ca);
    std::size_t signed_by_ca = 0;
    for (std::size_t k = 0; k < crls.size(); ++k) {
      const X509_CRL* crl = crls[k].get();
      if (!pki::crl_signed_by(crl, ca)) continue;
      used[k] = true;
      ++signed_by_ca;
      const UnixTime this_update = pki::crl_this_update(crl);
      const auto next_update = pki::crl_next_update(crl);
      if (this_update > at || !next_update || *next_update <= at) {
        f.add("crl", "issuer-crls",
              "the CRL of " + name + " valid " + format_rfc3339(this_update) + " .. " +
                  (next_update ? format_rfc3339(*next_update) : "(no nextUpdate)"),
              "a CRL valid at " + format_rfc3339(at) + " (import a fresh one from the corporate CA: meshca crl import)");
      }
      if (pki::crl_revokes(crl, below)) {
        f.add("crl", "issuer-crls",
              "the CRL of " + name + " revokes " + pki::subject_string(below) + " (serial " + pki::serial_hex(below) + ")",
              "a chain whose CAs are not revoked");
      }
    }
    if (signed_by_ca == 0)
      f.add("crl", "issuer-crls", "no CRL signed by " + name, "one CRL from every corporate CA of the chain, the anchor included");
    if (signed_by_ca > 1) f.add("crl", "issuer-crls", std::to_string(signed_by_ca) + " CRLs signed by " + name, "exactly one, the latest");
  }
  for (std::size_t k = 0; k < crls.size(); ++k) {
    if (!used[k]) {
      f.add("crl", "issuer-crls", "a CRL issued by " + pki::crl_issuer_string(crls[k].get()) + " that no CA of the corporate chain signed",
            "only the corporate chain's CRLs");
    }
  }
  return f.take();
}

ConformanceFindings bundle_conformance(const ol::IstioBundle& b, const MeshPlan& mesh, const ClusterPlan& cluster,
                                       const BundleExpectation& want) {
  Findings f(want.scope);
  const X509* cert = b.ca_cert.get();
  if (want.adopted_signing != nullptr) {
    if (X509_cmp(cert, want.adopted_signing) != 0) {
      f.add("adopted", "ca-cert.pem", pki::subject_string(cert) + " (SHA-256 " + pki::sha256_fingerprint(cert) + ")",
            "the adopted CA's " + pki::subject_string(want.adopted_signing) + " (SHA-256 " + pki::sha256_fingerprint(want.adopted_signing) +
                ")");
    }
    if (b.ca_key) f.add("key", "ca-key.pem", "a private key", "none: the adopted CA's key never comes to the room");
    if (f.done()) return f.take();
    check_chain(f, b, want);
    return f.take();
  }
  const auto& planned = cluster.intermediate;
  // What intermediate_profile() would put into this certificate, had it
  // issued it at the certificate's own notBefore.
  const auto profile = intermediate_profile(mesh, cluster, pki::not_before(cert));
  check_subject(f, cert, planned.subject, "intermediate");
  check_key(f, X509_get0_pubkey(cert), planned.algorithm, "intermediate");
  if (want.check_validity) check_validity(f, cert, planned.validity, "intermediate");
  check_ca_extensions(f, cert, profile.path_len, profile.key_usage, "intermediate");
  check_extras(f, cert, profile, "intermediate");
  if (f.done()) return f.take();
  if (const auto& pin = planned.pinned_key) {
    // The cluster keeps the key: the certificate must carry the pinned one.
    std::string found = pki::spki_sha256(X509_get0_pubkey(cert));
    if (found != pin->spki_sha256) f.add("key", "intermediate.csr.spki_sha256", "a certificate for key " + found, pin->spki_sha256);
  } else if (want.public_copy) {
    // The key was removed from this copy; the audit says it was not checked.
  } else if (!b.ca_key) {
    f.add("key", "ca-key.pem", "no key", "the cluster's key, made in the room");
  } else if (!pki::key_matches_certificate(b.ca_key.get(), cert)) {
    f.add("key", "ca-key.pem", "a key that does not match ca-cert.pem", "");
  }
  if (f.done()) return f.take();
  check_chain(f, b, want);
  if (want.crl && planned.pinned_key) {
    // A public-only bundle: the CRLs above the intermediate, and the
    // content of its own CRL for `bundle assemble` to sign.
    if (b.ca_crl.empty())
      f.add("crl", "revocation.crl", "no chain-crls.pem", "chain-crls.pem with the CRLs of the root and the CAs above it");
    if (!b.intermediate_crl) f.add("crl", "revocation.crl", "a public-bundle.yaml without a crl section", "the intermediate's CRL content");
  } else if (want.crl && b.ca_crl.empty()) {
    f.add("crl", "revocation.crl", "no ca-crl.pem", "ca-crl.pem with the CRLs of the intermediate and the root");
  }
  return f.take();
}

ConformanceFindings cluster_conformance(const fs::path& dir, const MeshPlan& mesh, const ClusterPlan& cluster,
                                        const std::string& plan_digest, const BundleExpectation& want,
                                        std::optional<ol::IstioBundle>* bundle_out) {
  auto layouts = layout_options(mesh, cluster, plan_digest, want.rotation_phase);
  layouts.public_copy = want.public_copy;
  if (want.adopted_signing != nullptr) {
    layouts.key_custody = ol::KeyCustody::cluster;
    layouts.key_spki_sha256 = pki::spki_sha256(X509_get0_pubkey(want.adopted_signing));
  }
  Findings f(want.scope);
  std::error_code ec;
  auto missing = ol::missing_layout_files(dir, layouts);
  if (!missing.empty()) {
    bool exists = fs::exists(fs::symlink_status(dir, ec));
    if (exists) {
      f.add("bundle", "outputs.layouts", "incomplete bundle (missing " + missing.front() + ")", "");
    } else {
      f.add("bundle", "", "the plan's cluster has no bundle", "");
    }
    return f.take();
  }
  ol::IstioBundle b;
  try {
    // Stopping early, the reader's own manifest check names the first
    // disagreement; otherwise every disagreeing file is listed.
    // The roots and chain certificates expected here are held already: files
    // that are exactly their PEM are not parsed again for every bundle.
    std::vector<const X509*> known{want.issuer_root};
    known.insert(known.end(), want.issuer_chain.begin(), want.issuer_chain.end());
    known.insert(known.end(), want.chain_tail.begin(), want.chain_tail.end());
    known.insert(known.end(), want.trusted.begin(), want.trusted.end());
    b = ol::read_layout_bundle(dir, layouts, want.scope == FindingScope::first ? ol::ManifestCheck::verify : ol::ManifestCheck::skip,
                               known);
    if (want.scope == FindingScope::all) {
      for (const auto& [file, why] : ol::mismatched_layout_files(dir, layouts)) {
        f.add("manifest", fs::path(file).lexically_relative(dir).string(), why, "");
      }
    }
  } catch (const Error& e) {
    f.add("bundle", "", e.what(), "");
    return f.take();
  }
  if (!f.done()) {
    for (auto& finding : bundle_conformance(b, mesh, cluster, want)) {
      f.add(std::move(finding.check), std::move(finding.field), std::move(finding.found), std::move(finding.planned));
    }
  }
  if (bundle_out != nullptr) *bundle_out = std::move(b);
  return f.take();
}

}  // namespace meshca::ceremony
