// core/hex: the one hex encoder and SHA-256 helper, against published
// vectors (FIPS 180-2 for SHA-256) and the openssl CLI's fingerprint form.
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <string>

#include "core/hex.hpp"
#include "pki/certificate.hpp"
#include "pki/key.hpp"
#include "temp_dir.hpp"

namespace meshca {
namespace {

TEST(Hex, EncodesEveryByteValueBothWays) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  const std::string hex = to_hex(all);
  ASSERT_EQ(hex.size(), 512u);
  EXPECT_EQ(hex.substr(0, 8), "00010203");
  EXPECT_EQ(hex.substr(504), "fcfdfeff");
  EXPECT_EQ(from_hex(hex), all);
  EXPECT_EQ(to_hex_colons(std::string("\x0a\xbc\xff", 3)), "0A:BC:FF");
  EXPECT_EQ(from_hex("0A:bc:FF"), std::string("\x0a\xbc\xff", 3));
  EXPECT_EQ(to_hex(""), "");
  EXPECT_EQ(to_hex_colons(""), "");
}

TEST(Hex, RefusesWhatIsNotHexBytes) {
  EXPECT_EQ(from_hex("abc"), std::nullopt);   // odd number of digits
  EXPECT_EQ(from_hex("0g"), std::nullopt);    // not a hex digit
  EXPECT_EQ(from_hex("0x12"), std::nullopt);  // no prefixes
  EXPECT_EQ(from_hex(""), std::string());
}

TEST(Hex, Sha256MatchesFips180Vectors) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256("abc").size(), 32u);
}

TEST(Hex, FingerprintIsTheOpensslCliForm) {
  // The openssl CLI is the judge of the colon form pki::sha256_fingerprint prints.
  auto key = pki::generate_key(pki::KeyAlgorithm::ecdsa_p256);
  pki::CertificateProfile p;
  p.subject = pki::DistinguishedName::canonical({{"CN", "Hex"}});
  p.not_before = 1'700'000'000;
  p.not_after = 1'800'000'000;
  p.is_ca = true;
  p.key_usage.key_cert_sign = true;
  pki::X509Ptr cert = pki::issue_certificate(p, key.get(), nullptr, key.get());
  test::TempDir dir;
  const auto pem = dir.path() / "cert.pem";
  std::unique_ptr<FILE, int (*)(FILE*)> out(std::fopen(pem.c_str(), "w"), &std::fclose);
  ASSERT_NE(out, nullptr);
  const std::string text = pki::certificate_to_pem(cert.get());
  std::fwrite(text.data(), 1, text.size(), out.get());
  out.reset();
  std::unique_ptr<FILE, int (*)(FILE*)> cli(::popen(("openssl x509 -noout -fingerprint -sha256 -in " + pem.string()).c_str(), "r"),
                                            &::pclose);
  ASSERT_NE(cli, nullptr);
  char line[256] = {};
  ASSERT_NE(std::fgets(line, sizeof line, cli.get()), nullptr);
  std::string printed(line);
  while (!printed.empty() && printed.back() == '\n') printed.pop_back();
  EXPECT_EQ(printed, "sha256 Fingerprint=" + pki::sha256_fingerprint(cert.get()));
}

}  // namespace
}  // namespace meshca
