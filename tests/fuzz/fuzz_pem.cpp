// Fuzzes the PEM and certificate readers: the strict scanner (pki/pem_scan),
// OpenSSL-backed certificates_from_pem / private_key_from_pem, the readers
// `meshca inspect` runs on every certificate it finds, and the CSR reader
// plan reading runs on every pinned cluster key (pki/csr).
#include <cstdint>
#include <vector>

#include "core/error.hpp"
#include "pki/certificate.hpp"
#include "pki/csr.hpp"
#include "pki/inspect.hpp"
#include "pki/key.hpp"
#include "pki/lint.hpp"
#include "pki/pem_scan.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

using namespace meshca;

void read_everything(const X509* cert) {
  (void)pki::summarize(cert, fuzz::kNow);
  (void)pki::subject_string(cert);
  (void)pki::issuer_string(cert);
  (void)pki::serial_hex(cert);
  (void)pki::sha256_fingerprint(cert);
  (void)pki::not_before(cert);
  (void)pki::not_after(cert);
  (void)pki::basic_constraints(cert);
  (void)pki::key_usage(cert);
  (void)pki::subject_key_id(cert);
  (void)pki::authority_key_id(cert);
  (void)pki::name_constraints(cert);
  (void)pki::is_self_signed(cert);
  (void)pki::lint_ca_certificate_alone(cert, pki::CaRole::intermediate, true);
  (void)pki::lint_ca_certificate(cert, cert, pki::CaRole::root, true);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = fuzz::as_text(data, size);

  // The strict scanner, then every block as `meshca inspect` reads it.
  std::vector<pki::X509Ptr> certs;
  auto scan = pki::scan_pem(text);
  for (const auto& block : scan.blocks) {
    if (pki::is_private_key_label(block.label)) {
      if (!pki::is_encrypted_key_block(block)) {
        if (auto key = pki::private_key_from_block(block)) {
          (void)pki::describe_key(key.get());
          (void)pki::key_algorithm_of(key.get());
        }
      }
      continue;
    }
    if (auto cert = pki::certificate_from_der(block)) certs.push_back(std::move(cert));
  }
  for (const auto& c : certs) {
    try {
      read_everything(c.get());
    } catch (const Error&) {
    }
  }
  std::vector<const X509*> raw;
  for (const auto& c : certs) raw.push_back(c.get());
  try {
    (void)pki::certificate_tree(raw);
  } catch (const Error&) {
  }

  // The OpenSSL PEM readers used for files meshca itself wrote.
  try {
    for (const auto& c : pki::certificates_from_pem(text, "fuzz.pem")) read_everything(c.get());
  } catch (const Error&) {
  }
  try {
    auto key = pki::private_key_from_pem(text, "fuzz.pem");
    (void)pki::describe_key(key.get());
  } catch (const Error&) {
  }
  try {
    auto csr = pki::read_csr(text, "fuzz.csr");
    (void)pki::describe_key(csr.public_key.get());
  } catch (const Error&) {
  }
  return 0;
}
