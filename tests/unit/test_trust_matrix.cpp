// What the plan says per pair of clusters (verify/trust_matrix.hpp): one
// mesh, federated meshes and meshes of other OUTs vouched for by a
// federation's external root talk; anything else refuses; a rotation's
// phases 0 and 3 refuse whatever the meshes. And the acceptance model:
// a root trusted for a trust domain, not merely present.
#include <gtest/gtest.h>

#include "core/files.hpp"
#include "pki/certificate.hpp"
#include "pki/key.hpp"
#include "plan/plan_reader.hpp"
#include "tests/unit/temp_dir.hpp"
#include "tests/unit/time_support.hpp"
#include "verify/trust_matrix.hpp"

namespace meshca {
namespace {

namespace vf = verify;
constexpr UnixTime kNow = 1795000000;

pki::X509Ptr ca_cert(const std::string& cn, EVP_PKEY* key, const X509* issuer, EVP_PKEY* issuer_key) {
  pki::CertificateProfile p;
  p.subject = pki::DistinguishedName::canonical({{"CN", cn}});
  p.not_before = kNow - 60;
  p.not_after = kNow + std::int64_t{86400} * 365;
  p.is_ca = true;
  p.path_len = 1;
  p.key_usage = pki::KeyUsageBits{.digital_signature = false, .key_cert_sign = true, .crl_sign = true};
  return pki::issue_certificate(p, key, issuer, issuer_key);
}

class TrustExpectationTest : public ::testing::Test {
 protected:
  TrustExpectationTest() {
    auto key = pki::generate_key(pki::KeyAlgorithm::ecdsa_p256);
    write_file_atomic(tmp_.path() / "partner-root.pem", pki::certificate_to_pem(ca_cert("Partner", key.get(), nullptr, key.get()).get()),
                      kPublicFileMode);
    pin_ = pki::sha256_fingerprint(pki::certificate_from_pem(read_file(tmp_.path() / "partner-root.pem"), "partner").get());
  }

  // Meshes prod, lab and dev; prod and lab federated with each other and
  // with the partner's root (trust domain partner.example); dev alone.
  ceremony::Plan plan() const {
    const std::string text =
        "apiVersion: meshca/v1\nkind: CeremonyPlan\nmetadata: {name: fed}\nroot:\n  subject: {CN: Fed Root}\n"
        "  key: {algorithm: ecdsa-p256, store: file, file: {path: k.pem, passphrase: env:P}}\n  validity: 10y\nmeshes:\n"
        "  - {name: prod, trust_domain: prod.example, clusters: [{name: east}, {name: west}]}\n"
        "  - {name: lab, trust_domain: lab.example, clusters: [{name: west}]}\n"
        "  - {name: dev, trust_domain: dev.example, clusters: [{name: north}]}\n"
        "federation:\n  - name: east-west\n    meshes: [prod, lab]\n    external_roots:\n"
        "      - {name: partner, file: partner-root.pem, sha256: '" +
        pin_ + "', trust_domains: [partner.example]}\n";
    return ceremony::parse_plan(text, "plan.yaml", tmp_.path(), test::at("2026-11-24T12:00:00Z"));
  }

  static vf::TrustParty party(const std::string& mesh, const std::string& td, int phase = -1, bool in_plan = true) {
    return {.label = mesh, .mesh = mesh, .cluster = "c", .trust_domain = td, .in_plan = in_plan, .phase = phase};
  }

  test::TempDir tmp_;
  std::string pin_;
};

TEST_F(TrustExpectationTest, OneMeshAndFederatedMeshesTalkOthersRefuse) {
  const auto e = vf::plan_trust_expectations(plan(), {});
  const auto prod = party("prod", "prod.example");
  auto same = vf::expected_trust(e, prod, party("prod", "prod.example"));
  EXPECT_EQ(same.kind, vf::Expected::talk);
  EXPECT_EQ(same.why, "one mesh prod");
  auto fed = vf::expected_trust(e, prod, party("lab", "lab.example"));
  EXPECT_EQ(fed.kind, vf::Expected::talk);
  EXPECT_EQ(fed.why, "federation east-west");
  auto dev = vf::expected_trust(e, party("dev", "dev.example"), prod);
  EXPECT_EQ(dev.kind, vf::Expected::refuse);
  EXPECT_EQ(dev.why, "meshes dev and prod are neither one mesh nor federated");
}

TEST_F(TrustExpectationTest, AMeshOfAnotherOutputTalksOnlyWhenAFederationVouchesForItsTrustDomain) {
  const auto e = vf::plan_trust_expectations(plan(), {});
  const auto partner = party("partner-mesh", "partner.example", -1, false);
  auto lab = vf::expected_trust(e, party("lab", "lab.example"), partner);
  EXPECT_EQ(lab.kind, vf::Expected::talk);
  EXPECT_EQ(lab.why, "federation east-west (external root partner)");
  EXPECT_EQ(vf::expected_trust(e, partner, party("dev", "dev.example")).kind, vf::Expected::refuse);
  EXPECT_EQ(vf::expected_trust(e, party("prod", "prod.example"), party("x", "x.example", -1, false)).kind, vf::Expected::refuse);
  // Two meshes outside the plan: the plan has no word on them, except one mesh.
  EXPECT_EQ(vf::expected_trust(e, partner, party("x", "x.example", -1, false)).kind, vf::Expected::unjudged);
  EXPECT_EQ(vf::expected_trust(e, partner, party("partner-mesh", "partner.example", -1, false)).kind, vf::Expected::talk);
}

TEST_F(TrustExpectationTest, RotationPhasesAreJudgedAsTheRotationPromises) {
  const auto e = vf::plan_trust_expectations(plan(), {{0, 1, true}, {1, 2, true}, {2, 3, true}, {0, 3, false}});
  EXPECT_TRUE(vf::phases_checked(e, party("prod", "prod.example", 2), party("prod", "prod.example", 2)));
  EXPECT_TRUE(vf::phases_checked(e, party("prod", "prod.example", 3), party("prod", "prod.example", 0)));
  EXPECT_FALSE(vf::phases_checked(e, party("prod", "prod.example", 0), party("prod", "prod.example", 2)));
  auto adjacent = vf::expected_trust(e, party("prod", "prod.example", 2), party("lab", "lab.example", 1));
  EXPECT_EQ(adjacent.kind, vf::Expected::talk);
  EXPECT_EQ(adjacent.why, "federation east-west, phase 1 and phase 2 coexist");
  auto retired = vf::expected_trust(e, party("prod", "prod.example", 3), party("prod", "prod.example", 0));
  EXPECT_EQ(retired.kind, vf::Expected::refuse);
  EXPECT_EQ(retired.why, "phase 0 and phase 3 must refuse each other: the old root is retired");
}

// Bundles under one root, each trusting it for its own trust domain only
// (root-cert.pem as read_deployed_trust gives it).
struct Fleet {
  pki::PKeyPtr root_key = pki::generate_key(pki::KeyAlgorithm::ecdsa_p256);
  pki::X509Ptr root = ca_cert("Root", root_key.get(), nullptr, root_key.get());
  std::vector<vf::TrustParty> parties;
  std::vector<vf::BundleReport> reports;
  std::vector<vf::DeployedTrust> deployed;

  void add(const std::string& mesh, const std::string& trust_domain) {
    const std::string n = std::to_string(parties.size());
    auto key = pki::generate_key(pki::KeyAlgorithm::ecdsa_p256);
    auto material = std::make_shared<vf::TrustMaterial>();
    material->ca_cert = ca_cert("Intermediate " + n, key.get(), root.get(), root_key.get());
    material->roots.push_back(pki::duplicate(root.get()));
    material->at = kNow;
    vf::BundleReport r;
    r.chain_root_subject = pki::subject_string(root.get());
    r.chain_root_fingerprint = pki::sha256_fingerprint(root.get());
    r.trust = material;
    vf::DeployedTrust d;
    d.source = "root-cert.pem";
    d.entries.push_back({pki::duplicate(root.get()), r.chain_root_fingerprint, r.chain_root_subject, {trust_domain}});
    reports.push_back(std::move(r));
    deployed.push_back(std::move(d));
    parties.push_back({.label = mesh + n, .mesh = mesh, .cluster = "c" + n, .trust_domain = trust_domain});
  }
  vf::TrustMatrix matrix() { return vf::build_trust_matrix(parties, std::move(reports), std::move(deployed), {}); }
};

// One root, two trust domains: X.509 accepts, the SPIFFE validator does
// not, because the root is not trusted for the peer's trust domain; the
// matrix says which.
TEST(TrustMatrix, ARootCountsOnlyForTheTrustDomainsItIsTrustedFor) {
  Fleet f;
  f.add("prod", "prod.example");
  f.add("prod", "prod.example");
  f.add("dev", "dev.example");
  const auto m = f.matrix();
  ASSERT_EQ(m.pairs.size(), 3U);
  EXPECT_EQ(m.failed(), 0U);
  EXPECT_TRUE(m.pairs[0].a_accepts_b.accepted && m.pairs[0].b_accepts_a.accepted);  // prod0 - prod1: one mesh
  const auto& dev = m.pairs[1];                                                     // prod0 - dev2
  EXPECT_EQ(dev.expected.kind, vf::Expected::refuse);                               // not federated
  EXPECT_FALSE(dev.a_accepts_b.accepted);
  EXPECT_FALSE(dev.a_accepts_b.domain_trusted);
  EXPECT_TRUE(dev.a_accepts_b.x509);
  EXPECT_EQ(vf::acceptance_reason(m, dev.a, dev.b, dev.a_accepts_b).substr(0, 75),
            "prod0 refuses dev2: no root trusted for trust domain dev.example in root-ce");
}

// Every receiver trusts one set of roots: one certification path per peer,
// not one per pair and direction (a fleet of 1,000 clusters would be a
// million).
TEST(TrustMatrix, AFleetCostsOneVerificationPerRootSetAndPeer) {
  Fleet f;
  for (int i = 0; i < 40; ++i) f.add("prod", "prod.example");
  const auto m = f.matrix();
  EXPECT_EQ(m.pairs.size(), 40U * 39 / 2);
  EXPECT_EQ(m.failed(), 0U);
  EXPECT_EQ(m.verifications, 40U);
}

}  // namespace
}  // namespace meshca
