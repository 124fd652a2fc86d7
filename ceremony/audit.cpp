#include "ceremony/audit.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "ceremony/conformance.hpp"
#include "ceremony/deployed_audit.hpp"
#include "ceremony/external_root.hpp"
#include "ceremony/issuance.hpp"
#include "ceremony/output_tree.hpp"
#include "ceremony/revocation.hpp"
#include "ceremony/rotation.hpp"
#include "ceremony/runner.hpp"
#include "ceremony/transcript.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "core/parallel.hpp"
#include "output_layout/istio_cacerts.hpp"
#include "output_layout/layouts.hpp"
#include "output_layout/public_bundle.hpp"
#include "pki/certificate.hpp"
#include "pki/crl.hpp"
#include "pki/pem_scan.hpp"
#include "pki/verify.hpp"
#include "plan/adopted_ca.hpp"
#include "plan/plan_digest.hpp"

namespace meshca::ceremony {
namespace {

namespace fs = std::filesystem;
namespace ol = output_layout;

// What the transcript says was last done: the plan digest of the latest
// session and, per cluster, the fingerprint of the certificate it recorded.
// Where a root and its corporate chain and CRLs are kept under OUT/root:
// the root of a ceremony output or a rotation's new root, and the previous
// root a rotation output keeps beside it.
struct RootFiles {
  const char* cert;
  const char* chain;
  const char* crls;
};
constexpr RootFiles kRootFiles{ol::kRootCertFile, kIssuerChainFile, kIssuerCrlsFile};
constexpr RootFiles kPreviousRootFiles{kPreviousRootFile, kPreviousIssuerChainFile, kPreviousIssuerCrlsFile};

struct TranscriptFacts {
  std::string plan_digest;
  std::map<std::string, std::string> certificate_sha256;  // "mesh/cluster" -> fingerprint
  std::map<std::string, std::string> current_sha256;      // rotation: the intermediate it replaced
  std::string root_sha256;                                // the root issued (the new root in a rotation)
};

TranscriptFacts read_facts(const fs::path& path) {
  TranscriptFacts facts;
  for_each_line(path, [&](std::string_view line, bool) {
    auto record = nlohmann::json::parse(line, nullptr, false);
    if (!record.is_object() || !record.contains("details") || !record["details"].is_object()) return;
    const auto& d = record["details"];
    std::string step = record.value("step", "");
    if (step == "open") facts.plan_digest = d.value("plan_digest", "");
    if ((step == "root-certificate" || step == "new-root-certificate") && d.contains("certificate")) {
      facts.root_sha256 = d["certificate"].value("sha256", "");
    }
    const std::string id = d.value("mesh", "") + "/" + d.value("cluster", "");
    if (step == "intermediate" && d.contains("certificate")) facts.certificate_sha256[id] = d["certificate"].value("sha256", "");
    if (step == "intermediate" && d.contains("current")) facts.current_sha256[id] = d["current"].value("sha256", "");
  });
  return facts;
}

class Auditor {
 public:
  Auditor(const Plan& plan, const fs::path& out, const AuditOptions& options)
      : plan_(plan), out_(out), options_(options), digest_(plan_digest(plan.text, plan.source.string())) {}

  AuditReport run() {
    check_digest_and_transcript();
    load_ledger();
    if (plan_.rotation && fs::exists(status_of(out_ / kRotationRunbookFile, ErrorKind::output))) {
      audit_rotation();
      return std::move(report_);
    }
    if (auto root = audit_root(plan_.root, "root", "root", kRootFiles, true)) {
      check_clusters(
          {out_, "", &facts_.certificate_sha256, {.issuer_root = root->root.get(), .issuer_chain = root->chain()}, root->chain()});
    }
    for (const auto& problem : output_tree_problems(plan_, out_)) add(pki::Severity::fail, "stray", problem.path, problem.message);
    check_checksums(out_);
    report_not_checked();
    return std::move(report_);
  }

 private:
  // The per-cluster checks run on worker threads, each into its own list
  // (merged in plan order); everything else goes straight into the report.
  using Sink = std::vector<AuditFinding>;
  static void add(Sink& sink, pki::Severity s, const std::string& check, const std::string& subject, const std::string& message) {
    sink.push_back({s, check, subject, message});
  }
  static void expect(Sink& sink, bool ok, const std::string& check, const std::string& subject, const std::string& good,
                     const std::string& bad) {
    add(sink, ok ? pki::Severity::pass : pki::Severity::fail, check, subject, ok ? good : bad);
  }
  void add(pki::Severity s, const std::string& check, const std::string& subject, const std::string& message) {
    add(report_.findings, s, check, subject, message);
  }
  void expect(bool ok, const std::string& check, const std::string& subject, const std::string& good,
              const std::string& bad) {
    expect(report_.findings, ok, check, subject, good, bad);
  }

  void check_digest_and_transcript() {
    const std::string& digest = digest_;
    const fs::path transcript = out_ / kTranscriptFile;
    if (!fs::exists(status_of(transcript, ErrorKind::output))) {
      add(pki::Severity::fail, "transcript", kTranscriptFile, "missing: nothing proves how this output was made");
    } else {
      auto report = verify_transcript(transcript, out_, options_.public_copy ? FileScope::public_copy : FileScope::all);
      not_checked_.insert(report.not_checked.begin(), report.not_checked.end());
      for (const auto& p : report.problems) {
        add(pki::Severity::fail, "transcript", std::string(kTranscriptFile) + ":" + std::to_string(p.line), p.message);
      }
      if (report.unclosed) {
        add(pki::Severity::fail, "transcript", std::string(kTranscriptFile) + ":" + std::to_string(report.unclosed->line),
            report.unclosed->message);
      }
      for (const auto& p : report.interrupted) {
        add(pki::Severity::warn, "transcript", std::string(kTranscriptFile) + ":" + std::to_string(p.line), p.message);
      }
      for (const auto& p : report.file_problems) {
        add(pki::Severity::fail, "file-digest", p.file, p.message);
      }
      if (report.complete() && report.file_problems.empty()) {
        add(pki::Severity::pass, "transcript", kTranscriptFile,
            "hash chain intact, " + std::to_string(report.files.size()) + " recorded files unchanged, head " + report.head);
      }
      if (!options_.expect_head.empty()) {
        expect(report.head == options_.expect_head, "transcript-head", kTranscriptFile,
               "the chain ends at the head the witnesses wrote down",
               "the chain ends at " + report.head + ", not at the expected head " + options_.expect_head +
                   " (records were appended or removed since)");
      }
      facts_ = read_facts(transcript);
      expect(facts_.plan_digest == digest, "plan-digest", kTranscriptFile, "the ceremony ran the approved plan " + digest,
             "the last ceremony ran plan " + facts_.plan_digest + ", not the approved " + digest);
    }
    auto copy = read_file_if_exists(out_ / "plan.yaml");
    expect(copy && plan_digest(*copy, "plan.yaml") == digest, "plan-digest", "plan.yaml",
           "OUT/plan.yaml is the approved plan", "OUT/plan.yaml is missing or differs from the approved plan");
  }

  pki::X509Ptr load_certificate(const fs::path& relative, const std::string& subject) {
    auto pem = read_file_if_exists(out_ / relative);
    if (!pem) {
      add(pki::Severity::fail, "root", subject, "OUT/" + relative.string() + " is missing");
      return nullptr;
    }
    try {
      return pki::certificate_from_pem(*pem, (out_ / relative).string());
    } catch (const Error& e) {
      add(pki::Severity::fail, "root", subject, e.what());
      return nullptr;
    }
  }

  // Conformance findings as audit findings of `subject` (PASS `good` when none).
  static void report(Sink& sink, const ConformanceFindings& findings, const std::string& subject, const std::string& good) {
    for (const auto& f : findings) add(sink, pki::Severity::fail, f.check, subject, f.message());
    if (findings.empty()) add(sink, pki::Severity::pass, "conformance", subject, good);
  }
  void report(const ConformanceFindings& findings, const std::string& subject, const std::string& good) {
    report(report_.findings, findings, subject, good);
  }

  // A root under OUT/root/: `cert_file` against `spec` (the plan's root,
  // or in a rotation the new or the previous root). A self-signed root must
  // carry every planned field (root_conformance); a root under the
  // corporate CA (issuer: external) comes with its corporate chain
  // `chain_file`, judged by external_root_conformance (the plan's subject
  // and key algorithm, the pathLen room and keyUsage, the strict chain to
  // the pinned anchor). `recorded`: it must be the root the transcript
  // recorded. Nothing when it cannot be read (a FAIL says why).
  std::optional<ExternalRoot> audit_root(const RootPlan& spec, const std::string& field, const std::string& subject, const RootFiles& files,
                                         bool recorded) {
    const char* cert_file = files.cert;
    const char* chain_file = files.chain;
    ExternalRoot r;
    r.root = load_certificate(fs::path(kRootDir) / cert_file, subject);
    if (!r.root) return std::nullopt;
    if (spec.issuer == RootIssuer::external) {
      auto chain_pem = read_file_if_exists(out_ / kRootDir / chain_file);
      if (!chain_pem) {
        add(pki::Severity::fail, "root", subject,
            "OUT/root/" + std::string(chain_file) + " is missing: the corporate chain of the imported root (meshca root import)");
        return std::nullopt;
      }
      try {
        r.issuer_chain = pki::certificates_from_pem(*chain_pem, (out_ / kRootDir / chain_file).string());
      } catch (const Error& e) {
        add(pki::Severity::fail, "root", subject, e.what());
        return std::nullopt;
      }
      ExternalRootCheck check{.root = r.root.get(),
                              .issuer_chain = r.chain(),
                              .intermediates_at = {},
                              .at = 0,
                              .spec = &spec,
                              .field = field,
                              .least_path_len = 0};
      report(external_root_conformance(check, plan_), subject,
             spec.subject.to_string() + ": subject and key as planned, issued by the corporate CA, chains (strict) to the pinned anchor " +
                 spec.anchor_sha256 + ", lints clean");
      if (plan_.revocation.crl) {
        if (auto crls = read_file_if_exists(out_ / kRootDir / files.crls)) r.issuer_crls = std::move(*crls);
        report(issuer_crls_conformance(r.root.get(), r.chain(), r.issuer_crls, now_utc()), "root/" + std::string(files.crls),
               "one CRL from every corporate CA above the root, valid now, none revoking the chain");
      }
    } else {
      report(root_conformance(r.root.get(), spec, plan_.profile, field), subject,
             spec.subject.to_string() + ": every field as planned, self-signed, lints clean");
    }
    if (recorded && !facts_.root_sha256.empty()) {
      expect(facts_.root_sha256 == pki::sha256_fingerprint(r.root.get()), "recorded", subject,
             "the root certificate the transcript recorded", "not the root certificate the transcript recorded");
    }
    return r;
  }

  // Where a cluster's bundle is expected and what it must hold besides what
  // the conformance check asks.
  struct BundleSite {
    fs::path base;                                        // OUT, or OUT/phase-N
    std::string label;                                    // "" or "phase-N/"
    const std::map<std::string, std::string>* recorded;  // fingerprints the transcript recorded
    BundleExpectation want;
    // With revocation.crl: the CAs above the intermediate's issuer whose
    // CRLs ca-crl.pem must hold besides the intermediate's and the issuer's.
    std::vector<const X509*> crl_issuers;
  };

  // Every cluster of the plan at `site`, on the worker threads (one per
  // core): each bundle is judged alone, and its findings keep plan order.
  // An auditor's public copy: one WARN naming what its absent private
  // files would have proven.
  void report_not_checked() {
    if (!options_.public_copy) return;
    if (not_checked_.empty()) {
      add(pki::Severity::pass, "public-copy", "OUT", "no file holding a private key is missing: everything was checked");
      return;
    }
    std::string files;
    for (const auto& f : not_checked_) files += (files.empty() ? "" : ", ") + f;
    add(pki::Severity::warn, "not-checked", "OUT",
        std::to_string(not_checked_.size()) +
            " file(s) holding private keys are absent from this public copy, so their digests "
            "and that each key matches its certificate were not checked: " +
            files);
  }

  void check_clusters(const BundleSite& site_in) {
    BundleSite site = site_in;
    site.want.public_copy = options_.public_copy;
    std::vector<std::pair<const MeshPlan*, const ClusterPlan*>> clusters;
    for (const auto& mesh : plan_.meshes)
      for (const auto& cluster : mesh.clusters) clusters.emplace_back(&mesh, &cluster);
    std::vector<Sink> found(clusters.size());
    parallel_for(clusters.size(), 0, [&]() -> ItemWork {
      return [&](std::size_t n) { check_cluster(found[n], *clusters[n].first, *clusters[n].second, site); };
    });
    for (auto& sink : found)
      for (auto& f : sink) report_.findings.push_back(std::move(f));
  }

  void check_cluster(Sink& sink, const MeshPlan& mesh, const ClusterPlan& cluster, const BundleSite& site) const {
    const std::string id = site.label + mesh.name + "/" + cluster.name;
    std::optional<ol::IstioBundle> bundle;
    auto findings = cluster_conformance(site.base / mesh.name / cluster.name, mesh, cluster, digest_, site.want, &bundle);
    report(sink, findings, id, "every certificate field, file and manifest as planned; chains to the root (strict)");
    if (!bundle) return;
    const bool trust_ok = std::none_of(findings.begin(), findings.end(), [](const auto& f) { return f.check == "trusted-roots"; });
    if (!site.want.trusted.empty() && trust_ok)
      add(sink, pki::Severity::pass, "trusted-roots", id, "root-cert.pem holds the phase's roots in order");
    if (plan_.revocation.crl) check_crls(sink, *bundle, site.want.issuer_root, site.crl_issuers, id, mesh.name + "/" + cluster.name);
    if (plan_.revocation.crl && bundle->intermediate_crl) check_planned_crl(sink, *bundle, id);
    auto recorded = site.recorded->find(mesh.name + "/" + cluster.name);
    expect(sink, recorded != site.recorded->end() && recorded->second == pki::sha256_fingerprint(bundle->ca_cert.get()), "recorded", id,
           "the certificate the transcript recorded",
           "ca-cert.pem is not the certificate the transcript recorded for this cluster (swapped or re-issued outside the ceremony)");
  }

  // The previous root of a rotation from an adopted CA: OUT/root/
  // previous-root-cert.pem is the adopted root the plan pins, read again
  // (public certificates only) for what phase 1 must carry.
  std::optional<ExternalRoot> audit_adopted_root(const AdoptedCaPlan& ca, std::optional<AdoptedCa>& adopted) {
    ExternalRoot r;
    r.root = load_certificate(fs::path(kRootDir) / kPreviousRootFile, "previous root");
    if (!r.root) return std::nullopt;
    try {
      adopted = read_pinned_adopted_ca(ca, plan_.base_dir, now_utc());
    } catch (const Error& e) {
      add(pki::Severity::fail, "root", "previous root", e.what());
      return std::nullopt;
    }
    expect(X509_cmp(r.root.get(), adopted->root.get()) == 0, "root", "previous root",
           "the adopted root the plan pins in rotation.current_ca.sha256 (" + ca.sha256 + ")",
           "not the adopted root the plan pins in rotation.current_ca.sha256");
    return r;
  }

  // A rotation output: the new root, the previous (and cross-signed) root,
  // and every cluster's bundle in each phase with that phase's trust.
  void audit_rotation() {
    const RotationPlan& r = *plan_.rotation;
    auto fresh = audit_root(r.new_root, "rotation.new_root", "new root", kRootFiles, true);
    if (!fresh) return;
    std::optional<AdoptedCa> adopted;
    auto previous = r.current_ca ? audit_adopted_root(*r.current_ca, adopted)
                                 : audit_root(plan_.root, "root", "previous root", kPreviousRootFiles, false);
    if (!previous) return;
    if (!r.current_root_sha256.empty()) {
      expect(pki::sha256_fingerprint(previous->root.get()) == r.current_root_sha256, "root", "previous root", "the root the plan pins",
             "not the root the plan pins in rotation.current_root_sha256");
    }
    pki::X509Ptr cross;
    if (r.cross_sign) {
      cross = load_certificate(fs::path(kRootDir) / kCrossSignedFile, "cross-signed root");
      if (cross) {
        expect(pki::signed_by(cross.get(), previous->root.get()) &&
                   pki::key_matches_certificate(X509_get0_pubkey(fresh->root.get()), cross.get()) &&
                   pki::subject_key_id(cross.get()) == pki::subject_key_id(fresh->root.get()),
               "cross-sign", "cross-signed root", "the new root's key and key identifier, certified by the previous root",
               "is not the new root (key and subjectKeyIdentifier) certified by the previous root");
      }
    }
    const auto material = rotation_phase_material(*previous, *fresh, cross.get());
    for (int phase = 1; phase <= kRotationPhases; ++phase) {
      const ExternalRoot& issuer = phase == 1 ? *previous : *fresh;
      const BundleSite site{out_ / rotation_phase_dir(phase),
                            rotation_phase_dir(phase) + "/",
                            phase == 1 ? &facts_.current_sha256 : &facts_.certificate_sha256,
                            {.issuer_root = issuer.root.get(),
                             .issuer_chain = issuer.chain(),
                             .chain_tail = phase == 1 && adopted ? adopted->chain_view() : material[phase - 1].chain,
                             .trusted = material[phase - 1].trusted,
                             .check_validity = phase != 1,
                             .adopted_signing = phase == 1 && adopted ? adopted->signing.get() : nullptr,
                             .rotation_phase = phase},
                            material[phase - 1].crl_issuers};
      check_clusters(site);
      check_for_strays(site.base, {kRootDir});
    }
    check_for_strays(out_, {"root", "phase-1", "phase-2", "phase-3"}, true);
    check_checksums(out_);
    report_not_checked();
  }

  // revocation.crl: ca-crl.pem holds a CRL signed by the intermediate and
  // one signed by the root it chains to (the complete set Istio needs), and
  // neither has passed its nextUpdate.
  // ... and for a root under the corporate CA, one from each corporate CA
  // above it (`issuer_chain`).
  // A public-only bundle (the cluster keeps its key) holds the CRLs above
  // the intermediate in chain-crls.pem; its own CRL is planned in
  // public-bundle.yaml (check_planned_crl) and signed at `bundle assemble`.
  static void check_crls(Sink& sink, const ol::IstioBundle& b, const X509* root, const std::vector<const X509*>& issuer_chain,
                         const std::string& id, const std::string& cluster_id) {
    const bool public_only = b.intermediate_crl.has_value();
    const std::string file = public_only ? ol::kChainCrlsFile : ol::kCaCrlFile;
    if (b.ca_crl.empty()) {
      add(sink, pki::Severity::fail, "crl", id, file + " is missing, but the plan enables CRLs (run meshca crl refresh)");
      return;
    }
    bool by_intermediate = public_only, by_root = false, fresh = true, revoked = false;
    std::vector<bool> by_corporate(issuer_chain.size(), false);
    for (const auto& block : pki::scan_pem(b.ca_crl).blocks) {
      auto crl = pki::crl_from_der(block);
      if (!crl) continue;
      by_intermediate |= pki::crl_signed_by(crl.get(), b.ca_cert.get());
      bool root_signed = pki::crl_signed_by(crl.get(), root);
      by_root |= root_signed;
      revoked |= root_signed && pki::crl_revokes(crl.get(), b.ca_cert.get());
      for (std::size_t i = 0; i < issuer_chain.size(); ++i)
        by_corporate[i] = by_corporate[i] || pki::crl_signed_by(crl.get(), issuer_chain[i]);
      auto next = pki::crl_next_update(crl.get());
      fresh &= next && *next > now_utc();
    }
    std::string missing = !by_intermediate ? "of the intermediate" : !by_root ? "of the root" : "";
    for (std::size_t i = 0; i < issuer_chain.size() && missing.empty(); ++i) {
      if (!by_corporate[i]) missing = "of the corporate CA " + pki::subject_string(issuer_chain[i]) + " (run meshca crl import)";
    }
    if (missing.empty() && !fresh) missing = "that is fresh";
    const std::string whose = issuer_chain.empty()
                                  ? (public_only ? "the root" : "the intermediate and the root")
                                  : (public_only ? "the root and the corporate CAs" : "the intermediate, the root and the corporate CAs");
    expect(sink, missing.empty(), "crl", id, file + ": CRLs of " + whose + ", fresh",
           file + " lacks a CRL " + missing + (missing.find("(run") == std::string::npos ? " (run meshca crl refresh)" : ""));
    if (revoked) {
      add(sink, pki::Severity::warn, "crl", id,
          "the root's CRL revokes this intermediate: its workloads are refused; renew it (meshca ceremony run --renew " + cluster_id + ")");
    }
  }

  // A public-only bundle's planned CRL (public-bundle.yaml) is what
  // `bundle assemble` signs: it must list exactly what the ledger owes the
  // intermediate (ledger_crl_content, the rule the room's CRLs follow), under
  // a number the ledger reserved, and still be valid.
  void check_planned_crl(Sink& sink, const ol::IstioBundle& b, const std::string& id) const {
    const pki::CrlProfile& planned = *b.intermediate_crl;
    if (!ledger_) {
      add(sink, pki::Severity::fail, "crl", id, "public-bundle.yaml plans a CRL, but revocations.json cannot be read");
      return;
    }
    const auto owed = ledger_crl_content(*ledger_, b.ca_cert.get(), plan_.revocation, planned.this_update, planned.number);
    auto serials = [](const pki::CrlProfile& p) {
      std::set<std::string> out;
      for (const auto& e : p.entries) {
        out.insert(e.serial_hex + " " + format_rfc3339(e.revoked_at) + " " + std::string(pki::revocation_reason_name(e.reason)));
      }
      return out;
    };
    auto reserved = ledger_->crl_numbers.find(pki::sha256_fingerprint(b.ca_cert.get()));
    std::string why;
    if (serials(planned) != serials(owed)) {
      why = "lists " + std::to_string(planned.entries.size()) + " revoked serial(s), the ledger " + std::to_string(owed.entries.size()) +
            " for this intermediate (run meshca crl refresh)";
    } else if (reserved == ledger_->crl_numbers.end() || planned.number > reserved->second) {
      why = "carries CRL number " + std::to_string(planned.number) + ", which the ledger never reserved for this intermediate";
    } else if (planned.next_update <= now_utc()) {
      why = "expired at " + format_rfc3339(planned.next_update) + " (run meshca crl refresh and assemble again)";
    }
    expect(sink, why.empty(), "crl", id,
           "public-bundle.yaml plans the intermediate's CRL number " + std::to_string(planned.number) +
               " with every revocation the ledger holds for it, fresh",
           "public-bundle.yaml's planned CRL " + why);
  }

  void load_ledger() {
    if (!plan_.revocation.crl) return;
    try {
      ledger_ = RevocationLedger::load(out_);
    } catch (const Error& e) {
      add(pki::Severity::fail, "revocations", kRevocationLedgerFile, e.what());
    }
  }

  // SHA256SUMS lists exactly the files of `base`, with their digests.
  void check_checksums(const fs::path& base) {
    const std::string label = (base == out_ ? std::string() : base.lexically_relative(out_).string() + "/") + ol::kChecksumsFile;
    auto text = read_file_if_exists(base / ol::kChecksumsFile);
    if (!text) {
      add(pki::Severity::fail, "checksums", label, "missing");
      return;
    }
    ol::FileDigests listed;
    try {
      listed = ol::parse_checksums(*text, label);
    } catch (const Error& e) {
      add(pki::Severity::fail, "checksums", label, e.what());
      return;
    }
    const auto on_disk = ol::output_file_digests(base);
    std::size_t problems = 0;
    for (const auto& [file, digest] : listed) {
      auto actual = on_disk.find(file);
      if (actual == on_disk.end() && options_.public_copy && ol::holds_private_key(file)) {
        not_checked_.insert((base == out_ ? std::string() : base.lexically_relative(out_).string() + "/") + file);
      } else if (actual == on_disk.end() || actual->second != digest) {
        add(pki::Severity::fail, "checksums", file, actual == on_disk.end() ? "listed in SHA256SUMS but missing" : "differs from its SHA256SUMS entry");
        ++problems;
      }
    }
    for (const auto& [file, digest] : on_disk) {
      if (!listed.count(file)) {
        add(pki::Severity::fail, "checksums", file, "is not listed in SHA256SUMS");
        ++problems;
      }
    }
    if (problems == 0) add(pki::Severity::pass, "checksums", label, std::to_string(listed.size()) + " files, every digest matches");
  }

  void check_for_strays(const fs::path& base, const std::set<std::string>& reserved, bool top_only = false) {
    std::set<std::string> planned_meshes;
    std::set<std::string> planned;
    for (const auto& mesh : plan_.meshes) {
      planned_meshes.insert(mesh.name);
      for (const auto& c : mesh.clusters) planned.insert(mesh.name + "/" + c.name);
    }
    std::error_code ec;
    for (const auto& entry : directory_entries(base, ErrorKind::output)) {
      std::string name = entry.path().filename().string();
      if (!entry.is_directory(ec) || reserved.count(name) || name.starts_with(".")) continue;
      if (top_only || !planned_meshes.count(name)) {
        add(pki::Severity::fail, "stray", name, "a mesh directory the plan does not name");
        continue;
      }
      for (const auto& c : directory_entries(entry.path(), ErrorKind::output)) {
        std::string id = name + "/" + c.path().filename().string();
        if (!planned.count(id)) add(pki::Severity::fail, "stray", id, "a bundle the plan does not name");
      }
    }
  }

  const Plan& plan_;
  fs::path out_;
  AuditOptions options_;
  std::string digest_;
  AuditReport report_;
  TranscriptFacts facts_;
  std::optional<RevocationLedger> ledger_;  // with revocation.crl
  std::set<std::string> not_checked_;  // public copy: absent files holding private keys, relative to OUT
};

}  // namespace

bool AuditReport::ok() const {
  for (const auto& f : findings)
    if (f.severity == pki::Severity::fail) return false;
  return true;
}

AuditReport audit_output(const Plan& plan, const fs::path& out, const AuditOptions& options) {
  if (!fs::is_directory(status_of(out, ErrorKind::invalid_input))) {
    throw Error(ErrorKind::invalid_input, "is not an output directory", out.string());
  }
  AuditReport report = Auditor(plan, out, options).run();
  if (!options.deployed.empty()) {
    for (auto& f : audit_deployed(plan, out, options.deployed)) report.findings.push_back(std::move(f));
  }
  return report;
}

}  // namespace meshca::ceremony
