// Output layouts (output_layout/layouts.hpp), Kubernetes manifests and the
// deterministic export archive (output_layout/tar_archive.hpp).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <set>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/hex.hpp"
#include "output_layout/layouts.hpp"
#include "output_layout/public_bundle.hpp"
#include "output_layout/tar_archive.hpp"
#include "pki/certificate.hpp"
#include "pki/key.hpp"
#include "pki/pem_scan.hpp"
#include "pki/verify.hpp"
#include "tests/unit/temp_dir.hpp"

namespace meshca::output_layout {
namespace {

namespace fs = std::filesystem;

constexpr UnixTime kNow = 1795000000;
constexpr const char* kDigest = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

pki::CertificateProfile ca(const std::string& cn, int path_len) {
  pki::CertificateProfile p;
  p.subject = pki::DistinguishedName::canonical({{"CN", cn}});
  p.not_before = kNow - 60;
  p.not_after = kNow + 86400 * 365;
  p.path_len = path_len;
  p.key_usage = {.digital_signature = true, .key_cert_sign = true, .crl_sign = true};
  return p;
}

struct Material {
  pki::PKeyPtr root_key = pki::generate_key(pki::KeyAlgorithm::ecdsa_p256);
  pki::PKeyPtr key = pki::generate_key(pki::KeyAlgorithm::ecdsa_p256);
  pki::X509Ptr root = pki::issue_certificate(ca("Root", 1), root_key.get(), nullptr, root_key.get());
  pki::X509Ptr cert = pki::issue_certificate(ca("Intermediate", 0), key.get(), root.get(), root_key.get());
  IstioBundleFiles files() const { return make_istio_bundle(cert.get(), key.get(), {root.get()}, {root.get()}); }
};

LayoutOptions every_layout() {
  LayoutOptions o;
  o.layouts = {all_layouts().begin(), all_layouts().end()};
  o.mesh = "prod";
  o.cluster = "east";
  o.trust_domain = "prod.example.org";
  o.plan_digest = kDigest;
  o.cert_manager = {"Issuer", "mesh-ca", "apps"};
  o.spire_directory = "/opt/spire/upstream";
  return o;
}

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

class LayoutsTest : public ::testing::Test {
 protected:
  fs::path dir() const { return tmp_.path() / "bundle"; }
  void write(const LayoutOptions& o) {
    ensure_directory(dir());
    digests_ = write_layouts(dir(), m_.files(), o);
  }
  std::string read(const std::string& rel) const { return read_file(dir() / rel); }

  Material m_;
  test::TempDir tmp_;
  std::map<std::string, std::string> digests_;
};

TEST_F(LayoutsTest, EveryLayoutWritesItsFilesWithModesAndDigests) {
  write(every_layout());
  const std::vector<std::string> expected{
      "ca-cert.pem", "ca-key.pem", "cacerts.yaml", "cert-chain.pem",
      "cert-manager/ca-secret.yaml", "cert-manager/ca.crt", "cert-manager/issuer.yaml", "cert-manager/tls.crt",
      "cert-manager/tls.key", "istio-tls/ca.crt", "istio-tls/cacerts.yaml", "istio-tls/tls.crt", "istio-tls/tls.key",
      "linkerd/ca.crt", "linkerd/linkerd-identity-issuer.yaml", "linkerd/linkerd-identity-trust-roots.yaml",
      "linkerd/tls.crt", "linkerd/tls.key", "root-cert.pem", "spire/bundle.crt", "spire/server.conf",
      "spire/upstream-ca.crt", "spire/upstream-ca.key"};
  EXPECT_EQ(layout_file_names(every_layout()), expected);
  std::set<std::string> on_disk;
  for (const auto& e : fs::recursive_directory_iterator(dir()))
    if (e.is_regular_file()) on_disk.insert(fs::relative(e.path(), dir()).string());
  EXPECT_EQ(on_disk, std::set<std::string>(expected.begin(), expected.end()));
  const std::set<std::string> secret{"ca-key.pem", "cacerts.yaml", "istio-tls/tls.key", "istio-tls/cacerts.yaml",
                                     "linkerd/tls.key", "linkerd/linkerd-identity-issuer.yaml", "cert-manager/tls.key",
                                     "cert-manager/ca-secret.yaml", "spire/upstream-ca.key"};
  for (const auto& name : expected) {
    EXPECT_EQ(mode_of(dir() / name), secret.count(name) ? 0600u : 0644u) << name;
    EXPECT_EQ(digests_.at(name), sha256_hex(read(name))) << name;
  }
  for (const char* sub : {"istio-tls", "linkerd", "cert-manager", "spire"}) EXPECT_EQ(mode_of(dir() / sub), 0700u) << sub;
}

TEST_F(LayoutsTest, EveryLayoutHoldsTheSameBytes) {
  write(every_layout());
  for (const char* d : {"istio-tls", "linkerd", "cert-manager"}) {
    EXPECT_EQ(read(std::string(d) + "/tls.crt"), read("cert-chain.pem")) << d;
    EXPECT_EQ(read(std::string(d) + "/tls.key"), read("ca-key.pem")) << d;
    EXPECT_EQ(read(std::string(d) + "/ca.crt"), read("root-cert.pem")) << d;
  }
  EXPECT_EQ(read("spire/upstream-ca.crt"), read("cert-chain.pem"));
  EXPECT_EQ(read("spire/upstream-ca.key"), read("ca-key.pem"));
  EXPECT_EQ(read("spire/bundle.crt"), read("root-cert.pem"));
  auto conf = read("spire/server.conf");
  EXPECT_NE(conf.find("UpstreamAuthority \"disk\" {"), std::string::npos);
  EXPECT_NE(conf.find("cert_file_path = \"/opt/spire/upstream/upstream-ca.crt\""), std::string::npos);
  EXPECT_NE(conf.find("key_file_path = \"/opt/spire/upstream/upstream-ca.key\""), std::string::npos);
  EXPECT_NE(conf.find("bundle_file_path = \"/opt/spire/upstream/bundle.crt\""), std::string::npos);
}

struct ManifestCase {
  std::string file, api_version, kind, name, ns, type;
  std::map<std::string, std::string> data;  // key -> file the value must equal
};

TEST_F(LayoutsTest, ManifestsDecodeToTheFilesAndCarryTheLabels) {
  write(every_layout());
  const std::map<std::string, std::string> tls{{"tls.crt", "cert-chain.pem"}, {"tls.key", "ca-key.pem"}, {"ca.crt", "root-cert.pem"}};
  const std::vector<ManifestCase> cases{
      {"cacerts.yaml", "v1", "Secret", "cacerts", "istio-system", "Opaque",
       {{"ca-cert.pem", "ca-cert.pem"}, {"ca-key.pem", "ca-key.pem"}, {"cert-chain.pem", "cert-chain.pem"}, {"root-cert.pem", "root-cert.pem"}}},
      {"istio-tls/cacerts.yaml", "v1", "Secret", "cacerts", "istio-system", "kubernetes.io/tls", tls},
      {"linkerd/linkerd-identity-issuer.yaml", "v1", "Secret", "linkerd-identity-issuer", "linkerd", "kubernetes.io/tls", tls},
      {"linkerd/linkerd-identity-trust-roots.yaml", "v1", "ConfigMap", "linkerd-identity-trust-roots", "linkerd", "",
       {{"ca-bundle.crt", "root-cert.pem"}}},
      {"cert-manager/ca-secret.yaml", "v1", "Secret", "mesh-ca", "apps", "kubernetes.io/tls", tls},
      {"cert-manager/issuer.yaml", "cert-manager.io/v1", "Issuer", "mesh-ca", "apps", "", {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.file);
    YAML::Node m = YAML::Load(read(c.file));
    EXPECT_EQ(m["apiVersion"].as<std::string>(), c.api_version);
    EXPECT_EQ(m["kind"].as<std::string>(), c.kind);
    EXPECT_EQ(m["metadata"]["name"].as<std::string>(), c.name);
    EXPECT_EQ(m["metadata"]["namespace"].as<std::string>(), c.ns);
    auto labels = m["metadata"]["labels"];
    EXPECT_EQ(labels["app.kubernetes.io/managed-by"].as<std::string>(), "meshca");
    EXPECT_EQ(labels["meshca.io/mesh"].as<std::string>(), "prod");
    EXPECT_EQ(labels["meshca.io/cluster"].as<std::string>(), "east");
    EXPECT_EQ(labels["meshca.io/plan-digest"].as<std::string>(), std::string(kDigest).substr(0, 32));
    EXPECT_EQ(m["metadata"]["annotations"]["meshca.io/plan-digest"].as<std::string>(), kDigest);
    if (c.kind == "Secret") {
      EXPECT_EQ(m["type"].as<std::string>(), c.type);
    }
    if (c.kind == "Issuer") {
      EXPECT_EQ(m["spec"]["ca"]["secretName"].as<std::string>(), "mesh-ca");
    }
    EXPECT_EQ(c.data.empty() ? 0u : m["data"].size(), c.data.size());
    for (const auto& [key, file] : c.data) {
      std::string value = m["data"][key].as<std::string>();
      if (c.kind == "Secret") {
        SecureBuffer decoded;
        ASSERT_TRUE(pki::base64_decode(value, decoded)) << key;
        EXPECT_EQ(decoded.view(), read(file)) << key;
      } else {
        EXPECT_EQ(value, read(file)) << key;
      }
    }
  }
}

TEST_F(LayoutsTest, ClusterIssuerIsClusterScopedAndK8sSecretOnlyAddsIstioManifests) {
  LayoutOptions o = every_layout();
  o.layouts = {Layout::cert_manager, Layout::istio_tls};
  o.cert_manager = {};
  write(o);
  YAML::Node issuer = YAML::Load(read("cert-manager/issuer.yaml"));
  EXPECT_EQ(issuer["kind"].as<std::string>(), "ClusterIssuer");
  EXPECT_FALSE(issuer["metadata"]["namespace"]);
  EXPECT_EQ(YAML::Load(read("cert-manager/ca-secret.yaml"))["metadata"]["namespace"].as<std::string>(), "cert-manager");
  EXPECT_FALSE(fs::exists(dir() / "istio-tls" / "cacerts.yaml"));  // no k8s-secret
  EXPECT_FALSE(fs::exists(dir() / "ca-cert.pem"));
}

TEST_F(LayoutsTest, ReadsTheBundleBackFromWhicheverLayoutIsSelected) {
  for (Layout only : {Layout::istio_cacerts, Layout::istio_tls, Layout::linkerd, Layout::cert_manager, Layout::spire}) {
    SCOPED_TRACE(std::string(layout_name(only)));
    fs::remove_all(dir());
    LayoutOptions o = every_layout();
    o.layouts = {only};
    write(o);
    EXPECT_TRUE(missing_layout_files(dir(), o).empty());
    IstioBundle b = read_layout_bundle(dir(), o);
    EXPECT_EQ(X509_cmp(b.ca_cert.get(), m_.cert.get()), 0);
    EXPECT_TRUE(pki::key_matches_certificate(b.ca_key.get(), b.ca_cert.get()));
    ASSERT_EQ(b.cert_chain.size(), 2u);
    ASSERT_EQ(b.roots.size(), 1u);
    EXPECT_EQ(X509_cmp(read_layout_ca_certificate(dir(), o).get(), m_.cert.get()), 0);
  }
}

// Chain and trust files that are exactly meshca's PEM of certificates the
// caller holds are taken as those certificates; anything else is parsed, so
// the bundle read is the same either way.
TEST_F(LayoutsTest, KnownCertificatesGiveTheSameBundleAsParsing) {
  write(every_layout());
  const std::vector<const X509*> known{m_.root.get()};
  auto same = [](const std::vector<pki::X509Ptr>& a, const std::vector<pki::X509Ptr>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (X509_cmp(a[i].get(), b[i].get()) != 0) return false;
    return true;
  };
  IstioBundle parsed = read_layout_bundle(dir(), every_layout());
  IstioBundle fast = read_layout_bundle(dir(), every_layout(), ManifestCheck::verify, known);
  EXPECT_TRUE(same(parsed.cert_chain, fast.cert_chain));
  EXPECT_TRUE(same(parsed.roots, fast.roots));
  ASSERT_EQ(fast.cert_chain.size(), 2u);
  EXPECT_EQ(X509_cmp(fast.cert_chain.back().get(), m_.root.get()), 0);
  // Other bytes, same certificates (a comment line): parsed, same result.
  // Another root in root-cert.pem: parsed, and it is that other root.
  LayoutOptions cacerts = every_layout();
  cacerts.layouts = {Layout::istio_cacerts};
  Material other;
  const std::string root_pem = pki::certificate_to_pem(other.root.get());
  for (const std::string& roots : {"# trusted roots\n" + read("root-cert.pem"), root_pem, read("root-cert.pem") + root_pem}) {
    fs::remove(dir() / "root-cert.pem");
    write_file_atomic(dir() / "root-cert.pem", roots, kPublicFileMode);
    IstioBundle a = read_layout_bundle(dir(), cacerts, ManifestCheck::skip);
    IstioBundle b = read_layout_bundle(dir(), cacerts, ManifestCheck::skip, known);
    EXPECT_TRUE(same(a.roots, b.roots)) << roots;
  }
  // A damaged chain file is still an error naming it.
  fs::remove(dir() / "cert-chain.pem");
  write_file_atomic(dir() / "cert-chain.pem", read("ca-cert.pem") + "-----BEGIN CERTIFICATE-----\nAAAA\n", kPublicFileMode);
  EXPECT_THROW(read_layout_bundle(dir(), cacerts, ManifestCheck::skip, known), Error);
}

TEST_F(LayoutsTest, ALayoutThatDisagreesOrIsMissingIsNamed) {
  write(every_layout());
  EXPECT_NO_THROW(read_layout_bundle(dir(), every_layout()));
  fs::remove(dir() / "linkerd" / "ca.crt");
  write_file_atomic(dir() / "linkerd" / "ca.crt", read("cert-chain.pem"), kPublicFileMode);
  try {
    read_layout_bundle(dir(), every_layout());
    FAIL() << "a disagreeing layout was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_input);
    EXPECT_NE(std::string(e.what()).find("linkerd/ca.crt"), std::string::npos) << e.what();
  }
  fs::remove(dir() / "spire" / "server.conf");
  EXPECT_EQ(missing_layout_files(dir(), every_layout()), std::vector<std::string>{"spire/server.conf"});
}

// ---- export archive --------------------------------------------------------

std::string octal_field(std::string_view block, std::size_t offset, std::size_t width) {
  return std::string(block.substr(offset, width - 1));
}

TEST_F(LayoutsTest, TarIsDeterministicSortedUstarWithFixedOwnersAndModes) {
  write(every_layout());
  SecureBuffer a = make_tar(collect_tar_entries(dir(), "prod/east"));
  SecureBuffer b = make_tar(collect_tar_entries(dir(), "prod/east"));
  EXPECT_TRUE(a.equals(b));
  ASSERT_EQ(a.size() % 512, 0u);
  EXPECT_EQ(a.view().substr(a.size() - 1024), std::string(1024, '\0'));
  std::string_view v = a.view();
  std::vector<std::string> names;
  for (std::size_t at = 0; at + 1024 < v.size();) {
    std::string_view h = v.substr(at, 512);
    std::string prefix(h.substr(345, 155).data()), name(h.substr(0, 100).data());
    names.push_back(prefix.empty() ? name : prefix + "/" + name);
    EXPECT_EQ(octal_field(h, 100, 8), "0000600");
    EXPECT_EQ(octal_field(h, 108, 8), "0000000");
    EXPECT_EQ(octal_field(h, 116, 8), "0000000");
    EXPECT_EQ(octal_field(h, 136, 12), "00000000000");
    EXPECT_EQ(h[156], '0');
    EXPECT_EQ(h.substr(257, 8), std::string_view("ustar\0" "00", 8));
    EXPECT_EQ(h[265], '\0');  // no owner name
    EXPECT_EQ(h[297], '\0');  // no group name
    unsigned sum = 0;
    for (std::size_t i = 0; i < 512; ++i) sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(h[i]);
    EXPECT_EQ(std::stoul(octal_field(h, 148, 7), nullptr, 8), sum);
    std::size_t size = std::stoul(octal_field(h, 124, 12), nullptr, 8);
    EXPECT_EQ(v.substr(at + 512, size), read(names.back().substr(std::string("prod/east/").size())));
    at += 512 + (size + 511) / 512 * 512;
  }
  EXPECT_EQ(names.size(), layout_file_names(every_layout()).size());
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
}

TEST_F(LayoutsTest, TarRefusesSymlinksAndUnsafeNames) {
  write(every_layout());
  fs::create_symlink("/etc/passwd", dir() / "linkerd" / "extra");
  EXPECT_THROW(collect_tar_entries(dir(), "prod/east"), Error);
  std::vector<TarEntry> unsafe;
  unsafe.push_back({"../escape", SecureBuffer("x")});
  EXPECT_THROW(make_tar(std::move(unsafe)), Error);
  std::vector<TarEntry> long_name;
  long_name.push_back({std::string(120, 'a') + "/" + std::string(90, 'b'), SecureBuffer("x")});
  SecureBuffer ok = make_tar(std::move(long_name));  // split into prefix + name
  EXPECT_EQ(std::string(ok.view().substr(345, 120)), std::string(120, 'a'));
}

}  // namespace
}  // namespace meshca::output_layout

namespace meshca::output_layout {
namespace {

LayoutOptions pinned(LayoutOptions o, const EVP_PKEY* key) {
  o.key_custody = KeyCustody::cluster;
  o.key_spki_sha256 = sha256_hex(pki::public_key_der(key));
  return o;
}

TEST_F(LayoutsTest, APublicOnlyBundlePlansItsIntermediatesCrl) {
  const LayoutOptions o = pinned(every_layout(), m_.key.get());
  ensure_directory(dir());
  auto files = make_istio_bundle(m_.cert.get(), nullptr, {m_.root.get()}, {m_.root.get()});
  files.ca_crl = "the CRLs above\n";
  files.intermediate_crl = pki::CrlProfile{.this_update = 1'800'000'000,
                                           .next_update = 1'800'604'800,
                                           .revoked = {},
                                           .entries = {{"0A1B", 1'799'000'000, pki::RevocationReason::key_compromise},
                                                       {"FF", 1'799'500'000, pki::RevocationReason::unspecified}},
                                           .number = 7};
  auto digests = write_layouts(dir(), files, o);
  EXPECT_EQ(read(kChainCrlsFile), files.ca_crl);
  EXPECT_TRUE(digests.count(kChainCrlsFile));
  EXPECT_FALSE(fs::exists(dir() / kCaCrlFile));
  // The content reads back whole, and the bundle carries both parts.
  const auto back = read_public_bundle_descriptor(dir());
  ASSERT_TRUE(back.crl);
  EXPECT_EQ(back.crl->number, 7);
  EXPECT_EQ(back.crl->this_update, 1'800'000'000);
  EXPECT_EQ(back.crl->next_update, 1'800'604'800);
  ASSERT_EQ(back.crl->entries.size(), 2u);
  EXPECT_EQ(back.crl->entries[0].serial_hex, "0A1B");
  EXPECT_EQ(back.crl->entries[0].reason, pki::RevocationReason::key_compromise);
  EXPECT_EQ(back.crl->entries[1].revoked_at, 1'799'500'000);
  EXPECT_NE(read(kPublicBundleFile).find("ca-crl.pem]"), std::string::npos);  // still needed
  auto bundle = read_layout_bundle(dir(), o);
  EXPECT_EQ(bundle.ca_crl, files.ca_crl);
  ASSERT_TRUE(bundle.intermediate_crl);
  EXPECT_EQ(bundle.intermediate_crl->number, 7);
  // Anything not in meshca's form is refused: a number that is not one, a
  // negative number, an unknown reason, an entry with a field missing.
  const std::string original = read(kPublicBundleFile);
  for (auto [from, to] : std::vector<std::pair<std::string, std::string>>{{"  number: 7", "  number: 7x"},
                                                                          {"  number: 7", "  number: -7"},
                                                                          {"'keyCompromise'", "'certificateHold'"},
                                                                          {", reason: 'unspecified'", ""}}) {
    std::string edited = original;
    ASSERT_NE(edited.find(from), std::string::npos) << from;
    edited.replace(edited.find(from), from.size(), to);
    write_file_atomic(dir() / kPublicBundleFile, edited, kPublicFileMode, Replace::allowed);
    EXPECT_THROW(read_public_bundle_descriptor(dir()), Error) << to;
    EXPECT_THROW(read_layout_bundle(dir(), o), Error) << to;
  }
}

TEST_F(LayoutsTest, APublicOnlyBundleHoldsNoKeyAndSaysWhatIsMissing) {
  const LayoutOptions o = pinned(every_layout(), m_.key.get());
  ensure_directory(dir());
  auto files = make_istio_bundle(m_.cert.get(), nullptr, {m_.root.get()}, {m_.root.get()});
  EXPECT_TRUE(files.ca_key.view().empty());
  write_layouts(dir(), files, o);
  const std::vector<std::string> expected{kCaCertFile, kCertChainFile, kPublicBundleFile, kRootCertFile};
  EXPECT_EQ(layout_file_names(o), expected);
  for (const auto& entry : fs::recursive_directory_iterator(dir())) {
    EXPECT_EQ(read_file(entry.path()).find("PRIVATE KEY"), std::string::npos) << entry.path();
  }
  // The descriptor reads back to the same options, and names every file assembly adds.
  const auto read_back = read_public_bundle_descriptor(dir());
  EXPECT_FALSE(read_back.crl);
  const LayoutOptions& back = read_back.options;
  EXPECT_EQ(back.key_spki_sha256, o.key_spki_sha256);
  EXPECT_EQ(back.layouts, o.layouts);
  EXPECT_EQ(back.cert_manager.name, "mesh-ca");
  EXPECT_EQ(back.spire_directory, "/opt/spire/upstream");
  const std::string descriptor = read(kPublicBundleFile);
  for (const auto& name : layout_file_names(assembled(o))) {
    if (name != kCaCertFile && name != kCertChainFile && name != kRootCertFile) {
      EXPECT_NE(descriptor.find(name), std::string::npos) << name;
    }
  }
  auto bundle = read_layout_bundle(dir(), o);
  EXPECT_FALSE(bundle.ca_key);
  EXPECT_EQ(X509_cmp(bundle.ca_cert.get(), m_.cert.get()), 0);
}

TEST_F(LayoutsTest, AnEditedDescriptorIsRefused) {
  const LayoutOptions o = pinned(every_layout(), m_.key.get());
  ensure_directory(dir());
  write_layouts(dir(), make_istio_bundle(m_.cert.get(), nullptr, {m_.root.get()}, {m_.root.get()}), o);
  const std::string original = read(kPublicBundleFile);
  write_file_atomic(dir() / kPublicBundleFile, original + "extra: 1\n", kPublicFileMode, Replace::allowed);
  EXPECT_THROW(read_public_bundle_descriptor(dir()), Error);
  // Another pin than the key ca-cert.pem certifies.
  std::string other = original;
  other.replace(other.find(o.key_spki_sha256), 64, std::string(64, 'f'));
  write_file_atomic(dir() / kPublicBundleFile, other, kPublicFileMode, Replace::allowed);
  EXPECT_NO_THROW(read_public_bundle_descriptor(dir()));  // well formed
  EXPECT_THROW(read_layout_bundle(dir(), o), Error);      // but not this bundle's
}

TEST_F(LayoutsTest, APublicCopyIsReadWithoutItsPrivateFiles) {
  LayoutOptions o = every_layout();
  write(o);
  for (const auto& name : layout_file_names(o)) {
    if (holds_private_key(name)) fs::remove(dir() / name);
  }
  EXPECT_FALSE(missing_layout_files(dir(), o).empty());
  o.public_copy = true;
  EXPECT_TRUE(missing_layout_files(dir(), o).empty());
  auto bundle = read_layout_bundle(dir(), o);
  EXPECT_FALSE(bundle.ca_key);
  EXPECT_TRUE(holds_private_key("prod/east/ca-key.pem"));
  EXPECT_TRUE(holds_private_key("prod/east/linkerd/tls.key"));
  EXPECT_FALSE(holds_private_key("prod/east/ca-cert.pem"));
  EXPECT_FALSE(holds_private_key("prod/east/xca-key.pem"));
}

}  // namespace
}  // namespace meshca::output_layout
