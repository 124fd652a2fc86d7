#include "output_layout/checksums.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/secure_buffer.hpp"
#include "pki/handles.hpp"

namespace meshca::output_layout {

std::string sha256_hex(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  pki::check(EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr), "EVP_Digest");
  std::string hex;
  char buf[3];
  for (unsigned i = 0; i < len; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", md[i]);
    hex += buf;
  }
  return hex;
}

std::size_t write_checksums(const std::filesystem::path& out) {
  std::vector<std::string> files;
  std::error_code ec;
  auto fail = [&] { throw Error(ExitCode::output, "cannot list the output directory: " + ec.message(), out.string()); };
  std::filesystem::recursive_directory_iterator it(out, ec);
  if (ec) fail();
  for (; it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) fail();
    // Lexical: the iterator's paths all start with `out`, and std::filesystem::relative
    // would resolve both paths through the filesystem for every file.
    const auto rel = it->path().lexically_relative(out).string();
    if (it->is_directory() && rel == kStagingDirName) {
      it.disable_recursion_pending();
      continue;
    }
    // The transcript grows after the checksums are written; it carries its
    // own hash chain and records the digest of SHA256SUMS instead.
    if (it->is_regular_file() && rel != kChecksumsFile && rel != "transcript.jsonl") files.push_back(rel);
  }
  if (ec) fail();
  std::sort(files.begin(), files.end());
  std::string sums;
  std::size_t size = 0;
  for (const auto& rel : files) size += 64 + 2 + rel.size() + 1;
  sums.reserve(size);  // one allocation: a large fleet's list is megabytes
  for (const auto& rel : files) {
    std::string content = read_file(out / rel, 64 * 1024 * 1024);
    sums += sha256_hex(content) + "  " + rel + "\n";
    cleanse(content);
  }
  write_file_atomic(out / kChecksumsFile, sums, kPublicFileMode, Replace::allowed);
  return files.size();
}

}  // namespace meshca::output_layout
