#include "core/time.hpp"

#include <charconv>
#include <chrono>
#include <cstdio>

namespace meshca {
namespace {

using namespace std::chrono;

constexpr std::int64_t kSecondsPerDay = 86400;


bool read_int(std::string_view text, std::size_t pos, std::size_t len, int& out) {
  if (pos + len > text.size()) return false;
  for (std::size_t i = pos; i < pos + len; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;  // from_chars would take a sign
  }
  auto [ptr, ec] = std::from_chars(text.data() + pos, text.data() + pos + len, out);
  return ec == std::errc() && ptr == text.data() + pos + len;
}

}  // namespace

std::string Duration::to_string() const {
  std::string s;
  if (years) s += std::to_string(years) + "y";
  if (days) s += std::to_string(days) + "d";
  if (hours) s += std::to_string(hours) + "h";
  return s.empty() ? "0h" : s;
}

std::optional<Duration> parse_duration(std::string_view text, std::string& error) {
  Duration d;
  if (text.empty()) {
    error = "empty duration; write e.g. 20y, 365d or 12h";
    return std::nullopt;
  }
  std::string_view rest = text;
  std::string seen;
  while (!rest.empty()) {
    std::int64_t n = 0;
    auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), n);
    if (ec != std::errc() || ptr == rest.data() || ptr == rest.data() + rest.size() || n < 0 || n > 100000) {
      error = "'" + std::string(text) + "' is not a duration; write a whole number followed by y, d or h (e.g. 20y, 365d, 12h)";
      return std::nullopt;
    }
    char unit = *ptr;
    rest.remove_prefix(static_cast<std::size_t>(ptr - rest.data()) + 1);
    if (seen.find(unit) != std::string::npos) {
      error = "'" + std::string(text) + "' repeats the unit '" + unit + "'";
      return std::nullopt;
    }
    seen.push_back(unit);
    switch (unit) {
      case 'y':
        if (n > 9000) {
          error = "'" + std::string(text) + "' is too long";
          return std::nullopt;
        }
        d.years = static_cast<int>(n);
        break;
      case 'd': d.days = n; break;
      case 'h': d.hours = n; break;
      default:
        error = "'" + std::string(text) + "' is not a duration: unknown unit '" + unit +
                "'; write a whole number followed by y (years), d (days) or h (hours), e.g. 20y";
        return std::nullopt;
    }
  }
  if (d.is_zero()) {
    error = "duration must be longer than zero";
    return std::nullopt;
  }
  return d;
}

std::optional<UnixTime> parse_rfc3339(std::string_view text, std::string& error) {
  // YYYY-MM-DDTHH:MM:SS(.frac)?(Z|+HH:MM|-HH:MM)
  error = "'" + std::string(text) + "' is not an RFC 3339 time; write e.g. 2026-01-01T00:00:00Z";
  int y, mo, d, h, mi, s;
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' || (text[10] != 'T' && text[10] != 't') ||
      text[13] != ':' || text[16] != ':' || !read_int(text, 0, 4, y) || !read_int(text, 5, 2, mo) ||
      !read_int(text, 8, 2, d) || !read_int(text, 11, 2, h) || !read_int(text, 14, 2, mi) ||
      !read_int(text, 17, 2, s)) {
    return std::nullopt;
  }
  std::size_t pos = 19;
  if (pos < text.size() && text[pos] == '.') {
    std::size_t digits = ++pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
    if (pos == digits) return std::nullopt;  // "." without fraction digits
  }
  int offset = 0;
  std::string_view zone = text.substr(pos);
  if (zone == "Z" || zone == "z") {
    offset = 0;
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
    int oh, om;
    if (!read_int(zone, 1, 2, oh) || !read_int(zone, 4, 2, om) || oh > 23 || om > 59) return std::nullopt;
    offset = (oh * 60 + om) * 60 * (zone[0] == '+' ? 1 : -1);
  } else {
    return std::nullopt;
  }
  year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 60 || y < 1950) {
    error = "'" + std::string(text) + "' is not a valid date and time";
    return std::nullopt;
  }
  error.clear();
  std::int64_t days = sys_days{ymd}.time_since_epoch().count();
  return days * kSecondsPerDay + h * 3600 + mi * 60 + (s == 60 ? 59 : s) - offset;
}

UnixTime add_duration(UnixTime start, const Duration& dur) {
  std::int64_t day_count = start >= 0 ? start / kSecondsPerDay : (start - kSecondsPerDay + 1) / kSecondsPerDay;
  std::int64_t second_of_day = start - day_count * kSecondsPerDay;
  year_month_day ymd{sys_days{days{day_count}}};
  if (dur.years != 0) {
    year_month_day moved{ymd.year() + years{dur.years}, ymd.month(), ymd.day()};
    if (!moved.ok()) moved = year_month_day{moved.year() / moved.month() / last};  // 29 Feb -> 28 Feb
    ymd = moved;
  }
  std::int64_t total_days = sys_days{ymd}.time_since_epoch().count() + dur.days;
  return total_days * kSecondsPerDay + second_of_day + dur.hours * 3600;
}

std::string format_rfc3339(UnixTime t) {
  std::int64_t day_count = t >= 0 ? t / kSecondsPerDay : (t - kSecondsPerDay + 1) / kSecondsPerDay;
  std::int64_t sod = t - day_count * kSecondsPerDay;
  year_month_day ymd{sys_days{days{day_count}}};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02lld:%02lld:%02lldZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<long long>(sod / 3600), static_cast<long long>(sod / 60 % 60),
                static_cast<long long>(sod % 60));
  return buf;
}

UnixTime now_utc() { return duration_cast<seconds>(system_clock::now().time_since_epoch()).count(); }

}  // namespace meshca
