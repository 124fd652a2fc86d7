// Certificate profiles (ceremony/profiles.hpp, templates/profiles/): the
// built-in ones parse and say what their comments say; a profile is parsed
// as strictly as a plan; the ceremony issues with the mesh's profile and
// allows (and records) the lint warnings a non-default profile implies.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <set>

#include "ceremony/runner.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "pki/certificate.hpp"
#include "pki/lint.hpp"
#include "plan/plan_reader.hpp"
#include "plan/plan_view.hpp"
#include "plan/profiles.hpp"
#include "templates/embedded.hpp"
#include "tests/unit/temp_dir.hpp"
#include "verify/bundle_check.hpp"
#include "verify/bundle_source.hpp"

namespace meshca::ceremony {
namespace {

constexpr UnixTime kNow = 1795000000;

std::vector<std::string> profile_errors(const std::string& text) {
  try {
    parse_profile(text, "bad.yaml", kNow);
  } catch (const MultiError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_input);
    return e.details();
  }
  ADD_FAILURE() << "accepted:\n" << text;
  return {};
}

bool has(const std::vector<std::string>& details, const std::string& fragment) {
  for (const auto& d : details)
    if (d.find(fragment) != std::string::npos) return true;
  return false;
}

std::string joined(const std::vector<std::string>& details) {
  std::string s;
  for (const auto& d : details) s += "\n  " + d;
  return s;
}

constexpr const char* kGoodProfile =
    "apiVersion: meshca/v1\n"                         // 1
    "kind: CertificateProfile\n"                      // 2
    "metadata: {name: custom}\n"                      // 3
    "root:\n"                                         // 4
    "  path_len: 2\n"                                 // 5
    "  key_usage: [keyCertSign, cRLSign]\n"           // 6
    "intermediate:\n"                                 // 7
    "  path_len: unlimited\n"                         // 8
    "  key_usage: [keyCertSign]\n"                    // 9
    "  key: {algorithm: rsa-3072}\n"                  // 10
    "  validity: 90d\n"                               // 11
    "  subject: {O: Custom, CN: \"{cluster} CA\"}\n"  // 12
    "lint_warnings: recorded\n";                      // 13

std::string with(const std::string& from, const std::string& to) {
  std::string text = kGoodProfile;
  auto pos = text.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  return text.replace(pos, from.size(), to);
}

TEST(Profiles, EveryBuiltInProfileParsesUnderItsOwnName) {
  auto names = templates::profile_names();
  EXPECT_EQ(names, (std::vector<std::string>{"istio-tools-certs", "linkerd", "meshca", "spire"}));
  for (const auto& name : names) {
    ProfileSpec p = builtin_profile(name, kNow);
    EXPECT_EQ(p.name, name);
    EXPECT_FALSE(p.description.empty()) << name;
    EXPECT_TRUE(p.root.key_usage.key_cert_sign && p.intermediate.key_usage.key_cert_sign) << name;
    // Only meshca's own profile, whose certificates pass every lint with no
    // finding, makes a lint WARN fatal; the others depart from it on purpose.
    EXPECT_EQ(p.lint_warnings, name == "meshca" ? LintWarnings::fatal : LintWarnings::recorded) << name;
  }
  EXPECT_THROW(builtin_profile("nope", kNow), Error);
}

TEST(Profiles, MeshcaProfileIsTheDesignDefaults) {
  ProfileSpec p = builtin_profile("meshca", kNow);
  EXPECT_EQ(p.root.path_len, 1);
  EXPECT_EQ(p.intermediate.path_len, 0);
  EXPECT_TRUE(!p.root.key_usage.digital_signature && p.root.key_usage.crl_sign);
  EXPECT_TRUE(p.intermediate.key_usage.digital_signature && p.intermediate.key_usage.crl_sign);
  EXPECT_EQ(p.algorithm, pki::KeyAlgorithm::ecdsa_p256);
  EXPECT_EQ(p.validity.duration->to_string(), "1y");
}

TEST(Profiles, IstioToolsCertsProfileFollowsTheRecipe) {
  ProfileSpec p = builtin_profile("istio-tools-certs", kNow);
  EXPECT_FALSE(p.root.path_len.has_value());  // CA:true without pathlen
  EXPECT_EQ(p.intermediate.path_len, 0);
  for (const auto& ku : {p.root.key_usage, p.intermediate.key_usage}) {
    EXPECT_TRUE(ku.digital_signature && ku.key_cert_sign);
    EXPECT_FALSE(ku.crl_sign);
  }
  EXPECT_EQ(p.algorithm, pki::KeyAlgorithm::rsa_4096);
  EXPECT_EQ(p.validity.duration->to_string(), "730d");
  std::vector<std::pair<std::string, std::string>> subject;
  for (const auto& [attr, tmpl] : p.subject) subject.emplace_back(attr, tmpl.text);
  EXPECT_EQ(subject, (std::vector<std::pair<std::string, std::string>>{{"L", "{cluster}"}, {"O", "Istio"}, {"CN", "Intermediate CA"}}));
}

TEST(Profiles, CustomProfileParses) {
  ProfileSpec p = parse_profile(kGoodProfile, "custom.yaml", kNow);
  EXPECT_EQ(p.root.path_len, 2);
  EXPECT_FALSE(p.intermediate.path_len.has_value());
  EXPECT_TRUE(p.intermediate.key_usage.key_cert_sign && !p.intermediate.key_usage.crl_sign);
  EXPECT_EQ(p.algorithm, pki::KeyAlgorithm::rsa_3072);
  EXPECT_EQ(p.lint_warnings, LintWarnings::recorded);
  EXPECT_EQ(parse_profile(with("lint_warnings: recorded\n", "lint_warnings: fatal\n"), "custom.yaml", kNow).lint_warnings,
            LintWarnings::fatal);
}

TEST(Profiles, ProfilesAreParsedStrictlyWithFileLineAndField) {
  struct Case {
    std::string from, to, where, field, message;
  };
  // Lines of the valid profile that several cases edit.
  const std::string path_len = "  path_len: 2\n", key_usage = "  key_usage: [keyCertSign]\n", validity = "  validity: 90d\n",
                    subject = "  subject: {O: Custom, CN: \"{cluster} CA\"}\n", lint = "lint_warnings: recorded\n";
  const std::vector<Case> cases{
      {"metadata: {name: custom}\n", "metadata: {name: custom, colour: blue}\n", "bad.yaml:3:", "metadata.colour", "unknown field"},
      {"kind: CertificateProfile\n", "kind: CeremonyPlan\n", "bad.yaml:2:", "kind", "must be CertificateProfile"},
      {"  key_usage: [keyCertSign, cRLSign]\n", "  key_usage: keyCertSign\n", "bad.yaml:6:", "root.key_usage", "must be a non-empty list"},
      {path_len, "  path_len: two\n", "bad.yaml:5:", "root.path_len", "must be a whole number"},
      {path_len, "  path_len: 0\n", "bad.yaml:5:", "root.path_len", "must be between 1 and 8"},
      {key_usage, "  key_usage: [keyCertSign, keyAgreement]\n", "bad.yaml:9:", "intermediate.key_usage[1]", "unknown key usage"},
      {key_usage, "  key_usage: [cRLSign]\n", "bad.yaml:9:", "intermediate.key_usage", "must include keyCertSign"},
      {"  key: {algorithm: rsa-3072}\n", "  key: {algorithm: dsa}\n", "bad.yaml:10:", "intermediate.key.algorithm", "unknown algorithm"},
      {validity, "  validity: soon\n", "bad.yaml:11:", "intermediate.validity", ""},
      {validity, "", "bad.yaml:8:", "intermediate.validity", "missing required field"},
      {subject, "  subject: {O: Custom}\n", "bad.yaml:12:", "intermediate.subject.CN", "missing required field"},
      {subject, "  subject: {O: \"{galaxy}\", CN: x}\n", "bad.yaml:12:", "intermediate.subject.O", "unknown placeholder"},
      {lint, "lint_warnings: sometimes\n", "bad.yaml:13:", "lint_warnings", "'sometimes' is not a lint warnings policy; use fatal"},
      {lint, "", "bad.yaml:1:", "lint_warnings", "missing required field"},
  };
  for (const auto& c : cases) {
    auto details = profile_errors(with(c.from, c.to));
    bool found = false;
    for (const auto& d : details) {
      found |= d.starts_with(c.where) && d.find(": " + c.field + ": ") != std::string::npos &&
               d.find(c.message) != std::string::npos;
    }
    EXPECT_TRUE(found) << c.where << " " << c.field << " " << c.message << ":" << joined(details);
  }
  EXPECT_TRUE(has(profile_errors("- a list\n"), "must be a mapping"));
  EXPECT_TRUE(has(profile_errors(""), "the profile is empty"));
}

// ---- in the plan and the ceremony -------------------------------------------

constexpr const char* kPlan = R"(apiVersion: meshca/v1
kind: CeremonyPlan
metadata: {name: profiles}
organization: Unit Corp
profile: istio-tools-certs
root:
  subject: {CN: Unit Root}
  key: {algorithm: ecdsa-p256, store: file, file: {path: keys/root.pem, passphrase: env:MESHCA_UNIT_PASS}}
  validity: 10y
defaults:
  intermediate: {key: {algorithm: ecdsa-p256}}
meshes:
  - name: tools
    trust_domain: tools.unit.internal
    clusters: [{name: east}]
  - name: plain
    trust_domain: plain.unit.internal
    profile: meshca
    clusters: [{name: east}]
)";

TEST(ProfilesInPlans, PlanAndMeshProfilesResolve) {
  Plan plan = parse_plan(kPlan, "plan.yaml", "/plans", kNow);
  EXPECT_EQ(plan.profile, "istio-tools-certs");
  EXPECT_FALSE(plan.root.path_len.has_value());  // no root.path_len in the plan
  EXPECT_FALSE(plan.root.key_usage.crl_sign);
  EXPECT_EQ(plan.root.lint_warnings, LintWarnings::recorded);
  const auto& tools = plan.meshes[0].clusters[0].intermediate;
  EXPECT_EQ(plan.meshes[0].profile, "istio-tools-certs");
  EXPECT_EQ(tools.algorithm, pki::KeyAlgorithm::ecdsa_p256);  // the plan's defaults win over the profile's
  EXPECT_EQ(tools.subject.to_string(), "L=east, O=Istio, CN=Intermediate CA");
  EXPECT_EQ(tools.validity.duration->to_string(), "730d");
  EXPECT_FALSE(tools.key_usage.crl_sign);
  EXPECT_EQ(tools.lint_warnings, LintWarnings::recorded);
  const auto& plain = plan.meshes[1].clusters[0].intermediate;
  EXPECT_EQ(plan.meshes[1].profile, "meshca");
  EXPECT_EQ(plain.subject.to_string(), "O=Unit Corp, OU=plain, CN=east Intermediate CA");
  EXPECT_TRUE(plain.key_usage.crl_sign);
  EXPECT_EQ(plain.path_len, 0);
  EXPECT_EQ(plain.lint_warnings, LintWarnings::fatal);

  auto root = root_profile(plan.root, kNow);
  EXPECT_FALSE(root.path_len.has_value());
  auto inter = intermediate_profile(plan.meshes[0], plan.meshes[0].clusters[0], kNow);
  EXPECT_EQ(inter.path_len, 0);
  EXPECT_TRUE(inter.key_usage.digital_signature && !inter.key_usage.crl_sign);
}

TEST(ProfilesInPlans, ThePlansRootPathLenWinsOverTheProfile) {
  std::string text = kPlan;
  text.replace(text.find("  validity: 10y\n"), 16, "  validity: 10y\n  path_len: 3\n");
  Plan plan = parse_plan(text, "plan.yaml", "/plans", kNow);
  EXPECT_EQ(plan.root.sources.at("path_len").where, "root.path_len");
  EXPECT_EQ(plan.root.path_len, 3);
}

TEST(ProfilesInPlans, CeremonyAllowsAndRecordsANonDefaultProfilesWarnings) {
  ::setenv("MESHCA_UNIT_PASS", "unit test passphrase", 1);
  test::TempDir dir;
  Plan plan = parse_plan(kPlan, "plan.yaml", dir.path(), now_utc());
  CeremonyOptions opt;
  opt.assume_yes = true;
  opt.out_dir = dir.path() / "out";
  opt.key_context = {dir.path(), {}};
  auto result = run_ceremony(plan, opt);
  ::unsetenv("MESHCA_UNIT_PASS");
  ASSERT_EQ(result.clusters.size(), 2u);
  auto tools = pki::certificate_from_pem(read_file(dir.path() / "out/tools/east/ca-cert.pem"), "tools");
  auto root = pki::certificate_from_pem(read_file(dir.path() / "out/root/root-cert.pem"), "root");
  EXPECT_FALSE(pki::key_usage(tools.get()).bits.crl_sign);
  EXPECT_FALSE(pki::basic_constraints(root.get()).path_len.has_value());
  auto findings = pki::lint_ca_certificate(tools.get(), root.get(), pki::CaRole::intermediate);
  EXPECT_FALSE(findings.empty());
  EXPECT_FALSE(pki::has_failure(findings));
  std::string transcript = read_file(dir.path() / "out/transcript.jsonl");
  EXPECT_NE(transcript.find("\"lint_warnings\":[\"key-usage-crl-sign"), std::string::npos);
  EXPECT_NE(transcript.find("\"name\":\"meshca\""), std::string::npos);
  // The meshca mesh's certificate is lint-clean.
  auto plain = pki::certificate_from_pem(read_file(dir.path() / "out/plain/east/ca-cert.pem"), "plain");
  EXPECT_TRUE(pki::lint_ca_certificate(plain.get(), root.get(), pki::CaRole::intermediate).empty());
}


// ---- plan precedence: most specific wins ------------------------------------

// Each level sets the intermediate's key, validity and CN to its own value.
struct LevelValues {
  SourceLevel level;
  pki::KeyAlgorithm algorithm;
  std::string validity;
  std::string cn;  // for cluster "east"
};
const std::vector<LevelValues> kLevels{
    {SourceLevel::builtin, pki::KeyAlgorithm::ecdsa_p256, "1y", "east Intermediate CA"},
    {SourceLevel::plan_profile, pki::KeyAlgorithm::rsa_4096, "730d", "Intermediate CA"},
    {SourceLevel::plan_defaults, pki::KeyAlgorithm::ecdsa_p384, "400d", "D east"},
    {SourceLevel::mesh_profile, pki::KeyAlgorithm::ecdsa_p256, "1y", "identity.linkerd.cluster.local"},
    {SourceLevel::mesh, pki::KeyAlgorithm::rsa_2048, "300d", "M east"},
    {SourceLevel::cluster, pki::KeyAlgorithm::rsa_3072, "200d", "C east"},
};

// A plan where exactly `levels` say something (the built-in level always does).
std::string precedence_plan(const std::set<SourceLevel>& levels) {
  auto on = [&](SourceLevel l) { return levels.count(l) > 0; };
  std::string t = "apiVersion: meshca/v1\nkind: CeremonyPlan\nmetadata: {name: precedence}\norganization: Unit Corp\n";
  if (on(SourceLevel::plan_profile)) t += "profile: istio-tools-certs\n";
  t += "root:\n  subject: {CN: Unit Root}\n  key: {algorithm: ecdsa-p256, store: file, file: {path: keys/root.pem}}\n"
       "  validity: 10y\n";
  if (on(SourceLevel::plan_defaults)) {
    t += "defaults:\n  intermediate: {key: {algorithm: ecdsa-p384}, validity: 400d, subject: {CN: \"D {cluster}\"}}\n";
  }
  t += "meshes:\n  - name: prod\n    trust_domain: prod.unit.internal\n";
  if (on(SourceLevel::mesh_profile)) t += "    profile: linkerd\n";
  if (on(SourceLevel::mesh)) {
    t += "    intermediate: {key: {algorithm: rsa-2048}, validity: 300d, subject: {CN: \"M {cluster}\"}}\n";
  }
  t += "    clusters:\n      - name: east\n";
  if (on(SourceLevel::cluster)) {
    t += "        intermediate: {key: {algorithm: rsa-3072}, validity: 200d, subject: {CN: \"C {cluster}\"}}\n";
  }
  return t;
}

std::string cn_of(const pki::DistinguishedName& name) {
  for (const auto& [attr, value] : name.attributes)
    if (attr == "CN") return value;
  return {};
}

void expect_resolved_from(const std::string& text, const LevelValues& want, const std::string& what) {
  Plan plan = parse_plan(text, "plan.yaml", "/plans", kNow);
  const auto& inter = plan.meshes.at(0).clusters.at(0).intermediate;
  EXPECT_EQ(inter.algorithm, want.algorithm) << what;
  EXPECT_EQ(inter.validity.duration->to_string(), want.validity) << what;
  EXPECT_EQ(cn_of(inter.subject), want.cn) << what;
  for (const char* field : {"key.algorithm", "validity", "subject.CN"}) {
    EXPECT_EQ(inter.sources.at(field).level, want.level) << what << ": " << field << " from " << inter.sources.at(field).where;
  }
}

TEST(PlanPrecedence, EachLevelOverridesEachLowerOne) {
  for (std::size_t high = 0; high < kLevels.size(); ++high) {
    for (std::size_t low = 0; low < high; ++low) {
      std::set<SourceLevel> levels{kLevels[low].level, kLevels[high].level};
      expect_resolved_from(precedence_plan(levels), kLevels[high],
                           std::string(source_level_name(kLevels[high].level)) + " over " +
                               std::string(source_level_name(kLevels[low].level)));
    }
  }
  std::set<SourceLevel> all;
  for (const auto& l : kLevels) all.insert(l.level);
  expect_resolved_from(precedence_plan(all), kLevels.back(), "every level");
}

// Issue 16: the Linkerd issuer keeps the name its profile requires although
// the plan-wide defaults name intermediates; attributes the profile does not
// set still come from the defaults.
TEST(PlanPrecedence, MeshProfileLinkerdWinsOverPlanWideDefaults) {
  std::string text = precedence_plan({SourceLevel::mesh_profile});
  text.replace(text.find("meshes:\n"), 8,
               "defaults:\n  intermediate: {subject: {C: US, O: Defaults Org, CN: \"{cluster} CA\"}, validity: 90d}\nmeshes:\n");
  Plan plan = parse_plan(text, "plan.yaml", "/plans", kNow);
  const auto& inter = plan.meshes[0].clusters[0].intermediate;
  EXPECT_EQ(inter.subject.to_string(), "C=US, L=east, O=Unit Corp, OU=prod, CN=identity.linkerd.cluster.local");
  EXPECT_EQ(inter.sources.at("subject.CN").where, "profile linkerd (meshes[0].profile)");
  EXPECT_EQ(inter.sources.at("subject.C").where, "defaults.intermediate");
  EXPECT_EQ(inter.validity.duration->to_string(), "1y");
  EXPECT_EQ(inter.sources.at("path_len").level, SourceLevel::mesh_profile);

  auto view = plan_view(plan, kNow);
  std::string shown = render_plan_view(view, ViewFormat::text);
  EXPECT_NE(shown.find("CN=identity.linkerd.cluster.local  [from C from defaults.intermediate; "), std::string::npos)
      << shown;
  EXPECT_NE(shown.find("[from profile linkerd (meshes[0].profile)]"), std::string::npos) << shown;
  auto json = nlohmann::json::parse(render_plan_view(view, ViewFormat::json));
  EXPECT_EQ(json["certificates"][1]["sources"]["validity"]["from"], "profile linkerd (meshes[0].profile)");
  EXPECT_EQ(json["certificates"][1]["sources"]["validity"]["level"], "mesh profile");
  EXPECT_EQ(json["certificates"][0]["sources"]["basic constraints"]["from"], "profile meshca (built-in default)");
  EXPECT_NE(render_plan_view(view, ViewFormat::markdown).find("| validity | 1y | profile linkerd (meshes[0].profile) |"),
            std::string::npos);
  EXPECT_NE(render_plan_view(view, ViewFormat::html).find("<td class=\"from\">from profile linkerd (meshes[0].profile)</td>"),
            std::string::npos);
}

// Issue 16: a plan-wide profile applies to the root; the model holds what
// the root certificate will carry, and the views show it.
TEST(PlanPrecedence, PlanWideProfileResolvesTheRoot) {
  Plan tools = parse_plan(precedence_plan({SourceLevel::plan_profile}), "plan.yaml", "/plans", kNow);
  EXPECT_FALSE(tools.root.path_len.has_value());
  EXPECT_FALSE(tools.root.key_usage.crl_sign);
  EXPECT_TRUE(tools.root.key_usage.non_repudiation);
  EXPECT_EQ(tools.root.sources.at("path_len").where, "profile istio-tools-certs (plan-wide)");
  EXPECT_EQ(tools.root.sources.at("key_usage").level, SourceLevel::plan_profile);
  auto shown = render_plan_view(plan_view(tools, kNow), ViewFormat::text);
  EXPECT_NE(shown.find("critical, CA:TRUE (no pathlen: unlimited)  [from profile istio-tools-certs (plan-wide)]"),
            std::string::npos) << shown;
  EXPECT_NE(shown.find("critical, digitalSignature, nonRepudiation, keyEncipherment, keyCertSign  [from profile "
                       "istio-tools-certs (plan-wide)]"),
            std::string::npos) << shown;

  Plan plain = parse_plan(precedence_plan({}), "plan.yaml", "/plans", kNow);
  EXPECT_EQ(plain.root.path_len, 1);
  EXPECT_EQ(plain.root.sources.at("path_len").level, SourceLevel::builtin);
  EXPECT_EQ(plain.meshes[0].clusters[0].intermediate.sources.at("name_constraints").where, "built-in default");
}

// Every built-in profile, plan-wide and per mesh: the ceremony issues, and
// meshca verify passes every bundle (WARNs allowed: they are the profiles'
// documented departures from meshca's own).
void expect_ceremony_bundles_verify(const std::string& text, const test::TempDir& dir, const std::string& what) {
  Plan plan = parse_plan(text, "plan.yaml", dir.path(), now_utc());
  CeremonyOptions opt;
  opt.assume_yes = true;
  opt.out_dir = dir.path() / ("out-" + what);
  opt.key_context = {dir.path(), {}};
  auto result = run_ceremony(plan, opt);
  ASSERT_EQ(result.clusters.size(), plan.cluster_count()) << what;
  for (const auto& mesh : plan.meshes) {
    for (const auto& cluster : mesh.clusters) {
      auto sources = verify::load_bundle_sources(opt.out_dir / mesh.name / cluster.name);
      ASSERT_EQ(sources.size(), 1u) << what;
      auto report = verify::check_bundle(sources[0], {.at = 0, .trust_domain = mesh.trust_domain});
      std::string failures;
      for (const auto& f : report.findings)
        if (f.severity == pki::Severity::fail) failures += "\n  " + f.check + ": " + f.message;
      EXPECT_TRUE(failures.empty()) << what << " " << mesh.name << "/" << cluster.name << failures;
    }
  }
}

TEST(ProfilesInPlans, EveryBuiltinProfilePlanWideAndPerMeshIssuesBundlesThatVerify) {
  ::setenv("MESHCA_UNIT_PASS", "unit test passphrase", 1);
  test::TempDir dir;
  const std::string head =
      "apiVersion: meshca/v1\nkind: CeremonyPlan\nmetadata: {name: every-profile}\norganization: Unit Corp\n";
  const std::string root =
      "root:\n  subject: {CN: Unit Root}\n"
      "  key: {algorithm: ecdsa-p256, store: file, file: {path: keys/root.pem, passphrase: env:MESHCA_UNIT_PASS}}\n"
      "  validity: 10y\n";
  std::string per_mesh = head + root + "  path_len: 2\nmeshes:\n";
  for (const auto& name : templates::profile_names()) {
    expect_ceremony_bundles_verify(head + "profile: " + name + "\n" + root +
                                       "meshes:\n  - name: m\n    trust_domain: m.unit.internal\n"
                                       "    clusters: [{name: a, intermediate: {name_constraints: trust_domain}}]\n",
                                   dir, "plan-wide-" + name);
    per_mesh += "  - name: " + name + "\n    trust_domain: " + name + ".unit.internal\n    profile: " + name +
                "\n    clusters: [{name: a}]\n";
  }
  expect_ceremony_bundles_verify(per_mesh, dir, "per-mesh");
  ::unsetenv("MESHCA_UNIT_PASS");
}

}  // namespace
}  // namespace meshca::ceremony
