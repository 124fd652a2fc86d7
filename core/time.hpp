// Times and durations as the plan writes them.
//
// Durations are `<n>y`, `<n>d` or `<n>h` (years are calendar years: a 20y
// root issued on 29 Feb ends on 28 Feb), optionally combined (`1y30d`).
// Absolute times are RFC 3339 in UTC (`2026-01-01T00:00:00Z`) or with an
// offset. Everything is UTC seconds since the epoch (int64), so certificates
// can reach 9999-12-31 without 32-bit time_t trouble.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace meshca {

using UnixTime = std::int64_t;

struct Duration {
  int years = 0;
  std::int64_t days = 0;
  std::int64_t hours = 0;

  bool is_zero() const { return years == 0 && days == 0 && hours == 0; }
  std::string to_string() const;
};

// nullopt with `error` set when the text is not a duration.
std::optional<Duration> parse_duration(std::string_view text, std::string& error);
// nullopt with `error` set when the text is not RFC 3339.
std::optional<UnixTime> parse_rfc3339(std::string_view text, std::string& error);

UnixTime add_duration(UnixTime start, const Duration& d);
std::string format_rfc3339(UnixTime t);
UnixTime now_utc();

}  // namespace meshca
