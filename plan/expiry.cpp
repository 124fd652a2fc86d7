#include "plan/expiry.hpp"

#include <algorithm>

namespace meshca::ceremony {
namespace {

constexpr std::int64_t kDay = 86400;
constexpr std::int64_t kMinimumIntermediateMargin = 30 * kDay;
constexpr std::int64_t kMinimumRootMargin = 365 * kDay;
constexpr std::int64_t kRotationDuration = 90 * kDay;

}  // namespace

UnixTime intermediate_renew_by(UnixTime not_before, UnixTime not_after) {
  const std::int64_t lifetime = not_after - not_before;
  return std::max(not_before, not_after - std::max(kMinimumIntermediateMargin, lifetime / 3));
}

UnixTime root_rotate_by(UnixTime not_before, UnixTime not_after, std::int64_t longest_intermediate_seconds) {
  return std::max(not_before, not_after - std::max(kMinimumRootMargin, longest_intermediate_seconds + kRotationDuration));
}

std::string_view expiry_status_name(ExpiryStatus status) {
  switch (status) {
    case ExpiryStatus::ok: return "OK";
    case ExpiryStatus::renew: return "RENEW";
    case ExpiryStatus::expiring: return "EXPIRING";
    case ExpiryStatus::expired: return "EXPIRED";
  }
  return "OK";
}

ExpiryStatus expiry_status(UnixTime at, UnixTime horizon, UnixTime renew_by, UnixTime not_after) {
  if (not_after <= at) return ExpiryStatus::expired;
  if (not_after <= horizon) return ExpiryStatus::expiring;
  if (renew_by <= at) return ExpiryStatus::renew;
  return ExpiryStatus::ok;
}

}  // namespace meshca::ceremony
