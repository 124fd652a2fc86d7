#include "ceremony/audit.hpp"

#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "ceremony/issuance.hpp"
#include "ceremony/output_tree.hpp"
#include "ceremony/plan_digest.hpp"
#include "ceremony/rotation.hpp"
#include "ceremony/runner.hpp"
#include "ceremony/transcript.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "output_layout/istio_cacerts.hpp"
#include "output_layout/layouts.hpp"
#include "pki/certificate.hpp"
#include "pki/crl.hpp"
#include "pki/pem_scan.hpp"
#include "pki/verify.hpp"

namespace meshca::ceremony {
namespace {

namespace fs = std::filesystem;
namespace ol = output_layout;

// What the transcript says was last done: the plan digest of the latest
// session and, per cluster, the fingerprint of the certificate it recorded.
struct TranscriptFacts {
  std::string plan_digest;
  std::map<std::string, std::string> certificate_sha256;  // "mesh/cluster" -> fingerprint
  std::map<std::string, std::string> current_sha256;      // rotation: the intermediate it replaced
  std::string root_sha256;                                // the root issued (the new root in a rotation)
};

TranscriptFacts read_facts(const fs::path& path) {
  TranscriptFacts facts;
  std::string text = read_file(path, 256 * 1024 * 1024);
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    auto record = nlohmann::json::parse(text.substr(start, end - start), nullptr, false);
    start = end + 1;
    if (!record.is_object() || !record.contains("details") || !record["details"].is_object()) continue;
    const auto& d = record["details"];
    std::string step = record.value("step", "");
    if (step == "open") facts.plan_digest = d.value("plan_digest", "");
    if ((step == "root-certificate" || step == "new-root-certificate") && d.contains("certificate")) {
      facts.root_sha256 = d["certificate"].value("sha256", "");
    }
    const std::string id = d.value("mesh", "") + "/" + d.value("cluster", "");
    if (step == "intermediate" && d.contains("certificate")) facts.certificate_sha256[id] = d["certificate"].value("sha256", "");
    if (step == "intermediate" && d.contains("current")) facts.current_sha256[id] = d["current"].value("sha256", "");
  }
  return facts;
}

class Auditor {
 public:
  Auditor(const Plan& plan, const fs::path& out, const AuditOptions& options)
      : plan_(plan), out_(out), options_(options), digest_(plan_digest(plan.text, plan.source.string())) {}

  AuditReport run() {
    check_digest_and_transcript();
    if (plan_.rotation && fs::exists(out_ / kRotationRunbookFile)) {
      audit_rotation();
      return std::move(report_);
    }
    if (check_root(plan_.root, "root")) {
      for (const auto& mesh : plan_.meshes)
        for (const auto& cluster : mesh.clusters) check_cluster(mesh, cluster, {out_, root_.get(), "", &facts_.certificate_sha256, {}, true});
    }
    for (const auto& problem : output_tree_problems(plan_, out_)) add(pki::Severity::fail, "stray", problem.path, problem.message);
    check_checksums(out_);
    return std::move(report_);
  }

 private:
  void add(pki::Severity s, const std::string& check, const std::string& subject, const std::string& message) {
    report_.findings.push_back({s, check, subject, message});
  }
  void expect(bool ok, const std::string& check, const std::string& subject, const std::string& good,
              const std::string& bad) {
    add(ok ? pki::Severity::pass : pki::Severity::fail, check, subject, ok ? good : bad);
  }

  void check_digest_and_transcript() {
    const std::string& digest = digest_;
    const fs::path transcript = out_ / kTranscriptFile;
    if (!fs::exists(transcript)) {
      add(pki::Severity::fail, "transcript", kTranscriptFile, "missing: nothing proves how this output was made");
    } else {
      auto report = verify_transcript(transcript, out_);
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

  // The certificate's validity as the plan's spec would produce it from its
  // notBefore (durations count from the ceremony's start).
  void check_validity(const X509* cert, const ValiditySpec& spec, const std::string& subject) {
    UnixTime nb = pki::not_before(cert), na = pki::not_after(cert);
    bool ok = spec.not_before ? nb == *spec.not_before : true;
    UnixTime expected = spec.not_after ? *spec.not_after : add_duration(nb, *spec.duration);
    ok = ok && na == expected;
    expect(ok, "validity", subject, "validity " + spec.to_string() + " as planned",
           "validity " + format_rfc3339(nb) + " .. " + format_rfc3339(na) + " does not match the plan's " + spec.to_string());
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

  // OUT/root/root-cert.pem against `spec` (the plan's root, or in a rotation
  // the new root); it becomes root_.
  bool check_root(const RootPlan& spec, const std::string& subject) {
    root_ = load_certificate(fs::path(kRootDir) / ol::kRootCertFile, subject);
    if (!root_) return false;
    auto expected = spec.subject.to_x509_name();
    expect(X509_NAME_cmp(X509_get_subject_name(root_.get()), expected.get()) == 0, "root", subject,
           "subject " + spec.subject.to_string(), "subject " + pki::subject_string(root_.get()) + " is not the plan's");
    expect(pki::key_algorithm_of(X509_get0_pubkey(root_.get())) == spec.key.algorithm, "root", subject,
           "key " + std::string(pki::key_algorithm_name(spec.key.algorithm)),
           "key is " + pki::describe_key(X509_get0_pubkey(root_.get())) + ", not the plan's");
    auto bc = pki::basic_constraints(root_.get());
    expect(bc.path_len == spec.path_len, "root", subject, "pathLen as planned", "pathLen differs from the plan");
    auto findings = pki::lint_ca_certificate(root_.get(), root_.get(), pki::CaRole::root);
    expect(lints_acceptable(plan_.profile, findings), "root", subject,
           "self-signed, lints clean", "fails the CA lints (run meshca verify for details)");
    check_validity(root_.get(), spec.validity, subject);
    if (!facts_.root_sha256.empty()) {
      expect(facts_.root_sha256 == pki::sha256_fingerprint(root_.get()), "recorded", subject,
             "the root certificate the transcript recorded", "not the root certificate the transcript recorded");
    }
    return true;
  }

  // Where a cluster's bundle is expected and what it must hold.
  struct BundleExpectation {
    fs::path base;                                        // OUT, or OUT/phase-N
    const X509* issuer_root;                              // the root its intermediate chains to
    std::string label;                                    // "" or "phase-N/"
    const std::map<std::string, std::string>* recorded;  // fingerprints the transcript recorded
    std::vector<const X509*> trusted;                     // root-cert.pem in order; empty: not checked
    // False for intermediates an earlier ceremony issued (rotation phase 1):
    // their validity came from the plan of that day.
    bool planned_validity = true;
  };

  void check_cluster(const MeshPlan& mesh, const ClusterPlan& cluster, const BundleExpectation& want) {
    const std::string id = want.label + mesh.name + "/" + cluster.name;
    const fs::path dir = want.base / mesh.name / cluster.name;
    const auto layouts = layout_options(mesh, cluster, digest_);
    auto missing = ol::missing_layout_files(dir, layouts);
    if (!missing.empty()) {
      add(pki::Severity::fail, "bundle", id, fs::exists(dir) ? "incomplete: " + missing.front() + " is missing" : "the plan's cluster has no bundle");
      return;
    }
    ol::IstioBundle b;
    try {
      b = ol::read_layout_bundle(dir, layouts, ol::ManifestCheck::skip);
      for (const auto& [file, why] : ol::mismatched_layout_files(dir, layouts)) {
        add(pki::Severity::fail, "manifest", id, fs::path(file).lexically_relative(dir).string() + " " + why);
      }
    } catch (const Error& e) {
      add(pki::Severity::fail, "bundle", id, e.what());
      return;
    }
    const auto& planned = cluster.intermediate;
    auto subject = planned.subject.to_x509_name();
    expect(X509_NAME_cmp(X509_get_subject_name(b.ca_cert.get()), subject.get()) == 0, "subject", id,
           planned.subject.to_string(), pki::subject_string(b.ca_cert.get()) + " is not the plan's " + planned.subject.to_string());
    expect(pki::key_algorithm_of(b.ca_key.get()) == planned.algorithm, "key", id,
           std::string(pki::key_algorithm_name(planned.algorithm)) + ", matching ca-cert.pem",
           "key is " + pki::describe_key(b.ca_key.get()) + ", not the plan's " + std::string(pki::key_algorithm_name(planned.algorithm)));
    expect(pki::key_matches_certificate(b.ca_key.get(), b.ca_cert.get()), "key", id, "ca-key.pem matches ca-cert.pem",
           "ca-key.pem does not match ca-cert.pem");
    auto verdict = pki::verify_chain(b.ca_cert.get(), {}, {want.issuer_root});
    expect(verdict.ok, "chain", id, "chains to the root (strict)", "does not chain to this root: " + verdict.error);
    if (!want.trusted.empty()) {
      bool same = b.roots.size() == want.trusted.size();
      for (std::size_t i = 0; same && i < b.roots.size(); ++i) same = X509_cmp(b.roots[i].get(), want.trusted[i]) == 0;
      expect(same, "trusted-roots", id, "root-cert.pem holds the phase's roots in order",
             "root-cert.pem does not hold the roots this phase must trust");
    }
    auto nc = pki::name_constraints(b.ca_cert.get());
    bool want_nc = planned.name_constraints == NameConstraintsMode::trust_domain;
    expect(nc.present == want_nc && (!want_nc || nc.permitted_uri == std::vector<std::string>{mesh.trust_domain}),
           "name-constraints", id, want_nc ? "URI:" + mesh.trust_domain : "none, as planned",
           "name constraints differ from the plan");
    if (want.planned_validity) check_validity(b.ca_cert.get(), planned.validity, id);
    if (plan_.revocation.crl) check_crls(b, want.issuer_root, id, mesh.name + "/" + cluster.name);
    const std::string cluster_id = mesh.name + "/" + cluster.name;
    auto recorded = want.recorded->find(cluster_id);
    expect(recorded != want.recorded->end() && recorded->second == pki::sha256_fingerprint(b.ca_cert.get()),
           "recorded", id, "the certificate the transcript recorded",
           "ca-cert.pem is not the certificate the transcript recorded for this cluster (swapped or re-issued outside the ceremony)");
  }

  // A rotation output: the new root, the previous (and cross-signed) root,
  // and every cluster's bundle in each phase with that phase's trust.
  void audit_rotation() {
    const RotationPlan& r = *plan_.rotation;
    if (!check_root(r.new_root, "new root")) return;
    auto previous = load_certificate(fs::path(kRootDir) / "previous-root-cert.pem", "previous root");
    if (!previous) return;
    auto expected = plan_.root.subject.to_x509_name();
    expect(X509_NAME_cmp(X509_get_subject_name(previous.get()), expected.get()) == 0, "root", "previous root",
           "subject " + plan_.root.subject.to_string(), "is not the plan's current root");
    if (!r.current_root_sha256.empty()) {
      expect(pki::sha256_fingerprint(previous.get()) == r.current_root_sha256, "root", "previous root",
             "the root the plan pins", "not the root the plan pins in rotation.current_root_sha256");
    }
    std::vector<const X509*> phase2_trust{root_.get(), previous.get()};
    if (r.cross_sign) {
      auto cross = load_certificate(fs::path(kRootDir) / "cross-signed-root-cert.pem", "cross-signed root");
      if (cross) {
        expect(pki::signed_by(cross.get(), previous.get()) &&
                   pki::key_matches_certificate(X509_get0_pubkey(root_.get()), cross.get()),
               "cross-sign", "cross-signed root", "the new root's key, certified by the previous root",
               "is not the new root certified by the previous root");
      }
    }
    const std::vector<std::vector<const X509*>> trust{
        {previous.get(), root_.get()}, phase2_trust, {root_.get()}};
    for (int phase = 1; phase <= kRotationPhases; ++phase) {
      BundleExpectation want{out_ / rotation_phase_dir(phase), phase == 1 ? previous.get() : root_.get(),
                             rotation_phase_dir(phase) + "/",
                             phase == 1 ? &facts_.current_sha256 : &facts_.certificate_sha256, trust[phase - 1],
                             phase != 1};
      for (const auto& mesh : plan_.meshes)
        for (const auto& cluster : mesh.clusters) check_cluster(mesh, cluster, want);
      check_for_strays(want.base, {kRootDir});
    }
    check_for_strays(out_, {"root", "phase-1", "phase-2", "phase-3"}, true);
    check_checksums(out_);
  }

  // revocation.crl: ca-crl.pem holds a CRL signed by the intermediate and
  // one signed by the root it chains to (the complete set Istio needs), and
  // neither has passed its nextUpdate.
  void check_crls(const ol::IstioBundle& b, const X509* root, const std::string& id, const std::string& cluster_id) {
    if (b.ca_crl.empty()) {
      add(pki::Severity::fail, "crl", id, "ca-crl.pem is missing, but the plan enables CRLs (run meshca crl refresh)");
      return;
    }
    bool by_intermediate = false, by_root = false, fresh = true, revoked = false;
    for (const auto& block : pki::scan_pem(b.ca_crl).blocks) {
      auto crl = pki::crl_from_der(block);
      if (!crl) continue;
      by_intermediate |= pki::crl_signed_by(crl.get(), b.ca_cert.get());
      bool root_signed = pki::crl_signed_by(crl.get(), root);
      by_root |= root_signed;
      revoked |= root_signed && pki::crl_revokes(crl.get(), b.ca_cert.get());
      auto next = pki::crl_next_update(crl.get());
      fresh &= next && *next > now_utc();
    }
    expect(by_intermediate && by_root && fresh, "crl", id, "ca-crl.pem: CRLs of the intermediate and the root, fresh",
           std::string("ca-crl.pem lacks a CRL ") + (!by_intermediate ? "of the intermediate" : !by_root ? "of the root" : "that is fresh") +
               " (run meshca crl refresh)");
    if (revoked) {
      add(pki::Severity::warn, "crl", id,
          "the root's CRL revokes this intermediate: its workloads are refused; renew it (meshca ceremony run --renew " + cluster_id + ")");
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
      if (actual == on_disk.end() || actual->second != digest) {
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
    for (const auto& entry : fs::directory_iterator(base, ec)) {
      std::string name = entry.path().filename().string();
      if (!entry.is_directory() || reserved.count(name) || name.starts_with(".")) continue;
      if (top_only || !planned_meshes.count(name)) {
        add(pki::Severity::fail, "stray", name, "a mesh directory the plan does not name");
        continue;
      }
      for (const auto& c : fs::directory_iterator(entry.path(), ec)) {
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
  pki::X509Ptr root_;
};

}  // namespace

bool AuditReport::ok() const {
  for (const auto& f : findings)
    if (f.severity == pki::Severity::fail) return false;
  return true;
}

AuditReport audit_output(const Plan& plan, const fs::path& out, const AuditOptions& options) {
  if (!fs::is_directory(out)) throw Error(ExitCode::invalid_input, "is not an output directory", out.string());
  return Auditor(plan, out, options).run();
}

}  // namespace meshca::ceremony
