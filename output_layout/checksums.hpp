// OUT/SHA256SUMS: the digest of every file meshca published under OUT, in
// the format `sha256sum -c` reads, so anyone can check a bundle that
// travelled off the air-gapped machine with standard tools.
#pragma once

#include <filesystem>
#include <string>

namespace meshca::output_layout {

inline constexpr const char* kChecksumsFile = "SHA256SUMS";

std::string sha256_hex(std::string_view bytes);

// Lists every regular file under `out` (except the staging area,
// SHA256SUMS itself and the transcript), sorted by path, and atomically replaces SHA256SUMS.
// Returns the number of files listed.
std::size_t write_checksums(const std::filesystem::path& out);

}  // namespace meshca::output_layout
