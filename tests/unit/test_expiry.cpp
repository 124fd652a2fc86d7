// The renewal rule shared by plan show and check-expiry (ceremony/expiry.hpp).
#include <gtest/gtest.h>

#include "plan/expiry.hpp"
#include "tests/unit/time_support.hpp"

namespace meshca::ceremony {
namespace {

using test::at;
constexpr std::int64_t kDay = 86400;

TEST(Expiry, IntermediateRenewsAtTwoThirdsOfItsLife) {
  UnixTime nb = at("2026-01-01T00:00:00Z");
  EXPECT_EQ(intermediate_renew_by(nb, nb + 360 * kDay), nb + 240 * kDay);
  EXPECT_EQ(intermediate_renew_by(nb, nb + 3 * 365 * kDay), nb + 2 * 365 * kDay);
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
  EXPECT_EQ(root_rotate_by(nb, nb + 30 * 365 * kDay), nb + 20 * 365 * kDay);
  // A 2-year root: never later than one year before notAfter.
  EXPECT_EQ(root_rotate_by(nb, nb + 2 * 365 * kDay), nb + 365 * kDay);
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

}  // namespace
}  // namespace meshca::ceremony
