// Fuzzes the plan's duration and RFC 3339 parsers (core/time.hpp) and checks
// what a parsed value promises: a duration prints back to itself and moves
// time forward; a time has digits where RFC 3339 has DIGITs, and prints back
// to the same instant.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/time.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

[[noreturn]] void finding(const char* what, std::string_view input) {
  std::fprintf(stderr, "%s: '%.*s'\n", what, static_cast<int>(input.size()), input.data());
  std::abort();
}

bool digits_at(std::string_view t, std::size_t pos, std::size_t len) {
  for (std::size_t i = pos; i < pos + len; ++i)
    if (i >= t.size() || t[i] < '0' || t[i] > '9') return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace meshca;
  const auto text = fuzz::as_text(data, size);
  std::string error;

  if (auto d = parse_duration(text, error)) {
    if (d->is_zero()) finding("a zero duration was accepted", text);
    std::string again_error;
    auto again = parse_duration(d->to_string(), again_error);
    if (!again || again->years != d->years || again->days != d->days || again->hours != d->hours)
      finding("a duration does not print back to itself", text);
    for (UnixTime start : {fuzz::kNow, UnixTime{-86400}, UnixTime{951782400} /* 2000-02-29 */}) {
      if (add_duration(start, *d) <= start) finding("a positive duration does not move time forward", text);
    }
    (void)format_rfc3339(add_duration(fuzz::kNow, *d));
  } else if (error.empty()) {
    finding("a duration was refused without a reason", text);
  }

  error.clear();
  if (auto t = parse_rfc3339(text, error)) {
    // YYYY-MM-DDTHH:MM:SS: every field is DIGITs (RFC 3339 section 5.6).
    if (!digits_at(text, 0, 4) || !digits_at(text, 5, 2) || !digits_at(text, 8, 2) || !digits_at(text, 11, 2) || !digits_at(text, 14, 2) ||
        !digits_at(text, 17, 2))
      finding("an RFC 3339 time with non-digits in a date/time field was accepted", text);
    std::string printed = format_rfc3339(*t);
    std::string again_error;
    auto again = parse_rfc3339(printed, again_error);
    // Offsets can move an instant past 9999-12-31 (five-digit year), which
    // RFC 3339 cannot write, or before 1950, which meshca refuses to read;
    // everything else must read back the same.
    if (printed.size() == 20 && printed.compare(0, 4, "1950") >= 0 && (!again || *again != *t))
      finding("an RFC 3339 time does not print back to the same instant", text);
  } else if (error.empty()) {
    finding("a time was refused without a reason", text);
  }
  return 0;
}
