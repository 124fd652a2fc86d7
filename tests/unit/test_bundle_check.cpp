#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <fstream>
#include <set>
#include <sstream>

#include "output_layout/istio_cacerts.hpp"
#include "pki/certificate.hpp"
#include "pki/crl.hpp"
#include "pki/inspect.hpp"
#include "pki/key.hpp"
#include "pki/lint.hpp"
#include "pki/pem_scan.hpp"
#include "pki/verify.hpp"
#include "pki/workload.hpp"
#include "temp_dir.hpp"
#include "verify/bundle_check.hpp"
#include "verify/bundle_source.hpp"
#include "verify/cross_cluster.hpp"
#include "verify/verify_checks.hpp"

namespace meshca::verify {
namespace {

using output_layout::base64_encode;
using output_layout::IstioBundleFiles;
using output_layout::make_istio_bundle;
using output_layout::render_cacerts_secret;
using pki::Severity;

constexpr UnixTime kNow = 1795000000;  // 2026-11-18
constexpr UnixTime kDay = 86400;
constexpr UnixTime kYear = 365 * kDay;

pki::CertificateProfile ca_profile(const std::string& cn, int path_len, UnixTime from, UnixTime until) {
  pki::CertificateProfile p;
  p.subject = pki::DistinguishedName::canonical({{"CN", cn}, {"O", "Test"}});
  p.not_before = from;
  p.not_after = until;
  p.path_len = path_len;
  p.key_usage = {.digital_signature = path_len == 0, .key_cert_sign = true, .crl_sign = true};
  return p;
}

struct Pki {
  pki::PKeyPtr root_key = pki::generate_key(pki::KeyAlgorithm::ecdsa_p384);
  pki::X509Ptr root;
  pki::PKeyPtr inter_key = pki::generate_key(pki::KeyAlgorithm::ecdsa_p256);
  pki::X509Ptr inter;
  explicit Pki(const std::string& name = "Root", std::vector<std::string> permitted = {"prod.example"}) {
    root = pki::issue_certificate(ca_profile(name, 1, kNow - kDay, kNow + 10 * kYear), root_key.get(), nullptr,
                                  root_key.get());
    auto p = ca_profile(name + " Inter", 0, kNow - kDay, kNow + kYear);
    p.permitted_uri_hosts = std::move(permitted);
    inter = pki::issue_certificate(p, inter_key.get(), root.get(), root_key.get());
  }
  IstioBundleFiles files() const { return make_istio_bundle(inter.get(), inter_key.get(), {root.get()}, {root.get()}); }
};

void put(BundleSource& src, const std::string& name, std::string_view bytes) {
  BundleFile f;
  f.display = "mem/" + name;
  f.bytes.append(bytes);
  src.files[name] = std::move(f);
}

// A source of `kind` holding `files` (name, bytes), its layout detected.
BundleSource source_with(const std::string& label, const std::string& kind,
                         const std::vector<std::pair<std::string, std::string_view>>& files) {
  BundleSource src;
  src.label = label;
  src.kind = kind;
  std::vector<std::string> names;
  for (const auto& [name, bytes] : files) {
    put(src, name, bytes);
    names.push_back(name);
  }
  src.layout = detect_layout(names);
  return src;
}

// A cacerts directory.
BundleSource source_of(const IstioBundleFiles& files) {
  return source_with("mem", "directory",
                     {{kCaCertFile, files.ca_cert},
                      {kCaKeyFile, files.ca_key.view()},
                      {kCertChainFile, files.cert_chain},
                      {kRootCertFile, files.root_cert}});
}

BundleReport check(const BundleSource& src, const std::string& td = "prod.example") {
  return check_bundle(src, {.at = kNow, .trust_domain = td});
}

// The findings of one severity and check, as "check: message" lines for failure output.
bool has(const BundleReport& r, Severity s, const std::string& check, const std::string& text = {}) {
  for (const auto& f : r.findings)
    if (f.severity == s && f.check == check && f.message.find(text) != std::string::npos) return true;
  return false;
}

std::string dump(const BundleReport& r) {
  std::string s;
  for (const auto& f : r.findings)
    s += std::string(pki::severity_name(f.severity)) + " " + f.check + " " + f.file + ": " + f.message + "\n";
  return s;
}

// ---- strict PEM --------------------------------------------------------------------

TEST(PemScan, CleanFileHasNoIssues) {
  Pki pki;
  std::string first = pki::certificate_to_pem(pki.inter.get());
  auto scan = pki::scan_pem(first + pki::certificate_to_pem(pki.root.get()));
  EXPECT_TRUE(scan.issues.empty());
  ASSERT_EQ(scan.blocks.size(), 2u);
  EXPECT_EQ(scan.blocks[1].line, 1u + static_cast<std::size_t>(std::count(first.begin(), first.end(), '\n')));
  EXPECT_TRUE(pki::certificate_from_der(scan.blocks[0]));
}

TEST(PemScan, ReportsTruncationJunkNewlineMismatchAndBase64) {
  Pki pki;
  std::string pem = pki::certificate_to_pem(pki.inter.get());
  auto truncated = pki::scan_pem(pem.substr(0, pem.size() / 2));
  EXPECT_TRUE(truncated.has(pki::PemIssueKind::truncated));

  auto junk = pki::scan_pem("hello\n" + pem);
  EXPECT_TRUE(junk.has(pki::PemIssueKind::junk));
  EXPECT_EQ(junk.issues.front().line, 1u);

  auto no_newline = pki::scan_pem(pem.substr(0, pem.size() - 1));
  EXPECT_TRUE(no_newline.has(pki::PemIssueKind::no_final_newline));
  EXPECT_FALSE(no_newline.has(pki::PemIssueKind::truncated));

  std::string mismatch = pem;
  mismatch.replace(mismatch.find("-----END CERTIFICATE"), 20, "-----END X509 CRL---");
  EXPECT_TRUE(pki::scan_pem(mismatch).has(pki::PemIssueKind::label_mismatch));

  std::string corrupt = pem;
  corrupt[40] = '#';
  EXPECT_TRUE(pki::scan_pem(corrupt).has(pki::PemIssueKind::bad_base64));

  EXPECT_TRUE(pki::scan_pem("  \n").has(pki::PemIssueKind::empty));
}

TEST(PemScan, Base64IsStrict) {
  SecureBuffer out;
  EXPECT_TRUE(pki::base64_decode("aGVsbG8=", out));
  EXPECT_EQ(out.view(), "hello");
  EXPECT_TRUE(pki::base64_decode("aGVs\nbG8h", out));
  EXPECT_EQ(out.view(), "hello!");
  EXPECT_FALSE(pki::base64_decode("aGVsbG8", out));     // bad length
  EXPECT_FALSE(pki::base64_decode("aGV=bG8=", out));    // padding in the middle
  EXPECT_FALSE(pki::base64_decode("aGVsbG8=$", out));   // junk
  EXPECT_FALSE(pki::base64_decode("a===", out));
}

TEST(PemScan, KeyBlocks) {
  auto key = pki::generate_key(pki::KeyAlgorithm::ecdsa_p256);
  auto pem = pki::private_key_to_pkcs8_pem(key.get());
  auto scan = pki::scan_pem(pem.view());
  ASSERT_EQ(scan.blocks.size(), 1u);
  auto back = pki::private_key_from_block(scan.blocks[0]);
  ASSERT_TRUE(back);
  EXPECT_EQ(EVP_PKEY_eq(back.get(), key.get()), 1);
  auto enc = pki::private_key_to_encrypted_pem(key.get(), SecureBuffer("a passphrase long enough"));
  auto enc_scan = pki::scan_pem(enc.view());
  EXPECT_TRUE(pki::is_encrypted_key_block(enc_scan.blocks[0]));
  EXPECT_FALSE(pki::private_key_from_block(enc_scan.blocks[0]));
}

// ---- bundle checks ---------------------------------------------------------------------

TEST(BundleCheck, MeshcaBundlePassesWithoutWarnings) {
  Pki pki;
  auto r = check(source_of(pki.files()));
  EXPECT_EQ(r.count(Severity::fail), 0u) << dump(r);
  EXPECT_EQ(r.count(Severity::warn), 0u) << dump(r);
  for (const char* c : {"layout", "pem", "key-format", "key-match", "chain-order", "chain-root", "chain-verify",
                        "ca-lints", "validity", "chain-path-length", "name-constraints", "workload-peer"})
    EXPECT_TRUE(has(r, Severity::pass, c)) << c << "\n" << dump(r);
  EXPECT_EQ(r.chain_root_fingerprint, pki::sha256_fingerprint(pki.root.get()));
  EXPECT_EQ(r.trust_domain, "prod.example");
}

TEST(BundleCheck, EachBreakageHasItsOwnFinding) {
  Pki pki;
  auto good = pki.files();
  {
    auto src = source_of(good);
    auto other = pki::generate_key(pki::KeyAlgorithm::ecdsa_p256);
    put(src, kCaKeyFile, pki::private_key_to_pkcs8_pem(other.get()).view());
    auto r = check(src);
    EXPECT_TRUE(has(r, Severity::fail, "key-match", "does not match")) << dump(r);
  }
  {
    auto src = source_of(good);
    put(src, kCertChainFile, good.root_cert + good.ca_cert);
    EXPECT_TRUE(has(check(src), Severity::fail, "chain-order", "not with ca-cert.pem"));
  }
  {
    auto src = source_of(good);
    put(src, kCertChainFile, good.ca_cert);
    EXPECT_TRUE(has(check(src), Severity::fail, "chain-root", "not a self-signed root"));
  }
  {
    Pki stranger("Stranger");
    auto src = source_of(good);
    put(src, kRootCertFile, pki::certificate_to_pem(stranger.root.get()));
    EXPECT_TRUE(has(check(src), Severity::fail, "chain-root", "not in root-cert.pem"));
  }
  {
    auto src = source_of(good);
    src.files.erase(kCaKeyFile);
    auto r = check(src);
    EXPECT_TRUE(has(r, Severity::fail, "layout", "ca-key.pem is missing")) << dump(r);
  }
  {
    auto src = source_of(good);
    put(src, kCaKeyFile, "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n" +
                             std::string(good.ca_key.view()));
    EXPECT_TRUE(has(check(src), Severity::fail, "key-format", "EC PARAMETERS"));
  }
  {
    // The wrong trust domain is refused by the name constraint and by the peer.
    auto r = check(source_of(good), "other.example");
    EXPECT_TRUE(has(r, Severity::fail, "name-constraints", "other.example")) << dump(r);
    EXPECT_TRUE(has(r, Severity::fail, "workload-peer", "permitted subtree violation")) << dump(r);
  }
  {
    // Validity: expired at a later time, and the warning window before it.
    auto src = source_of(good);
    auto expired = check_bundle(src, {.at = kNow + 2 * kYear, .trust_domain = "prod.example"});
    EXPECT_TRUE(has(expired, Severity::fail, "validity", "expired on"));
    auto soon = check_bundle(src, {.at = kNow + kYear - 10 * kDay, .trust_domain = "prod.example"});
    EXPECT_TRUE(has(soon, Severity::warn, "expiry-soon", "expires in 10 days")) << dump(soon);
    EXPECT_EQ(soon.count(Severity::fail), 0u) << dump(soon);
  }
}

TEST(BundleCheck, TlsLayoutUsesTheSameRulesAndMixedLayoutFails) {
  Pki pki;
  auto good = pki.files();
  auto r =
      check(source_with("tls", "secret", {{kTlsCertFile, good.ca_cert}, {kTlsKeyFile, good.ca_key.view()}, {kTlsCaFile, good.root_cert}}));
  EXPECT_EQ(r.layout, "kubernetes.io/tls");
  EXPECT_EQ(r.count(Severity::fail), 0u) << dump(r);
  EXPECT_TRUE(has(r, Severity::pass, "layout", "kubernetes.io/tls"));

  auto mixed = source_of(good);
  put(mixed, kTlsCertFile, good.ca_cert);
  mixed.layout = detect_layout({kCaCertFile, kTlsCertFile});
  EXPECT_TRUE(has(check(mixed), Severity::fail, "layout", "mixes"));
}

TEST(BundleCheck, CrlOfEveryCaPassesAndRevocationFails) {
  Pki pki;
  auto good = pki.files();
  pki::CrlProfile fresh{.this_update = kNow - kDay, .next_update = kNow + 7 * kDay, .revoked = {}};
  auto inter_crl = pki::issue_crl(fresh, pki.inter.get(), pki.inter_key.get());
  auto root_crl = pki::issue_crl(fresh, pki.root.get(), pki.root_key.get());
  {
    auto src = source_of(good);
    put(src, kCaCrlFile, pki::crl_to_pem(inter_crl.get()) + pki::crl_to_pem(root_crl.get()));
    auto r = check(src);
    EXPECT_TRUE(has(r, Severity::pass, "crl")) << dump(r);
    EXPECT_EQ(r.count(Severity::fail), 0u) << dump(r);
  }
  {
    auto src = source_of(good);
    put(src, kCaCrlFile, pki::crl_to_pem(inter_crl.get()));
    EXPECT_TRUE(has(check(src), Severity::fail, "crl", "no CRL signed by O=Test, CN=Root"));
  }
  {
    pki::CrlProfile revoking = fresh;
    revoking.revoked = {pki.inter.get()};
    auto bad = pki::issue_crl(revoking, pki.root.get(), pki.root_key.get());
    EXPECT_TRUE(pki::crl_revokes(bad.get(), pki.inter.get()));
    auto src = source_of(good);
    put(src, kCaCrlFile, pki::crl_to_pem(inter_crl.get()) + pki::crl_to_pem(bad.get()));
    auto r = check(src);
    EXPECT_TRUE(has(r, Severity::fail, "crl", "revokes O=Test, CN=Root Inter")) << dump(r);
  }
  {
    auto src = source_of(good);
    put(src, kCaCrlFile, pki::crl_to_pem(inter_crl.get()) + pki::crl_to_pem(root_crl.get()));
    auto r = check_bundle(src, {.at = kNow + 30 * kDay, .trust_domain = "prod.example"});
    EXPECT_TRUE(has(r, Severity::fail, "crl", "stale")) << dump(r);
  }
}

TEST(BundleCheck, CrossClusterTrust) {
  Pki a, b("Other");
  auto ra = check(source_of(a.files()));
  auto ra2 = check(source_of(a.files()));
  auto rb = check(source_of(b.files()));
  auto pairs = cross_cluster_trust({ra, ra2, rb});
  ASSERT_EQ(pairs.size(), 3u);
  EXPECT_TRUE(pairs[0].a_accepts_b && pairs[0].b_accepts_a);
  EXPECT_FALSE(pairs[1].a_accepts_b || pairs[1].b_accepts_a);
  EXPECT_TRUE(pairs[1].shared->subjects.empty());
}

// ---- workload leaf ---------------------------------------------------------------------

TEST(WorkloadLeaf, IssuedLikeIstiod) {
  Pki pki;
  auto leaf = pki::issue_workload_leaf(pki.inter.get(), pki.inter_key.get(),
                                       pki::spiffe_workload_id("prod.example"), kNow);
  auto s = pki::summarize(leaf.get(), kNow);
  EXPECT_EQ(s.subject, "");
  EXPECT_EQ(s.subject_alt_names, std::vector<std::string>{"URI:spiffe://prod.example/ns/default/sa/default"});
  EXPECT_EQ(s.extended_key_usage, (std::vector<std::string>{"serverAuth", "clientAuth"}));
  EXPECT_FALSE(s.ca);
  int critical = -1;
  pki::GeneralNamesPtr sans(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(leaf.get(), NID_subject_alt_name, &critical, nullptr)));
  EXPECT_EQ(critical, 1);
  EXPECT_LE(s.not_after, kNow + kDay);
  for (auto purpose : {pki::PeerPurpose::tls_server, pki::PeerPurpose::tls_client}) {
    auto v = pki::verify_as_peer(leaf.get(), {pki.inter.get()}, {pki.root.get()}, kNow, purpose);
    EXPECT_TRUE(v.ok) << v.error;
  }
}

// The one-verification peer check passes exactly when both purposes pass: an
// intermediate whose extendedKeyUsage allows only one of them fails it.
TEST(WorkloadLeaf, BothPurposesAtOnceAgreeWithEachAlone) {
  for (int only : {NID_server_auth, NID_client_auth, 0}) {
    Pki pki;
    if (only != 0) {
      pki::ExtKeyUsagePtr eku(sk_ASN1_OBJECT_new_null());
      ASSERT_TRUE(sk_ASN1_OBJECT_push(eku.get(), OBJ_nid2obj(only)));
      ASSERT_EQ(X509_add1_ext_i2d(pki.inter.get(), NID_ext_key_usage, eku.get(), 0, X509V3_ADD_DEFAULT), 1);
      ASSERT_GT(X509_sign(pki.inter.get(), pki.root_key.get(), EVP_sha384()), 0);
      // OpenSSL keeps the extension cache of the certificate as issued
      // (pki::settle_extension_cache): the edited one is read afresh.
      pki.inter = pki::certificate_from_pem(pki::certificate_to_pem(pki.inter.get()), "edited intermediate");
    }
    auto leaf = pki::issue_workload_leaf(pki.inter.get(), pki.inter_key.get(), pki::spiffe_workload_id("prod.example"), kNow);
    auto peer = [&](pki::PeerPurpose p) { return pki::verify_as_peer(leaf.get(), {pki.inter.get()}, {pki.root.get()}, kNow, p).ok; };
    const bool server = peer(pki::PeerPurpose::tls_server), client = peer(pki::PeerPurpose::tls_client);
    EXPECT_EQ(server, only != NID_client_auth) << only;
    EXPECT_EQ(client, only != NID_server_auth) << only;
    EXPECT_EQ(peer(pki::PeerPurpose::tls_server_and_client), server && client) << only;
    // The engine names the purpose that fails, as with two verifications.
    auto r = check(source_of(pki.files()));
    if (only == 0) {
      EXPECT_TRUE(has(r, Severity::pass, "workload-peer")) << dump(r);
    } else {
      EXPECT_TRUE(has(r, Severity::fail, "workload-peer", only == NID_server_auth ? "as a TLS client" : "as a TLS server")) << dump(r);
    }
  }
}

// A path verified once is not verified again, and a root whose
// self-signature does not verify still fails every path through it (its
// check is remembered, never assumed).
TEST(Verify, RememberedVerdictsKeepEveryFailure) {
  Pki pki;
  auto good = pki::verify_chain(pki.inter.get(), {}, {pki.root.get()}, kNow);
  EXPECT_TRUE(good.ok) << good.error;
  EXPECT_TRUE(pki::verify_chain(pki.inter.get(), {}, {pki.root.get()}, kNow).ok);
  // The same root, its signature bytes damaged: the self-signature fails.
  pki::X509Ptr broken(X509_dup(pki.root.get()));
  const ASN1_BIT_STRING* sig = nullptr;
  X509_get0_signature(&sig, nullptr, broken.get());
  auto* bytes = const_cast<unsigned char*>(ASN1_STRING_get0_data(sig));
  bytes[ASN1_STRING_length(sig) - 2] ^= 0x01;
  EXPECT_FALSE(pki::signed_by(broken.get(), broken.get()));
  for (int round = 0; round < 2; ++round) {
    auto v = pki::verify_chain(pki.inter.get(), {}, {broken.get()}, kNow);
    EXPECT_FALSE(v.ok);
    EXPECT_NE(v.error.find("signature"), std::string::npos) << v.error;
  }
  // Verified without the anchor's self-signature (the caller checked it),
  // OpenSSL accepts the path as before.
  EXPECT_TRUE(pki::verify_chain(pki.inter.get(), {}, {broken.get()}, kNow, pki::AnchorSignature::already_verified).ok);
}

// ---- lints and readers ---------------------------------------------------------------------

TEST(Lint, AloneSkipsTheIssuerRelation) {
  Pki pki;
  EXPECT_TRUE(pki::lint_ca_certificate(pki.inter.get(), pki.root.get(), pki::CaRole::intermediate).empty());
  EXPECT_TRUE(pki::lint_ca_certificate_alone(pki.inter.get(), pki::CaRole::intermediate).empty());
  auto with_passes = pki::lint_ca_certificate_alone(pki.inter.get(), pki::CaRole::intermediate, true);
  for (const auto& f : with_passes) {
    EXPECT_NE(f.check, "signature");
    EXPECT_NE(f.check, "authority-key-id");
  }
}

TEST(Inspect, TreeAndDays) {
  Pki pki;
  auto tree = pki::certificate_tree({pki.inter.get(), pki.root.get()});
  ASSERT_EQ(tree.size(), 1u);
  EXPECT_EQ(tree[0].index, 1u);
  ASSERT_EQ(tree[0].children.size(), 1u);
  EXPECT_EQ(tree[0].children[0].index, 0u);
  EXPECT_EQ(pki::days_between(0, kDay - 1), 0);
  EXPECT_EQ(pki::days_between(0, -1), -1);
  auto s = pki::summarize(pki.root.get(), kNow);
  EXPECT_TRUE(s.self_signed);
  EXPECT_EQ(s.path_len, 1);
  EXPECT_EQ(s.key, "ECDSA P-384");
}

// ---- sources ---------------------------------------------------------------------------

TEST(BundleSource, SecretManifestDataAndStringData) {
  Pki pki;
  auto files = pki.files();
  test::TempDir tmp;
  auto manifest = render_cacerts_secret(files, {});
  {
    std::ofstream(tmp.path() / "cacerts.yaml") << manifest.view();
  }
  auto sources = load_bundle_sources(tmp.path() / "cacerts.yaml");
  ASSERT_EQ(sources.size(), 1u);
  EXPECT_EQ(sources[0].layout, BundleLayout::istio_cacerts);
  ASSERT_TRUE(sources[0].file(kCaCertFile));
  EXPECT_EQ(sources[0].file(kCaCertFile)->bytes.view(), files.ca_cert);
  EXPECT_EQ(check(sources[0]).count(Severity::fail), 0u);

  // stringData wins over data; a List holds several Secrets.
  std::string list = "apiVersion: v1\nkind: List\nitems:\n";
  for (const char* name : {"one", "two"}) {
    list += std::string("- apiVersion: v1\n  kind: Secret\n  metadata: {name: ") + name + ", namespace: x}\n";
    list += "  data:\n    root-cert.pem: " + base64_encode("garbage") + "\n  stringData:\n    root-cert.pem: |\n";
    std::string indented;
    for (char c : files.root_cert) indented += c == '\n' ? std::string("\n      ") : std::string(1, c);
    list += "      " + indented.substr(0, indented.size() - 6);
  }
  {
    std::ofstream(tmp.path() / "list.yaml") << list;
  }
  auto two = load_bundle_sources(tmp.path() / "list.yaml");
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[1].label, (tmp.path() / "list.yaml").string() + "#x/two");
  ASSERT_TRUE(two[0].file(kRootCertFile));
  EXPECT_EQ(two[0].file(kRootCertFile)->bytes.view(), files.root_cert);

  {
    std::ofstream(tmp.path() / "plain.pem") << files.root_cert;
  }
  EXPECT_THROW(load_bundle_sources(tmp.path() / "plain.pem"), Error);
  EXPECT_THROW(load_bundle_sources(tmp.path() / "absent"), Error);
}


// ---- the verdict table -------------------------------------------------------------

// The rows of the table under "| check | severity | consumer | fix |" in
// docs/verification.md, cells trimmed, backticks around the id removed.
std::vector<std::vector<std::string>> docs_check_table() {
  std::ifstream in(std::string(MESHCA_SOURCE_DIR) + "/docs/verification.md");
  std::vector<std::vector<std::string>> rows;
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    if (line == "| check | severity | consumer | fix |") {
      inside = true;
      continue;
    }
    if (!inside || line.starts_with("| ---")) continue;
    if (!line.starts_with("| ")) break;
    std::vector<std::string> cells;
    std::stringstream cells_text(line.substr(2, line.size() - 4));
    for (std::string cell; std::getline(cells_text, cell, '|');) {
      cell = cell.substr(cell.find_first_not_of(' '), cell.find_last_not_of(' ') - cell.find_first_not_of(' ') + 1);
      cells.push_back(cell);
    }
    if (!cells.empty() && cells[0].size() > 2 && cells[0].front() == '`') cells[0] = cells[0].substr(1, cells[0].size() - 2);
    rows.push_back(std::move(cells));
  }
  return rows;
}

TEST(VerifyChecks, DocsTableEqualsCode) {
  auto docs = docs_check_table();
  std::string expected;
  for (const auto& c : kVerifyChecks) {
    expected += "| `" + std::string(c.id) + "` | " + std::string(pki::severity_name(c.severity)) + " | " +
                std::string(c.consumer) + " | " + std::string(c.fix) + " |\n";
  }
  ASSERT_EQ(docs.size(), kVerifyChecks.size()) << "docs/verification.md should hold these rows:\n" << expected;
  for (std::size_t i = 0; i < docs.size(); ++i) {
    const auto& c = kVerifyChecks[i];
    std::vector<std::string> code_row{std::string(c.id), std::string(pki::severity_name(c.severity)),
                                      std::string(c.consumer), std::string(c.fix)};
    EXPECT_EQ(docs[i], code_row) << "row " << i + 1 << "; docs/verification.md should hold:\n" << expected;
  }
}

TEST(VerifyChecks, IdsAreUniqueAndEveryRowIsAVerdict) {
  std::set<std::string_view> ids;
  for (const auto& c : kVerifyChecks) {
    EXPECT_TRUE(ids.insert(c.id).second) << c.id;
    EXPECT_NE(c.severity, Severity::pass) << c.id;
    EXPECT_FALSE(c.consumer.empty() || c.fix.empty()) << c.id;
    EXPECT_EQ(find_verify_check(c.id), &c);
  }
  EXPECT_EQ(find_verify_check("no-such-check"), nullptr);
}

// Istio's recipe with INTERMEDIATE_DAYS = the root's days: the intermediate
// outlives the root by seconds. OpenSSL's strict verification accepts it,
// istiod serves it: verify WARNs; the pre-issuance lint still refuses it.
TEST(BundleCheck, IntermediateOutlivingItsRootIsAWarningNotAFailure) {
  auto root_key = pki::generate_key(pki::KeyAlgorithm::ecdsa_p256);
  auto root = pki::issue_certificate(ca_profile("Root", 1, kNow - kDay, kNow + kYear), root_key.get(), nullptr,
                                     root_key.get());
  auto inter_key = pki::generate_key(pki::KeyAlgorithm::ecdsa_p256);
  auto inter = pki::issue_certificate(ca_profile("Inter", 0, kNow - kDay + 5, kNow + kYear + 5), inter_key.get(),
                                      root.get(), root_key.get());
  auto r = check(source_of(make_istio_bundle(inter.get(), inter_key.get(), {root.get()}, {root.get()})), "any.example");
  EXPECT_EQ(r.count(Severity::fail), 0u) << dump(r);
  EXPECT_TRUE(has(r, Severity::warn, "validity-nesting", "is not inside the issuer's")) << dump(r);
  EXPECT_TRUE(has(r, Severity::pass, "chain-verify")) << dump(r);
  EXPECT_TRUE(pki::has_failure(pki::lint_ca_certificate(inter.get(), root.get(), pki::CaRole::intermediate)));
  for (const auto& f : r.findings) {
    if (f.severity == Severity::pass) continue;
    ASSERT_NE(find_verify_check(f.check), nullptr) << f.check;
    EXPECT_EQ(f.severity, find_verify_check(f.check)->severity) << f.check;
    EXPECT_FALSE(f.fix.empty()) << f.check;
  }
}


// A P-521 CA: outside meshca's own set, yet Go's crypto/x509, Envoy and
// OpenSSL accept it, so verify WARNs; a brainpool key nobody in a mesh
// accepts FAILs (the pre-issuance lint refuses both).
TEST(BundleCheck, KeyAlgorithmsOutsideMeshcasSetWarnUnlessConsumersRefuseThem) {
  auto root_key = pki::generate_key(pki::KeyAlgorithm::ecdsa_p384);
  auto root = pki::issue_certificate(ca_profile("Root", 1, kNow - kDay, kNow + 10 * kYear), root_key.get(), nullptr,
                                     root_key.get());
  for (const char* curve : {"P-521", "brainpoolP256r1"}) {
    pki::PKeyPtr key(EVP_EC_gen(curve));
    ASSERT_TRUE(key) << curve;
    auto inter = pki::issue_certificate(ca_profile(std::string("Inter ") + curve, 0, kNow - kDay, kNow + kYear),
                                        key.get(), root.get(), root_key.get());
    auto r = check(source_of(make_istio_bundle(inter.get(), key.get(), {root.get()}, {root.get()})), "any.example");
    EXPECT_TRUE(pki::has_failure(pki::lint_ca_certificate(inter.get(), root.get(), pki::CaRole::intermediate)));
    if (std::string(curve) == "P-521") {
      EXPECT_EQ(r.count(Severity::fail), 0u) << dump(r);
      EXPECT_TRUE(has(r, Severity::warn, "key-algorithm-policy", "P-521")) << dump(r);
    } else {
      EXPECT_TRUE(has(r, Severity::fail, "key-algorithm")) << dump(r);
    }
  }
}

// OUT/root of a root under the corporate CA: root-cert.pem is not
// self-signed, issuer-chain.pem carries its issuers up to the anchor. It
// passes with the chain, and fails without a self-signed anchor at its end
// or with the chain of another anchor.
TEST(BundleCheck, RootIssuedByAnotherCaIsJudgedWithItsIssuerChain) {
  auto corp_key = pki::generate_key(pki::KeyAlgorithm::ecdsa_p384);
  auto corp = pki::issue_certificate(ca_profile("Corp Root", 3, kNow - kDay, kNow + 20 * kYear), corp_key.get(), nullptr, corp_key.get());
  auto issuing_key = pki::generate_key(pki::KeyAlgorithm::ecdsa_p384);
  auto issuing =
      pki::issue_certificate(ca_profile("Corp Issuing", 2, kNow - kDay, kNow + 15 * kYear), issuing_key.get(), corp.get(), corp_key.get());
  auto mesh_key = pki::generate_key(pki::KeyAlgorithm::ecdsa_p384);
  auto mesh =
      pki::issue_certificate(ca_profile("Mesh Root", 1, kNow - kDay, kNow + 10 * kYear), mesh_key.get(), issuing.get(), issuing_key.get());
  auto root_dir = [&](const std::string& chain) {
    BundleSource src;
    src.label = "out/root";
    src.kind = "directory";
    src.layout = BundleLayout::root_ca;
    put(src, kRootCertFile, pki::certificate_to_pem(mesh.get()));
    put(src, kIssuerChainFile, chain);
    return src;
  };
  auto good = check(root_dir(pki::certificate_to_pem(issuing.get()) + pki::certificate_to_pem(corp.get())));
  EXPECT_TRUE(has(good, Severity::pass, "chain-verify", "issued by the corporate CA")) << dump(good);
  EXPECT_FALSE(has(good, Severity::fail, "root-self-signed")) << dump(good);
  for (const auto& f : good.findings) EXPECT_EQ(f.severity, Severity::pass) << dump(good);
  EXPECT_EQ(good.chain_root_subject, pki::subject_string(corp.get()));

  auto no_anchor = check(root_dir(pki::certificate_to_pem(issuing.get())));
  EXPECT_TRUE(has(no_anchor, Severity::fail, "chain-root", "not a self-signed root")) << dump(no_anchor);

  auto other_key = pki::generate_key(pki::KeyAlgorithm::ecdsa_p384);
  auto other =
      pki::issue_certificate(ca_profile("Other Root", 3, kNow - kDay, kNow + 20 * kYear), other_key.get(), nullptr, other_key.get());
  auto wrong = check(root_dir(pki::certificate_to_pem(other.get())));
  EXPECT_TRUE(has(wrong, Severity::fail, "chain-verify")) << dump(wrong);
}

}  // namespace
}  // namespace meshca::verify
