// One PKCS#11 module per command, against a real SoftHSM2 token: the two
// key stores of a rotation share one Pkcs11Module, either may close first
// without disturbing the other, the module is finalized once when the last
// holder is gone, and a second, independent Pkcs11Module for a module this
// process has already initialized is refused. Signatures are judged by
// OpenSSL in this process and by the openssl CLI.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.hpp"
#include "hsm/pkcs11_key_store.hpp"
#include "hsm/pkcs11_module.hpp"
#include "pki/certificate.hpp"
#include "pki/key.hpp"
#include "pki/verify.hpp"
#include "softhsm_fixture.hpp"

namespace meshca::test {
namespace {

namespace fs = std::filesystem;
using hsm::KeyPresence;
using pki::KeyAlgorithm;

using Pkcs11ModuleTest = SoftHsmTest;

pki::CertificateProfile root_profile(const std::string& cn) {
  pki::CertificateProfile p;
  p.subject = pki::DistinguishedName::canonical({{"O", "Acme Corp"}, {"CN", cn}});
  p.not_before = now_utc() - 60;
  p.not_after = now_utc() + 365LL * 24 * 3600;
  p.is_ca = true;
  p.path_len = 1;
  p.key_usage.key_cert_sign = true;
  p.key_usage.crl_sign = true;
  return p;
}

// A self-signed root made by `store`, checked by OpenSSL here.
pki::X509Ptr self_signed(hsm::KeyStore& store, const std::string& cn) {
  pki::X509Ptr cert = pki::issue_certificate(root_profile(cn), store.public_key(), nullptr, store.signing_key());
  EXPECT_TRUE(pki::signed_by(cert.get(), cert.get())) << cn;
  return cert;
}

void write_pem(const fs::path& path, const X509* cert) { std::ofstream(path, std::ios::binary) << pki::certificate_to_pem(cert); }

// `openssl verify` as the independent judge: `cert` chains to `root`.
void expect_openssl_verifies(const fs::path& dir, const X509* root, const X509* cert, const std::string& name) {
  write_pem(dir / (name + "-root.pem"), root);
  write_pem(dir / (name + ".pem"), cert);
  CommandResult r = run_command("openssl verify -x509_strict -CAfile " + shell_quote((dir / (name + "-root.pem")).string()) + " " +
                                shell_quote((dir / (name + ".pem")).string()));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find(": OK"), std::string::npos) << r.output;
}

TEST_F(Pkcs11ModuleTest, RotationStoresShareOneModuleAndCloseInEitherOrder) {
  hsm::KeyStoreContext ctx = context();
  for (bool old_first : {true, false}) {
    const std::string suffix = old_first ? "-a" : "-b";
    // The current root (must exist) and the new root (generated), as `rotate phases` opens them.
    hsm::generate_pkcs11_key(ref("root-2025" + suffix), KeyAlgorithm::ecdsa_p384, ctx).reset();
    auto old_root = hsm::open_key_store({hsm::KeyStoreKind::pkcs11, KeyAlgorithm::ecdsa_p384, {}, ref("root-2025" + suffix)},
                                        KeyPresence::must_exist, ctx);
    auto new_root = hsm::open_key_store({hsm::KeyStoreKind::pkcs11, KeyAlgorithm::rsa_2048, {}, ref("root-2026" + suffix)},
                                        KeyPresence::create_if_missing, ctx);
    EXPECT_TRUE(new_root->generated());
    EXPECT_EQ(ctx.pkcs11_modules->size(), 1u) << "both stores must use the one module of this command";

    pki::X509Ptr old_cert = self_signed(*old_root, "Old Root");
    pki::X509Ptr new_cert = self_signed(*new_root, "New Root");
    // The new root certified by the old root's key: both keys in use together.
    pki::X509Ptr cross = pki::issue_certificate(root_profile("New Root"), new_root->public_key(), old_cert.get(), old_root->signing_key());
    EXPECT_TRUE(pki::signed_by(cross.get(), old_cert.get()));
    expect_openssl_verifies(dir(), old_cert.get(), cross.get(), "cross" + suffix);

    // Closing one store must neither log out nor finalize the other.
    auto& first = old_first ? old_root : new_root;
    auto& second = old_first ? new_root : old_root;
    first.reset();
    pki::X509Ptr after = self_signed(*second, "Still Signing");
    expect_openssl_verifies(dir(), after.get(), after.get(), "after" + suffix);
    second.reset();
  }
  // Both stores gone, the command's module set still holds the module: a
  // third store reuses it (and its login).
  auto again = hsm::open_pkcs11_key_store(ref("root-2025-a"), KeyAlgorithm::ecdsa_p384, KeyPresence::must_exist, ctx);
  self_signed(*again, "Reopened");
  EXPECT_EQ(ctx.pkcs11_modules->size(), 1u);
}

TEST_F(Pkcs11ModuleTest, SecondModuleForALoadedModuleIsRefusedWithoutHarm) {
  auto store = hsm::generate_pkcs11_key(ref("root-key"), KeyAlgorithm::ecdsa_p256, context());
  // An independent object for the same module: the module already answers
  // CKR_CRYPTOKI_ALREADY_INITIALIZED, so it is refused...
  std::string msg = expect_error(ErrorKind::internal, [] { hsm::Pkcs11Module second(kModule); });
  EXPECT_NE(msg.find("already loaded and initialized in this process"), std::string::npos) << msg;
  // ... and so is a second module set (another "command" in this process).
  hsm::Pkcs11Modules other;
  expect_error(ErrorKind::internal, [&] { other.open(kModule, {}); });
  EXPECT_EQ(other.size(), 0u);
  // The refusals finalized nothing and closed no session: the store signs.
  pki::X509Ptr cert = self_signed(*store, "After Refusal");
  expect_openssl_verifies(dir(), cert.get(), cert.get(), "after-refusal");
}

TEST_F(Pkcs11ModuleTest, ModuleOutlivesItsSetWhileAStoreHoldsItThenFinalizesOnce) {
  auto store = hsm::generate_pkcs11_key(ref("root-key"), KeyAlgorithm::ecdsa_p384, context());
  next_command();                                           // the set that loaded the module is gone; the store still holds the module
  expect_error(ErrorKind::internal, [this] { module(); });  // still loaded and initialized: a new set is refused
  next_command();
  pki::X509Ptr cert = self_signed(*store, "Held By The Store");
  store.reset();  // the last holder: the module is finalized (C_Finalize) here
  // Finalized: a new module object initializes it afresh (C_Initialize answers CKR_OK).
  hsm::Pkcs11Module fresh(kModule);
  EXPECT_FALSE(hsm::p11::list_tokens(fresh).empty());
}

TEST_F(Pkcs11ModuleTest, OneModuleNamedTwoWaysIsOneObject) {
  const fs::path link = dir() / "softhsm-link.so";
  fs::create_symlink(fs::canonical(kModule), link);
  hsm::Pkcs11Modules modules;
  auto direct = modules.open(kModule, {});
  EXPECT_EQ(modules.open(link.string(), {}), direct);
  EXPECT_EQ(modules.size(), 1u);
  // One module is initialized once, so it cannot take two sets of init_args.
  expect_error(ErrorKind::invalid_input, [&] { modules.open(kModule, "configdir='sql:/nowhere'"); });
}

}  // namespace
}  // namespace meshca::test
