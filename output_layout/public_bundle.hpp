// The public-only bundle of a cluster that keeps its own key
// (LayoutOptions::key_custody == KeyCustody::cluster): its descriptor,
// public-bundle.yaml, beside ca-cert.pem, cert-chain.pem and root-cert.pem.
//
// The descriptor records what the plan decided for the bundle (mesh,
// cluster, trust domain, plan digest, the pinned key's SPKI SHA-256, the
// layouts and their options) and lists under `needs` every file `meshca
// bundle assemble` adds with the key. It is rendered from LayoutOptions
// alone, byte for byte the same each time, so reading one back is parsing
// it and rendering the result again: anything that does not come out the
// same was not written by meshca (or was edited) and is refused.
//
// With revocation.crl the room cannot sign the intermediate's CRL (it has
// no key), so it decides the CRL instead: the descriptor's `crl` section
// holds its content (number, thisUpdate, nextUpdate, revoked serials) as
// the ledger gave it, and chain-crls.pem the CRLs of every CA above the
// intermediate. `bundle assemble` signs exactly that content with the
// cluster's key and writes ca-crl.pem = that CRL followed by chain-crls.pem.
// `revoke`, `crl refresh` and `crl import` rewrite the public bundle with
// the next content; it is then assembled again near the cluster.
//
// Files the room renders that need no key (a federated cluster's trust/
// files) are listed under `carried` with their SHA-256: `bundle assemble`
// copies each after checking it.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "output_layout/layouts.hpp"
#include "pki/crl.hpp"

namespace meshca::output_layout {

inline constexpr const char* kPublicBundleFile = "public-bundle.yaml";
// The CRLs of the CAs above the intermediate, in the order ca-crl.pem
// carries them after the intermediate's own.
inline constexpr const char* kChainCrlsFile = "chain-crls.pem";

struct PublicBundleDescriptor {
  LayoutOptions options;
  // The intermediate's CRL for `bundle assemble` to sign (its `revoked` is
  // empty: every serial is in `entries`); nullopt without revocation.crl.
  std::optional<pki::CrlProfile> crl;
  std::vector<CarriedFile> carried;  // sorted by path
};

// The descriptor of a public-only bundle with `options`, with CRLs the
// intermediate's CRL content, and the files `bundle assemble` copies.
std::string public_bundle_descriptor(const LayoutOptions& options, const std::optional<pki::CrlProfile>& crl,
                                     std::vector<CarriedFile> carried);

// What the descriptor text `text` (read from `path`) records: the layout
// options (KeyCustody::cluster; assembled() gives what `bundle assemble`
// writes) and the CRL content. Error(invalid_input) naming the file when it
// is not a descriptor meshca wrote, byte for byte.
PublicBundleDescriptor parse_public_bundle_descriptor(const std::string& text, const std::filesystem::path& path);
// The same, read from `dir`/public-bundle.yaml.
PublicBundleDescriptor read_public_bundle_descriptor(const std::filesystem::path& dir);

}  // namespace meshca::output_layout
