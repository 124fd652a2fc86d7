#include "output_layout/checksums.hpp"

#include <algorithm>
#include <vector>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/hex.hpp"
#include "core/output_lock.hpp"
#include "core/secure_buffer.hpp"

namespace meshca::output_layout {

FileDigests output_file_digests(const std::filesystem::path& out) {
  FileDigests digests;
  std::error_code ec;
  auto fail = [&] { throw_path_error(ErrorKind::output, "cannot list the output directory", out, ec); };
  std::filesystem::recursive_directory_iterator it(out, ec);
  if (ec) fail();
  for (; it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) fail();
    // Lexical: the iterator's paths all start with `out`, and std::filesystem::relative
    // would resolve both paths through the filesystem for every file.
    const auto rel = it->path().lexically_relative(out).string();
    // The type the listing gave (a link followed); a dangling link is neither.
    std::error_code type_ec;
    const bool directory = it->is_directory(type_ec);
    const bool regular = it->is_regular_file(type_ec);
    if (type_ec && type_ec != std::errc::no_such_file_or_directory) {
      throw_path_error(ErrorKind::output, "cannot read the file type", it->path(), type_ec);
    }
    if (directory && rel == kStagingDirName) {
      it.disable_recursion_pending();
      continue;
    }
    if (!regular || rel == kChecksumsFile || rel == "transcript.jsonl" || rel == kOutputLockFile) continue;
    std::string content = read_file(it->path(), 64 * 1024 * 1024);
    digests.emplace(rel, sha256_hex(content));
    cleanse(content);
  }
  if (ec) fail();
  return digests;
}

std::string checksums_text(const FileDigests& digests) {
  std::string sums;
  std::size_t size = 0;
  for (const auto& [rel, digest] : digests) size += digest.size() + 2 + rel.size() + 1;
  sums.reserve(size);  // one allocation: a large fleet's list is megabytes
  for (const auto& [rel, digest] : digests) sums += digest + "  " + rel + "\n";
  return sums;
}

FileDigests parse_checksums(std::string_view text, const std::string& where) {
  FileDigests digests;
  std::size_t line_no = 0;
  while (!text.empty()) {
    auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    ++line_no;
    if (line.size() < 67 || line.substr(64, 2) != "  " ||
        line.substr(0, 64).find_first_not_of("0123456789abcdef") != std::string_view::npos) {
      throw Error(ErrorKind::invalid_input, "line " + std::to_string(line_no) + " is not '<sha256>  <path>'", where);
    }
    digests[std::string(line.substr(66))] = std::string(line.substr(0, 64));
  }
  return digests;
}

FileDigests write_checksums(const std::filesystem::path& out) {
  FileDigests digests = output_file_digests(out);
  write_file_atomic(out / kChecksumsFile, checksums_text(digests), kPublicFileMode, Replace::allowed);
  return digests;
}

}  // namespace meshca::output_layout
