#include <gtest/gtest.h>
#include <stdlib.h>
#include <optional>

#include <set>

#include "ceremony/audit.hpp"
#include "ceremony/conformance.hpp"
#include "ceremony/external_root.hpp"
#include "ceremony/runner.hpp"
#include "ceremony/transcript.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "output_layout/istio_cacerts.hpp"
#include "pki/certificate.hpp"
#include "pki/csr.hpp"
#include "pki/verify.hpp"
#include "plan/ceremony_script.hpp"
#include "plan/plan_digest.hpp"
#include "plan/plan_reader.hpp"
#include "tests/unit/temp_dir.hpp"

namespace meshca::ceremony {
namespace {

constexpr const char* kPlan = R"(apiVersion: meshca/v1
kind: CeremonyPlan
metadata: {name: unit}
organization: Unit Corp
root:
  subject: {CN: Unit Root, O: Unit Corp}
  key:
    algorithm: ecdsa-p256
    store: file
    file: {path: keys/root.pem, passphrase: env:MESHCA_UNIT_PASS}
  validity: 10y
defaults:
  intermediate:
    validity: 1y
    name_constraints: trust_domain
meshes:
  - name: prod
    trust_domain: prod.unit.internal
    clusters: [{name: a}, {name: b}]
  - name: dev
    trust_domain: dev.unit.internal
    clusters: [{name: a}]
)";

class CeremonyTest : public ::testing::Test {
 protected:
  void SetUp() override { ::setenv("MESHCA_UNIT_PASS", "unit test passphrase", 1); }
  void TearDown() override { ::unsetenv("MESHCA_UNIT_PASS"); }

  Plan plan(const std::string& text = kPlan) { return parse_plan(text, "plan.yaml", dir_.path(), now_utc()); }

  CeremonyResult run(const Plan& p, CeremonyOptions opt = unattended()) {
    opt.out_dir = out();
    opt.key_context = {dir_.path(), {}};
    opt.on_event = [this](const CeremonyEvent& e) { events_.push_back(e.message); };
    return run_ceremony(p, opt);
  }

  static CeremonyOptions unattended() {
    CeremonyOptions opt;
    opt.assume_yes = true;
    return opt;
  }

  std::filesystem::path out() const { return dir_.path() / "out"; }

  std::set<std::string> tree() const {
    std::set<std::string> files;
    if (!std::filesystem::exists(dir_.path())) return files;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir_.path())) {
      files.insert(std::filesystem::relative(e.path(), dir_.path()).string());
    }
    return files;
  }

  std::optional<ErrorKind> code_of(const std::function<void()>& f) {
    try {
      f();
    } catch (const Error& e) {
      last_error_ = e.what();
      if (auto* m = dynamic_cast<const MultiError*>(&e)) {
        for (const auto& d : m->details()) last_error_ += "\n" + d;
      }
      return e.kind();
    }
    return std::nullopt;  // no error
  }

  test::TempDir dir_;
  std::vector<std::string> events_;
  std::string last_error_;
};

TEST_F(CeremonyTest, FirstRunIssuesEveryBundleThatVerifies) {
  auto result = run(plan());
  EXPECT_TRUE(result.root_key_generated);
  EXPECT_TRUE(result.root_certificate_issued);
  ASSERT_EQ(result.clusters.size(), 3u);
  auto root = pki::certificate_from_pem(read_file(out() / "root" / "root-cert.pem"), "root");
  for (const auto& c : result.clusters) {
    EXPECT_TRUE(c.issued);
    auto bundle = output_layout::read_istio_bundle(c.dir);
    EXPECT_TRUE(bundle.has_manifest);
    EXPECT_TRUE(pki::key_matches_certificate(bundle.ca_key.get(), bundle.ca_cert.get()));
    ASSERT_EQ(bundle.cert_chain.size(), 2u);
    EXPECT_EQ(X509_cmp(bundle.cert_chain[1].get(), root.get()), 0);
    EXPECT_TRUE(pki::verify_chain(bundle.ca_cert.get(), {}, {root.get()}).ok);
  }
  EXPECT_TRUE(std::filesystem::exists(out() / "SHA256SUMS"));
  EXPECT_TRUE(std::filesystem::exists(out() / "plan.yaml"));
  EXPECT_FALSE(std::filesystem::exists(out() / ".meshca-tmp"));
  // The root key stays outside OUT.
  for (const auto& f : tree()) EXPECT_FALSE(f.starts_with("out/") && f.find("keys") != std::string::npos) << f;
}

TEST_F(CeremonyTest, RerunKeepsCompleteBundlesByteForByte) {
  run(plan());
  std::string before = read_file(out() / "prod" / "a" / "ca-key.pem");
  auto again = run(plan());
  EXPECT_FALSE(again.root_key_generated);
  EXPECT_FALSE(again.root_certificate_issued);
  for (const auto& c : again.clusters) EXPECT_FALSE(c.issued);
  EXPECT_EQ(read_file(out() / "prod" / "a" / "ca-key.pem"), before);
}

TEST_F(CeremonyTest, AddedClusterIsIssuedUnderTheSameRoot) {
  run(plan());
  std::string root_before = read_file(out() / "root" / "root-cert.pem");
  std::string grown = kPlan;
  grown.replace(grown.find("[{name: a}, {name: b}]"), 22, "[{name: a}, {name: b}, {name: c}]");
  auto result = run(plan(grown));
  std::size_t issued = 0;
  for (const auto& c : result.clusters) issued += c.issued;
  EXPECT_EQ(issued, 1u);
  EXPECT_EQ(read_file(out() / "root" / "root-cert.pem"), root_before);
  EXPECT_TRUE(std::filesystem::exists(out() / "prod" / "c" / "ca-cert.pem"));
}

TEST_F(CeremonyTest, ConflictingBundleIsRefusedAndNothingIsWritten) {
  run(plan());
  std::string changed = kPlan;
  changed.replace(changed.find("clusters: [{name: a}]"), 21,
                  "clusters: [{name: a, intermediate: {key: {algorithm: ecdsa-p384}}}, {name: z}]");
  auto before = tree();
  EXPECT_EQ(code_of([&] { run(plan(changed)); }), ErrorKind::output);
  EXPECT_NE(last_error_.find("dev/a"), std::string::npos) << last_error_;
  EXPECT_NE(last_error_.find("ECDSA P-256"), std::string::npos) << last_error_;
  EXPECT_EQ(tree(), before);  // dev/z was not issued either
}

TEST_F(CeremonyTest, IncompleteBundleIsAConflictFoundBeforeTheKeyIsTouched) {
  std::filesystem::create_directories(out() / "prod" / "a");
  write_file_atomic(out() / "prod" / "a" / "ca-cert.pem", "x", 0644);
  EXPECT_EQ(code_of([&] { run(plan()); }), ErrorKind::output);
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "keys" / "root.pem"));
}

TEST_F(CeremonyTest, WrongPassphraseIsKeyStoreErrorAndWritesNothing) {
  run(plan());
  std::filesystem::remove_all(out());
  std::filesystem::create_directories(out());
  ::setenv("MESHCA_UNIT_PASS", "not the passphrase", 1);
  EXPECT_EQ(code_of([&] { run(plan()); }), ErrorKind::key_store);
  // Only the transcript, which records the failed attempt and verifies, and
  // the writer's lock file.
  std::set<std::string> entries;
  for (const auto& e : std::filesystem::directory_iterator(out())) entries.insert(e.path().filename());
  EXPECT_EQ(entries, (std::set<std::string>{".meshca-lock", "transcript.jsonl"}));
  auto report = verify_transcript(out() / "transcript.jsonl");
  EXPECT_TRUE(report.problems.empty());
  EXPECT_NE(read_file(out() / "transcript.jsonl").find("\"outcome\":\"failed\""), std::string::npos);
  EXPECT_EQ(read_file(out() / "transcript.jsonl").find("not the passphrase"), std::string::npos);
}

TEST_F(CeremonyTest, DigestOtherThanTheApprovedOneIsRefusedBeforeAnything) {
  auto opt = unattended();
  opt.expected_digest = std::string(64, 'a');
  EXPECT_EQ(code_of([&] { run(plan(), opt); }), ErrorKind::invalid_input);
  EXPECT_FALSE(std::filesystem::exists(out()));
  opt.expected_digest = plan_digest(kPlan, "plan.yaml");
  EXPECT_EQ(run(plan(), opt).plan_digest, opt.expected_digest);
}

TEST_F(CeremonyTest, OperatorMustTypeTheDigestUnlessUnattended) {
  CeremonyOptions none;
  EXPECT_EQ(code_of([&] { run(plan(), none); }), ErrorKind::usage);
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "keys" / "root.pem"));

  CeremonyOptions wrong;
  wrong.confirm = [](const std::string&, const std::string&) { return false; };
  EXPECT_EQ(code_of([&] { run(plan(), wrong); }), ErrorKind::usage);
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "keys" / "root.pem"));

  CeremonyOptions typed;
  std::string asked;
  typed.confirm = [&](const std::string& question, const std::string& expected) {
    asked = question;
    return expected == plan_digest(kPlan, "plan.yaml").substr(0, 8);
  };
  typed.operator_name = "Alice";
  typed.witnesses = {"Bob", "Carol"};
  auto result = run(plan(), typed);
  EXPECT_NE(asked.find(result.plan_digest), std::string::npos);
  std::string transcript = read_file(out() / "transcript.jsonl");
  EXPECT_NE(transcript.find("typed by the operator"), std::string::npos);
  EXPECT_NE(transcript.find("\"witnesses\":[\"Bob\",\"Carol\"]"), std::string::npos);
}

TEST_F(CeremonyTest, TranscriptRecordsEveryStepAndFileAndVerifies) {
  auto first = run(plan());
  auto report = verify_transcript(out() / "transcript.jsonl", out());
  EXPECT_TRUE(report.problems.empty());
  EXPECT_TRUE(report.file_problems.empty());
  EXPECT_EQ(report.sessions, 1u);
  EXPECT_EQ(report.head, first.transcript_head);
  EXPECT_TRUE(report.files.count("prod/a/ca-key.pem"));
  EXPECT_TRUE(report.files.count("root/root-cert.pem"));
  EXPECT_TRUE(report.files.count("SHA256SUMS"));
  // open, confirm, root-key, root-certificate, 3 intermediates, close
  EXPECT_EQ(report.lines, 8u);

  auto second = run(plan());
  report = verify_transcript(out() / "transcript.jsonl", out());
  EXPECT_TRUE(report.problems.empty());
  EXPECT_EQ(report.sessions, 2u);
  EXPECT_EQ(report.head, second.transcript_head);

  // A changed bundle file is reported by name.
  write_file_atomic(out() / "prod" / "b" / "root-cert.pem", "tampered\n", 0644, Replace::allowed);
  report = verify_transcript(out() / "transcript.jsonl", out());
  ASSERT_EQ(report.file_problems.size(), 1u);
  EXPECT_EQ(report.file_problems[0].file, "prod/b/root-cert.pem");
}

// The sheet the witnesses hold (ceremony_steps) and the transcript number
// the same steps: every record of a run carries its step's number, and the
// numbers of one session are the script's 1..N, each once, on the record the
// script names (the cluster records under their cluster's number, whatever
// order the workers published them in). A re-run that keeps every bundle
// records the same steps.
TEST_F(CeremonyTest, TranscriptRecordsCarryTheScriptsStepNumbers) {
  const auto p = plan();
  const auto script = ceremony_steps(p);
  CeremonyOptions opt = unattended();
  opt.jobs = 2;
  run(p, opt);
  run(p, opt);
  auto report = verify_transcript(out() / "transcript.jsonl", out());
  ASSERT_TRUE(report.problems.empty());
  ASSERT_EQ(report.session_steps.size(), 2u);
  for (const auto& session : report.session_steps) {
    EXPECT_EQ(session.plan_digest, script.plan_digest);
    ASSERT_EQ(session.records.size(), script.steps.size());
    std::set<std::size_t> seen;
    for (const auto& r : session.records) {
      const auto* step = script.step(r.number);
      ASSERT_NE(step, nullptr) << r.number;
      EXPECT_EQ(r.step, step->record) << r.number;
      EXPECT_EQ(r.subject, step->subject) << r.number;
      EXPECT_TRUE(seen.insert(r.number).second) << "step " << r.number << " recorded twice";
    }
  }
  EXPECT_NE(report.session_steps[0].records.back().shows.find("completed, head "), std::string::npos);
  EXPECT_EQ(report.session_steps[1].records.back().shows, "completed, head " + report.head);
}

TEST_F(CeremonyTest, ShortPassphraseForNewKeyIsRefused) {
  ::setenv("MESHCA_UNIT_PASS", "short", 1);
  EXPECT_EQ(code_of([&] { run(plan()); }), ErrorKind::key_store);
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "keys" / "root.pem"));
  EXPECT_FALSE(std::filesystem::exists(out() / "root"));
}

TEST_F(CeremonyTest, RootKeyInsideOutputIsRefused) {
  std::string inside = kPlan;
  inside.replace(inside.find("keys/root.pem"), 13, "out/root.pem");
  EXPECT_EQ(code_of([&] { run(plan(inside)); }), ErrorKind::output);
  EXPECT_FALSE(std::filesystem::exists(out() / "root.pem"));
}

TEST_F(CeremonyTest, RootCertificateOfAnotherKeyIsRefused) {
  run(plan());
  std::filesystem::rename(dir_.path() / "keys" / "root.pem", dir_.path() / "old-root.pem");
  std::filesystem::remove_all(out() / "prod");
  std::filesystem::remove_all(out() / "dev");
  // The root certificate exists, so the key must too: no silent new key.
  EXPECT_EQ(code_of([&] { run(plan()); }), ErrorKind::key_store);
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "keys" / "root.pem"));
}

TEST_F(CeremonyTest, ReportsProgressEvents) {
  run(plan());
  ASSERT_FALSE(events_.empty());
  std::size_t issued = 0;
  for (const auto& e : events_) issued += e.find(": issued ") != std::string::npos;
  EXPECT_EQ(issued, 3u);
  for (const auto& e : events_) EXPECT_EQ(e.find("unit test passphrase"), std::string::npos);
}

TEST_F(CeremonyTest, RenewalReplacesOneBundleAndKeepsTheOthersByteForByte) {
  auto first = run(plan());
  std::string other_key = read_file(out() / "prod" / "b" / "ca-key.pem");
  std::string dev_cert = read_file(out() / "dev" / "a" / "ca-cert.pem");
  std::string old_serial = first.clusters[0].certificate.serial;

  auto opt = unattended();
  opt.renew = {"prod/a"};
  auto renewed = run(plan(), opt);
  ASSERT_TRUE(renewed.clusters[0].replaced.has_value());
  EXPECT_EQ(renewed.clusters[0].replaced->serial, old_serial);
  EXPECT_NE(renewed.clusters[0].certificate.serial, old_serial);
  EXPECT_FALSE(renewed.clusters[1].issued);
  EXPECT_EQ(read_file(out() / "prod" / "b" / "ca-key.pem"), other_key);
  EXPECT_EQ(read_file(out() / "dev" / "a" / "ca-cert.pem"), dev_cert);

  auto root = pki::certificate_from_pem(read_file(out() / "root" / "root-cert.pem"), "root");
  auto bundle = output_layout::read_istio_bundle(out() / "prod" / "a");
  EXPECT_TRUE(pki::verify_chain(bundle.ca_cert.get(), {}, {root.get()}).ok);
  EXPECT_EQ(pki::serial_hex(bundle.ca_cert.get()), renewed.clusters[0].certificate.serial);
  // The previous bundle is archived whole, not deleted.
  auto retired = out() / "retired" / "prod" / "a" / old_serial;
  EXPECT_EQ(output_layout::missing_bundle_files(retired, true), std::vector<std::string>{});
  auto report = verify_transcript(out() / "transcript.jsonl", out());
  EXPECT_TRUE(report.problems.empty());
  EXPECT_TRUE(report.file_problems.empty());
  EXPECT_NE(read_file(out() / "transcript.jsonl").find("\"action\":\"renewed\""), std::string::npos);
}

TEST_F(CeremonyTest, RenewExpiringSelectsByRemainingValidity) {
  std::string text = kPlan;
  text.replace(text.find("clusters: [{name: a}]"), 21, "clusters: [{name: a, intermediate: {validity: 30d}}]");
  run(plan(text));
  auto opt = unattended();
  opt.renew_expiring = Duration{0, 60, 0};
  auto result = run(plan(text), opt);
  std::size_t renewed = 0;
  for (const auto& c : result.clusters) renewed += c.replaced.has_value();
  EXPECT_EQ(renewed, 1u);
  EXPECT_TRUE(result.clusters[2].replaced.has_value());  // dev/a, the 30-day one
}

TEST_F(CeremonyTest, RenewingAnUnknownClusterIsAUsageError) {
  run(plan());
  auto opt = unattended();
  opt.renew = {"prod/zzz"};
  EXPECT_EQ(code_of([&] { run(plan(), opt); }), ErrorKind::usage);
  EXPECT_NE(last_error_.find("prod/zzz"), std::string::npos);
}

// Resume semantics: a bundle that differs from the plan in anything is a
// conflict naming the field, its old and new value, and how to renew it;
// renewing it leaves an output the audit accepts.
TEST_F(CeremonyTest, ChangedValidityIsAConflictNamingOldAndNewValueThenRenewalAudits) {
  run(plan());
  std::string changed = kPlan;
  changed.replace(changed.find("validity: 1y"), 12, "validity: 90d");
  auto before = tree();
  EXPECT_EQ(code_of([&] { run(plan(changed)); }), ErrorKind::output);
  EXPECT_NE(last_error_.find("intermediate.validity: found "), std::string::npos) << last_error_;
  EXPECT_NE(last_error_.find("the plan says 90d"), std::string::npos) << last_error_;
  EXPECT_NE(last_error_.find("--renew dev/a"), std::string::npos) << last_error_;
  EXPECT_EQ(tree(), before);
  auto opt = unattended();
  opt.renew = {"prod/a", "prod/b", "dev/a"};
  run(plan(changed), opt);
  auto report = audit_output(plan(changed), out());
  for (const auto& f : report.findings) EXPECT_NE(f.severity, pki::Severity::fail) << f.check << " " << f.subject << " " << f.message;
}

TEST_F(CeremonyTest, ChangedRootValidityIsRefusedBeforeTheKeyStoreIsOpened) {
  run(plan());
  std::string changed = kPlan;
  changed.replace(changed.find("validity: 10y"), 13, "validity: 20y");
  std::filesystem::rename(dir_.path() / "keys" / "root.pem", dir_.path() / "moved.pem");
  EXPECT_EQ(code_of([&] { run(plan(changed)); }), ErrorKind::output);  // not key_store: refused first
  EXPECT_NE(last_error_.find("root.validity"), std::string::npos) << last_error_;
  EXPECT_NE(last_error_.find("rotate phases"), std::string::npos) << last_error_;
}

// Every field the plan determines, changed on its own in the plan model: the
// conformance check of an issued bundle names exactly that field; the audit
// scope reports it, and the runner's scope stops no earlier than it.
TEST_F(CeremonyTest, ConformanceNamesEveryFieldThePlanDetermines) {
  auto p = plan();
  run(p);
  auto root = pki::certificate_from_pem(read_file(out() / "root" / "root-cert.pem"), "root");
  const auto digest = plan_digest(p.text, p.source.string());
  const MeshPlan& mesh = p.meshes[0];
  BundleExpectation want{.issuer_root = root.get()};
  EXPECT_TRUE(cluster_conformance(out() / "prod" / "a", mesh, mesh.clusters[0], digest, want).empty());
  struct Edit {
    std::string field;
    std::function<void(MeshPlan&, ClusterPlan&)> apply;
  };
  using output_layout::Layout;
  const std::vector<Edit> edits{
      {"intermediate.subject", [](MeshPlan&, ClusterPlan& c) { c.intermediate.subject.attributes.emplace_back("OU", "x"); }},
      {"intermediate.key.algorithm", [](MeshPlan&, ClusterPlan& c) { c.intermediate.algorithm = pki::KeyAlgorithm::rsa_2048; }},
      {"intermediate.validity",
       [](MeshPlan&, ClusterPlan& c) {
         c.intermediate.validity.duration = Duration{0, 90, 0};
       }},
      {"intermediate.path_len", [](MeshPlan&, ClusterPlan& c) { c.intermediate.path_len = 1; }},
      {"intermediate.key_usage", [](MeshPlan&, ClusterPlan& c) { c.intermediate.key_usage.digital_signature = false; }},
      {"intermediate.dns_names", [](MeshPlan&, ClusterPlan& c) { c.intermediate.dns_names = {"istiod.istio-system.svc"}; }},
      {"intermediate.name_constraints", [](MeshPlan&, ClusterPlan& c) { c.intermediate.name_constraints = NameConstraintsMode::none; }},
      {"intermediate.name_constraints", [](MeshPlan& m, ClusterPlan&) { m.trust_domain = "other.unit.internal"; }},
      {"outputs.layouts", [](MeshPlan& m, ClusterPlan&) { m.outputs.layouts.push_back(Layout::istio_tls); }},
      {"cacerts.yaml", [](MeshPlan& m, ClusterPlan&) { m.outputs.namespace_name = "other"; }},
  };
  for (const auto& edit : edits) {
    MeshPlan m = mesh;
    edit.apply(m, m.clusters[0]);
    for (auto scope : {FindingScope::all, FindingScope::first}) {
      want.scope = scope;
      auto findings = cluster_conformance(out() / "prod" / "a", m, m.clusters[0], digest, want);
      std::string all;
      for (const auto& f : findings) all += f.message() + "\n";
      EXPECT_NE(all.find(edit.field), std::string::npos) << edit.field << " not named in:\n" << all;
    }
  }
  RootPlan r = p.root;
  EXPECT_TRUE(root_conformance(root.get(), r, p.profile).empty());
  r.path_len = 2;
  r.validity.duration = Duration{20, 0, 0};
  auto root_findings = root_conformance(root.get(), r, p.profile);
  ASSERT_EQ(root_findings.size(), 2u);
  EXPECT_EQ(root_findings[0].field, "root.validity");
  EXPECT_EQ(root_findings[1].field, "root.path_len");
}

// A root under the corporate CA, in process: root csr, a corporate anchor
// certifies the CSR's key, root import, the ceremony, the audit; and what
// external_root_conformance() refuses, each named by its field.
TEST_F(CeremonyTest, ExternalRootFromCsrToAudit) {
  std::string text = kPlan;
  const std::string validity = "  validity: 10y\n";
  text.replace(text.find(validity), validity.size(),
               validity + "  issuer: external\n  external: {anchor_sha256: \"" + std::string(64, '0') + "\"}\n");
  Plan p = plan(text);
  ASSERT_EQ(p.root.issuer, RootIssuer::external);
  CeremonyOptions opt = unattended();
  opt.out_dir = out();
  opt.key_context = {dir_.path(), {}};
  // Nothing to issue under before the import.
  EXPECT_EQ(code_of([&] { run(p); }), ErrorKind::output);

  auto csr = create_root_csr(p, opt);
  auto csr_key = pki::read_csr(read_file(csr.csr_file), "root.csr.pem");
  EXPECT_EQ(csr_key.spki_sha256, csr.spki_sha256);

  // The corporate anchor, and the mesh root it certifies.
  const UnixTime now = now_utc();
  auto corp_key = pki::generate_key(pki::KeyAlgorithm::ecdsa_p384);
  pki::CertificateProfile corp;
  corp.subject = pki::DistinguishedName::canonical({{"O", "Corp"}, {"CN", "Corp Root"}});
  corp.not_before = now - 3600;
  corp.not_after = now + 20L * 366 * 86400;
  corp.key_usage = {.key_cert_sign = true, .crl_sign = true};
  auto anchor = pki::issue_certificate(corp, corp_key.get(), nullptr, corp_key.get());
  auto mesh_root = [&](std::optional<int> path_len, UnixTime not_after) {
    pki::CertificateProfile r;
    r.subject = p.root.subject;
    r.not_before = now - 60;
    r.not_after = not_after;
    r.path_len = path_len;
    r.key_usage = {.key_cert_sign = true, .crl_sign = true};
    return pki::issue_certificate(r, csr_key.public_key.get(), anchor.get(), corp_key.get());
  };
  auto root = mesh_root(1, now + 5L * 366 * 86400);
  ExternalRootCheck check{.root = root.get(), .issuer_chain = {anchor.get()}, .intermediates_at = now, .at = 0};
  auto fields = [&](const ExternalRootCheck& c) {
    std::string all;
    for (const auto& f : external_root_conformance(c, p)) all += f.message() + "\n";
    return all;
  };
  EXPECT_NE(fields(check).find("root.external.anchor_sha256"), std::string::npos);  // the dummy pin
  p.root.anchor_sha256 = pki::sha256_fingerprint(anchor.get());
  EXPECT_EQ(fields(check), "");
  auto no_room = mesh_root(0, now + 5L * 366 * 86400);
  check.root = no_room.get();
  EXPECT_NE(fields(check).find("root.path_len: found critical CA:TRUE, pathLen 0"), std::string::npos);
  auto short_lived = mesh_root(1, now + 100 * 86400L);
  check.root = short_lived.get();
  const std::string short_findings = fields(check);
  EXPECT_NE(short_findings.find("prod/a:"), std::string::npos) << short_findings;
  EXPECT_NE(short_findings.find("dev/a:"), std::string::npos) << short_findings;

  write_file_atomic(dir_.path() / "org-ca.pem", pki::certificate_to_pem(root.get()), kPublicFileMode);
  write_file_atomic(dir_.path() / "chain.pem", pki::certificate_to_pem(anchor.get()), kPublicFileMode);
  auto imported = import_root(p, opt, dir_.path() / "org-ca.pem", dir_.path() / "chain.pem", {});
  EXPECT_EQ(imported.root.sha256, pki::sha256_fingerprint(root.get()));
  EXPECT_EQ(code_of([&] { import_root(p, opt, dir_.path() / "org-ca.pem", dir_.path() / "chain.pem", {}); }), ErrorKind::output);

  auto result = run(p);
  EXPECT_FALSE(result.root_certificate_issued);
  ASSERT_EQ(result.clusters.size(), 3u);
  auto bundle = output_layout::read_istio_bundle(out() / "prod" / "a");
  ASSERT_EQ(bundle.cert_chain.size(), 3u);
  EXPECT_EQ(X509_cmp(bundle.cert_chain[1].get(), root.get()), 0);
  EXPECT_EQ(X509_cmp(bundle.cert_chain[2].get(), anchor.get()), 0);
  ASSERT_EQ(bundle.roots.size(), 1u);
  EXPECT_EQ(X509_cmp(bundle.roots[0].get(), anchor.get()), 0);
  auto report = audit_output(p, out());
  std::string failed;
  for (const auto& f : report.findings)
    if (f.severity == pki::Severity::fail) failed += f.check + " " + f.subject + ": " + f.message + "\n";
  EXPECT_TRUE(report.ok()) << failed;
  // A re-run keeps every bundle.
  auto again = run(p);
  for (const auto& c : again.clusters) EXPECT_FALSE(c.issued) << c.mesh << "/" << c.cluster;
}

}  // namespace
}  // namespace meshca::ceremony
