// When a CA certificate must be replaced: one rule for `meshca plan show`
// (before the ceremony) and `meshca check-expiry` (on bundles in service).
//
//   intermediate  renew by notAfter - max(30 days, lifetime / 3): at two
//                 thirds of its life, and never later than 30 days before
//                 it expires, so a failed renewal leaves a month to retry
//                 and istiod's workload certificates never outlive it.
//   root          rotate by notAfter - max(1 year, longest intermediate
//                 lifetime + 90 days): a rotation is three phases rolled out
//                 to every cluster (months), and an intermediate issued
//                 later than notAfter - its validity can no longer get its
//                 full validity under this root.
// A date before notBefore is clamped to notBefore (due at once).
#pragma once

#include <cstdint>
#include <string_view>

#include "core/time.hpp"

namespace meshca::ceremony {

inline constexpr std::string_view kIntermediateRenewalRule =
    "two thirds of its lifetime, at the latest 30 days before notAfter";
inline constexpr std::string_view kRootRotationRule =
    "notAfter minus the longer of 1 year and the longest intermediate validity plus 90 days";

UnixTime intermediate_renew_by(UnixTime not_before, UnixTime not_after);
UnixTime root_rotate_by(UnixTime not_before, UnixTime not_after, std::int64_t longest_intermediate_seconds);

enum class ExpiryStatus { ok, renew, expiring, expired };
std::string_view expiry_status_name(ExpiryStatus status);  // "OK", "RENEW", "EXPIRING", "EXPIRED"

// EXPIRED at or after notAfter; EXPIRING when notAfter falls before
// `horizon`; RENEW once the renew-by date has passed; OK otherwise.
ExpiryStatus expiry_status(UnixTime at, UnixTime horizon, UnixTime renew_by, UnixTime not_after);

}  // namespace meshca::ceremony
