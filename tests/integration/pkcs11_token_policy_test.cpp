// What meshca checks about a module and a token before trusting them, against
// a real SoftHSM2 token: the module file's owner and mode, the key's usage
// read back (signing-only), id-only key references, PIN length limits, and the
// facts the transcript gets.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "core/error.hpp"
#include "hsm/pkcs11_key_store.hpp"
#include "hsm/pkcs11_module.hpp"
#include "hsm/pkcs11_module_file.hpp"
#include "softhsm_fixture.hpp"

namespace meshca::test {
namespace {

namespace fs = std::filesystem;
using hsm::KeyPresence;
using pki::KeyAlgorithm;

std::string error_of(const std::function<void()>& fn, ErrorKind want) { return expect_error(want, fn); }

class ModuleTrustTest : public SoftHsmTest {
 protected:
  // A copy of the SoftHSM2 module in a private directory, with `mode`.
  fs::path module_copy(fs::perms mode) {
    fs::path lib = dir() / "lib";
    fs::create_directories(lib);
    fs::permissions(lib, fs::perms::owner_all);
    fs::path copy = lib / "libsofthsm2.so";
    fs::copy_file(fs::canonical(kModule), copy, fs::copy_options::overwrite_existing);
    fs::permissions(copy, mode);
    return copy;
  }
};

TEST_F(ModuleTrustTest, TrustedModuleReportsOwnerModeAndSha256) {
  hsm::ModuleFile f = hsm::check_module_file(kModule);
  EXPECT_EQ(f.owner_name, "root");
  EXPECT_EQ(f.mode & 022u, 0u);
  EXPECT_EQ(f.sha256.size(), 64u);
  EXPECT_EQ(f.resolved, fs::canonical(kModule).string());
  // The copy hashes the same and loads (owned by us, 0700 directory, 0644 file).
  fs::path copy = module_copy(fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                              fs::perms::others_read);
  EXPECT_EQ(hsm::check_module_file(copy.string()).sha256, f.sha256);
}

TEST_F(ModuleTrustTest, WorldWritableModuleIsRefused) {
  fs::path copy = module_copy(fs::perms::owner_read | fs::perms::owner_write | fs::perms::others_write |
                              fs::perms::others_read);
  hsm::Pkcs11KeyRef r = ref("root-key");
  r.module = copy.string();
  std::string msg = error_of([&] { hsm::open_pkcs11_key_store(r, KeyAlgorithm::ecdsa_p256, KeyPresence::create_if_missing, context()); },
                             ErrorKind::key_store);
  EXPECT_NE(msg.find("writable by group or others"), std::string::npos) << msg;
  EXPECT_NE(msg.find("chmod go-w " + copy.string()), std::string::npos) << msg;
}

TEST_F(ModuleTrustTest, GroupWritableDirectoryAboveTheModuleIsRefused) {
  fs::path copy = module_copy(fs::perms::owner_read | fs::perms::owner_write);
  fs::permissions(copy.parent_path(), fs::perms::owner_all | fs::perms::group_all);
  std::string msg = error_of([&] { hsm::check_module_file(copy.string()); }, ErrorKind::key_store);
  EXPECT_NE(msg.find("the directory " + copy.parent_path().string()), std::string::npos) << msg;
}

TEST_F(ModuleTrustTest, ModuleOwnedByAnotherUserIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give the file to another user";
  fs::path copy = module_copy(fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                              fs::perms::others_read);
  ASSERT_EQ(::chown(copy.c_str(), 65534, 65534), 0);
  std::string msg = error_of([&] { hsm::check_module_file(copy.string()); }, ErrorKind::key_store);
  EXPECT_NE(msg.find("is owned by"), std::string::npos) << msg;
  EXPECT_NE(msg.find("chown root:root"), std::string::npos) << msg;
}

TEST_F(ModuleTrustTest, RelativeModulePathIsRefused) {
  std::string msg = error_of([&] { hsm::check_module_file("libsofthsm2.so"); }, ErrorKind::key_store);
  EXPECT_NE(msg.find("must be absolute"), std::string::npos) << msg;
}

TEST_F(SoftHsmTest, GeneratedRootKeyIsSigningOnlyAndFactsSayIt) {
  for (KeyAlgorithm alg : {KeyAlgorithm::ecdsa_p256, KeyAlgorithm::rsa_2048}) {
    std::string label = alg == KeyAlgorithm::rsa_2048 ? "rsa-root" : "ec-root";
    auto store = hsm::generate_pkcs11_key(ref(label), alg, context());
    const hsm::Pkcs11KeyFacts* facts = hsm::pkcs11_facts(*store);
    ASSERT_NE(facts, nullptr);
    EXPECT_EQ(facts->usage.sign, std::optional<bool>(true));
    EXPECT_EQ(facts->usage.decrypt, std::optional<bool>(false));
    EXPECT_EQ(facts->usage.unwrap, std::optional<bool>(false));
    EXPECT_EQ(facts->usage.derive, std::optional<bool>(false));
    EXPECT_EQ(facts->usage.encrypt, std::optional<bool>(false));
    EXPECT_EQ(facts->usage.wrap, std::optional<bool>(false));
    EXPECT_TRUE(facts->usage.signing_only());
    EXPECT_EQ(facts->generation_template, "signing-only");
    auto json = nlohmann::json::parse(store->facts_json());
    EXPECT_EQ(json["module"]["sha256"], hsm::check_module_file(kModule).sha256);
    EXPECT_EQ(json["key"]["signing_only"], true);
    EXPECT_NE(store->description().find("module sha256 " + facts->module_sha256), std::string::npos);
  }
}

TEST_F(SoftHsmTest, IdOnlyReferenceGeneratesThenReusesTheKey) {
  hsm::Pkcs11KeyRef r = ref("");
  r.id_hex = "c0ffee01";
  auto first = hsm::open_pkcs11_key_store(r, KeyAlgorithm::ecdsa_p384, KeyPresence::create_if_missing, context());
  EXPECT_TRUE(first->generated());
  EXPECT_EQ(hsm::pkcs11_facts(*first)->key_id_hex, "c0ffee01");
  EXPECT_EQ(hsm::pkcs11_facts(*first)->key_label, "");
  first.reset();
  auto again = hsm::open_pkcs11_key_store(r, KeyAlgorithm::ecdsa_p384, KeyPresence::must_exist, context());
  EXPECT_FALSE(again->generated());
}

TEST_F(SoftHsmTest, PinOutsideTheTokensLengthLimitsIsNeverSent) {
  // SoftHSM2 accepts 4-255 characters: a 3-character PIN is refused before C_Login.
  hsm::Pkcs11Module& module = *this->module();
  hsm::Pkcs11TokenInfo token = hsm::p11::select_token(module, kTokenLabel, "");
  EXPECT_EQ(token.min_pin_len, 4u);
  std::string msg = error_of([&] { hsm::p11::require_pin_length(module, token, 3); }, ErrorKind::key_store);
  EXPECT_NE(msg.find("NOT sent"), std::string::npos) << msg;
  EXPECT_NE(msg.find("4-255"), std::string::npos) << msg;
  hsm::p11::require_pin_length(module, token, 8);
}

TEST_F(SoftHsmTest, CapabilitiesComeFromTheMechanismList) {
  hsm::Pkcs11Module& module = *this->module();
  hsm::Pkcs11TokenInfo token = hsm::p11::select_token(module, kTokenLabel, "");
  auto list = hsm::p11::mechanisms(module, token.slot_id);
  EXPECT_EQ(hsm::p11::algorithm_list(hsm::p11::supported_algorithms(list, true)),
            "ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096");
  EXPECT_EQ(hsm::p11::detect_vendor(kModule, module.library_description()), hsm::Vendor::softhsm2);
  EXPECT_NE(module.setup_hint().find("SOFTHSM2_CONF"), std::string::npos);
  // A module that is not SoftHSM2 gets no SoftHSM2 hint.
  EXPECT_EQ(hsm::p11::detect_vendor("/usr/lib/x86_64-linux-gnu/pkcs11/libtpm2_pkcs11.so", ""), hsm::Vendor::tpm2);
}

}  // namespace
}  // namespace meshca::test
