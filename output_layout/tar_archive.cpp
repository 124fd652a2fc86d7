#include "output_layout/tar_archive.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

#include "core/error.hpp"
#include "core/files.hpp"

namespace meshca::output_layout {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kBlock = 512;
constexpr std::size_t kNameField = 100;
constexpr std::size_t kPrefixField = 155;
constexpr std::size_t kMaxEntryBytes = 64 * 1024 * 1024;

void put(std::array<char, kBlock>& h, std::size_t offset, std::string_view value) {
  std::copy(value.begin(), value.end(), h.begin() + static_cast<std::ptrdiff_t>(offset));
}

// `width` - 1 octal digits and a NUL, as ustar numeric fields are written.
void put_octal(std::array<char, kBlock>& h, std::size_t offset, std::size_t width, unsigned long long value) {
  std::string digits(width - 1, '0');
  for (std::size_t i = width - 1; i-- > 0 && value != 0; value >>= 3) digits[i] = static_cast<char>('0' + (value & 7));
  if (value != 0) throw Error(ErrorKind::invalid_input, "a file is too large for a ustar archive");
  put(h, offset, digits);
}

// Splits a long name into ustar's prefix and name fields at a '/'.
std::pair<std::string, std::string> split_name(const std::string& name) {
  if (name.size() <= kNameField) return {"", name};
  for (auto slash = name.find('/'); slash != std::string::npos; slash = name.find('/', slash + 1)) {
    if (slash <= kPrefixField && name.size() - slash - 1 <= kNameField) return {name.substr(0, slash), name.substr(slash + 1)};
  }
  throw Error(ErrorKind::invalid_input, "path too long for a ustar archive", name);
}

std::array<char, kBlock> header(const TarEntry& e) {
  std::array<char, kBlock> h{};
  auto [prefix, name] = split_name(e.name);
  put(h, 0, name);
  put_octal(h, 100, 8, 0600);  // mode
  put_octal(h, 108, 8, 0);     // uid
  put_octal(h, 116, 8, 0);     // gid
  put_octal(h, 124, 12, e.bytes.size());
  put_octal(h, 136, 12, 0);    // mtime
  put(h, 148, "        ");      // checksum, counted as spaces
  h[156] = '0';                // regular file
  put(h, 257, std::string_view("ustar\0" "00", 8));
  put_octal(h, 329, 8, 0);     // devmajor
  put_octal(h, 337, 8, 0);     // devminor
  put(h, 345, prefix);
  unsigned sum = 0;
  for (char c : h) sum += static_cast<unsigned char>(c);
  put_octal(h, 148, 7, sum);   // six digits and a NUL, then the space already there
  return h;
}

}  // namespace

std::vector<TarEntry> collect_tar_entries(const fs::path& dir, const std::string& prefix) {
  std::vector<TarEntry> entries;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    auto status = it->symlink_status(ec);
    if (ec) break;
    if (fs::is_directory(status)) continue;
    if (!fs::is_regular_file(status)) {
      throw Error(ErrorKind::invalid_input, "not a regular file; a bundle holds only files and directories", it->path().string());
    }
    std::string bytes = read_file(it->path(), kMaxEntryBytes);
    // Lexical: every path the iterator gives starts with `dir`.
    TarEntry e{prefix + "/" + it->path().lexically_relative(dir).generic_string(), SecureBuffer(bytes)};
    cleanse(bytes);
    entries.push_back(std::move(e));
  }
  if (ec) throw_path_error(ErrorKind::output, "cannot read the bundle directory", dir, ec);
  return entries;
}

SecureBuffer make_tar(std::vector<TarEntry> entries) {
  std::sort(entries.begin(), entries.end(), [](const TarEntry& a, const TarEntry& b) { return a.name < b.name; });
  SecureBuffer out;
  const std::string padding(kBlock, '\0');
  for (const auto& e : entries) {
    if (e.name.empty() || e.name.front() == '/' || e.name.find("..") != std::string::npos) {
      throw Error(ErrorKind::invalid_input, "unsafe archive path", e.name);
    }
    auto h = header(e);
    out.append(std::string_view(h.data(), h.size()));
    out.append(e.bytes.view());
    if (std::size_t rest = e.bytes.size() % kBlock; rest != 0) out.append(std::string_view(padding).substr(0, kBlock - rest));
  }
  out.append(padding);
  out.append(padding);
  return out;
}

}  // namespace meshca::output_layout
