#include <gtest/gtest.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include <set>

#include "pki/certificate.hpp"
#include "pki/key.hpp"
#include "pki/lint.hpp"
#include "pki/pem_scan.hpp"
#include "pki/verify.hpp"
#include "pki/workload.hpp"
#include "plan/profiles.hpp"

namespace meshca::pki {
namespace {

constexpr UnixTime kNow = 1795000000;  // 2026-11-18
constexpr UnixTime kYear = 365 * 86400;

CertificateProfile ca_profile(const std::string& cn, int path_len, UnixTime from, UnixTime until) {
  CertificateProfile p;
  p.subject = DistinguishedName::canonical({{"CN", cn}, {"O", "Test"}});
  p.not_before = from;
  p.not_after = until;
  p.path_len = path_len;
  p.key_usage = {.digital_signature = path_len == 0, .key_cert_sign = true, .crl_sign = true};
  return p;
}

struct Hierarchy {
  PKeyPtr root_key = generate_key(KeyAlgorithm::ecdsa_p384);
  X509Ptr root;
  PKeyPtr inter_key = generate_key(KeyAlgorithm::ecdsa_p256);
  X509Ptr inter;
  Hierarchy() {
    root = issue_certificate(ca_profile("Root", 1, kNow, kNow + 10 * kYear), root_key.get(), nullptr, root_key.get());
    auto p = ca_profile("Inter", 0, kNow, kNow + kYear);
    p.permitted_uri_hosts = {"prod.example.internal"};
    inter = issue_certificate(p, inter_key.get(), root.get(), root_key.get());
  }
};

TEST(KeyAlgorithms, GenerateEveryAlgorithmAndRecogniseIt) {
  for (auto alg : {KeyAlgorithm::ecdsa_p256, KeyAlgorithm::ecdsa_p384, KeyAlgorithm::rsa_2048}) {
    auto key = generate_key(alg);
    EXPECT_EQ(key_algorithm_of(key.get()), alg);
    EXPECT_EQ(parse_key_algorithm(key_algorithm_name(alg)), alg);
  }
  EXPECT_FALSE(parse_key_algorithm("rsa-1024"));
  EXPECT_FALSE(parse_key_algorithm("ed25519"));
  EXPECT_EQ(EVP_MD_get_type(signature_digest(generate_key(KeyAlgorithm::ecdsa_p384).get())), NID_sha384);
}

TEST(PrivateKeyPem, Pkcs8RoundTripIsOneBlockWithNewline) {
  auto key = generate_key(KeyAlgorithm::ecdsa_p256);
  auto pem = private_key_to_pkcs8_pem(key.get());
  std::string text(pem.view());
  EXPECT_TRUE(text.starts_with("-----BEGIN PRIVATE KEY-----\n"));
  EXPECT_TRUE(text.ends_with("-----END PRIVATE KEY-----\n"));
  EXPECT_EQ(text.find("-----BEGIN", 1), std::string::npos);
  auto back = private_key_from_pem(text, "test");
  EXPECT_EQ(EVP_PKEY_eq(back.get(), key.get()), 1);
}

// The one-decoder PKCS#8 path gives the key the general decoders give, for
// every algorithm, and nothing for anything that is not exactly one
// PrivateKeyInfo.
TEST(PrivateKeyPem, Pkcs8DerFastPathAgreesWithTheGeneralDecoder) {
  for (auto alg : {KeyAlgorithm::ecdsa_p256, KeyAlgorithm::ecdsa_p384, KeyAlgorithm::rsa_2048}) {
    auto key = generate_key(alg);
    auto pem = private_key_to_pkcs8_pem(key.get());
    auto scan = scan_pem(pem.view());
    ASSERT_EQ(scan.blocks.size(), 1u);
    const std::string der(scan.blocks.front().der.view());
    auto fast = private_key_from_pkcs8_der(der);
    ASSERT_TRUE(fast);
    EXPECT_EQ(EVP_PKEY_eq(fast.get(), key.get()), 1);
    EXPECT_EQ(key_algorithm_of(fast.get()), alg);
    EXPECT_EQ(EVP_PKEY_eq(private_key_from_pem(pem.view(), "test").get(), key.get()), 1);
    EXPECT_FALSE(private_key_from_pkcs8_der(der + std::string(1, '\0')));     // trailing bytes
    EXPECT_FALSE(private_key_from_pkcs8_der(der.substr(0, der.size() - 1)));  // cut
    EXPECT_FALSE(private_key_from_pkcs8_der(""));
    // A PEM with text around the block takes the general path, same key.
    std::string noisy = "a comment\n" + std::string(pem.view());
    EXPECT_EQ(EVP_PKEY_eq(private_key_from_pem(noisy, "test").get(), key.get()), 1);
  }
  // Traditional SEC1 DER is not a PrivateKeyInfo.
  auto ec = generate_key(KeyAlgorithm::ecdsa_p256);
  unsigned char* raw = nullptr;
  int len = i2d_PrivateKey(ec.get(), &raw);
  ASSERT_GT(len, 0);
  Ptr<unsigned char> sec1(raw);
  std::string sec1_der(reinterpret_cast<char*>(sec1.get()), static_cast<std::size_t>(len));
  EXPECT_FALSE(private_key_from_pkcs8_der(sec1_der));
}

TEST(PrivateKeyPem, EncryptedRoundTripAndWrongPassphrase) {
  auto key = generate_key(KeyAlgorithm::ecdsa_p256);
  SecureBuffer pass("correct horse battery");
  auto pem = private_key_to_encrypted_pem(key.get(), pass);
  EXPECT_TRUE(pem.view().starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
  auto back = private_key_from_encrypted_pem(pem.view(), pass, "k.pem");
  EXPECT_EQ(EVP_PKEY_eq(back.get(), key.get()), 1);
  try {
    private_key_from_encrypted_pem(pem.view(), SecureBuffer("wrong passphrase"), "k.pem");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::key_store);
    EXPECT_EQ(e.where(), "k.pem");
  }
  // An unencrypted key is refused as a root key file.
  auto plain = private_key_to_pkcs8_pem(key.get());
  EXPECT_THROW(private_key_from_encrypted_pem(plain.view(), pass, "k.pem"), Error);
}

TEST(IssueCertificate, RootCarriesCaExtensionsReadBackByOpenSsl) {
  Hierarchy h;
  const X509* root = h.root.get();
  EXPECT_EQ(X509_get_version(root), X509_VERSION_3);
  auto bc = basic_constraints(root);
  EXPECT_TRUE(bc.present && bc.critical && bc.ca);
  EXPECT_EQ(bc.path_len, 1);
  auto ku = key_usage(root);
  EXPECT_TRUE(ku.critical && ku.bits.key_cert_sign && ku.bits.crl_sign);
  EXPECT_FALSE(ku.bits.digital_signature);
  EXPECT_EQ(subject_key_id(root).size(), 20u);
  EXPECT_TRUE(authority_key_id(root).empty());
  EXPECT_EQ(X509_get_ext_by_NID(root, NID_ext_key_usage, -1), -1);
  EXPECT_TRUE(is_self_signed(root));
  EXPECT_EQ(X509_get_signature_nid(root), NID_ecdsa_with_SHA384);
  EXPECT_EQ(not_before(root), kNow);
  EXPECT_EQ(not_after(root), kNow + 10 * kYear);
  // OpenSSL's own view agrees that this is a CA.
  EXPECT_EQ(X509_check_ca(const_cast<X509*>(root)), 1);
}

TEST(IssueCertificate, IntermediateHasPathLenZeroAkiAndNameConstraints) {
  Hierarchy h;
  const X509* inter = h.inter.get();
  auto bc = basic_constraints(inter);
  EXPECT_TRUE(bc.critical && bc.ca);
  EXPECT_EQ(bc.path_len, 0);
  auto ku = key_usage(inter);
  EXPECT_TRUE(ku.critical && ku.bits.key_cert_sign && ku.bits.crl_sign && ku.bits.digital_signature);
  EXPECT_EQ(authority_key_id(inter), subject_key_id(h.root.get()));
  auto nc = name_constraints(inter);
  EXPECT_TRUE(nc.present && nc.critical);
  EXPECT_EQ(nc.permitted_uri, std::vector<std::string>{"prod.example.internal"});
  EXPECT_EQ(nc.other_subtrees, 0u);
  // Signed by the P-384 root: SHA-384.
  EXPECT_EQ(X509_get_signature_nid(inter), NID_ecdsa_with_SHA384);
  EXPECT_EQ(issuer_string(inter), subject_string(h.root.get()));
}

TEST(IssueCertificate, SerialsArePositiveSixteenBytesAndDistinct) {
  auto key = generate_key(KeyAlgorithm::ecdsa_p256);
  std::set<std::string> serials;
  for (int i = 0; i < 20; ++i) {
    auto cert = issue_certificate(ca_profile("R", 1, kNow, kNow + kYear), key.get(), nullptr, key.get());
    const ASN1_INTEGER* serial = X509_get0_serialNumber(cert.get());
    EXPECT_NE(ASN1_STRING_type(serial), V_ASN1_NEG_INTEGER);
    EXPECT_LE(ASN1_STRING_length(serial), 16);
    serials.insert(serial_hex(cert.get()));
  }
  EXPECT_EQ(serials.size(), 20u);
}

TEST(IssueCertificate, RsaSignerUsesSha256) {
  auto key = generate_key(KeyAlgorithm::rsa_2048);
  auto cert = issue_certificate(ca_profile("R", 1, kNow, kNow + kYear), key.get(), nullptr, key.get());
  EXPECT_EQ(X509_get_signature_nid(cert.get()), NID_sha256WithRSAEncryption);
  EXPECT_TRUE(lint_ca_certificate(cert.get(), cert.get(), CaRole::root).empty());
}

TEST(IssueCertificate, RejectsEmptyValidity) {
  auto key = generate_key(KeyAlgorithm::ecdsa_p256);
  EXPECT_THROW(issue_certificate(ca_profile("R", 1, kNow, kNow), key.get(), nullptr, key.get()), Error);
}

TEST(Verify, StrictChainAndSignatureChecks) {
  Hierarchy h;
  EXPECT_TRUE(signed_by(h.inter.get(), h.root.get()));
  EXPECT_TRUE(verify_chain(h.inter.get(), {}, {h.root.get()}, kNow + 100).ok);
  EXPECT_TRUE(key_matches_certificate(h.inter_key.get(), h.inter.get()));
  EXPECT_FALSE(key_matches_certificate(h.root_key.get(), h.inter.get()));

  Hierarchy other;
  EXPECT_FALSE(signed_by(h.inter.get(), other.root.get()));
  auto verdict = verify_chain(h.inter.get(), {}, {other.root.get()}, kNow + 100);
  EXPECT_FALSE(verdict.ok);
  EXPECT_FALSE(verdict.error.empty());
  // Expired at the time asked for.
  EXPECT_FALSE(verify_chain(h.inter.get(), {}, {h.root.get()}, kNow + 2 * kYear).ok);
}

// A verified workload path answers the CA's own path question from memory
// (verify_path): the answer must be the one OpenSSL gives when asked first.
// Each scenario is built twice, with fresh keys, so that nothing one order
// asked is remembered for the other.
struct PathScenario {
  const char* name;
  const char* inter_cn;
  const char* root_name_constraints;  // X509v3 config text, or nullptr
  UnixTime at;
};

struct PathAnswers {
  bool peer = false, chain = false;
};

PathAnswers ask_in_order(const PathScenario& sc, bool peer_first) {
  PKeyPtr root_key = generate_key(KeyAlgorithm::ecdsa_p384);
  X509Ptr root = issue_certificate(ca_profile("Root", 1, kNow, kNow + 10 * kYear), root_key.get(), nullptr, root_key.get());
  if (sc.root_name_constraints != nullptr) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, root.get(), root.get(), nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_name_constraints, sc.root_name_constraints);
    EXPECT_NE(ext, nullptr);
    X509_add_ext(root.get(), ext, -1);
    X509_EXTENSION_free(ext);
    EXPECT_GT(X509_sign(root.get(), root_key.get(), EVP_sha384()), 0);
    // OpenSSL keeps the extension cache of the certificate as issued
    // (settle_extension_cache): the edited one is read afresh.
    root = certificate_from_pem(certificate_to_pem(root.get()), "edited root");
  }
  PKeyPtr inter_key = generate_key(KeyAlgorithm::ecdsa_p256);
  auto p = ca_profile(sc.inter_cn, 0, kNow, kNow + kYear);
  p.permitted_uri_hosts = {"prod.example.internal"};
  X509Ptr inter = issue_certificate(p, inter_key.get(), root.get(), root_key.get());
  X509Ptr leaf = issue_workload_leaf(inter.get(), inter_key.get(), spiffe_workload_id("prod.example.internal"), sc.at);
  const std::vector<const X509*> chain{inter.get(), root.get()}, roots{root.get()};
  PathAnswers a;
  auto ask_peer = [&] { a.peer = verify_as_peer(leaf.get(), chain, roots, sc.at, PeerPurpose::tls_server_and_client).ok; };
  auto ask_chain = [&] { a.chain = verify_chain(inter.get(), chain, roots, sc.at).ok; };
  if (peer_first) {
    ask_peer();
    ask_chain();
  } else {
    ask_chain();
    ask_peer();
  }
  return a;
}

TEST(Verify, AWorkloadPathAnswersTheCaPathAsOpenSslWould) {
  const PathScenario scenarios[] = {
      {"plain", "Inter", nullptr, kNow + 100},
      {"expired intermediate", "Inter", nullptr, kNow + 2 * kYear},
      // OpenSSL checks a hostname-like commonName of the target (only the
      // target's) against DNS name constraints above it: the CA path fails
      // while the workload path passes.
      {"CN outside DNS constraints", "bad.example", "critical,permitted;DNS:good.example", kNow + 100},
      {"CN inside DNS constraints", "ca.good.example", "critical,permitted;DNS:good.example", kNow + 100},
  };
  for (const auto& sc : scenarios) {
    SCOPED_TRACE(sc.name);
    PathAnswers chain_first = ask_in_order(sc, false);
    PathAnswers peer_first = ask_in_order(sc, true);
    EXPECT_EQ(chain_first.chain, peer_first.chain);
    EXPECT_EQ(chain_first.peer, peer_first.peer);
  }
  // The scenarios cover both answers.
  EXPECT_TRUE(ask_in_order(scenarios[0], true).chain);
  EXPECT_FALSE(ask_in_order(scenarios[1], true).chain);
  PathAnswers constrained = ask_in_order(scenarios[2], true);
  EXPECT_TRUE(constrained.peer);
  EXPECT_FALSE(constrained.chain);
}

TEST(Lint, MeshcaCertificatesAreClean) {
  Hierarchy h;
  EXPECT_TRUE(lint_ca_certificate(h.root.get(), h.root.get(), CaRole::root).empty());
  EXPECT_TRUE(lint_ca_certificate(h.inter.get(), h.root.get(), CaRole::intermediate).empty());
  auto all = lint_ca_certificate(h.inter.get(), h.root.get(), CaRole::intermediate, true);
  EXPECT_GE(all.size(), 10u);
}

std::vector<std::string> failed_checks(const std::vector<LintFinding>& findings) {
  std::vector<std::string> names;
  for (const auto& f : findings) names.push_back(f.check);
  return names;
}

TEST(Lint, FlagsWhatIstiodAndRfc5280Reject) {
  Hierarchy h;
  // A CA certificate without keyCertSign/cRLSign, validity beyond the root.
  auto p = ca_profile("Bad", 0, kNow, kNow + 20 * kYear);
  p.key_usage = {.digital_signature = true, .key_cert_sign = false, .crl_sign = false};
  auto bad = issue_certificate(p, h.inter_key.get(), h.root.get(), h.root_key.get());
  auto findings = lint_ca_certificate(bad.get(), h.root.get(), CaRole::intermediate);
  auto names = failed_checks(findings);
  EXPECT_NE(std::find(names.begin(), names.end(), "key-usage"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "key-usage-crl-sign"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "validity-nesting"), names.end());
  EXPECT_TRUE(has_failure(findings));

  // Not a CA at all.
  p = ca_profile("Leafish", 0, kNow, kNow + kYear);
  p.is_ca = false;
  auto leaf = issue_certificate(p, h.inter_key.get(), h.root.get(), h.root_key.get());
  names = failed_checks(lint_ca_certificate(leaf.get(), h.root.get(), CaRole::intermediate));
  EXPECT_NE(std::find(names.begin(), names.end(), "basic-constraints"), names.end());

  // Signed by a different root than the one it names.
  Hierarchy other;
  names = failed_checks(lint_ca_certificate(h.inter.get(), other.root.get(), CaRole::intermediate));
  EXPECT_NE(std::find(names.begin(), names.end(), "signature"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "authority-key-id"), names.end());
}

TEST(Pem, ParsesChainsAndRejectsDamage) {
  Hierarchy h;
  std::string chain = certificate_to_pem(h.inter.get()) + certificate_to_pem(h.root.get());
  auto certs = certificates_from_pem(chain, "chain");
  ASSERT_EQ(certs.size(), 2u);
  EXPECT_EQ(X509_cmp(certs[1].get(), h.root.get()), 0);
  EXPECT_THROW(certificates_from_pem("", "empty"), Error);
  std::string truncated = chain.substr(0, chain.size() / 2 + 40);
  EXPECT_THROW(certificates_from_pem(truncated.substr(certificate_to_pem(h.inter.get()).size()), "t"), Error);
  EXPECT_THROW(certificate_from_pem(chain, "two"), Error);
}

TEST(Profiles, PlanProfilesMatchDesignDefaults) {
  ceremony::MeshPlan mesh{"prod", "prod.acme.internal", {}};
  ceremony::ClusterPlan cluster;
  cluster.name = "us-east-1";
  cluster.intermediate.validity.duration = Duration{2, 0, 0};
  cluster.intermediate.subject = DistinguishedName::canonical({{"CN", "us-east-1 Intermediate CA"}});
  cluster.intermediate.name_constraints = ceremony::NameConstraintsMode::trust_domain;
  auto p = ceremony::intermediate_profile(mesh, cluster, kNow);
  EXPECT_EQ(p.path_len, 0);
  EXPECT_TRUE(p.key_usage.key_cert_sign && p.key_usage.crl_sign && p.key_usage.digital_signature);
  EXPECT_EQ(p.permitted_uri_hosts, std::vector<std::string>{"prod.acme.internal"});
  EXPECT_EQ(p.not_after, add_duration(kNow, Duration{2, 0, 0}));

  ceremony::RootPlan root;
  root.path_len = 2;
  root.validity.duration = Duration{20, 0, 0};
  auto r = ceremony::root_profile(root, kNow);
  EXPECT_EQ(r.path_len, 2);
  EXPECT_FALSE(r.key_usage.digital_signature);
  EXPECT_TRUE(r.permitted_uri_hosts.empty());
}

}  // namespace
}  // namespace meshca::pki
