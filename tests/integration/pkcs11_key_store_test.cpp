// Pkcs11KeyStore against a real SoftHSM2 token: generation inside the token,
// signing certificates, the attributes that keep the key in the token, and
// every error an operator can run into.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "core/error.hpp"
#include "core/hex.hpp"
#include "hsm/pkcs11_key_store.hpp"
#include "hsm/pkcs11_module.hpp"
#include "hsm/pkcs11_uri.hpp"
#include "pki/certificate.hpp"
#include "pki/key.hpp"
#include "pki/verify.hpp"
#include "softhsm_fixture.hpp"

namespace meshca::test {
namespace {

using hsm::KeyPresence;
using pki::KeyAlgorithm;

pki::CertificateProfile ca_profile(const std::string& cn, int path_len) {
  pki::CertificateProfile p;
  p.subject = pki::DistinguishedName::canonical({{"O", "Acme Corp"}, {"CN", cn}});
  p.not_before = now_utc() - 60;
  p.not_after = now_utc() + 365LL * 24 * 3600;
  p.is_ca = true;
  p.path_len = path_len;
  p.key_usage.key_cert_sign = true;
  p.key_usage.crl_sign = true;
  p.key_usage.digital_signature = path_len == 0;
  return p;
}

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

class KeygenTest : public SoftHsmTest, public ::testing::WithParamInterface<KeyAlgorithm> {};

// Generates a key of each algorithm in the token, signs a root and an
// intermediate certificate with it and checks both with our code and the
// openssl CLI. (The RSA-4096 case is the only RSA-4096 generation.)
TEST_P(KeygenTest, GeneratesSignsAndVerifies) {
  const KeyAlgorithm alg = GetParam();
  auto store = hsm::generate_pkcs11_key(ref("root-key"), alg, context());
  ASSERT_TRUE(store);
  EXPECT_TRUE(store->generated());
  EXPECT_EQ(store->algorithm(), alg);
  EXPECT_EQ(pki::key_algorithm_of(store->public_key()), alg);

  const hsm::Pkcs11KeyFacts* facts = hsm::pkcs11_facts(*store);
  ASSERT_NE(facts, nullptr);
  EXPECT_TRUE(facts->sensitive);
  EXPECT_FALSE(facts->extractable);
  EXPECT_TRUE(facts->always_sensitive);
  EXPECT_TRUE(facts->never_extractable);
  EXPECT_EQ(facts->key_label, "root-key");
  EXPECT_EQ(facts->key_id_hex.size(), 32u);  // 16 random bytes
  EXPECT_EQ(facts->token.label, kTokenLabel);

  const std::string description = store->description();
  EXPECT_NE(description.find("PKCS#11 token 'acme-root'"), std::string::npos) << description;
  EXPECT_NE(description.find("key 'root-key' id " + facts->key_id_hex), std::string::npos) << description;
  EXPECT_NE(description.find("never extractable"), std::string::npos) << description;
  EXPECT_NE(description.find(pki::describe_key(store->public_key())), std::string::npos) << description;

  pki::X509Ptr root = pki::issue_certificate(ca_profile("Test Root", 1), store->public_key(), nullptr,
                                             store->signing_key());
  ASSERT_TRUE(root);
  EXPECT_TRUE(pki::signed_by(root.get(), root.get()));
  EXPECT_TRUE(pki::key_matches_certificate(store->public_key(), root.get()));

  pki::PKeyPtr intermediate_key = pki::generate_key(KeyAlgorithm::ecdsa_p256);
  pki::X509Ptr intermediate = pki::issue_certificate(ca_profile("Test Intermediate", 0), intermediate_key.get(),
                                                     root.get(), store->signing_key());
  EXPECT_TRUE(pki::signed_by(intermediate.get(), root.get()));
  pki::ChainVerdict verdict = pki::verify_chain(intermediate.get(), {}, {root.get()});
  EXPECT_TRUE(verdict.ok) << verdict.error;

  write_text(dir() / "root.pem", pki::certificate_to_pem(root.get()));
  write_text(dir() / "intermediate.pem", pki::certificate_to_pem(intermediate.get()));
  const std::string ca = shell_quote((dir() / "root.pem").string());
  CommandResult r = run_command("openssl verify -x509_strict -CAfile " + ca + " " + ca + " " +
                                shell_quote((dir() / "intermediate.pem").string()));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("root.pem: OK"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("intermediate.pem: OK"), std::string::npos) << r.output;
}

INSTANTIATE_TEST_SUITE_P(AllAlgorithms, KeygenTest,
                         ::testing::Values(KeyAlgorithm::ecdsa_p256, KeyAlgorithm::ecdsa_p384, KeyAlgorithm::rsa_2048,
                                           KeyAlgorithm::rsa_3072, KeyAlgorithm::rsa_4096),
                         [](const ::testing::TestParamInfo<KeyAlgorithm>& param) {
                           std::string name(pki::key_algorithm_name(param.param));
                           for (char& c : name) {
                             if (c == '-') c = '_';
                           }
                           return name;
                         });

using Pkcs11KeyStoreTest = SoftHsmTest;

TEST_F(Pkcs11KeyStoreTest, PkcsToolSeesSensitiveNeverExtractableKey) {
  hsm::generate_pkcs11_key(ref("root-2026"), KeyAlgorithm::ecdsa_p384, context()).reset();
  CommandResult r = run_command("pkcs11-tool --module " + shell_quote(kModule) + " --token-label " +
                                shell_quote(kTokenLabel) + " --login --pin " + shell_quote(kUserPin) +
                                " --list-objects --type privkey");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("root-2026"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("never extractable"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("sensitive"), std::string::npos) << r.output;
}

TEST_F(Pkcs11KeyStoreTest, PrivateKeyValueCannotBeRead) {
  std::string id_hex;
  {
    auto store = hsm::generate_pkcs11_key(ref("root-key"), KeyAlgorithm::ecdsa_p256, context());
    id_hex = hsm::pkcs11_facts(*store)->key_id_hex;
  }
  hsm::Pkcs11Module& module = *this->module();
  hsm::Pkcs11TokenInfo token = hsm::p11::select_token(module, kTokenLabel, "");
  hsm::p11::Session session(module, token.slot_id, false);
  session.login(SecureBuffer(kUserPin), module, token);
  auto keys = session.find_keys(CKO_PRIVATE_KEY, "root-key");
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(to_hex(keys[0].id), id_hex);
  EXPECT_EQ(keys[0].sensitive, true);
  EXPECT_EQ(keys[0].extractable, false);
  CK_RV rv = CKR_OK;
  EXPECT_FALSE(session.bytes(keys[0].handle, CKA_VALUE, &rv).has_value());
  EXPECT_EQ(rv, CKR_ATTRIBUTE_SENSITIVE) << hsm::p11::rv_name(rv);
}

TEST_F(Pkcs11KeyStoreTest, ReopenLoadsTheSameKey) {
  std::string der;
  std::string id;
  {
    auto created = hsm::open_pkcs11_key_store(ref("root-key"), KeyAlgorithm::ecdsa_p384,
                                              KeyPresence::create_if_missing, context());
    EXPECT_TRUE(created->generated());
    der = pki::public_key_der(created->public_key());
    id = hsm::pkcs11_facts(*created)->key_id_hex;
  }
  auto loaded = hsm::open_pkcs11_key_store(ref("root-key"), KeyAlgorithm::ecdsa_p384, KeyPresence::must_exist,
                                           context());
  EXPECT_FALSE(loaded->generated());
  EXPECT_EQ(pki::public_key_der(loaded->public_key()), der);
  EXPECT_EQ(hsm::pkcs11_facts(*loaded)->key_id_hex, id);
  loaded.reset();

  // create_if_missing finds the key and does not generate another one.
  auto again = hsm::open_pkcs11_key_store(ref("root-key"), KeyAlgorithm::ecdsa_p384, KeyPresence::create_if_missing,
                                          context());
  EXPECT_FALSE(again->generated());
  EXPECT_EQ(pki::public_key_der(again->public_key()), der);
  // And it still signs.
  pki::X509Ptr root = pki::issue_certificate(ca_profile("Root", 1), again->public_key(), nullptr, again->signing_key());
  EXPECT_TRUE(pki::signed_by(root.get(), root.get()));
}

TEST_F(Pkcs11KeyStoreTest, TwoStoresOnOneTokenAtOnce) {
  // The old and the new root of a rotation: closing one store must not log
  // out or finalize the other.
  auto old_root = hsm::generate_pkcs11_key(ref("root-2025"), KeyAlgorithm::ecdsa_p384, context());
  auto new_root = hsm::generate_pkcs11_key(ref("root-2026"), KeyAlgorithm::rsa_2048, context());
  pki::X509Ptr old_cert =
      pki::issue_certificate(ca_profile("Old Root", 1), old_root->public_key(), nullptr, old_root->signing_key());
  old_root.reset();
  pki::X509Ptr new_cert =
      pki::issue_certificate(ca_profile("New Root", 1), new_root->public_key(), nullptr, new_root->signing_key());
  EXPECT_TRUE(pki::signed_by(old_cert.get(), old_cert.get()));
  EXPECT_TRUE(pki::signed_by(new_cert.get(), new_cert.get()));
  // Cross-sign the old root's key with the new root: both keys in use together.
  auto reopened = hsm::open_pkcs11_key_store(ref("root-2025"), KeyAlgorithm::ecdsa_p384, KeyPresence::must_exist,
                                             context());
  pki::X509Ptr cross = pki::issue_certificate(ca_profile("Old Root", 1), reopened->public_key(), new_cert.get(),
                                              new_root->signing_key());
  EXPECT_TRUE(pki::signed_by(cross.get(), new_cert.get()));
  new_root.reset();
  pki::X509Ptr again =
      pki::issue_certificate(ca_profile("Old Root", 1), reopened->public_key(), nullptr, reopened->signing_key());
  EXPECT_TRUE(pki::signed_by(again.get(), old_cert.get()));
}

TEST_F(Pkcs11KeyStoreTest, OpensByIdAloneAndByUri) {
  std::string id;
  std::string der;
  {
    auto created = hsm::generate_pkcs11_key(ref("root-key"), KeyAlgorithm::rsa_2048, context());
    id = hsm::pkcs11_facts(*created)->key_id_hex;
    der = pki::public_key_der(created->public_key());
  }
  hsm::Pkcs11KeyRef by_id = ref("");
  by_id.id_hex = id;
  auto store = hsm::open_pkcs11_key_store(by_id, KeyAlgorithm::rsa_2048, KeyPresence::must_exist, context());
  EXPECT_EQ(pki::public_key_der(store->public_key()), der);
  store.reset();

  hsm::Pkcs11KeyRef from_uri = hsm::parse_pkcs11_uri("pkcs11:token=acme-root;object=root-key;type=private?module-path=" +
                                                     std::string(kModule));
  from_uri.pin = SecretRef{SecretKind::env, kPinEnv};
  store = hsm::open_pkcs11_key_store(from_uri, KeyAlgorithm::rsa_2048, KeyPresence::must_exist, context());
  EXPECT_EQ(pki::public_key_der(store->public_key()), der);
}

TEST_F(Pkcs11KeyStoreTest, PinFromFile) {
  const auto pin_file = dir() / "pin";
  write_text(pin_file, std::string(kUserPin) + "\n");
  std::filesystem::permissions(pin_file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  hsm::Pkcs11KeyRef r = ref("root-key");
  r.pin = SecretRef{SecretKind::file, "pin"};  // relative to the context's base dir
  auto store = hsm::generate_pkcs11_key(r, KeyAlgorithm::ecdsa_p256, context());
  EXPECT_TRUE(store->generated());
}

TEST_F(Pkcs11KeyStoreTest, WrongPinIsReportedOnceWithoutThePin) {
  hsm::generate_pkcs11_key(ref("root-key"), KeyAlgorithm::ecdsa_p256, context()).reset();
  next_command();  // a new run logs in again
  ::setenv("MESHCA_WRONG_PIN", "0000-wrong", 1);
  hsm::Pkcs11KeyRef r = ref("root-key");
  r.pin = SecretRef{SecretKind::env, "MESHCA_WRONG_PIN"};
  std::string msg = expect_error(ErrorKind::key_store,
                                 [&] { hsm::open_pkcs11_key_store(r, KeyAlgorithm::ecdsa_p256, KeyPresence::must_exist, context()); });
  EXPECT_NE(msg.find("wrong user PIN"), std::string::npos) << msg;
  EXPECT_NE(msg.find("acme-root"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("0000-wrong"), std::string::npos) << msg;
  // The right PIN still works afterwards (nothing got locked by a retry loop).
  auto store = hsm::open_pkcs11_key_store(ref("root-key"), KeyAlgorithm::ecdsa_p256, KeyPresence::must_exist,
                                          context());
  EXPECT_FALSE(store->generated());
}

TEST_F(Pkcs11KeyStoreTest, MissingPinVariableIsKeyStoreError) {
  ::unsetenv("MESHCA_UNSET_PIN");
  hsm::Pkcs11KeyRef r = ref("root-key");
  r.pin = SecretRef{SecretKind::env, "MESHCA_UNSET_PIN"};
  std::string msg = expect_error(ErrorKind::key_store, [&] { hsm::generate_pkcs11_key(r, KeyAlgorithm::ecdsa_p256, context()); });
  EXPECT_NE(msg.find("MESHCA_UNSET_PIN"), std::string::npos) << msg;
}

TEST_F(Pkcs11KeyStoreTest, UnknownTokenListsTheTokensPresent) {
  add_token("second-token");
  hsm::Pkcs11KeyRef r = ref("root-key");
  r.token = "no-such-token";
  std::string msg = expect_error(ErrorKind::key_store,
                                 [&] { hsm::open_pkcs11_key_store(r, KeyAlgorithm::ecdsa_p256, KeyPresence::must_exist, context()); });
  EXPECT_NE(msg.find("no-such-token"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'acme-root'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'second-token'"), std::string::npos) << msg;
}

TEST_F(Pkcs11KeyStoreTest, TokenFoundBySerial) {
  add_token("second-token");
  hsm::Pkcs11TokenInfo second = hsm::p11::select_token(*module(), "second-token", "");
  hsm::Pkcs11KeyRef r = ref("root-key");
  r.token.clear();
  r.serial = second.serial;
  auto store = hsm::generate_pkcs11_key(r, KeyAlgorithm::ecdsa_p256, context());
  EXPECT_EQ(hsm::pkcs11_facts(*store)->token.label, "second-token");
}

TEST_F(Pkcs11KeyStoreTest, MissingModuleIsKeyStoreError) {
  hsm::Pkcs11KeyRef r = ref("root-key");
  r.module = (dir() / "no-such-module.so").string();
  std::string msg = expect_error(ErrorKind::key_store,
                                 [&] { hsm::open_pkcs11_key_store(r, KeyAlgorithm::ecdsa_p256, KeyPresence::must_exist, context()); });
  EXPECT_NE(msg.find("module not found"), std::string::npos) << msg;
}

TEST_F(Pkcs11KeyStoreTest, FileThatIsNotALibraryIsKeyStoreError) {
  hsm::Pkcs11KeyRef r = ref("root-key");
  r.module = (dir() / "softhsm2.conf").string();
  std::string msg = expect_error(ErrorKind::key_store,
                                 [&] { hsm::open_pkcs11_key_store(r, KeyAlgorithm::ecdsa_p256, KeyPresence::must_exist, context()); });
  EXPECT_NE(msg.find("cannot load the PKCS#11 module"), std::string::npos) << msg;
}

TEST_F(Pkcs11KeyStoreTest, LibraryWithoutPkcs11EntryPointIsKeyStoreError) {
  // libp11 is a shared library but not a PKCS#11 module.
  const std::filesystem::path candidates[] = {"/usr/lib/x86_64-linux-gnu/libp11.so.3", "/usr/lib/aarch64-linux-gnu/libp11.so.3"};
  for (const auto& lib : candidates) {
    if (!std::filesystem::exists(lib)) continue;
    hsm::Pkcs11KeyRef r = ref("root-key");
    r.module = lib.string();
    std::string msg = expect_error(ErrorKind::key_store,
                                   [&] { hsm::open_pkcs11_key_store(r, KeyAlgorithm::ecdsa_p256, KeyPresence::must_exist, context()); });
    EXPECT_NE(msg.find("not a PKCS#11 module"), std::string::npos) << msg;
    return;
  }
  GTEST_SKIP() << "libp11.so.3 not found at the usual path";
}

TEST_F(Pkcs11KeyStoreTest, KeygenRefusesAnExistingLabel) {
  hsm::generate_pkcs11_key(ref("root-key"), KeyAlgorithm::ecdsa_p256, context()).reset();
  std::string msg =
      expect_error(ErrorKind::key_store, [&] { hsm::generate_pkcs11_key(ref("root-key"), KeyAlgorithm::ecdsa_p256, context()); });
  EXPECT_NE(msg.find("already exists"), std::string::npos) << msg;
  // Still exactly one key pair with that label.
  hsm::Pkcs11Module& module = *this->module();
  hsm::Pkcs11TokenInfo token = hsm::p11::select_token(module, kTokenLabel, "");
  hsm::p11::Session session(module, token.slot_id, false);
  session.login(SecureBuffer(kUserPin), module, token);
  EXPECT_EQ(session.find_keys(CKO_PRIVATE_KEY, "root-key").size(), 1u);
  EXPECT_EQ(session.find_keys(CKO_PUBLIC_KEY, "root-key").size(), 1u);
}

TEST_F(Pkcs11KeyStoreTest, WrongAlgorithmNamesBoth) {
  hsm::generate_pkcs11_key(ref("root-key"), KeyAlgorithm::ecdsa_p256, context()).reset();
  for (KeyPresence presence : {KeyPresence::must_exist, KeyPresence::create_if_missing}) {
    std::string msg = expect_error(ErrorKind::key_store,
                                   [&] { hsm::open_pkcs11_key_store(ref("root-key"), KeyAlgorithm::ecdsa_p384, presence, context()); });
    EXPECT_NE(msg.find("ecdsa-p256"), std::string::npos) << msg;
    EXPECT_NE(msg.find("ecdsa-p384"), std::string::npos) << msg;
  }
}

TEST_F(Pkcs11KeyStoreTest, MissingKeyListsTheKeysPresent) {
  hsm::generate_pkcs11_key(ref("other-key"), KeyAlgorithm::ecdsa_p256, context()).reset();
  std::string msg = expect_error(ErrorKind::key_store, [&] {
    hsm::open_pkcs11_key_store(ref("root-key"), KeyAlgorithm::ecdsa_p256, KeyPresence::must_exist, context());
  });
  EXPECT_NE(msg.find("no private key labelled 'root-key'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'other-key'"), std::string::npos) << msg;
}

TEST_F(Pkcs11KeyStoreTest, AmbiguousLabelIsRefusedUnlessIdPicksOne) {
  // Two key pairs under one label (made directly through the module).
  const std::string id_a("\x0a\x01", 2);
  const std::string id_b("\x0b\x02", 2);
  {
    hsm::Pkcs11Module& module = *this->module();
    hsm::Pkcs11TokenInfo token = hsm::p11::select_token(module, kTokenLabel, "");
    hsm::p11::Session session(module, token.slot_id, true);
    session.login(SecureBuffer(kUserPin), module, token);
    hsm::p11::generate_key_pair(session, KeyAlgorithm::ecdsa_p256, "twin", id_a, false);
    hsm::p11::generate_key_pair(session, KeyAlgorithm::ecdsa_p256, "twin", id_b, false);
  }
  std::string msg = expect_error(
      ErrorKind::key_store, [&] { hsm::open_pkcs11_key_store(ref("twin"), KeyAlgorithm::ecdsa_p256, KeyPresence::must_exist, context()); });
  EXPECT_NE(msg.find("2 private keys match"), std::string::npos) << msg;
  EXPECT_NE(msg.find("0a01"), std::string::npos) << msg;
  EXPECT_NE(msg.find("0b02"), std::string::npos) << msg;

  hsm::Pkcs11KeyRef r = ref("twin");
  r.id_hex = "0b02";
  auto store = hsm::open_pkcs11_key_store(r, KeyAlgorithm::ecdsa_p256, KeyPresence::must_exist, context());
  EXPECT_EQ(hsm::pkcs11_facts(*store)->key_id_hex, "0b02");
}

TEST_F(Pkcs11KeyStoreTest, ExtractableKeyIsRefused) {
  // pkcs11-tool --extractable makes a key meshca must not sign with.
  CommandResult r = run_command("pkcs11-tool --module " + shell_quote(kModule) + " --token-label " +
                                shell_quote(kTokenLabel) + " --login --pin " + shell_quote(kUserPin) +
                                " --keypairgen --key-type EC:prime256v1 --label weak-key --id 77 --extractable");
  ASSERT_EQ(r.status, 0) << r.output;
  std::string msg = expect_error(ErrorKind::key_store, [&] {
    hsm::open_pkcs11_key_store(ref("weak-key"), KeyAlgorithm::ecdsa_p256, KeyPresence::must_exist, context());
  });
  EXPECT_NE(msg.find("'weak-key' (id 77) is extractable"), std::string::npos) << msg;
}

TEST_F(Pkcs11KeyStoreTest, MismatchedPublicKeyIsCaught) {
  // A private key whose public key object (same id) belongs to another pair:
  // the self-test signature must fail before anything is signed.
  {
    hsm::Pkcs11Module& module = *this->module();
    hsm::Pkcs11TokenInfo token = hsm::p11::select_token(module, kTokenLabel, "");
    hsm::p11::Session session(module, token.slot_id, true);
    session.login(SecureBuffer(kUserPin), module, token);
    auto first = hsm::p11::generate_key_pair(session, KeyAlgorithm::ecdsa_p256, "mixed", std::string("\x01", 1), false);
    auto second = hsm::p11::generate_key_pair(session, KeyAlgorithm::ecdsa_p256, "decoy", std::string("\x02", 1), false);
    // Give the decoy public key the id of the first pair and drop the real one.
    std::string id("\x01", 1);
    CK_ATTRIBUTE attr{CKA_ID, id.data(), id.size()};
    ASSERT_EQ(session.fn()->C_SetAttributeValue(session.handle(), second.handles.public_key, &attr, 1), CKR_OK);
    ASSERT_EQ(session.fn()->C_DestroyObject(session.handle(), first.handles.public_key), CKR_OK);
    ASSERT_EQ(session.fn()->C_DestroyObject(session.handle(), second.handles.private_key), CKR_OK);
  }
  std::string msg = expect_error(ErrorKind::key_store, [&] {
    hsm::open_pkcs11_key_store(ref("mixed"), KeyAlgorithm::ecdsa_p256, KeyPresence::must_exist, context());
  });
  EXPECT_NE(msg.find("mismatched"), std::string::npos) << msg;
}

TEST_F(Pkcs11KeyStoreTest, MalformedReferencesAreInvalidInput) {
  hsm::Pkcs11KeyRef no_module = ref("root-key");
  no_module.module.clear();
  expect_error(ErrorKind::invalid_input,
               [&] { hsm::open_pkcs11_key_store(no_module, KeyAlgorithm::ecdsa_p256, KeyPresence::must_exist, context()); });
  hsm::Pkcs11KeyRef bad_id = ref("root-key");
  bad_id.id_hex = "xyz";
  expect_error(ErrorKind::invalid_input,
               [&] { hsm::open_pkcs11_key_store(bad_id, KeyAlgorithm::ecdsa_p256, KeyPresence::must_exist, context()); });
  expect_error(ErrorKind::invalid_input, [&] { hsm::generate_pkcs11_key(ref(""), KeyAlgorithm::ecdsa_p256, context()); });
}

}  // namespace
}  // namespace meshca::test
