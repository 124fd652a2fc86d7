// What `meshca inspect` and `check-expiry` list: every certificate, CRL and
// private key of the sources they were given, each certificate and CRL once
// with every file that holds it (the root of an OUT is in every bundle), in
// a stable order (per source: the CA certificate, the chain, the roots, then
// keys and CRLs, then any other file). PEM problems become notes, never
// errors: a listing shows what it could read. A key is described (algorithm,
// size), never printed.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "pki/handles.hpp"
#include "pki/inspect.hpp"
#include "verify/bundle_source.hpp"

namespace meshca::verify {

struct InventoryCertificate {
  pki::X509Ptr cert;
  std::vector<std::string> files;
};

struct InventoryCrl {
  pki::X509CrlPtr crl;
  std::vector<std::string> files;
};

class CertificateInventory {
 public:
  std::vector<InventoryCertificate> certs;
  std::vector<InventoryCrl> crls;
  std::vector<std::string> notes;                         // PEM problems, "file: message"
  std::vector<std::pair<std::string, std::string>> keys;  // file, description

  // Adds what `source` holds; certificates already listed gain the file.
  void add(const BundleSource& source);
  // The certificates arranged by who signed whom (pki::certificate_tree;
  // each node's index points into `certs`).
  std::vector<pki::CertificateNode> tree() const;

 private:
  std::map<std::string, std::size_t> by_fingerprint_;  // SHA-256 -> index into certs
  std::map<std::string, std::size_t> crl_by_der_;      // DER -> index into crls
};

}  // namespace meshca::verify
