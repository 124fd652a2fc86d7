// `meshca hsm list` data: tokens always, private keys only after a login.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "hsm/pkcs11_inventory.hpp"
#include "hsm/pkcs11_key_store.hpp"
#include "softhsm_fixture.hpp"

namespace meshca::test {
namespace {

using Pkcs11InventoryTest = SoftHsmTest;

const hsm::Pkcs11KeyInfo* find_key(const hsm::Pkcs11TokenListing& token, const std::string& cls) {
  for (const auto& k : token.keys) {
    if (k.object_class == cls) return &k;
  }
  return nullptr;
}

TEST_F(Pkcs11InventoryTest, ListsTokensAndPublicKeysWithoutPin) {
  add_token("second-token");
  hsm::generate_pkcs11_key(ref("root-key"), pki::KeyAlgorithm::ecdsa_p384, context()).reset();
  next_command();  // `hsm list` is another run: keygen's login is gone with its module
  hsm::Pkcs11InventoryRequest request;
  request.module = kModule;
  hsm::Pkcs11Inventory inv = hsm::list_pkcs11(request, context());
  EXPECT_EQ(inv.module, kModule);
  EXPECT_NE(inv.library.find("SoftHSM"), std::string::npos) << inv.library;
  const hsm::Pkcs11TokenListing* acme = nullptr;
  int initialized = 0;
  for (const auto& t : inv.tokens) {
    if (t.label == kTokenLabel) acme = &t;
    initialized += t.token_initialized() ? 1 : 0;
  }
  EXPECT_EQ(initialized, 2);
  ASSERT_NE(acme, nullptr);
  EXPECT_TRUE(acme->login_required());
  EXPECT_TRUE(acme->user_pin_initialized());
  EXPECT_FALSE(acme->user_pin_locked());
  EXPECT_FALSE(acme->logged_in);
  EXPECT_FALSE(acme->serial.empty());
  EXPECT_EQ(find_key(*acme, "private"), nullptr);  // private objects need a login
  const hsm::Pkcs11KeyInfo* pub = find_key(*acme, "public");
  ASSERT_NE(pub, nullptr);
  EXPECT_EQ(pub->label, "root-key");
  EXPECT_EQ(pub->key_type, "EC");
  EXPECT_EQ(pub->ec_curve, "P-384");
}

TEST_F(Pkcs11InventoryTest, ListsPrivateKeyAttributesAfterLogin) {
  std::string id;
  {
    auto store = hsm::generate_pkcs11_key(ref("root-key"), pki::KeyAlgorithm::rsa_2048, context());
    id = hsm::pkcs11_facts(*store)->key_id_hex;
  }
  hsm::Pkcs11InventoryRequest request;
  request.module = kModule;
  request.token = kTokenLabel;
  request.pin = SecretRef{SecretKind::env, kPinEnv};
  hsm::Pkcs11Inventory inv = hsm::list_pkcs11(request, context());
  ASSERT_EQ(inv.tokens.size(), 1u);
  const auto& token = inv.tokens.front();
  EXPECT_TRUE(token.logged_in);
  const hsm::Pkcs11KeyInfo* priv = find_key(token, "private");
  ASSERT_NE(priv, nullptr);
  EXPECT_EQ(priv->label, "root-key");
  EXPECT_EQ(priv->id_hex, id);
  EXPECT_EQ(priv->key_type, "RSA");
  EXPECT_EQ(priv->rsa_bits, 2048u);
  EXPECT_EQ(priv->sensitive, true);
  EXPECT_EQ(priv->extractable, false);
  EXPECT_EQ(priv->always_sensitive, true);
  EXPECT_EQ(priv->never_extractable, true);
  EXPECT_EQ(priv->local, true);
}

TEST_F(Pkcs11InventoryTest, WrongPinAndUnknownTokenAreKeyStoreErrors) {
  ::setenv("MESHCA_WRONG_PIN", "bad-pin-000", 1);
  hsm::Pkcs11InventoryRequest request;
  request.module = kModule;
  request.token = kTokenLabel;
  request.pin = SecretRef{SecretKind::env, "MESHCA_WRONG_PIN"};
  try {
    hsm::list_pkcs11(request, context());
    ADD_FAILURE() << "wrong PIN accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::key_store);
    EXPECT_NE(e.message().find("wrong user PIN"), std::string::npos) << e.message();
    EXPECT_EQ(e.message().find("bad-pin-000"), std::string::npos) << e.message();
  }
  request.token = "nope";
  request.pin.reset();
  try {
    hsm::list_pkcs11(request, context());
    ADD_FAILURE() << "unknown token accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::key_store);
    EXPECT_NE(e.message().find("'acme-root'"), std::string::npos) << e.message();
  }
}

}  // namespace
}  // namespace meshca::test
