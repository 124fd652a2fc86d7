#include "verify/certificate_inventory.hpp"

#include <algorithm>
#include <map>

#include "output_layout/istio_cacerts.hpp"
#include "pki/certificate.hpp"
#include "pki/crl.hpp"
#include "pki/key.hpp"
#include "pki/pem_scan.hpp"

namespace meshca::verify {

namespace ol = meshca::output_layout;

void CertificateInventory::add(const BundleSource& src) {
  CertificateInventory& out = *this;
  auto& by_fp = by_fingerprint_;
  // Certificates first in a stable, meaningful order.
  std::vector<std::string> order{ol::kCaCertFile, ol::kTlsCertFile, ol::kCertChainFile, ol::kRootCertFile,
                                 ol::kTlsCaFile,  ol::kCaKeyFile,   ol::kTlsKeyFile,    ol::kCaCrlFile};
  for (const auto& [name, f] : src.files)
    if (std::find(order.begin(), order.end(), name) == order.end()) order.push_back(name);
  for (const auto& name : order) {
    const BundleFile* f = src.file(name);
    if (f == nullptr) continue;
    auto scan = pki::scan_pem(f->bytes.view());
    for (const auto& issue : scan.issues) out.notes.push_back(f->display + ": " + issue.message);
    for (const auto& block : scan.blocks) {
      if (pki::is_private_key_label(block.label) || block.label == "EC PARAMETERS") {
        std::string what = block.label;
        if (pki::is_encrypted_key_block(block)) {
          what += " (encrypted)";
        } else if (auto key = pki::private_key_from_block(block)) {
          what += " (" + pki::describe_key(key.get()) + ")";
        }
        out.keys.emplace_back(f->display, what);
        continue;
      }
      if (block.label == "X509 CRL" && block.decoded) {
        if (auto crl = pki::crl_from_der(block)) {
          std::string der(block.der.view());
          auto [known, added] = crl_by_der_.emplace(std::move(der), out.crls.size());
          if (added) {
            out.crls.push_back({std::move(crl), {f->display}});
          } else if (auto& files = out.crls[known->second].files; std::find(files.begin(), files.end(), f->display) == files.end()) {
            files.push_back(f->display);
          }
        } else {
          out.notes.push_back(f->display + ": block at line " + std::to_string(block.line) + " is not a valid X509 CRL");
        }
        continue;
      }
      auto cert = pki::certificate_from_der(block);
      if (!cert) {
        if (block.decoded)
          out.notes.push_back(f->display + ": block at line " + std::to_string(block.line) + " ('" + block.label +
                              "') is not a certificate");
        continue;
      }
      std::string fp = pki::sha256_fingerprint(cert.get());
      auto it = by_fp.find(fp);
      if (it == by_fp.end()) {
        by_fp[fp] = out.certs.size();
        out.certs.push_back({std::move(cert), {f->display}});
      } else if (std::find(out.certs[it->second].files.begin(), out.certs[it->second].files.end(), f->display) ==
                 out.certs[it->second].files.end()) {
        out.certs[it->second].files.push_back(f->display);
      }
    }
  }
  for (const auto& note : src.notes) out.notes.push_back(src.label + ": " + note);
}

std::vector<pki::CertificateNode> CertificateInventory::tree() const {
  std::vector<const X509*> raw;
  raw.reserve(certs.size());
  for (const auto& c : certs) raw.push_back(c.cert.get());
  return pki::certificate_tree(raw);
}

}  // namespace meshca::verify
