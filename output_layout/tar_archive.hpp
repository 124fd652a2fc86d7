// A deterministic POSIX ustar archive of one bundle directory, for carrying
// a cluster's bundle off the air-gapped machine (`meshca export`).
//
// The same files always give the same bytes: entries sorted by name, only
// regular files (directories are implied by the names), mode 0600, uid and
// gid 0, empty owner and group names, mtime 0, no extended headers. The
// archive holds private keys, so it is built in a SecureBuffer.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/secure_buffer.hpp"

namespace meshca::output_layout {

struct TarEntry {
  std::string name;  // path inside the archive, '/'-separated, no leading '/'
  SecureBuffer bytes;
};

// Every regular file under `dir`, named `prefix` + "/" + its relative path.
// Error(invalid_input) when `dir` holds anything but regular files and
// directories (a symlink could smuggle another file into the archive);
// Error(output) when it cannot be read.
std::vector<TarEntry> collect_tar_entries(const std::filesystem::path& dir, const std::string& prefix);

// The archive: entries sorted by name, then two zero blocks.
// Error(invalid_input) for a name ustar cannot hold.
SecureBuffer make_tar(std::vector<TarEntry> entries);

}  // namespace meshca::output_layout
