// Certificate signing requests (pki/csr.hpp): what a pinned cluster key
// contributes, and every way a CSR is refused.
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "core/error.hpp"
#include "pki/csr.hpp"
#include "pki/pem_scan.hpp"

namespace meshca::pki {
namespace {

std::string error_of(std::string_view pem) {
  try {
    (void)read_csr(pem, "test.csr");
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_input);
    return e.what();
  }
  return "";
}

const DistinguishedName kSubject = DistinguishedName::canonical({{"CN", "east Intermediate CA"}, {"O", "Acme"}});

TEST(Csr, ARequestGivesItsKeyAndTheSameSpkiPinAsTheKey) {
  for (auto alg : {KeyAlgorithm::ecdsa_p256, KeyAlgorithm::ecdsa_p384, KeyAlgorithm::rsa_2048}) {
    auto key = generate_key(alg);
    auto csr = read_csr(make_csr_pem(key.get(), kSubject), "test.csr");
    EXPECT_EQ(csr.algorithm, alg);
    EXPECT_EQ(csr.spki_sha256, spki_sha256(key.get()));
    EXPECT_EQ(csr.spki_sha256.size(), 64u);
    EXPECT_EQ(EVP_PKEY_eq(csr.public_key.get(), key.get()), 1);
  }
}

TEST(Csr, PinsAreNormalisedToLowercaseHex) {
  const std::string hex(64, 'a');
  EXPECT_EQ(normalize_spki_pin(hex), hex);
  EXPECT_EQ(normalize_spki_pin(std::string(64, 'A')), hex);
  std::string colons;
  for (int i = 0; i < 32; ++i) colons += std::string(i ? ":" : "") + "AA";
  EXPECT_EQ(normalize_spki_pin(colons), hex);
  EXPECT_FALSE(normalize_spki_pin(std::string(63, 'a')));
  EXPECT_FALSE(normalize_spki_pin(std::string(64, 'g')));
  EXPECT_FALSE(normalize_spki_pin(":" + std::string(64, 'a')));
  EXPECT_FALSE(normalize_spki_pin(""));
}

TEST(Csr, ABrokenSignatureIsNoProofOfPossession) {
  auto key = generate_key(KeyAlgorithm::ecdsa_p256);
  std::string pem = make_csr_pem(key.get(), kSubject);
  auto scan = scan_pem(pem);
  ASSERT_EQ(scan.blocks.size(), 1u);
  std::string der(scan.blocks[0].der.view());
  der.back() = static_cast<char>(der.back() ^ 1);  // inside the signature
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509ReqPtr req(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
  ASSERT_TRUE(req);
  auto bio = memory_bio();
  ASSERT_EQ(PEM_write_bio_X509_REQ(bio.get(), req.get()), 1);
  EXPECT_NE(error_of(bio_contents(bio.get())).find("signature does not verify"), std::string::npos);
}

TEST(Csr, KeysMeshcaDoesNotAcceptAreRefusedByName) {
  PKeyPtr rsa1024(EVP_RSA_gen(1024));
  ASSERT_TRUE(rsa1024);
  EXPECT_NE(error_of(make_csr_pem(rsa1024.get(), kSubject)).find("RSA 1024, which meshca does not accept"), std::string::npos);
  PKeyPtr p224(EVP_EC_gen("P-224"));
  ASSERT_TRUE(p224);
  EXPECT_NE(error_of(make_csr_pem(p224.get(), kSubject)).find("which meshca does not accept"), std::string::npos);
}

TEST(Csr, OnlyOneCleanRequestBlockIsAccepted) {
  auto key = generate_key(KeyAlgorithm::ecdsa_p256);
  const std::string pem = make_csr_pem(key.get(), kSubject);
  EXPECT_NE(error_of("").find("no CERTIFICATE REQUEST"), std::string::npos);
  EXPECT_NE(error_of(pem + pem).find("2 CERTIFICATE REQUEST blocks"), std::string::npos);
  EXPECT_NE(error_of(pem.substr(0, pem.size() / 2)).find("line 1"), std::string::npos);  // truncated
  EXPECT_NE(error_of("junk\n" + pem).find("line 1"), std::string::npos);
  EXPECT_NE(error_of(std::string(private_key_to_pkcs8_pem(key.get()).view())).find("a PRIVATE KEY block"), std::string::npos);
  // A missing final newline is harmless in a file meshca only reads.
  EXPECT_NO_THROW((void)read_csr(pem.substr(0, pem.size() - 1), "test.csr"));
}

}  // namespace
}  // namespace meshca::pki
