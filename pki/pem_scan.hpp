// A strict PEM scanner for files meshca did not write (bundles from Istio's
// Makefile recipe, hand-made openssl, a Kubernetes Secret).
//
// OpenSSL's and Go's PEM readers silently skip text between blocks and stop
// at the first damaged block; an operator wants to hear about both before
// istiod does. scan_pem() splits text into blocks (label, RFC 1421 headers,
// DER bytes) and reports, each with its line number: truncated blocks (BEGIN
// without END), END labels that do not match, corrupted base64, text outside
// blocks, and a missing final newline. The decoded bytes are kept in a
// SecureBuffer because the same scanner reads private keys. The helpers
// below turn a block into a certificate or a private key without guessing.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/secure_buffer.hpp"
#include "pki/handles.hpp"

namespace meshca::pki {

struct PemBlock {
  std::string label;  // "CERTIFICATE", "PRIVATE KEY", "EC PARAMETERS", ...
  std::size_t line = 0;  // 1-based line of the BEGIN line
  std::vector<std::pair<std::string, std::string>> headers;  // "Proc-Type: 4,ENCRYPTED" ...
  SecureBuffer der;
  bool decoded = false;  // base64 decoded cleanly and END matched
};

enum class PemIssueKind { truncated, label_mismatch, bad_base64, junk, no_final_newline, empty };

struct PemIssue {
  PemIssueKind kind;
  std::size_t line = 0;
  std::string message;
};

struct PemScan {
  std::vector<PemBlock> blocks;  // every block that had a BEGIN line, damaged or not
  std::vector<PemIssue> issues;
  bool has(PemIssueKind kind) const;
};

PemScan scan_pem(std::string_view text);

// Strict base64 (RFC 4648 alphabet, padding only at the end); whitespace is
// skipped. False on any other character or a bad length.
bool base64_decode(std::string_view text, SecureBuffer& out);

// Parses a CERTIFICATE block's DER; nullptr when it is not one whole certificate.
X509Ptr certificate_from_der(const PemBlock& block);

// Parses an unencrypted private key block (PKCS#8 "PRIVATE KEY", PKCS#1
// "RSA PRIVATE KEY", SEC1 "EC PRIVATE KEY"); nullptr when it does not parse.
PKeyPtr private_key_from_block(const PemBlock& block);

// True for "ENCRYPTED PRIVATE KEY" and legacy blocks with Proc-Type ENCRYPTED.
bool is_encrypted_key_block(const PemBlock& block);
bool is_private_key_label(std::string_view label);

}  // namespace meshca::pki
