// OUT/SHA256SUMS: the digest of every file meshca published under OUT, in
// the format `sha256sum -c` reads, so anyone can check a bundle that
// travelled off the air-gapped machine with standard tools.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>

namespace meshca::output_layout {

inline constexpr const char* kChecksumsFile = "SHA256SUMS";

// Relative path -> SHA-256 of every regular file under `out` that
// SHA256SUMS covers: all but the staging area, the writer's lock file,
// SHA256SUMS itself and the transcript (which carries its own hash chain and
// records SHA256SUMS's digest instead). The one list of "the files of OUT":
// SHA256SUMS, a session's closing record and the audit all use it.
using FileDigests = std::map<std::string, std::string>;
FileDigests output_file_digests(const std::filesystem::path& out);

// SHA256SUMS's text for `digests`, in the format `sha256sum -c` reads.
std::string checksums_text(const FileDigests& digests);

// Parses SHA256SUMS; Error(invalid_input) naming the line when malformed.
FileDigests parse_checksums(std::string_view text, const std::string& where);

// Digests every file (output_file_digests) and atomically replaces
// SHA256SUMS with them. Returns the digests listed.
FileDigests write_checksums(const std::filesystem::path& out);

}  // namespace meshca::output_layout
