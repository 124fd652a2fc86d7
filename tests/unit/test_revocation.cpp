// The revocation ledger and the CRLs made from it (ceremony/revocation.hpp,
// pki/crl.hpp): reasons, serial matching, CRL numbers, entries per issuer,
// and a damaged ledger refused with its file named.
#include <gtest/gtest.h>

#include <fstream>

#include "ceremony/revocation.hpp"
#include "core/error.hpp"
#include "pki/certificate.hpp"
#include "pki/crl.hpp"
#include "pki/key.hpp"
#include "pki/pem_scan.hpp"
#include "tests/unit/temp_dir.hpp"

namespace meshca::ceremony {
namespace {

constexpr UnixTime kNow = 1795000000;  // 2026-11-18
constexpr UnixTime kDay = 86400;

pki::X509Ptr self_signed_ca(const std::string& cn, EVP_PKEY* key) {
  pki::CertificateProfile p;
  p.subject = pki::DistinguishedName::canonical({{"CN", cn}, {"O", "Test"}});
  p.not_before = kNow - kDay;
  p.not_after = kNow + 3650 * kDay;
  p.path_len = 1;
  p.key_usage = {.digital_signature = false, .key_cert_sign = true, .crl_sign = true};
  return pki::issue_certificate(p, key, nullptr, key);
}

pki::X509CrlPtr parse_crl(const std::string& pem) {
  auto scan = pki::scan_pem(pem);
  EXPECT_EQ(scan.blocks.size(), 1u);
  return pki::crl_from_der(scan.blocks.front());
}

long crl_number(const X509_CRL* crl) {
  pki::Asn1IntegerPtr n(static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl, NID_crl_number, nullptr, nullptr)));
  return n ? ASN1_INTEGER_get(n.get()) : -1;
}

TEST(Revocation, ReasonsAreRfc5280Names) {
  EXPECT_EQ(pki::parse_revocation_reason("keyCompromise"), pki::RevocationReason::key_compromise);
  EXPECT_EQ(pki::parse_revocation_reason("cessationOfOperation"), pki::RevocationReason::cessation_of_operation);
  EXPECT_FALSE(pki::parse_revocation_reason("certificateHold").has_value());
  EXPECT_FALSE(pki::parse_revocation_reason("KeyCompromise").has_value());
  for (auto r : {pki::RevocationReason::unspecified, pki::RevocationReason::superseded, pki::RevocationReason::privilege_withdrawn}) {
    EXPECT_EQ(pki::parse_revocation_reason(pki::revocation_reason_name(r)), r);
  }
  EXPECT_NE(pki::revocation_reason_choices().find("affiliationChanged"), std::string::npos);
}

TEST(Revocation, SerialsCompareWithoutColonsCaseOrLeadingZeros) {
  EXPECT_TRUE(pki::same_serial("0a:bc", "ABC"));
  EXPECT_TRUE(pki::same_serial("00FF", "ff"));
  EXPECT_FALSE(pki::same_serial("ABC", "ABD"));
}

TEST(Revocation, CrlsListTheIssuersEntriesWithReasonsAndIncreasingNumbers) {
  auto root_key = pki::generate_key(pki::KeyAlgorithm::ecdsa_p256);
  auto root = self_signed_ca("Root", root_key.get());
  auto other_key = pki::generate_key(pki::KeyAlgorithm::ecdsa_p256);
  auto other = self_signed_ca("Other", other_key.get());
  RevocationLedger ledger;
  ledger.revoked.push_back({"root", pki::sha256_fingerprint(root.get()), "0A1B", "CN=x", pki::RevocationReason::key_compromise, kNow - kDay});
  ledger.revoked.push_back({"prod/east", pki::sha256_fingerprint(other.get()), "99", "", pki::RevocationReason::superseded, kNow});
  RevocationPlan plan{.crl = true, .next_update = {.years = 0, .days = 7, .hours = 0}};

  auto first = parse_crl(issue_ledger_crl(ledger, root.get(), root_key.get(), plan, kNow));
  auto second = parse_crl(issue_ledger_crl(ledger, root.get(), root_key.get(), plan, kNow));
  ASSERT_TRUE(first && second);
  EXPECT_EQ(crl_number(first.get()), 1);
  EXPECT_EQ(crl_number(second.get()), 2);
  EXPECT_TRUE(pki::crl_signed_by(first.get(), root.get()));
  EXPECT_EQ(pki::crl_this_update(first.get()), kNow);
  EXPECT_EQ(pki::crl_next_update(first.get()), kNow + 7 * kDay);

  STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(first.get());
  ASSERT_EQ(sk_X509_REVOKED_num(revoked), 1);  // only the root's entry
  const X509_REVOKED* entry = sk_X509_REVOKED_value(revoked, 0);
  EXPECT_EQ(ASN1_INTEGER_get(X509_REVOKED_get0_serialNumber(entry)), 0x0A1B);
  pki::Ptr<ASN1_ENUMERATED> reason(static_cast<ASN1_ENUMERATED*>(X509_REVOKED_get_ext_d2i(entry, NID_crl_reason, nullptr, nullptr)));
  ASSERT_TRUE(reason);
  EXPECT_EQ(ASN1_ENUMERATED_get(reason.get()), 1);  // keyCompromise

  auto others = parse_crl(issue_ledger_crl(ledger, other.get(), other_key.get(), plan, kNow));
  EXPECT_EQ(crl_number(others.get()), 1);  // numbered per issuer
  EXPECT_EQ(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(others.get())), 1);
}

TEST(Revocation, LedgerRoundTripsThroughItsFile) {
  test::TempDir dir;
  RevocationLedger ledger;
  ledger.revoked.push_back({"root", "AA:BB", "0A1B", "CN=x", pki::RevocationReason::ca_compromise, kNow});
  ledger.crl_numbers["AA:BB"] = 4;
  ledger.save(dir.path());
  auto back = RevocationLedger::load(dir.path());
  ASSERT_EQ(back.revoked.size(), 1u);
  EXPECT_EQ(back.revoked[0].serial, "0A1B");
  EXPECT_EQ(back.revoked[0].reason, pki::RevocationReason::ca_compromise);
  EXPECT_EQ(back.revoked[0].revoked_at, kNow);
  EXPECT_EQ(back.crl_numbers["AA:BB"], 4);
  EXPECT_NE(back.find("AA:BB", "a1b"), nullptr);
  EXPECT_EQ(back.find("AA:BC", "a1b"), nullptr);
  EXPECT_TRUE(RevocationLedger::load(dir.path() / "missing").revoked.empty());
}

TEST(Revocation, DamagedLedgerIsInvalidInputNamingTheFile) {
  test::TempDir dir;
  for (const char* text : {"{not json", R"({"version": 2, "crl_numbers": {}, "revoked": []})",
                           R"({"version": 1, "crl_numbers": {}, "revoked": [{"issuer": "root"}]})",
                           R"({"version": 1, "crl_numbers": {}, "revoked": [{"issuer": "root", "issuer_sha256": "A",
                               "serial": "1", "reason": "certificateHold", "revoked_at": "2026-01-01T00:00:00Z"}]})"}) {
    std::ofstream(dir.path() / kRevocationLedgerFile) << text;
    try {
      RevocationLedger::load(dir.path());
      ADD_FAILURE() << "accepted: " << text;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::invalid_input);
      EXPECT_NE(std::string(e.what()).find(kRevocationLedgerFile), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace meshca::ceremony
