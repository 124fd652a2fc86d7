#include "pki/csr.hpp"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cctype>

#include "core/error.hpp"
#include "core/hex.hpp"
#include "pki/pem_scan.hpp"

namespace meshca::pki {
namespace {

constexpr std::string_view kHowToMake = "make one with `meshca csr create` or `openssl req -new -key KEY -out FILE`";

// The one request block of `pem`, decoded strictly.
X509ReqPtr decode_request(std::string_view pem, const std::string& where) {
  PemScan scan = scan_pem(pem);
  for (const auto& issue : scan.issues) {
    // Harmless in a file meshca only reads; an empty file is said below.
    if (issue.kind == PemIssueKind::no_final_newline || issue.kind == PemIssueKind::empty) continue;
    throw Error(ErrorKind::invalid_input, "line " + std::to_string(issue.line) + ": " + issue.message, where);
  }
  std::vector<const PemBlock*> requests;
  for (const auto& b : scan.blocks) {
    if (b.label == "CERTIFICATE REQUEST" || b.label == "NEW CERTIFICATE REQUEST") {
      requests.push_back(&b);
    } else {
      throw Error(ErrorKind::invalid_input,
                  "line " + std::to_string(b.line) + ": a " + b.label + " block; a CSR file holds one CERTIFICATE REQUEST block only",
                  where);
    }
  }
  if (requests.size() != 1) {
    throw Error(ErrorKind::invalid_input,
                requests.empty() ? "no CERTIFICATE REQUEST PEM block found; " + std::string(kHowToMake)
                                 : "holds " + std::to_string(requests.size()) + " CERTIFICATE REQUEST blocks; give one per cluster",
                where);
  }
  const auto& der = requests.front()->der;
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509ReqPtr req(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
  if (!req || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    drain_openssl_errors();
    throw Error(ErrorKind::invalid_input, "the CERTIFICATE REQUEST block is not one whole PKCS#10 request", where);
  }
  return req;
}

}  // namespace

CsrKey read_csr(std::string_view pem, const std::string& where) {
  X509ReqPtr req = decode_request(pem, where);
  EVP_PKEY* key = X509_REQ_get0_pubkey(req.get());
  if (key == nullptr) {
    drain_openssl_errors();
    throw Error(ErrorKind::invalid_input, "the request's public key cannot be read", where);
  }
  // Proof of possession: the request is signed by the key it carries.
  if (X509_REQ_verify(req.get(), key) != 1) {
    drain_openssl_errors();
    throw Error(ErrorKind::invalid_input,
                "the request's signature does not verify with its own public key (damaged, or not made by the key's "
                "holder); make a new CSR with the cluster's key",
                where);
  }
  auto algorithm = key_algorithm_of(key);
  if (!algorithm) {
    throw Error(ErrorKind::invalid_input,
                "the request's key is " + describe_key(key) + ", which meshca does not accept for a CA; use " + key_algorithm_choices(),
                where);
  }
  return {public_key_copy(key), *algorithm, spki_sha256(key)};
}

std::string spki_sha256(const EVP_PKEY* key) { return sha256_hex(public_key_der(key)); }

std::optional<std::string> normalize_spki_pin(std::string_view text) {
  std::string hex;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == ':' && i % 3 == 2) continue;  // "ab:cd:..." as fingerprints are printed
    if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
    hex += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (hex.size() != 64) return std::nullopt;
  return hex;
}

std::string make_csr_pem(const EVP_PKEY* key, const DistinguishedName& subject) {
  X509ReqPtr req(check(X509_REQ_new(), "X509_REQ_new"));
  check(X509_REQ_set_version(req.get(), X509_REQ_VERSION_1), "X509_REQ_set_version");
  auto name = subject.to_x509_name();
  check(X509_REQ_set_subject_name(req.get(), name.get()), "X509_REQ_set_subject_name");
  check(X509_REQ_set_pubkey(req.get(), const_cast<EVP_PKEY*>(key)), "X509_REQ_set_pubkey");
  check(X509_REQ_sign(req.get(), const_cast<EVP_PKEY*>(key), signature_digest(key)), "X509_REQ_sign");
  auto bio = memory_bio();
  check(PEM_write_bio_X509_REQ(bio.get(), req.get()), "PEM_write_bio_X509_REQ");
  return bio_contents(bio.get());
}

}  // namespace meshca::pki
