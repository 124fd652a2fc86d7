#include "pki/pem_scan.hpp"

#include <openssl/pem.h>

#include <array>
#include <mutex>
#include <unordered_map>

#include "pki/certificate.hpp"
#include "pki/key.hpp"

namespace meshca::pki {
namespace {

constexpr std::string_view kBegin = "-----BEGIN ";
constexpr std::string_view kEnd = "-----END ";
constexpr std::string_view kDashes = "-----";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// "-----BEGIN X-----" -> "X"; empty optional-like "" with ok=false otherwise.
bool boundary_label(std::string_view line, std::string_view prefix, std::string& label) {
  if (!line.starts_with(prefix) || !line.ends_with(kDashes) || line.size() < prefix.size() + kDashes.size()) return false;
  label = std::string(line.substr(prefix.size(), line.size() - prefix.size() - kDashes.size()));
  return true;
}

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

bool PemScan::has(PemIssueKind kind) const {
  for (const auto& i : issues)
    if (i.kind == kind) return true;
  return false;
}

bool base64_decode(std::string_view text, SecureBuffer& out) {
  out.clear();
  std::array<int, 4> quad{};
  std::size_t n = 0, padding = 0;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') {
      // Padding may only close the last quad (one or two '=').
      if (n < 2) return false;
      ++padding;
      quad[n++] = 0;
    } else {
      if (padding != 0) return false;  // data after padding
      int v = base64_value(c);
      if (v < 0) return false;
      quad[n++] = v;
    }
    if (n == 4) {
      unsigned triple = (static_cast<unsigned>(quad[0]) << 18) | (static_cast<unsigned>(quad[1]) << 12) |
                        (static_cast<unsigned>(quad[2]) << 6) | static_cast<unsigned>(quad[3]);
      out.append(static_cast<char>((triple >> 16) & 0xff));
      if (padding < 2) out.append(static_cast<char>((triple >> 8) & 0xff));
      if (padding < 1) out.append(static_cast<char>(triple & 0xff));
      n = 0;
      if (padding > 2) return false;
      if (padding != 0) padding = 3;  // nothing may follow a padded quad
    }
  }
  return n == 0;
}

PemScan scan_pem(std::string_view text) {
  PemScan scan;
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    scan.issues.push_back({PemIssueKind::empty, 0, "the file is empty"});
    return scan;
  }
  std::size_t line_no = 0, pos = 0;
  bool in_block = false, in_headers = false, junk_reported = false;
  std::string body;
  auto close_truncated = [&](std::size_t at_line) {
    PemBlock& b = scan.blocks.back();
    scan.issues.push_back({PemIssueKind::truncated, b.line,
                           "the " + b.label + " block starting at line " + std::to_string(b.line) +
                               " is truncated: no END line" +
                               (at_line ? " before line " + std::to_string(at_line) : " before the end of the file")});
    cleanse(body);
    body.clear();
    in_block = false;
  };
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    std::string_view raw = text.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    pos = eol == std::string_view::npos ? text.size() : eol + 1;
    ++line_no;
    std::string_view line = trim(raw);
    std::string label;
    if (boundary_label(line, kBegin, label)) {
      if (in_block) close_truncated(line_no);
      scan.blocks.push_back({});
      scan.blocks.back().label = label;
      scan.blocks.back().line = line_no;
      in_block = true;
      in_headers = true;
      continue;
    }
    if (!in_block) {
      if (!line.empty() && !junk_reported) {
        scan.issues.push_back({PemIssueKind::junk, line_no,
                               "text outside any PEM block at line " + std::to_string(line_no) +
                                   (scan.blocks.empty() ? " (before the first block)" : " (after a block)")});
        junk_reported = true;
      }
      continue;
    }
    PemBlock& b = scan.blocks.back();
    if (boundary_label(line, kEnd, label)) {
      in_block = false;
      if (label != b.label) {
        scan.issues.push_back({PemIssueKind::label_mismatch, line_no,
                               "line " + std::to_string(line_no) + " ends a '" + label + "' block but line " +
                                   std::to_string(b.line) + " began '" + b.label + "'"});
      } else if (!base64_decode(body, b.der) || b.der.empty()) {
        scan.issues.push_back({PemIssueKind::bad_base64, b.line,
                               "the " + b.label + " block at line " + std::to_string(b.line) +
                                   " is corrupted (invalid base64)"});
        b.der.clear();
      } else {
        b.decoded = true;
      }
      cleanse(body);
      body.clear();
      continue;
    }
    if (in_headers) {
      std::size_t colon = line.find(':');
      if (colon != std::string_view::npos) {
        b.headers.emplace_back(std::string(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1))));
        continue;
      }
      in_headers = false;
      if (line.empty() && !b.headers.empty()) continue;
    }
    body.append(line);
  }
  if (in_block) close_truncated(0);
  if (!text.empty() && text.back() != '\n') {
    scan.issues.push_back({PemIssueKind::no_final_newline, line_no,
                           "the file does not end with a newline (concatenating it with another PEM file "
                           "glues two boundary lines together)"});
  }
  return scan;
}

namespace {

// Certificates already parsed in this process, by their exact DER: a fleet's
// bundles repeat the same root (cert-chain.pem and root-cert.pem of every
// bundle) and each intermediate (ca-cert.pem and cert-chain.pem), and
// decoding a certificate's public key is the costly part of parsing it.
// Parsed certificates are shared by reference count (as duplicate() does)
// and never modified. Bounded; thread-safe.
class ParsedCertificates {
 public:
  X509Ptr find(std::string_view der) {
    std::lock_guard lock(mutex_);
    auto it = parsed_.find(std::string(der));
    if (it == parsed_.end()) return nullptr;
    return duplicate(it->second.get());
  }
  void store(std::string_view der, const X509* cert) {
    std::lock_guard lock(mutex_);
    if (parsed_.size() >= kMaxEntries) parsed_.clear();
    parsed_.emplace(std::string(der), duplicate(cert));
  }

 private:
  static constexpr std::size_t kMaxEntries = 1024;
  std::mutex mutex_;
  std::unordered_map<std::string, X509Ptr> parsed_;
};

ParsedCertificates& parsed_certificates() {
  static ParsedCertificates parsed;
  return parsed;
}

}  // namespace

X509Ptr certificate_from_der(const PemBlock& block) {
  if (!block.decoded || block.label != "CERTIFICATE") return nullptr;
  if (auto known = parsed_certificates().find(block.der.view())) return known;
  const auto* p = reinterpret_cast<const unsigned char*>(block.der.data());
  const auto* end = p + block.der.size();
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(block.der.size())));
  drain_openssl_errors();
  if (!cert || p != end) return nullptr;
  // Shared from the cache with every thread that parses the same bytes.
  settle_extension_cache(cert.get());
  parsed_certificates().store(block.der.view(), cert.get());
  return cert;
}

bool is_private_key_label(std::string_view label) {
  return label == "PRIVATE KEY" || label == "RSA PRIVATE KEY" || label == "EC PRIVATE KEY" ||
         label == "ENCRYPTED PRIVATE KEY";
}

bool is_encrypted_key_block(const PemBlock& block) {
  if (block.label == "ENCRYPTED PRIVATE KEY") return true;
  for (const auto& [name, value] : block.headers)
    if (name == "Proc-Type" && value.find("ENCRYPTED") != std::string::npos) return true;
  return false;
}

PKeyPtr private_key_from_block(const PemBlock& block) {
  if (!block.decoded || is_encrypted_key_block(block)) return nullptr;
  int type = EVP_PKEY_NONE;
  if (block.label == "RSA PRIVATE KEY") type = EVP_PKEY_RSA;
  else if (block.label == "EC PRIVATE KEY") type = EVP_PKEY_EC;
  else if (block.label != "PRIVATE KEY") return nullptr;
  if (type == EVP_PKEY_NONE) {
    if (auto key = private_key_from_pkcs8_der(block.der.view())) return key;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(block.der.data());
  const auto* end = p + block.der.size();
  PKeyPtr key(type == EVP_PKEY_NONE ? d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(block.der.size()))
                                    : d2i_PrivateKey(type, nullptr, &p, static_cast<long>(block.der.size())));
  drain_openssl_errors();
  if (!key || p != end) return nullptr;
  return key;
}

}  // namespace meshca::pki
