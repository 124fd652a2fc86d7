// When a CA certificate or CRL must be replaced: the one rule for
// `meshca plan show` (before the ceremony) and `meshca check-expiry` (on
// bundles in service), so a root has one rotate-by date wherever it is read.
//
//   intermediate  renew by notAfter - max(30 days, lifetime / 3): at two
//                 thirds of its life, and never later than 30 days before
//                 it expires, so a failed renewal leaves a month to retry
//                 and istiod's workload certificates never outlive it.
//   root          rotate by notAfter - max(1 year, lifetime / 3): the same
//                 two thirds, but never later than a year before it expires,
//                 because a rotation is three phases rolled out to every
//                 cluster (months), and intermediates issued late in the
//                 root's life are cut short by its notAfter. The date
//                 depends on the root certificate alone: the same root read
//                 from a bundle, from OUT/root or from the plan gives the
//                 same date.
//   CRL           refresh by nextUpdate - max(1 day, period / 3), where the
//                 period is nextUpdate - thisUpdate: a peer that checks CRLs
//                 refuses every certificate once the CRL is stale.
// A date before the start (notBefore, thisUpdate) is clamped to it (due at once).
#pragma once

#include <cstdint>
#include <string_view>

#include "core/time.hpp"

namespace meshca::ceremony {

inline constexpr std::string_view kIntermediateRenewalRule = "two thirds of its lifetime, at the latest 30 days before notAfter";
inline constexpr std::string_view kRootRotationRule = "two thirds of its lifetime, at the latest 1 year before notAfter";
inline constexpr std::string_view kCrlRefreshRule = "two thirds of its period, at the latest 1 day before nextUpdate";

UnixTime intermediate_renew_by(UnixTime not_before, UnixTime not_after);
UnixTime root_rotate_by(UnixTime not_before, UnixTime not_after);
UnixTime crl_refresh_by(UnixTime this_update, UnixTime next_update);

enum class ExpiryStatus { ok, renew, expiring, expired };
std::string_view expiry_status_name(ExpiryStatus status);  // "OK", "RENEW", "EXPIRING", "EXPIRED"

// EXPIRED at or after notAfter; EXPIRING when notAfter falls before
// `horizon`; RENEW once the renew-by date has passed; OK otherwise.
ExpiryStatus expiry_status(UnixTime at, UnixTime horizon, UnixTime renew_by, UnixTime not_after);

}  // namespace meshca::ceremony
