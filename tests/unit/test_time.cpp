#include <gtest/gtest.h>

#include "core/time.hpp"
#include "tests/unit/time_support.hpp"

namespace meshca {
namespace {

using test::at;

TEST(Duration, ParsesUnitsAndCombinations) {
  std::string error;
  auto d = parse_duration("1y30d12h", error);
  ASSERT_TRUE(d) << error;
  EXPECT_EQ(d->years, 1);
  EXPECT_EQ(d->days, 30);
  EXPECT_EQ(d->hours, 12);
  EXPECT_EQ(d->to_string(), "1y30d12h");
}

TEST(Duration, RejectsMalformedText) {
  for (const char* bad : {"", "20", "y", "20 years", "5w", "-1y", "0y", "1y1y", "1.5y", "99999y"}) {
    std::string error;
    EXPECT_FALSE(parse_duration(bad, error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

TEST(Duration, CalendarYearsClampLeapDay) {
  std::string error;
  auto twenty = *parse_duration("20y", error);
  EXPECT_EQ(format_rfc3339(add_duration(at("2028-02-29T10:00:00Z"), twenty)), "2048-02-29T10:00:00Z");
  auto one = *parse_duration("1y", error);
  EXPECT_EQ(format_rfc3339(add_duration(at("2028-02-29T10:00:00Z"), one)), "2029-02-28T10:00:00Z");
  auto days = *parse_duration("2d3h", error);
  EXPECT_EQ(format_rfc3339(add_duration(at("2026-12-31T23:00:00Z"), days)), "2027-01-03T02:00:00Z");
}

TEST(Rfc3339, ParsesZuluOffsetsAndFractions) {
  EXPECT_EQ(at("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(at("2026-01-01T02:00:00+02:00"), at("2026-01-01T00:00:00Z"));
  EXPECT_EQ(at("2026-01-01T00:00:00.123Z"), at("2026-01-01T00:00:00Z"));
  EXPECT_EQ(format_rfc3339(at("2099-12-31T23:59:59Z")), "2099-12-31T23:59:59Z");
}

TEST(Rfc3339, RejectsInvalidDates) {
  for (const char* bad : {"2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z", "2026-01-01", "2026-01-01 00:00:00Z",
                          "2026-01-01T25:00:00Z", "2026-01-01T00:00:00", "yesterday"}) {
    std::string error;
    EXPECT_FALSE(parse_rfc3339(bad, error)) << bad;
    EXPECT_FALSE(error.empty());
  }
}

}  // namespace
}  // namespace meshca
