// Federation in the plan (plan/federation.hpp) and the trust configuration
// written beside each bundle of a federated mesh (output_layout/
// trust_config.hpp): renderers, the layout integration and plan reading.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "core/error.hpp"
#include "core/files.hpp"
#include "output_layout/layouts.hpp"
#include "output_layout/trust_config.hpp"
#include "pki/certificate.hpp"
#include "pki/key.hpp"
#include "plan/plan_reader.hpp"
#include "tests/unit/temp_dir.hpp"
#include "tests/unit/time_support.hpp"

namespace meshca {
namespace {

namespace fs = std::filesystem;
namespace ol = output_layout;

constexpr UnixTime kNow = 1795000000;
constexpr const char* kDigest = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

pki::X509Ptr self_signed(const std::string& cn, EVP_PKEY* key, bool ca = true) {
  pki::CertificateProfile p;
  p.subject = pki::DistinguishedName::canonical({{"CN", cn}});
  p.not_before = kNow - 60;
  p.not_after = kNow + std::int64_t{86400} * 365;
  p.is_ca = ca;
  p.path_len = ca ? std::optional<int>(1) : std::nullopt;
  p.key_usage = ca ? pki::KeyUsageBits{.digital_signature = false, .key_cert_sign = true, .crl_sign = true}
                   : pki::KeyUsageBits{.digital_signature = true, .key_cert_sign = false, .crl_sign = false};
  return pki::issue_certificate(p, key, nullptr, key);
}

struct Roots {
  pki::PKeyPtr key_a = pki::generate_key(pki::KeyAlgorithm::ecdsa_p256);
  pki::PKeyPtr key_b = pki::generate_key(pki::KeyAlgorithm::ecdsa_p256);
  std::string a = pki::certificate_to_pem(self_signed("Root A", key_a.get()).get());
  std::string b = pki::certificate_to_pem(self_signed("Root B", key_b.get()).get());
};

ol::TrustConfig two_roots(const Roots& r) {
  return {{{r.a, {"prod.example", "lab.example"}}, {r.b, {"partner.example"}}}, {"old.example"}, ""};
}

ol::ManifestMetadata meta() { return {"meshca-trust", "istio-system", {{"meshca.io/mesh", "prod"}}, {{"meshca.io/plan-digest", kDigest}}}; }

TEST(TrustConfig, IstioOperatorOverlayListsEveryRootWithItsTrustDomains) {
  Roots r;
  const YAML::Node doc = YAML::Load(ol::render_istio_operator_overlay(two_roots(r), meta(), "made by a test"));
  EXPECT_EQ(doc["apiVersion"].as<std::string>(), "install.istio.io/v1alpha1");
  EXPECT_EQ(doc["kind"].as<std::string>(), "IstioOperator");
  EXPECT_EQ(doc["metadata"]["namespace"].as<std::string>(), "istio-system");
  const YAML::Node mc = doc["spec"]["meshConfig"];
  ASSERT_EQ(mc["caCertificates"].size(), 2U);
  EXPECT_EQ(mc["caCertificates"][0]["pem"].as<std::string>(), r.a);  // byte for byte, final newline included
  EXPECT_EQ(mc["caCertificates"][1]["pem"].as<std::string>(), r.b);
  EXPECT_EQ(mc["caCertificates"][0]["trustDomains"].as<std::vector<std::string>>(),
            (std::vector<std::string>{"prod.example", "lab.example"}));
  EXPECT_EQ(mc["caCertificates"][1]["trustDomains"].as<std::vector<std::string>>(), std::vector<std::string>{"partner.example"});
  EXPECT_EQ(mc["trustDomainAliases"].as<std::vector<std::string>>(), std::vector<std::string>{"old.example"});
}

TEST(TrustConfig, HelmValuesHoldTheSameMeshConfig) {
  Roots r;
  const auto trust = two_roots(r);
  const YAML::Node values = YAML::Load(ol::render_istiod_values(trust, "made by a test"));
  const YAML::Node overlay = YAML::Load(ol::render_istio_operator_overlay(trust, meta(), "made by a test"));
  EXPECT_EQ(YAML::Dump(values["meshConfig"]), YAML::Dump(overlay["spec"]["meshConfig"]));
  EXPECT_EQ(values.size(), 1U);  // meshConfig only: nothing else of the chart is overridden
}

TEST(TrustConfig, NoAliasesAndNoTrustDomainsLeaveTheirKeysOut) {
  Roots r;
  const ol::TrustConfig trust{{{r.a, {}}}, {}, ""};
  const YAML::Node mc = YAML::Load(ol::render_istiod_values(trust, "x"))["meshConfig"];
  EXPECT_FALSE(mc["trustDomainAliases"]);
  EXPECT_FALSE(mc["trustDomain"]);
  EXPECT_FALSE(mc["caCertificates"][0]["trustDomains"]);
  EXPECT_EQ(mc["caCertificates"][0]["pem"].as<std::string>(), r.a);
}

TEST(TrustConfig, ATrustDomainMigrationSetsTheTrustDomainBesideItsAlias) {
  Roots r;
  ol::TrustConfig trust = two_roots(r);
  trust.trust_domain = "prod.example";
  const YAML::Node values = YAML::Load(ol::render_istiod_values(trust, "x"));
  const YAML::Node overlay = YAML::Load(ol::render_istio_operator_overlay(trust, meta(), "x"));
  EXPECT_EQ(values["meshConfig"]["trustDomain"].as<std::string>(), "prod.example");
  EXPECT_EQ(values["meshConfig"]["trustDomainAliases"][0].as<std::string>(), "old.example");
  EXPECT_EQ(YAML::Dump(values["meshConfig"]), YAML::Dump(overlay["spec"]["meshConfig"]));
}

TEST(TrustConfig, TrustManagerBundleHasOneInLineSourcePerRootAndAConfigMapTarget) {
  Roots r;
  auto m = meta();
  m.namespace_name = "";
  const YAML::Node doc = YAML::Load(ol::render_trust_manager_bundle(two_roots(r), m, "made by a test"));
  EXPECT_EQ(doc["apiVersion"].as<std::string>(), "trust.cert-manager.io/v1alpha1");
  EXPECT_EQ(doc["kind"].as<std::string>(), "Bundle");
  EXPECT_FALSE(doc["metadata"]["namespace"]);  // Bundles are cluster-scoped
  ASSERT_EQ(doc["spec"]["sources"].size(), 2U);
  EXPECT_EQ(doc["spec"]["sources"][0]["inLine"].as<std::string>(), r.a);
  EXPECT_EQ(doc["spec"]["sources"][1]["inLine"].as<std::string>(), r.b);
  EXPECT_EQ(doc["spec"]["target"]["configMap"]["key"].as<std::string>(), ol::kTrustManagerTargetKey);
}

TEST(TrustConfig, PemBundleIsTheRootsInOrder) {
  Roots r;
  EXPECT_EQ(ol::render_trust_bundle_pem(two_roots(r)), r.a + r.b);
}

// The layouts write the trust files of a federated cluster, check them like
// manifests, and refuse one that is not what the federation renders.
TEST(TrustConfig, LayoutsWriteAndCheckTheTrustFiles) {
  Roots r;
  auto int_key = pki::generate_key(pki::KeyAlgorithm::ecdsa_p256);
  pki::CertificateProfile p;
  p.subject = pki::DistinguishedName::canonical({{"CN", "Intermediate"}});
  p.not_before = kNow - 60;
  p.not_after = kNow + 86400;
  p.path_len = 0;
  p.key_usage = {.digital_signature = true, .key_cert_sign = true, .crl_sign = true};
  auto root = pki::certificate_from_pem(r.a, "a");
  auto cert = pki::issue_certificate(p, int_key.get(), root.get(), r.key_a.get());
  const auto files = ol::make_istio_bundle(cert.get(), int_key.get(), {root.get()}, {root.get()});

  ol::LayoutOptions o;
  o.mesh = "prod";
  o.cluster = "east";
  o.trust_domain = "prod.example";
  o.plan_digest = kDigest;
  o.trust = ol::FederationTrust{{"prod.example", "lab.example"}, {{r.b, {"partner.example"}}}, {}, ""};
  test::TempDir tmp;
  const auto digests = ol::write_layouts(tmp.path(), files, o);
  for (const char* f : {ol::kIstioOperatorFile, ol::kIstiodValuesFile, ol::kTrustManagerBundleFile, ol::kTrustBundleFile}) {
    EXPECT_TRUE(digests.count(f)) << f;
  }
  const auto names = ol::layout_file_names(o);
  EXPECT_NE(std::find(names.begin(), names.end(), ol::kTrustBundleFile), names.end());
  EXPECT_EQ(read_file(tmp.path() / ol::kTrustBundleFile), r.a + r.b);
  const ol::TrustConfig want{{{r.a, {"prod.example", "lab.example"}}, {r.b, {"partner.example"}}}, {}, ""};
  EXPECT_EQ(ol::trust_config(files.root_cert, *o.trust), want);
  EXPECT_TRUE(ol::mismatched_layout_files(tmp.path(), o).empty());

  // Another federation: the written files are no longer the plan's.
  ol::LayoutOptions other = o;
  other.trust->extra_roots.clear();
  const auto problems = ol::mismatched_layout_files(tmp.path(), other);
  ASSERT_EQ(problems.size(), 4U);
  EXPECT_NE(problems.front().second.find("trust configuration the plan's federation"), std::string::npos) << problems.front().second;
  EXPECT_THROW(ol::read_layout_bundle(tmp.path(), other), Error);

  // A hand edit is found too.
  std::string values = read_file(tmp.path() / ol::kIstiodValuesFile);
  write_file_atomic(tmp.path() / ol::kIstiodValuesFile, values + "# edited\n", kPublicFileMode, Replace::allowed);
  const auto edited = ol::mismatched_layout_files(tmp.path(), o);
  ASSERT_EQ(edited.size(), 1U);
  EXPECT_EQ(fs::path(edited.front().first).lexically_relative(tmp.path()).string(), ol::kIstiodValuesFile);

  // Without a federation there are no trust files.
  ol::LayoutOptions plain = o;
  plain.trust.reset();
  for (const auto& name : ol::layout_file_names(plain)) EXPECT_FALSE(name.starts_with("trust/")) << name;
}

// ---- the plan's federation --------------------------------------------------

class FederationPlanTest : public ::testing::Test {
 protected:
  FederationPlanTest() {
    write_file_atomic(tmp_.path() / "partner-root.pem", roots_.b, kPublicFileMode);
    pin_ = pki::sha256_fingerprint(pki::certificate_from_pem(roots_.b, "b").get());
  }

  // A plan with meshes prod, lab and dev, and `federation` as its last section.
  std::string plan(const std::string& federation) const {
    return "apiVersion: meshca/v1\n"                                                                //  1
           "kind: CeremonyPlan\n"                                                                   //  2
           "metadata: {name: fed}\n"                                                                //  3
           "root:\n"                                                                                //  4
           "  subject: {CN: Fed Root}\n"                                                            //  5
           "  key: {algorithm: ecdsa-p256, store: file, file: {path: k.pem, passphrase: env:P}}\n"  //  6
           "  validity: 10y\n"                                                                      //  7
           "meshes:\n"                                                                              //  8
           "  - {name: prod, trust_domain: prod.example, clusters: [{name: east}]}\n"               //  9
           "  - {name: lab, trust_domain: lab.example, clusters: [{name: west}]}\n"                 // 10
           "  - {name: dev, trust_domain: dev.example, clusters: [{name: north}]}\n"                // 11
           "federation:\n" +                                                                        // 12
           federation;
  }
  std::string good_root() const {
    return "      - {name: partner, file: partner-root.pem, sha256: '" + pin_ + "', trust_domains: [partner.example]}\n";
  }

  ceremony::Plan parse(const std::string& text) const {
    return ceremony::parse_plan(text, "plan.yaml", tmp_.path(), test::at("2026-11-24T12:00:00Z"));
  }

  // The findings of a plan that must be refused.
  std::vector<std::string> refused(const std::string& text) const {
    try {
      parse(text);
    } catch (const MultiError& e) {
      return e.details();
    }
    ADD_FAILURE() << "plan accepted";
    return {};
  }

  void expect_finding(const std::string& federation, const std::string& fragment) const {
    const auto details = refused(plan(federation));
    const bool found = std::any_of(details.begin(), details.end(), [&](const auto& d) { return d.find(fragment) != std::string::npos; });
    EXPECT_TRUE(found) << "no finding with '" << fragment << "' among:\n" << ::testing::PrintToString(details);
  }

  test::TempDir tmp_;
  Roots roots_;
  std::string pin_;
};

TEST_F(FederationPlanTest, MembersTrustTheOtherMembersAndTheExternalRoots) {
  const auto p = parse(plan("  - name: east-west\n    meshes: [prod, lab]\n    external_roots:\n" + good_root()));
  ASSERT_EQ(p.federations.size(), 1U);
  EXPECT_EQ(p.federations[0].meshes, (std::vector<std::string>{"prod", "lab"}));
  ASSERT_EQ(p.federations[0].external_roots.size(), 1U);
  EXPECT_EQ(p.federations[0].external_roots[0].pem, roots_.b);
  ASSERT_TRUE(p.meshes[0].trust);
  EXPECT_EQ(p.meshes[0].trust->bundle_root_trust_domains, (std::vector<std::string>{"prod.example", "lab.example"}));
  EXPECT_EQ(p.meshes[1].trust->bundle_root_trust_domains, (std::vector<std::string>{"lab.example", "prod.example"}));
  ASSERT_EQ(p.meshes[0].trust->extra_roots.size(), 1U);
  EXPECT_EQ(p.meshes[0].trust->extra_roots[0], (ol::TrustedRoot{roots_.b, {"partner.example"}}));
  EXPECT_FALSE(p.meshes[2].trust);  // dev is in no federation: no trust files
  EXPECT_TRUE(ceremony::layout_options(p.meshes[0], p.meshes[0].clusters[0], kDigest).trust);
}

TEST_F(FederationPlanTest, RefusesUnknownMeshesAndDuplicates) {
  expect_finding("  - {name: a, meshes: [prod, staging]}\n",
                 "plan.yaml:13:30: federation[0].meshes[1]: names no mesh of the plan ('staging')");
  expect_finding("  - {name: a, meshes: [prod, prod]}\n", "federation[0].meshes[1]: mesh 'prod' is named twice");
  expect_finding("  - {name: a, meshes: [prod, lab]}\n  - {name: a, meshes: [lab, dev]}\n",
                 "plan.yaml:14:12: federation[1].name: duplicate federation name 'a'");
  expect_finding("  - {name: a, meshes: [prod]}\n", "federation[0].meshes: a federation needs two parties or more");
  expect_finding("  - {name: a, meshes: [prod, lab], peers: [x]}\n", "federation[0].peers: unknown field");
}

TEST_F(FederationPlanTest, RefusesAnExternalRootThatIsNotThePinnedCaCertificate) {
  const std::string head = "  - name: a\n    meshes: [prod]\n    external_roots:\n";
  expect_finding(head + "      - {name: p, file: missing.pem, sha256: '" + pin_ + "', trust_domains: [partner.example]}\n",
                 "federation[0].external_roots[0].file:");
  expect_finding(head + "      - {name: p, file: partner-root.pem, sha256: '" + std::string(95, 'A') + "', trust_domains: [p.example]}\n",
                 "federation[0].external_roots[0].sha256: must be the SHA-256 fingerprint");
  const std::string other = pki::sha256_fingerprint(pki::certificate_from_pem(roots_.a, "a").get());
  expect_finding(head + "      - {name: p, file: partner-root.pem, sha256: '" + other + "', trust_domains: [p.example]}\n",
                 "plan.yaml:16:51: federation[0].external_roots[0].sha256: " + (tmp_.path() / "partner-root.pem").string() +
                     " holds the certificate " + pin_ + ", not the pinned one");
  // Not a CA; and two PEM blocks.
  auto leaf = self_signed("Leaf", roots_.key_a.get(), false);
  write_file_atomic(tmp_.path() / "leaf.pem", pki::certificate_to_pem(leaf.get()), kPublicFileMode);
  expect_finding(
      head + "      - {name: p, file: leaf.pem, sha256: '" + pki::sha256_fingerprint(leaf.get()) + "', trust_domains: [p.example]}\n",
      "is not a CA certificate");
  write_file_atomic(tmp_.path() / "two.pem", roots_.b + roots_.a, kPublicFileMode);
  expect_finding(head + "      - {name: p, file: two.pem, sha256: '" + pin_ + "', trust_domains: [p.example]}\n", "holds 2 PEM blocks");
  expect_finding(head + "      - {name: p, file: partner-root.pem, sha256: '" + pin_ + "'}\n",
                 "federation[0].external_roots[0].trust_domains: missing required field");
}

TEST_F(FederationPlanTest, RefusesATrustDomainClaimedByTwoRoots) {
  const std::string head = "  - name: a\n    meshes: [prod]\n    external_roots:\n";
  expect_finding(head + "      - {name: p, file: partner-root.pem, sha256: '" + pin_ + "', trust_domains: [lab.example]}\n",
                 "federation[0].external_roots[0].trust_domains[0]: trust domain 'lab.example' is already the trust domain of meshes[1]");
  write_file_atomic(tmp_.path() / "other-root.pem", roots_.a, kPublicFileMode);
  const std::string other = pki::sha256_fingerprint(pki::certificate_from_pem(roots_.a, "a").get());
  expect_finding(
      head + good_root() + "      - {name: q, file: other-root.pem, sha256: '" + other + "', trust_domains: [partner.example]}\n",
      "federation[0].external_roots[1].trust_domains[0]: trust domain 'partner.example' is already claimed by "
      "federation[0].external_roots[0] (partner)");
  // The same root in two federations is one root.
  EXPECT_NO_THROW(parse(plan(head + good_root() + "  - name: b\n    meshes: [lab]\n    external_roots:\n" + good_root())));
}

}  // namespace
}  // namespace meshca
