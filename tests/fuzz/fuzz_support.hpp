// Shared helpers for the libFuzzer targets in tests/fuzz.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string_view>

#include "core/time.hpp"

namespace meshca::fuzz {

// A fixed "now" (2026-01-01T00:00:00Z) so every input replays identically.
inline constexpr UnixTime kNow = 1767225600;

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// For readers that take a path: writes the input to `name` inside a private
// directory of this process (created on first use under $TMPDIR, removed at
// exit) and returns the file's path.
std::filesystem::path write_scratch_file(const char* name, const std::uint8_t* data, std::size_t size);

}  // namespace meshca::fuzz
