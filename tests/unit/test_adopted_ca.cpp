// Reading the CA a mesh already runs (plan/adopted_ca.hpp) from the three
// inputs rotation.current_ca accepts, and the plan fields around it.
#include <gtest/gtest.h>

#include <fstream>

#include "core/error.hpp"
#include "output_layout/istio_cacerts.hpp"
#include "pki/certificate.hpp"
#include "pki/key.hpp"
#include "plan/adopted_ca.hpp"
#include "plan/plan_reader.hpp"
#include "plan/rotation_trust.hpp"
#include "tests/unit/temp_dir.hpp"

namespace meshca::ceremony {
namespace {

namespace fs = std::filesystem;

constexpr UnixTime kAdoptNow = 1795000000;

pki::X509Ptr adoption_ca_cert(const std::string& cn, EVP_PKEY* key, const X509* issuer, EVP_PKEY* signer, bool ca = true) {
  pki::CertificateProfile p;
  p.subject = pki::DistinguishedName::canonical({{"O", cn}});
  p.not_before = kAdoptNow - 60;
  p.not_after = kAdoptNow + std::int64_t{86400} * 365;
  p.is_ca = ca;
  p.path_len = ca ? std::optional<int>(issuer ? 0 : 1) : std::nullopt;
  p.key_usage = ca ? pki::KeyUsageBits{.digital_signature = true, .key_cert_sign = true, .crl_sign = true}
                   : pki::KeyUsageBits{.digital_signature = true, .key_cert_sign = false, .crl_sign = false};
  return pki::issue_certificate(p, key, issuer, signer);
}

void put(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file) << text;
}

std::string indented(const std::string& pem) {
  std::string out;
  std::size_t start = 0;
  while (start < pem.size()) {
    const std::size_t end = pem.find('\n', start);
    out += "    " + pem.substr(start, end - start) + "\n";
    start = end + 1;
  }
  return out;
}

// An istiod-style CA (a self-signed root that signs workloads) and a
// tools/certs-style one (a root and an intermediate below it).
struct Cas {
  pki::PKeyPtr root_key = pki::generate_key(pki::KeyAlgorithm::ecdsa_p256);
  pki::PKeyPtr int_key = pki::generate_key(pki::KeyAlgorithm::ecdsa_p256);
  pki::PKeyPtr other_key = pki::generate_key(pki::KeyAlgorithm::ecdsa_p256);
  pki::X509Ptr root = adoption_ca_cert("cluster.local", root_key.get(), nullptr, root_key.get());
  pki::X509Ptr intermediate = adoption_ca_cert("Intermediate", int_key.get(), root.get(), root_key.get());
  pki::X509Ptr other = adoption_ca_cert("Other Root", other_key.get(), nullptr, other_key.get());
  std::string root_pem = pki::certificate_to_pem(root.get());
  std::string int_pem = pki::certificate_to_pem(intermediate.get());

  std::string config_map(const std::string& key) const {
    return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio-ca-root-cert, namespace: default}\ndata:\n  " + key + ": |\n" +
           indented(root_pem);
  }
  void cacerts_dir(const fs::path& dir, const std::string& root_cert) const {
    put(dir / "ca-cert.pem", int_pem);
    put(dir / "cert-chain.pem", int_pem + root_pem);
    put(dir / "root-cert.pem", root_cert);
  }
};

std::string refusal(AdoptedCaKind kind, const fs::path& path) {
  try {
    (void)read_adopted_ca(kind, path, kAdoptNow);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_input);
    return e.what();
  }
  ADD_FAILURE() << path << " was accepted";
  return {};
}

TEST(AdoptedCa, KindNamesRoundTrip) {
  for (auto kind : {AdoptedCaKind::istiod_self_signed, AdoptedCaKind::istio_cacerts, AdoptedCaKind::pem_root}) {
    EXPECT_EQ(adopted_ca_kind_from_name(adopted_ca_kind_name(kind)), kind);
  }
  EXPECT_FALSE(adopted_ca_kind_from_name("vault"));
}

TEST(AdoptedCa, IstiodConfigMapGivesTheRootThatSignsWorkloads) {
  Cas c;
  test::TempDir dir;
  put(dir.path() / "cm.yaml", c.config_map("root-cert.pem"));
  const AdoptedCa ca = read_adopted_ca(AdoptedCaKind::istiod_self_signed, dir.path() / "cm.yaml", kAdoptNow);
  EXPECT_EQ(X509_cmp(ca.root.get(), c.root.get()), 0);
  EXPECT_EQ(X509_cmp(ca.signing.get(), c.root.get()), 0);
  EXPECT_TRUE(ca.chain.empty());
}

TEST(AdoptedCa, IstiodConfigMapWithoutRootCertIsRefused) {
  Cas c;
  test::TempDir dir;
  put(dir.path() / "cm.yaml", c.config_map("ca.crt"));
  EXPECT_NE(refusal(AdoptedCaKind::istiod_self_signed, dir.path() / "cm.yaml").find("has no data.root-cert.pem"), std::string::npos);
}

TEST(AdoptedCa, AFileThatIsNotWhatTheKindSaysIsRefused) {
  Cas c;
  test::TempDir dir;
  put(dir.path() / "root.pem", c.root_pem);
  put(dir.path() / "cm.yaml", c.config_map("root-cert.pem"));
  EXPECT_NE(refusal(AdoptedCaKind::istiod_self_signed, dir.path() / "root.pem").find("is not a YAML Kubernetes object"), std::string::npos);
  EXPECT_NE(refusal(AdoptedCaKind::pem_root, dir.path() / "cm.yaml").find("is not a PEM certificate file"), std::string::npos);
  EXPECT_NE(refusal(AdoptedCaKind::istio_cacerts, dir.path() / "cm.yaml").find("is not a Secret (kind: ConfigMap)"), std::string::npos);
  EXPECT_NE(refusal(AdoptedCaKind::pem_root, dir.path()).find("is a directory"), std::string::npos);
  EXPECT_NE(refusal(AdoptedCaKind::pem_root, dir.path() / "absent.pem").find("does not exist"), std::string::npos);
}

TEST(AdoptedCa, PemRootMustBeASelfSignedCa) {
  Cas c;
  test::TempDir dir;
  put(dir.path() / "root.pem", c.root_pem);
  EXPECT_EQ(X509_cmp(read_adopted_ca(AdoptedCaKind::pem_root, dir.path() / "root.pem", kAdoptNow).signing.get(), c.root.get()), 0);
  auto leaf_key = pki::generate_key(pki::KeyAlgorithm::ecdsa_p256);
  put(dir.path() / "leaf.pem", pki::certificate_to_pem(adoption_ca_cert("leaf", leaf_key.get(), nullptr, leaf_key.get(), false).get()));
  EXPECT_NE(refusal(AdoptedCaKind::pem_root, dir.path() / "leaf.pem").find("is not a CA certificate"), std::string::npos);
  put(dir.path() / "int.pem", c.int_pem);
  EXPECT_NE(refusal(AdoptedCaKind::pem_root, dir.path() / "int.pem").find("not a self-signed root"), std::string::npos);
}

TEST(AdoptedCa, CacertsDirectoryGivesTheIntermediateAndNeverReadsItsKey) {
  Cas c;
  test::TempDir dir;
  c.cacerts_dir(dir.path() / "cacerts", c.root_pem);
  put(dir.path() / "cacerts" / "ca-key.pem", "not a key: never read\n");
  const AdoptedCa ca = read_adopted_ca(AdoptedCaKind::istio_cacerts, dir.path() / "cacerts", kAdoptNow);
  EXPECT_EQ(X509_cmp(ca.signing.get(), c.intermediate.get()), 0);
  ASSERT_EQ(ca.chain.size(), 1U);
  EXPECT_EQ(X509_cmp(ca.chain[0].get(), c.root.get()), 0);
}

TEST(AdoptedCa, CacertsDirectoryWhoseChainDoesNotVerifyIsRefused) {
  Cas c;
  test::TempDir dir;
  c.cacerts_dir(dir.path() / "cacerts", pki::certificate_to_pem(c.other.get()));
  EXPECT_NE(refusal(AdoptedCaKind::istio_cacerts, dir.path() / "cacerts").find("does not verify (strict)"), std::string::npos);
  fs::remove(dir.path() / "cacerts" / "root-cert.pem");
  EXPECT_NE(refusal(AdoptedCaKind::istio_cacerts, dir.path() / "cacerts").find("root-cert.pem: does not exist"), std::string::npos);
}

TEST(AdoptedCa, CacertsSecretIsDecodedWithoutItsKey) {
  Cas c;
  test::TempDir dir;
  // ca-key.pem is not even base64: it is never decoded.
  put(dir.path() / "secret.yaml",
      "apiVersion: v1\nkind: Secret\nmetadata: {name: cacerts, namespace: istio-system}\ndata:\n"
      "  ca-cert.pem: " +
          output_layout::base64_encode(c.int_pem) +
          "\n"
          "  ca-key.pem: '%%% never decoded %%%'\n"
          "  cert-chain.pem: " +
          output_layout::base64_encode(c.int_pem + c.root_pem) +
          "\n"
          "stringData:\n  root-cert.pem: |\n" +
          indented(c.root_pem));
  const AdoptedCa ca = read_adopted_ca(AdoptedCaKind::istio_cacerts, dir.path() / "secret.yaml", kAdoptNow);
  EXPECT_EQ(X509_cmp(ca.signing.get(), c.intermediate.get()), 0);
  EXPECT_EQ(X509_cmp(ca.root.get(), c.root.get()), 0);
}

TEST(AdoptedCa, PlanReadsThePinnedCaAndItsRootIsTheNewRoot) {
  Cas c;
  test::TempDir dir;
  put(dir.path() / "current" / "cm.yaml", c.config_map("root-cert.pem"));
  auto plan_text = [](const std::string& pin) {
    return "apiVersion: meshca/v1\nkind: CeremonyPlan\nmetadata: {name: adopt}\n"
           "rotation:\n"
           "  current_ca: {kind: istiod-self-signed, path: current/cm.yaml, sha256: '" +
           pin +
           "'}\n"
           "  new_root:\n"
           "    subject: {CN: New Root}\n"
           "    key: {algorithm: ecdsa-p384, store: file, file: {path: keys/new.pem}}\n"
           "    validity: 10y\n"
           "defaults: {intermediate: {validity: 1y}}\n"
           "meshes: [{name: prod, trust_domain: cluster.local, clusters: [{name: east}]}]\n";
  };
  const std::string pin = pki::sha256_fingerprint(c.root.get());
  const Plan plan = parse_plan(plan_text(pin), "plan.yaml", dir.path(), kAdoptNow);
  ASSERT_TRUE(plan.rotation && plan.rotation->current_ca);
  EXPECT_EQ(plan.rotation->current_ca->kind, AdoptedCaKind::istiod_self_signed);
  EXPECT_EQ(plan.rotation->current_ca->sha256, pin);
  EXPECT_EQ(plan.root.subject.to_string(), plan.rotation->new_root.subject.to_string());
  EXPECT_EQ(X509_cmp(read_pinned_adopted_ca(*plan.rotation->current_ca, dir.path(), kAdoptNow).root.get(), c.root.get()), 0);
  try {
    (void)parse_plan(plan_text(pki::sha256_fingerprint(c.other.get())), "plan.yaml", dir.path(), kAdoptNow);
    ADD_FAILURE() << "a wrong pin was accepted";
  } catch (const MultiError& e) {
    ASSERT_EQ(e.details().size(), 1U);
    EXPECT_TRUE(e.details()[0].starts_with("plan.yaml:5:")) << e.details()[0];
    EXPECT_NE(e.details()[0].find("rotation.current_ca.sha256: "), std::string::npos) << e.details()[0];
    EXPECT_NE(e.details()[0].find("not the one rotation.current_ca.sha256 pins"), std::string::npos) << e.details()[0];
  }
}

// An adoption plan whose current_ca carries `extra` (", trust_domain: x")
// and whose meshes are `meshes`.
std::string adoption_plan(const std::string& pin, const std::string& extra, const std::string& meshes) {
  return "apiVersion: meshca/v1\nkind: CeremonyPlan\nmetadata: {name: adopt}\n"
         "rotation:\n"
         "  current_ca: {kind: istiod-self-signed, path: current/cm.yaml, sha256: '" +
         pin + "'" + extra +
         "}\n"
         "  new_root:\n"
         "    subject: {CN: New Root}\n"
         "    key: {algorithm: ecdsa-p384, store: file, file: {path: keys/new.pem}}\n"
         "    validity: 10y\n"
         "defaults: {intermediate: {validity: 1y}}\n"
         "meshes: " +
         meshes + "\n";
}

using Trust = output_layout::FederationTrust;

TEST(RotationTrust, MultiRootPhasesCarryTrustFilesAndPhase3WhatTheSuccessorPlanWrites) {
  Cas c;
  test::TempDir dir;
  put(dir.path() / "current" / "cm.yaml", c.config_map("root-cert.pem"));
  const Plan plan = parse_plan(
      adoption_plan(pki::sha256_fingerprint(c.root.get()), "", "[{name: prod, trust_domain: cluster.local, clusters: [{name: east}]}]"),
      "plan.yaml", dir.path(), kAdoptNow);
  const MeshPlan& mesh = plan.meshes.front();
  const Trust both{{"cluster.local"}, {}, {}, ""};
  // Each root of the phase's root-cert.pem vouches for the mesh's trust
  // domain; phase 3, which the successor plan adopts, has none (unfederated).
  EXPECT_EQ(mesh.rotation_trust[0], std::optional<Trust>(both));
  EXPECT_EQ(mesh.rotation_trust[1], std::optional<Trust>(both));
  EXPECT_FALSE(mesh.rotation_trust[2].has_value());
  // One answer for every reader: the layouts of each phase.
  EXPECT_FALSE(layout_options(mesh, mesh.clusters[0], "d").trust.has_value());
  EXPECT_EQ(layout_options(mesh, mesh.clusters[0], "d", 2).trust, std::optional<Trust>(both));
  EXPECT_FALSE(layout_options(mesh, mesh.clusters[0], "d", 3).trust.has_value());
  for (int phase = 0; phase <= 3; ++phase) EXPECT_EQ(rotation_workload_trust_domain(plan, mesh, phase), "cluster.local");
}

TEST(RotationTrust, TrustDomainMigrationSetsTrustDomainAndAliasesPerPhase) {
  Cas c;
  test::TempDir dir;
  put(dir.path() / "current" / "cm.yaml", c.config_map("root-cert.pem"));
  const Plan plan = parse_plan(adoption_plan(pki::sha256_fingerprint(c.root.get()), ", trust_domain: cluster.local",
                                             "[{name: prod, trust_domain: prod.example, clusters: [{name: east}]}]"),
                               "plan.yaml", dir.path(), kAdoptNow);
  const MeshPlan& mesh = plan.meshes.front();
  // Phase 1 still runs the old trust domain, phases 2 and 3 the mesh's;
  // each phase names the other as its alias, and while both roots are
  // trusted both vouch for both trust domains.
  EXPECT_EQ(mesh.rotation_trust[0], std::optional<Trust>(Trust{{"prod.example", "cluster.local"}, {}, {"prod.example"}, "cluster.local"}));
  EXPECT_EQ(mesh.rotation_trust[1], std::optional<Trust>(Trust{{"prod.example", "cluster.local"}, {}, {"cluster.local"}, "prod.example"}));
  EXPECT_FALSE(mesh.rotation_trust[2].has_value());  // phase 3 keeps what phase 2 set
  EXPECT_EQ(rotation_workload_trust_domain(plan, mesh, 0), "cluster.local");
  EXPECT_EQ(rotation_workload_trust_domain(plan, mesh, 1), "cluster.local");
  EXPECT_EQ(rotation_workload_trust_domain(plan, mesh, 2), "prod.example");
  EXPECT_EQ(rotation_workload_trust_domain(plan, mesh, 3), "prod.example");
}

TEST(RotationTrust, MigrationIsRefusedForSeveralMeshesAndABadTrustDomain) {
  Cas c;
  test::TempDir dir;
  put(dir.path() / "current" / "cm.yaml", c.config_map("root-cert.pem"));
  const std::string pin = pki::sha256_fingerprint(c.root.get());
  auto refusal = [&](const std::string& extra, const std::string& meshes) -> std::string {
    try {
      (void)parse_plan(adoption_plan(pin, extra, meshes), "plan.yaml", dir.path(), kAdoptNow);
    } catch (const MultiError& e) {
      EXPECT_EQ(e.details().size(), 1U);
      return e.details().front();
    }
    ADD_FAILURE() << extra << " was accepted";
    return {};
  };
  const std::string two =
      "[{name: a, trust_domain: a.example, clusters: [{name: x}]}, {name: b, trust_domain: b.example, clusters: [{name: y}]}]";
  const std::string several = refusal(", trust_domain: cluster.local", two);
  EXPECT_TRUE(several.starts_with("plan.yaml:5:")) << several;
  EXPECT_NE(several.find("rotation.current_ca.trust_domain: "), std::string::npos) << several;
  EXPECT_NE(several.find("the plan has 2 meshes"), std::string::npos) << several;
  const std::string bad =
      refusal(", trust_domain: 'spiffe://cluster.local'", "[{name: a, trust_domain: a.example, clusters: [{name: x}]}]");
  EXPECT_NE(bad.find("rotation.current_ca.trust_domain: "), std::string::npos) << bad;
  EXPECT_NE(bad.find("without spiffe://"), std::string::npos) << bad;
}

}  // namespace
}  // namespace meshca::ceremony
