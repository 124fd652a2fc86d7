// The renewal rule shared by plan show and check-expiry (plan/expiry.hpp),
// and check-expiry's report over the certificates it read
// (ceremony/expiry_check.hpp).
#include <gtest/gtest.h>

#include "ceremony/expiry_check.hpp"
#include "pki/certificate.hpp"
#include "pki/key.hpp"
#include "plan/expiry.hpp"
#include "tests/unit/time_support.hpp"

namespace meshca::ceremony {
namespace {

using test::at;
constexpr std::int64_t kDay = 86400;
constexpr std::int64_t kYear = 365 * kDay;

TEST(Expiry, IntermediateRenewsAtTwoThirdsOfItsLife) {
  UnixTime nb = at("2026-01-01T00:00:00Z");
  EXPECT_EQ(intermediate_renew_by(nb, nb + 360 * kDay), nb + 240 * kDay);
  EXPECT_EQ(intermediate_renew_by(nb, nb + 3 * kYear), nb + 2 * kYear);
}

TEST(Expiry, IntermediateRenewsAtTheLatestThirtyDaysBeforeNotAfter) {
  UnixTime nb = at("2026-01-01T00:00:00Z");
  // 60 days: a third would be 20 days, the 30-day margin wins.
  EXPECT_EQ(intermediate_renew_by(nb, nb + 60 * kDay), nb + 30 * kDay);
  // Shorter than the margin: due at once, never before notBefore.
  EXPECT_EQ(intermediate_renew_by(nb, nb + kDay), nb);
}

TEST(Expiry, RootRotatesAtTwoThirdsAndAYearBeforeNotAfterAtTheLatest) {
  UnixTime nb = at("2026-01-01T00:00:00Z");
  // A 30-year root: at two thirds of its life.
  EXPECT_EQ(root_rotate_by(nb, nb + 30 * kYear), nb + 20 * kYear);
  // A 2-year root: never later than one year before notAfter.
  EXPECT_EQ(root_rotate_by(nb, nb + 2 * kYear), nb + kYear);
  // A root shorter than a year is due at once.
  EXPECT_EQ(root_rotate_by(nb, nb + 300 * kDay), nb);
}

TEST(Expiry, CrlRefreshesAtTwoThirdsOfItsPeriodAndADayBeforeNextUpdateAtTheLatest) {
  UnixTime tu = at("2026-01-01T00:00:00Z");
  EXPECT_EQ(crl_refresh_by(tu, tu + 30 * kDay), tu + 20 * kDay);
  EXPECT_EQ(crl_refresh_by(tu, tu + 2 * kDay), tu + kDay);
  EXPECT_EQ(crl_refresh_by(tu, tu + 3600), tu);
}

TEST(Expiry, StatusOrdersExpiredExpiringRenewOk) {
  UnixTime now = at("2026-06-01T00:00:00Z");
  UnixTime horizon = now + 30 * kDay;
  EXPECT_EQ(expiry_status(now, horizon, now - kDay, now), ExpiryStatus::expired);
  EXPECT_EQ(expiry_status(now, horizon, now - kDay, now + 10 * kDay), ExpiryStatus::expiring);
  EXPECT_EQ(expiry_status(now, horizon, now - kDay, now + 100 * kDay), ExpiryStatus::renew);
  EXPECT_EQ(expiry_status(now, horizon, now + kDay, now + 100 * kDay), ExpiryStatus::ok);
  EXPECT_EQ(expiry_status_name(ExpiryStatus::renew), "RENEW");
}

pki::CertificateProfile ca_profile(const std::string& cn, int path_len, UnixTime from, UnixTime until) {
  pki::CertificateProfile p;
  p.subject = pki::DistinguishedName::canonical({{"CN", cn}});
  p.not_before = from;
  p.not_after = until;
  p.path_len = path_len;
  p.key_usage = {.digital_signature = path_len == 0, .key_cert_sign = true, .crl_sign = true};
  return p;
}

// The root and an intermediate of one bundle, each once, with its role, due
// date and status from the rule above.
TEST(ExpiryCheck, EachCertificateOnceWithItsRoleDateAndStatus) {
  const UnixTime nb = at("2026-01-01T00:00:00Z");
  auto root_key = pki::generate_key(pki::KeyAlgorithm::ecdsa_p256);
  auto root = pki::issue_certificate(ca_profile("Root", 1, nb, nb + 3000 * kDay), root_key.get(), nullptr, root_key.get());
  auto inter_key = pki::generate_key(pki::KeyAlgorithm::ecdsa_p256);
  auto inter = pki::issue_certificate(ca_profile("Inter", 0, nb, nb + 360 * kDay), inter_key.get(), root.get(), root_key.get());
  verify::BundleSource source;
  source.label = "mem";
  source.kind = "directory";
  source.files["cert-chain.pem"].display = "mem/cert-chain.pem";
  source.files["cert-chain.pem"].bytes.append(pki::certificate_to_pem(inter.get()) + pki::certificate_to_pem(root.get()));
  source.files["root-cert.pem"].display = "mem/root-cert.pem";
  source.files["root-cert.pem"].bytes.append(pki::certificate_to_pem(root.get()));
  verify::CertificateInventory inventory;
  inventory.add(source);

  const auto report = check_expiry(inventory, nb + 250 * kDay, Duration{0, 30, 0});
  ASSERT_EQ(report.items.size(), 2u);
  const auto& i = report.items[0];
  EXPECT_EQ(i.role, ExpiryRole::intermediate);
  EXPECT_EQ(i.subject, "CN=Inter");
  EXPECT_EQ(i.due_by, nb + 240 * kDay);
  EXPECT_EQ(i.status, ExpiryStatus::renew);
  EXPECT_EQ(i.days_left, 110);
  const auto& r = report.items[1];
  EXPECT_EQ(r.role, ExpiryRole::root);
  EXPECT_EQ(r.files, (std::vector<std::string>{"mem/cert-chain.pem", "mem/root-cert.pem"}));
  EXPECT_EQ(r.due_by, nb + 2000 * kDay);
  EXPECT_EQ(r.status, ExpiryStatus::ok);
  EXPECT_EQ(report.needing_action(), 1u);
  EXPECT_TRUE(report.notes.empty());

  // Within the window, the intermediate is EXPIRING.
  EXPECT_EQ(check_expiry(inventory, nb + 250 * kDay, Duration{0, 120, 0}).items[0].status, ExpiryStatus::expiring);
}

}  // namespace
}  // namespace meshca::ceremony
