#include "plan/expiry.hpp"

#include <algorithm>

namespace meshca::ceremony {
namespace {

constexpr std::int64_t kDay = 86400;
constexpr std::int64_t kMinimumIntermediateMargin = 30 * kDay;
constexpr std::int64_t kMinimumRootMargin = 365 * kDay;
constexpr std::int64_t kMinimumCrlMargin = kDay;

// The last third of [start, end), but at least `minimum_margin` before end.
UnixTime two_thirds(UnixTime start, UnixTime end, std::int64_t minimum_margin) {
  return std::max(start, end - std::max(minimum_margin, (end - start) / 3));
}

}  // namespace

UnixTime intermediate_renew_by(UnixTime not_before, UnixTime not_after) {
  return two_thirds(not_before, not_after, kMinimumIntermediateMargin);
}

UnixTime root_rotate_by(UnixTime not_before, UnixTime not_after) { return two_thirds(not_before, not_after, kMinimumRootMargin); }

UnixTime crl_refresh_by(UnixTime this_update, UnixTime next_update) { return two_thirds(this_update, next_update, kMinimumCrlMargin); }

std::string_view expiry_status_name(ExpiryStatus status) {
  switch (status) {
    case ExpiryStatus::ok:
      return "OK";
    case ExpiryStatus::renew:
      return "RENEW";
    case ExpiryStatus::expiring:
      return "EXPIRING";
    case ExpiryStatus::expired:
      return "EXPIRED";
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
