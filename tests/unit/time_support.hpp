// Test helper: an RFC 3339 time as UnixTime, failing the test if it does not parse.
#pragma once

#include <gtest/gtest.h>

#include "core/time.hpp"

namespace meshca::test {

inline UnixTime at(const char* text) {
  std::string error;
  auto t = parse_rfc3339(text, error);
  EXPECT_TRUE(t.has_value()) << error;
  return t.value_or(0);
}

}  // namespace meshca::test
